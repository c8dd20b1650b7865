mod fd_kind;
mod net;
mod process;
mod sched;
mod slow;
mod syscall_fentry;
mod syscall_kprobe;
mod syscalls;

use aya_ebpf::{programs::TracePointContext, Global};

/// Reads a field of a classic tracepoint's record at an offset the loader took from tracefs.
#[inline(always)]
fn read_field<T>(ctx: &TracePointContext, offset: &Global<u32>) -> Option<T> {
    unsafe { ctx.read_at::<T>(offset.load() as usize) }.ok()
}
