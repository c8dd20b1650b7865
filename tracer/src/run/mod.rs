//! One trace from start to end: the targets (PIDs, cgroups, units and containers to attach to, or
//! a command to spawn), their cgroups' CPU quota, and the session loop that feeds kernel records
//! through the model to the reports.
pub mod go_watch;
pub mod info;
pub mod reader;
pub mod received;
pub mod session;
pub mod target;
