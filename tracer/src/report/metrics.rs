//! Every metric the agent exports, declared once: name, kind, help, unit and label names.
//! exposition.rs fills them in from an interval's figures; prometheus.rs and otlp.rs only render
//! what it produced, so a metric cannot be spelled one way on the page and another in a push.
use hdrhistogram::Histogram;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Cumulative since the start (an OTLP monotonic sum).
    Counter,
    Gauge,
    /// Latency in seconds, from an HdrHistogram of ns.
    Histogram,
}

#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    /// Prometheus's HELP (OTLP pushes no descriptions: the names are the page's).
    pub help: &'static str,
    /// OTLP's unit (UCUM); Prometheus says it in the name.
    pub unit: &'static str,
    /// Label names, in the order written; with `--by`, syscall series have the group's first.
    pub labels: &'static [&'static str],
}

const fn counter(name: &'static str, unit: &'static str, labels: &'static [&'static str], help: &'static str) -> Metric {
    Metric { name, kind: Kind::Counter, help, unit, labels }
}

const fn gauge(name: &'static str, unit: &'static str, labels: &'static [&'static str], help: &'static str) -> Metric {
    Metric { name, kind: Kind::Gauge, help, unit, labels }
}

const fn histogram(name: &'static str, labels: &'static [&'static str], help: &'static str) -> Metric {
    Metric { name, kind: Kind::Histogram, help, unit: "s", labels }
}

pub const SYSCALLS: Metric = counter("tracer_syscalls_total", "", &["syscall"],
    "Syscalls of the traced processes: every call, those of unknown latency too.");
pub const SYSCALL_DURATION: Metric = histogram("tracer_syscall_duration_seconds", &["syscall"],
    "Latency of completed syscalls of the traced processes.");
pub const SYSCALL_TIME: Metric = counter("tracer_syscall_time_seconds_total", "s", &["syscall", "state"],
    "Where the syscalls' time went: on a CPU, runnable in the run queue (CPU contention, CFS throttling), or blocked.");
pub const SYSCALL_ERRORS: Metric = counter("tracer_syscall_errors_total", "", &["syscall", "errno"],
    "Failed syscalls by errno.");
pub const SYSCALL_IN_FLIGHT: Metric = counter("tracer_syscall_in_flight_at_start_total", "", &["syscall"],
    "Syscalls in progress when tracing began: they returned while traced, of unknown latency, so they are not in the histogram.");
pub const IO_DURATION: Metric = histogram("tracer_io_duration_seconds", &["op"],
    "Latency of network and I/O operations: KIND:SYSCALL by fd kind, tcp:accept, tcp:connect.");
pub const IO_BYTES: Metric = counter("tracer_io_bytes_total", "By", &["op"],
    "Bytes moved by read/write-family syscalls, by fd kind.");
pub const CGROUP_QUOTA: Metric = gauge("tracer_cgroup_cpu_quota_cpus", "", &["cgroup"],
    "CPU quota of a traced cgroup (cpu.max, or cfs_quota_us/cfs_period_us), in CPUs; absent when unlimited.");
pub const CGROUP_PERIODS: Metric = counter("tracer_cgroup_cpu_periods_total", "", &["cgroup"],
    "CFS enforcement periods of a traced cgroup since tracing began (cpu.stat nr_periods).");
pub const CGROUP_THROTTLED_PERIODS: Metric = counter("tracer_cgroup_cpu_throttled_periods_total", "", &["cgroup"],
    "Periods in which the cgroup was throttled (cpu.stat nr_throttled).");
pub const CGROUP_THROTTLED_SECONDS: Metric = counter("tracer_cgroup_cpu_throttled_seconds_total", "s", &["cgroup"],
    "Time the cgroup's tasks were throttled (cpu.stat throttled_usec / throttled_time).");
pub const GO_GOMAXPROCS: Metric = gauge("tracer_go_gomaxprocs", "", &["pid", "comm", "go_version"],
    "GOMAXPROCS of a traced Go program, as its runtime derives it at start (absent when the program sets it itself).");
pub const GROUPS: Metric = gauge("tracer_groups", "", &["by"],
    "Groups of processes with series now (--by), the cap's overflow group included.");
pub const GROUP_OVERFLOW: Metric = counter("tracer_group_overflow_total", "", &[],
    "Processes counted in the group \"other\" because --max-groups groups existed already.");
pub const GROUPS_RETIRED: Metric = counter("tracer_groups_retired_total", "", &[],
    "Groups dropped after their processes ended and their last figures were scraped.");
pub const EVENTS: Metric = counter("tracer_events_total", "", &[],
    "Events the tracer received from the kernel.");
pub const KERNEL_COUNTED_CALLS: Metric = counter("tracer_kernel_counted_calls_total", "", &[],
    "Calls counted in the kernel rather than received as events.");
pub const EVENTS_LOST: Metric = counter("tracer_events_lost_total", "", &[],
    "Events the kernel dropped because the ring buffer was full.");
pub const THREADS_DROPPED: Metric = counter("tracer_threads_dropped_total", "", &[],
    "Threads the per-thread scheduler figures forgot past their cap of 256 threads (the quietest first); their calls still count.");
pub const RESIDENT_MEMORY: Metric = gauge("process_resident_memory_bytes", "By", &[],
    "Resident memory of the tracer itself.");
pub const CPU_SECONDS: Metric = counter("process_cpu_seconds_total", "s", &[],
    "User and system CPU time of the tracer itself (its kernel programs run in the traced tasks' time).");
pub const START_TIME: Metric = gauge("process_start_time_seconds", "s", &[],
    "Start time of the tracer since the Unix epoch.");
// Pushed only: OTLP's own.
pub const OTLP_PUSHES_DROPPED: Metric = counter("tracer_otlp_pushes_dropped_total", "", &[],
    "OTLP pushes skipped because the previous one was still on its way.");
pub const OTLP_PUSH_FAILURES: Metric = counter("tracer_otlp_push_failures_total", "", &[],
    "OTLP pushes that failed.");

/// The catalogue, in the order the families are written.
pub const ALL: &[&Metric] = &[
    &SYSCALLS,
    &SYSCALL_DURATION,
    &SYSCALL_TIME,
    &SYSCALL_ERRORS,
    &SYSCALL_IN_FLIGHT,
    &IO_DURATION,
    &IO_BYTES,
    &CGROUP_QUOTA,
    &CGROUP_PERIODS,
    &CGROUP_THROTTLED_PERIODS,
    &CGROUP_THROTTLED_SECONDS,
    &GO_GOMAXPROCS,
    &GROUPS,
    &GROUP_OVERFLOW,
    &GROUPS_RETIRED,
    &EVENTS,
    &KERNEL_COUNTED_CALLS,
    &EVENTS_LOST,
    &THREADS_DROPPED,
    &RESIDENT_MEMORY,
    &CPU_SECONDS,
    &START_TIME,
    &OTLP_PUSHES_DROPPED,
    &OTLP_PUSH_FAILURES,
];

/// One series' value.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    Int(u64),
    Float(f64),
    /// Latencies in ns, and their sum.
    Histogram(&'a Histogram<u64>, u64),
}

/// One series: label values (unescaped) and its value.
#[derive(Debug)]
pub struct Series<'a> {
    pub labels: Vec<(&'static str, String)>,
    pub value: Value<'a>,
}

/// A metric and its series now. A family may have none (Prometheus still writes its HELP and
/// TYPE; OTLP leaves it out).
#[derive(Debug)]
pub struct Family<'a> {
    pub metric: &'static Metric,
    pub series: Vec<Series<'a>>,
}

/// A `--by` group's label, written before a series' own.
pub type GroupLabel = Option<(&'static str, String)>;

impl<'a> Family<'a> {
    pub fn new(metric: &'static Metric) -> Self {
        Self { metric, series: Vec::new() }
    }

    /// A series with the metric's labels' values, in the catalogue's order.
    pub fn add(&mut self, group: &GroupLabel, values: &[&str], value: Value<'a>) {
        debug_assert_eq!(values.len(), self.metric.labels.len(), "{}: label values", self.metric.name);
        debug_assert_eq!(matches!(value, Value::Histogram(..)), self.metric.kind == Kind::Histogram, "{}: value", self.metric.name);
        let own = self.metric.labels.iter().zip(values).map(|(name, value)| (*name, value.to_string()));
        let labels = group.iter().cloned().chain(own).collect();
        self.series.push(Series { labels, value });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_metric_is_declared_once_with_a_unit_that_fits_its_name() {
        let mut names: Vec<&str> = ALL.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "a name twice");
        for m in ALL {
            assert!(!m.help.is_empty() && !m.help.contains('\n'), "{}", m.name);
            assert_eq!(m.kind == Kind::Counter, m.name.ends_with("_total"), "{}", m.name);
            let unit = if m.name.contains("_seconds") { "s" } else if m.name.contains("_bytes") { "By" } else { "" };
            assert_eq!(m.unit, unit, "{}", m.name);
        }
    }
}
