//! Fuzzing of what the reader parses from the traced side and from files users pass around,
//! as unit tests on stable: `cargo test -p tracer --lib fuzz::` (and so `cargo xtask test`).
//!
//! Why not cargo-fuzz: it needs nightly and a sanitizer build of the whole crate (aya, rustls,
//! ring, blazesym: minutes cold, on a 2-core machine), its own workspace member, and a
//! separate CI job that `cargo xtask test` would not run. What breaks a parser here is a
//! panic (an index, an overflow: the tests build with overflow checks), a huge allocation or a
//! loop on an input one mutation away from a real one, and a mutator over committed seeds finds
//! those without coverage feedback. So each target is fed, within the same test binary:
//! - every file of its committed seed corpus, `tracer/tests/fuzz-corpus/<target>/`: real inputs
//!   (exports and interval-log histograms of a small trace, tiny ELF files with a Go build info
//!   section or symbols and DWARF, web configs, ring-buffer records of every kind), and the
//!   inputs that once failed (regression seeds, named `regress-*`);
//! - then mutations of them (bit flips, interesting integers over aligned words, truncations,
//!   deletions, duplications, splices of two seeds, numbers in text replaced by extreme ones)
//!   from a fixed-seed PRNG, bounded by a count and a wall-clock budget per target.
//!
//! Each input runs under `catch_unwind`; a panic, an allocation over [`MAX_ALLOCATION`] or an
//! input that takes more than [`MAX_INPUT_TIME`] of its thread's CPU fails the test, which
//! names the target and writes the input to a file to add to the corpus once fixed. A panic
//! that the reader contains (inside a blazesym parse) is silent, as in tracer itself: with
//! `RUST_BACKTRACE` set, the default hook would resolve and print a backtrace for each, inside
//! the input's measured time and allocations. Knobs, for a longer local run:
//! `TRACER_FUZZ_SECS` (budget per target, default 2), `TRACER_FUZZ_RUNS` (mutations per target,
//! default 20000) and `TRACER_FUZZ_SEED` (the PRNG's seed, default fixed: CI is reproducible).
//! No coverage feedback: this is a smoke screen for the shallow bugs, not a replacement for a
//! long coverage-guided campaign; the targets are plain `fn(&[u8])`, so cargo-fuzz could drive
//! them as they are if one is ever wanted.
use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// One allocation larger than this while an input runs is a finding: nothing the reader parses
/// justifies it.
pub const MAX_ALLOCATION: usize = 16 << 20;
/// An input that takes more CPU than this is a finding (a loop, or something quadratic). CPU,
/// not wall time: a noisy machine's stall is not the input's.
pub const MAX_INPUT_TIME: Duration = Duration::from_secs(2);

thread_local! {
    /// The largest allocation of this thread since the last reset (fuzzed inputs only run on
    /// their test's thread).
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// The test binary's allocator: the system's, noting each thread's largest allocation.
pub struct Counting;

// SAFETY: forwards to System; the thread-local is a const-initialized Cell (no allocation, no
// destructor), so touching it from the allocator cannot recurse.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What `f` returns, and the largest single allocation it made on this thread.
pub fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|largest| largest.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

/// splitmix64: small, fast, and the same sequence everywhere for a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// 0..n (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Values at the edges of what a field holds: signed minimums (whose negation overflows), -1,
/// sizes just past a buffer, and so on.
const INTERESTING: [u64; 16] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x1000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff_ffff_8000_0000, // i32::MIN as i64
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
    u64::MAX - 15,
    1 << 40,
];

const NUMBERS: [&str; 10] = ["-1", "0", "255", "4294967296", "18446744073709551615", "-9223372036854775808", "1e308", "-1e400", "1.5", "99999999999999999999999"];

/// One input derived from `input`: 1 to 4 mutations, `seeds` for splices.
pub fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(9) {
            0 if len > 0 => {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                data[at] = INTERESTING[rng.below(INTERESTING.len())] as u8;
            }
            // An aligned word, little-endian (records and ELF files here are).
            2 | 3 => {
                let width = if rng.below(2) == 0 { 4 } else { 8 };
                if len >= width {
                    let at = rng.below(len / width) * width;
                    let value = INTERESTING[rng.below(INTERESTING.len())].to_le_bytes();
                    data[at..at + width].copy_from_slice(&value[..width]);
                }
            }
            4 => data.truncate(rng.below(len + 1)),
            5 if len > 0 => {
                let at = rng.below(len);
                let n = rng.below((len - at).min(64) + 1);
                data.drain(at..at + n);
            }
            6 if len > 0 => {
                let (from, at) = (rng.below(len), rng.below(len + 1));
                let n = rng.below((len - from).min(64) + 1);
                let chunk = data[from..from + n].to_vec();
                data.splice(at..at, chunk);
            }
            7 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                let (at, from) = (rng.below(len + 1), rng.below(other.len() + 1));
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
            // Text: a run of digits becomes an extreme number.
            8 if len > 0 => {
                let at = rng.below(len);
                if let Some(start) = data[at..].iter().position(u8::is_ascii_digit).map(|p| at + p) {
                    let end = data[start..].iter().position(|b| !b.is_ascii_digit() && *b != b'.').map_or(len, |p| start + p);
                    let start = if start > 0 && data[start - 1] == b'-' { start - 1 } else { start };
                    data.splice(start..end, NUMBERS[rng.below(NUMBERS.len())].bytes());
                }
            }
            _ => {}
        }
    }
    data
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The committed seeds of a target, sorted by name.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    quiet_contained_panics();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus").join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "{}: no seeds", dir.display());
    seeds
}

/// Runs `target` on its seeds, then on mutations of them until the run count or the time
/// budget is spent. Panics (failing the test) on the first finding, naming the input's file.
pub fn fuzz(target: &str, check: impl Fn(&[u8])) {
    let seeds = corpus(target);
    let budget = Duration::from_secs_f64(env("TRACER_FUZZ_SECS", 2.0));
    let runs: usize = env("TRACER_FUZZ_RUNS", 20_000);
    let mut rng = Rng::new(env("TRACER_FUZZ_SEED", 0x7261_6365_725f_667a));
    let started = Instant::now();
    let run = |input: &[u8], origin: &str| {
        LARGEST.with(|largest| largest.set(0));
        let at = thread_cpu_time();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| check(input)));
        let (took, largest) = (thread_cpu_time().saturating_sub(at), LARGEST.with(Cell::get));
        let finding = match outcome {
            Err(panic) => Some(format!(
                "panicked: {}",
                panic.downcast_ref::<String>().map(String::as_str).or(panic.downcast_ref::<&str>().copied()).unwrap_or("?")
            )),
            Ok(()) if largest > MAX_ALLOCATION => Some(format!("allocated {largest} bytes at once")),
            Ok(()) if took > MAX_INPUT_TIME => Some(format!("took {took:?}")),
            Ok(()) => None,
        };
        if let Some(finding) = finding {
            let path = save(target, input);
            panic!("fuzz target {target}: an input ({} bytes, {origin}) {finding}; it is in {}", input.len(), path.display());
        }
    };
    for (name, seed) in &seeds {
        run(seed, &format!("seed {name}"));
    }
    let pool: Vec<Vec<u8>> = seeds.iter().map(|(_, seed)| seed.clone()).collect();
    let mut mutations = 0;
    while mutations < runs && started.elapsed() < budget {
        let from = rng.below(seeds.len());
        let input = mutate(&mut rng, &pool[from], &pool);
        run(&input, &format!("a mutation of {}", seeds[from].0));
        mutations += 1;
    }
    eprintln!("fuzz {target}: {} seeds and {mutations} mutations in {:?}", seeds.len(), started.elapsed());
}

/// The CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid pointer to a timespec; this clock exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Panics contained by the reader say nothing, as under tracer's own hook; any other goes to
/// the test harness's hook as before.
fn quiet_contained_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let harness = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !crate::host::contain::is_contained() {
                harness(info);
            }
        }));
    });
}

/// Writes a failing input where the test's message says, named by its hash.
fn save(target: &str, input: &[u8]) -> PathBuf {
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let dir = std::env::temp_dir().join("tracer-fuzz");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{target}-{hash:016x}"));
    let _ = std::fs::write(&path, input);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_reproducible_and_vary() {
        let seeds = vec![b"{\"a\": 12345, \"b\": [1, 2]}".to_vec(), vec![0u8; 64]];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..200).map(|i| mutate(&mut rng, &seeds[i % 2], &seeds)).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        let inputs = run(1);
        assert!(inputs.iter().filter(|input| !seeds.contains(input)).count() > 150);
        assert!(inputs.iter().any(|input| input.len() < 20) && inputs.iter().any(|input| input.len() > 64));
    }
}
