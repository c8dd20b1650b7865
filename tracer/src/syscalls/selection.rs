//! `-e trace=SET`, with strace's syntax: syscall names, `%class`es, `all`, `none`, and a leading
//! `!` to negate. Several `-e trace=` options add up, as in strace. What the tables show, and
//! what the kernel must deliver for it, both come from the [`Selection`].
use super::{fd_class::classes, set::SyscallSet, table};

/// What `-e` selected: the syscalls the tables show (every one without `-e`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection(Option<SyscallSet>);

impl Selection {
    /// Every syscall: no `-e`.
    pub fn all() -> Self {
        Self(None)
    }

    /// Parses every `-e` expression.
    pub fn parse(expressions: &[String]) -> Result<Self, FilterError> {
        parse_expressions(expressions).map(Self)
    }

    /// A list of syscall names, `%class`es and `/regex`es, as one `-e trace=` list (compare's
    /// `--keys`).
    pub fn parse_list(items: &[&str]) -> Result<Self, FilterError> {
        let list = items.join(",");
        parse_list(&list, &list).map(|set| Self(Some(set).filter(|set| *set != SyscallSet::all())))
    }

    /// Whether the tables show syscall `nr`.
    pub fn shows(&self, nr: u32) -> bool {
        self.0.as_ref().is_none_or(|shown| shown.contains(nr))
    }

    /// The syscalls shown, `None` for all.
    pub fn shown(&self) -> Option<&SyscallSet> {
        self.0.as_ref()
    }

    /// What the kernel must deliver (`None`: every syscall). The calls that create and free
    /// fds (and exec, which closes some) too, if any read/write/accept-family call is shown,
    /// since reads and writes are counted by what their fd is (the kernel remembers it until
    /// the fd is freed): without them, a read on a file's fd number that a pipe reuses later
    /// would be counted as a file read, and an fd that changes (dup2 onto stdout) would keep the
    /// kind it had at the start. The tables still show only the selection. With `programs`
    /// (`--slow`), exec too: a new program's memory map (for its stacks) and Go layout (for its
    /// goroutines) are read at its exec, while it lives (one that exits right after its slow
    /// call is gone by then).
    pub fn delivered(&self, programs: bool) -> Option<SyscallSet> {
        let shown = self.0.as_ref()?;
        let mut wanted = shown.clone();
        let classes = classes();
        if programs {
            for (nr, class) in classes.iter().enumerate() {
                if class.exec {
                    wanted.insert(nr as u32);
                }
            }
        }
        let io = shown.iter().any(|nr| classes.get(nr as usize).is_some_and(|c| c.direction.is_some() || c.accept));
        if io {
            for (nr, class) in classes.iter().enumerate() {
                if class.returns_fd || class.frees_fds || class.exec {
                    wanted.insert(nr as u32);
                }
            }
        }
        Some(wanted)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("unsupported qualifier '{0}' (only trace= is supported)")]
    Qualifier(String),
    #[error("unknown syscall '{0}'")]
    UnknownSyscall(String),
    #[error("unknown syscall class '%{0}' (known: {known})", known = CLASS_NAMES.join(", "))]
    UnknownClass(String),
    #[error("empty syscall name in '{0}'")]
    Empty(String),
    #[error("bad regular expression '/{0}': {1}")]
    Regex(String, String),
    #[error("'/{0}' matches no syscall")]
    NoMatch(String),
}

/// Parses every `-e` expression; `None` means "trace every syscall" (no kernel-side filter).
fn parse_expressions(expressions: &[String]) -> Result<Option<SyscallSet>, FilterError> {
    let mut selected: Option<SyscallSet> = None;
    for expression in expressions {
        let set = parse_expression(expression)?;
        selected.get_or_insert_with(SyscallSet::empty).union(&set);
    }
    Ok(selected.filter(|set| *set != SyscallSet::all()))
}

fn parse_expression(expression: &str) -> Result<SyscallSet, FilterError> {
    let list = match expression.split_once('=') {
        Some(("trace" | "t", list)) => list,
        Some((qualifier, _)) => return Err(FilterError::Qualifier(qualifier.to_string())),
        None => expression,
    };
    parse_list(expression, list)
}

/// The list of one expression (`!read,%network`), as a set.
fn parse_list(expression: &str, list: &str) -> Result<SyscallSet, FilterError> {
    let (negate, list) = match list.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, list),
    };
    let mut set = SyscallSet::empty();
    for item in list.split(',').map(str::trim) {
        // strace: a leading '?' means "no error if this matches nothing".
        let (optional, item) = match item.strip_prefix('?') {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let matched = match item {
            "" => return Err(FilterError::Empty(expression.to_string())),
            "all" => Ok(SyscallSet::all()),
            "none" => Ok(SyscallSet::empty()),
            _ if item.starts_with('/') => regex_set(&item[1..]),
            _ => match item.strip_prefix('%') {
                Some(class) => class_set(class),
                None => match table::number(item) {
                    Some(nr) => {
                        let mut one = SyscallSet::empty();
                        one.insert(nr);
                        Ok(one)
                    }
                    None => Err(FilterError::UnknownSyscall(item.to_string())),
                },
            },
        };
        match matched {
            Ok(matched) => set.union(&matched),
            Err(_) if optional => {}
            Err(err) => return Err(err),
        }
    }
    Ok(if negate { set.complement() } else { set })
}

/// strace's `/REGEX`: every syscall whose name it matches (unanchored, as in strace).
fn regex_set(pattern: &str) -> Result<SyscallSet, FilterError> {
    let regex = regex::Regex::new(pattern).map_err(|e| FilterError::Regex(pattern.to_string(), e.to_string().lines().last().unwrap_or("").trim().to_string()))?;
    let mut set = SyscallSet::empty();
    for nr in table::all() {
        if table::name(nr).is_some_and(|name| regex.is_match(name)) {
            set.insert(nr);
        }
    }
    if set.is_empty() {
        return Err(FilterError::NoMatch(pattern.to_string()));
    }
    Ok(set)
}

/// strace's syscall classes, by name. A name absent from this architecture is skipped (`open`
/// does not exist on aarch64); a unit test checks every name exists on x86_64 or aarch64.
const CLASSES: &[(&str, &[&str])] = &[
    ("network", &[
        "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
        "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
        "socket", "socketpair",
    ]),
    ("file", &[
        "access", "acct", "chdir", "chmod", "chown", "chroot", "creat", "execve", "execveat",
        "faccessat", "faccessat2", "fanotify_mark", "fchmodat", "fchmodat2", "fchownat", "futimesat",
        "getxattr", "inotify_add_watch", "lchown", "lgetxattr", "link", "linkat", "listxattr",
        "llistxattr", "lremovexattr", "lsetxattr", "lstat", "mkdir", "mkdirat", "mknod", "mknodat",
        "mount", "mount_setattr", "move_mount", "name_to_handle_at", "newfstatat", "open", "open_tree",
        "openat", "openat2", "pivot_root", "quotactl", "readlink", "readlinkat", "removexattr", "rename",
        "renameat", "renameat2", "rmdir", "setxattr", "stat", "statfs", "statx", "swapoff", "swapon",
        "symlink", "symlinkat", "truncate", "umount2", "unlink", "unlinkat", "uselib", "utime",
        "utimensat", "utimes",
    ]),
    ("process", &[
        "clone", "clone3", "execve", "execveat", "exit", "exit_group", "fork", "kill", "pidfd_open",
        "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "tgkill", "tkill", "vfork",
        "wait4", "waitid",
    ]),
    ("memory", &[
        "brk", "get_mempolicy", "madvise", "map_shadow_stack", "mbind", "memfd_secret", "migrate_pages",
        "mincore", "mlock", "mlock2", "mlockall", "mmap", "move_pages", "mprotect", "mremap", "mseal",
        "msync", "munlock", "munlockall", "munmap", "pkey_mprotect", "process_madvise",
        "process_mrelease", "remap_file_pages", "set_mempolicy", "shmat", "shmdt",
    ]),
    ("signal", &[
        "kill", "pause", "pidfd_send_signal", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
        "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo",
        "sigaltstack", "signalfd", "signalfd4", "tgkill", "tkill",
    ]),
    ("ipc", &[
        "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "shmat",
        "shmctl", "shmdt", "shmget",
    ]),
    ("desc", &[
        "accept", "accept4", "bind", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
        "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2",
        "epoll_wait", "eventfd", "eventfd2", "faccessat", "faccessat2", "fadvise64", "fallocate",
        "fanotify_init", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchownat", "fcntl",
        "fdatasync", "fgetxattr", "flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat", "fstatfs",
        "fsync", "ftruncate", "futimesat", "getdents", "getdents64", "getpeername", "getsockname",
        "getsockopt", "inotify_add_watch", "inotify_init", "inotify_init1", "io_uring_enter",
        "io_uring_register", "ioctl", "linkat", "listen", "lseek", "memfd_create", "mkdirat", "mknodat",
        "mmap", "name_to_handle_at", "newfstatat", "open", "openat", "openat2", "pidfd_getfd",
        "pidfd_open", "pipe", "pipe2", "poll", "ppoll", "pread64", "preadv", "preadv2", "pselect6",
        "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlinkat", "readv", "recvfrom",
        "recvmmsg", "recvmsg", "renameat", "renameat2", "select", "sendfile", "sendmmsg", "sendmsg",
        "sendto", "setsockopt", "shutdown", "signalfd", "signalfd4", "socket", "socketpair", "splice",
        "statx", "symlinkat", "sync_file_range", "syncfs", "tee", "timerfd_create", "timerfd_gettime",
        "timerfd_settime", "unlinkat", "utimensat", "vmsplice", "write", "writev",
    ]),
];

const CLASS_NAMES: &[&str] = &["network", "net", "file", "process", "memory", "signal", "ipc", "desc"];

fn class_set(class: &str) -> Result<SyscallSet, FilterError> {
    let canonical = if class == "net" { "network" } else { class };
    let (_, names) = CLASSES
        .iter()
        .find(|(name, _)| *name == canonical)
        .ok_or_else(|| FilterError::UnknownClass(class.to_string()))?;
    let mut set = SyscallSet::empty();
    names.iter().filter_map(|name| table::number(name)).for_each(|nr| set.insert(nr));
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nr(name: &str) -> u32 {
        table::number(name).unwrap()
    }

    fn parse(exprs: &[&str]) -> Result<Option<SyscallSet>, FilterError> {
        parse_expressions(&exprs.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn class_lists_name_real_syscalls() {
        for (class, names) in CLASSES {
            for name in *names {
                assert!(table::known_on_any_arch(name), "%{class} lists unknown syscall {name}");
            }
        }
    }

    #[test]
    fn names_classes_and_negation() {
        let set = parse(&["trace=read,write"]).unwrap().unwrap();
        assert_eq!(set.len(), 2);
        assert!(set.contains(nr("read")) && set.contains(nr("write")));

        let bare = parse(&["read,write"]).unwrap().unwrap();
        assert!(bare == set);

        let net = parse(&["trace=%network"]).unwrap().unwrap();
        assert!(net.contains(nr("connect")) && net.contains(nr("accept4")) && !net.contains(nr("read")));
        assert!(parse(&["trace=%net"]).unwrap().unwrap() == net);

        let not_read = parse(&["trace=!read"]).unwrap().unwrap();
        assert!(!not_read.contains(nr("read")) && not_read.contains(nr("write")));

        let both = parse(&["trace=read", "trace=%network"]).unwrap().unwrap();
        assert!(both.contains(nr("read")) && both.contains(nr("connect")));
    }

    #[test]
    fn the_kernel_delivers_the_fd_lifecycle_with_io_calls() {
        let read = Selection::parse(&["trace=read".to_string()]).unwrap();
        let delivered = read.delivered(false).unwrap();
        assert!(delivered.contains(nr("read")) && delivered.contains(nr("openat")) && delivered.contains(nr("close")));
        let getppid = Selection::parse(&["trace=getppid".to_string()]).unwrap();
        assert_eq!(getppid.delivered(false).as_ref(), getppid.shown(), "no I/O selected, nothing added");
        assert!(read.shows(nr("read")) && !read.shows(nr("openat")));
        assert!(Selection::all().delivered(false).is_none() && Selection::all().shows(nr("openat")));
        let with_stacks = getppid.delivered(true).unwrap();
        assert!(with_stacks.contains(nr("execve")) && with_stacks.contains(nr("getppid")) && !getppid.shows(nr("execve")), "stacks: exec delivered, not shown");
        assert_eq!(Selection::parse_list(&["read", "/^write$"]).unwrap().shown().unwrap().len(), 2);
    }

    #[test]
    fn all_means_no_filter() {
        assert!(parse(&[]).unwrap().is_none());
        assert!(parse(&["trace=all"]).unwrap().is_none());
        assert!(parse(&["trace=none"]).unwrap().unwrap().is_empty());
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        assert_eq!(parse(&["trace=raed"]).unwrap_err(), FilterError::UnknownSyscall("raed".into()));
        assert_eq!(parse(&["trace=%netwrk"]).unwrap_err(), FilterError::UnknownClass("netwrk".into()));
        assert_eq!(parse(&["signal=SIGINT"]).unwrap_err(), FilterError::Qualifier("signal".into()));
        assert!(matches!(parse(&["trace=read,"]), Err(FilterError::Empty(_))));
    }

    #[test]
    fn regexes_and_optional_names_as_in_strace() {
        let set = parse_expressions(&["trace=/^open".to_string()]).unwrap().unwrap();
        assert!(set.contains(nr("openat")) && set.contains(nr("open_tree")) && !set.contains(nr("read")));
        let set = parse_expressions(&["trace=?nosuchcall,read".to_string()]).unwrap().unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), [nr("read")]);
        assert!(matches!(parse_expressions(&["trace=/(".to_string()]), Err(FilterError::Regex(..))));
        assert!(matches!(parse_expressions(&["trace=/^zzz".to_string()]), Err(FilterError::NoMatch(_))));
        assert!(parse_expressions(&["trace=?/^zzz,write".to_string()]).is_ok());
        assert!(matches!(parse_expressions(&["trace=?%nosuch".to_string()]), Ok(Some(_))));
    }
}
