//! Prometheus text exposition (format 0.0.4): the file written for node-exporter's textfile
//! collector (`--prometheus`) and the page `tracer serve` answers scrapes with. Histograms are
//! cumulative since the start, as Prometheus expects; with `--by`, every syscall series carries
//! the group's label instead of a machine-wide total (so sums over the label are the totals).
use std::{fmt::Write as _, path::PathBuf};

use anyhow::Result;
use hdrhistogram::Histogram;

use super::{
    atomic_file::write_atomic,
    sink::{Control, IntervalSink, Tick},
    rows::{sorted_rows, SortKey},
};
use crate::{
    syscalls,
    model::{aggregate::StatsTable, cpu_quota::Throttling, go_runtime::GoSeen, groups::Groups, net::NetStats},
};

/// Upper bounds (seconds) of the histogram buckets: 1µs to 10s, 1-2.5-5 steps.
const BUCKETS: &[f64] = &[
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25,
    0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The tracer's own cost, for an agent's metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct SelfUsage {
    pub resident_bytes: u64,
    pub cpu_seconds: f64,
    pub start_time_seconds: f64,
}

impl SelfUsage {
    pub fn now(start_time_seconds: f64) -> Self {
        let usage = ProcessUsage::now();
        Self { resident_bytes: usage.resident_bytes, cpu_seconds: (usage.user + usage.system).as_secs_f64(), start_time_seconds }
    }
}

/// The tracer process's use so far: user and system CPU of every thread (getrusage), resident
/// memory now (/proc/self/statm) and at its peak.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessUsage {
    pub user: std::time::Duration,
    pub system: std::time::Duration,
    pub resident_bytes: u64,
    /// Of `resident_bytes`, the anonymous part (heap, stacks). The rest is file-backed: the
    /// binary, and the kernel's maps mapped in (the ring buffer, twice, and the histograms),
    /// memory the kernel holds for the maps whether mapped or not.
    pub anonymous_bytes: u64,
    pub peak_resident_bytes: u64,
}

impl ProcessUsage {
    pub fn now() -> Self {
        // statm: size, resident, shared (file-backed), ... in pages.
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let field = |n: usize| -> u64 { statm.split_whitespace().nth(n).and_then(|v| v.parse().ok()).unwrap_or(0) };
        let (pages, shared) = (field(1), field(2));
        // SAFETY: sysconf and getrusage only write the struct they are given.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        let time = |t: libc::timeval| std::time::Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        Self {
            user: time(usage.ru_utime),
            system: time(usage.ru_stime),
            resident_bytes: pages * page,
            anonymous_bytes: pages.saturating_sub(shared) * page,
            // ru_maxrss is in KiB.
            peak_resident_bytes: usage.ru_maxrss as u64 * 1024,
        }
    }
}

/// What one exposition shows.
pub struct Exposition<'a> {
    pub totals: &'a StatsTable,
    pub net: &'a NetStats,
    pub lost: u64,
    pub groups: Option<&'a Groups>,
    pub throttling: &'a [Throttling],
    pub go: &'a [GoSeen],
    /// For an agent: its own RSS and CPU.
    pub usage: Option<SelfUsage>,
}

/// One metric family at a time: HELP and TYPE once, then its series.
struct Writer {
    out: String,
}

impl Writer {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let _ = writeln!(self.out, "{name}{{{labels}}} {value}");
        }
    }

    /// The bucket, sum and count lines of one histogram series.
    fn histogram(&mut self, name: &str, labels: &str, latency: &Histogram<u64>, total_ns: u64) {
        let sep = if labels.is_empty() { "" } else { "," };
        for le in BUCKETS {
            let count = latency.count_between(0, (le * 1e9) as u64);
            let _ = writeln!(self.out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {count}");
        }
        let _ = writeln!(self.out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", latency.len());
        self.sample(&format!("{name}_sum"), labels, total_ns as f64 / 1e9);
        self.sample(&format!("{name}_count"), labels, latency.len());
    }
}

/// A label value, escaped as the text format requires.
pub fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub fn render(e: &Exposition) -> String {
    let mut w = Writer { out: String::new() };
    // The tables to show: the totals, or one per group, each with its label.
    let tables: Vec<(String, &StatsTable)> = match e.groups {
        None => vec![(String::new(), e.totals)],
        Some(groups) => groups
            .sorted()
            .into_iter()
            .map(|g| (format!("{}=\"{}\",", groups.by.label(), escape(&g.name)), &g.table))
            .collect(),
    };
    let rows: Vec<(&str, Vec<(&'static str, &crate::model::aggregate::SyscallStats)>)> =
        tables.iter().map(|(group, table)| (group.as_str(), sorted_rows(table, SortKey::Name))).collect();

    w.family("tracer_syscalls_total", "counter", "Syscalls of the traced processes: every call, those of unknown latency too.");
    for (group, rows) in &rows {
        for (name, stats) in rows {
            w.sample("tracer_syscalls_total", &format!("{group}syscall=\"{name}\""), stats.calls);
        }
    }
    w.family("tracer_syscall_duration_seconds", "histogram", "Latency of completed syscalls of the traced processes.");
    for (group, rows) in &rows {
        for (name, stats) in rows {
            w.histogram("tracer_syscall_duration_seconds", &format!("{group}syscall=\"{name}\""), &stats.latency, stats.total_ns);
        }
    }
    w.family(
        "tracer_syscall_time_seconds_total",
        "counter",
        "Where the syscalls' time went: on a CPU, runnable in the run queue (CPU contention, CFS throttling), or blocked.",
    );
    for (group, rows) in &rows {
        for (name, stats) in rows {
            for (state, ns) in [("on_cpu", stats.on_cpu_ns()), ("runq", stats.runq_ns), ("blocked", stats.blocked_ns)] {
                w.sample("tracer_syscall_time_seconds_total", &format!("{group}syscall=\"{name}\",state=\"{state}\""), ns as f64 / 1e9);
            }
        }
    }
    w.family("tracer_syscall_errors_total", "counter", "Failed syscalls by errno.");
    for (group, rows) in &rows {
        for (name, stats) in rows {
            for (errno, count) in &stats.errnos {
                let errno = syscalls::errno_name(*errno);
                w.sample("tracer_syscall_errors_total", &format!("{group}syscall=\"{name}\",errno=\"{errno}\""), count);
            }
        }
    }
    if rows.iter().any(|(_, rows)| rows.iter().any(|(_, s)| s.in_flight > 0)) {
        w.family(
            "tracer_syscall_in_flight_at_start_total",
            "counter",
            "Syscalls in progress when tracing began: they returned while traced, of unknown latency, so they are not in the histogram.",
        );
        for (group, rows) in &rows {
            for (name, stats) in rows.iter().filter(|(_, s)| s.in_flight > 0) {
                w.sample("tracer_syscall_in_flight_at_start_total", &format!("{group}syscall=\"{name}\""), stats.in_flight);
            }
        }
    }
    let keys = e.net.keys();
    if !keys.is_empty() {
        w.family(
            "tracer_io_duration_seconds",
            "histogram",
            "Latency of network and I/O operations: KIND:SYSCALL by fd kind, tcp:accept, tcp:connect.",
        );
        for key in &keys {
            w.histogram("tracer_io_duration_seconds", &format!("op=\"{}\"", escape(&key.key)), &key.stats.latency, key.stats.total_ns);
        }
        w.family("tracer_io_bytes_total", "counter", "Bytes moved by read/write-family syscalls, by fd kind.");
        for key in keys.iter().filter(|k| k.moves_bytes) {
            w.sample("tracer_io_bytes_total", &format!("op=\"{}\"", escape(&key.key)), key.stats.bytes);
        }
    }
    // Cgroups with no quota that were never throttled: nothing to say.
    let limited: Vec<Throttling> = e.throttling.iter().filter(|t| t.quota_us.is_some() || t.nr_throttled > 0).cloned().collect();
    if !limited.is_empty() {
        throttling(&mut w, &limited);
    }
    if !e.go.is_empty() {
        w.family(
            "tracer_go_gomaxprocs",
            "gauge",
            "GOMAXPROCS of a traced Go program, as its runtime derives it at start (absent when the program sets it itself).",
        );
        for seen in e.go {
            if let Some(procs) = seen.go.gomaxprocs {
                let labels = format!("pid=\"{}\",comm=\"{}\",go_version=\"{}\"", seen.go.pid, escape(&seen.comm), escape(&seen.go.build.version));
                w.sample("tracer_go_gomaxprocs", &labels, procs);
            }
        }
    }
    if let Some(groups) = e.groups {
        w.family("tracer_groups", "gauge", "Groups of processes with series now (--by), the cap's overflow group included.");
        w.sample("tracer_groups", &format!("by=\"{}\"", groups.by.label()), groups.sorted().len());
        w.family(
            "tracer_group_overflow_total",
            "counter",
            "Processes counted in the group \"other\" because --max-groups groups existed already.",
        );
        w.sample("tracer_group_overflow_total", "", groups.overflowed);
        w.family("tracer_groups_retired_total", "counter", "Groups dropped after their processes ended and their last figures were scraped.");
        w.sample("tracer_groups_retired_total", "", groups.retired);
    }
    w.family("tracer_events_total", "counter", "Events the tracer received from the kernel.");
    w.sample("tracer_events_total", "", e.totals.events);
    w.family("tracer_kernel_counted_calls_total", "counter", "Calls counted in the kernel rather than received as events.");
    w.sample("tracer_kernel_counted_calls_total", "", e.totals.kernel_calls);
    w.family("tracer_events_lost_total", "counter", "Events the kernel dropped because the ring buffer was full.");
    w.sample("tracer_events_lost_total", "", e.lost);
    if let Some(usage) = e.usage {
        w.family("process_resident_memory_bytes", "gauge", "Resident memory of the tracer itself.");
        w.sample("process_resident_memory_bytes", "", usage.resident_bytes);
        w.family("process_cpu_seconds_total", "counter", "User and system CPU time of the tracer itself (its kernel programs run in the traced tasks' time).");
        w.sample("process_cpu_seconds_total", "", usage.cpu_seconds);
        w.family("process_start_time_seconds", "gauge", "Start time of the tracer since the Unix epoch.");
        w.sample("process_start_time_seconds", "", usage.start_time_seconds);
    }
    w.out
}

fn throttling(w: &mut Writer, rows: &[Throttling]) {
    let label = |t: &Throttling| format!("cgroup=\"{}\"", escape(&t.cgroup));
    w.family("tracer_cgroup_cpu_quota_cpus", "gauge", "CPU quota of a traced cgroup (cpu.max, or cfs_quota_us/cfs_period_us), in CPUs; absent when unlimited.");
    for t in rows {
        if let Some(quota) = t.quota_us {
            w.sample("tracer_cgroup_cpu_quota_cpus", &label(t), quota as f64 / t.period_us.max(1) as f64);
        }
    }
    w.family("tracer_cgroup_cpu_periods_total", "counter", "CFS enforcement periods of a traced cgroup since tracing began (cpu.stat nr_periods).");
    for t in rows {
        w.sample("tracer_cgroup_cpu_periods_total", &label(t), t.nr_periods);
    }
    w.family("tracer_cgroup_cpu_throttled_periods_total", "counter", "Periods in which the cgroup was throttled (cpu.stat nr_throttled).");
    for t in rows {
        w.sample("tracer_cgroup_cpu_throttled_periods_total", &label(t), t.nr_throttled);
    }
    w.family("tracer_cgroup_cpu_throttled_seconds_total", "counter", "Time the cgroup's tasks were throttled (cpu.stat throttled_usec / throttled_time).");
    for t in rows {
        w.sample("tracer_cgroup_cpu_throttled_seconds_total", &label(t), t.throttled_ns as f64 / 1e9);
    }
}

/// Rewrites the Prometheus file every interval, so a long run is visible while it lasts; the
/// session's last (partial) interval writes the final totals.
pub struct PrometheusSink {
    pub path: PathBuf,
}

impl IntervalSink for PrometheusSink {
    fn wants_intervals(&self) -> bool {
        false // cumulative figures only
    }

    fn on_interval(&mut self, tick: &Tick) -> Result<Control> {
        let text = render(&Exposition {
            totals: tick.total,
            net: tick.net,
            lost: tick.lost,
            groups: tick.groups,
            throttling: tick.throttling,
            go: tick.go,
            usage: None,
        });
        write_atomic(&self.path, text.as_bytes())?;
        Ok(Control::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::event::SyscallRecord;

    #[test]
    fn families_come_once_and_groups_label_every_series() {
        use crate::model::groups::{GroupBy, Groups};
        let mut groups = Groups::new(GroupBy::Comm, Vec::new(), 10, None);
        let me = std::process::id();
        let rec = SyscallRecord { nr: 0, tgid: me, tid: me, start_ns: 0, duration_ns: Some(2_000), returned: true, ret: -2, arg0: 0, blocked_ns: 0, runq_ns: 500 };
        groups.record(&rec);
        let totals = StatsTable::default();
        let net = NetStats::default();
        let text = render(&Exposition { totals: &totals, net: &net, lost: 3, groups: Some(&groups), throttling: &[], go: &[], usage: Some(SelfUsage::now(1.0)) });
        let comm = escape(&crate::model::names::comm(me));
        assert!(text.contains(&format!("tracer_syscalls_total{{comm=\"{comm}\",syscall=\"read\"}} 1\n")), "{text}");
        assert!(text.contains(&format!("tracer_syscall_duration_seconds_bucket{{comm=\"{comm}\",syscall=\"read\",le=\"0.0000025\"}} 1\n")), "{text}");
        assert!(text.contains(&format!("tracer_syscall_time_seconds_total{{comm=\"{comm}\",syscall=\"read\",state=\"runq\"}} 0.0000005\n")), "{text}");
        assert!(text.contains(&format!("tracer_syscall_errors_total{{comm=\"{comm}\",syscall=\"read\",errno=\"ENOENT\"}} 1\n")), "{text}");
        assert!(text.contains("tracer_events_lost_total 3\n") && text.contains("process_resident_memory_bytes "));
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            assert_eq!(text.matches(&format!("{line}\n")).count(), 1, "{line} twice");
        }
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
