//! Syscall latency: `sys_enter` records the start in the tid-indexed in-flight slot, `sys_exit`
//! turns it into one event. BTF tracepoints: same cost as raw tracepoints, typed arguments.
use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns, bpf_probe_read_kernel},
    macros::btf_tracepoint,
    programs::BtfTracePointContext,
};
use tracer_common::{Event, EVENT_SYSCALL, EVENT_SYSCALL_NO_RETURN, MAX_SYSCALLS};

use crate::maps::{arg0_offset, emit, is_selected, is_traced, never_returns, IN_FLIGHT};

#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter(ctx: BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !is_traced(tgid) {
        return 0;
    }
    // sys_enter(struct pt_regs *regs, long id)
    let id: i64 = ctx.arg(1);
    if id < 0 || id >= MAX_SYSCALLS as i64 {
        return 0;
    }
    let nr = id as u32;
    if !is_selected(nr) {
        return 0;
    }
    let tid = pid_tgid as u32;
    let now = unsafe { bpf_ktime_get_ns() };
    if never_returns(nr) {
        let regs: *const u8 = ctx.arg(0);
        emit(Event {
            kind: EVENT_SYSCALL_NO_RETURN,
            nr,
            tgid,
            tid,
            start_ns: now,
            duration_ns: 0,
            ret: 0,
            arg0: read_arg0(regs),
        });
        return 0;
    }
    if let Some(slot) = IN_FLIGHT.get_ptr_mut(tid) {
        unsafe {
            (*slot).start_ns = now;
            (*slot).nr = nr;
            (*slot).tid = tid;
        }
    }
    0
}

#[btf_tracepoint(function = "sys_exit")]
pub fn sys_exit(ctx: BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !is_traced(tgid) {
        return 0;
    }
    let tid = pid_tgid as u32;
    let Some(slot) = IN_FLIGHT.get_ptr_mut(tid) else {
        return 0;
    };
    let (start_ns, nr, owner) = unsafe { ((*slot).start_ns, (*slot).nr, (*slot).tid) };
    // No entry seen (attached mid-syscall, or the syscall was not selected): nothing to pair.
    if start_ns == 0 || owner != tid {
        return 0;
    }
    unsafe { (*slot).start_ns = 0 };
    let now = unsafe { bpf_ktime_get_ns() };
    if now < start_ns {
        return 0;
    }
    // sys_exit(struct pt_regs *regs, long ret); the argument registers survive the syscall.
    let regs: *const u8 = ctx.arg(0);
    let ret: i64 = ctx.arg(1);
    emit(Event {
        kind: EVENT_SYSCALL,
        nr,
        tgid,
        tid,
        start_ns,
        duration_ns: now - start_ns,
        ret,
        arg0: read_arg0(regs),
    });
    0
}

#[inline(always)]
fn read_arg0(regs: *const u8) -> u64 {
    unsafe { bpf_probe_read_kernel(regs.add(arg0_offset()).cast::<u64>()) }.unwrap_or(0)
}
