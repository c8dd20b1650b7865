//! Aggregation: each record goes to its tables (the totals, and the current interval's for the
//! live view and interval logs), the I/O and network view, the slow calls and the groups.
use super::{
    groups::Groups,
    table::StatsTable,
    net::NetStats,
    slow::SlowCalls,
};
use crate::kernel::{
    event::{SchedRecord, SocketRecord, SyscallRecord},
    kernel_counts::{KernelCalls, KernelIo},
    thread_counts::ThreadDelta,
};
use crate::syscalls::{fd_class::class, selection::Selection};

/// Totals since the start (or the last reset), and, when asked for, the current interval.
#[derive(Clone, Debug, Default)]
pub struct Aggregator {
    pub total: StatsTable,
    interval: Option<StatsTable>,
    /// Network and I/O since the start (or the last reset).
    pub net: NetStats,
    /// The syscalls the tables show (`-e`); others arrive only to follow fds for `net`.
    shown: Selection,
    /// With `--slow`: the slow calls themselves.
    pub slow: Option<SlowCalls>,
    /// With `--by`: the tables again, per group of processes.
    pub groups: Option<Groups>,
}

impl Aggregator {
    /// With `intervals`, also keeps a table for the current interval ([`Aggregator::take_interval`]).
    pub fn new(intervals: bool, shown: Selection) -> Self {
        Self {
            total: StatsTable::default(),
            interval: intervals.then(StatsTable::default),
            net: NetStats::new(shown.clone()),
            shown,
            slow: None,
            groups: None,
        }
    }

    /// Whether the tables show syscall `nr` (`-e`); the others only follow fds.
    pub fn shows(&self, nr: u32) -> bool {
        self.shown.shows(nr)
    }

    /// A record that is no shown syscall's or thread's (a socket's, a fork's, an exit's):
    /// received all the same, so counted with the events.
    pub fn count_record(&mut self) {
        self.total.events += 1;
        if let Some(interval) = &mut self.interval {
            interval.events += 1;
        }
    }

    pub fn record(&mut self, rec: &SyscallRecord) {
        self.net.on_syscall(rec);
        if !self.shown.shows(rec.nr) {
            self.count_record();
            return;
        }
        self.total.record(rec);
        if let Some(interval) = &mut self.interval {
            interval.record(rec);
        }
        if let Some(groups) = &mut self.groups {
            groups.record(rec);
        }
    }

    /// Calls the kernel counted: into the tables like events, and with `--by` into their
    /// group's. Without `--by`, a read's or write's latency comes with
    /// [`Aggregator::record_kernel_io`].
    pub fn record_kernel(&mut self, calls: &KernelCalls) {
        if !self.shown.shows(calls.nr) {
            return;
        }
        self.total.record_kernel(calls);
        if let Some(interval) = &mut self.interval {
            interval.record_kernel(calls);
        }
        if let (Some(groups), Some(group)) = (&mut self.groups, calls.group) {
            groups.record_kernel(group as usize, calls);
        }
    }

    /// Reads and writes the kernel counted, by fd kind: into the I/O view, and without `--by`
    /// into their syscall's figures too (with `--by`, the kernel counts them in their group's
    /// rows as well, which come with [`Aggregator::record_kernel`]).
    pub fn record_kernel_io(&mut self, io: &KernelIo) {
        self.net.record_kernel_io(io);
        // Without --by, these are the syscall's only counts. Not a connect's: its slot holds
        // SYN-to-established times, never the call (counted in its own row).
        if self.groups.is_none() && !class(io.nr).connect {
            self.record_kernel(&io.as_calls());
        }
    }

    pub fn record_sched(&mut self, rec: &SchedRecord) {
        self.total.record_sched(rec).name_from(&rec.comm);
        if let Some(interval) = &mut self.interval {
            interval.record_sched(rec);
        }
    }

    pub fn record_kernel_thread(&mut self, delta: &ThreadDelta) {
        self.total.record_kernel_thread(delta).name_from(&delta.comm);
        if let Some(interval) = &mut self.interval {
            interval.record_kernel_thread(delta);
        }
    }

    pub fn record_socket(&mut self, rec: &SocketRecord) {
        self.count_record();
        self.net.on_socket(rec);
    }

    pub fn record_connect(&mut self, rec: &SocketRecord) {
        self.count_record();
        self.net.on_connect(rec);
    }

    /// Ends the current interval: returns its table and starts an empty one.
    pub fn take_interval(&mut self) -> StatsTable {
        self.interval.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Forgets the figures (the live view's `r`), not what is known of threads' fds.
    pub fn reset(&mut self) {
        self.total = StatsTable::default();
        self.net.reset_figures();
        if let Some(groups) = &mut self.groups {
            groups.reset();
        }
        if let Some(slow) = &mut self.slow {
            *slow = SlowCalls::new(slow.threshold_ns, slow.keep());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::table::MAX_THREADS;

    fn call(nr: u32, duration_ns: Option<u64>, ret: i64) -> SyscallRecord {
        SyscallRecord { nr, tgid: 1, tid: 1, start_ns: 0, duration_ns, returned: duration_ns.is_some(), ret, arg0: 0, blocked_ns: 0, runq_ns: 0, fd_kind: None }
    }

    /// The kernel's buckets, read as the reader reads them: counts and totals exact, the
    /// maximum exact, percentiles within 0.4%; errors by errno exact.
    #[test]
    fn kernel_counts_match_the_same_calls_as_events() {
        use tracer_common::kernel_counts::{hist_bucket, SyscallTotals};
        let (mut events, mut kernel) = (Aggregator::new(true, Selection::all()), Aggregator::new(true, Selection::all()));
        let mut totals = SyscallTotals::default();
        let mut buckets = std::collections::BTreeMap::new();
        for i in 0..10_000u64 {
            let ns = 150 + i * i % 7_000_000;
            // One call in ten fails (EAGAIN, else EINTR).
            let ret = match i % 10 { 0 => -11, 5 if i % 20 == 5 => -4, _ => 0 };
            events.record(&call(3, Some(ns), ret));
            totals = SyscallTotals { calls: totals.calls + 1, total_ns: totals.total_ns + ns, max_ns: totals.max_ns.max(ns), ..totals };
            *buckets.entry(hist_bucket(ns)).or_insert(0u64) += 1;
        }
        let errnos = vec![(11, 1000), (4, 500)];
        kernel.record_kernel(&KernelCalls { nr: 3, group: None, totals, buckets: buckets.into_iter().collect(), errnos });
        let (e, k) = (events.total.get(3).unwrap(), kernel.total.get(3).unwrap());
        assert_eq!((k.calls, k.total_ns, k.latency.len()), (e.calls, e.total_ns, e.latency.len()));
        assert_eq!((k.errors, &k.errnos), (e.errors, &e.errnos));
        assert_eq!(k.errors, 1500);
        assert_eq!(k.latency.max(), e.latency.max());
        for q in [0.1, 0.5, 0.9, 0.99, 0.999] {
            let (a, b) = (k.latency.value_at_quantile(q) as f64, e.latency.value_at_quantile(q) as f64);
            assert!((a - b).abs() <= 0.005 * b, "p{q}: {a} against {b}");
        }
        assert_eq!((kernel.total.kernel_calls, kernel.take_interval().get(3).unwrap().calls), (10_000, 10_000));
    }

    #[test]
    fn counts_calls_errors_and_latency() {
        let mut agg = Aggregator::new(false, Selection::all());
        for i in 1..=1000 {
            agg.record(&call(0, Some(i * 1000), 1));
        }
        agg.record(&call(0, Some(10), -2));
        agg.record(&call(231, None, 0));
        agg.record(&call(1, Some(5_000_000_000), 0));
        let max = agg.total.get(1).unwrap().latency.max();
        assert!((5_000_000_000..=5_005_000_000).contains(&max), "large values are kept, within 0.1%: {max}");
        let read = agg.total.get(0).unwrap();
        assert_eq!((read.calls, read.errors, read.no_return), (1001, 1, 0));
        assert_eq!(read.errnos.get(&2), Some(&1));
        assert_eq!(read.latency.len(), 1001);
        let p50 = read.latency.value_at_quantile(0.5);
        assert!((499_000..=501_000).contains(&p50), "p50 {p50}");
        let exit = agg.total.get(231).unwrap();
        assert_eq!((exit.calls, exit.no_return, exit.latency.len()), (1, 1, 0));
        assert_eq!(agg.total.events, 1003);
        assert_eq!(agg.total.syscalls().count(), 3);
    }

    #[test]
    fn a_call_in_flight_at_attach_is_counted_without_a_latency() {
        let mut agg = Aggregator::new(false, Selection::all());
        agg.record(&call(0, Some(100), 1));
        agg.record(&SyscallRecord { returned: true, ..call(0, None, -4) });
        let read = agg.total.get(0).unwrap();
        assert_eq!((read.calls, read.errors, read.in_flight, read.no_return), (2, 1, 1, 0));
        assert_eq!((read.latency.len(), read.total_ns), (1, 100));
        assert_eq!(read.errnos.get(&4), Some(&1));
    }

    #[test]
    fn splits_time_into_on_cpu_runq_and_blocked() {
        let mut agg = Aggregator::new(false, Selection::all());
        agg.record(&SyscallRecord { blocked_ns: 600, runq_ns: 300, ..call(0, Some(1000), 1) });
        agg.record(&SyscallRecord { blocked_ns: 5000, runq_ns: 5000, ..call(0, Some(1000), 1) });
        let read = agg.total.get(0).unwrap();
        assert_eq!((read.total_ns, read.blocked_ns, read.runq_ns, read.on_cpu_ns()), (2000, 1600, 300, 100));
    }

    #[test]
    fn per_thread_scheduler_latency() {
        let mut agg = Aggregator::new(false, Selection::all());
        agg.record_sched(&SchedRecord { tgid: 1, tid: 7, off_cpu_ns: 1000, runq_ns: 400, comm: *b"worker\0\0\0\0\0\0\0\0\0\0" });
        agg.record_sched(&SchedRecord { tgid: 1, tid: 7, off_cpu_ns: 3000, runq_ns: 0, comm: *b"worker\0\0\0\0\0\0\0\0\0\0" });
        let thread = &agg.total.threads[&7];
        assert_eq!(thread.name, "worker", "named by the kernel, not by a /proc it may be gone from");
        assert_eq!((thread.off_cpu.len(), thread.off_cpu_total_ns), (2, 4000));
        assert!(thread.runq.equivalent(thread.runq.max(), 400), "within the 2 digits kept");
        assert!(agg.total.syscalls().next().is_none(), "no syscall rows from scheduler events");
    }

    #[test]
    fn the_thread_table_stays_bounded() {
        let mut table = StatsTable::default();
        for tid in 0..(MAX_THREADS as u32 * 3) {
            table.record_sched(&SchedRecord { tgid: tid, tid, off_cpu_ns: 1000, runq_ns: u64::from(tid % 7 == 0) * 500, comm: [0; 16] });
        }
        assert!(table.threads.len() <= MAX_THREADS);
        assert_eq!(table.threads.len() as u64 + table.threads_dropped, MAX_THREADS as u64 * 3);
        assert!(table.threads.contains_key(&7) && table.threads.contains_key(&14), "the threads that waited are kept");
    }

    #[test]
    fn intervals_and_reset() {
        let mut agg = Aggregator::new(true, Selection::all());
        agg.record(&call(0, Some(100), 1));
        agg.record(&call(0, Some(100), 1));
        let first = agg.take_interval();
        assert_eq!(first.get(0).unwrap().calls, 2);
        agg.record(&call(1, Some(100), 1));
        let second = agg.take_interval();
        assert!(second.get(0).is_none());
        assert_eq!(second.get(1).unwrap().calls, 1);
        assert_eq!(agg.total.events, 3);
        agg.reset();
        assert_eq!(agg.total.events, 0);
        assert!(Aggregator::new(false, Selection::all()).take_interval().syscalls().next().is_none());
    }

    #[test]
    fn syscalls_outside_the_selection_only_follow_fds() {
        let nr = |name| crate::syscalls::table::number(name).unwrap();
        let selected = Selection::parse(&["trace=read".to_string()]).unwrap();
        let mut agg = Aggregator::new(true, selected);
        let mut open = call(nr("openat"), Some(100), 99_999);
        open.arg0 = u64::MAX;
        agg.record(&open);
        let mut read = call(nr("read"), Some(50), 1);
        read.arg0 = 99_999;
        agg.record(&read);
        assert!(agg.total.get(nr("openat")).is_none(), "not shown");
        assert_eq!(agg.total.get(nr("read")).unwrap().calls, 1);
        assert_eq!((agg.total.events, agg.take_interval().events), (2, 2), "every delivered event is counted");
        assert!(agg.net.keys().iter().any(|k| k.key == "file:read"), "the open still named the fd");
    }
}
