//! Which user-memory argument of a syscall the kernel copies for a slow call's line: the path
//! of open/stat/exec-family calls, the socket address of connect/bind/accept-family calls.
use super::table;

/// The one user-memory argument the kernel copies for a slow call, by syscall name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserArg {
    None,
    /// A NUL-terminated path in argument `arg` (0-based).
    Path { arg: u8 },
    /// A struct sockaddr at argument `addr`, `len` bytes long where `len` is argument `len` itself
    /// (connect, bind, sendto) or, with `len_is_ptr`, the socklen_t that argument points to, filled in by the
    /// call (accept, accept4, recvfrom, getpeername, getsockname).
    Sockaddr { addr: u8, len: u8, len_is_ptr: bool },
}

/// Calls whose path is their first argument. Of two paths (rename, link, symlink, pivot_root) the
/// first, the source, is the one copied.
const PATH_ARG0: &[&str] = &[
    "open", "creat", "stat", "lstat", "access", "execve", "readlink", "unlink", "mkdir", "rmdir", "chdir", "chroot",
    "rename", "truncate", "chmod", "chown", "lchown", "link", "symlink", "symlinkat", "mknod", "utimes", "utime",
    "statfs", "getxattr", "lgetxattr", "setxattr", "lsetxattr", "listxattr", "llistxattr", "removexattr",
    "lremovexattr", "umount2", "swapon", "swapoff", "acct", "pivot_root",
];

/// Calls whose path follows a directory fd (the *at family) or another leading argument.
const PATH_ARG1: &[&str] = &[
    "openat", "openat2", "newfstatat", "statx", "faccessat", "faccessat2", "execveat", "readlinkat", "unlinkat",
    "mkdirat", "renameat", "renameat2", "fchmodat", "fchmodat2", "fchownat", "linkat", "mknodat", "utimensat",
    "futimesat", "inotify_add_watch", "name_to_handle_at", "open_tree", "quotactl",
    // mount(source, target, ...): the source is often not a path ("proc", "tmpfs"), the target always is.
    "mount",
];

/// fanotify_mark(fd, flags, mask, dirfd, pathname).
const PATH_ARG4: &[&str] = &["fanotify_mark"];

/// The one user-memory argument the kernel copies for a slow call of syscall `name`.
pub fn user_arg(name: &str) -> UserArg {
    let path = |arg| UserArg::Path { arg };
    let sockaddr = |addr, len, len_is_ptr| UserArg::Sockaddr { addr, len, len_is_ptr };
    match name {
        "connect" | "bind" => sockaddr(1, 2, false),
        "sendto" => sockaddr(4, 5, false),
        "accept" | "accept4" | "getpeername" | "getsockname" => sockaddr(1, 2, true),
        "recvfrom" => sockaddr(4, 5, true),
        _ if PATH_ARG0.contains(&name) => path(0),
        _ if PATH_ARG1.contains(&name) => path(1),
        _ if PATH_ARG4.contains(&name) => path(4),
        _ => UserArg::None,
    }
}

/// Every syscall name `user_arg` knows, for validating the lists.
/// What each syscall's slow-call record copies from user memory, for the kernel.
pub fn slow_copy_table() -> Vec<(u32, u32)> {
    use tracer_common::slow::{SLOW_COPY_PATH, SLOW_COPY_SOCKADDR, SLOW_COPY_SOCKADDR_LEN_PTR};
    table::all()
        .filter_map(|nr| {
            let how = match user_arg(table::name(nr)?) {
                UserArg::None => return None,
                UserArg::Path { arg } => SLOW_COPY_PATH | u32::from(arg) << 4,
                UserArg::Sockaddr { addr, len, len_is_ptr } => {
                    let kind = if len_is_ptr { SLOW_COPY_SOCKADDR_LEN_PTR } else { SLOW_COPY_SOCKADDR };
                    kind | u32::from(addr) << 4 | u32::from(len) << 8
                }
            };
            Some((nr, how))
        })
        .collect()
}

#[cfg(test)]
fn all_names() -> impl Iterator<Item = &'static str> {
    const SOCKADDR: &[&str] = &["connect", "bind", "sendto", "accept", "accept4", "getpeername", "getsockname", "recvfrom"];
    PATH_ARG0.iter().chain(PATH_ARG1).chain(PATH_ARG4).chain(SOCKADDR).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::table::known_on_any_arch;

    #[test]
    fn paths() {
        assert_eq!(user_arg("open"), UserArg::Path { arg: 0 });
        assert_eq!(user_arg("openat"), UserArg::Path { arg: 1 });
        assert_eq!(user_arg("execve"), UserArg::Path { arg: 0 });
        assert_eq!(user_arg("execveat"), UserArg::Path { arg: 1 });
        assert_eq!(user_arg("newfstatat"), UserArg::Path { arg: 1 });
        assert_eq!(user_arg("renameat2"), UserArg::Path { arg: 1 });
        assert_eq!(user_arg("symlinkat"), UserArg::Path { arg: 0 });
        assert_eq!(user_arg("mount"), UserArg::Path { arg: 1 });
        assert_eq!(user_arg("fanotify_mark"), UserArg::Path { arg: 4 });
        assert_eq!(user_arg("quotactl"), UserArg::Path { arg: 1 });
    }

    #[test]
    fn sockaddrs() {
        assert_eq!(user_arg("connect"), UserArg::Sockaddr { addr: 1, len: 2, len_is_ptr: false });
        assert_eq!(user_arg("sendto"), UserArg::Sockaddr { addr: 4, len: 5, len_is_ptr: false });
        assert_eq!(user_arg("accept4"), UserArg::Sockaddr { addr: 1, len: 2, len_is_ptr: true });
        assert_eq!(user_arg("recvfrom"), UserArg::Sockaddr { addr: 4, len: 5, len_is_ptr: true });
        assert_eq!(user_arg("getsockname"), UserArg::Sockaddr { addr: 1, len: 2, len_is_ptr: true });
    }

    #[test]
    fn others_copy_nothing() {
        for name in ["read", "write", "close", "futex", "fstat", "sendmsg", "no_such_call", ""] {
            assert_eq!(user_arg(name), UserArg::None, "{name}");
        }
    }

    #[test]
    fn every_name_is_a_syscall() {
        for name in all_names() {
            assert!(known_on_any_arch(name), "{name} is not a syscall on x86_64 or aarch64");
        }
    }

    #[test]
    fn no_name_is_listed_twice() {
        let mut names: Vec<_> = all_names().collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn indexes_are_arguments() {
        for name in all_names() {
            match user_arg(name) {
                UserArg::Path { arg } => assert!(arg < 6),
                UserArg::Sockaddr { addr, len, .. } => assert!(addr < 6 && len < 6 && addr != len),
                UserArg::None => panic!("{name} copies nothing"),
            }
        }
    }
}
