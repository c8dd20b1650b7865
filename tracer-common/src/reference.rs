//! The benchmark's reference programs (a separate object, built only for `cargo xtask bench`).

kernel_names! {
    maps: [REF_SLOTS, REF_STATS, REF_HIST, REF_EVENTS],
    globals: [REF_FILTERED: u32, REF_TGIDS: [u32; 4]],
}
