//! Syscall names and numbers of the machine's own architecture, from the `syscalls` crate
//! (generated from the kernel's syscall tables), plus the few per-architecture facts the kernel
//! programs need.
use tracer_common::syscalls::MAX_SYSCALLS;

#[cfg(target_arch = "x86_64")]
use syscalls::x86_64::Sysno;
#[cfg(target_arch = "aarch64")]
use syscalls::aarch64::Sysno;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("tracer supports x86_64 and aarch64");


/// Offsets of the six syscall arguments in `struct pt_regs`, valid at a syscall's exit too. On
/// aarch64, x0 holds the return value by then: the first argument is read from `orig_x0`, which
/// the kernel saves at entry, before the `sys_enter` tracepoint.
#[cfg(target_arch = "x86_64")]
pub const ARG_PT_REGS_OFFSETS: [u32; 6] = [112, 104, 96, 56, 72, 64]; // di, si, dx, r10, r8, r9
#[cfg(target_arch = "aarch64")]
pub const ARG_PT_REGS_OFFSETS: [u32; 6] = [34 * 8, 8, 16, 24, 32, 40]; // orig_x0, regs[1..6]

/// Offset of the syscall number in `struct pt_regs`, which survives the call.
#[cfg(target_arch = "x86_64")]
pub const NR_PT_REGS_OFFSET: u32 = 15 * 8; // orig_ax, after r15..di
#[cfg(target_arch = "aarch64")]
pub const NR_PT_REGS_OFFSET: u32 = 34 * 8 + 8; // syscallno, after regs[31], sp, pc, pstate, orig_x0

/// Offsets in `struct pt_regs` of the register the Go ABI keeps the current goroutine's `g` in,
/// and of the user stack pointer (a slow call's goroutine, with `--slow`).
#[cfg(target_arch = "x86_64")]
pub const G_PT_REGS_OFFSET: u32 = 8; // r14, after r15
#[cfg(target_arch = "x86_64")]
pub const SP_PT_REGS_OFFSET: u32 = 19 * 8; // sp, after r15..di, orig_ax, ip, cs, flags
#[cfg(target_arch = "aarch64")]
pub const G_PT_REGS_OFFSET: u32 = 28 * 8; // regs[28]
#[cfg(target_arch = "aarch64")]
pub const SP_PT_REGS_OFFSET: u32 = 31 * 8; // sp, after regs[31]

/// How much of `struct pt_regs` the programs read: up to the last of the registers above
/// (a kprobe copies that much, and no more: the struct ends where the kernel stack does).
pub fn regs_bytes_read() -> u32 {
    ARG_PT_REGS_OFFSETS.iter().copied().chain([NR_PT_REGS_OFFSET, G_PT_REGS_OFFSET, SP_PT_REGS_OFFSET]).max().unwrap_or(0) + 8
}

#[cfg(target_arch = "x86_64")]
const HANDLER_PREFIX: &str = "__x64_sys_";
#[cfg(target_arch = "aarch64")]
const HANDLER_PREFIX: &str = "__arm64_sys_";

/// Kernel functions that may implement syscall `name`, most likely first: `__x64_sys_read`;
/// the stat family and uname kept their old names with a `new` prefix; `umount2` is `umount`.
/// Syscalls without arguments have no such wrapper in BTF (only `__do_sys_NAME(void)`, whose
/// calling convention differs), so they have no candidate that exists.
pub fn handler_candidates(name: &str) -> Vec<String> {
    let base = if name == "umount2" { "umount" } else { name };
    vec![format!("{HANDLER_PREFIX}{base}"), format!("{HANDLER_PREFIX}new{base}")]
}

/// Name of syscall `nr`, or `None` for a number this architecture does not define.
pub fn name(nr: u32) -> Option<&'static str> {
    Sysno::new(nr as usize).map(|s| s.name())
}

/// Number of the syscall called `name` on this architecture.
pub fn number(name: &str) -> Option<u32> {
    name.parse::<Sysno>().ok().map(|s| s.id() as u32).filter(|nr| *nr < MAX_SYSCALLS)
}

/// Every syscall number of this architecture that the kernel programs can report.
pub fn all() -> impl Iterator<Item = u32> {
    Sysno::iter().map(|s| s.id() as u32).filter(|nr| *nr < MAX_SYSCALLS)
}

/// `exit` and `exit_group`: they never reach `sys_exit`, so the kernel reports them at entry.
/// `execve` and `execveat`.
pub fn exec_numbers() -> (u32, u32) {
    (Sysno::execve.id() as u32, Sysno::execveat.id() as u32)
}

pub fn never_returning() -> (u32, u32) {
    (Sysno::exit.id() as u32, Sysno::exit_group.id() as u32)
}

/// True when `name` is a syscall on x86_64 or aarch64 (for validating the class lists).
pub fn known_on_any_arch(name: &str) -> bool {
    name.parse::<syscalls::x86_64::Sysno>().is_ok() || name.parse::<syscalls::aarch64::Sysno>().is_ok()
}

/// Symbolic name of an errno value (`ENOENT`), or the number when it has none.
pub fn errno_name(errno: i32) -> String {
    // The kernel-internal codes a syscall exit shows when a signal interrupts a call
    // (include/linux/errno.h); libc does not name them.
    let internal = match errno {
        512 => Some("ERESTARTSYS"),
        513 => Some("ERESTARTNOINTR"),
        514 => Some("ERESTARTNOHAND"),
        515 => Some("ENOIOCTLCMD"),
        516 => Some("ERESTART_RESTARTBLOCK"),
        _ => None,
    };
    match internal {
        Some(name) => name.to_string(),
        None => syscalls::Errno::new(errno).name_and_description().map(|(name, _)| name.to_string()).unwrap_or_else(|| format!("E{errno}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::btf::{self, KernelBtf};

    /// The offsets above are the registers they name in this kernel's `struct pt_regs`.
    #[test]
    fn register_offsets_match_this_kernels_pt_regs() {
        let data = btf::read("/sys/kernel/btf/vmlinux").unwrap();
        let btf = KernelBtf::parse(&data).unwrap();
        let offset = |member: &str| btf.member_offset("pt_regs", member).unwrap();
        #[cfg(target_arch = "x86_64")]
        {
            let named: Vec<u32> = ["di", "si", "dx", "r10", "r8", "r9"].iter().map(|register| offset(register)).collect();
            assert_eq!(ARG_PT_REGS_OFFSETS.to_vec(), named);
            assert_eq!(NR_PT_REGS_OFFSET, offset("orig_ax"));
            assert_eq!((G_PT_REGS_OFFSET, SP_PT_REGS_OFFSET), (offset("r14"), offset("sp")));
        }
        #[cfg(target_arch = "aarch64")]
        {
            // x0 is the return value at exit: the first argument is the copy saved at entry.
            assert_eq!(ARG_PT_REGS_OFFSETS[0], offset("orig_x0"));
            assert_eq!(NR_PT_REGS_OFFSET, offset("syscallno"));
            assert_eq!(SP_PT_REGS_OFFSET, offset("sp"));
        }
    }

    #[test]
    fn names_round_trip() {
        let read = number("read").unwrap();
        assert_eq!(name(read), Some("read"));
        assert!(number("no_such_call").is_none());
        assert!(all().count() > 300);
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(2), "ENOENT");
        assert_eq!(errno_name(9), "EBADF");
        assert_eq!(errno_name(512), "ERESTARTSYS");
    }
}
