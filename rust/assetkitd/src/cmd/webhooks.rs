//! `assetkitd webhooks`: endpoints that receive change events, and their dead deliveries.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::table::{Column, Table};
use super::{DbArg, cli_actor, say};
use crate::domain::webhooks::{self, Format, NewEndpoint};
use crate::out;
use crate::store::{self, now};

/// The `webhooks` subcommands (their doc comments are the help text).
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Add an endpoint. Each change event its filters select is queued in the transaction that
    /// records it and POSTed, signed, until it is delivered (retried with backoff for
    /// --webhook-give-up, 24 h by default; then dead, redeliverable).
    #[command(after_help = "Examples:\n  \
        assetkitd webhooks add --url https://ops.example/hooks/assetkit --secret-file /etc/assetkit/hook.secret\n  \
        assetkitd webhooks add --url https://hooks.slack.com/services/T0/B0/XXXX --secret-file hook.secret \\\n      \
        --format slack --events disk.*,memory_module.*,host.offline --idc dc1\n  \
        assetkitd webhooks add --url http://alertmanager:9093/api/v2/alerts --secret-file hook.secret \\\n      \
        --format alertmanager --events host.offline,host.online\n\n\
        Events: disk|memory_module|nic|psu.added|removed|replaced (or PART.*), hostname.drift,\n\
        asset.discovered, purchase.mismatch, host.offline, host.online. Without --events: all of them.")]
    Add {
        #[command(flatten)]
        db: DbArg,
        /// Where to POST (http:// or https://). Shown in lists as scheme, host and first path
        /// segment only: stored sealed, like the secret.
        #[arg(long)]
        url: String,
        /// A file of mode 0600 (or stricter), owned by you, whose first line, trimmed of white
        /// space, is the HMAC secret (16+ characters) the endpoint checks X-Assetkit-Signature
        /// with: `openssl rand -hex 32 > FILE` makes one.
        #[arg(long, value_name = "FILE")]
        secret_file: PathBuf,
        /// Comma-separated event types to send (default: all).
        #[arg(long, value_name = "KIND,...", default_value = "")]
        events: String,
        /// Body format: json (the event), slack (Slack/Mattermost text), alertmanager (the
        /// /api/v2/alerts body).
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Only assets of this business unit.
        #[arg(long, value_name = "NAME")]
        business_unit: Option<String>,
        /// Only assets in this IDC.
        #[arg(long, value_name = "NAME")]
        idc: Option<String>,
        /// Only assets with this status (discovered, online, in_stock, retired).
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        networks: super::WebhookNetworks,
        /// Print {"id": ...}.
        #[arg(long)]
        json: bool,
    },
    /// List endpoints with their waiting and dead deliveries (never URLs' paths or secrets).
    List {
        #[command(flatten)]
        db: DbArg,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Remove an endpoint and drop its undelivered events.
    Remove {
        #[command(flatten)]
        db: DbArg,
        /// The endpoint id (see `list`).
        id: i64,
    },
    /// List dead deliveries (given up after the retry horizon), newest first.
    Dead {
        #[command(flatten)]
        db: DbArg,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Queue a dead delivery again (same event id), with a fresh retry horizon.
    Redeliver {
        #[command(flatten)]
        db: DbArg,
        /// The delivery id (see `dead`).
        id: i64,
    },
}

/// The secret is the file's first line, trimmed; the file is checked as the agent checks its
/// key file (owned by the running user, mode 0600 or stricter).
fn read_secret(path: &std::path::Path) -> anyhow::Result<assetkit_sign::Secret> {
    let text = assetkit_core::trust::read_secret_file(path, 4096).context("reading the webhook secret file")?;
    if text.is_empty() {
        anyhow::bail!(
            "the webhook secret file {} has an empty first line; the secret is the file's first line, trimmed \
             (make one with: install -m 0600 /dev/null {0} && openssl rand -hex 32 > {0})",
            path.display()
        );
    }
    Ok(assetkit_sign::Secret::new(text))
}

/// An endpoint's filters as people read them: "disk.*,host.offline bu=web idc=dc1", or "all
/// events" (the same words in `add`'s confirmation and in `list`).
fn filters_of(events: &str, business_unit: &Option<String>, idc: &Option<String>, status: &Option<String>) -> String {
    let mut filters: Vec<String> = Vec::new();
    if !events.is_empty() {
        filters.push(events.to_owned());
    }
    for (name, v) in [("bu", business_unit), ("idc", idc), ("status", status)] {
        if let Some(v) = v {
            filters.push(format!("{name}={v}"));
        }
    }
    if filters.is_empty() { "all events".to_owned() } else { filters.join(" ") }
}

/// `webhooks list`: endpoints with their filters and queues, as a table or JSON.
fn list(db: &DbArg, json: bool) -> anyhow::Result<()> {
    let mut db = db.open()?;
    let list = webhooks::list(db.as_mut())?;
    if json {
        out!("{}", serde_json::to_string(&list)?);
    } else if list.is_empty() {
        out!("no webhooks; add one with `assetkitd webhooks add --url URL --secret-file FILE`");
    } else {
        let mut table = Table::new(&[
            Column::number("ID"),
            Column::text("FORMAT", 12),
            Column::text("URL", 48),
            Column::text("FILTERS", 40),
            Column::number("WAITING"),
            Column::number("DEAD"),
        ]);
        for w in list {
            let filters = filters_of(&w.events, &w.business_unit, &w.idc, &w.status);
            table.row([w.id.to_string(), w.format, w.url, filters, w.pending.to_string(), w.dead.to_string()]);
        }
        table.print();
    }
    Ok(())
}

/// Runs `webhooks`.
pub fn run(cmd: WebhooksCommand) -> anyhow::Result<()> {
    match cmd {
        WebhooksCommand::Add { db, url, secret_file, events, format, business_unit, idc, status, networks, json } => {
            let secret = read_secret(&secret_file)?;
            let checked = webhooks::checked_url(&url)?;
            let policy = networks.destinations()?;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime
                .block_on(crate::http::webhooks::check_destination(&checked, &policy))
                .map_err(|why| anyhow::anyhow!("not added: {why}"))?;
            let new = NewEndpoint {
                url,
                secret,
                format,
                events: webhooks::parse_events(&events)?,
                business_unit,
                idc,
                status,
            };
            let (mut db, ring) = db.open_with_keys()?;
            let id = store::transaction(db.as_mut(), |db| webhooks::add(db, &ring, &new, &cli_actor(), now()))?;
            say(
                json,
                serde_json::json!({ "id": id }),
                &format!(
                    "webhook {id} added ({} format, {}); running servers deliver to it from their next event",
                    new.format.as_str(),
                    filters_of(&new.events.join(","), &new.business_unit, &new.idc, &new.status)
                ),
            );
        }
        WebhooksCommand::List { db, json } => list(&db, json)?,
        WebhooksCommand::Remove { db, id } => {
            let mut db = db.open()?;
            if !store::transaction(db.as_mut(), |db| webhooks::remove(db, id, &cli_actor(), now()))? {
                anyhow::bail!("no webhook {id} (see `assetkitd webhooks list`)");
            }
            out!("webhook {id} removed with its undelivered events");
        }
        WebhooksCommand::Dead { db, limit, json } => {
            let mut db = db.open()?;
            let dead = webhooks::dead_letters(db.as_mut(), limit.min(1000))?;
            if json {
                out!("{}", serde_json::to_string(&dead)?);
            } else if dead.is_empty() {
                out!("no dead deliveries");
            } else {
                let mut table = Table::new(&[
                    Column::number("ID"),
                    Column::number("WEBHOOK"),
                    Column::text("URL", 40),
                    Column::text("EVENT", 24),
                    Column::number("ASSET"),
                    Column::number("ATTEMPTS"),
                    Column::text("DEAD SINCE", 25),
                    Column::text("LAST ERROR", 60),
                ]);
                for d in dead {
                    table.row([
                        d.id.to_string(),
                        d.webhook_id.to_string(),
                        d.url,
                        d.event,
                        d.asset_id.to_string(),
                        d.attempts.to_string(),
                        d.dead_at,
                        d.last_error.unwrap_or_else(|| "-".into()),
                    ]);
                }
                table.print();
            }
        }
        WebhooksCommand::Redeliver { db, id } => {
            let mut db = db.open()?;
            if !store::transaction(db.as_mut(), |db| webhooks::redeliver(db, id, &cli_actor(), now()))? {
                match webhooks::delivery_state(db.as_mut(), id)? {
                    None => anyhow::bail!("no delivery {id} (see `assetkitd webhooks dead` for the dead ones)"),
                    Some(state) => anyhow::bail!(
                        "delivery {id} is {state}, not dead: only dead deliveries are queued again (see `assetkitd webhooks dead`)"
                    ),
                }
            }
            out!("delivery {id} queued again");
        }
    }
    Ok(())
}
