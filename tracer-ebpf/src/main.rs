//! Kernel programs of tracer. Small and boring on purpose: every program filters on the traced
//! tgid first, loops are absent, events are fixed-size.
#![no_std]
#![no_main]
// For `atomic_xadd`: the BPF target lacks CAS, so core's atomics expose no read-modify-write.
#![allow(internal_features)]
#![feature(core_intrinsics)]

mod maps;
mod probes;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any path that could reach here; there is nothing to unwind to.
    loop {}
}
