//! Placeholder until the cgroup-cpu branch lands.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Throttling { pub cgroup: String, pub quota_us: Option<u64>, pub period_us: u64, pub nr_periods: u64, pub nr_throttled: u64, pub throttled_ns: u64 }
