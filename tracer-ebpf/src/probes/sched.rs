//! Where a syscall's time went: while a traced thread is inside a syscall, the scheduler
//! tracepoints split its off-CPU time into blocked (switched out, not runnable: waiting for I/O,
//! a lock, a timer) and run-queue time (runnable, waiting for a CPU). On-CPU time is the rest.
//!
//! The switched-in and woken tasks are not the current task, so these programs cannot filter by
//! the current tgid; the tid-indexed in-flight slot is their filter: it is active only for a
//! traced thread inside a syscall (an inlined array lookup, the cheapest test there is).
//! Classic tracepoints: their records carry the pids, so no kernel struct offsets are needed.
use aya_ebpf::{helpers::bpf_ktime_get_ns, macros::tracepoint, programs::TracePointContext, Global};
use tracer_common::InFlight;

use crate::maps::IN_FLIGHT;

/// Field offsets in the tracepoint records, read by the loader from tracefs' format files.
#[unsafe(no_mangle)]
static SWITCH_PREV_PID_OFFSET: Global<u32> = Global::new(24);
#[unsafe(no_mangle)]
static SWITCH_PREV_STATE_OFFSET: Global<u32> = Global::new(32);
#[unsafe(no_mangle)]
static SWITCH_NEXT_PID_OFFSET: Global<u32> = Global::new(56);
#[unsafe(no_mangle)]
static WAKEUP_PID_OFFSET: Global<u32> = Global::new(24);

/// `prev_state` of a task switched out while runnable: 0 (TASK_RUNNING), or TASK_REPORT_MAX
/// (0x100 and up) when it was preempted.
const PREEMPTED_STATE: i64 = 0x100;

/// The in-flight slot of `tid` if that thread is traced and inside a syscall.
#[inline(always)]
fn active_slot(tid: i32) -> Option<*mut InFlight> {
    if tid <= 0 {
        return None;
    }
    let slot = IN_FLIGHT.get_ptr_mut(tid as u32)?;
    let active = unsafe { (*slot).tid == tid as u32 && (*slot).start_ns != 0 };
    active.then_some(slot)
}

#[inline(always)]
fn read<T>(ctx: &TracePointContext, offset: &Global<u32>) -> Option<T> {
    unsafe { ctx.read_at::<T>(offset.load() as usize) }.ok()
}

#[tracepoint(category = "sched", name = "sched_switch")]
pub fn sched_switch(ctx: TracePointContext) -> u32 {
    let now = unsafe { bpf_ktime_get_ns() };
    if let Some(prev) = read::<i32>(&ctx, &SWITCH_PREV_PID_OFFSET).and_then(active_slot) {
        let state = read::<i64>(&ctx, &SWITCH_PREV_STATE_OFFSET).unwrap_or(1);
        unsafe {
            (*prev).off_cpu_since = now;
            // Preempted: runnable at once, so everything until it runs again is run-queue time.
            (*prev).runnable_since = if state == 0 || state >= PREEMPTED_STATE { now } else { 0 };
        }
    }
    if let Some(next) = read::<i32>(&ctx, &SWITCH_NEXT_PID_OFFSET).and_then(active_slot) {
        unsafe {
            let off = (*next).off_cpu_since;
            if off != 0 && off <= now {
                let runnable = match (*next).runnable_since {
                    0 => now, // no wake-up seen: count it all as blocked
                    since => since.max(off).min(now), // not clamp(): it may panic
                };
                (*next).blocked_ns += runnable - off;
                (*next).runq_ns += now - runnable;
            }
            (*next).off_cpu_since = 0;
            (*next).runnable_since = 0;
        }
    }
    0
}

#[inline(always)]
fn woken(ctx: &TracePointContext) -> u32 {
    if let Some(slot) = read::<i32>(ctx, &WAKEUP_PID_OFFSET).and_then(active_slot) {
        unsafe {
            if (*slot).off_cpu_since != 0 && (*slot).runnable_since == 0 {
                (*slot).runnable_since = bpf_ktime_get_ns();
            }
        }
    }
    0
}

#[tracepoint(category = "sched", name = "sched_wakeup")]
pub fn sched_wakeup(ctx: TracePointContext) -> u32 {
    woken(&ctx)
}

#[tracepoint(category = "sched", name = "sched_wakeup_new")]
pub fn sched_wakeup_new(ctx: TracePointContext) -> u32 {
    woken(&ctx)
}
