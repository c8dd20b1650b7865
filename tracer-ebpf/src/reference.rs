//! Reference programs for the benchmark, on the tracer's own hooks: what attaching costs (the
//! floor), what the clock reads cost, what pairing an exit with its entry costs, and then the
//! two ways of getting a latency out: an event per call through the ring buffer, or a per-CPU
//! histogram per syscall updated in the kernel. They filter nothing (the storms' workload is the
//! only busy process), unless told a few processes (`REF_TGIDS`): then the paired ones look at
//! those alone, as a pid-filtered tracer does, for the servers' benchmark.
//!
//! An object of their own, built only for the benchmark (feature `reference`): the tracer's
//! object neither carries these programs nor makes their maps.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::BPF_RB_NO_WAKEUP,
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::{btf_tracepoint, map},
    maps::{Array, PerCpuArray, RingBuf},
    programs::BtfTracePointContext,
    Global,
};
use tracer_common::{
    events::{Event, EventKind},
    syscalls::MAX_SYSCALLS,
};

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any path that could reach here; there is nothing to unwind to.
    loop {}
}

/// The ring events go out through, as large as the benchmark's drainer wants.
#[map]
static REF_EVENTS: RingBuf = RingBuf::with_byte_size(64 << 20, 0);

/// Empty programs on the same hooks: the benchmark's floor, what attaching alone costs.
#[btf_tracepoint(function = "sys_enter")]
pub fn floor_sys_enter(_ctx: BtfTracePointContext) -> i32 {
    0
}

#[btf_tracepoint(function = "sys_exit")]
pub fn floor_sys_exit(_ctx: BtfTracePointContext) -> i32 {
    0
}

/// The floor plus the two clock reads any latency measurement needs (the benchmark's second
/// reference: what timing each syscall costs before anything is stored or sent).
#[btf_tracepoint(function = "sys_enter")]
pub fn clock_sys_enter(_ctx: BtfTracePointContext) -> i32 {
    clock_only()
}

#[btf_tracepoint(function = "sys_exit")]
pub fn clock_sys_exit(_ctx: BtfTracePointContext) -> i32 {
    clock_only()
}

#[inline(always)]
fn clock_only() -> i32 {
    // Returned so that the call is not optimised away; tracepoint programs' return is ignored.
    (unsafe { bpf_ktime_get_ns() } & 1) as i32
}

/// Entry time and syscall number by tid (modulo the size), for the paired references.
#[map]
static REF_SLOTS: Array<[u64; 2]> = Array::with_max_entries(REF_SLOT_COUNT, 0);
const REF_SLOT_COUNT: u32 = 1 << 16;

/// Log-linear buckets: values below 64 ns exact, then 64 per power of two (1.6% wide).
const SUB_BUCKETS: u32 = 64;
const REF_HIST_BUCKETS: u32 = 64 + 58 * SUB_BUCKETS;

/// Calls and total ns by syscall, and the histogram's counts by syscall and bucket, per CPU.
#[map]
static REF_STATS: PerCpuArray<[u64; 2]> = PerCpuArray::with_max_entries(MAX_SYSCALLS, 0);
#[map]
static REF_HIST: PerCpuArray<u64> = PerCpuArray::with_max_entries(MAX_SYSCALLS * REF_HIST_BUCKETS, 0);

/// The processes the paired programs look at (0: none), when `REF_FILTERED` is not 0 (load-time
/// constants: unfiltered, the verifier drops the check).
#[unsafe(no_mangle)]
static REF_FILTERED: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static REF_TGIDS: Global<[u32; 4]> = Global::new([0; 4]);

/// Whether the calls of process `tgid` are paired (the check comes first, before any map).
#[inline(always)]
fn looked_at(pid_tgid: u64) -> bool {
    if REF_FILTERED.load() == 0 {
        return true;
    }
    let (tgid, tgids) = ((pid_tgid >> 32) as u32, REF_TGIDS.load());
    tgid == tgids[0] || tgid == tgids[1] || tgid == tgids[2] || tgid == tgids[3]
}

#[btf_tracepoint(function = "sys_enter")]
pub fn paired_sys_enter(ctx: BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !looked_at(pid_tgid) {
        return 0;
    }
    let tid = pid_tgid as u32;
    let nr: i64 = ctx.arg(1);
    if let Some(slot) = REF_SLOTS.get_ptr_mut(tid & (REF_SLOT_COUNT - 1)) {
        unsafe { *slot = [bpf_ktime_get_ns(), nr as u64] };
    }
    0
}

/// The latency of the call returning now and its number, its slot cleared.
#[inline(always)]
fn paired_exit() -> Option<(u64, u32, u32, u32)> {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !looked_at(pid_tgid) {
        return None;
    }
    let slot = REF_SLOTS.get_ptr_mut(pid_tgid as u32 & (REF_SLOT_COUNT - 1))?;
    let [start, nr] = unsafe { *slot };
    if start == 0 {
        return None;
    }
    unsafe { (*slot)[0] = 0 };
    Some((unsafe { bpf_ktime_get_ns() }.saturating_sub(start), nr as u32, (pid_tgid >> 32) as u32, pid_tgid as u32))
}

#[btf_tracepoint(function = "sys_exit")]
pub fn paired_sys_exit(_ctx: BtfTracePointContext) -> i32 {
    paired_exit().map_or(0, |(ns, ..)| (ns & 1) as i32)
}

/// Out through the ring buffer: one 64-byte event per call.
#[btf_tracepoint(function = "sys_exit")]
pub fn ring_sys_exit(ctx: BtfTracePointContext) -> i32 {
    let Some((ns, nr, tgid, tid)) = paired_exit() else { return 0 };
    let ret: i64 = ctx.arg(1);
    if let Some(mut entry) = REF_EVENTS.reserve::<Event>(0) {
        let event = Event { kind: EventKind::Syscall as u32, nr, tgid, tid, start_ns: 0, duration_ns: ns, ret, arg0: 0, blocked_ns: 0, runq_ns: 0 };
        unsafe { entry.as_mut_ptr().write_volatile(event) };
        entry.submit(BPF_RB_NO_WAKEUP as u64);
    }
    0
}

/// Counted in the kernel: calls, total and a histogram bucket per syscall, per CPU (no
/// atomics: a per-CPU slot is only written by programs on its CPU, and these do not nest).
#[btf_tracepoint(function = "sys_exit")]
pub fn counts_sys_exit(_ctx: BtfTracePointContext) -> i32 {
    let Some((ns, nr, ..)) = paired_exit() else { return 0 };
    if nr >= MAX_SYSCALLS {
        return 0;
    }
    if let Some(stats) = REF_STATS.get_ptr_mut(nr) {
        unsafe {
            (*stats)[0] += 1;
            (*stats)[1] += ns;
        }
    }
    if let Some(count) = REF_HIST.get_ptr_mut(nr * REF_HIST_BUCKETS + bucket(ns)) {
        unsafe { *count += 1 };
    }
    0
}

#[inline(always)]
fn bucket(ns: u64) -> u32 {
    if ns < u64::from(SUB_BUCKETS) {
        return ns as u32;
    }
    let log2 = 63 - ns.leading_zeros(); // at least 6
    let top = (ns >> (log2 - 6)) as u32; // 64..=127
    ((log2 - 5) * SUB_BUCKETS + top - SUB_BUCKETS).min(REF_HIST_BUCKETS - 1)
}
