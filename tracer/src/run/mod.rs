//! One trace from start to end: the targets (PIDs to attach to, or a command to spawn) and the
//! session loop that feeds kernel records through the model to the reports.
pub mod cgroup_lookup;
pub mod reader;
pub mod session;
pub mod target;
