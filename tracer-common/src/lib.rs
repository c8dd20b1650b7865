//! Types shared by the kernel programs and the userspace tracer.
//!
//! Everything here is `#[repr(C)]`, fixed-size and 8-byte aligned so a ring-buffer record can be
//! reinterpreted on the user side without parsing.
#![cfg_attr(target_arch = "bpf", no_std)]

/// A completed syscall of a traced process.
pub const EVENT_SYSCALL: u32 = 1;
/// A syscall that never returns to its caller (`exit`, `exit_group`): reported at entry,
/// `duration_ns` is 0 and `ret` is meaningless.
pub const EVENT_SYSCALL_NO_RETURN: u32 = 2;
/// A traced process created a new process (not a thread): `ret` holds the child's pid.
pub const EVENT_FORK: u32 = 3;
/// A traced thread got a CPU again: `duration_ns` is how long it was off-CPU, `runq_ns` how
/// much of that it waited in the run queue, `blocked_ns` the rest.
pub const EVENT_SCHED: u32 = 4;

/// A traced thread's syscall used a socket (record: [`SockEvent`]): its fd and the socket.
/// Sent when a thread's fd/socket pair changes or it closed an fd, not for every syscall.
pub const EVENT_SOCKET: u32 = 5;
/// A syscall that was already in progress when tracing began returned (its entry was never
/// seen): a call like any other, but of unknown latency. `start_ns` is when it returned,
/// `duration_ns` is 0.
pub const EVENT_SYSCALL_IN_FLIGHT: u32 = 7;
/// A TCP connect of a traced thread completed (record: [`SockEvent`]): SYN sent until
/// established, in `latency_ns`.
pub const EVENT_CONNECT: u32 = 6;

/// A syscall that took at least the `--slow` threshold (record: [`SlowEvent`]); it replaces
/// the call's [`EVENT_SYSCALL`] record, whose fields it carries.
pub const EVENT_SLOW: u32 = 8;
/// The same with the call's stacks (record: [`SlowStackEvent`], `--stacks`).
pub const EVENT_SLOW_STACKS: u32 = 9;

/// A traced process ended (record: [`ProcessEvent`]; with `--by` only): its name and cgroup,
/// for the reader to group what it did when it was gone before /proc could be asked.
pub const EVENT_PROCESS_EXIT: u32 = 10;

/// Bytes of user memory a slow call's record copies: a path, or a socket address.
pub const SLOW_USER_BYTES: usize = 256;
/// Frames of a slow call's user and kernel stacks.
pub const USER_STACK_FRAMES: usize = 64;
pub const KERNEL_STACK_FRAMES: usize = 32;

/// What a slow call's record copies from user memory, by syscall number (the kernel's
/// `SLOW_USER_ARG` map): the kind in the low 4 bits, the argument holding the address in the
/// next 4, the argument holding the length (or pointing at it) in the next 4.
pub const SLOW_COPY_NONE: u32 = 0;
/// A NUL-terminated path.
pub const SLOW_COPY_PATH: u32 = 1;
/// A socket address whose length is an argument (connect, bind, sendto).
pub const SLOW_COPY_SOCKADDR: u32 = 2;
/// A socket address whose length the call wrote through a pointer argument (accept, recvfrom).
pub const SLOW_COPY_SOCKADDR_LEN_PTR: u32 = 3;

/// `--stacks` parts, in the `SLOW_STACKS` constant.
pub const STACKS_USER: u32 = 1;
pub const STACKS_KERNEL: u32 = 2;

/// Indexes of the kernel's per-CPU `LOST` counters.
/// Records that did not fit in the ring buffer.
pub const LOST_EVENTS: u32 = 0;
/// Slow-call records that did not fit; the call itself was still sent as a plain event.
pub const LOST_SLOW: u32 = 1;
pub const LOST_COUNTERS: u32 = 2;

/// Most `--cgroup` targets.
pub const MAX_CGROUPS: usize = 8;
/// With several `--cgroup` targets, a record's `kind` carries the target its task is in,
/// counted from 1 (0: traced by pid), from this bit up.
pub const KIND_CGROUP_SHIFT: u32 = 16;
pub const KIND_MASK: u32 = (1 << KIND_CGROUP_SHIFT) - 1;

/// Syscall numbers above this are ignored; it covers every x86_64 and aarch64 syscall.
pub const MAX_SYSCALLS: u32 = 512;
/// With `--by`: the rows the kernel counts calls in, each one (group, syscall) pair that the
/// reader gave it when it first saw the pair as an event (the rows of the counting maps, which
/// without `--by` are one per syscall: as many).
pub const GROUP_ROWS: u32 = MAX_SYSCALLS;
/// fentry/fexit program pairs available for per-syscall attachment (`-e` with few syscalls).
pub const FENTRY_SLOTS: u32 = 64;
/// Words of the `-e` syscall selection bitmap.
pub const SYSCALL_WORDS: usize = (MAX_SYSCALLS / 64) as usize;

/// Flags of a syscall number, in the kernel's `SYSCALL_FLAGS` map.
/// Its first argument is the fd of the socket it sends on or receives from (read, sendto...),
/// so the socket seen inside it belongs to that fd (not so for splice or io_uring_enter).
pub const SYSCALL_SOCKET_FD_ARG0: u32 = 1;
/// It can free fd numbers for reuse (close, dup2, dup3, close_range).
pub const SYSCALL_FREES_FDS: u32 = 2;
/// It creates a task (clone, clone3, fork, vfork): the new task's first return from it,
/// with 0, is the end of the parent's call, not a call of its own.
pub const SYSCALL_CREATES_TASK: u32 = 4;

/// Its calls must reach the reader one by one even when calls are counted in the kernel: it
/// creates, frees or does I/O on fds (the I/O view classifies them), execs, or creates tasks.
pub const SYSCALL_NEEDS_EVENT: u32 = 8;
/// A read/write-family syscall that sends (writes) from its fd: its kind is remembered apart
/// from the receiving calls'.
pub const SYSCALL_SENDS: u32 = 16;
/// It returns an accepted connection's fd (accept, accept4): the kernel tells the reader which
/// socket that is before the call's event, so that the accept's wait stays with the connection
/// when another process (a forked worker) uses it.
pub const SYSCALL_ACCEPTS: u32 = 32;
/// The flags' top byte: a read/write-family syscall's I/O slot (see [`IoTotals`]), from 1; 0
/// for the others. In the flags so that counting a read or write costs no second lookup.
pub const SYSCALL_IO_SLOT_SHIFT: u32 = 24;

/// The I/O slot in a syscall's flags (from 1; 0: none).
#[inline(always)]
pub fn io_slot(flags: u32) -> u32 {
    flags >> SYSCALL_IO_SLOT_SHIFT
}

/// A syscall's calls counted in the kernel (the `COUNT_TOTALS` per-CPU map, by syscall number):
/// successful calls under the `--slow` threshold of syscalls without [`SYSCALL_NEEDS_EVENT`].
/// The parts are clamped per call as the reader clamps an event's.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallTotals {
    pub calls: u64,
    pub total_ns: u64,
    pub blocked_ns: u64,
    pub runq_ns: u64,
    pub max_ns: u64,
}

/// The kernel's latency histograms (the `COUNT_HIST` array, `HIST_BUCKETS` counters a syscall):
/// exact below 256 ns, then 128 buckets per power of two (each under 0.8% of its values: as
/// HdrHistogram with 2 significant digits), up to 2^41 ns (36 minutes); longer calls count in
/// the last bucket (their exact maximum is in [`SyscallTotals::max_ns`]).
pub const HIST_EXACT_BELOW: u64 = 256;
pub const HIST_SUB_BUCKETS: u32 = 128;
/// Highest power of two with buckets of its own.
pub const HIST_TOP_LOG2: u32 = 40;
pub const HIST_BUCKETS: u32 = HIST_EXACT_BELOW as u32 + (HIST_TOP_LOG2 - 7) * HIST_SUB_BUCKETS;

/// The bucket of a latency, in the kernel and in the reader alike.
#[inline(always)]
pub fn hist_bucket(ns: u64) -> u32 {
    log_linear_bucket(ns, 7, HIST_BUCKETS)
}

/// The lowest value of a bucket and its width.
pub fn hist_bucket_range(bucket: u32) -> (u64, u64) {
    log_linear_range(bucket, 7)
}

/// Log-linear buckets of 2^`sub_log2` a power of two: values below twice that are exact; the
/// last of `buckets` holds everything above.
#[inline(always)]
fn log_linear_bucket(value: u64, sub_log2: u32, buckets: u32) -> u32 {
    let sub = 1u32 << sub_log2;
    if value < u64::from(2 * sub) {
        return value as u32;
    }
    let log2 = 63 - value.leading_zeros(); // above sub_log2
    let top = (value >> (log2 - sub_log2)) as u32; // sub..2 * sub
    let bucket = (log2 - sub_log2) * sub + top;
    if bucket < buckets { bucket } else { buckets - 1 }
}

fn log_linear_range(bucket: u32, sub_log2: u32) -> (u64, u64) {
    let sub = 1u32 << sub_log2;
    if bucket < 2 * sub {
        return (u64::from(bucket), 1);
    }
    let log2 = bucket / sub + sub_log2 - 1;
    let top = u64::from(bucket % sub + sub);
    (top << (log2 - sub_log2), 1 << (log2 - sub_log2))
}

/// In [`InFlight::nr`]: the slot's owner has entered or left a syscall since tracing began,
/// so an exit without a recorded entry is of a syscall `-e` did not select, not of one that
/// was in progress at attach.
pub const SLOT_SEEN: u32 = 1 << 31;

/// One ring-buffer record: one cache line; the kernel adds an 8-byte header.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub kind: u32,
    /// Syscall number (native to the traced architecture).
    pub nr: u32,
    pub tgid: u32,
    pub tid: u32,
    /// `bpf_ktime_get_ns()` at syscall entry (CLOCK_MONOTONIC).
    pub start_ns: u64,
    pub duration_ns: u64,
    /// Return value: `-errno` on failure.
    pub ret: i64,
    /// First argument; the fd for read/write/accept-family calls.
    pub arg0: u64,
    /// Of `duration_ns`: time switched out and not runnable (waiting for I/O, a lock, a timer).
    pub blocked_ns: u64,
    /// Of `duration_ns`: time runnable but waiting for a CPU (the run queue).
    pub runq_ns: u64,
}

/// A slow call (`--slow`): the call's event, its six argument registers, the thread's name,
/// and the user memory its [`SLOW_COPY_PATH`]-family argument points at.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SlowEvent {
    /// `kind` is [`EVENT_SLOW`] or [`EVENT_SLOW_STACKS`]; the rest as for [`EVENT_SYSCALL`].
    pub call: Event,
    pub args: [u64; 6],
    pub comm: [u8; 16],
    /// One of the `SLOW_COPY_*` kinds, or `SLOW_COPY_NONE`.
    pub user_kind: u32,
    /// Bytes copied into `user` (a path's count includes its NUL), or a negative errno.
    pub user_len: i32,
    pub user: [u8; SLOW_USER_BYTES],
}

/// An execve's arguments and path, taken at its entry with `--slow`: a successful exec replaces
/// the registers and the memory they were in before its exit is seen.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecArgs {
    pub args: [u64; 6],
    /// Bytes copied into `path` (with its NUL), or a negative errno.
    pub path_len: i32,
    pub _pad: u32,
    pub path: [u8; SLOW_USER_BYTES],
}

/// A slow call with its stacks (`--stacks`), innermost frame first.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SlowStackEvent {
    pub slow: SlowEvent,
    /// What `bpf_get_stack` returned: bytes written, or a negative errno (0 when not asked).
    pub user_stack_bytes: i64,
    pub kernel_stack_bytes: i64,
    pub user_stack: [u64; USER_STACK_FRAMES],
    pub kernel_stack: [u64; KERNEL_STACK_FRAMES],
}

/// A traced process's end: sent by its main thread's exit, after its last syscall's record.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessEvent {
    pub kind: u32,
    pub tgid: u32,
    /// `bpf_get_current_cgroup_id()`: the inode number of its cgroup v2 directory.
    pub cgroup_id: u64,
    pub comm: [u8; 16],
}

/// Addresses of a TCP socket, as the `sock:inet_sock_set_state` tracepoint reports them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SockTuple {
    /// AF_INET (2) or AF_INET6 (10).
    pub family: u16,
    /// Host byte order.
    pub sport: u16,
    pub dport: u16,
    /// Which connection at this socket's address: set when it connects or is established, so
    /// that a socket address reused for the same 4-tuple (a client that binds its port) makes
    /// a new connection, not more of the last one. 0: unknown.
    pub generation: u16,
    /// IPv4 addresses use the first 4 bytes.
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
}

/// A ring-buffer record about a socket: 80 bytes, told apart from [`Event`] by `kind`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockEvent {
    pub kind: u32,
    /// The fd the syscall used (-1 for [`EVENT_CONNECT`]).
    pub fd: i32,
    pub tgid: u32,
    pub tid: u32,
    /// The kernel's socket address: identifies the connection while it lives.
    pub sk: u64,
    /// [`EVENT_CONNECT`]: SYN sent until established. [`EVENT_SOCKET`]: entry time of the
    /// syscall, which tells the reader whether the pair is newer than a close of the same fd
    /// by another thread, whose event may come later.
    pub latency_ns: u64,
    pub tuple: SockTuple,
}

/// A connect in progress, keyed by socket address.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectStart {
    pub start_ns: u64,
    pub tgid: u32,
    pub tid: u32,
}

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
    /// The fd of the last [`EVENT_SOCKET`] this thread sent.
    pub last_fd: i32,
    /// The socket of the last [`EVENT_SOCKET`] this thread sent.
    pub last_sk: u64,
    /// The fd generation (bumped by every fd-freeing syscall of any traced thread) when it was
    /// sent: after a close anywhere, the same fd may be a new socket at the same address.
    pub last_generation: u64,
    /// What the fds of this thread's latest receive and send calls are (`FD_KIND_*`), as of
    /// `kinds_generation` in process `kinds_tgid`: a reader and a writer of two fds (dd, cat, a
    /// proxy) look each up once.
    pub kinds: [FdKindSeen; 2],
    pub kinds_tgid: u32,
    /// Whether the socket of the last [`EVENT_SOCKET`] is a TCP connection whose addresses the
    /// kernel saw (one the reader follows), as 1.
    pub last_tcp: u32,
    pub kinds_generation: u64,
}

/// An fd and its kind, in [`InFlight::kinds`]; `fd_plus_one` 0 is none.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FdKindSeen {
    pub fd_plus_one: i32,
    pub kind: u32,
}

/// What an fd is, from its inode's mode, in the order of the reader's `FdKind`.
pub const FD_KIND_SOCKET: u32 = 0;
pub const FD_KIND_PIPE: u32 = 1;
/// Regular files, directories and devices.
pub const FD_KIND_FILE: u32 = 2;
/// Anonymous inodes (eventfd, epoll, timerfd, signalfd...): no file type.
pub const FD_KIND_OTHER: u32 = 3;

/// Reads and writes counted in the kernel (the `IO_TOTALS` per-CPU map), by I/O slot (in the
/// syscall's flags: [`io_slot`]) and fd kind (`FD_KIND_*`). Without `--by` they are their
/// syscall's only counts: the reader adds a syscall's kinds up.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoTotals {
    pub calls: u64,
    pub total_ns: u64,
    pub bytes: u64,
    pub max_ns: u64,
    /// Of `total_ns`, clamped as in [`SyscallTotals`].
    pub blocked_ns: u64,
    pub runq_ns: u64,
    /// The smallest and largest sizes: a size every call used is then shown as itself, not as
    /// its histogram bucket.
    pub min_bytes: u64,
    pub max_bytes: u64,
}

/// Read/write-family syscalls with an I/O slot, and the kinds counted per slot.
pub const IO_SLOTS: u32 = 32;
pub const IO_KINDS: u32 = 4;

/// TCP connections whose reads and writes the kernel counts at once (`CONN_ROW`, from socket
/// address to row, filled by the reader when it learns a connection; the others' calls are
/// sent as events).
pub const CONN_ROWS: u32 = 1024;
/// An established TCP connection's entry in `CONN_ROW`, by socket address: made by the kernel
/// when the connection is established, with no row, and dropped when it closes. The reader gives
/// it a row by updating an entry that exists and has the ports of the connection it learnt, so
/// that it cannot bring back one that closed, nor take the next socket at the same address.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnEntry {
    /// Its row, or [`CONN_NO_ROW`].
    pub row: u32,
    /// Local port (host order) and the peer's port, as in [`SockTuple`].
    pub sport: u16,
    pub dport: u16,
}

pub const CONN_NO_ROW: u32 = u32::MAX;
/// Established TCP connections the kernel keeps entries for (those of the whole machine:
/// an accepted one's owner is not known yet); the least recently used make room.
pub const CONN_ENTRIES: u32 = 65536;
/// The per-connection histograms (`CONN_HIST`): exact below 32, then 16 buckets per power of
/// two (each under 6.25% wide; the reader records a bucket at its middle, within 3.2% of any
/// value in it) up to 2^41.
pub const CONN_SUB_LOG2: u32 = 4;
pub const CONN_BUCKETS: u32 = 2 * (1 << CONN_SUB_LOG2) + (HIST_TOP_LOG2 - CONN_SUB_LOG2) * (1 << CONN_SUB_LOG2);
/// A connection's row in `CONN_HIST`, in u64 words: calls, bytes sent, bytes received, total
/// ns, then three histograms of u32 counters (latency, sent sizes, received sizes), two a word.
pub const CONN_TOTAL_WORDS: u32 = 4;
pub const CONN_ROW_WORDS: u32 = CONN_TOTAL_WORDS + 3 * CONN_BUCKETS / 2;

/// The bucket of a value in a connection's histograms, in the kernel and in the reader alike.
#[inline(always)]
pub fn conn_bucket(value: u64) -> u32 {
    log_linear_bucket(value, CONN_SUB_LOG2, CONN_BUCKETS)
}

/// The lowest value of a connection histogram's bucket, and its width.
pub fn conn_bucket_range(bucket: u32) -> (u64, u64) {
    log_linear_range(bucket, CONN_SUB_LOG2)
}
/// `IO_HIST` holds, per (slot, kind), a latency histogram and a bytes histogram: this many
/// words for each.
pub const IO_HIST_WORDS_PER_KIND: u32 = 2 * HIST_BUCKETS;

#[cfg(feature = "user")]
mod pod {
    // SAFETY: plain old data, `#[repr(C)]`, no padding holes that matter, any bit pattern valid.
    unsafe impl aya::Pod for super::Event {}
    unsafe impl aya::Pod for super::InFlight {}
    unsafe impl aya::Pod for super::SockTuple {}
    unsafe impl aya::Pod for super::SockEvent {}
    unsafe impl aya::Pod for super::SlowEvent {}
    unsafe impl aya::Pod for super::SlowStackEvent {}
    unsafe impl aya::Pod for super::ExecArgs {}
    unsafe impl aya::Pod for super::SyscallTotals {}
    unsafe impl aya::Pod for super::IoTotals {}
    unsafe impl aya::Pod for super::ConnEntry {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each scheme: (bucket of a value, range of a bucket, buckets, sub-buckets a power of two).
    type Scheme = (fn(u64) -> u32, fn(u32) -> (u64, u64), u32, u64);

    #[test]
    fn buckets_are_contiguous_and_hold_their_values() {
        let schemes: [Scheme; 2] = [
            (hist_bucket, hist_bucket_range, HIST_BUCKETS, 128),
            (conn_bucket, conn_bucket_range, CONN_BUCKETS, 16),
        ];
        for (bucket_of, range, buckets, sub) in schemes {
            let mut next = 0;
            for bucket in 0..buckets {
                let (low, width) = range(bucket);
                assert_eq!(low, next, "bucket {bucket}");
                assert_eq!((bucket_of(low), bucket_of(low + width - 1)), (bucket, bucket));
                // Under 1/sub of its lowest value wide.
                assert!(width == 1 || width * sub <= low, "bucket {bucket}: {low} + {width}");
                next = low + width;
            }
            assert_eq!(next, 1 << (HIST_TOP_LOG2 + 1));
            assert_eq!(bucket_of(u64::MAX), buckets - 1);
        }
        assert_eq!(CONN_BUCKETS % 2, 0, "two connection counters a word");
    }
}
