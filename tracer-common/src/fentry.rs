//! Per-syscall fentry/fexit programs (`--attach fentry`).

kernel_names! {
    maps: [FENTRY_NRS],
    globals: [],
}

/// fentry/fexit program pairs available for per-syscall attachment (`-e` with few syscalls).
pub const FENTRY_SLOTS: u32 = 64;
