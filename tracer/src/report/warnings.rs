//! Where the `log` crate's messages go (tracer's own and aya's): one line each on stderr,
//! `tracer: warning: ...`. Warnings and errors by default; `TRACER_LOG` says how much: `off`,
//! `error`, `info` or `debug` (tracer's own messages at that level, aya's from warnings up), or
//! `trace` (everything, aya's every relocation too). While the live view holds the terminal,
//! lines wait and are printed when it gives the terminal back, rather than drawn over the
//! screen or dropped.
use std::{
    io::Write as _,
    sync::{Mutex, MutexGuard},
};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The environment variable that sets how much is said.
pub const LEVEL_VAR: &str = "TRACER_LOG";

/// Lines held at most while the screen is taken; the rest are counted.
const HELD_LINES: usize = 100;

/// While the live view has the terminal: the lines held, and how many more were not.
#[derive(Default)]
struct Held {
    lines: Vec<String>,
    more: u64,
}

struct StderrLines;

static LOGGER: StderrLines = StderrLines;
static HELD: Mutex<Option<Held>> = Mutex::new(None);

fn held() -> MutexGuard<'static, Option<Held>> {
    HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

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

/// The live view has the terminal until this is dropped (a panic included): lines are held
/// meanwhile, and printed then.
pub struct ScreenTaken(());

impl ScreenTaken {
    pub fn begin() -> Self {
        held().get_or_insert_with(Held::default);
        Self(())
    }
}

impl Drop for ScreenTaken {
    fn drop(&mut self) {
        let Some(Held { lines, more }) = held().take() else { return };
        for line in lines {
            print_line(&line);
        }
        if more > 0 {
            print_line(&format!("tracer: and {more} more such lines while the live view ran"));
        }
    }
}

/// A closed stderr loses the line, and nothing else.
fn print_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
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
        // Below warnings, where it came from: aya's messages name no program.
        let line = match record.level() {
            Level::Error | Level::Warn => format!("tracer: {level}: {}", record.args()),
            _ => format!("tracer: {level}: {}: {}", record.target(), record.args()),
        };
        let line = line.replace('\n', " ");
        // Decided under the lock: the view cannot give the terminal back in between.
        let mut held = held();
        match held.as_mut() {
            Some(held) if held.lines.len() < HELD_LINES => held.lines.push(line),
            Some(held) => held.more += 1,
            None => {
                drop(held);
                print_line(&line);
            }
        }
    }

    fn flush(&self) {}
}
