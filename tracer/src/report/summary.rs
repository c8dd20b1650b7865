//! The end-of-run table, in the spirit of `strace -c` with honest percentiles.
use std::{collections::HashMap, fmt::Write, time::Duration};

use hdrhistogram::Histogram;

use super::{
    format::format_ns,
    rows::{sorted_rows, SortKey},
};
use crate::{
    syscalls::{self, format::escape},
    model::{
        table::{StatsTable, SyscallStats},
        cpu_quota::Throttling,
        go_runtime::{self, GoMaxProcsSource, GoSeen},
        groups::Groups,
        histogram::{new_coarse_histogram, size_at},
        net::{Connection, NetStats, OpStats, ACCEPT_MEANS, CONNECT_MEANS},
    },
};

/// Facts about the run shown in the footer.
#[derive(Clone, Debug, Default)]
pub struct RunFacts {
    pub lost: u64,
    pub duration: Duration,
    pub processes: usize,
    /// The scheduler tracepoints were attached: show on-CPU / run queue / blocked shares.
    pub sched_split: bool,
}

/// Syscalls shown in the where-the-time-went table (the table above is sorted by `-S`; this one
/// keeps the ones with the most time).
const SPLIT_ROWS: usize = 10;

/// The summary: per-syscall table, where the time went, scheduler, I/O and network (when
/// `net` is given), errors by errno, and the footer last.
pub fn render(table: &StatsTable, facts: &RunFacts, sort: SortKey, net: Option<&NetStats>) -> String {
    let rows = sorted_rows(table, sort);
    let mut out = String::new();
    if rows.is_empty() {
        let _ = writeln!(out, "no traced syscall completed");
    } else {
        render_syscalls(&mut out, table, facts, &rows);
    }
    if facts.sched_split && !table.threads.is_empty() {
        render_threads(&mut out, table);
    }
    if let Some(net) = net {
        out.push_str(&render_network(net));
    }
    render_errors(&mut out, &rows);
    out
}

/// `--by`: each group's own syscall table, the group with the most time first.
pub fn render_groups(groups: &Groups, facts: &RunFacts, sort: SortKey) -> String {
    let mut out = String::new();
    let sorted = groups.sorted();
    if let [only] = sorted.as_slice() {
        // Its table would repeat the main one.
        let plural = if only.processes == 1 { "" } else { "es" };
        let _ = writeln!(out, "\n{} {} ({} process{plural}): every traced call, the table above", groups.by.label(), escape(&only.name), only.processes);
        return out;
    }
    for group in sorted {
        let rows = sorted_rows(&group.table, sort);
        let plural = if group.processes == 1 { "" } else { "es" };
        let _ = writeln!(out, "\n{} {} ({} process{plural}):", groups.by.label(), escape(&group.name), group.processes);
        match rows.is_empty() {
            true => {
                let _ = writeln!(out, "no traced syscall completed");
            }
            false => render_syscalls(&mut out, &group.table, facts, &rows),
        }
    }
    if groups.overflowed > 0 {
        let _ = writeln!(
            out,
            "\n{} processes beyond --max-groups are in the group \"{}\"",
            groups.overflowed,
            crate::model::groups::OTHER
        );
    }
    out
}

/// The per-syscall table and where each syscall's time went.
fn render_syscalls(out: &mut String, table: &StatsTable, facts: &RunFacts, rows: &[(&'static str, &SyscallStats)]) {
    let grand_total: u64 = rows.iter().map(|(_, s)| s.total_ns).sum();
    let header = ["% time", "total", "calls", "errors", "p50", "p90", "p99", "p99.9", "max", "syscall"];
    let _ = writeln!(
        out,
        "{:>6} {:>9} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {}",
        header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7], header[8], header[9]
    );
    let _ = writeln!(out, "{}", "-".repeat(100));
    for (name, stats) in rows {
        let share = if grand_total == 0 { 0.0 } else { 100.0 * stats.total_ns as f64 / grand_total as f64 };
        let q = |quantile: f64| {
            if stats.latency.is_empty() { "-".to_string() } else { format_ns(stats.latency.value_at_quantile(quantile)) }
        };
        let max = if stats.latency.is_empty() { "-".to_string() } else { format_ns(stats.latency.max()) };
        let _ = writeln!(
            out,
            "{share:>6.2} {:>9} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {name}",
            format_ns(stats.total_ns),
            stats.calls,
            if stats.errors == 0 { String::new() } else { stats.errors.to_string() },
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            max,
        );
    }
    let _ = writeln!(out, "{}", "-".repeat(100));
    let calls: u64 = rows.iter().map(|(_, s)| s.calls).sum();
    let errors: u64 = rows.iter().map(|(_, s)| s.errors).sum();
    let _ = writeln!(out, "{:>6.2} {:>9} {calls:>10} {errors:>8} {:>49} total", 100.0, format_ns(grand_total), "");
    let in_flight: Vec<String> =
        rows.iter().filter(|(_, s)| s.in_flight > 0).map(|(name, s)| format!("{name} {}", s.in_flight)).collect();
    if !in_flight.is_empty() {
        let _ = writeln!(
            out,
            "in progress when tracing began (counted above, latency unknown so not in the percentiles): {}",
            in_flight.join(", ")
        );
    }

    if facts.sched_split {
        let _ = writeln!(out, "\nwhere the time went (share of each syscall's total time, {SPLIT_ROWS} with the most time):");
        let _ = writeln!(out, "{:>9} {:>8} {:>10} {:>8} syscall", "total", "on-CPU", "run queue", "blocked");
        let by_time = sorted_rows(table, SortKey::Time);
        for (name, stats) in by_time.into_iter().filter(|(_, s)| s.total_ns > 0).take(SPLIT_ROWS) {
            let pct = |ns: u64| 100.0 * ns as f64 / stats.total_ns as f64;
            let _ = writeln!(
                out,
                "{:>9} {:>7.1}% {:>9.1}% {:>7.1}% {name}",
                format_ns(stats.total_ns),
                pct(stats.on_cpu_ns()),
                pct(stats.runq_ns),
                pct(stats.blocked_ns),
            );
        }
    }
}

fn render_errors(out: &mut String, rows: &[(&'static str, &SyscallStats)]) {
    let failing: Vec<_> = rows.iter().filter(|(_, s)| s.errors > 0).collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\nerrors by errno:");
        for (name, stats) in failing {
            for (errno, count) in &stats.errnos {
                let _ = writeln!(out, "  {name:<20} {:<14} {count:>10}", syscalls::errno_name(*errno));
            }
        }
    }
}

/// The summary's last lines, after every other section: events received and lost (and a
/// warning when any were), what was traced. People look for lost events last.
pub fn render_footer(table: &StatsTable, facts: &RunFacts) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nevents: {} received, {} lost; traced {:.3}s, {} process{}{}",
        table.events,
        facts.lost,
        facts.duration.as_secs_f64(),
        facts.processes,
        if facts.processes == 1 { "" } else { "es" },
        match table.kernel_calls {
            0 => String::new(),
            calls => format!("; {calls} more calls counted in the kernel"),
        }
    );
    if facts.lost > 0 {
        let _ = writeln!(
            out,
            "warning: {} events were lost (ring buffer full); counts above are low by that much. \
             Try a larger --buffer-size or a narrower -e trace=.",
            facts.lost
        );
    }
    out
}

/// Connections and peers shown, the ones with the most time first.
const NETWORK_ROWS: usize = 10;

/// Network and I/O sections: by operation and fd kind, then connections and peers. Empty when
/// the run did no such I/O.
fn render_network(net: &NetStats) -> String {
    let mut out = String::new();
    if net.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nI/O and network by operation (read/write family by what the fd is):");
    let _ = writeln!(
        out,
        "{:<10} {:<7} {:>9} {:>14} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "syscall", "fd", "calls", "bytes", "p50", "p99", "max", "bytes p50", "bytes p99"
    );
    for ((name, kind), op) in net.ops() {
        let h = &op.latency;
        let _ = writeln!(
            out,
            "{name:<10} {kind:<7} {:>9} {:>14} {:>9} {:>9} {:>9} {:>10} {:>10}",
            op.calls(),
            op.bytes,
            format_ns(h.value_at_quantile(0.5)),
            format_ns(h.value_at_quantile(0.99)),
            format_ns(h.max()),
            op.size_at(0.5),
            op.size_at(0.99),
        );
    }
    for (label, stats, what) in [("accept", &net.accepts, ACCEPT_MEANS), ("connect", &net.connects, CONNECT_MEANS)] {
        if let Some(op @ OpStats { latency: h, .. }) = stats {
            let _ = writeln!(
                out,
                "{label:<10} {:<7} {:>9} {:>14} {:>9} {:>9} {:>9}  ({what})",
                "socket",
                op.calls(),
                "-",
                format_ns(h.value_at_quantile(0.5)),
                format_ns(h.value_at_quantile(0.99)),
                format_ns(h.max())
            );
        }
    }
    if net.connections.is_empty() {
        return out;
    }
    let mut connections: Vec<&Connection> = net.connections.iter().collect();
    connections.sort_by_key(|c| std::cmp::Reverse(c.total_ns));
    let _ = writeln!(out, "\nTCP connections, most time in syscalls first ({} in all):", connections.len());
    if net.untracked_connections > 0 {
        let _ = writeln!(
            out,
            "(and {} more not followed one by one: at most {} are; their I/O is in the table above)",
            net.untracked_connections,
            crate::model::net::MAX_CONNECTIONS
        );
    }
    let _ = writeln!(
        out,
        "{:>7} {:<22} {:<22} {:>8} {:>8} {:>7} {:>12} {:>12} {:>9} {:>9} {:>13}",
        "pid", "local", "peer", "accept", "connect", "calls", "sent", "received", "total", "p99", "send/recv p50"
    );
    let optional = |ns: Option<u64>| ns.map_or("-".to_string(), format_ns);
    for c in connections.iter().take(NETWORK_ROWS) {
        let _ = writeln!(
            out,
            "{:>7} {:<22} {:<22} {:>8} {:>8} {:>7} {:>12} {:>12} {:>9} {:>9} {:>13}",
            c.tgid,
            c.local().to_string(),
            c.peer().to_string(),
            match (c.accepted, c.accept_ns) {
                (true, None) => "?".to_string(), // the accept was in progress when tracing began
                (_, wait) => optional(wait),
            },
            optional(c.connect_ns),
            c.calls(),
            c.sent,
            c.received,
            format_ns(c.total_ns),
            format_ns(c.latency.value_at_quantile(0.99)),
            // Each at its bucket's low end, as other sizes are: 512 shows as 512, not 543.
            format!("{}/{}", size_at(&c.sent_sizes, 0.5), size_at(&c.received_sizes, 0.5)),
        );
    }
    // Peers: the remote address, all its connections together.
    let mut peers: HashMap<std::net::IpAddr, (usize, u64, u64, Histogram<u64>)> = HashMap::new();
    for c in &net.connections {
        let peer = peers.entry(c.peer().ip()).or_insert_with(|| (0, 0, 0, new_coarse_histogram()));
        peer.0 += 1;
        peer.1 += c.total_ns;
        peer.2 += c.sent + c.received;
        let _ = peer.3.add(&c.latency);
    }
    let mut peers: Vec<_> = peers.into_iter().collect();
    for (title, by_p99) in [("most time", false), ("worst p99", true)] {
        peers.sort_by(|a, b| {
            let key = |p: &(usize, u64, u64, Histogram<u64>)| if by_p99 { p.3.value_at_quantile(0.99) } else { p.1 };
            key(&b.1).cmp(&key(&a.1)).then(a.0.cmp(&b.0))
        });
        let _ = writeln!(out, "\npeers, {title} first:");
        let _ = writeln!(out, "{:<40} {:>11} {:>14} {:>9} {:>9}", "peer", "connections", "bytes", "total", "p99");
        for (ip, (count, total_ns, bytes, h)) in peers.iter().take(NETWORK_ROWS) {
            let _ = writeln!(out, "{:<40} {count:>11} {bytes:>14} {:>9} {:>9}", ip.to_string(), format_ns(*total_ns), format_ns(h.value_at_quantile(0.99)));
        }
    }
    out
}

/// Threads shown in the scheduler table, the ones with the worst run-queue p99 first.
const THREAD_ROWS: usize = 20;

fn render_threads(out: &mut String, table: &StatsTable) {
    let mut threads: Vec<_> = table.threads.iter().collect();
    threads.sort_by(|a, b| b.1.runq.value_at_quantile(0.99).cmp(&a.1.runq.value_at_quantile(0.99)).then(a.0.cmp(b.0)));
    let _ = writeln!(out, "\nscheduler, per thread (run queue: runnable until running; off-CPU: switched out until running):");
    let _ = writeln!(
        out,
        "{:>8} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11} thread",
        "tid", "switches", "runq p50", "runq p99", "runq max", "off-CPU p99", "off-CPU sum"
    );
    for (tid, thread) in threads.iter().take(THREAD_ROWS) {
        // Its name now (an exec renames it), else the one it had when first seen.
        let comm = crate::host::names::thread_name(thread.tgid, **tid).unwrap_or_else(|| thread.name.clone());
        let _ = writeln!(
            out,
            "{tid:>8} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11} {}",
            thread.off_cpu.len(),
            format_ns(thread.runq.value_at_quantile(0.5)),
            format_ns(thread.runq.value_at_quantile(0.99)),
            format_ns(thread.runq.max()),
            format_ns(thread.off_cpu.value_at_quantile(0.99)),
            format_ns(thread.off_cpu_total_ns),
            escape(comm),
        );
    }
    let more = threads.len().saturating_sub(THREAD_ROWS) as u64 + table.threads_dropped;
    if more > 0 {
        let _ = writeln!(out, "... and {more} more threads");
    }
}

/// The cgroups' CPU quota and throttling, and the Go programs' GOMAXPROCS against it. Cgroups
/// with no quota that were never throttled say nothing.
pub fn render_cpu_limits(throttling: &[Throttling], go: &[GoSeen], runq_share: Option<f64>) -> String {
    let mut out = String::new();
    let shown: Vec<&Throttling> = throttling.iter().filter(|t| t.quota_us.is_some() || t.nr_throttled > 0).collect();
    if !shown.is_empty() {
        let _ = writeln!(out, "\nCPU quota and CFS throttling while traced:");
        for t in shown {
            let _ = writeln!(out, "  {}", throttling_line(t));
        }
    }
    if !go.is_empty() {
        let _ = writeln!(out, "\nGo programs (GOMAXPROCS as the runtime derives it at start; the program may still change it):");
        for seen in go {
            let g = &seen.go;
            let procs = g.gomaxprocs.map_or_else(|| "unknown".to_string(), |n| n.to_string());
            let source = match g.source {
                GoMaxProcsSource::Environment => "set in its environment",
                GoMaxProcsSource::CpusAllowed => "default: the CPUs it may run on",
                GoMaxProcsSource::CgroupAware => "default: the cgroup's CPU quota",
                GoMaxProcsSource::SetAtRunTime => "set at run time by go.uber.org/automaxprocs",
            };
            let quota = seen.quota_cpus.map_or_else(|| "no cpu quota".to_string(), |q| format!("cpu quota {q:.2} CPUs"));
            // The name, version and module are the program's own, escaped.
            let module = g.build.main_module.as_deref().map_or(String::new(), |m| format!(", {}", escape(m)));
            let _ = writeln!(
                out,
                "  pid {} {} ({}{module}): GOMAXPROCS {procs} ({source}), {} CPUs allowed, {quota}, {} threads",
                g.pid,
                escape(&seen.comm),
                escape(&g.build.version),
                g.cpus_allowed,
                g.threads
            );
            if let Some(note) = seen.quota_cpus.and_then(|quota| go_runtime::quota_note(g, quota, runq_share)) {
                let _ = writeln!(out, "  note: {note}");
            }
        }
    }
    out
}

/// One cgroup's line for the summary: "cpu quota 0.20 CPUs (20000us per 100000us) in DIR:
/// throttled in 47 of 52 periods (90%), 3.81s in all", or "no cpu quota in DIR (...)".
pub fn throttling_line(t: &Throttling) -> String {
    let mut counts = format!("throttled in {} of {} periods", t.nr_throttled, t.nr_periods);
    if t.nr_periods > 0 {
        let percent = 100.0 * t.nr_throttled as f64 / t.nr_periods as f64;
        // Rare throttling is still throttling: not rounded down to "0%".
        let percent = if t.nr_throttled > 0 && percent < 0.5 { "<1".to_string() } else { format!("{percent:.0}") };
        counts.push_str(&format!(" ({percent}%)"));
    }
    if t.throttled_ns > 0 {
        counts.push_str(&format!(", {} in all", format_ns(t.throttled_ns)));
    }
    match (t.limit().cpus(), t.quota_us) {
        (Some(cpus), Some(quota)) => {
            format!("cpu quota {cpus:.2} CPUs ({quota}us per {}us) in {}: {counts}", t.period_us, escape(&t.cgroup))
        }
        // A quota removed during the trace may have throttled before: the counts still show.
        _ => format!("no cpu quota in {} ({counts})", escape(&t.cgroup)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::event::SyscallRecord;

    #[test]
    fn table_sorted_with_errors_and_footer() {
        let mut agg = StatsTable::default();
        let read = syscalls::number("read").unwrap();
        let close = syscalls::number("close").unwrap();
        for _ in 0..3 {
            agg.record(&SyscallRecord { nr: read, tgid: 1, tid: 1, start_ns: 0, duration_ns: Some(1000), returned: true, ret: 1, arg0: 0, blocked_ns: 500, runq_ns: 250, fd_kind: None });
        }
        agg.record(&SyscallRecord { nr: close, tgid: 1, tid: 1, start_ns: 0, duration_ns: Some(10), returned: true, ret: -9, arg0: 0, blocked_ns: 0, runq_ns: 0, fd_kind: None });
        agg.record(&SyscallRecord { nr: read, tgid: 1, tid: 1, start_ns: 0, duration_ns: None, returned: true, ret: 1, arg0: 0, blocked_ns: 0, runq_ns: 0, fd_kind: None });
        let facts = RunFacts { lost: 0, duration: Duration::from_secs(1), processes: 1, sched_split: true };
        let text = render(&agg, &facts, SortKey::Time, None) + &render_footer(&agg, &facts);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].ends_with(" read") && lines[2].contains(" 4 "), "{text}");
        assert!(text.contains("latency unknown so not in the percentiles): read 1\n"), "{text}");
        assert!(lines[3].ends_with(" close"), "{text}");
        assert!(text.contains("close                EBADF                   1"), "{text}");
        assert!(text.contains("events: 5 received, 0 lost"), "{text}");
        assert!(text.contains("   3.00us    25.0%      25.0%    50.0% read"), "{text}");
        let by_calls = render(&agg, &RunFacts::default(), SortKey::Name, None);
        assert!(by_calls.lines().nth(2).unwrap().ends_with(" close"));
    }

    fn throttling(quota_us: Option<u64>, nr_periods: u64, nr_throttled: u64, throttled_ns: u64) -> Throttling {
        Throttling { cgroup: "/sys/fs/cgroup/cpu/x".into(), quota_us, period_us: 100000, nr_periods, nr_throttled, throttled_ns }
    }

    #[test]
    fn lines_for_the_summary() {
        assert_eq!(
            throttling_line(&throttling(Some(20000), 52, 47, 3_810_000_000)),
            "cpu quota 0.20 CPUs (20000us per 100000us) in /sys/fs/cgroup/cpu/x: throttled in 47 of 52 periods (90%), 3.81s in all"
        );
        assert_eq!(throttling_line(&throttling(None, 0, 0, 0)), "no cpu quota in /sys/fs/cgroup/cpu/x (throttled in 0 of 0 periods)");
        assert_eq!(
            throttling_line(&throttling(Some(150000), 1000, 1, 2_000_000)),
            "cpu quota 1.50 CPUs (150000us per 100000us) in /sys/fs/cgroup/cpu/x: throttled in 1 of 1000 periods (<1%), 2.00ms in all"
        );
        assert_eq!(
            throttling_line(&throttling(Some(20000), 10, 0, 0)),
            "cpu quota 0.20 CPUs (20000us per 100000us) in /sys/fs/cgroup/cpu/x: throttled in 0 of 10 periods (0%)"
        );
    }
}
