//! Process lifecycle. Follow-forks: a traced process that creates a new process (not a thread)
//! gets the child traced before the child can run. `task:task_newtask` fires inside
//! `copy_process`, in the parent, and carries the clone flags, so no kernel struct offsets are
//! needed. With `--by`: a traced process's end, with its name and cgroup (and its place in a
//! group forgotten).
use aya_ebpf::{
    helpers::{bpf_get_current_cgroup_id, bpf_get_current_pid_tgid},
    macros::{btf_tracepoint, tracepoint},
    programs::{BtfTracePointContext, TracePointContext},
    Global,
};
use tracer_common::{
    events::{Event, EventKind},
    process::ProcessEvent,
};

use super::read_field;
use crate::maps::{emit_event, emit_with, forget_group, forget_unnamed_fds, is_traced, trace_tgid, write_comm};

const CLONE_THREAD: u64 = 0x0001_0000;

/// Field offsets in the tracepoint record, read by the loader from tracefs' `format` file.
#[unsafe(no_mangle)]
static NEWTASK_PID_OFFSET: Global<u32> = Global::new(8);
#[unsafe(no_mangle)]
static NEWTASK_FLAGS_OFFSET: Global<u32> = Global::new(32);

#[tracepoint(category = "task", name = "task_newtask")]
pub fn task_newtask(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !is_traced(tgid) {
        return 0;
    }
    let Some(flags) = read_field::<u64>(&ctx, &NEWTASK_FLAGS_OFFSET) else {
        return 0;
    };
    if flags & CLONE_THREAD != 0 {
        return 0; // threads are traced through their tgid already
    }
    let Some(child) = read_field::<i32>(&ctx, &NEWTASK_PID_OFFSET) else {
        return 0;
    };
    if child <= 0 {
        return 0;
    }
    trace_tgid(child as u32);
    // Its pid may be an ended process's, whose fds may still be remembered.
    forget_unnamed_fds();
    emit_event(Event {
        kind: EventKind::Fork as u32,
        nr: 0,
        tgid,
        tid: pid_tgid as u32,
        start_ns: 0,
        duration_ns: 0,
        ret: child as i64,
        arg0: flags,
        blocked_ns: 0,
        runq_ns: 0,
    });
    0
}

/// sched_process_exit(struct task_struct *p), in the exiting thread, before its cgroup is left.
/// The main thread's exit stands for the process's (its other threads' syscalls are before it
/// in the ring, or belong to a process that is exiting anyway).
#[btf_tracepoint(function = "sched_process_exit")]
pub fn sched_process_exit(_ctx: BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if pid_tgid as u32 != tgid || !is_traced(tgid) {
        return 0;
    }
    forget_group(tgid);
    forget_unnamed_fds();
    let cgroup_id = unsafe { bpf_get_current_cgroup_id() };
    // Written in place: a name zeroed on the stack first is a memset call (see `write_event`).
    emit_with(|entry: *mut ProcessEvent| unsafe {
        core::ptr::write_volatile(&raw mut (*entry).kind, EventKind::ProcessExit as u32);
        core::ptr::write_volatile(&raw mut (*entry).tgid, tgid);
        core::ptr::write_volatile(&raw mut (*entry).cgroup_id, cgroup_id);
        write_comm(&raw mut (*entry).comm);
    });
    0
}
