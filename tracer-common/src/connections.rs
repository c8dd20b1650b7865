//! Per-connection counts: the reads and writes of the TCP connections the reader follows,
//! counted in the kernel by connection (with kernel counts and the socket tracepoints).
use crate::{
    buckets::{log_linear_bucket, log_linear_range},
    kernel_counts::HIST_TOP_LOG2,
};

kernel_names! {
    maps: [CONN_ROW, CONN_HIST],
    globals: [CONNECTIONS_ON: u32],
}

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
    /// Local port (host order) and the peer's port, as in `SockTuple`.
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

#[cfg(feature = "user")]
// SAFETY: plain old data, `#[repr(C)]`, any bit pattern valid.
unsafe impl aya::Pod for ConnEntry {}
