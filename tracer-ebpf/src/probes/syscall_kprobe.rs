//! Per-syscall kprobes, for kernels that refuse fentry (or lack BPF trampolines) but have
//! kprobes: one kprobe and one kretprobe program, each attached to every selected syscall's
//! handler (`__x64_sys_read(const struct pt_regs *regs)`, ...). Like fentry, processes that are
//! not traced and syscalls that are not selected pay nothing.
//!
//! A kprobe's context holds the handler's registers, not the syscall's: the syscall's own
//! `struct pt_regs` is copied into per-CPU room, where the code shared with the tracepoints reads
//! it as it reads a BTF tracepoint's. At return the handler's argument is gone, so the entry
//! keeps it in a tid-indexed array (sized only in this mode).
use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid,
    macros::{kprobe, kretprobe, map},
    maps::{Array, PerCpuArray},
    programs::{ProbeContext, RetProbeContext},
    EbpfContext, Global,
};
use tracer_common::syscalls::MAX_SYSCALLS;

use super::syscalls::{on_enter, on_exit};
use crate::maps::{is_selected, is_traced, nr_offset, slot_index};

/// Room for a `struct pt_regs` (168 bytes on x86_64, 272 on arm64).
#[repr(C)]
pub struct UserRegs {
    words: [u64; 40],
}

/// The syscall's `struct pt_regs *`, by thread slot, from entry to return.
#[map]
static KPROBE_REGS: Array<u64> = Array::with_max_entries(1, 0);

#[map]
static REGS_COPY: PerCpuArray<UserRegs> = PerCpuArray::with_max_entries(1, 0);

/// The bytes of `struct pt_regs` up to the last register read (the syscall number or an
/// argument): no more, since the struct ends where the task's kernel stack does.
#[unsafe(no_mangle)]
static REGS_COPY_BYTES: Global<u32> = Global::new(128);

/// A copy of the syscall's registers at `regs`, in this CPU's room.
#[inline(always)]
fn copy_regs(regs: u64) -> Option<*const u8> {
    let copy = REGS_COPY.get_ptr_mut(0)?;
    let size = REGS_COPY_BYTES.load().min(core::mem::size_of::<UserRegs>() as u32);
    unsafe { aya_ebpf::helpers::generated::bpf_probe_read_kernel(copy.cast(), size, regs as *const _) == 0 }
        .then_some(copy as *const u8)
}

#[kprobe]
pub fn syscall_kprobe(ctx: ProbeContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    let Some(regs) = ctx.arg::<u64>(0) else { return 0 };
    let Some(copy) = copy_regs(regs) else { return 0 };
    // The syscall number, from the syscall's registers (x86_64 `orig_ax`, aarch64 `syscallno`).
    let nr = unsafe { core::ptr::read_volatile(copy.add(nr_offset()).cast::<u32>()) };
    if nr >= MAX_SYSCALLS || !is_selected(nr) {
        return 0;
    }
    if let Some(saved) = KPROBE_REGS.get_ptr_mut(slot_index(pid_tgid as u32)) {
        unsafe { *saved = regs };
    }
    on_enter(pid_tgid, nr, copy);
    0
}

#[kretprobe]
// Inlined into the macro's entry point, as `sys_exit` is: no subprogram call and return at
// each syscall's exit.
#[inline(always)]
pub fn syscall_kretprobe(ctx: RetProbeContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    let Some(saved) = KPROBE_REGS.get_ptr_mut(slot_index(pid_tgid as u32)) else { return 0 };
    // None for a call entered before the kprobes were attached (the kretprobes are attached
    // first, so that no entry goes without its return).
    let regs = unsafe { core::ptr::replace(saved, 0) };
    if regs == 0 {
        return 0;
    }
    let Some(copy) = copy_regs(regs) else { return 0 };
    on_exit(ctx.as_ptr(), pid_tgid, copy, ctx.ret::<i64>());
    0
}
