mod process;
mod syscall_fentry;
mod syscalls;
