//! Where the `log` crate's messages go (tracer's own, aya's, blazesym's): one line each on
//! stderr, `tracer: warning: ...`. Warnings and errors by default; `TRACER_LOG` says how much:
//! `off`, `error`, `info` or `debug` (tracer's own messages at that level, the libraries' from
//! warnings up), or `trace` (everything, aya's every relocation too). While the live view holds the terminal, lines wait and are
//! printed when it gives the terminal back, rather than drawn over the screen or dropped.
use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Mutex,
};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The environment variable that sets how much is said.
pub const LEVEL_VAR: &str = "TRACER_LOG";

struct StderrLines;

static LOGGER: StderrLines = StderrLines;
static SCREEN_TAKEN: AtomicBool = AtomicBool::new(false);
static HELD: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Lines held at most while the screen is taken; the rest are counted.
const HELD_LINES: usize = 100;
static NOT_HELD: AtomicU64 = AtomicU64::new(0);

/// Sends `log`'s messages to stderr, at the level `TRACER_LOG` names (warnings by default).
pub fn install() {
    let level = match std::env::var(LEVEL_VAR).as_deref().map(str::to_ascii_lowercase).as_deref() {
        Ok("off") => LevelFilter::Off,
        Ok("error") => LevelFilter::Error,
        Ok("info") => LevelFilter::Info,
        Ok("debug") => LevelFilter::Debug,
        Ok("trace") => LevelFilter::Trace,
        _ => LevelFilter::Warn,
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

/// The live view takes the terminal (`true`) or gives it back: lines held meanwhile are
/// printed then.
pub fn screen_taken(taken: bool) {
    SCREEN_TAKEN.store(taken, Ordering::SeqCst);
    if !taken {
        for line in std::mem::take(&mut *HELD.lock().unwrap_or_else(|e| e.into_inner())) {
            eprintln!("{line}");
        }
        let more = NOT_HELD.swap(0, Ordering::SeqCst);
        if more > 0 {
            eprintln!("tracer: and {more} more such lines while the live view ran");
        }
    }
}

impl Log for StderrLines {
    fn enabled(&self, metadata: &Metadata) -> bool {
        let own = metadata.target().starts_with("tracer");
        metadata.level() <= log::max_level() && (own || metadata.level() <= Level::Warn || log::max_level() == LevelFilter::Trace)
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug | Level::Trace => "debug",
        };
        // Below warnings, where it came from: aya's and blazesym's messages name no program.
        let line = match record.level() {
            Level::Error | Level::Warn => format!("tracer: {level}: {}", record.args()),
            _ => format!("tracer: {level}: {}: {}", record.target(), record.args()),
        };
        let line = line.replace('\n', " ");
        if SCREEN_TAKEN.load(Ordering::SeqCst) {
            let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
            if held.len() < HELD_LINES {
                held.push(line);
            } else {
                NOT_HELD.fetch_add(1, Ordering::SeqCst);
            }
        } else {
            eprintln!("{line}");
        }
    }

    fn flush(&self) {}
}
