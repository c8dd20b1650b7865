//! How figures read in every report: durations to three significant digits (the histograms'
//! precision), and the kernel's timestamps as time of day.

/// Formats nanoseconds with three significant digits, the precision of the histograms.
pub fn format_ns(ns: u64) -> String {
    const UNITS: [(f64, &str); 3] = [(1e9, "s"), (1e6, "ms"), (1e3, "us")];
    let value = ns as f64;
    for (scale, unit) in UNITS {
        if value >= scale {
            let scaled = value / scale;
            let decimals = if scaled >= 100.0 { 0 } else if scaled >= 10.0 { 1 } else { 2 };
            return format!("{scaled:.decimals$}{unit}");
        }
    }
    format!("{ns}ns")
}

/// Turns the kernel's CLOCK_MONOTONIC timestamps into wall-clock time of day.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC, in ns, when the trace began.
    offset_ns: i128,
}

impl WallClock {
    pub fn now() -> Self {
        let read = |clock| {
            let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: a valid timespec to fill; both clocks always exist on Linux.
            unsafe { libc::clock_gettime(clock, &mut ts) };
            ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
        };
        Self { offset_ns: read(libc::CLOCK_REALTIME) - read(libc::CLOCK_MONOTONIC) }
    }

    /// `HH:MM:SS.uuuuuu`, local time, as strace -tt prints it.
    pub fn time_of_day(&self, monotonic_ns: u64) -> String {
        let wall = monotonic_ns as i128 + self.offset_ns;
        let (secs, micros) = (wall.div_euclid(1_000_000_000) as libc::time_t, wall.rem_euclid(1_000_000_000) / 1000);
        // SAFETY: localtime_r fills the tm it is given; an all-zero tm is a valid start.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        unsafe { libc::localtime_r(&secs, &mut tm) };
        format!("{:02}:{:02}:{:02}.{micros:06}", tm.tm_hour, tm.tm_min, tm.tm_sec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_three_significant_digits() {
        assert_eq!(format_ns(0), "0ns");
        assert_eq!(format_ns(999), "999ns");
        assert_eq!(format_ns(1_234), "1.23us");
        assert_eq!(format_ns(12_345), "12.3us");
        assert_eq!(format_ns(123_456), "123us");
        assert_eq!(format_ns(50_100_000), "50.1ms");
        assert_eq!(format_ns(2_000_000_000), "2.00s");
    }
}
