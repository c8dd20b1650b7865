//! Names of processes and threads, from /proc.
use std::fs;

/// A thread's name (`comm`), if it still exists. As the process set it, control bytes and all:
/// text for people shows it through [`crate::syscalls::format::escape`].
pub fn thread_name(tgid: u32, tid: u32) -> Option<String> {
    read_comm(&format!("/proc/{tgid}/task/{tid}/comm"))
}

/// Short command name of a process, for messages.
pub fn comm(pid: u32) -> String {
    process_name(pid).unwrap_or_default()
}

/// Short command name of a process, if it still exists.
pub fn process_name(pid: u32) -> Option<String> {
    read_comm(&format!("/proc/{pid}/comm"))
}

/// A comm file without the newline the kernel ends it with: a name that is not UTF-8 still
/// names its process (invalid bytes as U+FFFD), and one with spaces keeps them.
fn read_comm(path: &str) -> Option<String> {
    let bytes = fs::read(path).ok()?;
    let name = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    Some(String::from_utf8_lossy(name).into_owned())
}

/// The process (or thread) exists: kill(2) with signal 0 asks just that.
pub fn process_exists(pid: u32) -> bool {
    // SAFETY: signal 0 sends nothing.
    let sent = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    sent || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
