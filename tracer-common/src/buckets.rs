//! Log-linear histogram buckets, in the kernel and in the reader alike.

/// Log-linear buckets of 2^`sub_log2` a power of two: values below twice that are exact; the
/// last of `buckets` holds everything above.
#[inline(always)]
pub(crate) fn log_linear_bucket(value: u64, sub_log2: u32, buckets: u32) -> u32 {
    let sub = 1u32 << sub_log2;
    if value < u64::from(2 * sub) {
        return value as u32;
    }
    let log2 = 63 - value.leading_zeros(); // above sub_log2
    let top = (value >> (log2 - sub_log2)) as u32; // sub..2 * sub
    let bucket = (log2 - sub_log2) * sub + top;
    if bucket < buckets { bucket } else { buckets - 1 }
}

/// The lowest value of a bucket and its width.
pub(crate) fn log_linear_range(bucket: u32, sub_log2: u32) -> (u64, u64) {
    let sub = 1u32 << sub_log2;
    if bucket < 2 * sub {
        return (u64::from(bucket), 1);
    }
    let log2 = bucket / sub + sub_log2 - 1;
    let top = u64::from(bucket % sub + sub);
    (top << (log2 - sub_log2), 1 << (log2 - sub_log2))
}

#[cfg(test)]
mod tests {
    use crate::{
        connections::{conn_bucket, conn_bucket_range, CONN_BUCKETS},
        kernel_counts::{hist_bucket, hist_bucket_range, HIST_BUCKETS, HIST_TOP_LOG2},
    };

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
