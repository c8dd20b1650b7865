//! What the agent exports at an interval, as series of the metrics catalogue (metrics.rs): the one
//! place figures become metrics, for the Prometheus page, the `--prometheus` file and OTLP pushes.
//! Counters and histograms are cumulative since the start; with `--by`, every syscall series
//! carries the group's label instead of a machine-wide total (so sums over the label are the totals).
use super::{
    metrics::{self, Family, GroupLabel, Value},
    rows::{sorted_rows, SortKey},
    sink::Tick,
};
use crate::{
    host::own_usage::ProcessUsage,
    model::{table::StatsTable, cpu_quota::Throttling, go_runtime::GoSeen, groups::Groups, net::NetStats},
    syscalls,
};

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
    /// Calls' time split into on-CPU, run queue and blocked (not `--no-sched`).
    pub time_split: bool,
}

impl<'a> Exposition<'a> {
    /// The cumulative figures of an interval.
    pub fn of(tick: &Tick<'a>, usage: Option<SelfUsage>) -> Self {
        Self {
            totals: tick.total,
            net: tick.net,
            lost: tick.lost,
            groups: tick.groups,
            throttling: tick.throttling,
            go: tick.go,
            usage,
            time_split: tick.time_split,
        }
    }

    /// The families, in the catalogue's order. Which families are there (with series or not)
    /// follows the Prometheus page as it always was: a family is left out where its feature is
    /// not in use, not where it merely has nothing to count yet.
    pub fn families(&self) -> Vec<Family<'a>> {
        let mut out = self.syscalls();
        out.extend(self.io());
        out.extend(self.cgroups());
        out.extend(self.go());
        out.extend(self.groups());
        out.push(single(&metrics::EVENTS, Value::Int(self.totals.events)));
        out.push(single(&metrics::KERNEL_COUNTED_CALLS, Value::Int(self.totals.kernel_calls)));
        out.push(single(&metrics::EVENTS_LOST, Value::Int(self.lost)));
        // The scheduler's figures are there only where its programs ran.
        if self.time_split {
            out.push(single(&metrics::THREADS_DROPPED, Value::Int(self.totals.threads_dropped)));
        }
        if let Some(usage) = self.usage {
            out.push(single(&metrics::RESIDENT_MEMORY, Value::Int(usage.resident_bytes)));
            out.push(single(&metrics::CPU_SECONDS, Value::Float(usage.cpu_seconds)));
            out.push(single(&metrics::START_TIME, Value::Float(usage.start_time_seconds)));
        }
        out
    }

    fn syscalls(&self) -> Vec<Family<'a>> {
        // The tables to show: the totals, or one per group, each with its label.
        let tables: Vec<(GroupLabel, &'a StatsTable)> = match self.groups {
            None => vec![(None, self.totals)],
            Some(groups) => groups.sorted().into_iter().map(|g| (Some((groups.by.label(), g.name.clone())), &g.table)).collect(),
        };
        let rows: Vec<_> =
            tables.iter().flat_map(|(group, table)| sorted_rows(table, SortKey::Name).into_iter().map(move |(name, stats)| (group, name, stats))).collect();
        let mut calls = Family::new(&metrics::SYSCALLS);
        let mut duration = Family::new(&metrics::SYSCALL_DURATION);
        let mut time = Family::new(&metrics::SYSCALL_TIME);
        let mut errors = Family::new(&metrics::SYSCALL_ERRORS);
        let mut in_flight = Family::new(&metrics::SYSCALL_IN_FLIGHT);
        for &(group, name, stats) in &rows {
            calls.add(group, &[name], Value::Int(stats.calls));
            duration.add(group, &[name], Value::Histogram(&stats.latency, stats.total_ns));
            // Not measured with --no-sched: no series rather than all of it "on_cpu".
            if self.time_split {
                for (state, ns) in [("on_cpu", stats.on_cpu_ns()), ("runq", stats.runq_ns), ("blocked", stats.blocked_ns)] {
                    time.add(group, &[name, state], seconds(ns));
                }
            }
            for (errno, count) in &stats.errnos {
                errors.add(group, &[name, &syscalls::errno_name(*errno)], Value::Int(*count));
            }
            if stats.in_flight > 0 {
                in_flight.add(group, &[name], Value::Int(stats.in_flight));
            }
        }
        let mut out = vec![calls, duration, time, errors];
        if !in_flight.series.is_empty() {
            out.push(in_flight);
        }
        out
    }

    fn io(&self) -> Vec<Family<'a>> {
        let keys = self.net.keys();
        if keys.is_empty() {
            return Vec::new();
        }
        let mut duration = Family::new(&metrics::IO_DURATION);
        let mut bytes = Family::new(&metrics::IO_BYTES);
        for key in &keys {
            duration.add(&None, &[&key.key], Value::Histogram(&key.stats.latency, key.stats.total_ns));
            if key.moves_bytes {
                bytes.add(&None, &[&key.key], Value::Int(key.stats.bytes));
            }
        }
        vec![duration, bytes]
    }

    fn cgroups(&self) -> Vec<Family<'a>> {
        // Cgroups with no quota that were never throttled: nothing to say.
        let limited: Vec<&Throttling> = self.throttling.iter().filter(|t| t.quota_us.is_some() || t.nr_throttled > 0).collect();
        if limited.is_empty() {
            return Vec::new();
        }
        let mut quota = Family::new(&metrics::CGROUP_QUOTA);
        let mut periods = Family::new(&metrics::CGROUP_PERIODS);
        let mut throttled = Family::new(&metrics::CGROUP_THROTTLED_PERIODS);
        let mut throttled_time = Family::new(&metrics::CGROUP_THROTTLED_SECONDS);
        for t in limited {
            let cgroup = [t.cgroup.as_str()];
            if let Some(quota_us) = t.quota_us {
                quota.add(&None, &cgroup, Value::Float(quota_us as f64 / t.period_us.max(1) as f64));
            }
            periods.add(&None, &cgroup, Value::Int(t.nr_periods));
            throttled.add(&None, &cgroup, Value::Int(t.nr_throttled));
            throttled_time.add(&None, &cgroup, seconds(t.throttled_ns));
        }
        vec![quota, periods, throttled, throttled_time]
    }

    fn go(&self) -> Option<Family<'a>> {
        if self.go.is_empty() {
            return None;
        }
        let mut procs = Family::new(&metrics::GO_GOMAXPROCS);
        for seen in self.go {
            if let Some(gomaxprocs) = seen.go.gomaxprocs {
                let pid = seen.go.pid.to_string();
                procs.add(&None, &[&pid, &seen.comm, &seen.go.build.version], Value::Int(gomaxprocs.into()));
            }
        }
        Some(procs)
    }

    fn groups(&self) -> Vec<Family<'a>> {
        let Some(groups) = self.groups else { return Vec::new() };
        let mut count = Family::new(&metrics::GROUPS);
        count.add(&None, &[groups.by.label()], Value::Int(groups.sorted().len() as u64));
        vec![count, single(&metrics::GROUP_OVERFLOW, Value::Int(groups.overflowed)), single(&metrics::GROUPS_RETIRED, Value::Int(groups.retired))]
    }
}

/// A family of one series without labels.
pub fn single(metric: &'static metrics::Metric, value: Value<'static>) -> Family<'static> {
    let mut family = Family::new(metric);
    family.add(&None, &[], value);
    family
}

fn seconds(ns: u64) -> Value<'static> {
    Value::Float(ns as f64 / 1e9)
}
