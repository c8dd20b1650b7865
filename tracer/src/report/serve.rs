//! `tracer serve`: the figures as a Prometheus endpoint (`/metrics`) with `/healthz`, on its own
//! thread and tokio runtime. The reader renders the page once per interval and swaps it in; a
//! scrape only clones a pointer to the last page, so no scrape, however slow or frequent, makes
//! the reader wait.
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};
use axum::{extract::State, http::header, response::IntoResponse, routing::get, Router};

use super::{
    exposition::{Exposition, SelfUsage},
    prometheus::render,
    sink::{Control, IntervalSink, Tick},
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
}

impl Server {
    /// Binds `addr` now, so that a port in use is an error before anything is traced.
    pub fn start(addr: SocketAddr, interval: Duration) -> Result<Self> {
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
        let app = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(healthz))
            .route("/", get(index))
            .with_state(shared.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")?;
        std::thread::Builder::new()
            .name("tracer-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(e) => return log::error!("metrics endpoint: {e}"),
                    };
                    if let Err(e) = axum::serve(listener, app).await {
                        log::error!("metrics endpoint: {e}");
                    }
                })
            })
            .context("start the HTTP thread")?;
        Ok(Self { shared, addr })
    }

    /// The interval sink that keeps the page current.
    pub fn sink(&self) -> MetricsSink {
        let start_time = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        MetricsSink { shared: self.shared.clone(), scrapes_at_render: 0, start_time }
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
    use axum::http::StatusCode;
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
