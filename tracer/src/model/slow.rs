//! Slow calls (`--slow`): the slowest ones kept whole, the most recent ones for the live view,
//! and all of them grouped by where they came from (their stacks), with the weights that
//! `--folded` and `--flamegraph` draw.
use std::collections::{HashMap, VecDeque};

use crate::kernel::event::{SlowRecord, StackRead};

/// One frame of a stack, named.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame {
    /// Function name (demangled), or `module+0xoffset` when there is none.
    pub function: String,
    /// `file:line`, where debug info has it.
    pub location: Option<String>,
}

/// `function (file:line)`, or the function alone without debug info.
impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{} ({location})", self.function),
            None => f.write_str(&self.function),
        }
    }
}

/// One slow call, as shown: its line and its named stacks.
#[derive(Clone, Debug)]
pub struct SlowCall {
    pub tgid: u32,
    pub tid: u32,
    pub comm: String,
    /// Entry time (CLOCK_MONOTONIC, ns).
    pub start_ns: u64,
    pub duration_ns: u64,
    pub blocked_ns: u64,
    pub runq_ns: u64,
    /// The call in strace's shape: `read(3<pipe>, 1) = 1`.
    pub text: String,
    /// Innermost frame first; empty when stacks were not asked for or not readable.
    pub user_stack: Vec<Frame>,
    pub kernel_stack: Vec<Frame>,
    /// The Go goroutine that made it, where known.
    pub goroutine: Option<u64>,
}

/// Slow calls of one call site: one distinct stack (function names, user then kernel).
#[derive(Clone, Debug)]
pub struct Site {
    pub count: u64,
    pub total_ns: u64,
    pub max_ns: u64,
    pub user_stack: Vec<Frame>,
    pub kernel_stack: Vec<Frame>,
}

/// Stacks asked for that could not be had, counted like lost events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackFailures {
    /// `bpf_get_stack` failed on the user stack (e.g. EFAULT: a page not present).
    pub user_unreadable: u64,
    /// The user stack stopped after its first frame: no frame pointers to walk.
    pub user_truncated: u64,
    pub kernel_unreadable: u64,
    /// Binaries whose symbols could not be read (malformed): their frames are module+offset.
    pub binaries_unreadable: u64,
}

#[derive(Clone, Debug)]
pub struct SlowCalls {
    pub threshold_ns: u64,
    pub count: u64,
    pub total_ns: u64,
    /// The slowest calls, slowest first, at most `keep`.
    pub slowest: Vec<SlowCall>,
    keep: usize,
    /// The latest calls, newest last, for the live view.
    pub recent: VecDeque<SlowCall>,
    sites: HashMap<Vec<String>, Site>,
    /// The calls by stack (frames with their lines), syscall and thread, for `--pprof`.
    samples: HashMap<SampleKey, Sample>,
    pub stack_failures: StackFailures,
}

/// What a `--pprof` sample is: one stack, innermost frame first (kernel frames, marked `[k]`,
/// before the user frames that called them), of one syscall in one thread.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SampleKey {
    pub frames: Vec<Frame>,
    pub syscall: String,
    /// 0 once [`MAX_SAMPLES`] keys are kept: the calls still count, under no thread.
    pub tid: u32,
    pub comm: String,
    pub goroutine: Option<u64>,
}

/// The calls of a [`SampleKey`]: how many, and their time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    pub count: u64,
    pub total_ns: u64,
}

/// `--pprof` samples kept with their thread; past this, new ones are kept without it.
const MAX_SAMPLES: usize = 50_000;

/// Slow calls the live view keeps.
const RECENT: usize = 50;

impl SlowCalls {
    pub fn new(threshold_ns: u64, keep: usize) -> Self {
        Self {
            threshold_ns,
            count: 0,
            total_ns: 0,
            slowest: Vec::new(),
            keep,
            recent: VecDeque::new(),
            sites: HashMap::new(),
            samples: HashMap::new(),
            stack_failures: StackFailures::default(),
        }
    }

    /// Counts what the kernel could not read of `record`'s stacks.
    pub fn count_stack_failures(&mut self, record: &SlowRecord) {
        match &record.user_stack {
            Some(StackRead::Failed(_)) => self.stack_failures.user_unreadable += 1,
            Some(StackRead::Frames(frames)) if frames.len() == 1 => self.stack_failures.user_truncated += 1,
            _ => {}
        }
        if let Some(StackRead::Failed(_)) = &record.kernel_stack {
            self.stack_failures.kernel_unreadable += 1;
        }
    }

    pub fn record(&mut self, call: SlowCall) {
        self.count += 1;
        self.total_ns += call.duration_ns;
        let key: Vec<String> = call.user_stack.iter().chain(&call.kernel_stack).map(|f| f.function.clone()).collect();
        let site = self.sites.entry(key).or_insert_with(|| Site {
            count: 0,
            total_ns: 0,
            max_ns: 0,
            user_stack: call.user_stack.clone(),
            kernel_stack: call.kernel_stack.clone(),
        });
        site.count += 1;
        site.total_ns += call.duration_ns;
        let frames = call.kernel_stack.iter().map(|f| Frame { function: format!("[k] {}", f.function), location: None }).chain(call.user_stack.iter().cloned());
        let syscall = call.text.split('(').next().unwrap_or_default().to_string();
        let mut sample = SampleKey { frames: frames.collect(), syscall, tid: call.tid, comm: call.comm.clone(), goroutine: call.goroutine };
        if self.samples.len() >= MAX_SAMPLES && !self.samples.contains_key(&sample) {
            (sample.tid, sample.comm, sample.goroutine) = (0, String::new(), None);
        }
        let kept = self.samples.entry(sample).or_default();
        kept.count += 1;
        kept.total_ns += call.duration_ns;
        if call.duration_ns > site.max_ns {
            // The slowest call's frames, with its file:line.
            (site.max_ns, site.user_stack, site.kernel_stack) = (call.duration_ns, call.user_stack.clone(), call.kernel_stack.clone());
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(call.clone());
        let at = self.slowest.partition_point(|kept| kept.duration_ns >= call.duration_ns);
        if at < self.keep {
            self.slowest.insert(at, call);
            self.slowest.truncate(self.keep);
        }
    }

    /// How many of the slowest calls are kept.
    pub fn keep(&self) -> usize {
        self.keep
    }

    /// Call sites, the most total time first.
    pub fn sites(&self) -> Vec<&Site> {
        let mut sites: Vec<&Site> = self.sites.values().collect();
        sites.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(b.count.cmp(&a.count)));
        sites
    }

    /// The calls by stack, syscall and thread, for `--pprof`.
    pub fn samples(&self) -> impl Iterator<Item = (&SampleKey, &Sample)> {
        self.samples.iter()
    }

    /// Every distinct stack, outermost frame first (kernel frames, marked `[k]`, after the user
    /// frames they were called from), with its slow calls' total time: what a flame graph draws.
    pub fn weighted_stacks(&self) -> Vec<(Vec<String>, u64)> {
        self.sites
            .values()
            .map(|site| {
                let user = site.user_stack.iter().rev().map(|f| f.function.clone());
                let kernel = site.kernel_stack.iter().rev().map(|f| format!("[k] {}", f.function));
                (user.chain(kernel).collect(), site.total_ns)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(ns: u64, frames: &[&str]) -> SlowCall {
        SlowCall {
            tgid: 1,
            tid: 1,
            comm: "w".into(),
            start_ns: 0,
            duration_ns: ns,
            blocked_ns: 0,
            runq_ns: 0,
            text: "read(3, 1) = 1".into(),
            user_stack: frames.iter().map(|f| Frame { function: f.to_string(), location: None }).collect(),
            kernel_stack: Vec::new(),
            goroutine: None,
        }
    }

    #[test]
    fn keeps_the_slowest_and_groups_by_stack() {
        let mut slow = SlowCalls::new(10, 2);
        slow.record(call(30, &["read", "slow_reader", "main"]));
        slow.record(call(50, &["read", "slow_reader", "main"]));
        slow.record(call(20, &["read", "other", "main"]));
        assert_eq!(slow.slowest.iter().map(|c| c.duration_ns).collect::<Vec<_>>(), [50, 30]);
        assert_eq!((slow.count, slow.total_ns), (3, 100));
        let sites = slow.sites();
        assert_eq!((sites[0].count, sites[0].total_ns, sites[0].max_ns), (2, 80, 50));
        assert_eq!(sites[1].count, 1);
        let stacks = slow.weighted_stacks();
        assert_eq!(stacks.iter().map(|(_, w)| w).sum::<u64>(), slow.total_ns);
        assert!(stacks.iter().any(|(frames, _)| frames == &["main", "slow_reader", "read"]), "outermost first: {stacks:?}");
    }
}
