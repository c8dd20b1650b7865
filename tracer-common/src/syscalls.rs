//! Syscalls: the per-thread slot of the call in flight, the `-e` selection, the syscalls' flags,
//! and where the numbers and arguments are in `struct pt_regs`.

kernel_names! {
    maps: [IN_FLIGHT, SYSCALL_FLAGS, SELECTED, FD_GENERATION],
    globals: [
        SLOT_MASK: u32,
        FILTER_SYSCALLS: u32,
        NR_OFFSET: u32,
        ARG_OFFSETS: [u32; 6],
        NR_EXIT: u32,
        NR_EXIT_GROUP: u32,
        NR_EXECVE: u32,
        NR_EXECVEAT: u32,
    ],
}

/// Syscall numbers above this are ignored; it covers every x86_64 and aarch64 syscall.
pub const MAX_SYSCALLS: u32 = 512;
/// Words of the `-e` syscall selection bitmap.
pub const SYSCALL_WORDS: usize = (MAX_SYSCALLS / 64) as usize;

/// Bumped in `FD_GENERATION[FD_ANY_FREED]` by every fd a traced thread frees, and in
/// `FD_GENERATION[FD_SOME_FREED]` when which ones is not known (close_range, exec, a traced
/// process's start or end, whose pid a new process may take).
pub const FD_ANY_FREED: u32 = 0;
pub const FD_SOME_FREED: u32 = 1;

/// Flags of a syscall number, in the kernel's `SYSCALL_FLAGS` map.
/// Its first argument is the fd of the socket it sends on or receives from (read, sendto...),
/// so the socket seen inside it belongs to that fd (not so for splice or io_uring_enter).
pub const SYSCALL_SOCKET_FD_ARG0: u32 = 1;
/// It can free fd numbers for reuse (close, dup2, dup3, close_range; exec, whose close-on-exec
/// fds close). Which ones: its first argument with [`SYSCALL_FREES_FD_ARG0`], its second with
/// [`SYSCALL_FREES_FD_ARG1`], else any.
pub const SYSCALL_FREES_FDS: u32 = 2;
/// The fd it frees is its first argument (close).
pub const SYSCALL_FREES_FD_ARG0: u32 = 128;
/// The fd it frees is its second argument (dup2, dup3: the fd replaced).
pub const SYSCALL_FREES_FD_ARG1: u32 = 256;
/// It creates a task (clone, clone3, fork, vfork): the new task's first return from it,
/// with 0, is the end of the parent's call, not a call of its own.
pub const SYSCALL_CREATES_TASK: u32 = 4;
/// Its calls must reach the reader one by one even when calls are counted in the kernel: it
/// does I/O on fds (counted here by fd kind where possible), accepts, execs, or creates tasks
/// (and with `--slow`, makes or frees fds).
pub const SYSCALL_NEEDS_EVENT: u32 = 8;
/// A read/write-family syscall that sends (writes) from its fd: its kind is remembered apart
/// from the receiving calls'.
pub const SYSCALL_SENDS: u32 = 16;
/// It returns an accepted connection's fd (accept, accept4): the kernel tells the reader which
/// socket that is before the call's event, so that the accept's wait stays with the connection
/// when another process (a forked worker) uses it.
pub const SYSCALL_ACCEPTS: u32 = 32;
/// Its failed calls take the path its successful ones take, not a plain count with their errno:
/// a read's or write's is counted by its fd's kind (in its I/O row and its connection's, without
/// bytes), an exec's is sent (its failures are shown one by one).
pub const SYSCALL_FAILURE_LIKE_SUCCESS: u32 = 64;
/// The flags' top byte: a read/write-family syscall's I/O slot (see
/// [`IoTotals`](crate::kernel_counts::IoTotals)), from 1; 0 for the others. In the flags so that
/// counting a read or write costs no second lookup.
pub const SYSCALL_IO_SLOT_SHIFT: u32 = 24;

/// The I/O slot in a syscall's flags (from 1; 0: none).
#[inline(always)]
pub fn io_slot(flags: u32) -> u32 {
    flags >> SYSCALL_IO_SLOT_SHIFT
}

/// The flags' bits for I/O slot `slot` (from 1), as [`io_slot`] reads them back.
#[inline(always)]
pub fn io_slot_flags(slot: u32) -> u32 {
    slot << SYSCALL_IO_SLOT_SHIFT
}

/// In [`InFlight::nr`]: the slot's owner has entered or left a syscall since tracing began,
/// so an exit without a recorded entry is of a syscall `-e` did not select, not of one that
/// was in progress at attach.
pub const SLOT_SEEN: u32 = 1 << 31;

/// Per-thread state, indexed by tid: the syscall in flight between `sys_enter` and `sys_exit`,
/// and the thread's current off-CPU period, which the scheduler programs keep (adding the
/// blocked and run-queue time of a syscall in flight to it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct InFlight {
    // The fields every syscall touches come first, to share a cache line.
    /// `bpf_ktime_get_ns()` at entry; 0 means "no syscall in flight".
    pub start_ns: u64,
    /// The syscall in flight, with [`SLOT_SEEN`] set once the owner has been seen at a syscall
    /// boundary.
    pub nr: u32,
    /// Guards against a stale entry left by a thread that vanished mid-syscall.
    pub tid: u32,
    pub blocked_ns: u64,
    pub runq_ns: u64,
    /// The socket the syscall in flight used, if any (set by the sock tracepoints).
    pub sk: u64,
    /// When the thread was switched out; 0 while it is on a CPU (the scheduler programs reset
    /// both timestamps at switch-in, so a running thread always has zeros).
    pub off_cpu_since: u64,
    /// When it became runnable again (woken, or preempted); 0 while it is blocked.
    pub runnable_since: u64,
    /// Process of the thread that owns the slot (the scheduler programs see only tids).
    pub tgid: u32,
    /// The fd of the last socket record (`EventKind::Socket`) this thread sent, or of the last
    /// socket no TCP connection's it counted a call of.
    pub last_fd: i32,
    /// The socket of that record, or call.
    pub last_sk: u64,
    /// The fd generation (bumped by every fd-freeing syscall of any traced thread) when it was
    /// sent: after a close anywhere, the same fd may be a new socket at the same address.
    pub last_generation: u64,
    /// What the fds of this thread's latest receive and send calls are (`FD_KIND_*`), as of
    /// `kinds_generation` in process `kinds_tgid`: a reader and a writer of two fds (dd, cat, a
    /// proxy) look each up once.
    pub kinds: [FdKindSeen; 2],
    pub kinds_tgid: u32,
    /// Whether the socket of the last socket record is a TCP connection whose addresses the
    /// kernel saw (one the reader follows), as 1; 2 when the pair was counted without a record
    /// (a Unix or UDP socket's call), which a call sent as an event still sends.
    pub last_tcp: u32,
    pub kinds_generation: u64,
    /// The row of `sched::THREAD_ROWS` the owner's switches are counted in, plus one (0: none).
    pub sched_row: u32,
    pub _pad: u32,
}

/// An fd and its kind, in [`InFlight::kinds`]; `fd_plus_one` 0 is none.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FdKindSeen {
    pub fd_plus_one: i32,
    pub kind: u32,
}

#[cfg(feature = "user")]
// SAFETY: plain old data, `#[repr(C)]`, any bit pattern valid.
unsafe impl aya::Pod for InFlight {}
