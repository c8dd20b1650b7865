mod process;
mod syscalls;
