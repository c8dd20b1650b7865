//! Each syscall's arguments and result, by name, from the argument registers and the one
//! argument the kernel copied.
use super::{arity::arg_count, tables::*, values::*, CallView, Table};
use crate::syscalls::args::{user_arg, UserArg};

/// One call being formatted.
pub(super) struct Call<'a> {
    pub(super) v: &'a CallView<'a>,
    pub(super) describe_fd: &'a dyn Fn(i32) -> Option<String>,
}

impl Call<'_> {
    fn a(&self, i: usize) -> u64 {
        self.v.args[i]
    }

    fn failed(&self) -> bool {
        (-MAX_ERRNO..0).contains(&self.v.ret)
    }

    fn fd_number(&self, fd: i32) -> String {
        match (fd >= 0).then(|| (self.describe_fd)(fd)).flatten() {
            Some(description) => format!("{fd}<{}>", escape(&description)),
            None => fd.to_string(),
        }
    }

    /// An fd argument, strace -y style.
    fn fd(&self, i: usize) -> String {
        self.fd_number(self.a(i) as i32)
    }

    /// The directory fd of an *at call.
    fn dirfd(&self, i: usize) -> String {
        let fd = self.a(i) as i32;
        if fd == libc::AT_FDCWD { "AT_FDCWD".to_string() } else { self.fd_number(fd) }
    }

    /// A path argument: the copied string when this is the argument the kernel copied, else its pointer.
    fn path(&self, i: usize) -> String {
        let pointer = self.a(i);
        match (user_arg(self.v.name), self.v.path) {
            (UserArg::Path { arg }, Some(raw)) if pointer != 0 && usize::from(arg) == i => quoted_path(raw),
            _ => addr(pointer),
        }
    }

    fn ptr(&self, i: usize) -> String {
        addr(self.a(i))
    }

    fn hex(&self, i: usize) -> String {
        hex(self.a(i))
    }

    /// Unsigned decimal (size_t and unsigned long arguments).
    fn u(&self, i: usize) -> String {
        self.a(i).to_string()
    }

    /// Signed decimal (off_t and long arguments).
    fn d(&self, i: usize) -> String {
        (self.a(i) as i64).to_string()
    }

    fn int(&self, i: usize) -> String {
        (self.a(i) as i32).to_string()
    }

    fn uint(&self, i: usize) -> String {
        (self.a(i) as u32).to_string()
    }

    /// A permission mode (umode_t).
    fn mode(&self, i: usize) -> String {
        octal(self.a(i) as u16 as u64)
    }

    fn sig(&self, i: usize) -> String {
        signal(self.a(i) as i32)
    }

    /// A uid or gid: -1 (unchanged) shows as -1.
    fn id(&self, i: usize) -> String {
        let id = self.a(i) as u32;
        if id == u32::MAX { "-1".to_string() } else { id.to_string() }
    }

    fn flags(&self, i: usize, table: Table, unknown: &str) -> String {
        flags(table, self.a(i), unknown)
    }

    /// A socket address argument `i` of `len` bytes (connect, bind, sendto): the copied address, or the
    /// pointer when it is too short to hold a family or was not copied.
    fn sockaddr_in(&self, i: usize, len: i32) -> String {
        match self.v.addr {
            Some(b) if len >= 2 && self.a(i) != 0 => {
                let b = &b[..b.len().min(len as usize)];
                if b.len() >= 2 { sockaddr(b) } else { self.ptr(i) }
            }
            _ => self.ptr(i),
        }
    }

    /// A socket address the call filled in at argument `i`, with its length pointer at `i + 1`
    /// (accept, recvfrom, getsockname): `{...}, [16]` after success, the pointers otherwise.
    fn sockaddr_out(&self, i: usize) -> [String; 2] {
        let (pointer, len_pointer) = (self.a(i), self.a(i + 1));
        match self.v.addr {
            Some(b) if pointer != 0 && len_pointer != 0 && !self.failed() => {
                let shown = if b.len() >= 2 { sockaddr(b) } else { addr(pointer) };
                [shown, format!("[{}]", b.len())]
            }
            _ => [addr(pointer), addr(len_pointer)],
        }
    }

    pub(super) fn args(&self) -> Vec<String> {
        let name = self.v.name;
        match name {
            "read" | "write" => vec![self.fd(0), self.u(2)],
            "pread64" | "pwrite64" | "preadv" | "pwritev" => vec![self.fd(0), self.u(2), self.d(3)],
            "readv" | "writev" => vec![self.fd(0), self.u(2)],
            "preadv2" | "pwritev2" => vec![self.fd(0), self.u(2), self.d(3), self.flags(5, RWF_FLAGS, "RWF_???")],
            "sendfile" => vec![self.fd(0), self.fd(1), self.ptr(2), self.u(3)],
            "splice" => {
                vec![self.fd(0), self.ptr(1), self.fd(2), self.ptr(3), self.u(4), self.flags(5, SPLICE_FLAGS, "SPLICE_F_???")]
            }
            "tee" => vec![self.fd(0), self.fd(1), self.u(2), self.flags(3, SPLICE_FLAGS, "SPLICE_F_???")],
            "vmsplice" => vec![self.fd(0), self.ptr(1), self.u(2), self.flags(3, SPLICE_FLAGS, "SPLICE_F_???")],
            "copy_file_range" => vec![self.fd(0), self.ptr(1), self.fd(2), self.ptr(3), self.u(4), self.uint(5)],

            "recvfrom" => {
                let [address, len] = self.sockaddr_out(4);
                vec![self.fd(0), self.u(2), self.flags(3, MSG_FLAGS, "MSG_???"), address, len]
            }
            "sendto" => {
                let len = self.a(5) as i32;
                vec![self.fd(0), self.u(2), self.flags(3, MSG_FLAGS, "MSG_???"), self.sockaddr_in(4, len), len.to_string()]
            }
            "sendmsg" | "recvmsg" => vec![self.fd(0), self.ptr(1), self.flags(2, MSG_FLAGS, "MSG_???")],
            "sendmmsg" => vec![self.fd(0), self.ptr(1), self.uint(2), self.flags(3, MSG_FLAGS, "MSG_???")],
            "recvmmsg" => vec![self.fd(0), self.ptr(1), self.uint(2), self.flags(3, MSG_FLAGS, "MSG_???"), self.ptr(4)],
            "socket" => vec![xname(&ADDRESS_FAMILIES, self.a(0), "AF_???"), self.socket_type(1), self.socket_protocol()],
            "socketpair" => vec![xname(&ADDRESS_FAMILIES, self.a(0), "AF_???"), self.socket_type(1), self.u(2), self.ptr(3)],
            "connect" | "bind" => {
                let len = self.a(2) as i32;
                vec![self.fd(0), self.sockaddr_in(1, len), len.to_string()]
            }
            "accept" | "getsockname" | "getpeername" => {
                let [address, len] = self.sockaddr_out(1);
                vec![self.fd(0), address, len]
            }
            "accept4" => {
                let [address, len] = self.sockaddr_out(1);
                vec![self.fd(0), address, len, self.flags(3, SOCK_FLAGS, "SOCK_???")]
            }
            "listen" => vec![self.fd(0), self.int(1)],
            "shutdown" => vec![self.fd(0), xval(SHUTDOWN_HOW, self.a(1), "SHUT_???")],
            "setsockopt" | "getsockopt" => {
                let level = self.a(1) as u32 as u64;
                let set = name == "setsockopt";
                let last = if set { self.int(4) } else { self.ptr(4) };
                let option = socket_option(level, self.a(2) as u32 as u64, set);
                vec![self.fd(0), xval(SOCKET_LEVELS, level, "SOL_??"), option, self.ptr(3), last]
            }

            "open" => self.open(0),
            "openat" => [vec![self.dirfd(0)], self.open(1)].concat(),
            "openat2" => vec![self.dirfd(0), self.path(1), self.ptr(2), self.u(3)],
            "creat" => vec![self.path(0), self.mode(1)],
            "close" | "fsync" | "fdatasync" | "syncfs" | "fchdir" | "dup" => vec![self.fd(0)],
            "dup2" => vec![self.fd(0), self.fd(1)],
            "dup3" => vec![self.fd(0), self.fd(1), flags(OPEN_FLAGS, self.a(2), "O_???")],
            "stat" | "lstat" | "statfs" | "utimes" | "utime" => vec![self.path(0), self.ptr(1)],
            "fstat" | "fstatfs" => vec![self.fd(0), self.ptr(1)],
            "newfstatat" => vec![self.dirfd(0), self.path(1), self.ptr(2), self.flags(3, AT_FLAGS, "AT_???")],
            "statx" => {
                let mask = flags(STATX_MASKS, self.a(3) as u32 as u64, "STATX_???");
                vec![self.dirfd(0), self.path(1), statx_flags(self.a(2)), mask, self.ptr(4)]
            }
            "access" => vec![self.path(0), self.flags(1, ACCESS_MODES, "?_OK")],
            "faccessat" => vec![self.dirfd(0), self.path(1), self.flags(2, ACCESS_MODES, "?_OK")],
            "faccessat2" => {
                vec![self.dirfd(0), self.path(1), self.flags(2, ACCESS_MODES, "?_OK"), self.flags(3, FACCESSAT_FLAGS, "AT_???")]
            }
            "execve" => vec![self.path(0), self.ptr(1), self.ptr(2)],
            "execveat" => vec![self.dirfd(0), self.path(1), self.ptr(2), self.ptr(3), self.flags(4, EXECVEAT_FLAGS, "AT_???")],
            "readlink" => vec![self.path(0), self.ptr(1), self.u(2)],
            "readlinkat" => vec![self.dirfd(0), self.path(1), self.ptr(2), self.u(3)],
            "unlink" | "rmdir" | "chdir" | "chroot" | "acct" | "swapoff" => vec![self.path(0)],
            "unlinkat" => vec![self.dirfd(0), self.path(1), self.flags(2, AT_FLAGS, "AT_???")],
            "mkdir" | "chmod" => vec![self.path(0), self.mode(1)],
            "mkdirat" | "fchmodat" => vec![self.dirfd(0), self.path(1), self.mode(2)],
            "fchmodat2" => vec![self.dirfd(0), self.path(1), self.mode(2), self.flags(3, FCHMODAT_FLAGS, "AT_???")],
            "fchmod" => vec![self.fd(0), self.mode(1)],
            "rename" | "link" | "symlink" | "pivot_root" => vec![self.path(0), self.path(1)],
            "renameat" => vec![self.dirfd(0), self.path(1), self.dirfd(2), self.path(3)],
            "renameat2" => {
                vec![self.dirfd(0), self.path(1), self.dirfd(2), self.path(3), self.flags(4, RENAME_FLAGS, "RENAME_???")]
            }
            "linkat" => vec![self.dirfd(0), self.path(1), self.dirfd(2), self.path(3), self.flags(4, AT_FLAGS, "AT_???")],
            "symlinkat" => vec![self.path(0), self.dirfd(1), self.path(2)],
            "truncate" => vec![self.path(0), self.u(1)],
            "ftruncate" => vec![self.fd(0), self.u(1)],
            "chown" | "lchown" => vec![self.path(0), self.id(1), self.id(2)],
            "fchown" => vec![self.fd(0), self.id(1), self.id(2)],
            "fchownat" => vec![self.dirfd(0), self.path(1), self.id(2), self.id(3), self.flags(4, AT_FLAGS, "AT_???")],
            "mknod" => self.mknod(0),
            "mknodat" => [vec![self.dirfd(0)], self.mknod(1)].concat(),
            "utimensat" => vec![self.dirfd(0), self.path(1), self.ptr(2), self.flags(3, AT_FLAGS, "AT_???")],
            "name_to_handle_at" => {
                vec![self.dirfd(0), self.path(1), self.ptr(2), self.ptr(3), self.flags(4, HANDLE_FLAGS, "AT_???")]
            }
            "futimesat" => vec![self.dirfd(0), self.path(1), self.ptr(2)],
            "getxattr" | "lgetxattr" => vec![self.path(0), self.ptr(1), self.ptr(2), self.u(3)],
            "setxattr" | "lsetxattr" => {
                vec![self.path(0), self.ptr(1), self.ptr(2), self.u(3), self.flags(4, XATTR_FLAGS, "XATTR_???")]
            }
            "listxattr" | "llistxattr" => vec![self.path(0), self.ptr(1), self.u(2)],
            "removexattr" | "lremovexattr" => vec![self.path(0), self.ptr(1)],
            "inotify_add_watch" => vec![self.fd(0), self.path(1), flags(INOTIFY_FLAGS, self.a(2) as u32 as u64, "IN_???")],
            "inotify_init1" => vec![self.flags(0, INOTIFY_INIT_FLAGS, "IN_???")],
            "umount2" => vec![self.path(0), self.flags(1, UMOUNT_FLAGS, "MNT_???")],
            "mount" => vec![self.path(0), self.path(1), self.ptr(2), mount_flags(self.a(3)), self.ptr(4)],
            "swapon" => vec![self.path(0), swap_flags(self.a(1))],
            "quotactl" => self.quotactl(),
            "fanotify_mark" => {
                let dirfd = if self.a(3) as i32 == -1 { "FAN_NOFD".to_string() } else { self.dirfd(3) };
                let (flags, mask) = (self.flags(1, FAN_MARK_FLAGS, "FAN_MARK_???"), self.flags(2, FAN_EVENTS, "FAN_???"));
                vec![self.fd(0), flags, mask, dirfd, self.path(4)]
            }
            "getcwd" => vec![self.ptr(0), self.u(1)],
            "getdents" | "getdents64" => vec![self.fd(0), self.ptr(1), self.uint(2)],
            "umask" => vec![self.mode(0)],
            "flock" => vec![self.fd(0), self.flags(1, FLOCK_OPS, "LOCK_???")],
            "lseek" => vec![self.fd(0), self.d(1), xval(SEEK_WHENCE, self.a(2), "SEEK_???")],
            "fcntl" => self.fcntl(),
            "ioctl" => vec![self.fd(0), ioctl_request(self.a(1) as u32), self.hex(2)],

            "mmap" => vec![
                self.ptr(0),
                self.u(1),
                self.flags(2, PROT_FLAGS, "PROT_???"),
                mmap_flags(self.a(3)),
                self.fd(4),
                self.hex(5),
            ],
            "munmap" | "mlock" | "munlock" => vec![self.ptr(0), self.u(1)],
            "mprotect" => vec![self.ptr(0), self.u(1), self.flags(2, PROT_FLAGS, "PROT_???")],
            "pkey_mprotect" => vec![self.ptr(0), self.u(1), self.flags(2, PROT_FLAGS, "PROT_???"), self.int(3)],
            "madvise" => vec![self.ptr(0), self.u(1), xval(MADVISE, self.a(2) as u32 as u64, "MADV_???")],
            "mremap" => {
                let mut args = vec![self.ptr(0), self.u(1), self.u(2), self.flags(3, MREMAP_FLAGS, "MREMAP_???")];
                // The new address matters only with MREMAP_FIXED or MREMAP_DONTUNMAP, which need MREMAP_MAYMOVE.
                if self.a(3) & 6 != 0 && self.a(3) & 1 != 0 {
                    args.push(self.ptr(4));
                }
                args
            }
            "msync" => vec![self.ptr(0), self.u(1), self.flags(2, MSYNC_FLAGS, "MS_???")],
            "brk" | "set_tid_address" => vec![self.ptr(0)],
            "set_robust_list" => vec![self.ptr(0), self.u(1)],
            "getrandom" => vec![self.ptr(0), self.u(1), self.flags(2, GRND_FLAGS, "GRND_???")],
            "pipe" => vec![self.ptr(0)],
            "pipe2" => vec![self.ptr(0), self.flags(1, OPEN_FLAGS, "O_???")],
            "eventfd" => vec![self.uint(0)],
            "eventfd2" => vec![self.uint(0), self.flags(1, EFD_FLAGS, "EFD_???")],

            "futex" => self.futex(),
            "epoll_create" => vec![self.int(0)],
            "epoll_create1" => vec![self.flags(0, EPOLL_FLAGS, "EPOLL_???")],
            "epoll_ctl" => {
                vec![self.fd(0), xval(EPOLL_CTL_OPS, self.a(1) as u32 as u64, "EPOLL_CTL_???"), self.fd(2), self.ptr(3)]
            }
            "epoll_wait" => vec![self.fd(0), self.ptr(1), self.int(2), self.int(3)],
            "epoll_pwait" => vec![self.fd(0), self.ptr(1), self.int(2), self.int(3), self.ptr(4), self.u(5)],
            "epoll_pwait2" => vec![self.fd(0), self.ptr(1), self.int(2), self.ptr(3), self.ptr(4), self.u(5)],
            "poll" => vec![self.ptr(0), self.uint(1), self.int(2)],
            "ppoll" => vec![self.ptr(0), self.uint(1), self.ptr(2), self.ptr(3), self.u(4)],
            "select" => vec![self.int(0), self.ptr(1), self.ptr(2), self.ptr(3), self.ptr(4)],
            "pselect6" => vec![self.int(0), self.ptr(1), self.ptr(2), self.ptr(3), self.ptr(4), self.ptr(5)],
            "nanosleep" => vec![self.ptr(0), self.ptr(1)],
            "clock_nanosleep" => vec![clock(self.a(0)), self.flags(1, CLOCK_FLAGS, "TIMER_???"), self.ptr(2), self.ptr(3)],
            "clock_gettime" | "clock_settime" | "clock_getres" => vec![clock(self.a(0)), self.ptr(1)],
            "timerfd_create" => vec![clock(self.a(0)), self.flags(1, TIMERFD_FLAGS, "TFD_???")],

            "kill" | "tkill" => vec![self.int(0), self.sig(1)],
            "tgkill" => vec![self.int(0), self.int(1), self.sig(2)],
            "rt_sigaction" => vec![self.sig(0), self.ptr(1), self.ptr(2), self.u(3)],
            "rt_sigprocmask" => vec![xval(SIG_HOW, self.a(0), "SIG_???"), self.ptr(1), self.ptr(2), self.u(3)],
            "rt_sigtimedwait" => vec![self.ptr(0), self.ptr(1), self.ptr(2), self.u(3)],
            "rt_sigsuspend" | "rt_sigpending" => vec![self.ptr(0), self.u(1)],
            "rt_sigqueueinfo" => vec![self.int(0), self.sig(1), self.ptr(2)],
            "rt_tgsigqueueinfo" => vec![self.int(0), self.int(1), self.sig(2), self.ptr(3)],
            "sigaltstack" => vec![self.ptr(0), self.ptr(1)],
            "alarm" => vec![self.uint(0)],
            "wait4" => vec![self.int(0), self.ptr(1), self.flags(2, WAIT_OPTIONS, "W???"), self.ptr(3)],
            "waitid" => {
                let idtype = self.a(0) as u32 as u64;
                let id = if idtype == 3 { self.fd(1) } else { self.int(1) };
                vec![xval(WAITID_TYPES, idtype, "P_???"), id, self.ptr(2), self.flags(3, WAIT_OPTIONS, "W???"), self.ptr(4)]
            }
            "clone" => self.clone(),
            "clone3" => vec![self.ptr(0), self.u(1)],
            "exit" | "exit_group" => vec![self.int(0)],
            "setuid" | "setgid" | "setfsuid" | "setfsgid" => vec![self.id(0)],
            "sched_getaffinity" | "sched_setaffinity" => vec![self.int(0), self.uint(1), self.ptr(2)],
            "prctl" => self.prctl(),
            "arch_prctl" => {
                let code = self.a(0) as u32 as u64;
                let arg = match code {
                    0x1003 | 0x1004 => Some(self.ptr(1)),
                    0x1011 => None,
                    _ => Some(self.hex(1)),
                };
                [vec![xval(ARCH_PRCTL_CODES, code, "ARCH_???")], arg.into_iter().collect()].concat()
            }
            "io_uring_setup" => vec![self.uint(0), self.ptr(1)],
            "io_uring_enter" => {
                let enter = self.a(3) as u32;
                // Arguments 4 and 5 are a sigset, unless an extended argument or a registered wait region replaces it.
                let extra = if enter & IORING_ENTER_EXT_ARG_REG != 0 && enter & IORING_ENTER_EXT_ARG == 0 {
                    self.u(4)
                } else {
                    self.ptr(4)
                };
                let shown = flags(URING_ENTER_FLAGS, enter as u64, "IORING_ENTER_???");
                vec![self.fd(0), self.uint(1), self.uint(2), shown, extra, self.u(5)]
            }
            _ => self.raw(),
        }
    }

    /// open/openat from the path on: the mode only when the call may create a file.
    fn open(&self, path: usize) -> Vec<String> {
        let open_flags_value = self.a(path + 1);
        let mut args = vec![self.path(path), open_flags(open_flags_value)];
        if open_flags_value & (libc::O_CREAT as u64 | O_TMPFILE_ONLY) != 0 {
            args.push(self.mode(path + 2));
        }
        args
    }

    /// mknod/mknodat from the path on: the device only for device files.
    fn mknod(&self, path: usize) -> Vec<String> {
        let mode = self.a(path + 1) as u16 as u64;
        let mut args = vec![self.path(path), symbolic_mode(mode)];
        let kind = mode & libc::S_IFMT as u64;
        if kind == libc::S_IFCHR as u64 || kind == libc::S_IFBLK as u64 {
            args.push(makedev(self.a(path + 2) as u32 as u64));
        }
        args
    }

    /// quotactl(QCMD(cmd, type), special, id, addr): what follows the device depends on the command.
    fn quotactl(&self) -> Vec<String> {
        let qcmd = self.a(0) as u32 as u64;
        let cmd = qcmd >> 8;
        let op = format!("QCMD({}, {})", xval(QUOTA_CMDS, cmd, "Q_???"), xval(QUOTA_TYPES, qcmd & 0xff, "???QUOTA"));
        let mut args = vec![op, self.path(1)];
        match lookup(QUOTA_CMDS, cmd) {
            Some("Q_SYNC" | "Q_QUOTAOFF" | "Q_XQUOTASYNC") => {}
            Some("Q_QUOTAON") => args.extend([xval(QUOTA_FORMATS, self.a(2) as u32 as u64, "QFMT_???"), self.ptr(3)]),
            // Only the address: of a struct, or of flags.
            Some("Q_GETFMT" | "Q_GETINFO" | "Q_SETINFO" | "Q_XGETQSTAT" | "Q_XGETQSTATV") => args.push(self.ptr(3)),
            Some("Q_XQUOTAON" | "Q_XQUOTAOFF" | "Q_XQUOTARM") => args.push(self.ptr(3)),
            _ => args.extend([self.id(2), self.ptr(3)]),
        }
        args
    }

    fn socket_type(&self, i: usize) -> String {
        let value = self.a(i) as u32 as u64;
        match lookup(SOCK_TYPES, value & 0xf) {
            Some(kind) if value & !0xf == 0 => kind.to_string(),
            Some(kind) => format!("{kind}|{}", flags(SOCK_FLAGS, value & !0xf, "SOCK_???")),
            None => flags(SOCK_FLAGS, value, "SOCK_???"),
        }
    }

    fn socket_protocol(&self) -> String {
        let protocol = self.a(2);
        match self.a(0) {
            AF_INET | AF_INET6 => xval(IP_PROTOCOLS, protocol, "IPPROTO_???"),
            AF_NETLINK => xval(NETLINK_PROTOCOLS, protocol, "NETLINK_???"),
            AF_PACKET => format!("htons({})", xval(ETH_PROTOCOLS, (protocol as u16).swap_bytes() as u64, "ETH_P_???")),
            _ => protocol.to_string(),
        }
    }

    fn fcntl(&self) -> Vec<String> {
        let cmd = self.a(1) as u32 as u64;
        let mut args = vec![self.fd(0), xval(FCNTL_CMDS, cmd, "F_???")];
        let arg = match cmd {
            // F_GETFD, F_GETFL, F_GETOWN, F_GETSIG, F_GETLEASE, F_GETPIPE_SZ, F_GET_SEALS take nothing.
            1 | 3 | 9 | 11 | 1025 | 1032 | 1034 => None,
            2 => Some(self.flags(2, FD_FLAGS, "FD_???")),
            4 => Some(open_flags(self.a(2))),
            8 => Some(self.int(2)),
            10 => Some(self.sig(2)),
            0 | 1030 | 1031 => Some(self.d(2)),
            // The locks, owners and hints are structs.
            5..=7 | 15 | 16 | 36..=38 | 1035..=1038 => Some(self.ptr(2)),
            1024 => Some(xval(LEASE_TYPES, self.a(2), "F_???")),
            1026 => Some(self.flags(2, DN_FLAGS, "DN_???")),
            1027 => Some(self.fd(2)),
            1033 => Some(self.flags(2, SEALS, "F_SEAL_???")),
            _ => Some(self.hex(2)),
        };
        args.extend(arg);
        args
    }

    fn futex(&self) -> Vec<String> {
        let op = self.a(1) as u32;
        let cmd = op & 127;
        let (val, val2, val3) = (self.uint(2), (self.a(3) as u32).to_string(), self.a(5) as u32);
        let bitset = || if val3 == u32::MAX { "FUTEX_BITSET_MATCH_ANY".to_string() } else { hex(val3 as u64) };
        let rest = match cmd {
            0 => vec![val, self.ptr(3)],
            6 | 13 => vec![self.ptr(3)],
            9 => vec![val, self.ptr(3), bitset()],
            10 => vec![val, bitset()],
            3 => vec![val, val2, self.ptr(4)],
            4 | 12 => vec![val, val2, self.ptr(4), val3.to_string()],
            5 => vec![val, val2, self.ptr(4), futex_wake_op(val3)],
            11 => vec![val, self.ptr(3), self.ptr(4)],
            1 | 2 => vec![val],
            7 | 8 => vec![],
            _ => vec![val, self.ptr(3), self.ptr(4), hex(val3 as u64)],
        };
        [vec![self.ptr(0), futex_op(op)], rest].concat()
    }

    fn clone(&self) -> Vec<String> {
        let raw = self.a(0);
        let (clone_flags, sig) = (raw & !0xff, (raw & 0xff) as i32);
        let shown = match (clone_flags, sig) {
            (0, _) => signal(sig),
            (_, 0) => flags(CLONE_FLAGS, clone_flags, "CLONE_???"),
            _ => format!("{}|{}", flags(CLONE_FLAGS, clone_flags, "CLONE_???"), signal(sig)),
        };
        let mut args = vec![format!("child_stack={}", self.ptr(1)), format!("flags={shown}")];
        let has = |flag: i32| clone_flags & flag as u32 as u64 != 0;
        // strace names these and shows each only with the flag that makes the kernel use it.
        if has(libc::CLONE_PARENT_SETTID) || has(libc::CLONE_PIDFD) {
            args.push(format!("parent_tid={}", self.ptr(2)));
        }
        if has(libc::CLONE_SETTLS) {
            args.push(format!("tls={}", self.ptr(CLONE_ARG_TLS)));
        }
        if has(libc::CLONE_CHILD_SETTID) || has(libc::CLONE_CHILD_CLEARTID) {
            args.push(format!("child_tidptr={}", self.ptr(CLONE_ARG_CTID)));
        }
        args
    }

    fn prctl(&self) -> Vec<String> {
        let option = self.a(0) as u32 as u64;
        let mut args = vec![xval(PR_OPTIONS, option, "PR_???")];
        let hex_from = |first: usize| (first..5).map(|i| self.hex(i)).collect::<Vec<_>>();
        match option {
            // No arguments: PR_GET_DUMPABLE, PR_GET_KEEPCAPS, PR_GET_TIMING, PR_GET_SECCOMP, PR_GET_SECUREBITS,
            // PR_GET_TIMERSLACK, PR_TASK_PERF_EVENTS_*, PR_GET_FP_MODE.
            3 | 7 | 13 | 21 | 27 | 30 | 31 | 32 | 46 => {}
            // A pointer the call writes through: PR_GET_PDEATHSIG, PR_GET_UNALIGN, PR_GET_NAME, PR_GET_TSC,
            // PR_GET_TID_ADDRESS, PR_GET_FPEMU, PR_GET_FPEXC, PR_GET_ENDIAN, PR_GET_CHILD_SUBREAPER; and
            // PR_SET_NAME's string.
            2 | 5 | 16 | 25 | 40 | 9 | 11 | 19 | 37 | 15 => args.push(self.ptr(1)),
            1 => args.push(if self.a(1) > 128 { self.u(1) } else { self.sig(1) }),
            6 => args.push(self.flags(1, PR_UNALIGN, "PR_UNALIGN_???")),
            26 => args.push(xval(PR_TSC, self.a(1) as u32 as u64, "PR_TSC_???")),
            23 | 24 => args.push(xname(&CAPABILITIES, self.a(1), "CAP_???")),
            22 => {
                args.push(xval(SECCOMP_MODES, self.a(1), "SECCOMP_MODE_???"));
                match self.a(1) {
                    1 => {}
                    2 => args.push(self.ptr(2)),
                    _ => args.extend(hex_from(2)),
                }
            }
            // PR_SET_VMA: only PR_SET_VMA_ANON_NAME (0) exists, with an address range and a name.
            0x53564d41 if self.a(1) == 0 => {
                args.extend(["PR_SET_VMA_ANON_NAME".to_string(), self.ptr(2), self.u(3), self.ptr(4)])
            }
            0x53564d41 => {
                args.push(format!("{} /* PR_SET_VMA_??? */", self.hex(1)));
                args.extend(hex_from(2));
            }
            0x59616d61 => args.push(if self.a(1) as i32 == -1 { "PR_SET_PTRACER_ANY".to_string() } else { self.int(1) }),
            4 => args.push(xval(SUID_DUMP, self.a(1), "SUID_DUMP_???")),
            8 | 10 | 12 | 14 | 20 | 36 => args.push(self.u(1)),
            29 => args.push(self.d(1)),
            // PR_SET_NO_NEW_PRIVS, PR_SET_THP_DISABLE, PR_SET_IO_FLUSHER: a value, then the unused rest.
            38 | 41 | 57 => {
                args.push(self.u(1));
                args.extend(hex_from(2));
            }
            _ => args.extend(hex_from(1)),
        }
        args
    }

    /// A call without its own format: its arguments in hex, as strace prints calls it does not decode,
    /// with the copied path in its place.
    fn raw(&self) -> Vec<String> {
        let path = match (user_arg(self.v.name), self.v.path) {
            (UserArg::Path { arg }, Some(_)) => Some(usize::from(arg)),
            _ => None,
        };
        (0..arg_count(self.v.name).unwrap_or(6)).map(|i| if Some(i) == path { self.path(i) } else { self.hex(i) }).collect()
    }

    pub(super) fn result(&self) -> String {
        let ret = self.v.ret;
        let name = self.v.name;
        if matches!(name, "exit" | "exit_group") {
            // They do not return; strace prints `= ?` when the thread is gone.
            return "?".to_string();
        }
        if self.failed() {
            return error(-ret as i32);
        }
        match name {
            "mmap" | "mremap" | "brk" | "shmat" => hex(ret as u64),
            "poll" | "ppoll" | "select" | "pselect6" if ret == 0 => "0 (Timeout)".to_string(),
            "rt_sigtimedwait" if ret > 0 => match signal_name(ret as i32) {
                Some(sig) => format!("{ret} ({sig})"),
                None => ret.to_string(),
            },
            "umask" => octal(ret as u64),
            "fcntl" => match self.a(1) as u32 {
                1 if ret != 0 => format!("{} (flags {})", hex(ret as u64), flags_with(FD_FLAGS, ret as u64, None)),
                3 => format!("{} (flags {})", hex(ret as u64), open_flags(ret as u64)),
                1025 => match lookup(LEASE_TYPES, ret as u64) {
                    Some(lease) => format!("{} ({lease})", hex(ret as u64)),
                    None => hex(ret as u64),
                },
                1034 if ret != 0 => format!("{} (seals {})", hex(ret as u64), flags_with(SEALS, ret as u64, None)),
                11 if ret != 0 => match signal_name(ret as i32) {
                    Some(sig) => format!("{ret} ({sig})"),
                    None => ret.to_string(),
                },
                _ => ret.to_string(),
            },
            "prctl" if self.a(0) as u32 == 3 => match lookup(SUID_DUMP, ret as u64) {
                Some(dumpable) => format!("{ret} ({dumpable})"),
                None => ret.to_string(),
            },
            _ => ret.to_string(),
        }
    }
}

