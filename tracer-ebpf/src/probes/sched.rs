//! Scheduler latency of traced threads: each off-CPU period is split into blocked (switched out,
//! not runnable: waiting for I/O, a lock, a timer) and run-queue time (runnable, waiting for a
//! CPU), reported per thread at switch-in, and added to the syscall in flight if there is one;
//! a syscall's on-CPU time is the rest of its duration.
//!
//! The switched-out task is the current one and is filtered by tgid as everywhere. The
//! switched-in and woken tasks are not, so for them the tid-indexed slot is the filter: it is
//! marked only while a traced thread is off-CPU (an inlined array lookup).
//! Classic tracepoints: their records carry the pids, so no kernel struct offsets are needed.
use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::tracepoint,
    programs::TracePointContext,
    Global,
};
use tracer_common::{Event, InFlight, EVENT_SCHED};

use super::read_field;
use crate::maps::{emit, is_traced, slot};

/// Field offsets in the tracepoint records, read by the loader from tracefs' format files.
#[unsafe(no_mangle)]
static SWITCH_PREV_STATE_OFFSET: Global<u32> = Global::new(32);
#[unsafe(no_mangle)]
static SWITCH_NEXT_PID_OFFSET: Global<u32> = Global::new(56);
#[unsafe(no_mangle)]
static WAKEUP_PID_OFFSET: Global<u32> = Global::new(24);

/// `prev_state` of a task switched out while runnable: 0 (TASK_RUNNING), or TASK_REPORT_MAX
/// (0x100 and up) when it was preempted.
const PREEMPTED_STATE: i64 = 0x100;

/// `prev_state` of a task that is exiting: EXIT_ZOMBIE or EXIT_DEAD (as reported bits).
const EXITING_STATE: i64 = 0x10 | 0x20;

/// The slot of `tid` if that thread is traced and off-CPU.
#[inline(always)]
fn off_cpu_slot(tid: i32) -> Option<*mut InFlight> {
    if tid <= 0 {
        return None;
    }
    let slot = slot(tid as u32)?;
    let marked = unsafe { (*slot).tid == tid as u32 && (*slot).off_cpu_since != 0 };
    marked.then_some(slot)
}


#[tracepoint(category = "sched", name = "sched_switch")]
pub fn sched_switch(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let now = unsafe { bpf_ktime_get_ns() };
    let tgid = (pid_tgid >> 32) as u32;
    if is_traced(tgid) {
        switched_out(&ctx, pid_tgid as u32, tgid, now);
    }
    if let Some(next) = read_field::<i32>(&ctx, &SWITCH_NEXT_PID_OFFSET).and_then(off_cpu_slot) {
        switched_in(next, now);
    }
    0
}

#[inline(always)]
fn switched_out(ctx: &TracePointContext, tid: u32, tgid: u32, now: u64) {
    let Some(slot) = slot(tid) else { return };
    let state = read_field::<i64>(ctx, &SWITCH_PREV_STATE_OFFSET).unwrap_or(1);
    unsafe {
        if state & EXITING_STATE != 0 {
            // The thread is gone; its tid may be reused by a process we do not trace.
            (*slot).tid = 0;
            (*slot).start_ns = 0;
            (*slot).off_cpu_since = 0;
            return;
        }
        if (*slot).tid != tid {
            if (*slot).start_ns != 0 {
                return; // the slot's owner is inside a syscall: leave it be
            }
            // First switch of this thread outside a syscall: claim the slot.
            (*slot).tid = tid;
            (*slot).last_sk = 0;
        }
        (*slot).tgid = tgid;
        (*slot).off_cpu_since = now;
        // Preempted: runnable at once, so everything until it runs again is run-queue time.
        (*slot).runnable_since = if state == 0 || state >= PREEMPTED_STATE { now } else { 0 };
    }
}

#[inline(always)]
fn switched_in(slot: *mut InFlight, now: u64) {
    let InFlight { tid, tgid, start_ns, off_cpu_since: off, runnable_since, .. } = unsafe { *slot };
    unsafe {
        (*slot).off_cpu_since = 0;
        (*slot).runnable_since = 0;
    }
    if off > now {
        return;
    }
    let runnable = match runnable_since {
        0 => now, // no wake-up seen: count it all as blocked
        since => since.max(off).min(now), // not clamp(): it may panic
    };
    let (blocked, runq) = (runnable - off, now - runnable);
    if start_ns != 0 {
        unsafe {
            (*slot).blocked_ns += blocked;
            (*slot).runq_ns += runq;
        }
    }
    emit(Event {
        kind: EVENT_SCHED,
        nr: 0,
        tgid,
        tid,
        start_ns: off,
        duration_ns: now - off,
        ret: 0,
        arg0: 0,
        blocked_ns: blocked,
        runq_ns: runq,
    });
}

#[inline(always)]
fn woken(ctx: &TracePointContext) -> u32 {
    if let Some(slot) = read_field::<i32>(ctx, &WAKEUP_PID_OFFSET).and_then(off_cpu_slot) {
        unsafe {
            if (*slot).runnable_since == 0 {
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
