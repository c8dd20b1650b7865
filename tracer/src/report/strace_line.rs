//! One slow call in strace's shape: `read(7<pipe>, 4096) = 1`.
//!
//! The conventions are strace 6's own (its decoders and xlat tables): flags by name in the kernel
//! header's order with unknown bits in hex, pointers as `0x...` or `NULL`, modes in octal, strings
//! C-escaped. Only the argument registers, the return value and one copied argument (a path or a
//! socket address, see [`user_arg`]) are known, so whatever strace reads from the tracee's memory
//! (buffers, structs, arrays) is shown as its pointer, and buffer arguments of the read/write
//! family are left out. Values that differ between x86_64 and aarch64 come from libc (or a cfg where
//! libc has none); the other tables are the kernel's uapi values, the same on both.
use std::{ffi::CStr, fmt::Write};

use tracer_common::SLOW_USER_BYTES;

use crate::kernel::{
    syscall_args::{user_arg, UserArg},
    syscall_table::errno_name,
};

/// What is known of one finished call.
pub struct CallView<'a> {
    pub name: &'a str,
    pub args: [u64; 6],
    pub ret: i64,
    /// The path argument the kernel copied (UserArg::Path), up to its NUL if it has one; its bytes
    /// are escaped as strace escapes them (octal for non-ASCII), not decoded.
    pub path: Option<&'a [u8]>,
    /// The socket address the kernel copied (UserArg::Sockaddr): the argument of connect/bind/sendto,
    /// the result of accept/recvfrom/getpeername.
    pub addr: Option<&'a [u8]>,
}

/// `name(args) = result`, as strace prints it (without its -T duration, which the caller appends).
/// `describe_fd(fd)` names what an fd is ("pipe", "socket 10.0.0.2:5432", "/etc/passwd"), strace -y style:
/// an fd argument is printed `7<pipe>` when it returns Some, `7` otherwise. Fds returned by open/socket/accept
/// are printed plain.
pub fn format_call(view: &CallView, describe_fd: &dyn Fn(i32) -> Option<String>) -> String {
    let call = Call { v: view, describe_fd };
    format!("{}({}) = {}", view.name, call.args().join(", "), call.result())
}

/// A flag or value table: (bits, name), in strace's order, which decides how overlapping bits print.
type Table = &'static [(u64, &'static str)];

/// `(libc::X, "X")` table rows; `as u32` first so that a 32-bit flag with its top bit set (CLONE_IO) does
/// not sign-extend.
macro_rules! libc_rows {
    ($($name:ident),* $(,)?) => { &[$((libc::$name as u32 as u64, stringify!($name))),*] };
}

/// The kernel's O_LARGEFILE, which libc defines as 0 on 64-bit targets: the kernel sets it on the files a
/// 64-bit process opens, and F_GETFL shows it.
#[cfg(target_arch = "x86_64")]
const O_LARGEFILE_KERNEL: u64 = 0o100000;
#[cfg(target_arch = "aarch64")]
const O_LARGEFILE_KERNEL: u64 = 0o400000;

const O_ACCESS_MODES: [&str; 4] = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"];
const O_SYNC_ONLY: u64 = (libc::O_SYNC & !libc::O_DSYNC) as u64;
const O_TMPFILE_ONLY: u64 = (libc::O_TMPFILE & !libc::O_DIRECTORY) as u64;
const OPEN_FLAGS: Table = &[
    (libc::O_CREAT as u64, "O_CREAT"),
    (libc::O_EXCL as u64, "O_EXCL"),
    (libc::O_NOCTTY as u64, "O_NOCTTY"),
    (libc::O_TRUNC as u64, "O_TRUNC"),
    (libc::O_APPEND as u64, "O_APPEND"),
    (libc::O_NONBLOCK as u64, "O_NONBLOCK"),
    // O_SYNC includes O_DSYNC, so it comes first.
    (libc::O_SYNC as u64, "O_SYNC"),
    (O_SYNC_ONLY, "__O_SYNC"),
    (libc::O_DSYNC as u64, "O_DSYNC"),
    (libc::O_DIRECT as u64, "O_DIRECT"),
    (O_LARGEFILE_KERNEL, "O_LARGEFILE"),
    (libc::O_NOFOLLOW as u64, "O_NOFOLLOW"),
    (libc::O_NOATIME as u64, "O_NOATIME"),
    (libc::O_CLOEXEC as u64, "O_CLOEXEC"),
    (libc::O_PATH as u64, "O_PATH"),
    // O_TMPFILE includes O_DIRECTORY, so it comes first.
    (libc::O_TMPFILE as u64, "O_TMPFILE"),
    (O_TMPFILE_ONLY, "__O_TMPFILE"),
    (libc::O_DIRECTORY as u64, "O_DIRECTORY"),
    (libc::O_ASYNC as u64, "FASYNC"),
];

const AT_FLAGS: Table = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"), (0x400, "AT_SYMLINK_FOLLOW"), (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"), (0x8000, "AT_RECURSIVE"),
];
const FACCESSAT_FLAGS: Table = &[(0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_EACCESS"), (0x1000, "AT_EMPTY_PATH")];
const EXECVEAT_FLAGS: Table = &[(0x100, "AT_SYMLINK_NOFOLLOW"), (0x1000, "AT_EMPTY_PATH"), (0x10000, "AT_EXECVE_CHECK")];
const HANDLE_FLAGS: Table = &[
    (1, "AT_HANDLE_MNT_ID_UNIQUE"), (2, "AT_HANDLE_CONNECTABLE"), (0x200, "AT_HANDLE_FID"),
    (0x400, "AT_SYMLINK_FOLLOW"), (0x1000, "AT_EMPTY_PATH"),
];
const FCHMODAT_FLAGS: Table = &[(0x100, "AT_SYMLINK_NOFOLLOW"), (0x1000, "AT_EMPTY_PATH")];
const STATX_SYNC: Table = &[
    (0, "AT_STATX_SYNC_AS_STAT"), (0x2000, "AT_STATX_FORCE_SYNC"), (0x4000, "AT_STATX_DONT_SYNC"),
    (0x6000, "AT_STATX_SYNC_TYPE"),
];
const STATX_MASKS: Table = &[
    (0xfff, "STATX_ALL"), (0x7ff, "STATX_BASIC_STATS"), (0x1, "STATX_TYPE"), (0x2, "STATX_MODE"), (0x4, "STATX_NLINK"),
    (0x8, "STATX_UID"), (0x10, "STATX_GID"), (0x20, "STATX_ATIME"), (0x40, "STATX_MTIME"), (0x80, "STATX_CTIME"),
    (0x100, "STATX_INO"), (0x200, "STATX_SIZE"), (0x400, "STATX_BLOCKS"), (0x800, "STATX_BTIME"),
    (0x1000, "STATX_MNT_ID"), (0x2000, "STATX_DIOALIGN"), (0x4000, "STATX_MNT_ID_UNIQUE"), (0x8000, "STATX_SUBVOL"),
    (0x10000, "STATX_WRITE_ATOMIC"), (0x20000, "STATX_DIO_READ_ALIGN"),
];
const ACCESS_MODES: Table = &[(0, "F_OK"), (4, "R_OK"), (2, "W_OK"), (1, "X_OK")];
const RENAME_FLAGS: Table = &[(1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT")];
const UMOUNT_FLAGS: Table = &[(1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"), (8, "UMOUNT_NOFOLLOW")];
const XATTR_FLAGS: Table = &[(1, "XATTR_CREATE"), (2, "XATTR_REPLACE")];
const SWAP_FLAGS: Table = &[
    (0x8000, "SWAP_FLAG_PREFER"), (0x10000, "SWAP_FLAG_DISCARD"), (0x20000, "SWAP_FLAG_DISCARD_ONCE"),
    (0x40000, "SWAP_FLAG_DISCARD_PAGES"),
];
const MOUNT_FLAGS: Table = &[
    (1 << 0, "MS_RDONLY"), (1 << 1, "MS_NOSUID"), (1 << 2, "MS_NODEV"), (1 << 3, "MS_NOEXEC"),
    (1 << 4, "MS_SYNCHRONOUS"), (1 << 5, "MS_REMOUNT"), (1 << 6, "MS_MANDLOCK"), (1 << 7, "MS_DIRSYNC"),
    (1 << 8, "MS_NOSYMFOLLOW"), (1 << 10, "MS_NOATIME"), (1 << 11, "MS_NODIRATIME"), (1 << 12, "MS_BIND"),
    (1 << 13, "MS_MOVE"), (1 << 14, "MS_REC"), (1 << 15, "MS_SILENT"), (1 << 16, "MS_POSIXACL"),
    (1 << 17, "MS_UNBINDABLE"), (1 << 18, "MS_PRIVATE"), (1 << 19, "MS_SLAVE"), (1 << 20, "MS_SHARED"),
    (1 << 21, "MS_RELATIME"), (1 << 22, "MS_KERNMOUNT"), (1 << 23, "MS_I_VERSION"), (1 << 24, "MS_STRICTATIME"),
    (1 << 25, "MS_LAZYTIME"), (1 << 26, "MS_SUBMOUNT"), (1 << 27, "MS_NOREMOTELOCK"), (1 << 28, "MS_NOSEC"),
    (1 << 29, "MS_BORN"), (1 << 30, "MS_ACTIVE"), (1 << 31, "MS_NOUSER"),
];
const INOTIFY_FLAGS: Table = &[
    (0x1, "IN_ACCESS"), (0x2, "IN_MODIFY"), (0x4, "IN_ATTRIB"), (0x8, "IN_CLOSE_WRITE"), (0x10, "IN_CLOSE_NOWRITE"),
    (0x20, "IN_OPEN"), (0x40, "IN_MOVED_FROM"), (0x80, "IN_MOVED_TO"), (0x100, "IN_CREATE"), (0x200, "IN_DELETE"),
    (0x400, "IN_DELETE_SELF"), (0x800, "IN_MOVE_SELF"), (0x2000, "IN_UNMOUNT"), (0x4000, "IN_Q_OVERFLOW"),
    (0x8000, "IN_IGNORED"), (0x1000000, "IN_ONLYDIR"), (0x2000000, "IN_DONT_FOLLOW"), (0x4000000, "IN_EXCL_UNLINK"),
    (0x10000000, "IN_MASK_CREATE"), (0x20000000, "IN_MASK_ADD"), (0x40000000, "IN_ISDIR"), (0x80000000, "IN_ONESHOT"),
];
const INOTIFY_INIT_FLAGS: Table = libc_rows![IN_NONBLOCK, IN_CLOEXEC];
const FILE_TYPES: Table = libc_rows![S_IFREG, S_IFSOCK, S_IFIFO, S_IFLNK, S_IFDIR, S_IFBLK, S_IFCHR];

const PROT_FLAGS: Table = &[
    (0, "PROT_NONE"), (0x1, "PROT_READ"), (0x2, "PROT_WRITE"), (0x4, "PROT_EXEC"), (0x8, "PROT_SEM"),
    (0x01000000, "PROT_GROWSDOWN"), (0x02000000, "PROT_GROWSUP"),
];
#[cfg(target_arch = "x86_64")]
const MAP_X86: Table = &[(0x40, "MAP_32BIT"), (0x80, "MAP_ABOVE4G")];
#[cfg(not(target_arch = "x86_64"))]
const MAP_X86: Table = &[];
/// The mapping types, looked up as a value in the low bits.
const MAP_TYPES: Table =
    &[(0, "MAP_FILE"), (1, "MAP_SHARED"), (2, "MAP_PRIVATE"), (3, "MAP_SHARED_VALIDATE"), (8, "MAP_DROPPABLE")];
const MAP_FLAGS_LOW: Table = libc_rows![MAP_FIXED, MAP_ANONYMOUS];
const MAP_FLAGS_HIGH: Table = &[
    (libc::MAP_NORESERVE as u64, "MAP_NORESERVE"), (libc::MAP_POPULATE as u64, "MAP_POPULATE"),
    (libc::MAP_NONBLOCK as u64, "MAP_NONBLOCK"), (libc::MAP_GROWSDOWN as u64, "MAP_GROWSDOWN"),
    (libc::MAP_DENYWRITE as u64, "MAP_DENYWRITE"), (libc::MAP_EXECUTABLE as u64, "MAP_EXECUTABLE"),
    (libc::MAP_LOCKED as u64, "MAP_LOCKED"), (libc::MAP_STACK as u64, "MAP_STACK"),
    (libc::MAP_HUGETLB as u64, "MAP_HUGETLB"), (0x80000, "MAP_SYNC"), (0x4000000, "MAP_UNINITIALIZED"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
];
const MAP_HUGE_SHIFT: u64 = 26;
const MAP_HUGE_MASK: u64 = 0x3f << MAP_HUGE_SHIFT;
const MREMAP_FLAGS: Table = &[(1, "MREMAP_MAYMOVE"), (2, "MREMAP_FIXED"), (4, "MREMAP_DONTUNMAP")];
const MSYNC_FLAGS: Table = &[(4, "MS_SYNC"), (1, "MS_ASYNC"), (2, "MS_INVALIDATE")];
const MADVISE: Table = &[
    (0, "MADV_NORMAL"), (1, "MADV_RANDOM"), (2, "MADV_SEQUENTIAL"), (3, "MADV_WILLNEED"), (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"), (9, "MADV_REMOVE"), (10, "MADV_DONTFORK"), (11, "MADV_DOFORK"), (12, "MADV_MERGEABLE"),
    (13, "MADV_UNMERGEABLE"), (14, "MADV_HUGEPAGE"), (15, "MADV_NOHUGEPAGE"), (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"), (18, "MADV_WIPEONFORK"), (19, "MADV_KEEPONFORK"), (20, "MADV_COLD"), (21, "MADV_PAGEOUT"),
    (22, "MADV_POPULATE_READ"), (23, "MADV_POPULATE_WRITE"), (24, "MADV_DONTNEED_LOCKED"), (25, "MADV_COLLAPSE"),
    (100, "MADV_HWPOISON"), (101, "MADV_SOFT_OFFLINE"), (102, "MADV_GUARD_INSTALL"), (103, "MADV_GUARD_REMOVE"),
];

const MSG_FLAGS: Table = &[
    (0x1, "MSG_OOB"), (0x2, "MSG_PEEK"), (0x4, "MSG_DONTROUTE"), (0x8, "MSG_CTRUNC"), (0x10, "MSG_PROBE"),
    (0x20, "MSG_TRUNC"), (0x40, "MSG_DONTWAIT"), (0x80, "MSG_EOR"), (0x100, "MSG_WAITALL"), (0x200, "MSG_FIN"),
    (0x400, "MSG_SYN"), (0x800, "MSG_CONFIRM"), (0x1000, "MSG_RST"), (0x2000, "MSG_ERRQUEUE"), (0x4000, "MSG_NOSIGNAL"),
    (0x8000, "MSG_MORE"), (0x10000, "MSG_WAITFORONE"), (0x20000, "MSG_SENDPAGE_NOTLAST"), (0x40000, "MSG_BATCH"),
    (0x80000, "MSG_NO_SHARED_FRAGS"), (0x2000000, "MSG_SOCK_DEVMEM"), (0x4000000, "MSG_ZEROCOPY"),
    (0x20000000, "MSG_FASTOPEN"), (0x40000000, "MSG_CMSG_CLOEXEC"), (0x80000000, "MSG_CMSG_COMPAT"),
];
const ADDRESS_FAMILIES: [&str; 46] = [
    "AF_UNSPEC", "AF_UNIX", "AF_INET", "AF_AX25", "AF_IPX", "AF_APPLETALK", "AF_NETROM", "AF_BRIDGE", "AF_ATMPVC",
    "AF_X25", "AF_INET6", "AF_ROSE", "AF_DECnet", "AF_NETBEUI", "AF_SECURITY", "AF_KEY", "AF_NETLINK", "AF_PACKET",
    "AF_ASH", "AF_ECONET", "AF_ATMSVC", "AF_RDS", "AF_SNA", "AF_IRDA", "AF_PPPOX", "AF_WANPIPE", "AF_LLC", "AF_IB",
    "AF_MPLS", "AF_CAN", "AF_TIPC", "AF_BLUETOOTH", "AF_IUCV", "AF_RXRPC", "AF_ISDN", "AF_PHONET", "AF_IEEE802154",
    "AF_CAIF", "AF_ALG", "AF_NFC", "AF_VSOCK", "AF_KCM", "AF_QIPCRTR", "AF_SMC", "AF_XDP", "AF_MCTP",
];
const AF_UNIX: u64 = 1;
const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;
const AF_NETLINK: u64 = 16;
const AF_PACKET: u64 = 17;
/// Socket types by value; strace's order and values for everything but mips.
const SOCK_TYPES: Table = &[
    (1, "SOCK_STREAM"), (2, "SOCK_DGRAM"), (3, "SOCK_RAW"), (4, "SOCK_RDM"), (5, "SOCK_SEQPACKET"), (6, "SOCK_DCCP"),
    (10, "SOCK_PACKET"),
];
const SOCK_FLAGS: Table = libc_rows![SOCK_CLOEXEC, SOCK_NONBLOCK];
const IP_PROTOCOLS: Table = &[
    (0, "IPPROTO_IP"), (1, "IPPROTO_ICMP"), (2, "IPPROTO_IGMP"), (4, "IPPROTO_IPIP"), (6, "IPPROTO_TCP"),
    (8, "IPPROTO_EGP"), (12, "IPPROTO_PUP"), (17, "IPPROTO_UDP"), (22, "IPPROTO_IDP"), (29, "IPPROTO_TP"),
    (33, "IPPROTO_DCCP"), (41, "IPPROTO_IPV6"), (43, "IPPROTO_ROUTING"), (44, "IPPROTO_FRAGMENT"), (46, "IPPROTO_RSVP"),
    (47, "IPPROTO_GRE"), (50, "IPPROTO_ESP"), (51, "IPPROTO_AH"), (58, "IPPROTO_ICMPV6"), (59, "IPPROTO_NONE"),
    (60, "IPPROTO_DSTOPTS"), (92, "IPPROTO_MTP"), (94, "IPPROTO_BEETPH"), (98, "IPPROTO_ENCAP"), (103, "IPPROTO_PIM"),
    (108, "IPPROTO_COMP"), (115, "IPPROTO_L2TP"), (132, "IPPROTO_SCTP"), (135, "IPPROTO_MH"), (136, "IPPROTO_UDPLITE"),
    (137, "IPPROTO_MPLS"), (143, "IPPROTO_ETHERNET"), (144, "IPPROTO_AGGFRAG"), (255, "IPPROTO_RAW"),
    (256, "IPPROTO_SMC"), (262, "IPPROTO_MPTCP"),
];
const NETLINK_PROTOCOLS: Table = &[
    (0, "NETLINK_ROUTE"), (1, "NETLINK_UNUSED"), (2, "NETLINK_USERSOCK"), (3, "NETLINK_FIREWALL"),
    (4, "NETLINK_SOCK_DIAG"), (5, "NETLINK_NFLOG"), (6, "NETLINK_XFRM"), (7, "NETLINK_SELINUX"), (8, "NETLINK_ISCSI"),
    (9, "NETLINK_AUDIT"), (10, "NETLINK_FIB_LOOKUP"), (11, "NETLINK_CONNECTOR"), (12, "NETLINK_NETFILTER"),
    (13, "NETLINK_IP6_FW"), (14, "NETLINK_DNRTMSG"), (15, "NETLINK_KOBJECT_UEVENT"), (16, "NETLINK_GENERIC"),
    (18, "NETLINK_SCSITRANSPORT"), (19, "NETLINK_ECRYPTFS"), (20, "NETLINK_RDMA"), (21, "NETLINK_CRYPTO"),
    (22, "NETLINK_SMC"),
];
const ETH_PROTOCOLS: Table = &[(0x0003, "ETH_P_ALL"), (0x0800, "ETH_P_IP"), (0x0806, "ETH_P_ARP"), (0x86DD, "ETH_P_IPV6")];
const SHUTDOWN_HOW: Table = &[(0, "SHUT_RD"), (1, "SHUT_WR"), (2, "SHUT_RDWR")];
const SOCKET_LEVELS: Table = &[
    (0, "SOL_IP"), (1, "SOL_SOCKET"), (6, "SOL_TCP"), (17, "SOL_UDP"), (40, "AF_VSOCK"), (41, "SOL_IPV6"),
    (58, "SOL_ICMPV6"), (100, "SOL_CAN_BASE"), (101, "SOL_CAN_RAW"), (132, "SOL_SCTP"), (136, "SOL_UDPLITE"),
    (255, "SOL_RAW"), (256, "SOL_IPX"), (257, "SOL_AX25"), (258, "SOL_ATALK"), (259, "SOL_NETROM"), (260, "SOL_ROSE"),
    (261, "SOL_DECNET"), (262, "SOL_X25"), (263, "SOL_PACKET"), (264, "SOL_ATM"), (265, "SOL_AAL"), (266, "SOL_IRDA"),
    (267, "SOL_NETBEUI"), (268, "SOL_LLC"), (269, "SOL_DCCP"), (270, "SOL_NETLINK"), (271, "SOL_TIPC"),
    (272, "SOL_RXRPC"), (273, "SOL_PPPOL2TP"), (274, "SOL_BLUETOOTH"), (275, "SOL_PNPIPE"), (276, "SOL_RDS"),
    (277, "SOL_IUCV"), (278, "SOL_CAIF"), (279, "SOL_ALG"), (280, "SOL_NFC"), (281, "SOL_KCM"), (282, "SOL_TLS"),
    (283, "SOL_XDP"), (284, "SOL_MPTCP"), (285, "SOL_MCTP"), (286, "SOL_SMC"), (287, "SOL_VSOCK"),
];
/// SOL_SOCKET options (asm-generic/socket.h, which x86_64 and aarch64 share).
const SO_OPTIONS: Table = &[
    (1, "SO_DEBUG"), (2, "SO_REUSEADDR"), (3, "SO_TYPE"), (4, "SO_ERROR"), (5, "SO_DONTROUTE"), (6, "SO_BROADCAST"),
    (7, "SO_SNDBUF"), (8, "SO_RCVBUF"), (9, "SO_KEEPALIVE"), (10, "SO_OOBINLINE"), (11, "SO_NO_CHECK"),
    (12, "SO_PRIORITY"), (13, "SO_LINGER"), (14, "SO_BSDCOMPAT"), (15, "SO_REUSEPORT"), (16, "SO_PASSCRED"),
    (17, "SO_PEERCRED"), (18, "SO_RCVLOWAT"), (19, "SO_SNDLOWAT"), (20, "SO_RCVTIMEO_OLD"), (21, "SO_SNDTIMEO_OLD"),
    (22, "SO_SECURITY_AUTHENTICATION"), (23, "SO_SECURITY_ENCRYPTION_TRANSPORT"),
    (24, "SO_SECURITY_ENCRYPTION_NETWORK"), (25, "SO_BINDTODEVICE"), (27, "SO_DETACH_FILTER"), (28, "SO_PEERNAME"),
    (29, "SO_TIMESTAMP_OLD"), (30, "SO_ACCEPTCONN"), (31, "SO_PEERSEC"), (32, "SO_SNDBUFFORCE"), (33, "SO_RCVBUFFORCE"),
    (34, "SO_PASSSEC"), (35, "SO_TIMESTAMPNS_OLD"), (36, "SO_MARK"), (37, "SO_TIMESTAMPING_OLD"), (38, "SO_PROTOCOL"),
    (39, "SO_DOMAIN"), (40, "SO_RXQ_OVFL"), (41, "SO_WIFI_STATUS"), (42, "SO_PEEK_OFF"), (43, "SO_NOFCS"),
    (44, "SO_LOCK_FILTER"), (45, "SO_SELECT_ERR_QUEUE"), (46, "SO_BUSY_POLL"), (47, "SO_MAX_PACING_RATE"),
    (48, "SO_BPF_EXTENSIONS"), (49, "SO_INCOMING_CPU"), (50, "SO_ATTACH_BPF"), (51, "SO_ATTACH_REUSEPORT_CBPF"),
    (52, "SO_ATTACH_REUSEPORT_EBPF"), (53, "SO_CNX_ADVICE"), (55, "SO_MEMINFO"), (56, "SO_INCOMING_NAPI_ID"),
    (57, "SO_COOKIE"), (59, "SO_PEERGROUPS"), (60, "SO_ZEROCOPY"), (61, "SO_TXTIME"), (62, "SO_BINDTOIFINDEX"),
    (63, "SO_TIMESTAMP_NEW"), (64, "SO_TIMESTAMPNS_NEW"), (65, "SO_TIMESTAMPING_NEW"), (66, "SO_RCVTIMEO_NEW"),
    (67, "SO_SNDTIMEO_NEW"), (68, "SO_DETACH_REUSEPORT_BPF"), (69, "SO_PREFER_BUSY_POLL"), (70, "SO_BUSY_POLL_BUDGET"),
    (71, "SO_NETNS_COOKIE"), (72, "SO_BUF_LOCK"), (73, "SO_RESERVE_MEM"), (74, "SO_TXREHASH"), (75, "SO_RCVMARK"),
    (76, "SO_PASSPIDFD"), (77, "SO_PEERPIDFD"), (82, "SO_RCVPRIORITY"), (83, "SO_PASSRIGHTS"), (84, "SO_INQ"),
];
const SO_GET_ONLY: Table = &[(26, "SO_GET_FILTER")];
const SO_SET_ONLY: Table = &[(26, "SO_ATTACH_FILTER"), (80, "SO_DEVMEM_DONTNEED")];
const IP_OPTIONS: Table = &[
    (1, "IP_TOS"), (2, "IP_TTL"), (3, "IP_HDRINCL"), (4, "IP_OPTIONS"), (5, "IP_ROUTER_ALERT"), (6, "IP_RECVOPTS"),
    (7, "IP_RETOPTS"), (8, "IP_PKTINFO"), (9, "IP_PKTOPTIONS"), (10, "IP_MTU_DISCOVER"), (11, "IP_RECVERR"),
    (12, "IP_RECVTTL"), (13, "IP_RECVTOS"), (14, "IP_MTU"), (15, "IP_FREEBIND"), (16, "IP_IPSEC_POLICY"),
    (17, "IP_XFRM_POLICY"), (18, "IP_PASSSEC"), (19, "IP_TRANSPARENT"), (20, "IP_ORIGDSTADDR"), (21, "IP_MINTTL"),
    (22, "IP_NODEFRAG"), (23, "IP_CHECKSUM"), (24, "IP_BIND_ADDRESS_NO_PORT"), (25, "IP_RECVFRAGSIZE"),
    (26, "IP_RECVERR_RFC4884"), (32, "IP_MULTICAST_IF"), (33, "IP_MULTICAST_TTL"), (34, "IP_MULTICAST_LOOP"),
    (35, "IP_ADD_MEMBERSHIP"), (36, "IP_DROP_MEMBERSHIP"), (37, "IP_UNBLOCK_SOURCE"), (38, "IP_BLOCK_SOURCE"),
    (39, "IP_ADD_SOURCE_MEMBERSHIP"), (40, "IP_DROP_SOURCE_MEMBERSHIP"), (41, "IP_MSFILTER"), (42, "MCAST_JOIN_GROUP"),
    (43, "MCAST_BLOCK_SOURCE"), (44, "MCAST_UNBLOCK_SOURCE"), (45, "MCAST_LEAVE_GROUP"),
    (46, "MCAST_JOIN_SOURCE_GROUP"), (47, "MCAST_LEAVE_SOURCE_GROUP"), (48, "MCAST_MSFILTER"), (49, "IP_MULTICAST_ALL"),
    (50, "IP_UNICAST_IF"), (51, "IP_LOCAL_PORT_RANGE"), (52, "IP_PROTOCOL"),
];
const IPV6_OPTIONS: Table = &[
    (1, "IPV6_ADDRFORM"), (2, "IPV6_2292PKTINFO"), (3, "IPV6_2292HOPOPTS"), (4, "IPV6_2292DSTOPTS"),
    (5, "IPV6_2292RTHDR"), (6, "IPV6_2292PKTOPTIONS"), (7, "IPV6_CHECKSUM"), (8, "IPV6_2292HOPLIMIT"),
    (9, "IPV6_NEXTHOP"), (10, "IPV6_AUTHHDR"), (11, "IPV6_FLOWINFO"), (16, "IPV6_UNICAST_HOPS"),
    (17, "IPV6_MULTICAST_IF"), (18, "IPV6_MULTICAST_HOPS"), (19, "IPV6_MULTICAST_LOOP"), (20, "IPV6_ADD_MEMBERSHIP"),
    (21, "IPV6_DROP_MEMBERSHIP"), (22, "IPV6_ROUTER_ALERT"), (23, "IPV6_MTU_DISCOVER"), (24, "IPV6_MTU"),
    (25, "IPV6_RECVERR"), (26, "IPV6_V6ONLY"), (27, "IPV6_JOIN_ANYCAST"), (28, "IPV6_LEAVE_ANYCAST"),
    (29, "IPV6_MULTICAST_ALL"), (30, "IPV6_ROUTER_ALERT_ISOLATE"), (31, "IPV6_RECVERR_RFC4884"),
    (32, "IPV6_FLOWLABEL_MGR"), (33, "IPV6_FLOWINFO_SEND"), (34, "IPV6_IPSEC_POLICY"), (35, "IPV6_XFRM_POLICY"),
    (36, "IPV6_HDRINCL"), (42, "MCAST_JOIN_GROUP"), (43, "MCAST_BLOCK_SOURCE"), (44, "MCAST_UNBLOCK_SOURCE"),
    (45, "MCAST_LEAVE_GROUP"), (46, "MCAST_JOIN_SOURCE_GROUP"), (47, "MCAST_LEAVE_SOURCE_GROUP"),
    (48, "MCAST_MSFILTER"), (49, "IPV6_RECVPKTINFO"), (50, "IPV6_PKTINFO"), (51, "IPV6_RECVHOPLIMIT"),
    (52, "IPV6_HOPLIMIT"), (53, "IPV6_RECVHOPOPTS"), (54, "IPV6_HOPOPTS"), (55, "IPV6_RTHDRDSTOPTS"),
    (56, "IPV6_RECVRTHDR"), (57, "IPV6_RTHDR"), (58, "IPV6_RECVDSTOPTS"), (59, "IPV6_DSTOPTS"),
    (60, "IPV6_RECVPATHMTU"), (61, "IPV6_PATHMTU"), (62, "IPV6_DONTFRAG"), (63, "IPV6_USE_MIN_MTU"),
    (66, "IPV6_RECVTCLASS"), (67, "IPV6_TCLASS"), (70, "IPV6_AUTOFLOWLABEL"), (72, "IPV6_ADDR_PREFERENCES"),
    (73, "IPV6_MINHOPCOUNT"), (74, "IPV6_ORIGDSTADDR"), (75, "IPV6_TRANSPARENT"), (76, "IPV6_UNICAST_IF"),
    (77, "IPV6_RECVFRAGSIZE"), (78, "IPV6_FREEBIND"),
];
const TCP_OPTIONS: [&str; 46] = [
    "TCP_NODELAY", "TCP_MAXSEG", "TCP_CORK", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_SYNCNT", "TCP_LINGER2",
    "TCP_DEFER_ACCEPT", "TCP_WINDOW_CLAMP", "TCP_INFO", "TCP_QUICKACK", "TCP_CONGESTION", "TCP_MD5SIG",
    "TCP_COOKIE_TRANSACTIONS", "TCP_THIN_LINEAR_TIMEOUTS", "TCP_THIN_DUPACK", "TCP_USER_TIMEOUT", "TCP_REPAIR",
    "TCP_REPAIR_QUEUE", "TCP_QUEUE_SEQ", "TCP_REPAIR_OPTIONS", "TCP_FASTOPEN", "TCP_TIMESTAMP", "TCP_NOTSENT_LOWAT",
    "TCP_CC_INFO", "TCP_SAVE_SYN", "TCP_SAVED_SYN", "TCP_REPAIR_WINDOW", "TCP_FASTOPEN_CONNECT", "TCP_ULP",
    "TCP_MD5SIG_EXT", "TCP_FASTOPEN_KEY", "TCP_FASTOPEN_NO_COOKIE", "TCP_ZEROCOPY_RECEIVE", "TCP_INQ", "TCP_TX_DELAY",
    "TCP_AO_ADD_KEY", "TCP_AO_DEL_KEY", "TCP_AO_INFO", "TCP_AO_GET_KEYS", "TCP_AO_REPAIR", "TCP_IS_MPTCP",
    "TCP_RTO_MAX_MS", "TCP_RTO_MIN_US", "TCP_DELACK_MAX_US",
];
const UDP_OPTIONS: Table = &[
    (1, "UDP_CORK"), (100, "UDP_ENCAP"), (101, "UDP_NO_CHECK6_TX"), (102, "UDP_NO_CHECK6_RX"), (103, "UDP_SEGMENT"),
    (104, "UDP_GRO"),
];
const NETLINK_OPTIONS: [&str; 12] = [
    "NETLINK_ADD_MEMBERSHIP", "NETLINK_DROP_MEMBERSHIP", "NETLINK_PKTINFO", "NETLINK_BROADCAST_ERROR",
    "NETLINK_NO_ENOBUFS", "NETLINK_RX_RING", "NETLINK_TX_RING", "NETLINK_LISTEN_ALL_NSID", "NETLINK_LIST_MEMBERSHIPS",
    "NETLINK_CAP_ACK", "NETLINK_EXT_ACK", "NETLINK_GET_STRICT_CHK",
];

const FUTEX_CMDS: [&str; 14] = [
    "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_FD", "FUTEX_REQUEUE", "FUTEX_CMP_REQUEUE", "FUTEX_WAKE_OP", "FUTEX_LOCK_PI",
    "FUTEX_UNLOCK_PI", "FUTEX_TRYLOCK_PI", "FUTEX_WAIT_BITSET", "FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI",
    "FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2",
];
const FUTEX_PRIVATE_FLAG: u32 = 128;
const FUTEX_CLOCK_REALTIME: u32 = 256;
const FUTEX_WAKE_OPS: [&str; 5] = ["FUTEX_OP_SET", "FUTEX_OP_ADD", "FUTEX_OP_OR", "FUTEX_OP_ANDN", "FUTEX_OP_XOR"];
const FUTEX_WAKE_CMPS: [&str; 6] =
    ["FUTEX_OP_CMP_EQ", "FUTEX_OP_CMP_NE", "FUTEX_OP_CMP_LT", "FUTEX_OP_CMP_LE", "FUTEX_OP_CMP_GT", "FUTEX_OP_CMP_GE"];

const EPOLL_CTL_OPS: Table = &[(1, "EPOLL_CTL_ADD"), (2, "EPOLL_CTL_DEL"), (3, "EPOLL_CTL_MOD")];
const EPOLL_FLAGS: Table = libc_rows![EPOLL_CLOEXEC];
const CLOCKS: [&str; 12] = [
    "CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID", "CLOCK_MONOTONIC_RAW",
    "CLOCK_REALTIME_COARSE", "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME", "CLOCK_REALTIME_ALARM", "CLOCK_BOOTTIME_ALARM",
    "CLOCK_SGI_CYCLE", "CLOCK_TAI",
];
const CLOCK_FLAGS: Table = &[(1, "TIMER_ABSTIME")];
const TIMERFD_FLAGS: Table = &[
    (1, "TFD_TIMER_ABSTIME"), (2, "TFD_TIMER_CANCEL_ON_SET"), (libc::O_CLOEXEC as u64, "TFD_CLOEXEC"),
    (libc::O_NONBLOCK as u64, "TFD_NONBLOCK"),
];

/// Signal names by number: the generic numbering, which x86_64 and aarch64 share.
const SIGNALS: [&str; 33] = [
    "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
    "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
    "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
    "SIGSYS", "SIGRTMIN",
];
/// The kernel's own SIGRTMAX (_NSIG); strace names 33..=64 `SIGRT_1`..`SIGRT_32`.
const SIGRTMAX: i32 = 64;
const SIG_HOW: Table = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];

const WAIT_OPTIONS: Table = &[
    (libc::WNOHANG as u64, "WNOHANG"), (libc::WEXITED as u64, "WEXITED"), (libc::WSTOPPED as u64, "WSTOPPED"),
    (libc::WCONTINUED as u64, "WCONTINUED"), (libc::WNOWAIT as u64, "WNOWAIT"), (0x80000000, "__WCLONE"),
    (0x40000000, "__WALL"), (0x20000000, "__WNOTHREAD"),
];
const WAITID_TYPES: Table = &[(0, "P_ALL"), (1, "P_PID"), (2, "P_PGID"), (3, "P_PIDFD")];
const CLONE_FLAGS: Table = libc_rows![
    CLONE_VM,
    CLONE_FS,
    CLONE_FILES,
    CLONE_SIGHAND,
    CLONE_PIDFD,
    CLONE_PTRACE,
    CLONE_VFORK,
    CLONE_PARENT,
    CLONE_THREAD,
    CLONE_NEWNS,
    CLONE_SYSVSEM,
    CLONE_SETTLS,
    CLONE_PARENT_SETTID,
    CLONE_CHILD_CLEARTID,
    CLONE_UNTRACED,
    CLONE_CHILD_SETTID,
    CLONE_NEWCGROUP,
    CLONE_NEWUTS,
    CLONE_NEWIPC,
    CLONE_NEWUSER,
    CLONE_NEWPID,
    CLONE_NEWNET,
    CLONE_IO,
];
/// clone's argument registers: x86_64 swapped the last two (child_tid before tls).
#[cfg(target_arch = "x86_64")]
const CLONE_ARG_CTID: usize = 3;
#[cfg(target_arch = "x86_64")]
const CLONE_ARG_TLS: usize = 4;
#[cfg(not(target_arch = "x86_64"))]
const CLONE_ARG_CTID: usize = 4;
#[cfg(not(target_arch = "x86_64"))]
const CLONE_ARG_TLS: usize = 3;

const FCNTL_CMDS: Table = &[
    (0, "F_DUPFD"), (1, "F_GETFD"), (2, "F_SETFD"), (3, "F_GETFL"), (4, "F_SETFL"), (5, "F_GETLK"), (6, "F_SETLK"),
    (7, "F_SETLKW"), (8, "F_SETOWN"), (9, "F_GETOWN"), (10, "F_SETSIG"), (11, "F_GETSIG"), (15, "F_SETOWN_EX"),
    (16, "F_GETOWN_EX"), (17, "F_GETOWNER_UIDS"), (36, "F_OFD_GETLK"), (37, "F_OFD_SETLK"), (38, "F_OFD_SETLKW"),
    (1024, "F_SETLEASE"), (1025, "F_GETLEASE"), (1026, "F_NOTIFY"), (1027, "F_DUPFD_QUERY"), (1028, "F_CREATED_QUERY"),
    (1029, "F_CANCELLK"), (1030, "F_DUPFD_CLOEXEC"), (1031, "F_SETPIPE_SZ"), (1032, "F_GETPIPE_SZ"),
    (1033, "F_ADD_SEALS"), (1034, "F_GET_SEALS"), (1035, "F_GET_RW_HINT"), (1036, "F_SET_RW_HINT"),
    (1037, "F_GET_FILE_RW_HINT"), (1038, "F_SET_FILE_RW_HINT"),
];
const FD_FLAGS: Table = &[(1, "FD_CLOEXEC")];
const LEASE_TYPES: Table = &[(0, "F_RDLCK"), (1, "F_WRLCK"), (2, "F_UNLCK"), (4, "F_EXLCK"), (8, "F_SHLCK")];
const DN_FLAGS: Table = &[
    (0x1, "DN_ACCESS"), (0x2, "DN_MODIFY"), (0x4, "DN_CREATE"), (0x8, "DN_DELETE"), (0x10, "DN_RENAME"),
    (0x20, "DN_ATTRIB"), (0x80000000, "DN_MULTISHOT"),
];
const SEALS: Table = &[
    (0x1, "F_SEAL_SEAL"), (0x2, "F_SEAL_SHRINK"), (0x4, "F_SEAL_GROW"), (0x8, "F_SEAL_WRITE"),
    (0x10, "F_SEAL_FUTURE_WRITE"), (0x20, "F_SEAL_EXEC"),
];
const FLOCK_OPS: Table = &[
    (1, "LOCK_SH"), (2, "LOCK_EX"), (4, "LOCK_NB"), (8, "LOCK_UN"), (32, "LOCK_MAND"), (192, "LOCK_RW"),
    (64, "LOCK_READ"), (128, "LOCK_WRITE"),
];
const SEEK_WHENCE: Table = &[(0, "SEEK_SET"), (1, "SEEK_CUR"), (2, "SEEK_END"), (3, "SEEK_DATA"), (4, "SEEK_HOLE")];
const RWF_FLAGS: Table = &[
    (0x1, "RWF_HIPRI"), (0x2, "RWF_DSYNC"), (0x4, "RWF_SYNC"), (0x8, "RWF_NOWAIT"), (0x10, "RWF_APPEND"),
    (0x20, "RWF_NOAPPEND"), (0x40, "RWF_ATOMIC"), (0x80, "RWF_DONTCACHE"), (0x100, "RWF_NOSIGNAL"),
];
const SPLICE_FLAGS: Table = &[(1, "SPLICE_F_MOVE"), (2, "SPLICE_F_NONBLOCK"), (4, "SPLICE_F_MORE"), (8, "SPLICE_F_GIFT")];
const GRND_FLAGS: Table = &[(1, "GRND_NONBLOCK"), (2, "GRND_RANDOM"), (4, "GRND_INSECURE")];
const EFD_FLAGS: Table =
    &[(1, "EFD_SEMAPHORE"), (libc::O_CLOEXEC as u64, "EFD_CLOEXEC"), (libc::O_NONBLOCK as u64, "EFD_NONBLOCK")];
const URING_ENTER_FLAGS: Table = &[
    (0x1, "IORING_ENTER_GETEVENTS"), (0x2, "IORING_ENTER_SQ_WAKEUP"), (0x4, "IORING_ENTER_SQ_WAIT"),
    (0x8, "IORING_ENTER_EXT_ARG"), (0x10, "IORING_ENTER_REGISTERED_RING"), (0x20, "IORING_ENTER_ABS_TIMER"),
    (0x40, "IORING_ENTER_EXT_ARG_REG"), (0x80, "IORING_ENTER_NO_IOWAIT"),
];
const IORING_ENTER_EXT_ARG: u32 = 0x8;
const IORING_ENTER_EXT_ARG_REG: u32 = 0x40;
const ARCH_PRCTL_CODES: Table = &[
    (0x1001, "ARCH_SET_GS"), (0x1002, "ARCH_SET_FS"), (0x1003, "ARCH_GET_FS"), (0x1004, "ARCH_GET_GS"),
    (0x1011, "ARCH_GET_CPUID"), (0x1012, "ARCH_SET_CPUID"), (0x1021, "ARCH_GET_XCOMP_SUPP"),
    (0x1022, "ARCH_GET_XCOMP_PERM"), (0x1023, "ARCH_REQ_XCOMP_PERM"), (0x1024, "ARCH_GET_XCOMP_GUEST_PERM"),
    (0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"), (0x2001, "ARCH_MAP_VDSO_X32"), (0x2002, "ARCH_MAP_VDSO_32"),
    (0x2003, "ARCH_MAP_VDSO_64"), (0x4001, "ARCH_GET_UNTAG_MASK"), (0x4002, "ARCH_ENABLE_TAGGED_ADDR"),
    (0x4003, "ARCH_GET_MAX_TAG_BITS"), (0x4004, "ARCH_FORCE_TAGGED_SVA"), (0x5001, "ARCH_SHSTK_ENABLE"),
    (0x5002, "ARCH_SHSTK_DISABLE"), (0x5003, "ARCH_SHSTK_LOCK"), (0x5004, "ARCH_SHSTK_UNLOCK"),
    (0x5005, "ARCH_SHSTK_STATUS"),
];

const PR_OPTIONS: Table = &[
    (1, "PR_SET_PDEATHSIG"), (2, "PR_GET_PDEATHSIG"), (3, "PR_GET_DUMPABLE"), (4, "PR_SET_DUMPABLE"),
    (5, "PR_GET_UNALIGN"), (6, "PR_SET_UNALIGN"), (7, "PR_GET_KEEPCAPS"), (8, "PR_SET_KEEPCAPS"), (9, "PR_GET_FPEMU"),
    (10, "PR_SET_FPEMU"), (11, "PR_GET_FPEXC"), (12, "PR_SET_FPEXC"), (13, "PR_GET_TIMING"), (14, "PR_SET_TIMING"),
    (15, "PR_SET_NAME"), (16, "PR_GET_NAME"), (19, "PR_GET_ENDIAN"), (20, "PR_SET_ENDIAN"), (21, "PR_GET_SECCOMP"),
    (22, "PR_SET_SECCOMP"), (23, "PR_CAPBSET_READ"), (24, "PR_CAPBSET_DROP"), (25, "PR_GET_TSC"), (26, "PR_SET_TSC"),
    (27, "PR_GET_SECUREBITS"), (28, "PR_SET_SECUREBITS"), (29, "PR_SET_TIMERSLACK"), (30, "PR_GET_TIMERSLACK"),
    (31, "PR_TASK_PERF_EVENTS_DISABLE"), (32, "PR_TASK_PERF_EVENTS_ENABLE"), (33, "PR_MCE_KILL"),
    (34, "PR_MCE_KILL_GET"), (35, "PR_SET_MM"), (36, "PR_SET_CHILD_SUBREAPER"), (37, "PR_GET_CHILD_SUBREAPER"),
    (38, "PR_SET_NO_NEW_PRIVS"), (39, "PR_GET_NO_NEW_PRIVS"), (40, "PR_GET_TID_ADDRESS"), (41, "PR_SET_THP_DISABLE"),
    (42, "PR_GET_THP_DISABLE"), (43, "PR_MPX_ENABLE_MANAGEMENT"), (44, "PR_MPX_DISABLE_MANAGEMENT"),
    (45, "PR_SET_FP_MODE"), (46, "PR_GET_FP_MODE"), (47, "PR_CAP_AMBIENT"), (50, "PR_SVE_SET_VL"),
    (51, "PR_SVE_GET_VL"), (52, "PR_GET_SPECULATION_CTRL"), (53, "PR_SET_SPECULATION_CTRL"), (54, "PR_PAC_RESET_KEYS"),
    (55, "PR_SET_TAGGED_ADDR_CTRL"), (56, "PR_GET_TAGGED_ADDR_CTRL"), (57, "PR_SET_IO_FLUSHER"),
    (58, "PR_GET_IO_FLUSHER"), (59, "PR_SET_SYSCALL_USER_DISPATCH"), (60, "PR_PAC_SET_ENABLED_KEYS"),
    (61, "PR_PAC_GET_ENABLED_KEYS"), (62, "PR_SCHED_CORE"), (63, "PR_SME_SET_VL"), (64, "PR_SME_GET_VL"),
    (65, "PR_SET_MDWE"), (66, "PR_GET_MDWE"), (67, "PR_SET_MEMORY_MERGE"), (68, "PR_GET_MEMORY_MERGE"),
    (0x53564d41, "PR_SET_VMA"), (0x59616d61, "PR_SET_PTRACER"),
];
const SUID_DUMP: Table = &[(0, "SUID_DUMP_DISABLE"), (1, "SUID_DUMP_USER"), (2, "SUID_DUMP_ROOT")];
const PR_UNALIGN: Table = &[(1, "PR_UNALIGN_NOPRINT"), (2, "PR_UNALIGN_SIGBUS")];
const PR_TSC: Table = &[(1, "PR_TSC_ENABLE"), (2, "PR_TSC_SIGSEGV")];
const SECCOMP_MODES: Table = &[(0, "SECCOMP_MODE_DISABLED"), (1, "SECCOMP_MODE_STRICT"), (2, "SECCOMP_MODE_FILTER")];
const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

/// quotactl commands: QCMD(cmd, type) >> 8 (linux/quota.h, linux/dqblk_xfs.h and the old v1/v2 numbers).
const QUOTA_CMDS: Table = &[
    (0x1, "Q_V1_QUOTAON"), (0x2, "Q_V1_QUOTAOFF"), (0x3, "Q_V1_GETQUOTA"), (0x4, "Q_V1_SETQUOTA"), (0x5, "Q_V1_SETUSE"),
    (0x6, "Q_V1_SYNC"), (0x7, "Q_SETQLIM"), (0x8, "Q_V1_GETSTATS"), (0x10, "Q_V1_RSQUASH"), (0xd, "Q_V2_GETQUOTA"),
    (0xe, "Q_V2_SETQUOTA"), (0xf, "Q_V2_SETUSE"), (0x9, "Q_V2_GETINFO"), (0xa, "Q_V2_SETINFO"), (0xb, "Q_V2_SETGRACE"),
    (0xc, "Q_V2_SETFLAGS"), (0x11, "Q_V2_GETSTATS"), (0x800001, "Q_SYNC"), (0x800002, "Q_QUOTAON"),
    (0x800003, "Q_QUOTAOFF"), (0x800004, "Q_GETFMT"), (0x800005, "Q_GETINFO"), (0x800006, "Q_SETINFO"),
    (0x800007, "Q_GETQUOTA"), (0x800008, "Q_SETQUOTA"), (0x800009, "Q_GETNEXTQUOTA"), (0x5801, "Q_XQUOTAON"),
    (0x5802, "Q_XQUOTAOFF"), (0x5803, "Q_XGETQUOTA"), (0x5804, "Q_XSETQLIM"), (0x5805, "Q_XGETQSTAT"),
    (0x5806, "Q_XQUOTARM"), (0x5807, "Q_XQUOTASYNC"), (0x5808, "Q_XGETQSTATV"), (0x5809, "Q_XGETNEXTQUOTA"),
];
const QUOTA_TYPES: Table = &[(0, "USRQUOTA"), (1, "GRPQUOTA"), (2, "PRJQUOTA")];
const QUOTA_FORMATS: Table = &[(1, "QFMT_VFS_OLD"), (2, "QFMT_VFS_V0"), (3, "QFMT_OCFS2"), (4, "QFMT_VFS_V1"), (5, "QFMT_SHMEM")];

const FAN_MARK_FLAGS: Table = &[
    (0x1, "FAN_MARK_ADD"), (0x2, "FAN_MARK_REMOVE"), (0x80, "FAN_MARK_FLUSH"), (0x4, "FAN_MARK_DONT_FOLLOW"),
    (0x8, "FAN_MARK_ONLYDIR"), (0x110, "FAN_MARK_MNTNS"), (0x10, "FAN_MARK_MOUNT"), (0x100, "FAN_MARK_FILESYSTEM"),
    (0x20, "FAN_MARK_IGNORED_MASK"), (0x40, "FAN_MARK_IGNORED_SURV_MODIFY"), (0x400, "FAN_MARK_IGNORE"),
    (0x200, "FAN_MARK_EVICTABLE"),
];
const FAN_EVENTS: Table = &[
    (0x1, "FAN_ACCESS"), (0x2, "FAN_MODIFY"), (0x4, "FAN_ATTRIB"), (0x8, "FAN_CLOSE_WRITE"),
    (0x10, "FAN_CLOSE_NOWRITE"), (0x20, "FAN_OPEN"), (0x40, "FAN_MOVED_FROM"), (0x80, "FAN_MOVED_TO"),
    (0x100, "FAN_CREATE"), (0x200, "FAN_DELETE"), (0x400, "FAN_DELETE_SELF"), (0x800, "FAN_MOVE_SELF"),
    (0x1000, "FAN_OPEN_EXEC"), (0x4000, "FAN_Q_OVERFLOW"), (0x8000, "FAN_FS_ERROR"), (0x10000, "FAN_OPEN_PERM"),
    (0x20000, "FAN_ACCESS_PERM"), (0x40000, "FAN_OPEN_EXEC_PERM"), (0x80000, "FAN_DIR_MODIFY"),
    (0x100000, "FAN_PRE_ACCESS"), (0x1000000, "FAN_MNT_ATTACH"), (0x2000000, "FAN_MNT_DETACH"),
    (0x8000000, "FAN_EVENT_ON_CHILD"), (0x10000000, "FAN_RENAME"), (0x40000000, "FAN_ONDIR"),
];

/// Names of common ioctl requests (asm-generic/ioctls.h, linux/sockios.h, linux/fs.h...: the same codes on
/// x86_64 and aarch64), sorted by code. Codes strace knows under several names are left out.
const IOCTLS: Table = &[
    (0x1, "FIBMAP"), (0x2, "FIGETBSZ"), (0x125e, "BLKROGET"), (0x125f, "BLKRRPART"), (0x1260, "BLKGETSIZE"),
    (0x1261, "BLKFLSBUF"), (0x1263, "BLKRAGET"), (0x1267, "BLKSECTGET"), (0x1268, "BLKSSZGET"), (0x1277, "BLKDISCARD"),
    (0x1278, "BLKIOMIN"), (0x1279, "BLKIOOPT"), (0x127b, "BLKPBSZGET"), (0x127f, "BLKZEROOUT"),
    (0x2400, "PERF_EVENT_IOC_ENABLE"), (0x2401, "PERF_EVENT_IOC_DISABLE"), (0x2402, "PERF_EVENT_IOC_REFRESH"),
    (0x2403, "PERF_EVENT_IOC_RESET"), (0x2405, "PERF_EVENT_IOC_SET_OUTPUT"), (0x5401, "TCGETS"), (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"), (0x5404, "TCSETSF"), (0x5405, "TCGETA"), (0x5406, "TCSETA"), (0x5407, "TCSETAW"),
    (0x5408, "TCSETAF"), (0x5409, "TCSBRK"), (0x540a, "TCXONC"), (0x540b, "TCFLSH"), (0x540c, "TIOCEXCL"),
    (0x540d, "TIOCNXCL"), (0x540e, "TIOCSCTTY"), (0x540f, "TIOCGPGRP"), (0x5410, "TIOCSPGRP"), (0x5411, "TIOCOUTQ"),
    (0x5412, "TIOCSTI"), (0x5413, "TIOCGWINSZ"), (0x5414, "TIOCSWINSZ"), (0x5415, "TIOCMGET"), (0x5416, "TIOCMBIS"),
    (0x5417, "TIOCMBIC"), (0x5418, "TIOCMSET"), (0x5419, "TIOCGSOFTCAR"), (0x541a, "TIOCSSOFTCAR"),
    (0x541b, "FIONREAD"), (0x541c, "TIOCLINUX"), (0x541d, "TIOCCONS"), (0x541e, "TIOCGSERIAL"), (0x541f, "TIOCSSERIAL"),
    (0x5420, "TIOCPKT"), (0x5421, "FIONBIO"), (0x5422, "TIOCNOTTY"), (0x5423, "TIOCSETD"), (0x5424, "TIOCGETD"),
    (0x5425, "TCSBRKP"), (0x5427, "TIOCSBRK"), (0x5428, "TIOCCBRK"), (0x5429, "TIOCGSID"), (0x5437, "TIOCVHANGUP"),
    (0x5441, "TIOCGPTPEER"), (0x5450, "FIONCLEX"), (0x5451, "FIOCLEX"), (0x5452, "FIOASYNC"), (0x5460, "FIOQSIZE"),
    (0x8901, "FIOSETOWN"), (0x8902, "SIOCSPGRP"), (0x8903, "FIOGETOWN"), (0x8904, "SIOCGPGRP"), (0x8905, "SIOCATMARK"),
    (0x890b, "SIOCADDRT"), (0x890c, "SIOCDELRT"), (0x8910, "SIOCGIFNAME"), (0x8912, "SIOCGIFCONF"),
    (0x8913, "SIOCGIFFLAGS"), (0x8914, "SIOCSIFFLAGS"), (0x8915, "SIOCGIFADDR"), (0x8916, "SIOCSIFADDR"),
    (0x8919, "SIOCGIFBRDADDR"), (0x891b, "SIOCGIFNETMASK"), (0x8921, "SIOCGIFMTU"), (0x8922, "SIOCSIFMTU"),
    (0x8927, "SIOCGIFHWADDR"), (0x8933, "SIOCGIFINDEX"), (0x8942, "SIOCGIFTXQLEN"), (0x8946, "SIOCETHTOOL"),
    (0x8947, "SIOCGMIIPHY"), (0x40045431, "TIOCSPTLCK"), (0x40086602, "FS_IOC_SETFLAGS"), (0x400454ca, "TUNSETIFF"),
    (0x80045430, "TIOCGPTN"), (0x80045432, "TIOCGDEV"), (0x80081272, "BLKGETSIZE64"), (0x80086601, "FS_IOC_GETFLAGS"),
    (0x80087601, "FS_IOC_GETVERSION"), (0x802c542a, "TCGETS2"), (0x402c542b, "TCSETS2"), (0x402c542c, "TCSETSW2"),
    (0x402c542d, "TCSETSF2"),
];
const IOC_DIRS: Table = &[(0, "_IOC_NONE"), (2, "_IOC_READ"), (1, "_IOC_WRITE")];

/// Kernel-internal errnos strace names past the range libc names (include/linux/errno.h).
const KERNEL_ERRNOS: Table = &[
    (517, "EPROBE_DEFER"), (518, "EOPENSTALE"), (521, "EBADHANDLE"), (522, "ENOTSYNC"), (523, "EBADCOOKIE"),
    (524, "ENOTSUPP"), (525, "ETOOSMALL"), (526, "ESERVERFAULT"), (527, "EBADTYPE"), (528, "EJUKEBOX"),
    (529, "EIOCBQUEUED"), (530, "ERECALLCONFLICT"),
];
/// Return values from -4095 to -1 are errors (the kernel's MAX_ERRNO).
const MAX_ERRNO: i64 = 4095;

fn lookup(table: Table, value: u64) -> Option<&'static str> {
    table.iter().find(|(v, _)| *v == value).map(|(_, name)| *name)
}

fn name_at(names: &[&'static str], value: u64) -> Option<&'static str> {
    usize::try_from(value).ok().and_then(|i| names.get(i)).copied()
}

/// `%#llx`: the C format strace uses for raw values, so 0 is `0`, not `0x0`.
fn hex(value: u64) -> String {
    if value == 0 { "0".to_string() } else { format!("{value:#x}") }
}

/// A pointer argument: `NULL` or its address.
fn addr(value: u64) -> String {
    if value == 0 { "NULL".to_string() } else { format!("{value:#x}") }
}

/// `%#03o`, strace's mode format: `0644`, `000`.
fn octal(value: u64) -> String {
    let digits = if value == 0 { "0".to_string() } else { format!("0{value:o}") };
    format!("{digits:0>3}")
}

/// A value from a table, or the number in hex with the table's `X_???` in a comment.
fn xval(table: Table, value: u64, unknown: &str) -> String {
    lookup(table, value).map_or_else(|| format!("{} /* {unknown} */", hex(value)), str::to_string)
}

/// A value by index in a list of names, as [`xval`].
fn xname(names: &[&'static str], value: u64, unknown: &str) -> String {
    name_at(names, value).map_or_else(|| format!("{} /* {unknown} */", hex(value)), str::to_string)
}

/// strace's printflags: the table's names whose bits are all set, in table order, then the remaining
/// bits in hex; 0 is the table's name for 0 or `0`; no known bit at all is hex with `unknown` as a
/// comment (without one when `unknown` is None).
fn flags_with(table: Table, value: u64, unknown: Option<&str>) -> String {
    flags_in(&[table], value, unknown)
}

/// [`flags_with`] over several tables in turn.
fn flags_in(tables: &[Table], value: u64, unknown: Option<&str>) -> String {
    if value == 0 {
        return tables.iter().find_map(|table| lookup(table, 0)).unwrap_or("0").to_string();
    }
    let mut rest = value;
    let mut names = Vec::new();
    for &(bits, name) in tables.iter().copied().flatten() {
        if rest == 0 {
            break;
        }
        if bits != 0 && rest & bits == bits {
            names.push(name);
            rest &= !bits;
        }
    }
    if names.is_empty() {
        return match unknown {
            Some(unknown) => format!("{} /* {unknown} */", hex(value)),
            None => hex(value),
        };
    }
    let mut out = names.join("|");
    if rest != 0 {
        let _ = write!(out, "|{rest:#x}");
    }
    out
}

fn flags(table: Table, value: u64, unknown: &str) -> String {
    flags_with(table, value, Some(unknown))
}

/// open's flags: the access mode first, always, then the other flags.
fn open_flags(value: u64) -> String {
    let value = value as u32 as u64;
    let mut out = O_ACCESS_MODES[(value & 3) as usize].to_string();
    let rest = value & !3;
    if rest != 0 {
        out.push('|');
        out.push_str(&flags_with(OPEN_FLAGS, rest, None));
    }
    out
}

/// mknod's mode: `S_IFCHR|0600`, or octal without a known file type.
fn symbolic_mode(mode: u64) -> String {
    let mode = mode as u16 as u64;
    let ifmt = mode & libc::S_IFMT as u64;
    let kind = if ifmt == 0 { Some("") } else { lookup(FILE_TYPES, ifmt) };
    let Some(kind) = kind else { return octal(mode) };
    let mut out = String::new();
    if !kind.is_empty() {
        out.push_str(kind);
        out.push('|');
    }
    for (bit, name) in [(libc::S_ISUID, "S_ISUID|"), (libc::S_ISGID, "S_ISGID|"), (libc::S_ISVTX, "S_ISVTX|")] {
        if mode & bit as u64 != 0 {
            out.push_str(name);
        }
    }
    out.push_str(&octal(mode & 0o777));
    out
}

/// glibc's major()/minor() of a dev_t, as strace's makedev().
fn makedev(dev: u64) -> String {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("makedev({}, {})", hex(major), hex(minor))
}

fn signal_name(sig: i32) -> Option<String> {
    match sig {
        0..=32 => Some(SIGNALS[sig as usize].to_string()),
        33..=SIGRTMAX => Some(format!("SIGRT_{}", sig - 32)),
        _ => None,
    }
}

/// A signal number: its name, or the number.
fn signal(sig: i32) -> String {
    signal_name(sig).unwrap_or_else(|| sig.to_string())
}

/// A clockid by name; strace shows the negative ids of CPU and fd clocks as unsigned hex too.
fn clock(id: u64) -> String {
    xname(&CLOCKS, id as u32 as u64, "CLOCK_???")
}

/// Appends `bytes` with strace's C escapes: `\"`, `\\`, `\n` and friends, other bytes outside
/// printable ASCII in octal, three digits when an octal digit follows.
fn escape_into(out: &mut String, bytes: &[u8]) {
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\x0c' => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\x0b' => out.push_str("\\v"),
            b' '..=b'~' => out.push(c as char),
            _ => {
                out.push('\\');
                let full = matches!(bytes.get(i + 1), Some(b'0'..=b'7'));
                if full || c >> 6 != 0 {
                    out.push((b'0' + (c >> 6)) as char);
                }
                if full || c >> 3 != 0 {
                    out.push((b'0' + ((c >> 3) & 7)) as char);
                }
                out.push((b'0' + (c & 7)) as char);
            }
        }
    }
}

fn quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    escape_into(&mut out, bytes);
    out.push('"');
    out
}

/// Bytes up to the first NUL, or all of them.
fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes.iter().position(|&b| b == 0).map_or(bytes, |n| &bytes[..n])
}

/// A copied path, quoted; `...` follows one that filled the kernel's copy, which may have cut it (strace
/// does the same for a path longer than its buffer).
fn quoted_path(raw: &[u8]) -> String {
    let text = until_nul(raw);
    let mut out = quoted(&text[..text.len().min(SLOW_USER_BYTES)]);
    if text.len() >= SLOW_USER_BYTES - 1 {
        out.push_str("...");
    }
    out
}

/// An fd's description between strace -y's angle brackets: escaped as strace escapes a path, so a
/// file name cannot break the line.
fn escaped_description(description: &str) -> String {
    let mut out = String::with_capacity(description.len());
    escape_into(&mut out, description.as_bytes());
    out
}

fn u16_be(bytes: &[u8], at: usize) -> u16 {
    let mut b = [0; 2];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = bytes.get(at + i).copied().unwrap_or(0);
    }
    u16::from_be_bytes(b)
}

/// A native-endian field; bytes past the end of a short copy read as 0, as strace zero-fills its buffer.
fn u32_ne(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = bytes.get(at + i).copied().unwrap_or(0);
    }
    u32::from_ne_bytes(b)
}

fn ipv4(b: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// glibc's inet_ntop(AF_INET6): the longest run (first of equals) of two or more zero groups becomes
/// `::`, and `::a.b.c.d` / `::ffff:a.b.c.d` show their IPv4 address.
fn ipv6(b: [u8; 16]) -> String {
    let words: Vec<u16> = b.chunks_exact(2).map(|w| u16::from_be_bytes([w[0], w[1]])).collect();
    let (mut best, mut cur): ((usize, usize), Option<(usize, usize)>) = ((0, 0), None);
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            let run = cur.map_or((i, 1), |(start, len)| (start, len + 1));
            cur = Some(run);
            if run.1 > best.1 {
                best = run;
            }
        } else {
            cur = None;
        }
    }
    let best = (best.1 >= 2).then_some(best);
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if let Some((start, len)) = best {
            if i == start {
                out.push(':');
                i += len;
                if i == 8 {
                    out.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 && best.is_some_and(|(start, len)| start == 0 && (len == 6 || (len == 5 && words[5] == 0xffff))) {
            out.push_str(&ipv4([b[12], b[13], b[14], b[15]]));
            break;
        }
        let _ = write!(out, "{:x}", words[i]);
        i += 1;
    }
    out
}

/// strace's sin6_scope_id for link-local addresses: `if_nametoindex("eth0")` when the interface exists.
fn interface(index: u32) -> String {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: the buffer holds IF_NAMESIZE bytes, as if_indextoname requires; it NUL-terminates on success.
    let found = unsafe { !libc::if_indextoname(index, name.as_mut_ptr()).is_null() };
    if !found {
        return index.to_string();
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into the buffer.
    let name = unsafe { CStr::from_ptr(name.as_ptr()) };
    format!("if_nametoindex({})", quoted(name.to_bytes()))
}

/// A struct sockaddr of `b.len()` bytes (at least 2), as strace's print_sockaddr.
fn sockaddr(b: &[u8]) -> String {
    let b = &b[..b.len().min(128)];
    let family = u16::from_ne_bytes([b.first().copied().unwrap_or(0), b.get(1).copied().unwrap_or(0)]) as u64;
    let mut out = format!("{{sa_family={}", xname(&ADDRESS_FAMILIES, family, "AF_???"));
    if b.len() > 2 {
        out.push_str(", ");
        match family {
            AF_UNIX => {
                // sun_path is 108 bytes; an abstract name starts with a NUL and may hold more.
                let path = &b[2..b.len().min(110)];
                if path[0] != 0 {
                    let _ = write!(out, "sun_path={}", quoted(until_nul(path)));
                } else {
                    let _ = write!(out, "sun_path=@{}", quoted(&path[1..]));
                }
            }
            AF_INET if b.len() >= 16 => {
                let _ = write!(
                    out,
                    "sin_port=htons({}), sin_addr=inet_addr(\"{}\")",
                    u16_be(b, 2),
                    ipv4([b[4], b[5], b[6], b[7]])
                );
            }
            AF_INET6 if b.len() >= 24 => {
                let mut a = [0; 16];
                a.copy_from_slice(&b[8..24]);
                let _ = write!(
                    out,
                    "sin6_port=htons({}), sin6_flowinfo=htonl({}), inet_pton(AF_INET6, \"{}\", &sin6_addr)",
                    u16_be(b, 2),
                    u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    ipv6(a)
                );
                // The scope id follows only in a full sockaddr_in6.
                if b.len() > 24 {
                    let scope = u32_ne(b, 24);
                    let link_local = (a[0] == 0xfe && a[1] & 0xc0 == 0x80) || (a[0] == 0xff && a[1] & 0x0f == 0x02);
                    let scope = if link_local { interface(scope) } else { scope.to_string() };
                    let _ = write!(out, ", sin6_scope_id={scope}");
                }
            }
            AF_NETLINK if b.len() >= 12 => {
                let pad = u16::from_ne_bytes([b[2], b[3]]);
                if pad != 0 {
                    let _ = write!(out, "nl_pad={pad:#x}, ");
                }
                let groups = u32_ne(b, 8);
                // %#08x: C prints 0 without its 0x.
                let groups = if groups == 0 { "00000000".to_string() } else { format!("{groups:#08x}") };
                let _ = write!(out, "nl_pid={}, nl_groups={groups}", u32_ne(b, 4) as i32);
            }
            _ => {
                let _ = write!(out, "sa_data={}", quoted(&b[2..]));
            }
        }
    }
    out.push('}');
    out
}

/// The text glibc's strerror gives, which strace prints; nix's descriptions are the kernel's comments
/// ("Try again" where strace says "Resource temporarily unavailable").
fn strerror(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the buffer is valid for its length; strerror_r (XSI) NUL-terminates what it writes.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errno}");
    }
    // SAFETY: strerror_r succeeded, so the buffer holds a NUL-terminated string.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

/// `-1 ENOENT (No such file or directory)`, or strace's `? ERESTARTSYS (...)` for the codes of a call a
/// signal interrupted.
fn error(errno: i32) -> String {
    let restart = match errno {
        512 => Some("ERESTARTSYS (To be restarted if SA_RESTART is set)"),
        513 => Some("ERESTARTNOINTR (To be restarted)"),
        514 => Some("ERESTARTNOHAND (To be restarted if no handler)"),
        516 => Some("ERESTART_RESTARTBLOCK (Interrupted by signal)"),
        _ => None,
    };
    if let Some(restart) = restart {
        return format!("? {restart}");
    }
    // errno_name falls back to `E<n>` for the numbers libc does not name.
    let name = errno_name(errno);
    let name = if name == format!("E{errno}") { lookup(KERNEL_ERRNOS, errno as u64).map(str::to_string) } else { Some(name) };
    match name {
        Some(name) => format!("-1 {name} ({})", strerror(errno)),
        None => format!("-1 (errno {errno})"),
    }
}

/// Arguments of a syscall strace knows (its syscallent tables for x86_64 and aarch64), for the calls
/// printed raw.
fn arg_count(name: &str) -> Option<usize> {
    let n = match name {
        "fork" | "getegid" | "geteuid" | "getgid" | "getpgrp" | "getpid" | "getppid" | "gettid" | "getuid" |
        "inotify_init" | "munlockall" | "pause" | "restart_syscall" | "rseq_slice_yield" | "rt_sigreturn" | "sched_yield" |
        "setsid" | "sync" | "uretprobe" | "vfork" | "vhangup" => 0,
        "_sysctl" | "acct" | "adjtimex" | "alarm" | "brk" | "chdir" | "chroot" | "close" | "dup" | "epoll_create" |
        "epoll_create1" | "eventfd" | "exit" | "exit_group" | "fchdir" | "fdatasync" | "fsync" | "get_kernel_syms" |
        "get_thread_area" | "getpgid" | "getsid" | "inotify_init1" | "io_destroy" | "iopl" | "memfd_secret" | "mlockall" |
        "mq_unlink" | "personality" | "pipe" | "pkey_free" | "rmdir" | "sched_get_priority_max" | "sched_get_priority_min" |
        "sched_getscheduler" | "set_thread_area" | "set_tid_address" | "setfsgid" | "setfsuid" | "setgid" | "setuid" |
        "shmdt" | "swapoff" | "syncfs" | "sysinfo" | "time" | "timer_delete" | "timer_getoverrun" | "times" | "umask" |
        "uname" | "unlink" | "unshare" | "uselib" | "userfaultfd" => 1,
        "access" | "arch_prctl" | "capget" | "capset" | "chmod" | "clock_adjtime" | "clock_getres" | "clock_gettime" |
        "clock_settime" | "clone3" | "creat" | "create_module" | "delete_module" | "dup2" | "eventfd2" | "fanotify_init" |
        "fchmod" | "flock" | "fremovexattr" | "fsopen" | "fstat" | "fstatfs" | "ftruncate" | "getcwd" | "getgroups" |
        "getitimer" | "getpriority" | "getrlimit" | "getrusage" | "gettimeofday" | "inotify_rm_watch" | "io_setup" |
        "io_uring_setup" | "ioprio_get" | "kill" | "landlock_restrict_self" | "link" | "listen" | "lremovexattr" | "lstat" |
        "memfd_create" | "mkdir" | "mlock" | "mq_notify" | "msgget" | "munlock" | "munmap" | "nanosleep" | "pidfd_open" |
        "pipe2" | "pivot_root" | "pkey_alloc" | "process_mrelease" | "removexattr" | "rename" | "rt_sigpending" |
        "rt_sigsuspend" | "sched_getparam" | "sched_rr_get_interval" | "sched_setparam" | "set_robust_list" |
        "setdomainname" | "setgroups" | "sethostname" | "setns" | "setpgid" | "setregid" | "setreuid" | "setrlimit" |
        "settimeofday" | "shutdown" | "sigaltstack" | "stat" | "statfs" | "swapon" | "symlink" | "timer_gettime" |
        "timerfd_create" | "timerfd_gettime" | "tkill" | "truncate" | "umount2" | "ustat" | "utime" | "utimes" => 2,
        "accept" | "bind" | "bpf" | "chown" | "close_range" | "connect" | "dup3" | "execve" | "faccessat" | "fchmodat" |
        "fchown" | "fcntl" | "finit_module" | "flistxattr" | "fsmount" | "fspick" | "futimesat" | "get_robust_list" |
        "getcpu" | "getdents" | "getdents64" | "getpeername" | "getrandom" | "getresgid" | "getresuid" | "getsockname" |
        "init_module" | "inotify_add_watch" | "io_cancel" | "io_submit" | "ioctl" | "ioperm" | "ioprio_set" |
        "landlock_create_ruleset" | "lchown" | "listxattr" | "llistxattr" | "lookup_dcookie" | "lseek" |
        "lsm_list_modules" | "madvise" | "map_shadow_stack" | "membarrier" | "mincore" | "mkdirat" | "mknod" | "mlock2" |
        "modify_ldt" | "mprotect" | "mq_getsetattr" | "mseal" | "msgctl" | "msync" | "nfsservctl" | "open" |
        "open_by_handle_at" | "open_tree" | "pidfd_getfd" | "poll" | "read" | "readahead" | "readlink" | "readv" |
        "recvmsg" | "rt_sigqueueinfo" | "sched_getaffinity" | "sched_setaffinity" | "sched_setattr" | "sched_setscheduler" |
        "seccomp" | "security" | "semget" | "semop" | "sendmsg" | "set_mempolicy" | "setitimer" | "setpriority" |
        "setresgid" | "setresuid" | "shmat" | "shmctl" | "shmget" | "signalfd" | "socket" | "symlinkat" | "sysfs" |
        "syslog" | "tgkill" | "timer_create" | "tuxcall" | "unlinkat" | "write" | "writev" => 3,
        "accept4" | "cachestat" | "clock_nanosleep" | "epoll_ctl" | "epoll_ctl_old" | "epoll_wait" | "epoll_wait_old" |
        "faccessat2" | "fadvise64" | "fallocate" | "fchmodat2" | "fgetxattr" | "futex_requeue" | "futex_wake" | "getxattr" |
        "io_uring_register" | "kexec_load" | "landlock_add_rule" | "lgetxattr" | "listmount" | "listns" |
        "lsm_get_self_attr" | "lsm_set_self_attr" | "migrate_pages" | "mknodat" | "mq_open" | "msgsnd" | "newfstatat" |
        "openat" | "openat2" | "pidfd_send_signal" | "pkey_mprotect" | "pread64" | "preadv" | "prlimit64" | "ptrace" |
        "pwrite64" | "pwritev" | "quotactl" | "quotactl_fd" | "readlinkat" | "reboot" | "removexattrat" | "renameat" |
        "request_key" | "rseq" | "rt_sigaction" | "rt_sigprocmask" | "rt_sigtimedwait" | "rt_tgsigqueueinfo" |
        "sched_getattr" | "semctl" | "semtimedop" | "sendfile" | "sendmmsg" | "set_mempolicy_home_node" | "signalfd4" |
        "socketpair" | "statmount" | "sync_file_range" | "tee" | "timer_settime" | "timerfd_settime" | "utimensat" |
        "vmsplice" | "wait4" => 4,
        "add_key" | "afs_syscall" | "clone" | "execveat" | "fanotify_mark" | "fchownat" | "file_getattr" | "file_setattr" |
        "fsconfig" | "fsetxattr" | "futex_waitv" | "get_mempolicy" | "getpmsg" | "getsockopt" | "io_getevents" | "kcmp" |
        "kexec_file_load" | "keyctl" | "linkat" | "listxattrat" | "lsetxattr" | "mount" | "mount_setattr" | "move_mount" |
        "mq_timedreceive" | "mq_timedsend" | "mremap" | "msgrcv" | "name_to_handle_at" | "open_tree_attr" |
        "perf_event_open" | "ppoll" | "prctl" | "process_madvise" | "putpmsg" | "query_module" | "recvmmsg" |
        "remap_file_pages" | "renameat2" | "select" | "setsockopt" | "setxattr" | "statx" | "vserver" | "waitid" => 5,
        "copy_file_range" | "epoll_pwait" | "epoll_pwait2" | "futex" | "futex_wait" | "getxattrat" | "io_pgetevents" |
        "io_uring_enter" | "mbind" | "mmap" | "move_pages" | "preadv2" | "process_vm_readv" | "process_vm_writev" |
        "pselect6" | "pwritev2" | "recvfrom" | "sendto" | "setxattrat" | "splice" => 6,
        _ => return None,
    };
    Some(n)
}

/// One call being formatted.
struct Call<'a> {
    v: &'a CallView<'a>,
    describe_fd: &'a dyn Fn(i32) -> Option<String>,
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
            Some(description) => format!("{fd}<{}>", escaped_description(&description)),
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

    fn args(&self) -> Vec<String> {
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

    fn result(&self) -> String {
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

/// statx's flags: the sync type, always named, then the AT_ flags.
fn statx_flags(value: u64) -> String {
    let value = value as u32 as u64;
    let mut out = flags_with(STATX_SYNC, value & 0x6000, None);
    let rest = value & !0x6000;
    if rest != 0 {
        out.push('|');
        out.push_str(&flags_with(AT_FLAGS, rest, None));
    }
    out
}

fn mmap_flags(value: u64) -> String {
    let kind = value & 0xf;
    let mut out = lookup(MAP_TYPES, kind).map_or_else(|| format!("{} /* MAP_??? */", hex(kind)), str::to_string);
    let huge = value & MAP_HUGE_MASK;
    let rest = value & !0xf & !MAP_HUGE_MASK;
    if rest != 0 {
        out.push('|');
        out.push_str(&flags_in(&[MAP_FLAGS_LOW, MAP_X86, MAP_FLAGS_HIGH], rest, None));
    }
    if huge != 0 {
        let _ = write!(out, "|{}<<MAP_HUGE_SHIFT", huge >> MAP_HUGE_SHIFT);
    }
    out
}

fn mount_flags(value: u64) -> String {
    // Old callers put a magic number in the high bits.
    const MS_MGC_VAL: u64 = 0xc0ed0000;
    const MS_MGC_MSK: u64 = 0xffff0000;
    if value & MS_MGC_MSK == MS_MGC_VAL {
        let rest = value & !MS_MGC_MSK;
        return if rest == 0 { "MS_MGC_VAL".to_string() } else { format!("MS_MGC_VAL|{}", flags(MOUNT_FLAGS, rest, "MS_???")) };
    }
    flags(MOUNT_FLAGS, value, "MS_???")
}

fn swap_flags(value: u64) -> String {
    let value = value as u32 as u64;
    let (priority, rest) = (value & 0x7fff, value & !0x7fff);
    if rest == 0 { priority.to_string() } else { format!("{}|{priority}", flags(SWAP_FLAGS, rest, "SWAP_FLAG_???")) }
}

fn socket_option(level: u64, option: u64, set: bool) -> String {
    let extra = if set { SO_SET_ONLY } else { SO_GET_ONLY };
    match level {
        1 => match lookup(SO_OPTIONS, option).or_else(|| lookup(extra, option)) {
            Some(name) => name.to_string(),
            None => format!("{} /* SO_??? */", hex(option)),
        },
        0 => xval(IP_OPTIONS, option, "IP_???"),
        41 => xval(IPV6_OPTIONS, option, "IPV6_???"),
        6 => match option.checked_sub(1).and_then(|i| name_at(&TCP_OPTIONS, i)) {
            Some(name) => name.to_string(),
            None => format!("{} /* TCP_??? */", hex(option)),
        },
        17 => xval(UDP_OPTIONS, option, "UDP_???"),
        270 => match option.checked_sub(1).and_then(|i| name_at(&NETLINK_OPTIONS, i)) {
            Some(name) => name.to_string(),
            None => format!("{} /* NETLINK_??? */", hex(option)),
        },
        _ => option.to_string(),
    }
}

fn futex_op(op: u32) -> String {
    let cmd = op & 127;
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let known = op & !(127 | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) == 0;
    // Only the waits take a clock.
    let clock_ok = !realtime || matches!(cmd, 0 | 9 | 11);
    match name_at(&FUTEX_CMDS, cmd as u64) {
        Some("FUTEX_FD") if known && !realtime && private => "FUTEX_FD|FUTEX_PRIVATE_FLAG".to_string(),
        Some(name) if known && clock_ok => {
            let mut out = name.to_string();
            if private {
                out.push_str("_PRIVATE");
            }
            if realtime {
                out.push_str("|FUTEX_CLOCK_REALTIME");
            }
            out
        }
        _ => format!("{} /* FUTEX_??? */", hex(op as u64)),
    }
}

/// FUTEX_WAKE_OP's encoded operation: `FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1`.
fn futex_wake_op(val3: u32) -> String {
    let mut out = String::new();
    if (val3 >> 28) & 8 != 0 {
        out.push_str("FUTEX_OP_OPARG_SHIFT<<28|");
    }
    let op = (val3 >> 28) & 7;
    match name_at(&FUTEX_WAKE_OPS, op as u64) {
        Some(name) => out.push_str(name),
        None => out.push_str(&hex(op as u64)),
    }
    out.push_str("<<28");
    if name_at(&FUTEX_WAKE_OPS, op as u64).is_none() {
        out.push_str(" /* FUTEX_OP_??? */");
    }
    let _ = write!(out, "|{}<<12|", hex(((val3 >> 12) & 0xfff) as u64));
    let cmp = (val3 >> 24) & 0xf;
    match name_at(&FUTEX_WAKE_CMPS, cmp as u64) {
        Some(name) => {
            let _ = write!(out, "{name}<<24");
        }
        None => {
            let _ = write!(out, "{}<<24 /* FUTEX_OP_CMP_??? */", hex(cmp as u64));
        }
    }
    let _ = write!(out, "|{}", hex((val3 & 0xfff) as u64));
    out
}

/// An ioctl request: its name, or strace's `_IOC(dir, type, nr, size)` decomposition.
fn ioctl_request(code: u32) -> String {
    if let Some(name) = lookup(IOCTLS, code as u64) {
        return name.to_string();
    }
    let dir = flags(IOC_DIRS, (code >> 30) as u64, "_IOC_???");
    let (kind, nr, size) = ((code >> 8) & 0xff, code & 0xff, (code >> 16) & 0x3fff);
    format!("_IOC({dir}, {}, {}, {})", hex(kind as u64), hex(nr as u64), hex(size as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENOENT: i64 = -2;
    const EBADF: i64 = -9;
    const EAGAIN: i64 = -11;
    const EFAULT: i64 = -14;
    const EINVAL: i64 = -22;

    fn view<'a>(name: &'a str, args: [u64; 6], ret: i64) -> CallView<'a> {
        CallView { name, args, ret, path: None, addr: None }
    }

    fn line(name: &str, args: [u64; 6], ret: i64) -> String {
        format_call(&view(name, args, ret), &|_| None)
    }

    fn with_path(name: &str, args: [u64; 6], ret: i64, path: &[u8]) -> String {
        format_call(&CallView { path: Some(path), ..view(name, args, ret) }, &|_| None)
    }

    fn with_addr(name: &str, args: [u64; 6], ret: i64, addr: &[u8]) -> String {
        format_call(&CallView { addr: Some(addr), ..view(name, args, ret) }, &|_| None)
    }

    fn n(v: i64) -> u64 {
        v as u64
    }

    fn c(v: i32) -> u64 {
        v as u32 as u64
    }

    fn sockaddr_in(port: u16, ip: [u8; 4]) -> Vec<u8> {
        let mut b = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        b.extend(port.to_be_bytes());
        b.extend(ip);
        b.extend([0; 8]);
        b
    }

    const AT_FDCWD: u64 = libc::AT_FDCWD as i64 as u64;

    #[test]
    fn brief_examples() {
        let openat = CallView {
            path: Some(b"/nonexistent/tracer-test"),
            ..view("openat", [n(-100), 0x1000, libc::O_RDONLY as u64, 0, 0, 0], -2)
        };
        assert_eq!(
            format_call(&openat, &|_| None),
            r#"openat(AT_FDCWD, "/nonexistent/tracer-test", O_RDONLY) = -1 ENOENT (No such file or directory)"#
        );
        let pipe = |fd| (fd == 7).then(|| "pipe".to_string());
        assert_eq!(format_call(&view("read", [7, 0x7ffd0000, 1, 0, 0, 0], 1), &pipe), "read(7<pipe>, 1) = 1");
        assert_eq!(
            with_addr("connect", [3, 0x7ffd0000, 16, 0, 0, 0], 0, &sockaddr_in(8080, [127, 0, 0, 1])),
            r#"connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = 0"#
        );
    }

    #[test]
    fn fds_are_described() {
        let describe = |fd: i32| match fd {
            3 => Some("socket 10.0.0.2:5432".to_string()),
            4 => Some("/tmp/a\nb\"c".to_string()),
            -100 | -1 => Some("never asked".to_string()),
            _ => None,
        };
        let format = |name, args, ret| format_call(&view(name, args, ret), &describe);
        assert_eq!(format("read", [3, 1, 4096, 0, 0, 0], 312), "read(3<socket 10.0.0.2:5432>, 4096) = 312");
        assert_eq!(format("write", [4, 1, 1, 0, 0, 0], 1), r#"write(4</tmp/a\nb\"c>, 1) = 1"#);
        assert_eq!(format("dup2", [3, 9, 0, 0, 0, 0], 9), "dup2(3<socket 10.0.0.2:5432>, 9) = 9");
        assert_eq!(format("close", [n(-1), 0, 0, 0, 0, 0], EBADF), "close(-1) = -1 EBADF (Bad file descriptor)");
        assert_eq!(
            format("newfstatat", [AT_FDCWD, 0, 0x1000, 0, 0, 0], EFAULT),
            "newfstatat(AT_FDCWD, NULL, 0x1000, 0) = -1 EFAULT (Bad address)"
        );
        // The fds calls return are plain numbers.
        assert_eq!(format("dup", [4, 0, 0, 0, 0, 0], 3), r#"dup(4</tmp/a\nb\"c>) = 3"#);
    }

    #[test]
    fn paths() {
        let cases: [(&[u8], &str); 4] = [
            (b"/etc/passwd\0garbage", r#""/etc/passwd""#),
            (b"a\"b\\c\n\t\x01\x017\xffz", r#""a\"b\\c\n\t\1\0017\377z""#),
            (b"/tmp/\xc3\xa9t\xc3\xa9", r#""/tmp/\303\251t\303\251""#),
            (b"", r#""""#),
        ];
        for (raw, shown) in cases {
            let expected = format!("openat(77, {shown}, O_RDONLY) = -1 EBADF (Bad file descriptor)");
            assert_eq!(with_path("openat", [77, 0x1000, 0, 0, 0, 0], EBADF, raw), expected);
        }
        // Not copied: the pointer; NULL as NULL.
        assert_eq!(
            line("openat", [AT_FDCWD, 0x1000, 3, 0, 0, 0], EFAULT),
            "openat(AT_FDCWD, 0x1000, O_ACCMODE) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            with_path("openat", [AT_FDCWD, 0, 0, 0, 0, 0], EFAULT, b"x"),
            "openat(AT_FDCWD, NULL, O_RDONLY) = -1 EFAULT (Bad address)"
        );
        // Only the argument the kernel copies is the copied path.
        assert_eq!(
            with_path("rename", [0x1000, 0x2000, 0, 0, 0, 0], ENOENT, b"/a"),
            r#"rename("/a", 0x2000) = -1 ENOENT (No such file or directory)"#
        );
        // A path that filled the kernel's copy may have been cut.
        let long = vec![b'a'; SLOW_USER_BYTES + 40];
        let shown = with_path("chdir", [0x1000, 0, 0, 0, 0, 0], 0, &long);
        assert_eq!(shown, format!("chdir(\"{}\"...) = 0", "a".repeat(SLOW_USER_BYTES)));
        let mut full = vec![b'b'; SLOW_USER_BYTES - 1];
        full.push(0);
        let shown = with_path("chdir", [0x1000, 0, 0, 0, 0, 0], 0, &full);
        assert_eq!(shown, format!("chdir(\"{}\"...) = 0", "b".repeat(SLOW_USER_BYTES - 1)));
        let shown = with_path("chdir", [0x1000, 0, 0, 0, 0, 0], 0, &full[SLOW_USER_BYTES - 200..]);
        assert_eq!(shown, format!("chdir(\"{}\") = 0", "b".repeat(199)));
    }

    #[test]
    fn open_family() {
        let o = |flags: i32| flags as u64;
        let cases = [
            (
                [AT_FDCWD, 1, o(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC), 0o644, 0, 0],
                r#"openat(AT_FDCWD, "/p", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 3"#,
            ),
            (
                [AT_FDCWD, 1, o(libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_DIRECTORY), 0, 0, 0],
                r#"openat(AT_FDCWD, "/p", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 3"#,
            ),
            (
                [n(-5), 1, o(libc::O_RDWR | libc::O_EXCL | libc::O_TMPFILE), 0o600, 0, 0],
                r#"openat(-5, "/p", O_RDWR|O_EXCL|O_TMPFILE, 0600) = 3"#,
            ),
            (
                [AT_FDCWD, 1, o(libc::O_RDWR | libc::O_APPEND | libc::O_SYNC | libc::O_NOFOLLOW | libc::O_PATH | 0x40000000), 0, 0, 0],
                r#"openat(AT_FDCWD, "/p", O_RDWR|O_APPEND|O_SYNC|O_NOFOLLOW|O_PATH|0x40000000) = 3"#,
            ),
            (
                [AT_FDCWD, 1, o(libc::O_DSYNC | libc::O_DIRECT | libc::O_NOCTTY | libc::O_ASYNC), 0, 0, 0],
                r#"openat(AT_FDCWD, "/p", O_RDONLY|O_NOCTTY|O_DSYNC|O_DIRECT|FASYNC) = 3"#,
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(with_path("openat", args, 3, b"/p"), expected);
        }
        assert_eq!(
            with_path("open", [1, o(libc::O_CREAT | libc::O_WRONLY), 0o755, 0, 0, 0], ENOENT, b"/y"),
            r#"open("/y", O_WRONLY|O_CREAT, 0755) = -1 ENOENT (No such file or directory)"#
        );
        assert_eq!(with_path("creat", [1, 0o4755, 0, 0, 0, 0], 4, b"/y"), r#"creat("/y", 04755) = 4"#);
        assert_eq!(with_path("openat2", [AT_FDCWD, 1, 0x1000, 24, 0, 0], 5, b"/y"), r#"openat2(AT_FDCWD, "/y", 0x1000, 24) = 5"#);
    }

    #[test]
    fn read_write_family() {
        let cases = [
            ("write", [4, 1, 4096, 0, 0, 0], EFAULT, "write(4, 4096) = -1 EFAULT (Bad address)"),
            ("read", [3, 1, 10, 0, 0, 0], EAGAIN, "read(3, 10) = -1 EAGAIN (Resource temporarily unavailable)"),
            ("pread64", [5, 1, 10, 12345, 0, 0], 10, "pread64(5, 10, 12345) = 10"),
            ("pwrite64", [5, 1, 10, n(-1), 0, 0], EINVAL, "pwrite64(5, 10, -1) = -1 EINVAL (Invalid argument)"),
            ("readv", [5, 1, 3, 0, 0, 0], 100, "readv(5, 3) = 100"),
            ("writev", [5, 1, 3, 0, 0, 0], 100, "writev(5, 3) = 100"),
            ("preadv", [5, 1, 3, 100, 0, 0], 1, "preadv(5, 3, 100) = 1"),
            ("pwritev2", [5, 1, 3, n(-1), 0, 0x12], 1, "pwritev2(5, 3, -1, RWF_DSYNC|RWF_APPEND) = 1"),
            ("sendfile", [6, 5, 0, 4096, 0, 0], 4096, "sendfile(6, 5, NULL, 4096) = 4096"),
            ("sendfile", [6, 5, 0x1000, 4096, 0, 0], EFAULT, "sendfile(6, 5, 0x1000, 4096) = -1 EFAULT (Bad address)"),
            ("splice", [6, 0, 5, 0x1000, 65536, 5], 10, "splice(6, NULL, 5, 0x1000, 65536, SPLICE_F_MOVE|SPLICE_F_MORE) = 10"),
            ("sendmsg", [6, 0x1000, 0x4000, 0, 0, 0], 5, "sendmsg(6, 0x1000, MSG_NOSIGNAL) = 5"),
            ("recvmsg", [6, 0x1000, 0x40000100, 0, 0, 0], 5, "recvmsg(6, 0x1000, MSG_WAITALL|MSG_CMSG_CLOEXEC) = 5"),
            (
                "recvfrom",
                [6, 1, 100, 0x4040, 0, 0],
                EAGAIN,
                "recvfrom(6, 100, MSG_DONTWAIT|MSG_NOSIGNAL, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)",
            ),
            (
                "recvfrom",
                [6, 1, 100, 0x100000, 0x2000, 0x3000],
                EBADF,
                "recvfrom(6, 100, 0x100000 /* MSG_??? */, 0x2000, 0x3000) = -1 EBADF (Bad file descriptor)",
            ),
        ];
        for (name, args, ret, expected) in cases {
            assert_eq!(line(name, args, ret), expected);
        }
        let from = sockaddr_in(4444, [10, 1, 2, 3]);
        assert_eq!(
            with_addr("recvfrom", [6, 1, 16, 0x40, 0x2000, 0x3000], 2, &from),
            r#"recvfrom(6, 16, MSG_DONTWAIT, {sa_family=AF_INET, sin_port=htons(4444), sin_addr=inet_addr("10.1.2.3")}, [16]) = 2"#
        );
        assert_eq!(
            with_addr("sendto", [6, 1, 10, 0x40, 0x2000, 16], 10, &from),
            r#"sendto(6, 10, MSG_DONTWAIT, {sa_family=AF_INET, sin_port=htons(4444), sin_addr=inet_addr("10.1.2.3")}, 16) = 10"#
        );
        assert_eq!(
            line("sendto", [6, 1, 10, 0, 0, 0], -89),
            "sendto(6, 10, 0, NULL, 0) = -1 EDESTADDRREQ (Destination address required)"
        );
    }

    #[test]
    fn sockets() {
        let cases = [
            (
                "socket",
                [c(libc::AF_INET), c(libc::SOCK_STREAM | libc::SOCK_CLOEXEC), 6, 0, 0, 0],
                7,
                "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 7",
            ),
            (
                "socket",
                [c(libc::AF_INET6), c(libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC), 0, 0, 0, 0],
                8,
                "socket(AF_INET6, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 8",
            ),
            ("socket", [1, 5, 0, 0, 0, 0], 9, "socket(AF_UNIX, SOCK_SEQPACKET, 0) = 9"),
            (
                "socket",
                [16, c(libc::SOCK_RAW | libc::SOCK_CLOEXEC), 0, 0, 0, 0],
                11,
                "socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 11",
            ),
            ("socket", [17, 3, 0x300, 0, 0, 0], 13, "socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) = 13"),
            (
                "socket",
                [99, 15, 0, 0, 0, 0],
                -97,
                "socket(0x63 /* AF_??? */, 0xf /* SOCK_??? */, 0) = -1 EAFNOSUPPORT (Address family not supported by protocol)",
            ),
            (
                "socket",
                [2, 0x101, 999, 0, 0, 0],
                EINVAL,
                "socket(AF_INET, SOCK_STREAM|0x100 /* SOCK_??? */, 0x3e7 /* IPPROTO_??? */) = -1 EINVAL (Invalid argument)",
            ),
            ("listen", [5, 4096, 0, 0, 0, 0], 0, "listen(5, 4096) = 0"),
            ("shutdown", [5, 1, 0, 0, 0, 0], 0, "shutdown(5, SHUT_WR) = 0"),
            ("shutdown", [5, 7, 0, 0, 0, 0], EINVAL, "shutdown(5, 0x7 /* SHUT_??? */) = -1 EINVAL (Invalid argument)"),
            ("accept", [5, 0, 0, 0, 0, 0], 6, "accept(5, NULL, NULL) = 6"),
            (
                "accept4",
                [5, 0, 0, c(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK), 0, 0],
                6,
                "accept4(5, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK) = 6",
            ),
            (
                "accept4",
                [5, 0x1000, 0x2000, 0, 0, 0],
                EAGAIN,
                "accept4(5, 0x1000, 0x2000, 0) = -1 EAGAIN (Resource temporarily unavailable)",
            ),
            ("setsockopt", [5, 1, 2, 0x1000, 4, 0], 0, "setsockopt(5, SOL_SOCKET, SO_REUSEADDR, 0x1000, 4) = 0"),
            ("setsockopt", [5, 6, 1, 0x1000, 4, 0], 0, "setsockopt(5, SOL_TCP, TCP_NODELAY, 0x1000, 4) = 0"),
            ("setsockopt", [5, 41, 26, 0x1000, 4, 0], 0, "setsockopt(5, SOL_IPV6, IPV6_V6ONLY, 0x1000, 4) = 0"),
            ("setsockopt", [5, 1, 26, 0x1000, 16, 0], 0, "setsockopt(5, SOL_SOCKET, SO_ATTACH_FILTER, 0x1000, 16) = 0"),
            (
                "setsockopt",
                [5, 1, 999, 0x1000, 4, 0],
                -92,
                "setsockopt(5, SOL_SOCKET, 0x3e7 /* SO_??? */, 0x1000, 4) = -1 ENOPROTOOPT (Protocol not available)",
            ),
            (
                "setsockopt",
                [5, 1234, 5, 0x1000, 4, 0],
                -92,
                "setsockopt(5, 0x4d2 /* SOL_?? */, 5, 0x1000, 4) = -1 ENOPROTOOPT (Protocol not available)",
            ),
            ("getsockopt", [5, 1, 4, 0x1000, 0x2000, 0], 0, "getsockopt(5, SOL_SOCKET, SO_ERROR, 0x1000, 0x2000) = 0"),
            ("getsockopt", [5, 1, 26, 0x1000, 0x2000, 0], 0, "getsockopt(5, SOL_SOCKET, SO_GET_FILTER, 0x1000, 0x2000) = 0"),
        ];
        for (name, args, ret, expected) in cases {
            assert_eq!(line(name, args, ret), expected);
        }
        assert_eq!(
            with_addr("accept4", [5, 0x1000, 0x2000, c(libc::SOCK_CLOEXEC), 0, 0], 26, &sockaddr_in(33476, [127, 0, 0, 1])),
            r#"accept4(5, {sa_family=AF_INET, sin_port=htons(33476), sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC) = 26"#
        );
        assert_eq!(
            with_addr("getpeername", [5, 0x1000, 0x2000, 0, 0, 0], 0, &[1, 0]),
            "getpeername(5, {sa_family=AF_UNIX}, [2]) = 0"
        );
        // After a failure the kernel wrote nothing: the pointers.
        assert_eq!(
            with_addr("getsockname", [5, 0x1000, 0x2000, 0, 0, 0], EBADF, &[2, 0]),
            "getsockname(5, 0x1000, 0x2000) = -1 EBADF (Bad file descriptor)"
        );
    }

    #[test]
    fn socket_addresses() {
        let mut in6 = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
        in6.extend(443u16.to_be_bytes());
        in6.extend(5u32.to_be_bytes());
        in6.extend(std::net::Ipv6Addr::LOCALHOST.octets());
        in6.extend(0u32.to_ne_bytes());
        let mut unix = vec![1, 0];
        unix.extend(b"/run/x.sock\0\0\0");
        let mut abstract_name = vec![1, 0, 0];
        abstract_name.extend(b"abstract\n1");
        let ipv6 = |text: &str| {
            let mut b = in6.clone();
            b[8..24].copy_from_slice(&text.parse::<std::net::Ipv6Addr>().unwrap().octets());
            b
        };
        let cases: [(Vec<u8>, &str); 11] = [
            (
                in6.clone(),
                r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}"#,
            ),
            (
                in6[..24].to_vec(),
                r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "::1", &sin6_addr)}"#,
            ),
            (
                ipv6("2001:db8::ff00:42:8329"),
                r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "2001:db8::ff00:42:8329", &sin6_addr), sin6_scope_id=0}"#,
            ),
            (
                ipv6("::ffff:10.1.2.3"),
                r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6_addr), sin6_scope_id=0}"#,
            ),
            (
                ipv6("::1.2.3.4"),
                r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "::1.2.3.4", &sin6_addr), sin6_scope_id=0}"#,
            ),
            (
                ipv6("1:0:0:2:0:0:0:3"),
                r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "1:0:0:2::3", &sin6_addr), sin6_scope_id=0}"#,
            ),
            (unix.clone(), r#"{sa_family=AF_UNIX, sun_path="/run/x.sock"}"#),
            (abstract_name, r#"{sa_family=AF_UNIX, sun_path=@"abstract\n1"}"#),
            (vec![16, 0, 0, 0, 0x39, 0x30, 0, 0, 5, 0, 0, 0], "{sa_family=AF_NETLINK, nl_pid=12345, nl_groups=0x000005}"),
            (sockaddr_in(8080, [127, 0, 0, 1])[..8].to_vec(), r#"{sa_family=AF_INET, sa_data="\37\220\177\0\0\1"}"#),
            (vec![0x99, 0, 1, 2, 3, 0x37], r#"{sa_family=0x99 /* AF_??? */, sa_data="\1\2\0037"}"#),
        ];
        for (bytes, shown) in cases {
            let len = bytes.len() as u64;
            assert_eq!(with_addr("bind", [5, 0x1000, len, 0, 0, 0], 0, &bytes), format!("bind(5, {shown}, {len}) = 0"));
        }
        assert_eq!(
            with_addr("connect", [5, 0x1000, 16, 0, 0, 0], EBADF, &[2]),
            "connect(5, 0x1000, 16) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            with_addr("connect", [5, 0x1000, 1, 0, 0, 0], EINVAL, &[2, 0]),
            "connect(5, 0x1000, 1) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(line("connect", [5, 0x1000, 16, 0, 0, 0], EFAULT), "connect(5, 0x1000, 16) = -1 EFAULT (Bad address)");
        // A shorter length than the copy: only that much is the address.
        assert_eq!(
            with_addr("connect", [5, 0x1000, 7, 0, 0, 0], EBADF, &unix),
            r#"connect(5, {sa_family=AF_UNIX, sun_path="/run/"}, 7) = -1 EBADF (Bad file descriptor)"#
        );
    }

    #[test]
    fn garbage_never_panics() {
        // xorshift: deterministic and dependency-free.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut names: Vec<&str> = vec!["no_such_call", "", "exit", "rt_sigreturn"];
        names.extend(syscalls::x86_64::Sysno::iter().map(|s| s.name()));
        names.extend(syscalls::aarch64::Sysno::iter().map(|s| s.name()));
        let describe = |fd: i32| (fd % 3 == 0).then(|| "\u{7f}<weird>\0".to_string());
        for name in names {
            for round in 0..40 {
                let mut args = [0u64; 6];
                for arg in &mut args {
                    *arg = match next() % 4 {
                        0 => next() % 16,
                        1 => next() as u32 as u64,
                        2 => ((next() % 2048) as i64 - 1024) as u64,
                        _ => next(),
                    };
                }
                let ret = match round % 4 {
                    0 => -((next() % 4200) as i64),
                    1 => next() as i64,
                    2 => i64::MIN,
                    _ => (next() % 100) as i64,
                };
                let mut bytes = vec![0u8; (next() % 300) as usize];
                bytes.iter_mut().for_each(|b| *b = next() as u8);
                if bytes.len() >= 2 && round % 3 == 0 {
                    bytes[0] = [1, 2, 10, 16, 17, 44, 99][round % 7];
                    bytes[1] = 0;
                }
                let call = CallView { name, args, ret, path: Some(&bytes), addr: Some(&bytes) };
                let shown = format_call(&call, &describe);
                assert!(shown.starts_with(name) && !shown.contains('\n'), "{shown}");
            }
        }
    }

    #[test]
    fn every_copied_argument_is_shown() {
        let mut names: Vec<&str> = syscalls::x86_64::Sysno::iter().map(|s| s.name()).collect();
        names.extend(syscalls::aarch64::Sysno::iter().map(|s| s.name()));
        let address = sockaddr_in(5432, [10, 0, 0, 2]);
        for name in names {
            let mut args = [0x7ffd0000; 6];
            let (shown, expected) = match user_arg(name) {
                UserArg::None => continue,
                UserArg::Path { arg } => {
                    args[usize::from(arg)] = 0x7ffd1000;
                    (with_path(name, args, 0, b"/marker"), "\"/marker\"")
                }
                UserArg::Sockaddr { len, len_is_ptr, .. } => {
                    if !len_is_ptr {
                        args[usize::from(len)] = 16;
                    }
                    (with_addr(name, args, 0, &address), r#"inet_addr("10.0.0.2")"#)
                }
            };
            assert!(shown.contains(expected), "{shown}");
        }
    }

    #[test]
    fn futex() {
        let cases = [
            (
                [0x1000, 128, 2, 0, 0, 0],
                EAGAIN,
                "futex(0x1000, FUTEX_WAIT_PRIVATE, 2, NULL) = -1 EAGAIN (Resource temporarily unavailable)",
            ),
            ([0x1000, 0, 0, 0x2000, 0, 0], -110, "futex(0x1000, FUTEX_WAIT, 0, 0x2000) = -1 ETIMEDOUT (Connection timed out)"),
            ([0x1000, 129, 1, 0, 0, 0], 1, "futex(0x1000, FUTEX_WAKE_PRIVATE, 1) = 1"),
            (
                [0x1000, 128 | 256 | 9, 0, 0x2000, 0, 0xffffffff],
                0,
                "futex(0x1000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, 0x2000, FUTEX_BITSET_MATCH_ANY) = 0",
            ),
            ([0x1000, 9, 0, 0, 0, 5], 0, "futex(0x1000, FUTEX_WAIT_BITSET, 0, NULL, 0x5) = 0"),
            (
                [0x1000, 128 | 10, 1, 0, 0, 0xffffffff],
                0,
                "futex(0x1000, FUTEX_WAKE_BITSET_PRIVATE, 1, FUTEX_BITSET_MATCH_ANY) = 0",
            ),
            ([0x1000, 128 | 6, 0, 0, 0, 0], 0, "futex(0x1000, FUTEX_LOCK_PI_PRIVATE, NULL) = 0"),
            ([0x1000, 7, 0, 0, 0, 0], 0, "futex(0x1000, FUTEX_UNLOCK_PI) = 0"),
            (
                [0x1000, 128 | 5, 1, 1, 0x2000, 0x04000001],
                1,
                "futex(0x1000, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x2000, FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1) = 1",
            ),
            (
                [0x1000, 5, 1, 1, 0x2000, 0xffffffff],
                EFAULT,
                "futex(0x1000, FUTEX_WAKE_OP, 1, 1, 0x2000, FUTEX_OP_OPARG_SHIFT<<28|0x7<<28 /* FUTEX_OP_??? */|0xfff<<12|0xf<<24 /* FUTEX_OP_CMP_??? */|0xfff) = -1 EFAULT (Bad address)",
            ),
            ([0x1000, 128 | 3, 1, 10, 0x2000, 0], 0, "futex(0x1000, FUTEX_REQUEUE_PRIVATE, 1, 10, 0x2000) = 0"),
            ([0x1000, 4, 1, 10, 0x2000, 7], 0, "futex(0x1000, FUTEX_CMP_REQUEUE, 1, 10, 0x2000, 7) = 0"),
            ([0x1000, 11, 1, 0x3000, 0x2000, 7], 0, "futex(0x1000, FUTEX_WAIT_REQUEUE_PI, 1, 0x3000, 0x2000) = 0"),
            ([0x1000, 0x101, 1, 0, 0, 0], -38, "futex(0x1000, 0x101 /* FUTEX_??? */, 1) = -1 ENOSYS (Function not implemented)"),
            (
                [0x1000, 99, 1, 0x3000, 0x2000, 7],
                -38,
                "futex(0x1000, 0x63 /* FUTEX_??? */, 1, 0x3000, 0x2000, 0x7) = -1 ENOSYS (Function not implemented)",
            ),
            (
                [0x1000, 130, 1, 0, 0, 0],
                -38,
                "futex(0x1000, FUTEX_FD|FUTEX_PRIVATE_FLAG, 1) = -1 ENOSYS (Function not implemented)",
            ),
        ];
        for (args, ret, expected) in cases {
            assert_eq!(line("futex", args, ret), expected);
        }
    }

    #[test]
    fn polling_and_sleeping() {
        let cases = [
            ("epoll_create1", [c(libc::EPOLL_CLOEXEC), 0, 0, 0, 0, 0], 4, "epoll_create1(EPOLL_CLOEXEC) = 4"),
            ("epoll_ctl", [4, 1, 5, 0x1000, 0, 0], 0, "epoll_ctl(4, EPOLL_CTL_ADD, 5, 0x1000) = 0"),
            ("epoll_ctl", [4, 2, 5, 0, 0, 0], 0, "epoll_ctl(4, EPOLL_CTL_DEL, 5, NULL) = 0"),
            ("epoll_wait", [4, 0x1000, 128, n(-1), 0, 0], 1, "epoll_wait(4, 0x1000, 128, -1) = 1"),
            ("epoll_pwait", [4, 0x1000, 128, 1000, 0, 8], 0, "epoll_pwait(4, 0x1000, 128, 1000, NULL, 8) = 0"),
            ("epoll_pwait2", [4, 0x1000, 128, 0x2000, 0x3000, 8], 0, "epoll_pwait2(4, 0x1000, 128, 0x2000, 0x3000, 8) = 0"),
            ("poll", [0x1000, 2, 1000, 0, 0, 0], 0, "poll(0x1000, 2, 1000) = 0 (Timeout)"),
            ("poll", [0x1000, 2, n(-1), 0, 0, 0], 1, "poll(0x1000, 2, -1) = 1"),
            ("ppoll", [0x1000, 2, 0, 0, 8, 0], 1, "ppoll(0x1000, 2, NULL, NULL, 8) = 1"),
            ("select", [5, 0x1000, 0x2000, 0x3000, 0x4000, 0], 0, "select(5, 0x1000, 0x2000, 0x3000, 0x4000) = 0 (Timeout)"),
            ("pselect6", [5, 0x1000, 0, 0, 0x4000, 0x3000], 1, "pselect6(5, 0x1000, NULL, NULL, 0x4000, 0x3000) = 1"),
            ("nanosleep", [0x1000, 0, 0, 0, 0, 0], 0, "nanosleep(0x1000, NULL) = 0"),
            ("clock_nanosleep", [1, 0, 0x1000, 0x2000, 0, 0], 0, "clock_nanosleep(CLOCK_MONOTONIC, 0, 0x1000, 0x2000) = 0"),
            ("clock_nanosleep", [0, 1, 0x1000, 0, 0, 0], 0, "clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, 0x1000, NULL) = 0"),
            (
                "clock_nanosleep",
                [99, 3, 0x1000, 0, 0, 0],
                EINVAL,
                "clock_nanosleep(0x63 /* CLOCK_??? */, TIMER_ABSTIME|0x2, 0x1000, NULL) = -1 EINVAL (Invalid argument)",
            ),
            (
                "clock_nanosleep",
                [n(-6), 0, 0x1000, 0, 0, 0],
                EINVAL,
                "clock_nanosleep(0xfffffffa /* CLOCK_??? */, 0, 0x1000, NULL) = -1 EINVAL (Invalid argument)",
            ),
        ];
        for (name, args, ret, expected) in cases {
            assert_eq!(line(name, args, ret), expected);
        }
    }

    #[test]
    fn signals() {
        let cases = [
            ("kill", [1234, 15, 0, 0, 0, 0], 0, "kill(1234, SIGTERM) = 0"),
            ("kill", [1234, 0, 0, 0, 0, 0], -3, "kill(1234, 0) = -1 ESRCH (No such process)"),
            ("kill", [1234, 32, 0, 0, 0, 0], 0, "kill(1234, SIGRTMIN) = 0"),
            ("kill", [1234, 34, 0, 0, 0, 0], 0, "kill(1234, SIGRT_2) = 0"),
            ("kill", [1234, 64, 0, 0, 0, 0], 0, "kill(1234, SIGRT_32) = 0"),
            ("kill", [1234, 65, 0, 0, 0, 0], EINVAL, "kill(1234, 65) = -1 EINVAL (Invalid argument)"),
            ("kill", [n(-1), n(-3), 0, 0, 0, 0], EINVAL, "kill(-1, -3) = -1 EINVAL (Invalid argument)"),
            ("tgkill", [100, 101, 10, 0, 0, 0], 0, "tgkill(100, 101, SIGUSR1) = 0"),
            ("tkill", [101, 9, 0, 0, 0, 0], 0, "tkill(101, SIGKILL) = 0"),
            ("rt_sigaction", [2, 0x1000, 0x2000, 8, 0, 0], 0, "rt_sigaction(SIGINT, 0x1000, 0x2000, 8) = 0"),
            (
                "rt_sigaction",
                [99, 0, 0x2000, 8, 0, 0],
                EINVAL,
                "rt_sigaction(99, NULL, 0x2000, 8) = -1 EINVAL (Invalid argument)",
            ),
            ("rt_sigprocmask", [0, 0x1000, 0x2000, 8, 0, 0], 0, "rt_sigprocmask(SIG_BLOCK, 0x1000, 0x2000, 8) = 0"),
            ("rt_sigprocmask", [2, 0, 0x2000, 8, 0, 0], 0, "rt_sigprocmask(SIG_SETMASK, NULL, 0x2000, 8) = 0"),
            (
                "rt_sigprocmask",
                [7, 0x1000, 0, 8, 0, 0],
                EINVAL,
                "rt_sigprocmask(0x7 /* SIG_??? */, 0x1000, NULL, 8) = -1 EINVAL (Invalid argument)",
            ),
            ("rt_sigtimedwait", [0x1000, 0, 0, 8, 0, 0], 15, "rt_sigtimedwait(0x1000, NULL, NULL, 8) = 15 (SIGTERM)"),
            (
                "rt_sigtimedwait",
                [0x1000, 0x2000, 0x3000, 8, 0, 0],
                EAGAIN,
                "rt_sigtimedwait(0x1000, 0x2000, 0x3000, 8) = -1 EAGAIN (Resource temporarily unavailable)",
            ),
            ("rt_sigreturn", [1, 2, 3, 4, 5, 6], 0, "rt_sigreturn() = 0"),
            (
                "rt_sigsuspend",
                [0x1000, 8, 0, 0, 0, 0],
                -514,
                "rt_sigsuspend(0x1000, 8) = ? ERESTARTNOHAND (To be restarted if no handler)",
            ),
        ];
        for (name, args, ret, expected) in cases {
            assert_eq!(line(name, args, ret), expected);
        }
    }

    #[test]
    fn results() {
        let cases = [
            ("read", [3, 1, 10, 0, 0, 0], -512, "read(3, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)"),
            (
                "clone",
                [c(libc::SIGCHLD), 0, 0, 0, 0, 0],
                -513,
                "clone(child_stack=NULL, flags=SIGCHLD) = ? ERESTARTNOINTR (To be restarted)",
            ),
            (
                "nanosleep",
                [0x1000, 0x2000, 0, 0, 0, 0],
                -516,
                "nanosleep(0x1000, 0x2000) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)",
            ),
            ("ioctl", [3, 0x5401, 0x1000, 0, 0, 0], -515, "ioctl(3, TCGETS, 0x1000) = -1 ENOIOCTLCMD (Unknown error 515)"),
            ("read", [3, 1, 10, 0, 0, 0], -524, "read(3, 10) = -1 ENOTSUPP (Unknown error 524)"),
            ("read", [3, 1, 10, 0, 0, 0], -4000, "read(3, 10) = -1 (errno 4000)"),
            ("read", [3, 1, 10, 0, 0, 0], -4096, "read(3, 10) = -4096"),
            ("exit_group", [0, 0, 0, 0, 0, 0], 0, "exit_group(0) = ?"),
            ("exit", [n(-1), 0, 0, 0, 0, 0], 0, "exit(-1) = ?"),
            ("brk", [0, 0, 0, 0, 0, 0], 0x560a4c2f4000, "brk(NULL) = 0x560a4c2f4000"),
            ("getpid", [0, 0, 0, 0, 0, 0], 6338, "getpid() = 6338"),
            ("gettid", [0, 0, 0, 0, 0, 0], 6338, "gettid() = 6338"),
            ("getppid", [0, 0, 0, 0, 0, 0], 6335, "getppid() = 6335"),
            ("sched_yield", [0, 0, 0, 0, 0, 0], 0, "sched_yield() = 0"),
            ("umask", [0o22, 0, 0, 0, 0, 0], 0o22, "umask(022) = 022"),
        ];
        for (name, args, ret, expected) in cases {
            assert_eq!(line(name, args, ret), expected);
        }
    }

    #[test]
    fn processes() {
        let cases = [
            ("wait4", [n(-1), 0, 1, 0, 0, 0], -10, "wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD (No child processes)"),
            (
                "wait4",
                [123, 0x1000, 0x4000000b, 0x2000, 0, 0],
                123,
                "wait4(123, 0x1000, WNOHANG|WSTOPPED|WCONTINUED|__WALL, 0x2000) = 123",
            ),
            ("waitid", [1, 123, 0x1000, 5, 0, 0], 0, "waitid(P_PID, 123, 0x1000, WNOHANG|WEXITED, NULL) = 0"),
            (
                "waitid",
                [9, 99, 0x1000, 0x100, 0, 0],
                EINVAL,
                "waitid(0x9 /* P_??? */, 99, 0x1000, 0x100 /* W??? */, NULL) = -1 EINVAL (Invalid argument)",
            ),
            ("clone3", [0x1000, 88, 0, 0, 0, 0], 1235, "clone3(0x1000, 88) = 1235"),
            (
                "clone",
                [c(libc::CLONE_NEWNS | libc::CLONE_FS | libc::SIGCHLD), 0, 0, 0, 0, 0],
                EINVAL,
                "clone(child_stack=NULL, flags=CLONE_FS|CLONE_NEWNS|SIGCHLD) = -1 EINVAL (Invalid argument)",
            ),
            (
                "clone",
                [c(libc::CLONE_THREAD) | 0x400000, 0x1000, 0, 0, 0, 0],
                EINVAL,
                "clone(child_stack=0x1000, flags=CLONE_THREAD|0x400000) = -1 EINVAL (Invalid argument)",
            ),
            (
                "execve",
                [0x1000, 0x2000, 0x3000, 0, 0, 0],
                ENOENT,
                "execve(0x1000, 0x2000, 0x3000) = -1 ENOENT (No such file or directory)",
            ),
            ("prctl", [15, 0x1000, 0, 0, 0, 0], 0, "prctl(PR_SET_NAME, 0x1000) = 0"),
            ("prctl", [1, 9, 0, 0, 0, 0], 0, "prctl(PR_SET_PDEATHSIG, SIGKILL) = 0"),
            ("prctl", [3, 0, 0, 0, 0, 0], 1, "prctl(PR_GET_DUMPABLE) = 1 (SUID_DUMP_USER)"),
            ("prctl", [38, 1, 0, 0, 0, 0], 0, "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) = 0"),
            ("prctl", [39, 0, 0, 0, 0, 0], 0, "prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) = 0"),
            ("prctl", [23, 12, 0, 0, 0, 0], 1, "prctl(PR_CAPBSET_READ, CAP_NET_ADMIN) = 1"),
            ("prctl", [22, 2, 0x1000, 0, 0, 0], 0, "prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, 0x1000) = 0"),
            (
                "prctl",
                [0x53564d41, 0, 0x1000, 4096, 0x2000, 0],
                0,
                "prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x1000, 4096, 0x2000) = 0",
            ),
            (
                "prctl",
                [0x9999, 1, 2, 3, 4, 0],
                EINVAL,
                "prctl(0x9999 /* PR_??? */, 0x1, 0x2, 0x3, 0x4) = -1 EINVAL (Invalid argument)",
            ),
        ];
        for (name, args, ret, expected) in cases {
            assert_eq!(line(name, args, ret), expected);
        }
        assert_eq!(
            with_path("execve", [0x1000, 0x2000, 0x3000, 0, 0, 0], 0, b"/bin/true"),
            r#"execve("/bin/true", 0x2000, 0x3000) = 0"#
        );
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn clone_thread_x86_64() {
        let flags = libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD
            | libc::CLONE_SYSVSEM
            | libc::CLONE_SETTLS
            | libc::CLONE_PARENT_SETTID
            | libc::CLONE_CHILD_CLEARTID;
        assert_eq!(
            line("clone", [c(flags), 0x7f00, 0x7f10, 0x7f20, 0x7f30, 0], 1235),
            "clone(child_stack=0x7f00, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|\
             CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=0x7f10, tls=0x7f30, child_tidptr=0x7f20) = 1235"
        );
        let flags = libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD;
        assert_eq!(
            line("clone", [c(flags), 0, 0, 0x7f20, 0, 0], 1236),
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f20) = 1236"
        );
    }

    #[test]
    fn files() {
        let cases = [
            ("close", [3, 0, 0, 0, 0, 0], 0, "close(3) = 0"),
            ("dup", [3, 0, 0, 0, 0, 0], 4, "dup(3) = 4"),
            ("dup2", [3, 100, 0, 0, 0, 0], 100, "dup2(3, 100) = 100"),
            ("dup3", [3, 100, c(libc::O_CLOEXEC), 0, 0, 0], 100, "dup3(3, 100, O_CLOEXEC) = 100"),
            ("dup3", [3, 100, 0, 0, 0, 0], 100, "dup3(3, 100, 0) = 100"),
            ("fcntl", [3, 3, 0, 0, 0, 0], 0x800, "fcntl(3, F_GETFL) = 0x800 (flags O_RDONLY|O_NONBLOCK)"),
            ("fcntl", [3, 1, 0, 0, 0, 0], 0, "fcntl(3, F_GETFD) = 0"),
            ("fcntl", [3, 1, 0, 0, 0, 0], 1, "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)"),
            ("fcntl", [3, 2, 1, 0, 0, 0], 0, "fcntl(3, F_SETFD, FD_CLOEXEC) = 0"),
            ("fcntl", [3, 4, c(libc::O_RDONLY | libc::O_NONBLOCK), 0, 0, 0], 0, "fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK) = 0"),
            ("fcntl", [3, 7, 0x1000, 0, 0, 0], 0, "fcntl(3, F_SETLKW, 0x1000) = 0"),
            ("fcntl", [3, 1030, 3, 0, 0, 0], 5, "fcntl(3, F_DUPFD_CLOEXEC, 3) = 5"),
            ("fcntl", [3, 1032, 0, 0, 0, 0], 65536, "fcntl(3, F_GETPIPE_SZ) = 65536"),
            ("fcntl", [3, 1033, 9, 0, 0, 0], 0, "fcntl(3, F_ADD_SEALS, F_SEAL_SEAL|F_SEAL_WRITE) = 0"),
            ("fcntl", [3, 0x999, 0x1234, 0, 0, 0], EINVAL, "fcntl(3, 0x999 /* F_??? */, 0x1234) = -1 EINVAL (Invalid argument)"),
            ("ioctl", [1, 0x5401, 0x1000, 0, 0, 0], 0, "ioctl(1, TCGETS, 0x1000) = 0"),
            ("ioctl", [3, 0x541b, 0x1000, 0, 0, 0], 0, "ioctl(3, FIONREAD, 0x1000) = 0"),
            (
                "ioctl",
                [3, 0xc0081234, 0x1000, 0, 0, 0],
                -25,
                "ioctl(3, _IOC(_IOC_READ|_IOC_WRITE, 0x12, 0x34, 0x8), 0x1000) = -1 ENOTTY (Inappropriate ioctl for device)",
            ),
            (
                "ioctl",
                [3, 0x1234, 0, 0, 0, 0],
                -25,
                "ioctl(3, _IOC(_IOC_NONE, 0x12, 0x34, 0), 0) = -1 ENOTTY (Inappropriate ioctl for device)",
            ),
            ("lseek", [3, 0, 0, 0, 0, 0], 0, "lseek(3, 0, SEEK_SET) = 0"),
            ("lseek", [3, n(-100), 2, 0, 0, 0], 900, "lseek(3, -100, SEEK_END) = 900"),
            ("fsync", [3, 0, 0, 0, 0, 0], 0, "fsync(3) = 0"),
            ("fdatasync", [3, 0, 0, 0, 0, 0], 0, "fdatasync(3) = 0"),
            ("ftruncate", [3, 4096, 0, 0, 0, 0], 0, "ftruncate(3, 4096) = 0"),
            ("fstat", [3, 0x1000, 0, 0, 0, 0], 0, "fstat(3, 0x1000) = 0"),
            ("flock", [3, 6, 0, 0, 0, 0], EAGAIN, "flock(3, LOCK_EX|LOCK_NB) = -1 EAGAIN (Resource temporarily unavailable)"),
            ("getdents64", [3, 0x1000, 32768, 0, 0, 0], 0, "getdents64(3, 0x1000, 32768) = 0"),
        ];
        for (name, args, ret, expected) in cases {
            assert_eq!(line(name, args, ret), expected);
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn largefile_x86_64() {
        assert_eq!(line("fcntl", [3, 3, 0, 0, 0, 0], 0x8002), "fcntl(3, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)");
    }

    #[test]
    fn path_calls() {
        let cases = [
            ("newfstatat", [AT_FDCWD, 1, 0x1000, 0, 0, 0], "newfstatat(AT_FDCWD, \"/p\", 0x1000, 0)"),
            ("newfstatat", [3, 1, 0x1000, 0x1100, 0, 0], "newfstatat(3, \"/p\", 0x1000, AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH)"),
            (
                "statx",
                [AT_FDCWD, 1, 0x100, 0x7ff, 0x1000, 0],
                "statx(AT_FDCWD, \"/p\", AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, 0x1000)",
            ),
            ("statx", [3, 1, 0x5000, 0xfff, 0x1000, 0], "statx(3, \"/p\", AT_STATX_DONT_SYNC|AT_EMPTY_PATH, STATX_ALL, 0x1000)"),
            (
                "statx",
                [3, 1, 0, 0x1003, 0x1000, 0],
                "statx(3, \"/p\", AT_STATX_SYNC_AS_STAT, STATX_TYPE|STATX_MODE|STATX_MNT_ID, 0x1000)",
            ),
            ("stat", [1, 0x1000, 0, 0, 0, 0], "stat(\"/p\", 0x1000)"),
            ("access", [1, 6, 0, 0, 0, 0], "access(\"/p\", R_OK|W_OK)"),
            ("access", [1, 0, 0, 0, 0, 0], "access(\"/p\", F_OK)"),
            ("faccessat2", [AT_FDCWD, 1, 1, 0x300, 0, 0], "faccessat2(AT_FDCWD, \"/p\", X_OK, AT_SYMLINK_NOFOLLOW|AT_EACCESS)"),
            ("execveat", [3, 1, 0x1000, 0x2000, 0x1000, 0], "execveat(3, \"/p\", 0x1000, 0x2000, AT_EMPTY_PATH)"),
            ("readlinkat", [AT_FDCWD, 1, 0x1000, 4096, 0, 0], "readlinkat(AT_FDCWD, \"/p\", 0x1000, 4096)"),
            ("unlinkat", [AT_FDCWD, 1, 0x200, 0, 0, 0], "unlinkat(AT_FDCWD, \"/p\", AT_REMOVEDIR)"),
            ("mkdir", [1, 0o1777, 0, 0, 0, 0], "mkdir(\"/p\", 01777)"),
            (
                "renameat2",
                [AT_FDCWD, 1, AT_FDCWD, 0x1000, 5, 0],
                "renameat2(AT_FDCWD, \"/p\", AT_FDCWD, 0x1000, RENAME_NOREPLACE|RENAME_WHITEOUT)",
            ),
            ("chmod", [1, 0, 0, 0, 0, 0], "chmod(\"/p\", 000)"),
            ("chown", [1, 1000, c(-1), 0, 0, 0], "chown(\"/p\", 1000, -1)"),
            ("fchownat", [AT_FDCWD, 1, 1, 2, 0x100, 0], "fchownat(AT_FDCWD, \"/p\", 1, 2, AT_SYMLINK_NOFOLLOW)"),
            ("symlinkat", [1, AT_FDCWD, 0x1000, 0, 0, 0], "symlinkat(\"/p\", AT_FDCWD, 0x1000)"),
            ("mknod", [1, 0o20600, 0x103, 0, 0, 0], "mknod(\"/p\", S_IFCHR|0600, makedev(0x1, 0x3))"),
            ("mknod", [1, 0o14644, 0, 0, 0, 0], "mknod(\"/p\", S_IFIFO|S_ISUID|0644)"),
            (
                "mknodat",
                [AT_FDCWD, 1, 0o60600, 0x10010307, 0, 0],
                "mknodat(AT_FDCWD, \"/p\", S_IFBLK|0600, makedev(0x103, 0x10007))",
            ),
            ("mknodat", [AT_FDCWD, 1, 0o100000, 0, 0, 0], "mknodat(AT_FDCWD, \"/p\", S_IFREG|000)"),
            ("utimensat", [AT_FDCWD, 1, 0x1000, 0x100, 0, 0], "utimensat(AT_FDCWD, \"/p\", 0x1000, AT_SYMLINK_NOFOLLOW)"),
            ("setxattr", [1, 0x1000, 0x2000, 100, 1, 0], "setxattr(\"/p\", 0x1000, 0x2000, 100, XATTR_CREATE)"),
            (
                "inotify_add_watch",
                [3, 1, 0x100000a, 0, 0, 0],
                "inotify_add_watch(3, \"/p\", IN_MODIFY|IN_CLOSE_WRITE|IN_ONLYDIR)",
            ),
            ("umount2", [1, 2, 0, 0, 0, 0], "umount2(\"/p\", MNT_DETACH)"),
            ("swapon", [1, 0x18005, 0, 0, 0, 0], "swapon(\"/p\", SWAP_FLAG_PREFER|SWAP_FLAG_DISCARD|5)"),
            ("mount", [0x1000, 1, 0x2000, 0x5000, 0, 0], "mount(0x1000, \"/p\", 0x2000, MS_BIND|MS_REC, NULL)"),
            ("mount", [0x1000, 1, 0x2000, 0xc0ed0000, 0, 0], "mount(0x1000, \"/p\", 0x2000, MS_MGC_VAL, NULL)"),
            ("quotactl", [0x80000700, 1, 1000, 0x1000, 0, 0], "quotactl(QCMD(Q_GETQUOTA, USRQUOTA), \"/p\", 1000, 0x1000)"),
            ("quotactl", [0x80000101, 1, 0, 0, 0, 0], "quotactl(QCMD(Q_SYNC, GRPQUOTA), \"/p\")"),
            (
                "fanotify_mark",
                [3, 0x11, 0x40000028, n(-1), 1, 0],
                "fanotify_mark(3, FAN_MARK_ADD|FAN_MARK_MOUNT, FAN_CLOSE_WRITE|FAN_OPEN|FAN_ONDIR, FAN_NOFD, \"/p\")",
            ),
            ("name_to_handle_at", [AT_FDCWD, 1, 0x1000, 0x2000, 0, 0], "name_to_handle_at(AT_FDCWD, \"/p\", 0x1000, 0x2000, 0)"),
        ];
        for (name, args, expected) in cases {
            let path_arg = match user_arg(name) {
                UserArg::Path { arg } => usize::from(arg),
                other => panic!("{name}: {other:?}"),
            };
            let mut args = args;
            args[path_arg] = 0x7ffd0000;
            assert_eq!(with_path(name, args, 0, b"/p"), format!("{expected} = 0"), "{name}");
        }
    }

    #[test]
    fn memory() {
        let rw = c(libc::PROT_READ | libc::PROT_WRITE);
        let anon = c(libc::MAP_PRIVATE | libc::MAP_ANONYMOUS);
        let cases = [
            (
                "mmap",
                [0, 4096, rw, anon, n(-1), 0],
                0x7f6bff744000,
                "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f6bff744000",
            ),
            (
                "mmap",
                [0, 8192, 1, 1, 5, 0x10000],
                EBADF,
                "mmap(NULL, 8192, PROT_READ, MAP_SHARED, 5, 0x10000) = -1 EBADF (Bad file descriptor)",
            ),
            (
                "mmap",
                [0x10000000, 4096, 0, anon | c(libc::MAP_FIXED | libc::MAP_NORESERVE | libc::MAP_STACK), n(-1), 0],
                0x10000000,
                "mmap(0x10000000, 4096, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_NORESERVE|MAP_STACK, -1, 0) = 0x10000000",
            ),
            (
                "mmap",
                [0, 4096, 1, 0xf | 0x40000 | (21 << 26), 5, 0],
                EINVAL,
                "mmap(NULL, 4096, PROT_READ, 0xf /* MAP_??? */|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, 5, 0) = -1 EINVAL (Invalid argument)",
            ),
            (
                "mmap",
                [0, 4096, 5 | 0x100, 0, 5, 0],
                EINVAL,
                "mmap(NULL, 4096, PROT_READ|PROT_EXEC|0x100, MAP_FILE, 5, 0) = -1 EINVAL (Invalid argument)",
            ),
            ("munmap", [0x1000, 4096, 0, 0, 0, 0], 0, "munmap(0x1000, 4096) = 0"),
            ("mprotect", [0x1000, 4096, rw, 0, 0, 0], 0, "mprotect(0x1000, 4096, PROT_READ|PROT_WRITE) = 0"),
            ("madvise", [0x1000, 4096, 4, 0, 0, 0], 0, "madvise(0x1000, 4096, MADV_DONTNEED) = 0"),
            (
                "madvise",
                [0x1000, 4096, 77, 0, 0, 0],
                EINVAL,
                "madvise(0x1000, 4096, 0x4d /* MADV_??? */) = -1 EINVAL (Invalid argument)",
            ),
            (
                "mremap",
                [0x1000, 4096, 8192, 3, 0x2000, 0],
                0x2000,
                "mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x2000) = 0x2000",
            ),
            ("mremap", [0x1000, 4096, 8192, 1, 0x2000, 0], 0x5000, "mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE) = 0x5000"),
            ("getrandom", [0x1000, 16, 1, 0, 0, 0], 16, "getrandom(0x1000, 16, GRND_NONBLOCK) = 16"),
            (
                "getrandom",
                [0x1000, 16, 0xe, 0, 0, 0],
                EINVAL,
                "getrandom(0x1000, 16, GRND_RANDOM|GRND_INSECURE|0x8) = -1 EINVAL (Invalid argument)",
            ),
            ("pipe2", [0x1000, c(libc::O_CLOEXEC), 0, 0, 0, 0], 0, "pipe2(0x1000, O_CLOEXEC) = 0"),
            (
                "eventfd2",
                [0, c(libc::EFD_CLOEXEC | libc::EFD_NONBLOCK), 0, 0, 0, 0],
                17,
                "eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 17",
            ),
            ("io_uring_enter", [7, 1, 1, 1, 0, 8], 1, "io_uring_enter(7, 1, 1, IORING_ENTER_GETEVENTS, NULL, 8) = 1"),
            (
                "io_uring_enter",
                [7, 0, 1, 9, 0x1000, 24],
                0,
                "io_uring_enter(7, 0, 1, IORING_ENTER_GETEVENTS|IORING_ENTER_EXT_ARG, 0x1000, 24) = 0",
            ),
        ];
        for (name, args, ret, expected) in cases {
            assert_eq!(line(name, args, ret), expected);
        }
    }

    #[test]
    fn others_are_raw() {
        assert_eq!(line("kcmp", [1, 2, 3, 0, 0, 0], -1), "kcmp(0x1, 0x2, 0x3, 0, 0) = -1 EPERM (Operation not permitted)");
        assert_eq!(line("no_such_call", [1, 0, 0, 0, 0, 0xff], 0), "no_such_call(0x1, 0, 0, 0, 0, 0xff) = 0");
        // A path-family call without its own format still shows its path.
        assert_eq!(
            with_path("open_tree", [n(-100), 0x1000, 1, 0, 0, 0], 3, b"/p"),
            r#"open_tree(0xffffffffffffff9c, "/p", 0x1) = 3"#
        );
    }
}
