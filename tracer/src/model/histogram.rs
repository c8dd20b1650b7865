//! The latency histograms every table keeps: nanoseconds, 3 significant digits.
use hdrhistogram::Histogram;

pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency histogram: ns, 3 significant digits, auto-resizing.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is valid")
}

/// Per-group histograms: 2 significant digits (values within 1%), a seventh of the memory of 3
/// (about 25 KiB a histogram of latencies up to a second, against 170).
pub const COMPACT_SIGNIFICANT_DIGITS: u8 = 2;

pub fn new_compact_histogram() -> Histogram<u64> {
    Histogram::new(COMPACT_SIGNIFICANT_DIGITS).expect("2 significant digits is valid")
}

/// A followed connection's and a thread's histograms: 1 significant digit, 16 buckets a power
/// of two (values within 3.2%; runqlat's are a power of two wide). They are the buckets of the
/// kernel's per-connection rows (`tracer_common::connections::conn_bucket`), which count most
/// of a connection's calls. An eighth of the memory of 2 digits: up to 1024 connections and 256
/// threads, each with two or three, are kept for the whole trace.
pub const COARSE_SIGNIFICANT_DIGITS: u8 = 1;

pub fn new_coarse_histogram() -> Histogram<u64> {
    Histogram::new(COARSE_SIGNIFICANT_DIGITS).expect("1 significant digit is valid")
}

/// Records `value`, clamped only if it is beyond any range the histogram can grow to.
pub fn record_value(histogram: &mut Histogram<u64>, value: u64) {
    // Auto-resizing grows the range; only a value beyond its reach is clamped.
    if histogram.record(value).is_err() {
        histogram.saturating_record(value);
    }
}

/// Records `count` calls of `value` at once.
pub fn record_count(histogram: &mut Histogram<u64>, value: u64, count: u64) {
    if histogram.record_n(value, count).is_err() {
        histogram.saturating_record_n(value, count);
    }
}

/// A kernel histogram of sizes, each bucket at its lowest value: a power of two or a multiple
/// of the page size, the sizes programs use, is the low end of its bucket, and so is shown as
/// itself (see [`size_at_quantile`]).
pub fn record_kernel_sizes(histogram: &mut Histogram<u64>, buckets: &[(u32, u64)]) {
    for &(bucket, count) in buckets {
        record_count(histogram, tracer_common::kernel_counts::hist_bucket_range(bucket).0, count);
    }
}

/// A size at quantile `q` of a histogram of sizes: the low end of its bucket (8192, not the
/// 8199 a latency would show).
pub fn size_at(histogram: &Histogram<u64>, q: f64) -> u64 {
    histogram.lowest_equivalent(histogram.value_at_quantile(q))
}

/// [`size_at`], for sizes between `min` and `max`: within the sizes there were, and exactly
/// the size when every call used one.
pub fn size_at_quantile(histogram: &Histogram<u64>, q: f64, min: u64, max: u64) -> u64 {
    if min == max {
        return min;
    }
    size_at(histogram, q).clamp(min, max.max(min))
}

/// Records the kernel's histogram buckets (`tracer_common::kernel_counts::hist_bucket`) that
/// grew: each at its bucket's middle (within 0.4% of every value in it), but for the longest
/// value since the start, `max`, recorded as it was once it is new, so that the maximum is
/// exact.
pub fn record_kernel_buckets(histogram: &mut Histogram<u64>, buckets: &[(u32, u64)], max: Option<u64>) {
    let max_bucket = max.map(tracer_common::kernel_counts::hist_bucket);
    for &(bucket, count) in buckets {
        let (low, width) = tracer_common::kernel_counts::hist_bucket_range(bucket);
        let mut count = count;
        if let Some(max) = max.filter(|&max| Some(bucket) == max_bucket && max > histogram.max()) {
            record_value(histogram, max);
            count -= 1;
        }
        if count > 0 {
            record_count(histogram, low + width / 2, count);
        }
    }
}

/// Records the buckets of a connection's or a thread's kernel histogram
/// (`tracer_common::connections::conn_bucket`) that grew, each at its middle (within 3.2% of
/// every value in it).
pub fn record_connection_buckets(histogram: &mut Histogram<u64>, buckets: &[(u32, u64)]) {
    for &(bucket, count) in buckets {
        let (low, width) = tracer_common::connections::conn_bucket_range(bucket);
        record_count(histogram, low + width / 2, count);
    }
}
