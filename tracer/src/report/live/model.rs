//! What the live view shows, computed from the aggregator's tables: plain data and pure
//! functions, tested without a terminal.
use std::{collections::HashMap, collections::VecDeque, time::Duration};

use hdrhistogram::Histogram;

use crate::{
    syscalls,
    model::{
        table::SyscallStats,
        net::{NetIntervals, OpStats},
    },
    report::{
        sink::Tick,
        slow::line,
        format::{format_ns, WallClock},
        rows::SortKey,
    },
};

/// Figures of one syscall over some span.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub calls: u64,
    /// Calls with a latency (all but `exit_group`); latency figures mean nothing when 0.
    pub timed: u64,
    pub errors: u64,
    pub rate: f64,
    pub total_ns: u64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
}

impl Figures {
    /// p50, p99, p99.9 and max, formatted; "-" when no call was timed.
    pub fn latencies(&self) -> [String; 4] {
        [self.p50_ns, self.p99_ns, self.p999_ns, self.max_ns].map(|ns| if self.timed == 0 { "-".into() } else { format_ns(ns) })
    }

    fn of(stats: &SyscallStats, seconds: f64) -> Self {
        Self::from_parts(stats.calls, stats.errors, stats.total_ns, &stats.latency, seconds)
    }

    fn from_parts(calls: u64, errors: u64, total_ns: u64, latency: &Histogram<u64>, seconds: f64) -> Self {
        let q = |quantile| latency.value_at_quantile(quantile);
        Self {
            calls,
            timed: latency.len(),
            errors,
            rate: if seconds > 0.0 { calls as f64 / seconds } else { 0.0 },
            total_ns,
            p50_ns: q(0.5),
            p99_ns: q(0.99),
            p999_ns: q(0.999),
            max_ns: latency.max(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RowSnapshot {
    /// A syscall name, or a network/I/O key (`socket:read`, `tcp:connect`).
    pub name: String,
    pub interval: Figures,
    pub total: Figures,
    /// Latency distribution since the start: (upper bound ns, calls) per power-of-two bucket.
    pub buckets: Vec<(u64, u64)>,
    pub errnos: Vec<(String, u64)>,
}

/// One TCP connection, since the start.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnectionRow {
    pub local: String,
    pub peer: String,
    pub calls: u64,
    pub sent: u64,
    pub received: u64,
    pub total_ns: u64,
    pub p99_ns: u64,
}

/// Connections the view keeps, the ones with the most time first.
const CONNECTION_ROWS: usize = 50;

/// Everything the view needs from one interval; built on the reader's thread, sent to the UI.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub elapsed: Duration,
    pub interval: Duration,
    pub processes: usize,
    pub threads: usize,
    pub events_per_sec: f64,
    /// Calls counted in the kernel, without events.
    pub kernel_calls_per_sec: f64,
    pub lost: u64,
    pub rows: Vec<RowSnapshot>,
    pub connections: Vec<ConnectionRow>,
    /// With `--slow`: the latest slow calls' lines, newest first, and how many there were.
    pub slow: Option<(Vec<String>, u64)>,
    /// The traced cgroups' CPU quota and throttling since the start, and Go programs whose
    /// GOMAXPROCS disagrees with it: a line each.
    pub cpu_limits: Vec<String>,
}

/// Builds the snapshots of one view.
pub struct SnapshotBuilder {
    net_intervals: NetIntervals,
    clock: WallClock,
}

impl Default for SnapshotBuilder {
    fn default() -> Self {
        Self { net_intervals: NetIntervals::default(), clock: WallClock::now() }
    }
}

impl SnapshotBuilder {
    pub fn build(&mut self, tick: &Tick) -> Snapshot {
        let interval_s = tick.length.as_secs_f64();
        let elapsed = tick.start + tick.length;
        let total_s = elapsed.as_secs_f64();
        let empty = SyscallStats::new();
        let mut rows: Vec<RowSnapshot> = tick
            .total
            .syscalls()
            .map(|(nr, total)| {
                let interval = tick.interval.get(nr).unwrap_or(&empty);
                RowSnapshot {
                    name: syscalls::name(nr).unwrap_or("?").to_string(),
                    interval: Figures::of(interval, interval_s),
                    total: Figures::of(total, total_s),
                    buckets: log2_buckets(&total.latency),
                    errnos: total.errnos.iter().map(|(e, n)| (syscalls::errno_name(*e), *n)).collect(),
                }
            })
            .collect();
        for (key, interval) in self.net_intervals.next(tick.net) {
            let figures = |op: &OpStats, seconds| Figures::from_parts(op.calls(), op.errors, op.total_ns, &op.latency, seconds);
            rows.push(RowSnapshot {
                interval: figures(&interval, interval_s),
                total: figures(key.stats, total_s),
                buckets: log2_buckets(&key.stats.latency),
                errnos: Vec::new(),
                name: key.key,
            });
        }
        let threads = tick.live.iter().map(|pid| count_threads(*pid)).sum();
        let mut connections: Vec<ConnectionRow> = tick
            .net
            .connections
            .iter()
            .map(|c| ConnectionRow {
                local: c.local().to_string(),
                peer: c.peer().to_string(),
                calls: c.calls(),
                sent: c.sent,
                received: c.received,
                total_ns: c.total_ns,
                p99_ns: c.latency.value_at_quantile(0.99),
            })
            .collect();
        connections.sort_by_key(|c| std::cmp::Reverse(c.total_ns));
        connections.truncate(CONNECTION_ROWS);
        Snapshot {
            elapsed,
            interval: tick.length,
            processes: tick.live.len(),
            threads,
            events_per_sec: if interval_s > 0.0 { tick.interval.events as f64 / interval_s } else { 0.0 },
            kernel_calls_per_sec: if interval_s > 0.0 { tick.interval.kernel_calls as f64 / interval_s } else { 0.0 },
            lost: tick.lost,
            rows,
            connections,
            slow: tick.slow.map(|slow| {
                let lines = slow.recent.iter().rev().map(|call| line(call, &self.clock, false)).collect();
                (lines, slow.count)
            }),
            // The last interval's throttling: what is happening now.
            cpu_limits: crate::report::summary::render_cpu_limits(tick.throttling_interval, tick.go, None)
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("cpu quota") || l.starts_with("no cpu quota") || l.starts_with("note: "))
                .map(|l| if l.starts_with("note: ") { l.to_string() } else { format!("last interval: {l}") })
                .collect(),
        }
    }
}

fn count_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.count()).unwrap_or(0)
}

/// Calls per power-of-two latency bucket, from the first non-empty bucket to the last.
pub fn log2_buckets(histogram: &Histogram<u64>) -> Vec<(u64, u64)> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let mut buckets = Vec::new();
    let mut low = 0u64;
    let mut high = 1u64;
    while low <= histogram.max() {
        buckets.push((high, histogram.count_between(low, high - 1)));
        low = high;
        high = high.saturating_mul(2);
    }
    let first = buckets.iter().position(|(_, n)| *n > 0).unwrap_or(0);
    buckets.split_off(first)
}

/// The `rows` consecutive buckets holding the most calls (the earliest such window), so that a
/// short pane shows the bulk of the distribution rather than its tail.
pub fn busiest_window(buckets: &[(u64, u64)], rows: usize) -> &[(u64, u64)] {
    if buckets.len() <= rows || rows == 0 {
        return &buckets[..buckets.len().min(rows.max(buckets.len()))];
    }
    let sums = buckets.windows(rows).map(|w| w.iter().map(|(_, n)| n).sum::<u64>());
    let best = sums.enumerate().fold((0, 0), |best, (i, sum)| if sum > best.1 { (i, sum) } else { best }).0;
    &buckets[best..best + rows]
}

/// One bar of the histogram pane: label ("1.02us..2.05us"), calls, bar length in cells.
pub fn histogram_bars(buckets: &[(u64, u64)], width: usize) -> Vec<(String, u64, usize)> {
    let peak = buckets.iter().map(|(_, n)| *n).max().unwrap_or(0);
    buckets
        .iter()
        .map(|&(upper, n)| {
            let len = if peak == 0 || n == 0 { 0 } else { ((n as f64 / peak as f64) * width as f64).ceil() as usize };
            (format!("< {}", format_ns(upper)), n, len.min(width))
        })
        .collect()
}

/// The table the view shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Interval,
    SinceStart,
    Connections,
    Errors,
    Slow,
}

impl Pane {
    pub fn next(self) -> Self {
        match self {
            Pane::Interval => Pane::SinceStart,
            Pane::SinceStart => Pane::Connections,
            Pane::Connections => Pane::Errors,
            Pane::Errors => Pane::Slow,
            Pane::Slow => Pane::Interval,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Interval => "last interval",
            Pane::SinceStart => "since start",
            Pane::Connections => "TCP connections",
            Pane::Errors => "errors by errno",
            Pane::Slow => "slow calls",
        }
    }
}

pub const SORT_CYCLE: [SortKey; 6] = [SortKey::Time, SortKey::Calls, SortKey::Errors, SortKey::P99, SortKey::Max, SortKey::Name];

/// The view's state: the latest snapshot, p99 history for sparklines, selection, sort, pane.
pub struct ViewState {
    pub snapshot: Snapshot,
    pub history: HashMap<String, VecDeque<u64>>,
    pub selected: usize,
    pub sort: SortKey,
    pub pane: Pane,
    pub paused: bool,
}

pub const HISTORY: usize = 120;

impl ViewState {
    pub fn new(sort: SortKey) -> Self {
        Self { snapshot: Snapshot::default(), history: HashMap::new(), selected: 0, sort, pane: Pane::Interval, paused: false }
    }

    pub fn update(&mut self, snapshot: Snapshot) {
        for row in &snapshot.rows {
            let history = self.history.entry(row.name.clone()).or_default();
            history.push_back(row.interval.p99_ns);
            if history.len() > HISTORY {
                history.pop_front();
            }
        }
        self.snapshot = snapshot;
        self.selected = self.selected.min(self.snapshot.rows.len().saturating_sub(1));
    }

    pub fn reset(&mut self) {
        self.history.clear();
    }

    pub fn cycle_sort(&mut self) {
        let i = SORT_CYCLE.iter().position(|k| *k == self.sort).unwrap_or(0);
        self.sort = SORT_CYCLE[(i + 1) % SORT_CYCLE.len()];
    }

    pub fn move_selection(&mut self, down: bool) {
        let last = self.snapshot.rows.len().saturating_sub(1);
        self.selected = if down { (self.selected + 1).min(last) } else { self.selected.saturating_sub(1) };
    }

    /// Rows in display order, with the figures of the current pane.
    pub fn rows(&self) -> Vec<(&RowSnapshot, &Figures)> {
        let since_start = self.pane == Pane::SinceStart;
        let mut rows: Vec<(&RowSnapshot, &Figures)> =
            self.snapshot.rows.iter().map(|r| (r, if since_start { &r.total } else { &r.interval })).collect();
        let key = |f: &Figures| match self.sort {
            SortKey::Time | SortKey::Name => f.total_ns,
            SortKey::Avg => f.total_ns / f.timed.max(1),
            SortKey::Calls => f.calls,
            SortKey::Errors => f.errors,
            SortKey::P99 => f.p99_ns,
            SortKey::Max => f.max_ns,
        };
        match self.sort {
            SortKey::Name => rows.sort_by(|a, b| a.0.name.cmp(&b.0.name)),
            _ => rows.sort_by(|a, b| key(b.1).cmp(&key(a.1)).then(a.0.name.cmp(&b.0.name))),
        }
        rows
    }

    pub fn selected_row(&self) -> Option<&RowSnapshot> {
        self.rows().get(self.selected).map(|(r, _)| *r)
    }
}

/// The plain table printed each interval when stdout is not a terminal.
pub fn text_table(snapshot: &Snapshot, sort: SortKey) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "--- {:.1}s: {} process{}, {} threads, {:.0} events/s, {:.0} calls/s counted in the kernel, {} lost ---",
        snapshot.elapsed.as_secs_f64(),
        snapshot.processes,
        if snapshot.processes == 1 { "" } else { "es" },
        snapshot.threads,
        snapshot.events_per_sec,
        snapshot.kernel_calls_per_sec,
        snapshot.lost
    );
    for line in &snapshot.cpu_limits {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{:<18} {:>10} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9}", "syscall / I/O", "rate/s", "calls", "errors", "p50", "p99", "p99.9", "max");
    let mut state = ViewState::new(sort);
    state.snapshot = snapshot.clone();
    for (row, f) in state.rows().into_iter().filter(|(_, f)| f.calls > 0) {
        let [p50, p99, p999, max] = f.latencies();
        let _ = writeln!(out, "{:<18} {:>10.0} {:>9} {:>7} {p50:>9} {p99:>9} {p999:>9} {max:>9}", row.name, f.rate, f.calls, f.errors);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_recorded_range() {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for v in [100, 150, 1000, 1000, 1000] {
            h.record(v).unwrap();
        }
        let buckets = log2_buckets(&h);
        assert_eq!(buckets.first(), Some(&(128, 1)), "first non-empty bucket is [64,128)");
        assert_eq!(buckets.iter().map(|(_, n)| n).sum::<u64>(), 5);
        assert_eq!(buckets.last().unwrap().0, 1024);
        assert!(log2_buckets(&Histogram::<u64>::new(3).unwrap()).is_empty());
    }

    #[test]
    fn plain_table_counts_processes_in_english() {
        let one = text_table(&Snapshot { processes: 1, ..Default::default() }, SortKey::Calls);
        assert!(one.contains(": 1 process, "), "{one}");
        let two = text_table(&Snapshot { processes: 2, ..Default::default() }, SortKey::Calls);
        assert!(two.contains(": 2 processes, "), "{two}");
    }

    #[test]
    fn window_keeps_the_bulk() {
        let buckets = [(128, 1), (256, 1000), (512, 900), (1024, 2), (2048, 1)];
        assert_eq!(busiest_window(&buckets, 2), &buckets[1..3]);
        assert_eq!(busiest_window(&buckets, 9), &buckets[..]);
    }

    #[test]
    fn bars_scale_to_the_peak() {
        let bars = histogram_bars(&[(128, 1), (256, 0), (1024, 4)], 20);
        assert_eq!(bars[0], ("< 128ns".to_string(), 1, 5));
        assert_eq!(bars[1].2, 0);
        assert_eq!(bars[2].2, 20);
    }

    fn row(name: &'static str, calls: u64, p99_ns: u64) -> RowSnapshot {
        let f = Figures { calls, p99_ns, total_ns: calls * 10, ..Default::default() };
        RowSnapshot { name: name.to_string(), interval: f.clone(), total: f, ..Default::default() }
    }

    #[test]
    fn state_sorts_selects_and_keeps_history() {
        let mut state = ViewState::new(SortKey::Calls);
        state.update(Snapshot { rows: vec![row("read", 5, 100), row("write", 9, 50)], ..Default::default() });
        assert_eq!(state.rows()[0].0.name, "write");
        state.cycle_sort(); // errors
        state.cycle_sort(); // p99
        assert_eq!(state.sort, SortKey::P99);
        assert_eq!(state.rows()[0].0.name, "read");
        state.move_selection(true);
        state.move_selection(true);
        assert_eq!(state.selected, 1);
        assert_eq!(state.selected_row().unwrap().name, "write");
        state.update(Snapshot { rows: vec![row("read", 1, 300)], ..Default::default() });
        assert_eq!(state.selected, 0);
        assert_eq!(state.history["read"], VecDeque::from(vec![100, 300]));
        assert_eq!(state.pane.next().next().next().next(), Pane::Slow);
        assert_eq!(state.pane.next().next().next().next().next(), Pane::Interval);
    }

    fn read(fd: u64, ns: u64) -> crate::kernel::event::SyscallRecord {
        let nr = syscalls::number("read").unwrap();
        crate::kernel::event::SyscallRecord { nr, tgid: 1, tid: 1, start_ns: 0, duration_ns: Some(ns), returned: true, ret: 1, arg0: fd, blocked_ns: 0, runq_ns: 0, fd_kind: None }
    }

    #[test]
    fn network_rows_get_last_interval_figures_from_the_totals() {
        let (table, live) = (crate::model::table::StatsTable::default(), std::collections::HashSet::new());
        let mut builder = SnapshotBuilder::default();
        let mut snapshot = |net: &crate::model::net::NetStats| {
            let tick = Tick { groups: None, throttling: &[], throttling_interval: &[], go: &[], start: Duration::ZERO, length: Duration::from_secs(1), interval: &table, total: &table, lost: 0, live: &live, net, slow: None, last: false, time_split: true };
            let row = builder.build(&tick).rows.into_iter().find(|r| r.name == "file:read").unwrap();
            (row.interval.calls, row.interval.max_ns, row.total.calls)
        };
        let mut net = crate::model::net::NetStats::default();
        let mut open = read(u64::MAX, 100);
        (open.nr, open.ret) = (syscalls::number("openat").unwrap(), 99_999);
        net.on_syscall(&open);
        net.on_syscall(&read(99_999, 1000));
        assert_eq!(snapshot(&net), (1, 1000, 1));
        net.on_syscall(&read(99_999, 3000));
        net.on_syscall(&read(99_999, 3000));
        let (calls, max, total) = snapshot(&net);
        assert_eq!((calls, total), (2, 3));
        assert!((3000..3010).contains(&max), "{max}");
        assert_eq!(snapshot(&net).0, 0, "nothing new");
        // The totals were reset (the view's `r`): the interval is what there is now.
        net = crate::model::net::NetStats::default();
        net.on_syscall(&open);
        net.on_syscall(&read(99_999, 500));
        assert_eq!(snapshot(&net), (1, 500, 1));
    }
}
