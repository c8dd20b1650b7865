//! Prometheus text exposition (format 0.0.4) of exposition.rs's families: the file written for
//! node-exporter's textfile collector (`--prometheus`) and the page `tracer serve` answers
//! scrapes with.
use std::{fmt::Write as _, path::PathBuf};

use anyhow::Result;
use hdrhistogram::Histogram;

use super::{
    atomic_file::write_atomic,
    exposition::Exposition,
    metrics::{Family, Kind, Value},
    sink::{Control, IntervalSink, Tick},
};

/// Upper bounds (seconds) of the histogram buckets: 1µs to 10s, 1-2.5-5 steps.
const BUCKETS: &[f64] = &[
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25,
    0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One metric family at a time: HELP and TYPE once, then its series.
struct Writer {
    out: String,
}

impl Writer {
    fn family(&mut self, family: &Family) {
        let name = family.metric.name;
        let kind = match family.metric.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(self.out, "# HELP {name} {}", family.metric.help);
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        for series in &family.series {
            let labels: Vec<String> = series.labels.iter().map(|(key, value)| format!("{key}=\"{}\"", escape(value))).collect();
            let labels = labels.join(",");
            match series.value {
                Value::Int(value) => self.sample(name, &labels, value),
                Value::Float(value) => self.sample(name, &labels, value),
                Value::Histogram(latency, total_ns) => self.histogram(name, &labels, latency, total_ns),
            }
        }
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let _ = writeln!(self.out, "{name}{{{labels}}} {value}");
        }
    }

    /// The bucket, sum and count lines of one histogram series.
    fn histogram(&mut self, name: &str, labels: &str, latency: &Histogram<u64>, total_ns: u64) {
        let sep = if labels.is_empty() { "" } else { "," };
        for le in BUCKETS {
            let count = latency.count_between(0, (le * 1e9) as u64);
            let _ = writeln!(self.out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {count}");
        }
        let _ = writeln!(self.out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", latency.len());
        self.sample(&format!("{name}_sum"), labels, total_ns as f64 / 1e9);
        self.sample(&format!("{name}_count"), labels, latency.len());
    }
}

/// A label value, escaped as the text format requires.
pub fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The page: every family, HELP and TYPE even for one with no series yet.
pub fn render(e: &Exposition) -> String {
    let mut w = Writer { out: String::new() };
    for family in e.families() {
        w.family(&family);
    }
    w.out
}

/// Rewrites the Prometheus file every interval, so a long run is visible while it lasts; the
/// session's last (partial) interval writes the final totals.
pub struct PrometheusSink {
    pub path: PathBuf,
}

impl IntervalSink for PrometheusSink {
    fn wants_intervals(&self) -> bool {
        false // cumulative figures only
    }

    fn on_interval(&mut self, tick: &Tick) -> Result<Control> {
        let text = render(&Exposition::of(tick, None));
        write_atomic(&self.path, text.as_bytes())?;
        Ok(Control::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        kernel::event::SyscallRecord,
        model::{table::StatsTable, net::NetStats},
        report::exposition::SelfUsage,
    };

    #[test]
    fn families_come_once_and_groups_label_every_series() {
        use crate::model::groups::{GroupBy, Groups};
        let mut groups = Groups::new(GroupBy::Comm, Vec::new(), 10, None);
        let me = std::process::id();
        let rec = SyscallRecord { nr: 0, tgid: me, tid: me, start_ns: 0, duration_ns: Some(2_000), returned: true, ret: -2, arg0: 0, blocked_ns: 0, runq_ns: 500, fd_kind: None };
        groups.record(&rec);
        let totals = StatsTable::default();
        let net = NetStats::default();
        let exposition = Exposition { totals: &totals, net: &net, lost: 3, groups: Some(&groups), throttling: &[], go: &[], usage: Some(SelfUsage::now(1.0)), time_split: true };
        let text = render(&exposition);
        // With --no-sched the split is not measured: no series, rather than all of it on a CPU.
        let unsplit = render(&Exposition { time_split: false, ..exposition });
        assert!(!unsplit.contains("tracer_syscall_time_seconds_total{") && unsplit.contains("tracer_syscalls_total{"), "{unsplit}");
        let comm = escape(&crate::host::names::comm(me));
        assert!(text.contains(&format!("tracer_syscalls_total{{comm=\"{comm}\",syscall=\"read\"}} 1\n")), "{text}");
        assert!(text.contains(&format!("tracer_syscall_duration_seconds_bucket{{comm=\"{comm}\",syscall=\"read\",le=\"0.0000025\"}} 1\n")), "{text}");
        assert!(text.contains(&format!("tracer_syscall_time_seconds_total{{comm=\"{comm}\",syscall=\"read\",state=\"runq\"}} 0.0000005\n")), "{text}");
        assert!(text.contains(&format!("tracer_syscall_errors_total{{comm=\"{comm}\",syscall=\"read\",errno=\"ENOENT\"}} 1\n")), "{text}");
        assert!(text.contains("tracer_events_lost_total 3\n") && text.contains("process_resident_memory_bytes "));
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            assert_eq!(text.matches(&format!("{line}\n")).count(), 1, "{line} twice");
        }
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
