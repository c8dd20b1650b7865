//! What the session loop feeds once per interval: the live view, interval logs, exports.
use std::{collections::HashSet, time::Duration};

use anyhow::Result;

use crate::model::{table::StatsTable, cpu_quota::Throttling, go_runtime::GoSeen, groups::Groups, net::NetStats, slow::SlowCalls};

/// One finished interval, as the interval sinks see it.
pub struct Tick<'a> {
    /// Start of the interval, from the start of the trace.
    pub start: Duration,
    pub length: Duration,
    pub interval: &'a StatsTable,
    pub total: &'a StatsTable,
    pub lost: u64,
    /// The processes being traced now.
    pub live: &'a HashSet<u32>,
    /// Network and I/O since the start.
    pub net: &'a NetStats,
    /// With `--slow`: the slow calls so far.
    pub slow: Option<&'a SlowCalls>,
    /// With `--by`: the totals per group.
    pub groups: Option<&'a Groups>,
    /// CPU quota and throttling of the traced cgroups, since the start, and in this interval.
    pub throttling: &'a [Throttling],
    pub throttling_interval: &'a [Throttling],
    /// The Go programs found among the traced processes.
    pub go: &'a [GoSeen],
    /// The session's last (partial) interval: these are the final figures.
    pub last: bool,
    /// Whether a call's time is split into on-CPU, run queue and blocked (not `--no-sched`).
    pub time_split: bool,
}

/// What a sink wants after an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// Forget the totals (the live view's `r`).
    Reset,
    /// End the trace (the live view's `q`).
    Stop,
}

/// Something fed once per interval while tracing: the live view, an interval log, a
/// Prometheus file. Sinks run on the reader's thread, so they must not block.
pub trait IntervalSink {
    fn on_interval(&mut self, tick: &Tick) -> Result<Control>;

    /// Whether it reads `Tick::interval` (else no interval table is kept, for none of the sinks).
    fn wants_intervals(&self) -> bool {
        true
    }

    /// Whether groups that ended may be dropped now (`tracer serve`: their last figures were
    /// scraped). Others keep every group until the end.
    fn retire_ended(&self) -> bool {
        false
    }

    /// Called once after the last interval (a partial one, so intervals add up to the totals).
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}
