//! Everything that talks to the kernel: loading and attaching the programs, their maps, the
//! kernel's BTF, and decoding the ring-buffer records.
mod attach;
pub mod btf;
pub mod connection_counts;
pub mod event;
pub mod features;
mod globals;
pub mod kernel_counts;
mod load;
pub mod mapped;
mod maps;
mod offsets;
pub mod probes;
#[cfg(feature = "bench")]
pub mod reference;
pub mod startup;
pub mod thread_counts;
