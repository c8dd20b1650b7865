//! What an fd is (socket, pipe, file, other), read through `current->files` at offsets from the
//! kernel's BTF.

kernel_names! {
    maps: [],
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
