//! The scheduler split: each off-CPU period of a traced thread split into blocked and run-queue
//! time, reading `task_struct` at offsets from the kernel's BTF; and each thread's figures,
//! counted in the kernel (with kernel counts).
use crate::connections::CONN_BUCKETS;

kernel_names! {
    maps: [THREAD_HIST, THREAD_FREE],
    globals: [TASK_PID_OFFSET: u32, SWITCH_HAS_PREV_STATE: u32, TASK_STATE_OFFSET: u32, TASK_COMM_OFFSET: u32, THREADS_ON: u32],
}

/// Threads whose switches the kernel counts itself, each in a row of `THREAD_HIST`: taken at
/// the thread's first switch-in from `THREAD_FREE` (a queue the reader fills with every row at
/// start, and again with a row once it took the last figures of the thread that had it), named
/// in an `EventKind::ThreadRow` record, and given back in an `EventKind::ThreadGone` record at
/// the thread's end. The threads past them are sent switch by switch (`EventKind::Sched`).
pub const THREAD_ROWS: u32 = 512;
/// A thread's row in `THREAD_HIST`, in u64 words: switches and off-CPU ns, then two histograms
/// of u32 counters, two a word, in the connections' buckets (`connections::conn_bucket`, within
/// 3.2%): off-CPU periods, then run-queue waits.
pub const THREAD_TOTAL_WORDS: u32 = 2;
pub const THREAD_ROW_WORDS: u32 = THREAD_TOTAL_WORDS + CONN_BUCKETS;
