//! An HdrHistogram of ns as an OTLP exponential histogram of seconds: the finest scale that keeps
//! the buckets few, every recorded count kept.
use hdrhistogram::Histogram;
use opentelemetry_proto::tonic::metrics::v1::{exponential_histogram_data_point::Buckets, ExponentialHistogramDataPoint};

/// The finest scale: buckets 2^(1/256) apart (0.27%), about HdrHistogram's 3 digits.
const MAX_SCALE: i32 = 8;
/// The coarsest scale the format allows.
const MIN_SCALE: i32 = -10;
/// Buckets per histogram at most: the scale goes down (each step merges bucket pairs) until the
/// recorded values fit. 320 keeps 1µs to 1s at scale 4 (4.4% buckets).
const MAX_BUCKETS: i32 = 320;

/// The lower bound of bucket `index` at `scale`, base^index with base = 2^(2^-scale); the
/// bucket holds (base^index, base^(index+1)].
fn lower_bound(index: i32, scale: i32) -> f64 {
    (f64::from(index) / f64::from(scale).exp2()).exp2()
}

/// The bucket of `value` (> 0) at `scale`.
fn bucket_index(value: f64, scale: i32) -> i32 {
    let index = (value.log2() * f64::from(scale).exp2()).ceil() as i32 - 1;
    // log2 rounds: a value by a bound may come out one off, which the bounds themselves settle.
    if lower_bound(index + 1, scale) < value {
        index + 1
    } else if lower_bound(index, scale) >= value {
        index - 1
    } else {
        index
    }
}

/// An HdrHistogram of ns as an exponential histogram of seconds (the buckets, counts, sum, min
/// and max; no attributes or times). Each recorded value counts at its HdrHistogram bucket's
/// middle, as HdrHistogram's own mean does; 0 is the zero bucket.
pub(super) fn exponential(latency: &Histogram<u64>, total_ns: u64) -> ExponentialHistogramDataPoint {
    let mut zero_count = 0;
    // Ascending, so the first and last are the span.
    let mut finest: Vec<(i32, u64)> = Vec::new();
    for value in latency.iter_recorded() {
        let ns = latency.median_equivalent(value.value_iterated_to());
        match ns {
            0 => zero_count += value.count_since_last_iteration(),
            ns => finest.push((bucket_index(ns as f64 / 1e9, MAX_SCALE), value.count_since_last_iteration())),
        }
    }
    let (first, last) = (finest.first().map_or(0, |b| b.0), finest.last().map_or(0, |b| b.0));
    // One scale down is one bit less of the index: bucket i at scale s is i >> 1 at s - 1.
    let mut shift = 0;
    while (last >> shift) - (first >> shift) >= MAX_BUCKETS && MAX_SCALE - shift > MIN_SCALE {
        shift += 1;
    }
    let offset = first >> shift;
    let mut bucket_counts = vec![0u64; if finest.is_empty() { 0 } else { ((last >> shift) - offset + 1) as usize }];
    for (index, count) in finest {
        bucket_counts[((index >> shift) - offset) as usize] += count;
    }
    let nonempty = !latency.is_empty();
    ExponentialHistogramDataPoint {
        count: latency.len(),
        sum: Some(total_ns as f64 / 1e9),
        scale: MAX_SCALE - shift,
        zero_count,
        positive: Some(Buckets { offset, bucket_counts }),
        min: nonempty.then(|| latency.min() as f64 / 1e9),
        max: nonempty.then(|| latency.max() as f64 / 1e9),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::histogram::{new_histogram, record_value};

    fn histogram(values: &[u64]) -> Histogram<u64> {
        let mut h = new_histogram();
        for &v in values {
            record_value(&mut h, v);
        }
        h
    }

    /// The bucket bounds holding each of a histogram's buckets' counts.
    fn buckets(point: &ExponentialHistogramDataPoint) -> Vec<(f64, f64, u64)> {
        let positive = point.positive.as_ref().unwrap();
        let at = |i: usize| positive.offset + i as i32;
        let bounds = |i: usize| (lower_bound(at(i), point.scale), lower_bound(at(i) + 1, point.scale));
        positive.bucket_counts.iter().enumerate().filter(|(_, &c)| c > 0).map(|(i, &c)| (bounds(i).0, bounds(i).1, c)).collect()
    }

    #[test]
    fn each_value_lands_in_a_bucket_whose_bounds_hold_it() {
        // Exact in HdrHistogram (below 2048 ns), powers of two of seconds (on a bound: the lower
        // bucket, bounds being upper-inclusive), and across the range.
        let mut values: Vec<u64> =
            vec![1, 2, 3, 7, 1000, 2047, 1_953_125, 7_812_500, 500_000_000, 1_000_000_000, 2_000_000_000, 4_000_000_000];
        let mut v = 1u64;
        while v < 100_000_000_000 {
            values.push(v);
            v = v * 1013 / 1000 + 1;
        }
        for ns in values {
            let h = histogram(&[ns]);
            let point = exponential(&h, ns);
            let seconds = h.median_equivalent(ns) as f64 / 1e9;
            let [(low, high, 1)] = buckets(&point)[..] else { panic!("{ns}: {:?}", buckets(&point)) };
            assert!(low < seconds && seconds <= high, "{ns} ns in ({low}, {high}] at scale {}", point.scale);
            assert_eq!((point.scale, point.count, point.zero_count), (MAX_SCALE, 1, 0));
        }
        // 0.5 s is 2^-1, the upper bound of bucket -2^8 - 1 at scale 8.
        assert_eq!(bucket_index(0.5, 8), -257);
        assert_eq!(bucket_index(1.0, 3), -1);
        assert_eq!(bucket_index(2f64.powf(1.0 / 8.0) * 1.000001, 3), 1);
    }

    #[test]
    fn counts_are_kept_exactly_and_a_wide_span_scales_down() {
        let mut h = new_histogram();
        let mut expected = 0;
        for (i, ns) in [0u64, 0, 1, 5, 900, 12_345, 1_000_000, 27_000_000, 1_000_000_000, 90_000_000_000].into_iter().enumerate() {
            h.record_n(ns, i as u64 + 1).unwrap();
            expected += i as u64 + 1;
        }
        let point = exponential(&h, 123_000_000_000);
        let positive = point.positive.as_ref().unwrap();
        assert_eq!(point.count, expected);
        assert_eq!(point.zero_count, 3);
        assert_eq!(positive.bucket_counts.iter().sum::<u64>() + point.zero_count, expected);
        let spread = positive.bucket_counts.len();
        assert!(spread <= MAX_BUCKETS as usize && point.scale < MAX_SCALE, "{spread} buckets at scale {}", point.scale);
        // 1 ns to 90 s is 36.4 octaves: 8 buckets each fit, 16 do not.
        assert_eq!(point.scale, 3);
        assert_eq!((point.sum, point.min, point.max.map(|m| (90.0..90.1).contains(&m))), (Some(123.0), Some(0.0), Some(true)));
        for (low, high, count) in buckets(&point) {
            assert!(low < high && count > 0);
        }
        // Nothing recorded: no buckets, no min or max.
        let empty = exponential(&new_histogram(), 0);
        assert_eq!((empty.count, empty.positive.unwrap().bucket_counts.len(), empty.min), (0, 0, None));
        // A 1 µs to 1 s spread keeps a fine scale.
        assert_eq!(exponential(&histogram(&[1_000, 1_000_000_000]), 0).scale, 4);
    }
}
