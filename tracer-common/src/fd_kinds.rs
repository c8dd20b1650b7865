//! What an fd is (socket, pipe, file, other), read through `current->files` at offsets from the
//! kernel's BTF.

kernel_names! {
    maps: [FD_SEEN],
    globals: [
        TASK_FILES_OFFSET: u32,
        FILES_FDT_OFFSET: u32,
        FDT_MAX_FDS_OFFSET: u32,
        FDT_FD_OFFSET: u32,
        FILE_INODE_OFFSET: u32,
        INODE_MODE_OFFSET: u32,
    ],
}

/// What an fd is, from its inode's mode, in the order of the reader's `FdKind`.
pub const FD_KIND_SOCKET: u32 = 0;
pub const FD_KIND_PIPE: u32 = 1;
/// Regular files, directories and devices.
pub const FD_KIND_FILE: u32 = 2;
/// Anonymous inodes (eventfd, epoll, timerfd, signalfd...): no file type.
pub const FD_KIND_OTHER: u32 = 3;

/// Entries of `FD_SEEN`: what (process, fd) pairs are, by a hash of the pair (a power of two).
pub const FD_SEEN_SLOTS: u32 = 1 << 16;

/// What an fd of a process is, as last read from its fd table: shared by the process's threads,
/// where a thread's slot remembers only its last two fds (one server thread, many connections).
/// Threads of other processes, or of this one, may write it at the same time: `check` tells a
/// whole entry from one mixed of two writes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdSeen {
    /// Bumped by every close (dup2, dup3) of an fd whose pair has this entry.
    pub closes: u64,
    /// `closes` when the fd table was read: the entry holds only while they are equal.
    pub closes_seen: u64,
    /// The process in the high half, the fd in the low.
    pub key: u64,
    /// The socket (`struct sock *`) of a socket, where the kernel reads it from the fd (before
    /// 6.3); 0 otherwise.
    pub sk: u64,
    /// The kind (`FD_KIND_*`) in the low byte, `FD_GENERATION[FD_SOME_FREED]` above it.
    pub meta: u64,
    pub check: u64,
}

impl FdSeen {
    pub fn key(tgid: u32, fd: i32) -> u64 {
        (u64::from(tgid) << 32) | u64::from(fd as u32)
    }

    /// Its entry in `FD_SEEN`.
    #[inline(always)]
    pub fn index(tgid: u32, fd: i32) -> u32 {
        let mixed = tgid.wrapping_mul(0x9E37_79B9) ^ (fd as u32).wrapping_mul(0x85EB_CA6B);
        (mixed ^ (mixed >> 15)) & (FD_SEEN_SLOTS - 1)
    }

    /// What `check` is for these fields: multiplied, so that fields of two writes mixed match it
    /// only by a 64-bit coincidence.
    #[inline(always)]
    pub fn check_of(closes_seen: u64, key: u64, sk: u64, meta: u64) -> u64 {
        (key ^ 0x243F_6A88_85A3_08D3).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ sk.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ (meta ^ (closes_seen << 16)).wrapping_mul(0x1656_67B1_9E37_79F9)
    }
}
