//! Per-connection counts: the reads and writes of the TCP connections the reader follows,
//! counted in the kernel by connection (with kernel counts and the socket tracepoints).
use crate::{
    buckets::{log_linear_bucket, log_linear_range},
    kernel_counts::HIST_TOP_LOG2,
};

kernel_names! {
    maps: [CONN_FREE, CONN_HIST, CONN_FOLLOWED_ALL],
    globals: [CONNECTIONS_ON: u32],
}

/// TCP connections whose reads and writes the kernel counts at once, each in a row of
/// `CONN_HIST` (the others' calls are sent as events).
pub const CONN_ROWS: u32 = 1024;
/// A connection's row is in its socket's `SOCKETS` entry (`net::SockEntry::row`): made by the
/// kernel when the connection is established while tracing, with no row ([`CONN_NO_ROW`]), and
/// marked [`CONN_UNCOUNTED`] at its close. The first counted call of a traced thread on it takes
/// a row from `CONN_FREE` (a queue the reader fills with every row at start, and again with each
/// row whose connection closed, once it has taken its last figures), and names the row in that
/// call's socket record. Only the kernel writes the entries, so a row cannot reach the next
/// connection at the same address. `CONN_FOLLOWED_ALL[0]` is 1 once the reader follows no more
/// connections one by one (it has as many as it keeps): a call on a connection with no row is
/// then counted by its fd's kind only, not sent as an event.
pub const CONN_NO_ROW: u32 = u32::MAX;
/// No row, and none to take: the connection has closed, was not established while tracing (a
/// connect in progress), or connections are not counted in the kernel.
pub const CONN_UNCOUNTED: u32 = u32::MAX - 1;
/// The per-connection histograms (`CONN_HIST`): exact below 32, then 16 buckets per power of
/// two (each under 6.25% wide; the reader records a bucket at its middle, within 3.2% of any
/// value in it) up to 2^41.
pub const CONN_SUB_LOG2: u32 = 4;
pub const CONN_BUCKETS: u32 =
    2 * (1 << CONN_SUB_LOG2) + (HIST_TOP_LOG2 - CONN_SUB_LOG2) * (1 << CONN_SUB_LOG2);
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
