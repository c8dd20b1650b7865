mod net;
mod process;
mod sched;
mod syscall_fentry;
mod syscalls;
