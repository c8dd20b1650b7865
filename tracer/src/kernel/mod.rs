//! Everything that talks to the kernel: loading and attaching the programs, their maps, the
//! kernel's BTF, and decoding the ring-buffer records.
pub mod btf;
pub mod connection_counts;
pub mod event;
pub mod features;
pub mod kernel_counts;
pub mod mapped;
pub mod probes;
#[cfg(feature = "bench")]
pub mod reference;
pub mod startup;
