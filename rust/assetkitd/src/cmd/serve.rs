//! `assetkitd serve`: the receiver, until SIGTERM or SIGINT.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::{DbArg, duration};
use crate::domain::apply::Policy;
use crate::http::state::ServerConfig;

/// `assetkitd serve` arguments (their doc comments are the help text).
#[allow(missing_docs)]
#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    db: DbArg,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8600", value_name = "ADDR")]
    listen: SocketAddr,
    /// How reports are matched to assets: sn (physical fleets), hostname (VMs sharing serials), auto.
    #[arg(long, value_enum, default_value = "auto")]
    identity: Policy,
    /// Accepted clock skew of signed requests, in either direction.
    #[arg(long, default_value = "300s", value_parser = duration, value_name = "DURATION")]
    window: Duration,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 2 << 20, value_name = "BYTES")]
    max_body: usize,
    /// Connections served at once; requests in flight beyond it get 503 (health checks aside).
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_connections: usize,
    /// Time a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    header_timeout: Duration,
    /// Longest pause while a request body arrives (408 beyond it).
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    body_timeout: Duration,
    /// Longest a whole request may take (408 beyond it).
    #[arg(long, default_value = "60s", value_parser = duration, value_name = "DURATION")]
    request_timeout: Duration,
    /// Largest purchase-list file accepted by the console upload (bytes).
    #[arg(long, default_value_t = 16 << 20, value_name = "BYTES")]
    max_import_bytes: u64,
    /// An asset in service (online, or discovered and not yet assigned) whose last report is
    /// older than this is offline: in the console, the API and the CLI (this value is recorded
    /// in the store for `assetkitd assets list`), and the offline sweep sends one host.offline
    /// event per silence (host.online when it reports again). A host that never reported is
    /// never offline: it stays discovered.
    #[arg(long, default_value = "7d", value_parser = duration, value_name = "DURATION")]
    offline_after: Duration,
    /// How often the offline sweep looks for silent hosts.
    #[arg(long, default_value = "1m", value_parser = duration, value_name = "DURATION")]
    offline_sweep_every: Duration,
    /// Longest a webhook POST may take (connect, send, answer); a slower endpoint is retried.
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    webhook_timeout: Duration,
    /// First delay before a failed webhook delivery is retried; it doubles per attempt (with
    /// jitter) up to --webhook-retry-max.
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    webhook_retry_base: Duration,
    /// Longest delay between two attempts of one delivery.
    #[arg(long, default_value = "1h", value_parser = duration, value_name = "DURATION")]
    webhook_retry_max: Duration,
    /// A delivery still failing this long after its event is dead: listed in the console
    /// (Settings) and `assetkitd webhooks dead`, redeliverable.
    #[arg(long, default_value = "24h", value_parser = duration, value_name = "DURATION")]
    webhook_give_up: Duration,
    /// How often the outbox is checked for deliveries due.
    #[arg(long, default_value = "1s", value_parser = duration, value_name = "DURATION")]
    webhook_poll: Duration,
    #[command(flatten)]
    webhook_networks: super::WebhookNetworks,
    /// Reports one host credential may send per minute (per receiver process); beyond it, 429
    /// with Retry-After, and the agent keeps the report in its spool.
    #[arg(long, default_value_t = 30, value_name = "N")]
    max_reports_per_minute: u32,
    /// Report bytes one host credential may send per minute (a host's report is tens of KiB, a
    /// first package list some hundreds; more is a host flooding the single writer).
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    max_report_bytes_per_minute: u64,
    /// Reports one fleet key may send per minute, all its hosts together (enrolments, and the
    /// refusals of hosts that lost their credential).
    #[arg(long, default_value_t = 3_000, value_name = "N")]
    max_fleet_reports_per_minute: u32,
    /// Report bytes one fleet key may send per minute.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    max_fleet_report_bytes_per_minute: u64,
    /// Assets one fleet key may create in any minute (counted across replicas).
    #[arg(long, default_value_t = 600, value_name = "N")]
    max_new_assets_per_minute: i64,
    /// Assets one fleet key may create in any 24 hours.
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    max_new_assets_per_day: i64,
    /// Change events are kept this long ("forever" keeps them).
    #[arg(long, default_value = "730d", value_parser = keep, value_name = "DURATION")]
    keep_changes: Keep,
    /// The most change events kept for one asset, its oldest deleted first (0: no cap).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    max_changes_per_asset: u64,
    /// Change events itemized for one report; a report's further changes are summed up in one
    /// event (the inventory itself is updated in full).
    #[arg(long, default_value_t = 512, value_name = "N")]
    max_events_per_report: usize,
    /// Change events itemized for one asset in a UTC day; further changes that day are summed up
    /// in one event, counted in place.
    #[arg(long, default_value_t = 2_000, value_name = "N")]
    max_events_per_day: i64,
    /// This replica neither delivers webhooks nor runs the offline sweep (others sharing the
    /// PostgreSQL database do); its reports still queue their events.
    #[arg(long)]
    no_webhook_worker: bool,
    /// TLS certificate chain (PEM); serve HTTPS with --tls-key.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Refuse reports once the database reaches this size (bytes); nothing is written then.
    #[arg(long, value_name = "BYTES")]
    max_db_size: Option<u64>,
    /// Read connections (the console, the API's lists, key lookups).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    readers: u32,
    /// Writer threads, each with its own connection, sharing one queue (PostgreSQL only: SQLite
    /// allows one writer). Each commits a group of reports at a time.
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    writers: u32,
    /// Print "listening on ADDR" on stdout once ready (for scripts that use port 0).
    #[arg(long)]
    print_addr: bool,
}

/// Runs `serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if args.db.is_missing() {
        // Created (and said so) as every other subcommand creates a store.
        drop(args.db.open()?);
    }
    let mut config = ServerConfig::new(args.db.db.clone());
    config.secret_key_file = args.db.secret_key_file.clone();
    config.policy = args.identity;
    config.window_secs = args.window.as_secs() as i64;
    config.max_body = args.max_body;
    config.http.max_connections = args.max_connections.max(1);
    config.http.header_timeout = args.header_timeout;
    config.http.body_timeout = args.body_timeout;
    config.http.request_timeout = args.request_timeout;
    config.import.file_bytes = args.max_import_bytes;
    config.offline_after = args.offline_after;
    config.webhooks = crate::http::state::WebhookSettings {
        timeout: args.webhook_timeout.max(Duration::from_millis(100)),
        retry_base: args.webhook_retry_base.max(Duration::from_millis(10)),
        retry_max: args.webhook_retry_max.max(args.webhook_retry_base),
        give_up_after: args.webhook_give_up,
        poll: args.webhook_poll.max(Duration::from_millis(10)),
        sweep_every: args.offline_sweep_every.max(Duration::from_millis(10)),
        worker: !args.no_webhook_worker,
    };
    config.webhook_destinations = args.webhook_networks.destinations()?;
    config.event_budget = crate::domain::changelog::Budget {
        per_report: args.max_events_per_report.max(1),
        per_day: args.max_events_per_day.max(1),
    };
    config.send_budget = crate::http::budgets::Limits {
        host_reports: f64::from(args.max_reports_per_minute.max(1)),
        host_bytes: args.max_report_bytes_per_minute.max(1) as f64,
        fleet_reports: f64::from(args.max_fleet_reports_per_minute.max(1)),
        fleet_bytes: args.max_fleet_report_bytes_per_minute.max(1) as f64,
    };
    config.new_assets = crate::domain::apply::budget::NewAssets {
        per_minute: args.max_new_assets_per_minute.max(1),
        per_day: args.max_new_assets_per_day.max(1),
    };
    config.keep_changes = args.keep_changes.0;
    config.max_changes_per_asset = (args.max_changes_per_asset > 0).then_some(args.max_changes_per_asset);
    config.tls = args.tls_cert.zip(args.tls_key);
    config.max_db_bytes = args.max_db_size;
    config.readers = args.readers;
    config.writers = args.writers;
    if args.max_db_size.is_some() && config.db.engine() == crate::store::Engine::Postgres {
        anyhow::bail!("--max-db-size caps a SQLite file; on PostgreSQL, set a quota or monitor the database instead");
    }
    // Every connection is a descriptor: make room for the cap (the unit also sets LimitNOFILE).
    let files = crate::http::server::raise_open_files_limit();
    let reserve = 64 + u64::from(config.readers) + u64::from(config.writers);
    let wanted = (config.http.max_connections + config.http.headroom) as u64 + reserve;
    if files < wanted {
        let fits = files.saturating_sub(reserve).max(16) as usize;
        let max = fits.saturating_sub(config.http.headroom).max(8);
        tracing::warn!(
            open_files = files,
            max_connections = max,
            "the open-files limit is low: max-connections lowered (raise LimitNOFILE)"
        );
        config.http.max_connections = max;
    }
    let listener = std::net::TcpListener::bind(args.listen).with_context(|| format!("binding {}", args.listen))?;
    if args.print_addr {
        let mut out = std::io::stdout();
        writeln!(out, "listening on {}", listener.local_addr()?)?;
        out.flush()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let served = runtime.block_on(crate::http::server::serve(listener, config, shutdown_signal()));
    // `serve` returns once the writers have committed what they held and stopped: everything
    // acknowledged is stored. What may still run on a blocking thread is a read nobody awaits or
    // a webhook's DNS lookup (getaddrinfo cannot be cancelled, and an unanswered nameserver holds
    // it for seconds); dropping the runtime would wait for it, so the process exits without it.
    runtime.shutdown_background();
    served
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}

/// `--keep-changes`: a duration, or `forever` (`None`).
#[derive(Debug, Clone, Copy)]
pub struct Keep(Option<Duration>);

fn keep(text: &str) -> Result<Keep, String> {
    if text.eq_ignore_ascii_case("forever") {
        return Ok(Keep(None));
    }
    duration(text).map(|d| Keep(Some(d)))
}
