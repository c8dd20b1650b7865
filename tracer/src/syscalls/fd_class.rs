//! What the I/O view knows of each syscall number (reads, writes, accepts, what creates and
//! frees fds), and what an fd is.
use std::fmt;

use super::table;

/// What an fd is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(usize)]
pub enum FdKind {
    Socket,
    Pipe,
    File,
    Other,
}

impl FdKind {
    pub const fn name(self) -> &'static str {
        match self {
            FdKind::Socket => "socket",
            FdKind::Pipe => "pipe",
            FdKind::File => "file",
            FdKind::Other => "other",
        }
    }
}

impl fmt::Display for FdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // pad, not write_str: tables give this a column width.
        f.pad(self.name())
    }
}

pub(crate) const FD_KINDS: usize = 4;
pub(crate) const KINDS: [FdKind; FD_KINDS] = [FdKind::Socket, FdKind::Pipe, FdKind::File, FdKind::Other];

/// The kinds of the network/I/O keys (`KIND:SYSCALL`, and `tcp:accept`/`tcp:connect`).
pub const KEY_KINDS: [&str; FD_KINDS + 1] =
    [FdKind::Socket.name(), FdKind::Pipe.name(), FdKind::File.name(), FdKind::Other.name(), "tcp"];

/// Data moves out (send) or in (receive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Send,
    Receive,
}

/// What the network view needs to know of a syscall, looked up by number on the hot path.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SyscallClass {
    pub(crate) name: &'static str,
    pub(crate) direction: Option<Direction>,
    pub(crate) returns_fd: bool,
    /// Opens a path: the fd it returns is a file (or a device), known without asking /proc.
    pub(crate) opens_path: bool,
    pub(crate) accept: bool,
    /// `connect`: its I/O slot counts SYN-to-established times in the kernel (not the call's).
    pub(crate) connect: bool,
    pub(crate) close: bool,
    /// Frees fd numbers for reuse: close, dup2, dup3, close_range.
    pub(crate) frees_fds: bool,
    /// dup2, dup3: the fd it frees is the one it replaces, its second argument.
    pub(crate) replaces_fd: bool,
    pub(crate) close_range: bool,
    /// `execve`/`execveat`: close-on-exec fds are gone without a close.
    pub(crate) exec: bool,
    /// clone, clone3, fork, vfork: the new task returns from it too.
    pub(crate) creates_task: bool,
}

impl SyscallClass {
    /// Its calls are looked at one by one (I/O, which the kernel counts itself where it can;
    /// exec), so the kernel cannot just count them. With `fd_events`, the calls that make or
    /// free fds too, and with `accept_waits`, accepts (see [`kernel_syscall_flags`]). A new
    /// task needs no call's event: the kernel's fork record names a new process.
    pub(crate) fn needs_event(&self, fd_events: bool, accept_waits: bool) -> bool {
        let makes_or_frees_fds = self.returns_fd || self.frees_fds;
        self.direction.is_some() || self.exec || (fd_events && makes_or_frees_fds) || (accept_waits && self.accept)
    }
}

/// The class of syscall `nr` (a default, empty one for a number this architecture lacks).
pub(crate) fn class(nr: u32) -> &'static SyscallClass {
    static NONE: std::sync::OnceLock<SyscallClass> = std::sync::OnceLock::new();
    classes().get(nr as usize).unwrap_or_else(|| NONE.get_or_init(SyscallClass::default))
}

/// Classes of every syscall number, computed once.
pub(crate) fn classes() -> &'static [SyscallClass] {
    static CLASSES: std::sync::OnceLock<Vec<SyscallClass>> = std::sync::OnceLock::new();
    CLASSES.get_or_init(|| {
        (0..tracer_common::syscalls::MAX_SYSCALLS)
            .map(|nr| match table::name(nr) {
                Some(name) => SyscallClass {
                    name,
                    direction: io_direction(name),
                    returns_fd: returns_fd(name),
                    opens_path: matches!(name, "open" | "openat" | "openat2" | "creat" | "open_by_handle_at"),
                    accept: matches!(name, "accept" | "accept4"),
                    connect: name == "connect",
                    close: name == "close",
                    frees_fds: matches!(name, "close" | "dup2" | "dup3" | "close_range"),
                    replaces_fd: matches!(name, "dup2" | "dup3"),
                    close_range: name == "close_range",
                    exec: matches!(name, "execve" | "execveat"),
                    creates_task: matches!(name, "clone" | "clone3" | "fork" | "vfork"),
                },
                None => SyscallClass::default(),
            })
            .collect()
    })
}

/// The kernel's `SYSCALL_*` flags, from the same classes the reader uses: the read/write
/// family names its socket in its first argument; close and kin free fds; whatever the I/O
/// view, exec or task creation needs to see is sent one call at a time.
///
/// The calls that make or free fds (open, socket, pipe, dup, close...) need no event of their
/// own: a read or write's event says what its fd is, the kernel names a socket again after any
/// fd is freed, and I/O it counts itself it counts by the fd's kind. With `fd_events` (`--slow`,
/// whose lines name a file by the path a slow open gave its fd, which a later close must
/// forget) they are events still. So are accepts with `accept_waits` (sockets traced): the
/// kernel then sends an accept's wait with the accepted socket's record, else with the call.
pub fn kernel_syscall_flags(fd_events: bool, accept_waits: bool) -> Vec<(u32, u32)> {
    classes()
        .iter()
        .enumerate()
        .map(|(nr, class)| {
            let mut flags = 0;
            if class.direction.is_some() {
                flags |= tracer_common::syscalls::SYSCALL_SOCKET_FD_ARG0;
            }
            if class.direction == Some(Direction::Send) {
                flags |= tracer_common::syscalls::SYSCALL_SENDS;
            }
            // An exec closes the close-on-exec fds: what the kernel knew of fd kinds is stale.
            if class.frees_fds || class.exec {
                flags |= tracer_common::syscalls::SYSCALL_FREES_FDS;
            }
            if class.close {
                flags |= tracer_common::syscalls::SYSCALL_FREES_FD_ARG0;
            }
            if class.replaces_fd {
                flags |= tracer_common::syscalls::SYSCALL_FREES_FD_ARG1;
            }
            if class.creates_task {
                flags |= tracer_common::syscalls::SYSCALL_CREATES_TASK;
            }
            if class.accept {
                flags |= tracer_common::syscalls::SYSCALL_ACCEPTS;
            }
            if class.direction.is_some() || class.exec {
                flags |= tracer_common::syscalls::SYSCALL_FAILURE_LIKE_SUCCESS;
            }
            if class.needs_event(fd_events, accept_waits) {
                flags |= tracer_common::syscalls::SYSCALL_NEEDS_EVENT;
            }
            (nr as u32, flags)
        })
        .filter(|&(_, flags)| flags != 0)
        .collect()
}

/// The syscalls the kernel counts by fd kind, in the order of their I/O slots: the read/write
/// family, and once the reader follows no more connections one by one, accepts (their waits)
/// and connect (SYN sent to established, counted where the kernel sees it: never the call).
pub fn io_slots() -> Vec<u32> {
    classes().iter().enumerate().filter(|(_, c)| c.direction.is_some() || c.accept || c.connect).map(|(nr, _)| nr as u32).collect()
}

/// What the kernel's fd kinds (`FD_KIND_*`, from the inode's mode) are here.
pub fn kind_of_kernel(kind: u32) -> FdKind {
    match kind {
        tracer_common::fd_kinds::FD_KIND_SOCKET => FdKind::Socket,
        tracer_common::fd_kinds::FD_KIND_PIPE => FdKind::Pipe,
        tracer_common::fd_kinds::FD_KIND_FILE => FdKind::File,
        _ => FdKind::Other,
    }
}

fn io_direction(name: &str) -> Option<Direction> {
    match name {
        "write" | "writev" | "pwrite64" | "pwritev" | "pwritev2" | "send" | "sendto" | "sendmsg" | "sendmmsg" | "sendfile" => {
            Some(Direction::Send)
        }
        "read" | "readv" | "pread64" | "preadv" | "preadv2" | "recv" | "recvfrom" | "recvmsg" | "recvmmsg" => Some(Direction::Receive),
        _ => None,
    }
}

/// Syscalls that return a new fd, which may reuse a closed one's number.
fn returns_fd(name: &str) -> bool {
    matches!(
        name,
        "open" | "openat" | "openat2" | "creat" | "socket" | "accept" | "accept4" | "dup" | "dup2" | "dup3" | "fcntl"
            | "epoll_create" | "epoll_create1" | "eventfd" | "eventfd2" | "memfd_create" | "timerfd_create" | "signalfd"
            | "signalfd4" | "inotify_init" | "inotify_init1" | "pidfd_open" | "open_by_handle_at"
    )
}
