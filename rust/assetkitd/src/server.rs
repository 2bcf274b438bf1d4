//! The service: state, router, and `serve(listener, config, shutdown)`.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::apply::{Failpoint, Policy};
use crate::auth::KeyCache;
use crate::metrics::Metrics;
use crate::store::{self, Pool};
use crate::writer::{Writer, WriterConfig};

/// Server settings (`assetkitd serve` flags).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// SQLite file.
    pub db: PathBuf,
    /// Identity policy.
    pub policy: Policy,
    /// Allowed clock skew of signed requests, seconds, either direction.
    pub window_secs: i64,
    /// Largest request body.
    pub max_body: usize,
    /// An online asset with no report for this long is shown as offline.
    pub offline_after: Duration,
    /// Applied report ids are remembered this long (retries must come sooner).
    pub dedupe_retention: Duration,
    /// TLS certificate and key (PEM), if serving HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Reader connections.
    pub readers: u32,
    /// Cap on the database size; reports are refused (nothing written) once it is reached.
    pub max_db_bytes: Option<u64>,
    /// Test-only fault injection.
    pub failpoint: Option<Failpoint>,
}

impl ServerConfig {
    /// Defaults for the given database.
    pub fn new(db: impl Into<PathBuf>) -> Self {
        ServerConfig {
            db: db.into(),
            policy: Policy::Auto,
            window_secs: 300,
            max_body: 2 << 20,
            offline_after: Duration::from_secs(7 * 86_400),
            dedupe_retention: Duration::from_secs(30 * 86_400),
            tls: None,
            readers: 8,
            max_db_bytes: None,
            failpoint: None,
        }
    }
}

/// Shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// Reader pool.
    pub pool: Pool,
    /// The writer thread.
    pub writer: Writer,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Recently verified keys.
    pub keys: Arc<KeyCache>,
    /// Login throttling and pending import previews.
    pub console: Arc<crate::console::ConsoleState>,
}

impl AppState {
    /// Online assets last seen before this unix time count as offline.
    pub fn offline_cutoff(&self) -> i64 {
        store::now() - self.config.offline_after.as_secs() as i64
    }
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let pool = state.pool.clone();
    let ok = tokio::task::spawn_blocking(move || {
        pool.get().ok().and_then(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).ok())
    })
    .await
    .ok()
    .flatten()
    .is_some();
    if ok { (StatusCode::OK, "ok\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n") }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// Opens the store, starts the writer and serves until `shutdown` resolves; then drains
/// in-flight requests, lets the writer commit what it holds, and returns.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let conn = store::open(&config.db).with_context(|| format!("opening {}", config.db.display()))?;
    if let Some(bytes) = config.max_db_bytes {
        store::cap_size(&conn, bytes)?;
    }
    let pool = store::reader_pool(&config.db, config.readers)?;
    let writer_config = WriterConfig {
        policy: config.policy,
        nonce_retention: Duration::from_secs(2 * config.window_secs.max(1) as u64 + 60),
        dedupe_retention: config.dedupe_retention,
        failpoint: config.failpoint,
    };
    let (writer, writer_thread) = Writer::spawn(conn, writer_config, config.db.clone());
    let tls = config.tls.clone();
    let state = AppState {
        config: Arc::new(config),
        pool,
        writer,
        metrics: Arc::new(Metrics::default()),
        keys: Arc::new(KeyCache::default()),
        console: Arc::default(),
    };
    let app: Router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(crate::api::routes())
        .merge(crate::console::routes())
        .layer(axum::extract::DefaultBodyLimit::max(32 << 20))
        .with_state(state);

    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    match tls {
        None => {
            tracing::info!(%addr, "listening (http)");
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        Some((cert, key)) => {
            tracing::info!(%addr, "listening (https)");
            let _ = rustls_provider();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .with_context(|| format!("loading TLS certificate {} and key {}", cert.display(), key.display()))?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopper.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener, tls)?
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .await?;
        }
    }
    // Handlers are gone, so are their writer handles: the writer drains and stops.
    tokio::task::spawn_blocking(move || writer_thread.join()).await.ok();
    tracing::info!("stopped");
    Ok(())
}

/// rustls needs a process-wide crypto provider; ring builds with no C toolchain surprises.
fn rustls_provider() -> Result<(), Arc<rustls::crypto::CryptoProvider>> {
    rustls::crypto::ring::default_provider().install_default()
}
