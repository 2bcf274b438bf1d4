//! What every handler shares: the server's settings and the handles to the store.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::apply::{Failpoint, Policy};
use crate::http::keycache::KeyCache;
use crate::http::metrics::Metrics;
use crate::store::{self, Location, Readers, Writer};

/// Bounds on connections and the time a client may take.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Connections served at once (and requests in flight, `/healthz` aside).
    pub max_connections: usize,
    /// Extra connections kept for health checks when the others are taken; these get
    /// [`HttpLimits::headroom_header_timeout`].
    pub headroom: usize,
    /// Time to send a request's headers; also how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Header timeout of a headroom connection.
    pub headroom_header_timeout: Duration,
    /// Longest pause while a request body arrives.
    pub body_timeout: Duration,
    /// Longest a whole request may take, body and answer included.
    pub request_timeout: Duration,
    /// How long a graceful shutdown waits for requests in flight.
    pub drain: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 1024,
            headroom: 32,
            header_timeout: Duration::from_secs(10),
            headroom_header_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            drain: Duration::from_secs(10),
        }
    }
}

/// Server settings (`assetkitd serve` flags).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the inventory lives.
    pub db: Location,
    /// The server key file that seals secrets at rest (default: beside a SQLite database).
    pub secret_key_file: Option<PathBuf>,
    /// Identity policy.
    pub policy: Policy,
    /// Allowed clock skew of signed requests, seconds, either direction.
    pub window_secs: i64,
    /// Largest request body.
    pub max_body: usize,
    /// Connection and time bounds.
    pub http: HttpLimits,
    /// Purchase-list import bounds (console uploads and the CLI).
    pub import: crate::domain::import::Limits,
    /// An online asset with no report for this long is shown as offline.
    pub offline_after: Duration,
    /// Applied report ids are remembered this long (retries must come sooner).
    pub dedupe_retention: Duration,
    /// TLS certificate and key (PEM), if serving HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Reader connections.
    pub readers: u32,
    /// Writer threads, each on its own connection (PostgreSQL; SQLite always has one).
    pub writers: u32,
    /// Cap on the database size; reports are refused (nothing written) once it is reached.
    pub max_db_bytes: Option<u64>,
    /// Webhook delivery and offline-sweep settings.
    pub webhooks: WebhookSettings,
    /// The networks webhook deliveries may reach beyond the public internet.
    pub webhook_destinations: crate::domain::webhooks::destinations::Destinations,
    /// What one report, and one asset in a day, may add to the change log.
    pub event_budget: crate::domain::changelog::Budget,
    /// How many assets one fleet key may create.
    pub new_assets: crate::domain::apply::budget::NewAssets,
    /// Reports and bytes per minute one key may send (checked before a body is parsed).
    pub send_budget: crate::http::budgets::Limits,
    /// Change events older than this are deleted (`None`: kept for ever).
    pub keep_changes: Option<Duration>,
    /// The most change events kept for one asset (`None`: no cap).
    pub max_changes_per_asset: Option<u64>,
    /// Test-only fault injection.
    pub failpoint: Option<Failpoint>,
}

impl ServerConfig {
    /// The key file in effect.
    pub fn key_file(&self) -> anyhow::Result<PathBuf> {
        crate::store::key_file(&self.db, self.secret_key_file.as_deref())
    }

    /// Defaults for the given database.
    pub fn new(db: impl Into<Location>) -> Self {
        ServerConfig {
            db: db.into(),
            secret_key_file: None,
            policy: Policy::Auto,
            window_secs: 300,
            max_body: 2 << 20,
            http: HttpLimits::default(),
            import: crate::domain::import::Limits::default(),
            offline_after: Duration::from_secs(7 * 86_400),
            dedupe_retention: Duration::from_secs(30 * 86_400),
            tls: None,
            readers: 8,
            writers: 4,
            max_db_bytes: None,
            webhooks: Default::default(),
            webhook_destinations: Default::default(),
            event_budget: Default::default(),
            new_assets: Default::default(),
            send_budget: Default::default(),
            keep_changes: Some(Duration::from_secs(730 * 86_400)),
            max_changes_per_asset: Some(100_000),
            failpoint: None,
        }
    }
}

/// Shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// Read connections.
    pub readers: Readers,
    /// The writer thread.
    pub writer: Writer,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Recently verified keys.
    pub keys: Arc<KeyCache>,
    /// Login throttling and pending import previews.
    pub console: Arc<crate::http::console::state::ConsoleState>,
    /// Seals and opens secrets at rest.
    pub keyring: Arc<crate::store::secrets::Keyring>,
    /// Slots for exports running at once.
    pub exports: Arc<tokio::sync::Semaphore>,
    /// Wakes the webhook worker when a report queued deliveries.
    pub webhook_wake: Arc<tokio::sync::Notify>,
    /// What each key has sent lately, against its budget.
    pub budgets: Arc<crate::http::budgets::Budgets>,
    /// The facts digest each asset was last left with, to extract a changing report's
    /// components before the writer.
    pub digests: Arc<crate::domain::apply::LastDigests>,
}

impl AppState {
    /// Online assets last seen before this unix time count as offline.
    pub fn offline_cutoff(&self) -> i64 {
        store::now() - self.config.offline_after.as_secs() as i64
    }
}

/// Webhook and offline-sweep settings (`assetkitd serve --webhook-*`, `--offline-*`).
#[derive(Debug, Clone, Copy)]
pub struct WebhookSettings {
    /// Longest one POST may take (connect, send, answer).
    pub timeout: Duration,
    /// First retry delay; doubled per attempt, with jitter.
    pub retry_base: Duration,
    /// Longest delay between two attempts.
    pub retry_max: Duration,
    /// An event not delivered this long after it was queued is dead (redeliverable).
    pub give_up_after: Duration,
    /// How often the outbox is polled.
    pub poll: Duration,
    /// How often the offline sweep runs.
    pub sweep_every: Duration,
    /// Whether this server delivers and sweeps (replicas may leave it to others).
    pub worker: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(86_400),
            poll: Duration::from_secs(1),
            sweep_every: Duration::from_secs(60),
            worker: true,
        }
    }
}
