//! What an fd of the current process is (socket, pipe, file, other), from its inode's mode:
//! `current->files->fdt->fd[fd]->f_inode->i_mode`, at offsets the loader takes from the
//! kernel's BTF. Read once per fd and thread, and remembered in the thread's slot until any
//! traced thread frees an fd or execs (the fd generation), or the slot changes process.
use aya_ebpf::{helpers::bpf_get_current_task, helpers::bpf_probe_read_kernel, Global};
use tracer_common::{FdKindSeen, InFlight, FD_KIND_FILE, FD_KIND_OTHER, FD_KIND_PIPE, FD_KIND_SOCKET};

use crate::maps::fd_generation;

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
            (*slot).kinds = [FdKindSeen::default(); 2];
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

#[inline(always)]
fn read_fd_kind(fd: i32) -> Option<u32> {
    if fd < 0 {
        return None;
    }
    let at = |base: u64, offset: &Global<u32>| (base + u64::from(offset.load())) as *const u64;
    unsafe {
        let task = bpf_get_current_task();
        let files = bpf_probe_read_kernel(at(task, &TASK_FILES_OFFSET)).ok()?;
        let fdt = bpf_probe_read_kernel(at(files, &FILES_FDT_OFFSET)).ok()?;
        let max_fds = bpf_probe_read_kernel(at(fdt, &FDT_MAX_FDS_OFFSET).cast::<u32>()).ok()?;
        if fd as u32 >= max_fds {
            return None;
        }
        let fds = bpf_probe_read_kernel(at(fdt, &FDT_FD_OFFSET)).ok()?;
        let file = bpf_probe_read_kernel((fds + 8 * fd as u64) as *const u64).ok()?;
        if file == 0 {
            return None;
        }
        let inode = bpf_probe_read_kernel(at(file, &FILE_INODE_OFFSET)).ok()?;
        let mode = bpf_probe_read_kernel(at(inode, &INODE_MODE_OFFSET).cast::<u16>()).ok()?;
        Some(match mode & S_IFMT {
            S_IFSOCK => FD_KIND_SOCKET,
            S_IFIFO => FD_KIND_PIPE,
            0 => FD_KIND_OTHER,
            _ => FD_KIND_FILE,
        })
    }
}
