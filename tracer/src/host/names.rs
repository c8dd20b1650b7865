//! Names of processes and threads, from /proc.
use std::fs;

/// A thread's name (`comm`), if it still exists.
pub fn thread_name(tgid: u32, tid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{tgid}/task/{tid}/comm")).ok().map(|s| s.trim().to_string())
}

/// Short command name of a process, for messages.
pub fn comm(pid: u32) -> String {
    process_name(pid).unwrap_or_default()
}

/// Short command name of a process, if it still exists.
pub fn process_name(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm")).ok().map(|s| s.trim().to_string())
}

/// The process (or thread) exists: kill(2) with signal 0 asks just that.
pub fn process_exists(pid: u32) -> bool {
    // SAFETY: signal 0 sends nothing.
    let sent = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    sent || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
