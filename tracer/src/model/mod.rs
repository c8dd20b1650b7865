//! What the events mean: per-syscall, per-thread and per-connection aggregation into
//! histograms, the `-e` filter, what each fd is, the names of threads, and the CPU quota
//! and throttling of the traced cgroups.
pub mod aggregate;
pub mod cpu_quota;
pub mod fd_class;
pub mod filter;
pub mod histogram;
pub mod names;
pub mod net;
pub mod slow;
pub mod stacks;
