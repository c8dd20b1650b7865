//! The push thread: an `--otlp` URL taken apart up front, and one POST at a time on a
//! connection of its own, each kind of failure shown once and every failure counted.
use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc::{self, Receiver, SyncSender},
        Arc,
    },
    time::Duration,
};

use anyhow::{Context, Result};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use prost::Message;

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
pub(super) struct Shared {
    /// Pushes skipped because the previous one was still on its way.
    pub(super) dropped: AtomicU64,
    pub(super) failures: AtomicU64,
    /// The tick whose figures were last delivered.
    pub(super) delivered: AtomicU64,
}

/// One push for the push thread.
pub(super) struct Job {
    pub(super) request: ExportMetricsServiceRequest,
    pub(super) tick: u64,
    /// For the final push: told when it is done (delivered or not).
    pub(super) done: Option<mpsc::Sender<()>>,
}

/// Starts the push thread, which sends the jobs one at a time until the sink is dropped.
pub(super) fn start(endpoint: Endpoint, shared: Arc<Shared>, timeout: Duration) -> Result<SyncSender<Job>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")?;
    // One push waiting while one is on its way: beyond that, pushes are dropped, not queued.
    let (jobs, queue) = mpsc::sync_channel(1);
    let pusher = Pusher { endpoint, shared, timeout, warned: HashSet::new() };
    std::thread::Builder::new()
        .name("tracer-otlp".into())
        .spawn(move || pusher.run(&runtime, queue))
        .context("start the OTLP thread")?;
    Ok(jobs)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
