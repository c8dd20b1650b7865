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
use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc::{self, Receiver, SyncSender, TrySendError},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use opentelemetry_proto::tonic::{
    collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse},
    common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue},
    metrics::v1::{
        exponential_histogram_data_point::Buckets, metric::Data, number_data_point::Value, AggregationTemporality,
        ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    },
    resource::v1::Resource,
};
use prost::Message;

use super::{
    exposition::{single, Exposition, SelfUsage},
    metrics::{self, Family, Kind, Series, Value as Sample},
    sink::{Control, IntervalSink, Tick},
};

/// The finest scale: buckets 2^(1/256) apart (0.27%), about HdrHistogram's 3 digits.
const MAX_SCALE: i32 = 8;
/// The coarsest scale the format allows.
const MIN_SCALE: i32 = -10;
/// Buckets per histogram at most: the scale goes down (each step merges bucket pairs) until the
/// recorded values fit. 320 keeps 1µs to 1s at scale 4 (4.4% buckets).
const MAX_BUCKETS: i32 = 320;
/// How long the end of a trace waits for its final push.
const FINAL_WAIT: Duration = Duration::from_secs(2);

/// An `--otlp` URL, taken apart once, up front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// As given, for messages.
    pub url: String,
    host: String,
    port: u16,
    /// "host:port", for the Host header.
    authority: String,
    /// Path and query.
    path: String,
}

impl Endpoint {
    /// `http://HOST[:PORT][/PATH]`: port 80 by default, path /v1/metrics when there is none.
    pub fn parse(text: &str) -> Result<Self, String> {
        let usage = "expected http://HOST:PORT/PATH, e.g. http://127.0.0.1:4318/v1/metrics";
        let uri: hyper::Uri = text.parse().map_err(|_| format!("'{text}' is not a URL: {usage}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(format!("'{text}': https is not supported, only plain http: point it at a local collector")),
            _ => return Err(format!("'{text}' is not an http:// URL: {usage}")),
        }
        let authority = uri.authority().ok_or_else(|| format!("'{text}' has no host: {usage}"))?;
        if authority.as_str().contains('@') {
            return Err(format!("'{text}': credentials in the URL are not supported"));
        }
        // The brackets of an IPv6 address are the URL's, not the address's.
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("'{text}' has no host: {usage}"));
        }
        // Taken from the text: `Authority::port` is None for one that is not a u16, as if absent.
        let port = match authority.as_str().rsplit_once(':').map(|(_, port)| port).filter(|port| !port.contains(']')) {
            None => 80,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(format!("'{text}': '{port}' is not a port (1-65535)")),
            },
        };
        // "http://host:4318" alone means the collector's usual path.
        let has_path = text.split_once("://").is_some_and(|(_, rest)| rest.contains('/'));
        let path = match (has_path, uri.path_and_query()) {
            (true, Some(path)) => path.as_str().to_string(),
            _ => "/v1/metrics".to_string(),
        };
        Ok(Self { url: text.to_string(), host: host.to_string(), port, authority: authority.as_str().to_string(), path })
    }
}

/// What the push thread tells the sink.
#[derive(Default)]
struct Shared {
    /// Pushes skipped because the previous one was still on its way.
    dropped: AtomicU64,
    failures: AtomicU64,
    /// The tick whose figures were last delivered.
    delivered: AtomicU64,
}

/// One push for the push thread.
struct Job {
    request: ExportMetricsServiceRequest,
    tick: u64,
    /// For the final push: told when it is done (delivered or not).
    done: Option<mpsc::Sender<()>>,
}

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
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")?;
        let shared = Arc::new(Shared::default());
        // One push waiting while one is on its way: beyond that, pushes are dropped, not queued.
        let (jobs, queue) = mpsc::sync_channel(1);
        let pusher = Pusher { endpoint, shared: shared.clone(), timeout, warned: HashSet::new() };
        std::thread::Builder::new()
            .name("tracer-otlp".into())
            .spawn(move || pusher.run(&runtime, queue))
            .context("start the OTLP thread")?;
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

/// The push thread's side.
struct Pusher {
    endpoint: Endpoint,
    shared: Arc<Shared>,
    timeout: Duration,
    /// Kinds of failure shown already.
    warned: HashSet<&'static str>,
}

/// Why a push failed.
enum Failure {
    Connect(std::io::Error),
    Http(hyper::Error),
    Status(hyper::StatusCode, String),
    Rejected(i64, String),
    Timeout(Duration),
}

impl Failure {
    fn kind(&self) -> &'static str {
        match self {
            Failure::Connect(_) => "connect",
            Failure::Http(_) => "http",
            Failure::Status(..) => "status",
            Failure::Rejected(..) => "rejected",
            Failure::Timeout(_) => "timeout",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Failure::Connect(e) => write!(f, "cannot connect: {e}"),
            Failure::Http(e) => write!(f, "HTTP: {e}"),
            Failure::Status(status, body) if body.is_empty() => write!(f, "the collector answered {status}"),
            Failure::Status(status, body) => write!(f, "the collector answered {status}: {body}"),
            Failure::Rejected(points, message) => write!(f, "the collector rejected {points} data points: {message}"),
            Failure::Timeout(limit) => write!(f, "no answer within {}", humantime::format_duration(*limit)),
        }
    }
}

impl Pusher {
    /// Until the sink is dropped.
    fn run(mut self, runtime: &tokio::runtime::Runtime, queue: Receiver<Job>) {
        for job in queue {
            let body = job.request.encode_to_vec();
            // The timer is made inside the runtime, which it needs.
            let outcome = match runtime.block_on(async { tokio::time::timeout(self.timeout, post(&self.endpoint, body)).await }) {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure::Timeout(self.timeout)),
            };
            match outcome {
                Ok(()) => {
                    self.shared.delivered.fetch_max(job.tick, Ordering::Relaxed);
                }
                Err(failure) => {
                    self.shared.failures.fetch_add(1, Ordering::Relaxed);
                    if self.warned.insert(failure.kind()) {
                        eprintln!(
                            "tracer: OTLP push to {} failed: {failure} (counted in tracer_otlp_push_failures_total, not shown again)",
                            self.endpoint.url
                        );
                    }
                }
            }
            if let Some(done) = job.done {
                let _ = done.send(());
            }
        }
    }
}

/// One POST on a connection of its own: a connect every 10 s costs less than keeping one open,
/// and retrying when the collector closed it while idle.
async fn post(endpoint: &Endpoint, body: Vec<u8>) -> Result<(), Failure> {
    use http_body_util::{BodyExt, Full};
    use hyper::header;

    let stream = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await.map_err(Failure::Connect)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(Failure::Http)?;
    let request = hyper::Request::post(endpoint.path.as_str())
        .header(header::HOST, endpoint.authority.as_str())
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .body(Full::new(bytes::Bytes::from(body)))
        .expect("a path that parsed as part of a URI, and constant headers");
    // The exchange owns the sender: once it is done, the connection has nothing left to do and ends.
    let exchange = async move {
        let response = sender.send_request(request).await?;
        let status = response.status();
        Ok::<_, hyper::Error>((status, response.into_body().collect().await?.to_bytes()))
    };
    let (exchange, _) = tokio::join!(exchange, connection);
    let (status, body) = exchange.map_err(Failure::Http)?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let first: String = text.lines().next().unwrap_or("").chars().take(200).collect();
        return Err(Failure::Status(status, first));
    }
    // A collector may take a request but not all of its points (partial success).
    match ExportMetricsServiceResponse::decode(body.as_ref()).ok().and_then(|r| r.partial_success) {
        Some(partial) if partial.rejected_data_points > 0 => {
            Err(Failure::Rejected(partial.rejected_data_points, partial.error_message))
        }
        _ => Ok(()),
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
fn exponential(latency: &Histogram<u64>, total_ns: u64) -> ExponentialHistogramDataPoint {
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

    #[test]
    fn urls_are_checked_up_front() {
        let e = Endpoint::parse("http://127.0.0.1:4318/v1/metrics").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.authority.as_str(), e.path.as_str()), ("127.0.0.1", 4318, "127.0.0.1:4318", "/v1/metrics"));
        let e = Endpoint::parse("http://collector").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.path.as_str()), ("collector", 80, "/v1/metrics"));
        let e = Endpoint::parse("http://[::1]:4318/otlp/v1/metrics?x=1").unwrap();
        assert_eq!((e.host.as_str(), e.authority.as_str(), e.path.as_str()), ("::1", "[::1]:4318", "/otlp/v1/metrics?x=1"));
        for (bad, says) in [
            ("https://127.0.0.1:4318/v1/metrics", "https is not supported"),
            ("127.0.0.1:4318", "not an http:// URL"),
            ("ftp://host/x", "not an http:// URL"),
            ("http://:4318/v1/metrics", "no host"),
            ("http://127.0.0.1:99999/v1/metrics", "'99999' is not a port"),
            ("http://127.0.0.1:0/v1/metrics", "'0' is not a port"),
            ("http://u:p@127.0.0.1:4318/", "credentials"),
            ("not a url", "is not a URL"),
        ] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert!(err.contains(says) && !err.contains('\n'), "{bad}: {err}");
        }
    }

    #[test]
    fn a_request_has_the_resource_and_the_prometheus_names() {
        use crate::{kernel::event::SyscallRecord, model::aggregate::StatsTable};
        use crate::model::groups::{GroupBy, Groups};
        let me = std::process::id();
        let mut groups = Groups::new(GroupBy::Comm, Vec::new(), 10, None);
        let mut total = StatsTable::default();
        for ns in [2_000, 3_000] {
            let (duration_ns, returned, ret) = (Some(ns), true, -2);
            let rec = SyscallRecord { nr: 0, tgid: me, tid: me, start_ns: 0, duration_ns, returned, ret, arg0: 0, blocked_ns: 0, runq_ns: 0 };
            groups.record(&rec);
            total.record(&rec);
        }
        let (net, live) = (crate::model::net::NetStats::default(), HashSet::new());
        let (start, length) = (Duration::ZERO, Duration::from_secs(1));
        let (interval, lost, throttling, last) = (&total, 4, &[][..], false);
        let mut tick = Tick { start, length, interval, total: &total, lost, live: &live, net: &net, slow: None, groups: None, go: &[], throttling_interval: &[], throttling, last };
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
        let comm = attribute("comm", crate::model::names::comm(me));
        assert_eq!(calls.data_points.len(), 1);
        assert_eq!(calls.data_points[0].attributes, vec![comm.clone(), attribute("syscall", "read")]);
        let Some(Data::Sum(errors)) = find(&request, "tracer_syscall_errors_total") else { panic!() };
        assert_eq!(errors.data_points[0].attributes, vec![comm, attribute("syscall", "read"), attribute("errno", "ENOENT")]);
        assert!(find(&request, "tracer_groups").is_some());
        // It encodes, and decodes back the same.
        let bytes = request.encode_to_vec();
        assert_eq!(ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap(), request);
    }
}
