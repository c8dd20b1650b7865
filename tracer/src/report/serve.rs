//! `tracer serve`: the figures as a Prometheus endpoint (`/metrics`) with `/healthz`, on its own
//! thread and tokio runtime. The reader renders the page once per interval and swaps it in; a
//! scrape only clones a pointer to the last page, so no scrape, however slow or frequent, makes
//! the reader wait. With `--web-config`, TLS (handshakes in tasks of their own, so a slow client
//! holds up no other) and basic auth on /metrics; /healthz stays open.
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};
use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_rustls::{server::TlsStream, TlsAcceptor};

use super::{
    exposition::{Exposition, SelfUsage},
    prometheus::render,
    sink::{Control, IntervalSink, Tick},
    web_config::{basic_credentials, Users, WebConfig},
};

/// What the HTTP thread serves, shared with the reader.
struct Shared {
    page: Mutex<Arc<String>>,
    /// When the page was last rendered (ms since `started`), 0 before the first one.
    rendered_ms: AtomicU64,
    scrapes: AtomicU64,
    started: Instant,
    interval: Duration,
}

/// The running endpoint; dropping it does not stop the HTTP thread (the process is ending).
pub struct Server {
    shared: Arc<Shared>,
    pub addr: SocketAddr,
    /// "https" with TLS, else "http".
    pub scheme: &'static str,
}

/// The one-line warning for an endpoint that answers anyone beyond this host, if it does.
pub fn open_warning(addr: SocketAddr, web: Option<&WebConfig>) -> Option<String> {
    let why = match web {
        _ if addr.ip().is_loopback() => return None,
        None => "give --web-config FILE for TLS and basic auth",
        Some(web) if web.users.is_some() || web.client_certs_required => return None,
        Some(_) => "the --web-config file sets no basic_auth_users and requires no client certificate",
    };
    Some(format!("tracer: warning: /metrics on {addr} is open to anyone: {why}"))
}

impl Server {
    /// Binds `addr` now, so that a port in use is an error before anything is traced.
    pub fn start(addr: SocketAddr, interval: Duration, web: Option<WebConfig>) -> Result<Self> {
        let listener = std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            page: Mutex::new(Arc::new(String::new())),
            rendered_ms: AtomicU64::new(0),
            scrapes: AtomicU64::new(0),
            started: Instant::now(),
            interval,
        });
        let mut metrics_route = Router::new().route("/metrics", get(metrics));
        if let Some(users) = web.as_ref().and_then(|web| web.users.clone()) {
            let auth = Arc::new(Auth { users, slow: tokio::sync::Semaphore::new(1) });
            metrics_route = metrics_route.route_layer(middleware::from_fn_with_state(auth, require_auth));
        }
        let app = metrics_route.route("/healthz", get(healthz)).route("/", get(index)).with_state(shared.clone());
        let tls = web.and_then(|web| web.tls);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")?;
        std::thread::Builder::new()
            .name("tracer-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(e) => return log::error!("metrics endpoint: {e}"),
                    };
                    let served = match tls {
                        Some(config) => axum::serve(TlsListener::start(listener, TlsAcceptor::from(config)), app).await,
                        None => axum::serve(listener, app).await,
                    };
                    if let Err(e) = served {
                        log::error!("metrics endpoint: {e}");
                    }
                })
            })
            .context("start the HTTP thread")?;
        Ok(Self { shared, addr, scheme })
    }

    /// The interval sink that keeps the page current.
    pub fn sink(&self) -> MetricsSink {
        let start_time = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        MetricsSink { shared: self.shared.clone(), scrapes_at_render: 0, start_time }
    }
}

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections whose TLS handshake is done. A task accepts TCP connections and gives each
/// handshake a task of its own, so that a client that never finishes one holds up no other.
struct TlsListener {
    done: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: std::io::Result<SocketAddr>,
}

impl TlsListener {
    /// Within the runtime (it spawns the accepting task).
    fn start(listener: tokio::net::TcpListener, acceptor: TlsAcceptor) -> Self {
        let addr = listener.local_addr();
        let (tx, done) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors, say: wait for some to be closed.
                        log::debug!("metrics endpoint: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => drop(tx.send((stream, peer)).await),
                        Ok(Err(e)) => log::debug!("metrics endpoint: TLS handshake with {peer}: {e}"),
                        Err(_) => log::debug!("metrics endpoint: TLS handshake with {peer} timed out"),
                    }
                });
            }
        });
        Self { done, addr }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.done.recv().await {
            Some(connection) => connection,
            // The accepting task never ends while the runtime runs.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.addr.as_ref().map(|a| *a).map_err(|e| std::io::Error::new(e.kind(), e.to_string()))
    }
}

/// Basic auth's users, and the one bcrypt verification allowed at a time (wrong passwords cost
/// a core at most, however many come).
struct Auth {
    users: Arc<Users>,
    slow: tokio::sync::Semaphore,
}

/// /metrics with basic auth: 401 with `WWW-Authenticate: Basic` unless the credentials match.
async fn require_auth(State(auth): State<Arc<Auth>>, request: Request, next: Next) -> Response {
    let credentials = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(basic_credentials);
    let allowed = match credentials {
        None => false,
        Some((user, password)) if auth.users.known(&user, &password) => true,
        Some((user, password)) => {
            let _permit = auth.slow.acquire().await;
            let users = auth.users.clone();
            // Verified while this one waited for its turn, perhaps.
            users.known(&user, &password) || tokio::task::spawn_blocking(move || users.verify(&user, &password)).await.unwrap_or(false)
        }
    };
    match allowed {
        true => next.run(request).await,
        false => (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Basic")], "Unauthorized\n").into_response(),
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    shared.scrapes.fetch_add(1, Ordering::Relaxed);
    let page = shared.page.lock().map(|p| p.clone()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], page.as_str().to_owned())
}

/// 200 while the reader renders a page every interval; 503 before the first one and when it has
/// missed three in a row (the reader is stuck, or the trace ended).
async fn healthz(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let rendered = shared.rendered_ms.load(Ordering::Relaxed);
    let now = shared.started.elapsed().as_millis() as u64;
    let stale_after = 3 * shared.interval.as_millis() as u64 + 1000;
    match rendered {
        0 => (StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
        at if now.saturating_sub(at) > stale_after => (StatusCode::SERVICE_UNAVAILABLE, "stale: no figures for three intervals\n"),
        _ => (StatusCode::OK, "ok\n"),
    }
}

async fn index() -> &'static str {
    "tracer: /metrics (Prometheus text format), /healthz\n"
}

/// Renders the page at every interval.
pub struct MetricsSink {
    shared: Arc<Shared>,
    /// Scrapes counted when the page was last rendered.
    scrapes_at_render: u64,
    start_time: f64,
}

impl IntervalSink for MetricsSink {
    fn wants_intervals(&self) -> bool {
        false // cumulative figures only
    }

    fn on_interval(&mut self, tick: &Tick) -> Result<Control> {
        let page = render(&Exposition::of(tick, Some(SelfUsage::now(self.start_time))));
        self.scrapes_at_render = self.shared.scrapes.load(Ordering::Relaxed);
        if let Ok(mut current) = self.shared.page.lock() {
            *current = Arc::new(page);
        }
        let ms = self.shared.started.elapsed().as_millis().max(1) as u64;
        self.shared.rendered_ms.store(ms, Ordering::Relaxed);
        Ok(Control::Continue)
    }

    /// A group that ended may go once the page with its last figures was scraped.
    fn retire_ended(&self) -> bool {
        self.shared.scrapes.load(Ordering::Relaxed) > self.scrapes_at_render
    }
}
