//! Scheduler latency of traced threads: each off-CPU period is split into blocked (switched out,
//! not runnable: waiting for I/O, a lock, a timer) and run-queue time (runnable, waiting for a
//! CPU), counted per thread at switch-in (in the thread's row, else as a record), and added to
//! the syscall in flight if there is one; a syscall's on-CPU time is the rest of its duration.
//!
//! The switched-out task is the current one and is filtered by tgid as everywhere. The
//! switched-in and woken tasks are not, so for them the tid-indexed slot is the filter: it is
//! marked only while a traced thread is off-CPU (an inlined array lookup).
//! BTF tracepoints, far cheaper per context switch than the classic (perf-event) ones; the one
//! struct field read, `task_struct.pid`, is at an offset the loader takes from the kernel's BTF.
use aya_ebpf::{
    bindings::BPF_F_MMAPABLE,
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::{btf_tracepoint, map},
    maps::{Array, Queue},
    programs::BtfTracePointContext,
    Global,
};
use tracer_common::{
    connections::{conn_bucket, CONN_BUCKETS},
    events::{Event, EventKind},
    sched::{THREAD_ROW_WORDS, THREAD_TOTAL_WORDS},
    syscalls::InFlight,
};

use crate::maps::{atomic_add, count_in_halves, count_lost, emit_event, is_traced, slot};

/// Non-zero when threads' switches are counted here, in rows (a load-time constant: kernel
/// counts with the scheduler split).
#[unsafe(no_mangle)]
static THREADS_ON: Global<u32> = Global::new(0);

/// The threads' rows (`sched::THREAD_ROW_WORDS` each), shared by the CPUs and mapped by the
/// reader; sized by the loader only when threads are counted here.
#[map]
static THREAD_HIST: Array<u64> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// Rows no thread has: the reader pushes them, a thread's first switch-in pops one.
#[map]
static THREAD_FREE: Queue<u32> = Queue::with_max_entries(1, 0);

/// Offset of `pid` (the tid) in `struct task_struct`, from the kernel's BTF.
#[unsafe(no_mangle)]
static TASK_PID_OFFSET: Global<u32> = Global::new(0);

/// Non-zero where `sched_switch` passes `prev_state` (5.18+): its fourth argument. Before, the
/// tracepoint has three arguments, and the state is read from the task (`TASK_STATE_OFFSET`).
#[unsafe(no_mangle)]
static SWITCH_HAS_PREV_STATE: Global<u32> = Global::new(1);
/// Offset of the task's state in `struct task_struct` (`__state` from 5.14, `state` before),
/// from the kernel's BTF; used where `SWITCH_HAS_PREV_STATE` is 0.
#[unsafe(no_mangle)]
static TASK_STATE_OFFSET: Global<u32> = Global::new(0);

/// Offset of `comm` in `struct task_struct`, from the kernel's BTF.
#[unsafe(no_mangle)]
static TASK_COMM_OFFSET: Global<u32> = Global::new(0);

/// `TASK_DEAD` in a task's state: its last switch out.
const TASK_DEAD: u32 = 0x80;

/// The tid of a `struct task_struct *` argument. A BTF tracepoint's task pointers are typed,
/// so the verifier allows a direct load at a field's offset (a read-only global it knows):
/// no helper call on every context switch of the machine.
#[inline(always)]
fn task_pid(task: *const u8) -> i32 {
    unsafe { core::ptr::read_volatile(task.add(TASK_PID_OFFSET.load() as usize).cast::<i32>()) }
}

/// The state of a `struct task_struct *` argument (the low half of 5.10's `long state`), read
/// as `task_pid` reads.
#[inline(always)]
fn task_state(task: *const u8) -> u32 {
    unsafe { core::ptr::read_volatile(task.add(TASK_STATE_OFFSET.load() as usize).cast::<u32>()) }
}

/// Word `i` (0 or 1) of a `struct task_struct *` argument's `comm`, read as `task_pid` reads.
#[inline(always)]
fn comm_word(task: *const u8, i: usize) -> u64 {
    unsafe { core::ptr::read_volatile(task.add(TASK_COMM_OFFSET.load() as usize + 8 * i).cast::<u64>()) }
}

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


// sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next,
//              unsigned int prev_state), prev_state from 5.18 on
#[btf_tracepoint(function = "sched_switch")]
pub fn sched_switch(ctx: BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    let prev_traced = is_traced(tgid);
    let next_task: *const u8 = ctx.arg(2);
    let next_tid = task_pid(next_task);
    let next = off_cpu_slot(next_tid);
    if !prev_traced && next.is_none() {
        return 0; // the common case machine-wide: no clock read
    }
    let now = unsafe { bpf_ktime_get_ns() };
    if prev_traced {
        let preempt = ctx.arg::<u64>(0) & 1 != 0;
        // A load-time constant: the verifier never sees the other branch, so a three-argument
        // tracepoint's program does not read past its context.
        let state = match SWITCH_HAS_PREV_STATE.load() {
            0 => task_state(ctx.arg(1)),
            _ => ctx.arg::<u64>(3) as u32,
        };
        switched_out(pid_tgid as u32, tgid, ctx.arg(1), preempt, state, now);
    }
    // Still next's: prev may have just claimed the same slot (tids equal modulo its size).
    if let Some(next) = next.filter(|&slot| unsafe { (*slot).tid } == next_tid as u32) {
        switched_in(next, next_task, now);
    }
    0
}

#[inline(always)]
fn switched_out(tid: u32, tgid: u32, task: *const u8, preempt: bool, state: u32, now: u64) {
    let Some(slot) = slot(tid) else { return };
    unsafe {
        if state & TASK_DEAD != 0 {
            if (*slot).tid != tid {
                return; // another thread's slot (tids that collide modulo the map's size)
            }
            // The thread is gone; its tid may be reused by a process we do not trace. Its row,
            // if it had one, goes back to the reader with its name as it ended.
            let row = (*slot).sched_row;
            if row != 0 {
                (*slot).sched_row = 0;
                let comm = comm_word(task, 0);
                if !emit_event(thread_record(EventKind::ThreadGone, row - 1, tgid, tid, comm, comm_word(task, 1))) {
                    count_lost(); // the row stays taken: one fewer for the threads to come
                }
            }
            // Volatile: adjacent zero stores otherwise become a memset call.
            core::ptr::write_volatile(&raw mut (*slot).tid, 0);
            core::ptr::write_volatile(&raw mut (*slot).nr, 0);
            core::ptr::write_volatile(&raw mut (*slot).start_ns, 0);
            core::ptr::write_volatile(&raw mut (*slot).off_cpu_since, 0);
            return;
        }
        if (*slot).tid != tid {
            if (*slot).start_ns != 0 {
                return; // the slot's owner is inside a syscall: leave it be
            }
            // First switch of this thread outside a syscall: claim the slot.
            // Not SLOT_SEEN: this thread may be inside a syscall that began before tracing.
            (*slot).tid = tid;
            (*slot).nr = 0;
            (*slot).last_sk = 0;
            (*slot).sched_row = 0;
        }
        (*slot).tgid = tgid;
        (*slot).off_cpu_since = now;
        // Preempted (or yielding): runnable at once, so everything until it runs again is
        // run-queue time.
        (*slot).runnable_since = if preempt || state == 0 { now } else { 0 };
    }
}

#[inline(always)]
fn switched_in(slot: *mut InFlight, task: *const u8, now: u64) {
    let InFlight { tid, tgid, start_ns, off_cpu_since: off, runnable_since, .. } = unsafe { *slot };
    unsafe {
        // Volatile: see on_enter (no memset call).
        core::ptr::write_volatile(&raw mut (*slot).off_cpu_since, 0);
        core::ptr::write_volatile(&raw mut (*slot).runnable_since, 0);
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
    // A load-time constant first: with --events, every switch is a record.
    if THREADS_ON.load() != 0 {
        if let Some(row) = thread_row(slot, tid, tgid, task) {
            count_switch(row, now - off, runq);
            return;
        }
    }
    emit_event(Event {
        kind: EventKind::Sched as u32,
        nr: 0,
        tgid,
        tid,
        start_ns: off,
        duration_ns: now - off,
        // The thread's name as it runs again, for the reader: a thread that lives a moment
        // is gone from /proc by the time anyone asks.
        ret: comm_word(task, 0) as i64,
        arg0: comm_word(task, 1),
        blocked_ns: blocked,
        runq_ns: runq,
    });
}

/// The row thread `tid` (of the slot) counts its switches in: taken at its first switch-in,
/// and named to the reader then. None: no row free, or the record could not be sent (the row
/// is then given back): the switch is sent as a record of its own.
#[inline(always)]
fn thread_row(slot: *mut InFlight, tid: u32, tgid: u32, task: *const u8) -> Option<u32> {
    let row = unsafe { (*slot).sched_row };
    if row != 0 {
        return Some(row - 1);
    }
    let row = THREAD_FREE.pop().ok().flatten()?;
    // In the slot before the record is: a reader that has the record finds the slot holding
    // the row for as long as the kernel may count in it (see the reader's `ThreadCounts`).
    unsafe { (*slot).sched_row = row + 1 };
    if !emit_event(thread_record(EventKind::ThreadRow, row, tgid, tid, comm_word(task, 0), comm_word(task, 1))) {
        unsafe { (*slot).sched_row = 0 };
        let _ = THREAD_FREE.push(&row, 0);
        return None;
    }
    Some(row)
}

/// A thread's row record: the row in `nr`, the name in `ret` and `arg0` (as a switch's).
#[inline(always)]
fn thread_record(kind: EventKind, row: u32, tgid: u32, tid: u32, comm0: u64, comm1: u64) -> Event {
    Event { kind: kind as u32, nr: row, tgid, tid, start_ns: 0, duration_ns: 0, ret: comm0 as i64, arg0: comm1, blocked_ns: 0, runq_ns: 0 }
}

/// Counts a switch-in after `off_ns` off-CPU, `runq_ns` of it in the run queue. The switch
/// count goes last: a reader that sees it has the switch's other figures too.
#[inline(always)]
fn count_switch(row: u32, off_ns: u64, runq_ns: u64) {
    let base = row * THREAD_ROW_WORDS;
    count_in_halves(&THREAD_HIST, base + THREAD_TOTAL_WORDS, conn_bucket(off_ns));
    count_in_halves(&THREAD_HIST, base + THREAD_TOTAL_WORDS, CONN_BUCKETS + conn_bucket(runq_ns));
    if let Some(total) = THREAD_HIST.get_ptr_mut(base + 1) {
        atomic_add(total, off_ns);
    }
    if let Some(switches) = THREAD_HIST.get_ptr_mut(base) {
        atomic_add(switches, 1);
    }
}

/// sched_wakeup(struct task_struct *p) and sched_wakeup_new(struct task_struct *p).
#[inline(always)]
fn woken(ctx: &BtfTracePointContext) -> i32 {
    if let Some(slot) = off_cpu_slot(task_pid(ctx.arg(0))) {
        unsafe {
            if (*slot).runnable_since == 0 {
                (*slot).runnable_since = bpf_ktime_get_ns();
            }
        }
    }
    0
}

#[btf_tracepoint(function = "sched_wakeup")]
pub fn sched_wakeup(ctx: BtfTracePointContext) -> i32 {
    woken(&ctx)
}

#[btf_tracepoint(function = "sched_wakeup_new")]
pub fn sched_wakeup_new(ctx: BtfTracePointContext) -> i32 {
    woken(&ctx)
}
