//! `--otlp URL`: the figures of the Prometheus page pushed to an OpenTelemetry collector every
//! `--otlp-interval`, as OTLP metrics (protobuf over HTTP: `POST` to e.g.
//! http://127.0.0.1:4318/v1/metrics). Plain http only, no TLS: point it at a local collector,
//! which forwards them wherever they must go.
//!
//! The same families as the Prometheus page (exposition.rs), plus the pushes' own counters, minus
//! families with no series: counters are monotonic sums, cumulative since the start; gauges are
//! gauges; the latency histograms are exponential histograms in seconds, made from the
//! HdrHistograms' recorded values. Descriptions are left out: the names are the Prometheus page's,
//! whose HELP says what they are.
//!
//! The reader only builds the request. A thread of its own, with its own tokio runtime, sends
//! one at a time; a push due while the previous one is still on its way is dropped (the next one
//! has its figures, all being cumulative) and counted, as are failures, each kind shown once.
mod exponential;
mod push;

use std::{
    sync::{
        atomic::Ordering,
        mpsc::{self, SyncSender, TrySendError},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Result;
use opentelemetry_proto::tonic::{
    collector::metrics::v1::ExportMetricsServiceRequest,
    common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue},
    metrics::v1::{
        metric::Data, number_data_point::Value, AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
        Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    },
    resource::v1::Resource,
};

use exponential::exponential;
pub use push::Endpoint;
use push::{Job, Shared};
use super::{
    exposition::{single, Exposition, SelfUsage},
    metrics::{self, Family, Kind, Series, Value as Sample},
    sink::{Control, IntervalSink, Tick},
};

/// How long the end of a trace waits for its final push.
const FINAL_WAIT: Duration = Duration::from_secs(2);

/// Pushes every `every` intervals, and the final figures at the end.
pub struct OtlpSink {
    jobs: SyncSender<Job>,
    shared: Arc<Shared>,
    every: u64,
    ticks: u64,
    resource: Resource,
    /// Start of the cumulative series (ns since the epoch).
    start_ns: u64,
    /// Events counted at the last push: fewer now means the totals were reset (the live view's
    /// `r`), and the series start again.
    events: u64,
    /// For process_start_time_seconds.
    start_time: f64,
    /// The last interval's request, which `finish` sends.
    final_request: Option<ExportMetricsServiceRequest>,
    /// With `--by`: the latest interval by which a group that is over now had ended (0: none).
    latest_end: u64,
    warned_busy: bool,
}

impl OtlpSink {
    /// Starts the push thread; pushes every `push_interval` rounded to a multiple of `interval`
    /// (the tracer's `-i`), which it returns with the sink.
    pub fn start(endpoint: Endpoint, push_interval: Duration, interval: Duration) -> Result<(Self, Duration)> {
        let every = (push_interval.as_secs_f64() / interval.as_secs_f64()).round().max(1.0) as u64;
        // A push taking longer than its interval would only delay the next ones.
        let timeout = push_interval.clamp(Duration::from_secs(1), Duration::from_secs(10));
        let shared = Arc::new(Shared::default());
        let jobs = push::start(endpoint, shared.clone(), timeout)?;
        let now = SystemTime::now();
        let sink = Self {
            jobs,
            shared,
            every,
            ticks: 0,
            resource: resource(),
            start_ns: unix_ns(now),
            events: 0,
            start_time: now.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
            final_request: None,
            latest_end: 0,
            warned_busy: false,
        };
        Ok((sink, interval * every as u32))
    }

    fn request(&mut self, tick: &Tick) -> ExportMetricsServiceRequest {
        let now = SystemTime::now();
        if tick.total.events < self.events {
            self.start_ns = unix_ns(now);
        }
        self.events = tick.total.events;
        let counts = Counts {
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            failures: self.shared.failures.load(Ordering::Relaxed),
        };
        let mut families = Exposition::of(tick, Some(SelfUsage::now(self.start_time))).families();
        families.push(single(&metrics::OTLP_PUSHES_DROPPED, Sample::Int(counts.dropped)));
        families.push(single(&metrics::OTLP_PUSH_FAILURES, Sample::Int(counts.failures)));
        let (start_ns, now_ns) = (self.start_ns, unix_ns(now));
        let metrics = families.iter().filter_map(|family| metric(family, start_ns, now_ns)).collect();
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "tracer".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }
}

impl IntervalSink for OtlpSink {
    fn on_interval(&mut self, tick: &Tick) -> Result<Control> {
        self.ticks += 1;
        self.latest_end = tick.groups.map_or(0, |groups| groups.sorted().iter().filter_map(|g| g.ended_at).max().unwrap_or(0));
        if tick.last {
            self.final_request = Some(self.request(tick));
        } else if self.ticks.is_multiple_of(self.every) {
            let job = Job { request: self.request(tick), tick: self.ticks, done: None };
            if let Err(TrySendError::Full(_)) = self.jobs.try_send(job) {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                if !std::mem::replace(&mut self.warned_busy, true) {
                    eprintln!(
                        "tracer: OTLP pushes are slower than --otlp-interval: one was skipped \
                         (counted in tracer_otlp_pushes_dropped_total, not shown again)"
                    );
                }
            }
        }
        Ok(Control::Continue)
    }

    /// Groups that ended may go once a push made after the last of them ended was delivered:
    /// their final figures are in it. (Not only right after a push, so that retiring does not
    /// wait for a push and a scrape to fall in the same interval.)
    fn retire_ended(&self) -> bool {
        self.shared.delivered.load(Ordering::Relaxed) >= self.latest_end
    }

    /// Sends the final figures, and waits for them a little: the trace is over, the reader waits
    /// for nothing else.
    fn finish(&mut self) -> Result<()> {
        let Some(request) = self.final_request.take() else { return Ok(()) };
        let deadline = Instant::now() + FINAL_WAIT;
        let (done, delivered) = mpsc::channel();
        let mut job = Job { request, tick: self.ticks, done: Some(done) };
        loop {
            match self.jobs.try_send(job) {
                Ok(()) => break,
                Err(TrySendError::Full(again)) if Instant::now() < deadline => {
                    job = again;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(TrySendError::Full(_)) => {
                    eprintln!("tracer: the final OTLP push was not sent: the previous one was still on its way");
                    return Ok(());
                }
                // The push thread is gone: it said why.
                Err(TrySendError::Disconnected(_)) => return Ok(()),
            }
        }
        if delivered.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_err() {
            eprintln!("tracer: the final OTLP push did not complete within {}s", FINAL_WAIT.as_secs());
        }
        Ok(())
    }
}

/// What the push thread counted, pushed with the figures.
#[derive(Clone, Copy, Default)]
struct Counts {
    dropped: u64,
    failures: u64,
}

/// Who is pushing: service.name, host.name.
fn resource() -> Resource {
    let mut attributes = vec![attribute("service.name", "tracer"), attribute("service.version", env!("CARGO_PKG_VERSION"))];
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    if !host.trim().is_empty() {
        attributes.push(attribute("host.name", host.trim()));
    }
    Resource { attributes, ..Default::default() }
}

fn attribute(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }), ..Default::default() }
}

fn unix_ns(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// A family as an OTLP metric: a counter is a monotonic cumulative sum, a gauge a gauge, a
/// latency histogram an exponential histogram. None for a family with no series.
fn metric(family: &Family, start_ns: u64, now_ns: u64) -> Option<Metric> {
    if family.series.is_empty() {
        return None;
    }
    let (start_time_unix_nano, time_unix_nano) = (start_ns, now_ns);
    let numbers = || -> Vec<NumberDataPoint> {
        let point = |series: &Series| {
            let attributes = attributes(series);
            Some(NumberDataPoint { attributes, start_time_unix_nano, time_unix_nano, value: Some(number(series.value)?), ..Default::default() })
        };
        family.series.iter().filter_map(point).collect()
    };
    let histograms = || -> Vec<ExponentialHistogramDataPoint> {
        let point = |series: &Series| match series.value {
            Sample::Histogram(latency, total_ns) => {
                let attributes = attributes(series);
                Some(ExponentialHistogramDataPoint { attributes, start_time_unix_nano, time_unix_nano, ..exponential(latency, total_ns) })
            }
            _ => None,
        };
        family.series.iter().filter_map(point).collect()
    };
    let aggregation_temporality = AggregationTemporality::Cumulative as i32;
    let data = match family.metric.kind {
        Kind::Counter => Data::Sum(Sum { data_points: numbers(), aggregation_temporality, is_monotonic: true }),
        Kind::Gauge => Data::Gauge(Gauge { data_points: numbers() }),
        Kind::Histogram => Data::ExponentialHistogram(ExponentialHistogram { data_points: histograms(), aggregation_temporality }),
    };
    let (name, unit) = (family.metric.name.into(), family.metric.unit.into());
    Some(Metric { name, unit, data: Some(data), ..Default::default() })
}

fn attributes(series: &Series) -> Vec<KeyValue> {
    series.labels.iter().map(|(key, value)| attribute(key, value.as_str())).collect()
}

/// A counter's or gauge's value (Family::add lets only histograms have histogram values).
fn number(value: Sample) -> Option<Value> {
    match value {
        Sample::Int(value) => Some(Value::AsInt(value.min(i64::MAX as u64) as i64)),
        Sample::Float(value) => Some(Value::AsDouble(value)),
        Sample::Histogram(..) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use prost::Message;

    use super::*;

    #[test]
    fn a_request_has_the_resource_and_the_prometheus_names() {
        use crate::{kernel::event::SyscallRecord, model::table::StatsTable};
        use crate::model::groups::{GroupBy, Groups};
        let me = std::process::id();
        let mut groups = Groups::new(GroupBy::Comm, Vec::new(), 10, None);
        let mut total = StatsTable::default();
        for ns in [2_000, 3_000] {
            let (duration_ns, returned, ret) = (Some(ns), true, -2);
            let rec = SyscallRecord { nr: 0, tgid: me, tid: me, start_ns: 0, duration_ns, returned, ret, arg0: 0, blocked_ns: 0, runq_ns: 0, fd_kind: None };
            groups.record(&rec);
            total.record(&rec);
        }
        let (net, live) = (crate::model::net::NetStats::default(), HashSet::new());
        let (start, length) = (Duration::ZERO, Duration::from_secs(1));
        let (interval, lost, throttling, last) = (&total, 4, &[][..], false);
        let mut tick = Tick { start, length, interval, total: &total, lost, live: &live, net: &net, slow: None, groups: None, go: &[], throttling_interval: &[], throttling, last, time_split: true };
        let find = |request: &ExportMetricsServiceRequest, name: &str| -> Option<Data> {
            request.resource_metrics[0].scope_metrics[0].metrics.iter().find(|m| m.name == name).and_then(|m| m.data.clone())
        };
        let endpoint = Endpoint::parse("http://127.0.0.1:9/").unwrap();
        let (mut sink, every) = OtlpSink::start(endpoint, Duration::from_secs(10), Duration::from_millis(300)).unwrap();
        assert_eq!(every, Duration::from_millis(9_900), "33 intervals");
        let request = sink.request(&tick);
        let resource = request.resource_metrics[0].resource.as_ref().unwrap();
        assert!(resource.attributes.contains(&attribute("service.name", "tracer")));
        assert!(resource.attributes.iter().any(|a| a.key == "host.name"));
        let Some(Data::Sum(calls)) = find(&request, "tracer_syscalls_total") else { panic!("no tracer_syscalls_total") };
        assert!(calls.is_monotonic && calls.aggregation_temporality == AggregationTemporality::Cumulative as i32);
        let read = &calls.data_points[0];
        assert_eq!((&read.attributes, read.value), (&vec![attribute("syscall", "read")], Some(Value::AsInt(2))));
        let Some(Data::ExponentialHistogram(latency)) = find(&request, "tracer_syscall_duration_seconds") else { panic!() };
        assert_eq!((latency.data_points[0].count, latency.data_points[0].sum), (2, Some(5e-6)));
        let Some(Data::Sum(lost)) = find(&request, "tracer_events_lost_total") else { panic!() };
        assert_eq!(lost.data_points[0].value, Some(Value::AsInt(4)));
        assert!(matches!(find(&request, "process_resident_memory_bytes"), Some(Data::Gauge(_))));
        assert!(find(&request, "tracer_io_duration_seconds").is_none(), "no I/O, no metric");

        // Per group: the group's attribute on every syscall series, and no machine-wide total.
        tick.groups = Some(&groups);
        let request = sink.request(&tick);
        let Some(Data::Sum(calls)) = find(&request, "tracer_syscalls_total") else { panic!() };
        let comm = attribute("comm", crate::host::names::comm(me));
        assert_eq!(calls.data_points.len(), 1);
        assert_eq!(calls.data_points[0].attributes, vec![comm.clone(), attribute("syscall", "read")]);
        let Some(Data::Sum(errors)) = find(&request, "tracer_syscall_errors_total") else { panic!() };
        assert_eq!(errors.data_points[0].attributes, vec![comm, attribute("syscall", "read"), attribute("errno", "ENOENT")]);
        assert!(find(&request, "tracer_groups").is_some());
        // It encodes, and decodes back the same.
        let bytes = request.encode_to_vec();
        assert_eq!(ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap(), request);
    }

    #[test]
    fn a_push_has_the_series_of_the_page() {
        use crate::{
            model::{table::StatsTable, cpu_quota::Throttling, net::NetStats},
            report::prometheus,
        };
        let (total, net, live) = (StatsTable::default(), NetStats::default(), HashSet::new());
        let cgroup = |name: &str, quota_us, nr_throttled| Throttling {
            cgroup: name.into(),
            quota_us,
            period_us: 100_000,
            nr_periods: 10,
            nr_throttled,
            throttled_ns: 0,
        };
        // Unlimited and never throttled: nothing to say, on the page or in a push.
        let throttling = [cgroup("/limited", Some(50_000), 0), cgroup("/unlimited", None, 0)];
        let (start, length, lost, last) = (Duration::ZERO, Duration::from_secs(1), 0, false);
        let tick = Tick { start, length, interval: &total, total: &total, lost, live: &live, net: &net, slow: None, groups: None, go: &[], throttling_interval: &[], throttling: &throttling, last, time_split: true };
        let page = prometheus::render(&Exposition::of(&tick, Some(SelfUsage::default())));
        let families = Exposition::of(&tick, Some(SelfUsage::default())).families();
        let pushed: Vec<String> = families.iter().filter_map(|f| metric(f, 1, 2)).map(|m| m.name).collect();
        // A family's HELP, TYPE, then its series: those with any.
        let with_series = |family: &str| family.lines().count() > 2;
        let shown: Vec<&str> = page.split("# HELP ").filter(|f| with_series(f)).filter_map(|f| f.split(' ').next()).collect();
        assert_eq!(pushed, shown);
        for name in ["tracer_kernel_counted_calls_total", "tracer_cgroup_cpu_periods_total"] {
            assert!(pushed.iter().any(|p| p == name), "{name}: {pushed:?}");
        }
        assert!(!page.contains("/unlimited") && !format!("{families:?}").contains("/unlimited"));
    }
}
