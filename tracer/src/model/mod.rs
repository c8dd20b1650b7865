//! What the events mean: per-syscall, per-thread and per-connection aggregation into
//! histograms, the `-e` filter, what each fd is, the names of threads, groups of processes
//! (`--by`), the CPU quota and throttling of the traced cgroups, and a Go process's GOMAXPROCS.
pub mod aggregate;
pub mod cpu_quota;
pub mod groups;
pub mod go_runtime;
pub mod histogram;
pub mod net;
pub mod slow;
pub mod table;
