//! CPU quota and CFS throttling of a cgroup, as figures: a process that waits long in the run
//! queue may be waiting for its cgroup's next period rather than for a free CPU. They are read
//! from the machine by `run::cgroup_cpu`.

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuLimit {
    /// None: no limit ("max" in v2, -1 in v1).
    pub quota_us: Option<u64>,
    pub period_us: u64,
}

impl CpuLimit {
    /// How many CPUs' worth of time the quota allows: quota / period.
    pub fn cpus(&self) -> Option<f64> {
        self.quota_us.filter(|_| self.period_us > 0).map(|quota| quota as f64 / self.period_us as f64)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuStat {
    pub nr_periods: u64,
    pub nr_throttled: u64,
    pub throttled_ns: u64,
}

impl CpuStat {
    /// What happened between `earlier` and this one; zero, not a wrap, if the counters went
    /// back (the cgroup was removed and made again).
    pub fn since(&self, earlier: &CpuStat) -> CpuStat {
        CpuStat {
            nr_periods: self.nr_periods.saturating_sub(earlier.nr_periods),
            nr_throttled: self.nr_throttled.saturating_sub(earlier.nr_throttled),
            throttled_ns: self.throttled_ns.saturating_sub(earlier.throttled_ns),
        }
    }
}


/// exports.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Throttling {
    /// The cgroup's directory.
    pub cgroup: String,
    pub quota_us: Option<u64>,
    pub period_us: u64,
    pub nr_periods: u64,
    pub nr_throttled: u64,
    pub throttled_ns: u64,
}

impl Throttling {
    pub fn limit(&self) -> CpuLimit {
        CpuLimit { quota_us: self.quota_us, period_us: self.period_us }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttling(quota_us: Option<u64>, nr_periods: u64, nr_throttled: u64, throttled_ns: u64) -> Throttling {
        Throttling { cgroup: "/sys/fs/cgroup/cpu/x".into(), quota_us, period_us: 100000, nr_periods, nr_throttled, throttled_ns }
    }

    #[test]
    fn throttling_round_trips_through_json() {
        let t = throttling(None, 3, 1, 5);
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"quota_us\":null"), "{json}");
        assert_eq!(serde_json::from_str::<Throttling>(&json).unwrap(), t);
    }
}
