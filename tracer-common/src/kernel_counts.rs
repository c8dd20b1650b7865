//! Kernel counts: calls that need no event of their own counted in the kernel, per syscall (or
//! per group with `--by`) and per read/write syscall and fd kind, instead of sent as events
//! (`--events` turns it off).
use crate::{
    buckets::{log_linear_bucket, log_linear_range},
    syscalls::MAX_SYSCALLS,
};

kernel_names! {
    maps: [COUNT_TOTALS, COUNT_HIST, COUNT_ERRNO, IO_TOTALS, IO_HIST, GROUP_OF, GROUP_ROW],
    globals: [KERNEL_COUNTS_ON: u32, GROUPS_ON: u32],
}

/// With `--by`: the rows the kernel counts calls in, each one (group, syscall) pair that the
/// reader gave it when it first saw the pair as an event (the rows of the counting maps, which
/// without `--by` are one per syscall: as many).
pub const GROUP_ROWS: u32 = MAX_SYSCALLS;

/// Failed calls counted in the kernel (`COUNT_ERRNO`, shared and mapped by the reader as
/// `COUNT_HIST` is): `ERRNO_SLOTS` counters a counting row, one per errno. A failed call is
/// counted in its row's totals and histogram like any other, then here.
pub const ERRNO_SLOTS: u32 = 160;
/// The kernel's own errnos that reach user space (ERESTARTSYS 512 and kin, ENOTSUPP 524...)
/// take the slots after the ordinary ones (1..=133).
const ERRNO_KERNEL_FIRST: u32 = 512;
const ERRNO_ORDINARY_SLOTS: u32 = 134;

/// The slot of a failed call's errno (from its return value), if it has one; a call without is
/// sent as an event.
#[inline(always)]
pub fn errno_slot(ret: i64) -> Option<u32> {
    let errno = ret.checked_neg()?;
    if (1..ERRNO_ORDINARY_SLOTS as i64).contains(&errno) {
        return Some(errno as u32);
    }
    let kernel = errno - ERRNO_KERNEL_FIRST as i64;
    (0..(ERRNO_SLOTS - ERRNO_ORDINARY_SLOTS) as i64).contains(&kernel).then_some(ERRNO_ORDINARY_SLOTS + kernel as u32)
}

/// The errno of slot `slot`.
pub fn slot_errno(slot: u32) -> i32 {
    if slot < ERRNO_ORDINARY_SLOTS {
        slot as i32
    } else {
        (ERRNO_KERNEL_FIRST + slot - ERRNO_ORDINARY_SLOTS) as i32
    }
}

/// A syscall's calls counted in the kernel (the `COUNT_TOTALS` per-CPU map, by syscall number):
/// successful calls under the `--slow` threshold of syscalls without `SYSCALL_NEEDS_EVENT`.
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

/// Reads and writes counted in the kernel (the `IO_TOTALS` per-CPU map), by I/O slot (in the
/// syscall's flags: [`io_slot`](crate::syscalls::io_slot)) and fd kind (`FD_KIND_*`). Without
/// `--by` they are their syscall's only counts: the reader adds a syscall's kinds up.
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
    /// The smallest and largest sizes of the successful calls: a size every call used is then
    /// shown as itself, not as its histogram bucket.
    pub min_bytes: u64,
    pub max_bytes: u64,
    /// Of `calls`, the failed ones (EAGAIN on a non-blocking socket, say): in the latency
    /// histogram, not in the bytes one. Their errnos are counted in their syscall's row.
    pub errors: u64,
}

impl IoTotals {
    /// The calls that moved bytes (or returned 0), whose sizes are in the bytes histogram.
    /// Saturating: a read of the totals may catch a call's error counted and not yet its call.
    pub fn succeeded(&self) -> u64 {
        self.calls.saturating_sub(self.errors)
    }
}

/// Syscalls with an I/O slot (the read/write family, accepts), and the kinds counted per slot.
pub const IO_SLOTS: u32 = 32;
pub const IO_KINDS: u32 = 4;
/// `IO_HIST` holds, per (slot, kind), a latency histogram and a bytes histogram: this many
/// words for each.
pub const IO_HIST_WORDS_PER_KIND: u32 = 2 * HIST_BUCKETS;

#[cfg(feature = "user")]
mod pod {
    // SAFETY: plain old data, `#[repr(C)]`, any bit pattern valid.
    unsafe impl aya::Pod for super::SyscallTotals {}
    unsafe impl aya::Pod for super::IoTotals {}
}
