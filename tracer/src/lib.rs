//! tracer: an eBPF syscall latency tracer.
//!
//! Data flows one way: kernel programs → ring buffer → [`event`] decoder → [`aggregate`] →
//! [`summary`]. [`probes`] loads and attaches, [`target`] finds or spawns the processes,
//! [`session`] runs one trace, [`cli`] maps the command line onto it.
pub mod aggregate;
pub mod cli;
pub mod compare;
pub mod event;
pub mod export;
pub mod filter;
pub mod kernel_btf;
pub mod live;
pub mod net;
pub mod probes;
pub mod session;
pub mod summary;
pub mod syscall_table;
pub mod target;
