//! Aggregation: one HdrHistogram of latencies (ns, 3 significant digits) per syscall, plus
//! error counts by errno. Indexed by syscall number so that recording costs no hashing.
use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use tracer_common::MAX_SYSCALLS;

use crate::event::SyscallRecord;

pub const SIGNIFICANT_DIGITS: u8 = 3;

#[derive(Clone, Debug)]
pub struct SyscallStats {
    pub calls: u64,
    pub errors: u64,
    /// Calls that never returned (`exit_group`): counted, but they have no latency.
    pub no_return: u64,
    pub total_ns: u64,
    pub latency: Histogram<u64>,
    pub errnos: BTreeMap<i32, u64>,
}

impl SyscallStats {
    fn new() -> Self {
        Self {
            calls: 0,
            errors: 0,
            no_return: 0,
            total_ns: 0,
            // Auto-resizing: a range is allocated only as far as the largest value seen.
            latency: Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is valid"),
            errnos: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Aggregator {
    by_nr: Vec<Option<SyscallStats>>,
    pub events: u64,
}

impl Default for Aggregator {
    fn default() -> Self {
        Self { by_nr: vec![None; MAX_SYSCALLS as usize], events: 0 }
    }
}

impl Aggregator {
    pub fn record(&mut self, rec: &SyscallRecord) {
        self.events += 1;
        let Some(slot) = self.by_nr.get_mut(rec.nr as usize) else { return };
        let stats = slot.get_or_insert_with(SyscallStats::new);
        stats.calls += 1;
        match rec.duration_ns {
            Some(ns) => {
                stats.total_ns += ns;
                // Auto-resizing grows the range; only a value beyond its reach is clamped.
                if stats.latency.record(ns).is_err() {
                    stats.latency.saturating_record(ns);
                }
            }
            None => stats.no_return += 1,
        }
        if let Some(errno) = rec.errno() {
            stats.errors += 1;
            *stats.errnos.entry(errno).or_default() += 1;
        }
    }

    /// Syscalls seen so far, by number.
    pub fn syscalls(&self) -> impl Iterator<Item = (u32, &SyscallStats)> {
        self.by_nr.iter().enumerate().filter_map(|(nr, s)| s.as_ref().map(|s| (nr as u32, s)))
    }

    pub fn get(&self, nr: u32) -> Option<&SyscallStats> {
        self.by_nr.get(nr as usize)?.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(nr: u32, duration_ns: Option<u64>, ret: i64) -> SyscallRecord {
        SyscallRecord { nr, tgid: 1, tid: 1, start_ns: 0, duration_ns, ret, arg0: 0 }
    }

    #[test]
    fn counts_calls_errors_and_latency() {
        let mut agg = Aggregator::default();
        for i in 1..=1000 {
            agg.record(&call(0, Some(i * 1000), 1));
        }
        agg.record(&call(0, Some(10), -2));
        agg.record(&call(231, None, 0));
        agg.record(&call(1, Some(5_000_000_000), 0));
        let max = agg.get(1).unwrap().latency.max();
        assert!((5_000_000_000..=5_005_000_000).contains(&max), "large values are kept, within 0.1%: {max}");
        let read = agg.get(0).unwrap();
        assert_eq!((read.calls, read.errors, read.no_return), (1001, 1, 0));
        assert_eq!(read.errnos.get(&2), Some(&1));
        assert_eq!(read.latency.len(), 1001);
        let p50 = read.latency.value_at_quantile(0.5);
        assert!((499_000..=501_000).contains(&p50), "p50 {p50}");
        let exit = agg.get(231).unwrap();
        assert_eq!((exit.calls, exit.no_return, exit.latency.len()), (1, 1, 0));
        assert_eq!(agg.events, 1003);
        assert_eq!(agg.syscalls().count(), 3);
    }
}
