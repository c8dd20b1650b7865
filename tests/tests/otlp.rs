//! `--otlp`: a collector made here (a loopback listener that decodes each POST) receives the
//! workload's exact counts and an exponential histogram of its calls; a collector that is down
//! costs one line, not the trace; a bad URL is one line.
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use opentelemetry_proto::tonic::{
    collector::metrics::v1::ExportMetricsServiceRequest,
    common::v1::{any_value, KeyValue},
    metrics::v1::{metric::Data, number_data_point::Value, AggregationTemporality, ExponentialHistogramDataPoint, Metric, NumberDataPoint},
};
use prost::Message;
use tracer_tests::{http_get, trace, tracer, workload_bin, Attached, TestCgroup, Waiting};

/// One POST as the collector took it.
struct Post {
    path: String,
    content_type: String,
    request: ExportMetricsServiceRequest,
}

/// Takes OTLP/HTTP POSTs on 127.0.0.1, answers each 200, and hands them over decoded.
struct Collector {
    addr: String,
    posts: mpsc::Receiver<Post>,
}

impl Collector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, posts) = mpsc::channel();
        // Left running when the test ends: it only ever waits for the next connection.
        thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                match receive(stream) {
                    Ok(post) => {
                        if tx.send(post).is_err() {
                            break;
                        }
                    }
                    Err(e) => eprintln!("collector: {e}"),
                }
            }
        });
        Self { addr, posts }
    }

    /// The first POST that `accept` takes, within 60 s.
    fn wait_for(&self, accept: impl Fn(&Post) -> bool) -> Post {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.posts.recv_timeout(left) {
                Ok(post) if accept(&post) => return post,
                Ok(_) => seen += 1,
                Err(_) => panic!("no acceptable push in 60 s ({seen} others)"),
            }
        }
    }
}

/// Reads one HTTP/1.1 request with a Content-Length body, and answers 200.
fn receive(mut stream: TcpStream) -> std::io::Result<Post> {
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = match line.split_whitespace().collect::<Vec<_>>()[..] {
        ["POST", path, "HTTP/1.1"] => path.to_string(),
        _ => return Err(bad(format!("not an HTTP/1.1 POST: {line:?}"))),
    };
    let (mut length, mut content_type) = (None, String::new());
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let Some((name, value)) = line.trim_end().split_once(':') else { break };
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse::<usize>().ok(),
            "content-type" => content_type = value.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length.ok_or_else(|| bad("no Content-Length".into()))?];
    reader.read_exact(&mut body)?;
    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let request = ExportMetricsServiceRequest::decode(body.as_slice()).map_err(|e| bad(format!("not an OTLP metrics request: {e}")))?;
    Ok(Post { path, content_type, request })
}

fn metric<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> Option<&'a Metric> {
    request.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics).find(|m| m.name == name)
}

fn data<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> Option<&'a Data> {
    metric(request, name)?.data.as_ref()
}

fn has(attributes: &[KeyValue], key: &str, value: &str) -> bool {
    attributes.iter().any(|a| {
        a.key == key && matches!(a.value.as_ref().and_then(|v| v.value.as_ref()), Some(any_value::Value::StringValue(v)) if v == value)
    })
}

/// tracer_syscalls_total{syscall=NAME}, if pushed.
fn calls(request: &ExportMetricsServiceRequest, syscall: &str) -> Option<i64> {
    calls_of(request, syscall, None)
}

/// tracer_syscalls_total{syscall=NAME, KEY=VALUE}, if pushed.
fn calls_of(request: &ExportMetricsServiceRequest, syscall: &str, group: Option<(&str, &str)>) -> Option<i64> {
    let Some(Data::Sum(sum)) = data(request, "tracer_syscalls_total") else { return None };
    assert!(sum.is_monotonic && sum.aggregation_temporality == AggregationTemporality::Cumulative as i32);
    let wanted = |p: &&NumberDataPoint| has(&p.attributes, "syscall", syscall) && group.is_none_or(|(k, v)| has(&p.attributes, k, v));
    match sum.data_points.iter().find(wanted)?.value {
        Some(Value::AsInt(calls)) => Some(calls),
        other => panic!("tracer_syscalls_total is {other:?}"),
    }
}

fn latency<'a>(request: &'a ExportMetricsServiceRequest, syscall: &str) -> &'a ExponentialHistogramDataPoint {
    let Some(Data::ExponentialHistogram(histogram)) = data(request, "tracer_syscall_duration_seconds") else {
        panic!("tracer_syscall_duration_seconds is not an exponential histogram")
    };
    assert_eq!(histogram.aggregation_temporality, AggregationTemporality::Cumulative as i32);
    histogram.data_points.iter().find(|p| has(&p.attributes, "syscall", syscall)).expect("a data point for the syscall")
}

#[test]
fn a_collector_receives_the_exact_counts_and_an_exponential_histogram() {
    let collector = Collector::start();
    let workload = Waiting::spawn(&["getppid", "1234"]);
    let pid = workload.pid().to_string();
    let url = format!("http://{}/v1/metrics", collector.addr);
    let agent = Attached::spawn(&[
        "serve", "--listen", "127.0.0.1:0", "--otlp", &url, "--otlp-interval", "1s", "-i", "200ms", "-e", "trace=getppid", "-p", &pid,
    ]);
    agent.wait_for_stderr("attached to process");
    workload.go();

    let post = collector.wait_for(|post| calls(&post.request, "getppid").is_some_and(|n| n >= 1234));
    assert_eq!(calls(&post.request, "getppid"), Some(1234), "exactly the workload's calls");
    assert_eq!((post.path.as_str(), post.content_type.as_str()), ("/v1/metrics", "application/x-protobuf"));
    let resource = post.request.resource_metrics[0].resource.as_ref().expect("a resource");
    assert!(has(&resource.attributes, "service.name", "tracer"), "{:?}", resource.attributes);
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(has(&resource.attributes, "host.name", hostname.trim()), "{:?}", resource.attributes);

    let point = latency(&post.request, "getppid");
    let buckets = point.positive.as_ref().expect("positive buckets");
    assert_eq!(point.count, 1234);
    assert_eq!(buckets.bucket_counts.iter().sum::<u64>() + point.zero_count, 1234, "every call in a bucket");
    let (scale, spread) = (point.scale, buckets.bucket_counts.len());
    assert!((-10..=8).contains(&scale) && spread <= 320, "scale {scale} with {spread} buckets");
    let (min, max, sum) = (point.min.expect("min"), point.max.expect("max"), point.sum.expect("sum"));
    // A getppid takes well under a millisecond; the mean lies between min and max.
    assert!(0.0 < min && min <= max && max < 0.01, "min {min} max {max}");
    assert!(min * 1234.0 * 0.99 <= sum && sum <= max * 1234.0 * 1.01, "sum {sum}");
    assert!(point.start_time_unix_nano > 0 && point.start_time_unix_nano < point.time_unix_nano);
    let Some(Data::Sum(lost)) = data(&post.request, "tracer_events_lost_total") else { panic!("no lost events") };
    assert_eq!(lost.data_points[0].value, Some(Value::AsInt(0)));
    let Some(Data::Gauge(rss)) = data(&post.request, "process_resident_memory_bytes") else { panic!("no RSS") };
    assert!(matches!(rss.data_points[0].value, Some(Value::AsInt(bytes)) if bytes > 1_000_000));

    // The workload is done, so is the trace (-p): it ends with its final push, and exits well.
    assert!(workload.wait().success());
    let (summary, output) = agent.finish_within(Duration::from_secs(30));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(summary.calls("getppid"), 1234);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("OTLP"), "{}", String::from_utf8_lossy(&output.stderr));
    // The final push was answered before the tracer exited: the last of the posts, or `post` itself.
    let start = point.start_time_unix_nano;
    let last = std::iter::from_fn(|| collector.posts.recv_timeout(Duration::from_millis(500)).ok()).last().unwrap_or(post);
    assert_eq!(calls(&last.request, "getppid"), Some(1234));
    assert_eq!(latency(&last.request, "getppid").start_time_unix_nano, start, "one cumulative series");
}

#[test]
fn an_ended_group_goes_once_its_last_figures_were_pushed_and_scraped() {
    let collector = Collector::start();
    let cgroup = TestCgroup::new("otlp-retire");
    let url = format!("http://{}/v1/metrics", collector.addr);
    let path = cgroup.path.to_str().unwrap();
    let agent = Attached::spawn(&[
        "serve", "--listen", "127.0.0.1:0", "--otlp", &url, "--otlp-interval", "1s", "-i", "200ms", "--cgroup", path, "--by", "comm",
        "-e", "trace=getppid",
    ]);
    let line = agent.wait_for_stderr("serving metrics on http://");
    let addr = line.split("http://").nth(1).and_then(|rest| rest.strip_suffix("/metrics")).expect("address").to_string();
    agent.wait_for_stderr("attached to cgroup");
    let workload = Waiting::spawn(&["getppid", "321"]);
    cgroup.enter(workload.pid());
    workload.go();
    assert!(workload.wait().success());
    // Retiring takes both sinks: a scrape of the page, and a push, after the group ended.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut page = String::new();
    while !page.contains("tracer_groups_retired_total 1\n") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(200));
        page = http_get(&addr, "/metrics").unwrap().1;
    }
    assert!(page.contains("tracer_groups_retired_total 1\n") && !page.contains("comm=\"workload\""), "{page}");
    // In the pushes, in order: none before the workload, then its series until the last push
    // before it was dropped, which had its final figures, then none again.
    let mut last_pushed = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let post = collector.posts.recv_timeout(left).expect("pushes without the group, after it was dropped");
        match calls_of(&post.request, "getppid", Some(("comm", "workload"))) {
            Some(calls) => last_pushed = Some(calls),
            None if last_pushed.is_some() => break,
            None => {}
        }
    }
    assert_eq!(last_pushed, Some(321));
    drop(agent);
}

#[test]
fn a_collector_that_is_down_costs_one_line_not_the_trace() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/v1/metrics");
    let workload = workload_bin();
    // Ten pushes or so, every one refused.
    let (summary, output) =
        trace(&["--otlp", &url, "--otlp-interval", "100ms", "-i", "50ms", "--", workload.to_str().unwrap(), "sleep", "1000"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(summary.processes == 1 && summary.calls("clock_nanosleep") + summary.calls("nanosleep") == 1, "the summary as ever:\n{stderr}");
    let failures: Vec<&str> = stderr.lines().filter(|l| l.contains("OTLP push")).collect();
    assert_eq!(failures.len(), 1, "once per kind of failure:\n{stderr}");
    assert!(failures[0].contains(&format!("OTLP push to {url} failed: cannot connect")), "{stderr}");
}

#[test]
fn a_bad_url_is_one_line() {
    for (url, says) in [
        ("https://127.0.0.1:4318/v1/metrics", "https is not supported"),
        ("127.0.0.1:4318", "is not an http:// URL"),
        ("http://127.0.0.1:99999/v1/metrics", "'99999' is not a port"),
        ("http:///v1/metrics", "--otlp: "),
    ] {
        let output = tracer().args(["serve", "--listen", "127.0.0.1:0", "--otlp", url, "--all"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{url}: {stderr}");
        assert!(stderr.starts_with("tracer: --otlp: ") && stderr.contains(says), "{url}: {stderr}");
        assert!(!stderr.contains("panicked") && stderr.trim_end().lines().count() == 1, "{url}: {stderr}");
    }
    // An interval without a URL is a malformed command line.
    let output = tracer().args(["--otlp-interval", "5s", "-p", "1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--otlp") && stderr.trim_end().lines().count() == 1, "{stderr}");
}
