//! The service: state, router, and `serve(listener, config, shutdown)`.
//!
//! Connections are bounded before any request is read: at most `max_connections` at once, plus
//! a small headroom whose connections get a short header timeout, so that a flood of idle
//! sockets cannot starve `/healthz`. Every connection has a header-read timeout (which is also
//! its keep-alive idle timeout), every body a timeout between frames, every request a total
//! timeout. Requests other than `/healthz` and `/metrics` are capped at `max_connections` in
//! flight and answered 503 beyond that.

use std::convert::Infallible;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::Service as _;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::domain::maintenance::{self, Retention};
use crate::http::keycache::KeyCache;
use crate::http::metrics::Metrics;
use crate::http::state::{AppState, HttpLimits, ServerConfig};
use crate::store::{self, WriterConfig};

/// `/healthz`: the reader pool answers and the writer thread commits a probe transaction.
async fn healthz(State(state): State<AppState>) -> Response {
    let readers = state.readers.clone();
    let reader = tokio::task::spawn_blocking(move || {
        readers.with(|db| store::DbExt::scalar::<i64>(db, "SELECT 1", &[])).is_ok()
    })
    .await
    .unwrap_or(false);
    let writer = tokio::time::timeout(Duration::from_secs(5), state.writer.probe()).await;
    let writer = match writer {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the writer did not answer within 5 s".to_owned()),
    };
    let ok = reader && writer.is_ok();
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "unavailable" },
        "database": if reader { "ok" } else { "unavailable" },
        "writer": match &writer { Ok(()) => "ok".to_owned(), Err(e) => e.clone() },
    });
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.metrics;
    let gauge = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    m.key_cache.set(gauge(state.keys.len()));
    m.writer_faults.set(state.writer.faults() as i64);
    m.log_dropped.set(crate::log::DROPPED_LINES.load(std::sync::atomic::Ordering::Relaxed) as i64);
    let (previews, bytes) = state.console.previews.usage();
    m.import_previews.set(gauge(previews));
    m.import_preview_bytes.set(gauge(bytes));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], m.render())
}

/// Answers 503 once `max_connections` requests are in flight (health checks are not counted).
async fn shed(State(busy): State<Arc<Semaphore>>, request: Request, next: Next) -> Response {
    match busy.try_acquire_owned() {
        Ok(_permit) => next.run(request).await,
        Err(_) => crate::http::error::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the receiver is at its limit of requests in flight; retry shortly",
        )
        .into_response(),
    }
}

/// The router with every layer, as `serve` runs it.
pub fn router(state: AppState) -> Router {
    let limits = state.config.http;
    let busy = Arc::new(Semaphore::new(limits.max_connections));
    let work = Router::new()
        .merge(crate::http::api::routes())
        .merge(crate::http::export::routes())
        .merge(crate::http::software::routes())
        .merge(crate::http::ownership::routes())
        .merge(crate::http::console::routes(&state.config))
        .route_layer(middleware::from_fn_with_state(busy, shed));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(work)
        .fallback(crate::http::console::missing::not_found)
        .method_not_allowed_fallback(crate::http::console::missing::method_not_allowed)
        // Bodies are read by the handlers with their own limits, after authentication.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .layer(middleware::map_response(finish))
        .layer(middleware::from_fn(request_span))
        .with_state(state)
}

/// Every line logged while serving a request carries the client's address and, for a signed
/// request, the key id it names (clipped: a header is client input): a rejection says who.
async fn request_span(request: axum::extract::Request, next: middleware::Next) -> Response {
    use tracing::Instrument as _;
    let client = request.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0);
    let span = tracing::info_span!("request", client = tracing::field::Empty, key_id = tracing::field::Empty);
    if let Some(client) = client {
        span.record("client", tracing::field::display(client));
    }
    if let Some(key) = request.headers().get(assetkit_sign::HEADER_KEY).and_then(|v| v.to_str().ok()) {
        span.record("key_id", tracing::field::display(crate::log::clip(key)));
    }
    next.run(request).instrument(span).await
}

/// The whole-request timeout answers with the API's JSON error, like every other refusal; and
/// an answer given before the body was read (too large, too slow) closes the connection, so
/// that no client sends its next request down a connection that still holds the unread body.
async fn finish(response: Response) -> Response {
    let mut response =
        if response.status() == StatusCode::REQUEST_TIMEOUT && !response.headers().contains_key(header::CONTENT_TYPE) {
            crate::http::error::ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request took longer than the server allows; nothing was acknowledged",
            )
            .into_response()
        } else {
            response
        };
    if matches!(response.status(), StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT) {
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    response
}

/// How often old nonces and report ids are purged and status counts folded.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// Opens the store, starts the writer and serves until `shutdown` resolves; then drains
/// in-flight requests, lets the writer commit what it holds, and returns.
///
/// If the writer thread dies, the server stops and this returns an error, so that the process
/// exits non-zero and its supervisor (systemd) restarts it.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let retention = Retention {
        nonces: Duration::from_secs(2 * config.window_secs.max(1) as u64 + 60),
        report_ids: config.dedupe_retention,
        changes: config.keep_changes,
        changes_per_asset: config.max_changes_per_asset,
        busy_day: config.event_budget.per_day,
    };
    let keyring = open_keyring(&config)?;
    let (store, writer_threads) = open_store(&config, keyring.clone()).await?;
    let writer = store.writer.clone();
    let tls = config.tls.clone();
    let limits = config.http;
    let config_send_budget = config.send_budget;
    let state = AppState {
        config: Arc::new(config),
        readers: store.readers,
        writer: writer.clone(),
        metrics: Arc::new(Metrics::default()),
        keys: Arc::new(KeyCache::default()),
        console: Arc::default(),
        keyring,
        exports: Arc::new(tokio::sync::Semaphore::new(crate::http::export::EXPORTS_AT_ONCE)),
        webhook_wake: Arc::default(),
        budgets: Arc::new(crate::http::budgets::Budgets::new(config_send_budget)),
        digests: Arc::default(),
    };
    drop(store.writer);
    let app_state = state.clone();
    let app = router(state);

    // The writer's supervisor: the threads only end when every handle is gone (shutdown) or
    // when one died; in the second case stop serving and fail.
    let watcher = writer.health();
    let housekeeping = spawn_housekeeping(writer.clone(), retention);
    drop(writer);
    // Webhook deliveries and the offline sweep.
    let deliveries = tokio::spawn(crate::http::webhooks::run(app_state));
    let died = async move {
        watcher.death().await;
        Some("a writer thread died".to_owned())
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut died = std::pin::pin!(died);
    let mut writer_death: Option<String> = None;
    let stop = async move {
        let mut rx = stop_rx;
        let _ = rx.wait_for(|v| *v).await;
    };

    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let serving = async {
        match tls {
            None => {
                tracing::info!(%addr, "listening (http)");
                serve_plain(tokio::net::TcpListener::from_std(listener)?, app, limits, stop).await
            }
            Some((cert, key)) => {
                tracing::info!(%addr, "listening (https)");
                serve_tls(listener, app, limits, &cert, &key, stop).await
            }
        }
    };
    let mut serving = std::pin::pin!(serving);
    let mut shutdown = std::pin::pin!(shutdown);
    let (mut shutdown_seen, mut death_seen) = (false, false);
    let result = loop {
        tokio::select! {
            r = &mut serving => break r,
            () = &mut shutdown, if !shutdown_seen => {
                shutdown_seen = true;
                let _ = stop_tx.send(true);
            }
            d = &mut died, if !death_seen => {
                death_seen = true;
                if let Some(d) = d {
                    tracing::error!(reason = %d, "stopping: the writer is gone, reports cannot be stored");
                    writer_death = Some(d);
                    let _ = stop_tx.send(true);
                }
            }
        }
    };
    housekeeping.abort();
    let _ = housekeeping.await;
    deliveries.abort();
    let _ = deliveries.await;
    // Handlers are gone, so are their writer handles: the writers drain and stop.
    let _ = tokio::task::spawn_blocking(move || writer_threads.into_iter().for_each(|t| drop(t.join()))).await;
    result?;
    if let Some(d) = writer_death {
        anyhow::bail!("{d}; exiting so that the service manager restarts assetkitd");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The server's secret key, created on first start.
fn open_keyring(config: &ServerConfig) -> anyhow::Result<Arc<crate::store::secrets::Keyring>> {
    let key_file = config.key_file()?;
    Ok(Arc::new(
        crate::store::secrets::Keyring::open_or_create(&key_file)
            .with_context(|| format!("loading the server secret key {}", key_file.display()))?,
    ))
}

/// Opens the store and starts its writer threads. Opening is blocking work (and the PostgreSQL
/// driver runs its own event loop): off the async threads. Secrets an older version stored in
/// plain text are sealed before anything is served, and --offline-after is recorded for the CLI.
async fn open_store(
    config: &ServerConfig,
    ring: Arc<crate::store::secrets::Keyring>,
) -> anyhow::Result<(store::Store, Vec<std::thread::JoinHandle<()>>)> {
    let writer_config = WriterConfig {
        die_on_first_batch: config.failpoint.is_some_and(|f| f.kill_writer_thread),
        fail_syncs: config.failpoint.is_some_and(|f| f.fail_syncs),
    };
    let (location, offline_after) = (config.db.clone(), config.offline_after);
    let sizing = store::Sizing { readers: config.readers, writers: config.writers, max_bytes: config.max_db_bytes };
    tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut db = store::connect(&location).with_context(|| format!("opening {}", location.shown()))?;
        let sealed = store::transaction(db.as_mut(), |db| crate::domain::keys::seal_plaintext(db, &ring))
            .context("sealing stored secrets with the server key")?;
        // The CLI draws the offline line where this server does (domain::inventory::presence).
        store::transaction(db.as_mut(), |db| {
            crate::domain::inventory::presence::record_offline_after(db, offline_after)
        })
        .context("recording --offline-after")?;
        drop(db);
        if sealed > 0 {
            tracing::info!(secrets = sealed, "sealed secrets stored in plain text by an older version");
        }
        store::start(&location, sizing, writer_config).with_context(|| format!("opening {}", location.shown()))
    })
    .await?
}

/// Purging what is past its retention and folding the status counts, once a minute, as a job of
/// its own (whether or not reports arrive).
fn spawn_housekeeping(writer: store::Writer, retention: Retention) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(MAINTENANCE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            every.tick().await;
            let done = writer
                .run(None, move |db, now| {
                    maintenance::purge(db, retention, now).map_err(crate::store::WriteFailure::from)
                })
                .await;
            if let Err(error) = done {
                tracing::warn!(%error, "maintenance failed; it is tried again in a minute");
            }
        }
    })
}

/// Raises the soft limit on open files to the hard limit (the default soft limit of 1024 is below
/// `max_connections` plus the database's descriptors) and returns the soft limit in effect.
pub fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let current = getrlimit(Resource::Nofile);
    let target = rustix::process::Rlimit { current: current.maximum, maximum: current.maximum };
    if current.current != current.maximum && setrlimit(Resource::Nofile, target).is_ok() {
        return current.maximum.unwrap_or(u64::MAX);
    }
    current.current.unwrap_or(u64::MAX)
}

/// Plain HTTP: a slot is taken before each accept (excess clients wait in the listen backlog),
/// and connections in the headroom get the short header timeout.
async fn serve_plain(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let builder = |header_timeout: Duration| {
        // http1_only: straight to hyper's HTTP/1 parser (no untimed protocol sniff).
        let mut b = auto::Builder::new(TokioExecutor::new()).http1_only();
        b.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true).max_buf_size(64 << 10);
        b
    };
    let normal = builder(limits.header_timeout);
    let pressed = builder(limits.headroom_header_timeout.min(limits.header_timeout));
    let slots = Arc::new(Semaphore::new(limits.max_connections + limits.headroom));
    let graceful = GracefulShutdown::new();
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut shutdown = std::pin::pin!(shutdown);
    // Dropped on return: cuts connections still open after the drain (each holds the router,
    // and with it a writer handle that keeps the writer thread alive).
    let (kill_tx, kill_rx) = tokio::sync::watch::channel(());
    static ACCEPT_ERRORS: crate::log::Limiter = crate::log::Limiter::new(5, Duration::from_secs(60));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(error) => {
                    if let Some(suppressed) = ACCEPT_ERRORS.allow("accept") {
                        tracing::warn!(%error, suppressed, "accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let in_headroom = slots.available_permits() < limits.headroom;
        let svc = make.call(peer).await.unwrap_or_else(|e: Infallible| match e {});
        let builder = if in_headroom { &pressed } else { &normal };
        let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
        let conn = graceful.watch(conn.into_owned());
        let mut kill = kill_rx.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = conn => {}
                _ = kill.changed() => {}
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain) => tracing::warn!("drain deadline passed; closing the remaining connections"),
    }
    drop(kill_tx);
    Ok(())
}

/// HTTPS through axum-server: HTTP/1.1 only (so the header and idle timeouts apply), the
/// connection slot taken before the TLS handshake, excess connections dropped.
async fn serve_tls(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    cert: &std::path::Path,
    key: &std::path::Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum_server::tls_rustls::RustlsConfig;
    let _ = rustls_provider();
    let tls = RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| format!("loading TLS certificate {} and key {}", cert.display(), key.display()))?;
    let mut server_config = (*tls.get_inner()).clone();
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tls = RustlsConfig::from_config(Arc::new(server_config));
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let drain = limits.drain;
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(drain));
    });
    let cap = ConnLimit(Arc::new(Semaphore::new(limits.max_connections + limits.headroom)));
    let mut server = axum_server::from_tcp_rustls(listener, tls)?
        .map(|rustls| rustls.handshake_timeout(limits.header_timeout).acceptor(cap))
        .http1_only()
        .first_request_timeout(limits.header_timeout)
        .accept_error_handler(|_peer, error| tracing::debug!(%error, "connection not accepted"))
        .handle(handle);
    server
        .http_builder()
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(64 << 10);
    server.serve(app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}

/// axum-server's acceptor step that takes a connection slot, or drops the connection.
#[derive(Clone)]
struct ConnLimit(Arc<Semaphore>);

impl<I: AsyncRead + AsyncWrite + Unpin, S> axum_server::accept::Accept<I, S> for ConnLimit {
    type Stream = Permitted<I>;
    type Service = S;
    type Future = std::future::Ready<std::io::Result<(Self::Stream, S)>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        std::future::ready(match self.0.clone().try_acquire_owned() {
            Ok(permit) => Ok((Permitted { inner: stream, _permit: permit }, service)),
            Err(_) => Err(std::io::Error::other("connection limit reached")),
        })
    }
}

/// A stream that gives its connection slot back when dropped.
struct Permitted<I> {
    inner: I,
    _permit: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Permitted<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Permitted<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// rustls needs a process-wide crypto provider; ring builds with no C toolchain surprises.
fn rustls_provider() -> Result<(), Arc<rustls::crypto::CryptoProvider>> {
    rustls::crypto::ring::default_provider().install_default()
}
