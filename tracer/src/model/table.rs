//! A table of syscall figures: one HdrHistogram of latencies (ns, 3 significant digits; 2 in a
//! group's table) per syscall, with error counts by errno, indexed by syscall number so that
//! recording costs no hashing; and the scheduler figures per thread.
use std::collections::BTreeMap;

// Looked up per scheduler event: a fast hash, not a DoS-resistant one.
use rustc_hash::FxHashMap as HashMap;

use hdrhistogram::Histogram;
use tracer_common::syscalls::MAX_SYSCALLS;

use super::histogram::{new_coarse_histogram, new_compact_histogram, new_histogram, record_connection_buckets, record_kernel_buckets, record_value};
use crate::kernel::{
    event::{SchedRecord, SyscallRecord},
    kernel_counts::KernelCalls,
    thread_counts::ThreadDelta,
};

#[derive(Clone, Debug)]
pub struct SyscallStats {
    pub calls: u64,
    pub errors: u64,
    /// Calls that never returned (`exit_group`): counted, but they have no latency.
    pub no_return: u64,
    /// Calls already in progress when tracing began: counted (with their errors), but their
    /// latency is unknown, so they are not in the histogram or the time totals.
    pub in_flight: u64,
    pub total_ns: u64,
    /// Of `total_ns`: blocked off-CPU, and waiting in the run queue. The rest ran on a CPU.
    pub blocked_ns: u64,
    pub runq_ns: u64,
    pub latency: Histogram<u64>,
    pub errnos: BTreeMap<i32, u64>,
}

impl SyscallStats {
    pub fn new() -> Self {
        Self::with_latency(new_histogram())
    }

    fn with_latency(latency: Histogram<u64>) -> Self {
        Self {
            calls: 0,
            errors: 0,
            no_return: 0,
            in_flight: 0,
            total_ns: 0,
            blocked_ns: 0,
            runq_ns: 0,
            latency,
            errnos: BTreeMap::new(),
        }
    }

    fn record(&mut self, rec: &SyscallRecord) {
        self.calls += 1;
        match rec.duration_ns {
            Some(ns) => {
                self.total_ns += ns;
                // Clamped so that a clock skew between CPUs cannot make the parts exceed the whole.
                let blocked = rec.blocked_ns.min(ns);
                self.blocked_ns += blocked;
                self.runq_ns += rec.runq_ns.min(ns - blocked);
                record_value(&mut self.latency, ns);
            }
            None if rec.returned => self.in_flight += 1,
            None => self.no_return += 1,
        }
        if let Some(errno) = rec.errno() {
            self.errors += 1;
            *self.errnos.entry(errno).or_default() += 1;
        }
    }
}

impl SyscallStats {
    /// Calls counted in the kernel: their totals, histogram buckets and errnos.
    fn record_kernel(&mut self, calls: &KernelCalls) {
        let totals = &calls.totals;
        self.calls += totals.calls;
        for &(errno, count) in &calls.errnos {
            self.errors += count;
            *self.errnos.entry(errno).or_default() += count;
        }
        self.total_ns += totals.total_ns;
        self.blocked_ns += totals.blocked_ns;
        self.runq_ns += totals.runq_ns;
        record_kernel_buckets(&mut self.latency, &calls.buckets, Some(totals.max_ns));
    }

    pub fn on_cpu_ns(&self) -> u64 {
        self.total_ns.saturating_sub(self.blocked_ns + self.runq_ns)
    }
}

impl Default for SyscallStats {
    fn default() -> Self {
        Self::new()
    }
}

/// Scheduler latency of one traced thread, in the style of runqlat and offcputime.
#[derive(Clone, Debug)]
pub struct ThreadStats {
    /// The thread's name as it last ran, from the kernel (it may be gone from /proc by the
    /// summary); empty in interval tables.
    pub name: String,
    /// The same, as the kernel sent it: the name is made anew only when it changes.
    comm: [u8; 16],
    pub tgid: u32,
    /// Off-CPU periods: switched out until running again.
    pub off_cpu: Histogram<u64>,
    /// Run-queue latency: runnable (woken or preempted) until running.
    pub runq: Histogram<u64>,
    pub off_cpu_total_ns: u64,
}

impl ThreadStats {
    /// Its name as the kernel last sent it; made anew only when it changes.
    pub fn name_from(&mut self, comm: &[u8; 16]) {
        if self.comm != *comm {
            self.comm = *comm;
            self.name = crate::kernel::event::comm_string(comm);
        }
    }
}

/// Threads whose scheduler figures are kept: past this, the half with the least run-queue wait
/// is dropped (and counted), so that a long trace of many short-lived processes stays bounded
/// (each thread's two histograms, of 1 significant digit, take up to about 7 KiB; the summary
/// shows 20).
pub(super) const MAX_THREADS: usize = 256;

/// Statistics per syscall number, and per traced thread.
#[derive(Clone, Debug)]
pub struct StatsTable {
    /// Boxed: a table has a slot for every syscall and most stay empty.
    by_nr: Vec<Option<Box<SyscallStats>>>,
    /// Latency histograms of 2 significant digits rather than 3 (see [`StatsTable::compact`]).
    compact: bool,
    pub threads: HashMap<u32, ThreadStats>,
    /// Threads dropped from `threads` to bound its size.
    pub threads_dropped: u64,
    pub events: u64,
    /// Calls counted in the kernel, without events.
    pub kernel_calls: u64,
}

impl Default for StatsTable {
    fn default() -> Self {
        Self { by_nr: vec![None; MAX_SYSCALLS as usize], compact: false, threads: HashMap::default(), threads_dropped: 0, events: 0, kernel_calls: 0 }
    }
}

impl StatsTable {
    /// A table of latency histograms of 2 significant digits, for the `--by` groups: a seventh of
    /// the memory, and in buckets as wide as the kernel's (1/128 of a power of two), so the calls
    /// counted in the kernel (most of a group's) lose nothing; an event's latency is kept
    /// within 0.8%, not 0.1%. An agent keeps up to `--max-groups` of them for days.
    pub fn compact() -> Self {
        Self { compact: true, ..Self::default() }
    }

    fn slot(&mut self, nr: u32) -> Option<&mut SyscallStats> {
        let compact = self.compact;
        let slot = self.by_nr.get_mut(nr as usize)?;
        Some(slot.get_or_insert_with(|| Box::new(SyscallStats::with_latency(if compact { new_compact_histogram() } else { new_histogram() }))))
    }
}

impl StatsTable {
    /// Records a scheduler event; returns the thread's figures.
    pub fn record_sched(&mut self, rec: &SchedRecord) -> &mut ThreadStats {
        self.events += 1;
        let thread = self.thread_mut(rec.tid, rec.tgid);
        record_value(&mut thread.off_cpu, rec.off_cpu_ns);
        record_value(&mut thread.runq, rec.runq_ns.min(rec.off_cpu_ns));
        thread.off_cpu_total_ns += rec.off_cpu_ns;
        thread
    }

    /// Records a thread's switches counted in the kernel; returns the thread's figures.
    pub fn record_kernel_thread(&mut self, delta: &ThreadDelta) -> &mut ThreadStats {
        let thread = self.thread_mut(delta.tid, delta.tgid);
        record_connection_buckets(&mut thread.off_cpu, &delta.off_cpu);
        record_connection_buckets(&mut thread.runq, &delta.runq);
        thread.off_cpu_total_ns += delta.off_cpu_ns;
        thread
    }

    /// Thread `tid`'s figures, made if new (when there is room, or once the quietest threads
    /// made room).
    fn thread_mut(&mut self, tid: u32, tgid: u32) -> &mut ThreadStats {
        if self.threads.len() >= MAX_THREADS && !self.threads.contains_key(&tid) {
            self.drop_quiet_threads();
        }
        let thread = self.threads.entry(tid).or_insert_with(|| ThreadStats {
            name: String::new(),
            comm: [0; 16],
            tgid,
            off_cpu: new_coarse_histogram(),
            runq: new_coarse_histogram(),
            off_cpu_total_ns: 0,
        });
        thread.tgid = tgid;
        thread
    }

    /// Keeps the half of the threads that waited longest in the run queue (the summary's order
    /// is by p99, which costs a walk of each histogram; its max is at hand).
    fn drop_quiet_threads(&mut self) {
        let mut order: Vec<(u64, u64, u32)> = self.threads.iter().map(|(&tid, t)| (t.runq.max(), t.off_cpu_total_ns, tid)).collect();
        order.sort_unstable_by(|a, b| b.cmp(a));
        for &(_, _, tid) in &order[MAX_THREADS / 2..] {
            self.threads.remove(&tid);
        }
        self.threads_dropped += (order.len() - MAX_THREADS / 2) as u64;
    }

    pub fn record(&mut self, rec: &SyscallRecord) {
        self.events += 1;
        if let Some(stats) = self.slot(rec.nr) {
            stats.record(rec);
        }
    }

    pub fn record_kernel(&mut self, calls: &KernelCalls) {
        self.kernel_calls += calls.totals.calls;
        if let Some(stats) = self.slot(calls.nr) {
            stats.record_kernel(calls);
        }
    }

    /// Syscalls seen, by number.
    pub fn syscalls(&self) -> impl Iterator<Item = (u32, &SyscallStats)> {
        self.by_nr.iter().enumerate().filter_map(|(nr, s)| s.as_deref().map(|s| (nr as u32, s)))
    }

    pub fn get(&self, nr: u32) -> Option<&SyscallStats> {
        self.by_nr.get(nr as usize)?.as_deref()
    }
}

