//! What an fd of the current process is (socket, pipe, file, other), from its inode's mode:
//! `current->files->fdt->fd[fd]->f_inode->i_mode`, at offsets the loader takes from the
//! kernel's BTF, and before 6.3, a socket's `struct sock`. Read once per fd and process, and
//! remembered in `FD_SEEN` until the fd is closed (or fds the kernel cannot name here are freed:
//! exec, close_range, a process's start or end); a thread's last two fds also in its slot,
//! until any traced thread frees an fd (the fd generation), or the slot changes process.
use aya_ebpf::{helpers::bpf_get_current_task, helpers::bpf_probe_read_kernel, macros::map, maps::Array, Global};
use tracer_common::{
    fd_kinds::{FdSeen, FD_KIND_FILE, FD_KIND_OTHER, FD_KIND_PIPE, FD_KIND_SOCKET, FD_SEEN_SLOTS},
    syscalls::{FdKindSeen, InFlight},
};

use crate::maps::{atomic_add, fd_generation, fds_unnamed_generation, field_at};

/// What (process, fd) pairs are, by [`FdSeen::index`]: see [`FdSeen`].
#[map]
static FD_SEEN: Array<FdSeen> = Array::with_max_entries(FD_SEEN_SLOTS, 0);

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
    fd_kind_and_socket(slot, tgid, fd, send).map(|(kind, _)| kind)
}

/// [`fd_kind`], and where sockets are read from fds, the socket if this call looked past the
/// thread's own memory for the kind (0 if not, or no socket).
#[inline(always)]
fn fd_kind_and_socket(slot: *mut InFlight, tgid: u32, fd: i32, send: bool) -> Option<(u32, u64)> {
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
            return Some((seen.kind, 0));
        }
        let (kind, sk) = fd_facts(tgid, fd)?;
        (*slot).kinds[entry] = FdKindSeen { fd_plus_one: fd + 1, kind };
        Some((kind, sk))
    }
}

/// The kind of `fd` of process `tgid`, and where sockets are read from fds (before 6.3) its
/// socket if it is one (0 otherwise): from `FD_SEEN`, else read from the fd table and kept there.
#[inline(always)]
fn fd_facts(tgid: u32, fd: i32) -> Option<(u32, u64)> {
    if fd < 0 {
        return None;
    }
    let seen = FD_SEEN.get_ptr_mut(FdSeen::index(tgid, fd))?;
    let key = FdSeen::key(tgid, fd);
    let unnamed = fds_unnamed_generation();
    unsafe {
        // Volatile: read once, before the fd table (a close in between leaves the entry stale).
        let closes = core::ptr::read_volatile(&raw const (*seen).closes);
        let (closes_seen, entry_key, sk, meta, check) = ((*seen).closes_seen, (*seen).key, (*seen).sk, (*seen).meta, (*seen).check);
        if closes == closes_seen && entry_key == key && meta >> 8 == unnamed && check == FdSeen::check_of(closes_seen, key, sk, meta) {
            return Some(((meta & 0xff) as u32, sk));
        }
        let file = fd_file(fd)?;
        let kind = file_kind(file)?;
        let sk = match kind == FD_KIND_SOCKET && socket_from_fd() {
            true => file_socket(file).unwrap_or(0),
            false => 0,
        };
        let meta = u64::from(kind) | unnamed << 8;
        core::ptr::write_volatile(&raw mut (*seen).closes_seen, closes);
        core::ptr::write_volatile(&raw mut (*seen).key, key);
        core::ptr::write_volatile(&raw mut (*seen).sk, sk);
        core::ptr::write_volatile(&raw mut (*seen).meta, meta);
        core::ptr::write_volatile(&raw mut (*seen).check, FdSeen::check_of(closes, key, sk, meta));
        Some((kind, sk))
    }
}

/// `fd` of process `tgid` was freed (closed, or replaced by dup2): what `FD_SEEN` holds of it
/// (and of the pairs that share its entry) holds no more.
#[inline(always)]
pub fn forget_fd(tgid: u32, fd: i32) {
    if fd < 0 {
        return;
    }
    if let Some(seen) = FD_SEEN.get_ptr_mut(FdSeen::index(tgid, fd)) {
        atomic_add(unsafe { &raw mut (*seen).closes }, 1);
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
/// writes of files and pipes pay no more; a socket is the one `FD_SEEN` gave with its kind, or
/// the thread's last socket if that was at this fd in this fd generation, or else `FD_SEEN`'s.
#[inline(always)]
pub fn socket_of_fd(slot: *mut InFlight, tgid: u32, fd: i32, send: bool) -> u64 {
    if !socket_from_fd() {
        return 0;
    }
    let Some((kind, sk)) = fd_kind_and_socket(slot, tgid, fd, send) else { return 0 };
    if kind != FD_KIND_SOCKET || sk != 0 {
        return sk;
    }
    unsafe {
        if (*slot).last_fd == fd && (*slot).last_generation == fd_generation() && (*slot).last_sk != 0 {
            return (*slot).last_sk;
        }
    }
    // A function, not a closure: LLVM made the closure a BPF subprogram (a call, and a frame
    // that verifiers before 6.9 add to this one's).
    fd_facts(tgid, fd).map_or(0, |(_, sk)| sk)
}

/// The socket behind `fd` (`file->private_data->sk`), e.g. an fd an accept just returned.
#[inline(always)]
pub fn file_sock(fd: i32) -> Option<u64> {
    file_socket(fd_file(fd)?)
}

/// The socket of a socket's `struct file *` (`file->private_data->sk`).
#[inline(always)]
fn file_socket(file: u64) -> Option<u64> {
    unsafe {
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

/// The kind of a `struct file *`, from its inode's mode.
#[inline(always)]
fn file_kind(file: u64) -> Option<u32> {
    unsafe {
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
