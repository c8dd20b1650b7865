//! Types, constants and names shared by the kernel programs and the userspace tracer, one
//! module per feature (as aya's own `integration-common` groups them).
//!
//! Each module lists its feature's maps and load-time globals once ([`names`]); the types are
//! `#[repr(C)]`, fixed-size and 8-byte aligned so a ring-buffer record can be reinterpreted on
//! the user side without parsing.
#![cfg_attr(target_arch = "bpf", no_std)]

#[macro_use]
pub mod names;
mod buckets;

pub mod connections;
pub mod events;
pub mod fd_kinds;
pub mod fentry;
pub mod kernel_counts;
pub mod kprobe;
pub mod net;
pub mod process;
#[cfg(feature = "reference")]
pub mod reference;
pub mod sched;
pub mod slow;
pub mod syscalls;
pub mod targets;

/// Every feature's names, by feature: the product object (`tracer-ebpf`) has exactly these maps
/// and globals, which tracer's build script checks.
pub const OBJECT_NAMES: &[(&str, names::Names)] = &[
    ("events", events::NAMES),
    ("targets", targets::NAMES),
    ("syscalls", syscalls::NAMES),
    ("fd_kinds", fd_kinds::NAMES),
    ("slow", slow::NAMES),
    ("kernel_counts", kernel_counts::NAMES),
    ("connections", connections::NAMES),
    ("net", net::NAMES),
    ("sched", sched::NAMES),
    ("process", process::NAMES),
    ("fentry", fentry::NAMES),
    ("kprobe", kprobe::NAMES),
];
