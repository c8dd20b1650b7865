//! The ring buffer of records to the reader, the records that have no feature of their own,
//! and the counters of records that did not fit.

kernel_names! {
    maps: [EVENTS, TALLIES],
    globals: [WAKEUP_BYTES: u64],
}

/// What a ring-buffer record is, in its first word (`kind`, with the cgroup tag above
/// [`KIND_CGROUP_SHIFT`]). The kernel writes `Kind as u32`; the reader converts back with
/// `EventKind::try_from`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A completed syscall of a traced process.
    Syscall = 1,
    /// A syscall that never returns to its caller (`exit`, `exit_group`): reported at entry,
    /// `duration_ns` is 0 and `ret` is meaningless.
    SyscallNoReturn = 2,
    /// A traced process created a new process (not a thread): `ret` holds the child's pid.
    Fork = 3,
    /// A traced thread got a CPU again: `duration_ns` is how long it was off-CPU, `runq_ns` how
    /// much of that it waited in the run queue, `blocked_ns` the rest.
    Sched = 4,
    /// A traced thread's syscall used a socket (record: `SockEvent`): its fd and the socket.
    /// Sent when a thread's fd/socket pair changes or it closed an fd, not for every syscall.
    Socket = 5,
    /// A TCP connect of a traced thread completed (record: `SockEvent`): SYN sent until
    /// established, in `latency_ns`.
    Connect = 6,
    /// A syscall that was already in progress when tracing began returned (its entry was never
    /// seen): a call like any other, but of unknown latency. `start_ns` is when it returned,
    /// `duration_ns` is 0.
    SyscallInFlight = 7,
    /// A syscall that took at least the `--slow` threshold (record: `SlowEvent`); it replaces
    /// the call's [`EventKind::Syscall`] record, whose fields it carries.
    Slow = 8,
    /// The same with the call's stacks (record: `SlowStackEvent`, `--stacks`).
    SlowStacks = 9,
    /// A traced process ended (record: `ProcessEvent`; with `--by` only): its name and cgroup,
    /// for the reader to group what it did when it was gone before /proc could be asked.
    ProcessExit = 10,
    /// A traced thread's switches are counted in the kernel from now on, in row `nr` of
    /// `THREAD_HIST` (see `sched::THREAD_ROWS`); `ret` and `arg0` carry its name, as in
    /// [`EventKind::Sched`].
    ThreadRow = 11,
    /// The thread of row `nr` ended (its name then in `ret` and `arg0`): its last figures are
    /// in the row, which the reader frees once it took them.
    ThreadGone = 12,
}

impl EventKind {
    /// Every kind, in order.
    pub const ALL: [EventKind; 12] = [
        EventKind::Syscall,
        EventKind::SyscallNoReturn,
        EventKind::Fork,
        EventKind::Sched,
        EventKind::Socket,
        EventKind::Connect,
        EventKind::SyscallInFlight,
        EventKind::Slow,
        EventKind::SlowStacks,
        EventKind::ProcessExit,
        EventKind::ThreadRow,
        EventKind::ThreadGone,
    ];
}

impl TryFrom<u32> for EventKind {
    /// The unknown kind.
    type Error = u32;

    fn try_from(raw: u32) -> Result<Self, u32> {
        Self::ALL.into_iter().find(|kind| *kind as u32 == raw).ok_or(raw)
    }
}

/// With several `--cgroup` targets, a record's `kind` carries the target its task is in,
/// counted from 1 (0: traced by pid), from this bit up.
pub const KIND_CGROUP_SHIFT: u32 = 16;
/// A read or write's record (a syscall's, a slow call's) carries, from this bit up to the
/// cgroup tag, the `FD_KIND_*` of its fd plus one (0: not told): what the fd was at the call,
/// which the reader cannot learn later from /proc once the process has closed it or exited.
pub const KIND_FD_SHIFT: u32 = 8;
/// The [`EventKind`] itself.
pub const KIND_MASK: u32 = (1 << KIND_FD_SHIFT) - 1;

/// Indexes of the kernel's per-CPU `TALLIES`: what the reader learns as a count, not as records.
/// Records that did not fit in the ring buffer.
pub const LOST_EVENTS: u32 = 0;
/// Slow-call records that did not fit; the call itself was still sent as a plain event.
pub const LOST_SLOW: u32 = 1;
/// TCP connections (`net::SockEntry::user_tgid`) that traced threads used: those the reader does
/// not follow one by one are this less those it does, with no record of their own.
pub const CONNECTIONS_SEEN: u32 = 2;
pub const TALLY_SLOTS: u32 = 3;

/// One ring-buffer record: one cache line; the kernel adds an 8-byte header.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// An [`EventKind`], with the cgroup tag (see [`KIND_CGROUP_SHIFT`]).
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

#[cfg(feature = "user")]
// SAFETY: plain old data, `#[repr(C)]`, any bit pattern valid.
unsafe impl aya::Pod for Event {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_convert_back_and_are_in_order() {
        for (i, kind) in EventKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as u32, i as u32 + 1);
            assert_eq!(EventKind::try_from(kind as u32), Ok(kind));
        }
        assert_eq!(EventKind::try_from(0), Err(0));
        let past = EventKind::ALL.len() as u32 + 1;
        assert_eq!(EventKind::try_from(past), Err(past));
    }
}
