//! What an fd of the current process is (socket, pipe, file, other), from its inode's mode:
//! `current->files->fdt->fd[fd]->f_inode->i_mode`, at offsets the loader takes from the
//! kernel's BTF. Read once per fd and thread, and remembered in the thread's slot until any
//! traced thread frees an fd or execs (the fd generation), or the slot changes process.
use aya_ebpf::{helpers::bpf_get_current_task, helpers::bpf_probe_read_kernel, Global};
use tracer_common::{
    fd_kinds::{FD_KIND_FILE, FD_KIND_OTHER, FD_KIND_PIPE, FD_KIND_SOCKET},
    syscalls::{FdKindSeen, InFlight},
};

use crate::maps::{fd_generation, field_at};

#[unsafe(no_mangle)]
static TASK_FILES_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static FILES_FDT_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static FDT_MAX_FDS_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static FDT_FD_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static FILE_INODE_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static INODE_MODE_OFFSET: Global<u32> = Global::new(0);

#[unsafe(no_mangle)]
static FILE_PRIVATE_DATA_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static SOCKET_SK_OFFSET: Global<u32> = Global::new(0);
/// Non-zero where the kernel has no `sock_send_length`/`sock_recv_length` tracepoints (before
/// 6.3): a socket syscall's socket is then read from its fd at exit.
#[unsafe(no_mangle)]
static SOCKET_FROM_FD: Global<u32> = Global::new(0);
/// Non-zero when sockets and TCP connections are traced (not `--no-net`).
#[unsafe(no_mangle)]
static NET_ON: Global<u32> = Global::new(0);

/// Whether sockets and connections are traced (a load-time constant).
#[inline(always)]
pub fn connections_traced() -> bool {
    NET_ON.load() != 0
}

const S_IFMT: u16 = 0o170000;
const S_IFSOCK: u16 = 0o140000;
const S_IFIFO: u16 = 0o010000;

/// The kind of `fd`, for a receiving (`send` false) or sending call of the thread owning `slot`
/// in process `tgid`; `None` when it cannot be read (the reader then asks /proc).
#[inline(always)]
pub fn fd_kind(slot: *mut InFlight, tgid: u32, fd: i32, send: bool) -> Option<u32> {
    let generation = fd_generation();
    let entry = usize::from(send);
    unsafe {
        if (*slot).kinds_generation != generation || (*slot).kinds_tgid != tgid {
            // Volatile: adjacent zero stores otherwise become a memset call (a BPF subprogram,
            // whose frame older verifiers add to this program's).
            core::ptr::write_volatile(&raw mut (*slot).kinds, [FdKindSeen::default(); 2]);
            (*slot).kinds_generation = generation;
            (*slot).kinds_tgid = tgid;
        }
        let seen = (*slot).kinds[entry];
        if seen.fd_plus_one == fd + 1 {
            return Some(seen.kind);
        }
        let kind = read_fd_kind(fd)?;
        (*slot).kinds[entry] = FdKindSeen { fd_plus_one: fd + 1, kind };
        Some(kind)
    }
}

/// Whether socket syscalls' sockets are read from their fds here (a load-time constant).
#[inline(always)]
pub fn socket_from_fd() -> bool {
    SOCKET_FROM_FD.load() != 0
}

/// The socket (`struct sock *`, as the socket tracepoints give it) behind `fd`, a socket
/// syscall's fd, where the kernel lacks those tracepoints (`SOCKET_FROM_FD`, a load-time
/// constant); 0 otherwise. The fd's kind comes first (remembered per thread), so that reads and
/// writes of files and pipes pay no more; a socket costs `file->private_data->sk`, unless the
/// thread's last socket was at this fd in this fd generation.
#[inline(always)]
pub fn socket_of_fd(slot: *mut InFlight, tgid: u32, fd: i32, send: bool) -> u64 {
    if !socket_from_fd() || fd_kind(slot, tgid, fd, send) != Some(FD_KIND_SOCKET) {
        return 0;
    }
    unsafe {
        if (*slot).last_fd == fd && (*slot).last_generation == fd_generation() && (*slot).last_sk != 0 {
            return (*slot).last_sk;
        }
    }
    // A function, not a closure: LLVM made the closure a BPF subprogram (a call, and a frame
    // that verifiers before 6.9 add to this one's).
    file_sock(fd).unwrap_or(0)
}

/// The socket behind `fd` (`file->private_data->sk`), e.g. an fd an accept just returned.
#[inline(always)]
pub fn file_sock(fd: i32) -> Option<u64> {
    unsafe {
        let file = fd_file(fd)?;
        let socket = bpf_probe_read_kernel(field_at(file, &FILE_PRIVATE_DATA_OFFSET)).ok()?;
        bpf_probe_read_kernel(field_at(socket, &SOCKET_SK_OFFSET)).ok()
    }
}

/// `current->files->fdt->fd[fd]`: the `struct file *` of `fd`, if open.
#[inline(always)]
fn fd_file(fd: i32) -> Option<u64> {
    if fd < 0 {
        return None;
    }
    unsafe {
        let task = bpf_get_current_task();
        let files = bpf_probe_read_kernel(field_at(task, &TASK_FILES_OFFSET)).ok()?;
        let fdt = bpf_probe_read_kernel(field_at(files, &FILES_FDT_OFFSET)).ok()?;
        let max_fds = bpf_probe_read_kernel(field_at(fdt, &FDT_MAX_FDS_OFFSET).cast::<u32>()).ok()?;
        if fd as u32 >= max_fds {
            return None;
        }
        let fds = bpf_probe_read_kernel(field_at(fdt, &FDT_FD_OFFSET)).ok()?;
        let file = bpf_probe_read_kernel((fds + 8 * fd as u64) as *const u64).ok()?;
        (file != 0).then_some(file)
    }
}

#[inline(always)]
fn read_fd_kind(fd: i32) -> Option<u32> {
    unsafe {
        let file = fd_file(fd)?;
        let inode = bpf_probe_read_kernel(field_at(file, &FILE_INODE_OFFSET)).ok()?;
        let mode = bpf_probe_read_kernel(field_at(inode, &INODE_MODE_OFFSET).cast::<u16>()).ok()?;
        Some(match mode & S_IFMT {
            S_IFSOCK => FD_KIND_SOCKET,
            S_IFIFO => FD_KIND_PIPE,
            0 => FD_KIND_OTHER,
            _ => FD_KIND_FILE,
        })
    }
}
