//! Webhooks for change events: endpoints and their filters, what one delivery sends (the three
//! payload formats), the outbox's bookkeeping (due rows, claims, outcomes, dead letters) and the
//! offline sweep. Which events are alerts, and their outbox rows, belong to the change log
//! ([`crate::domain::changelog`]); the worker that POSTs lives in `http::webhooks`.

use assetkit_sign::Secret;
use serde_json::{Value, json};

pub use crate::domain::changelog::alerts::EVENT_TYPES;
use crate::domain::changelog::{self, Event};
use crate::domain::error::{Error, Result};
use crate::store::secrets::Keyring;
use crate::store::{Db, DbError, DbErrorKind, DbExt};

/// Endpoints at most: each is checked for every alert, inside the writer's transaction.
pub const MAX_ENDPOINTS: usize = 100;
/// Longest accepted URL.
pub const MAX_URL: usize = 2048;

/// What a delivery's body looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The event as JSON (see the README's "Webhooks").
    Json,
    /// A Slack or Mattermost incoming webhook: `{"text": "..."}`.
    Slack,
    /// Alertmanager's `POST /api/v2/alerts` body: a list of one alert.
    Alertmanager,
}

impl Format {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Slack => "slack",
            Format::Alertmanager => "alertmanager",
        }
    }

    /// The format a stored or posted name stands for (the names `--format` takes).
    pub fn parse(s: &str) -> Result<Format> {
        <Format as clap::ValueEnum>::from_str(s, false).map_err(|_| {
            Error::invalid_field(
                "format",
                format!("format {:?} is not one of json, slack, alertmanager", crate::log::clip(s)),
            )
        })
    }
}

/// An endpoint to add (no `Debug`: its URL may be a credential).
pub struct NewEndpoint {
    /// http:// or https:// URL.
    pub url: String,
    /// The HMAC key of its deliveries.
    pub secret: Secret,
    /// Body format.
    pub format: Format,
    /// Alert types (or `part.*`); empty: every type.
    pub events: Vec<String>,
    /// Only assets of this business unit.
    pub business_unit: Option<String>,
    /// Only assets in this IDC.
    pub idc: Option<String>,
    /// Only assets with this status.
    pub status: Option<String>,
}

/// A configured endpoint, as lists show it (never its secret or full URL).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Endpoint {
    /// Id.
    pub id: i64,
    /// Scheme, host, port and first path segment.
    pub url: String,
    /// Body format.
    pub format: String,
    /// Selected alert types ("" = all).
    pub events: String,
    /// Business-unit filter.
    pub business_unit: Option<String>,
    /// IDC filter.
    pub idc: Option<String>,
    /// Status filter.
    pub status: Option<String>,
    /// Who added it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// Deliveries waiting.
    pub pending: i64,
    /// Deliveries given up on (redeliverable).
    pub dead: i64,
}

/// What a URL shows in lists and logs: a Slack or Mattermost URL's path is its credential.
pub fn shown_url(url: &url::Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    let mut segments = url.path_segments().into_iter().flatten().filter(|s| !s.is_empty());
    if let Some(first) = segments.next() {
        out.push('/');
        out.push_str(&crate::log::clip(first));
        if segments.next().is_some() || url.query().is_some() {
            out.push_str("/…");
        }
    }
    out
}

fn checked_url(text: &str) -> Result<url::Url> {
    let text = text.trim();
    if text.len() > MAX_URL {
        return Err(Error::invalid_field("url", format!("the URL is longer than {MAX_URL} characters")));
    }
    let url = url::Url::parse(text)
        .map_err(|e| Error::invalid_field("url", format!("not a URL ({e}): give http(s)://HOST[:PORT]/PATH")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid_field("url", "a webhook URL is http:// or https:// with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_field(
            "url",
            "credentials in the URL are not accepted: endpoints authenticate deliveries by their signature",
        ));
    }
    Ok(url)
}

/// The selected alert types, checked: known types, or a part with `.*`.
pub fn parse_events(list: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let known = EVENT_TYPES.contains(&item)
            || item.strip_suffix(".*").is_some_and(|p| EVENT_TYPES.iter().any(|t| t.split('.').next() == Some(p)));
        if !known {
            return Err(Error::invalid_field(
                "events",
                format!(
                    "unknown event {:?}; choose among {} (or PART.* such as disk.*)",
                    crate::log::clip(item),
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        if !out.iter().any(|e| e == item) {
            out.push(item.to_owned());
        }
    }
    Ok(out)
}

/// Adds an endpoint; its id. Filters name existing business units and IDCs.
pub fn add(db: &mut dyn Db, ring: &Keyring, new: &NewEndpoint, actor: &str, now: i64) -> Result<i64> {
    let url = checked_url(&new.url)?;
    if new.secret.expose().len() < 16 {
        return Err(Error::invalid_field("secret", "a webhook secret has at least 16 characters"));
    }
    let count: i64 = db.scalar("SELECT COUNT(*) FROM webhooks", &[])?;
    if count as usize >= MAX_ENDPOINTS {
        return Err(Error::invalid(format!("at most {MAX_ENDPOINTS} webhook endpoints; remove one first")));
    }
    for (field, table, value) in [("business_unit", "business_units", &new.business_unit), ("idc", "idcs", &new.idc)] {
        if let Some(v) = value {
            let found: Option<i64> =
                db.scalar_opt(&format!("SELECT id FROM {table} WHERE name = ?1"), crate::args![v.as_str()])?;
            if found.is_none() {
                return Err(Error::invalid_field(field, format!("no {field} named {:?}", crate::log::clip(v))));
            }
        }
    }
    if let Some(s) = &new.status
        && !crate::domain::inventory::STATUSES.contains(&s.as_str())
    {
        return Err(Error::invalid_field(
            "status",
            format!("status filter must be one of {}", crate::domain::inventory::STATUSES.join(", ")),
        ));
    }
    let shown = shown_url(&url);
    let id: i64 = db.scalar(
        "INSERT INTO webhooks (url, url_shown, secret, format, events, business_unit, idc, status, created_at, created_by) \
         VALUES ('', ?1, '', ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        crate::args![
            shown.as_str(),
            new.format.as_str(),
            new.events.join(","),
            &new.business_unit,
            &new.idc,
            &new.status,
            now,
            actor
        ],
    )?;
    db.execute(
        "UPDATE webhooks SET url = ?2, secret = ?3 WHERE id = ?1",
        crate::args![
            id,
            ring.seal(&format!("webhook-url:{id}"), url.as_str()),
            ring.seal(&format!("webhook:{id}"), new.secret.expose())
        ],
    )?;
    crate::domain::audit::record(db, actor, "webhook.add", &id.to_string(), &shown, now)?;
    Ok(id)
}

/// Removes an endpoint and its undelivered events; whether it existed.
pub fn remove(db: &mut dyn Db, id: i64, actor: &str, now: i64) -> Result<bool> {
    db.execute("DELETE FROM outbox WHERE webhook_id = ?1", crate::args![id])?;
    let gone = db.execute("DELETE FROM webhooks WHERE id = ?1", crate::args![id])? > 0;
    if gone {
        crate::domain::audit::record(db, actor, "webhook.remove", &id.to_string(), "", now)?;
    }
    Ok(gone)
}

/// The endpoints, with their queue counts.
pub fn list(db: &mut dyn Db) -> Result<Vec<Endpoint>> {
    let rows = db.query(
        "SELECT w.id, w.url_shown, w.format, w.events, w.business_unit, w.idc, w.status, w.created_by, w.created_at, \
         (SELECT COUNT(*) FROM outbox o WHERE o.webhook_id = w.id AND o.state = 'pending'), \
         (SELECT COUNT(*) FROM outbox o WHERE o.webhook_id = w.id AND o.state = 'dead') \
         FROM webhooks w ORDER BY w.id",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Endpoint {
                id: r.get(0)?,
                url: r.get(1)?,
                format: r.get(2)?,
                events: r.get(3)?,
                business_unit: r.get(4)?,
                idc: r.get(5)?,
                status: r.get(6)?,
                created_by: r.get(7)?,
                created_at: crate::store::time::rfc3339(r.get(8)?),
                pending: r.get(9)?,
                dead: r.get(10)?,
            })
        })
        .collect()
}

/// Where and how to deliver to an endpoint (its URL and secret opened).
#[derive(Clone)]
pub struct Target {
    /// The full URL.
    pub url: String,
    /// Shown form of the URL, for logs.
    pub url_shown: String,
    /// HMAC key.
    pub secret: Secret,
    /// Body format.
    pub format: Format,
}

/// The delivery target of endpoint `id`, if it still exists.
pub fn target(db: &mut dyn Db, ring: &Keyring, id: i64) -> Result<Option<Target>> {
    let Some(r) =
        db.query_opt("SELECT url, url_shown, secret, format FROM webhooks WHERE id = ?1", crate::args![id])?
    else {
        return Ok(None);
    };
    let open = |aad: String, sealed: String| {
        ring.open_sealed(&aad, &sealed).map_err(|e| Error::from(DbError::new(DbErrorKind::Other, e.to_string())))
    };
    Ok(Some(Target {
        url: open(format!("webhook-url:{id}"), r.get(0)?)?,
        url_shown: r.get(1)?,
        secret: Secret::new(open(format!("webhook:{id}"), r.get(2)?)?),
        format: Format::parse(&r.get::<String>(3)?)?,
    }))
}

/// Seals every webhook URL and secret again with the newest server key (`keys rotate-master`).
pub fn reseal(db: &mut dyn Db, ring: &Keyring) -> Result<usize> {
    let rows = db.query("SELECT id, url, secret FROM webhooks", &[])?;
    for r in &rows {
        let id: i64 = r.get(0)?;
        let (url_aad, secret_aad) = (format!("webhook-url:{id}"), format!("webhook:{id}"));
        let failed =
            |e: crate::store::secrets::SecretError| Error::from(DbError::new(DbErrorKind::Other, e.to_string()));
        let url = ring.open_sealed(&url_aad, &r.get::<String>(1)?).map_err(failed)?;
        let secret = ring.open_sealed(&secret_aad, &r.get::<String>(2)?).map_err(failed)?;
        db.execute(
            "UPDATE webhooks SET url = ?2, secret = ?3 WHERE id = ?1",
            crate::args![id, ring.seal(&url_aad, &url), ring.seal(&secret_aad, &secret)],
        )?;
    }
    Ok(rows.len())
}

/// The body of a delivery in `format`, from the stored plain event.
pub fn render(format: Format, payload: &str) -> Vec<u8> {
    let event: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let asset = &event["asset"];
    let host = asset["hostname"].as_str().or(asset["serial_number"].as_str()).unwrap_or("?").to_owned();
    match format {
        Format::Json => payload.as_bytes().to_vec(),
        Format::Slack => {
            let place: Vec<String> =
                [&asset["business_unit"], &asset["idc"]].iter().filter_map(|v| v.as_str()).map(str::to_owned).collect();
            let place = if place.is_empty() { String::new() } else { format!(" ({})", place.join(", ")) };
            json!({ "text": format!("[assetkit] {host}{place}: {} ({})", text(&event["summary"]), text(&event["type"])) })
                .to_string()
                .into_bytes()
        }
        Format::Alertmanager => {
            let event_type = text(&event["type"]);
            let at = text(&event["at"]);
            // A host silent is a condition that lasts until it reports again ("host.online"
            // resolves it: same labels, ending now). Alertmanager resolves an alert without
            // `endsAt` after its resolve_timeout (5 minutes) unless it is sent again, so the
            // silence is sent ending in 30 days. A change is a fact, shown for a day.
            let (alertname, ends) = match event_type.as_str() {
                "host.offline" => ("AssetkitHostOffline", Some(plus(&at, 30 * 86_400))),
                "host.online" => ("AssetkitHostOffline", Some(at.clone())),
                _ => ("AssetkitChange", Some(plus(&at, 86_400))),
            };
            let mut labels = json!({
                "alertname": alertname,
                "asset_id": asset["id"].to_string(),
                "hostname": host,
                "severity": if alertname == "AssetkitHostOffline" { "warning" } else { "info" },
            });
            if alertname == "AssetkitChange" {
                labels["event"] = json!(event_type);
                labels["event_id"] = event["id"].clone();
                labels["component"] = event["component"].clone();
                labels["key"] = event["key"].clone();
            }
            for (label, field) in [("business_unit", "business_unit"), ("idc", "idc")] {
                if let Some(v) = asset[field].as_str() {
                    labels[label] = json!(v);
                }
            }
            let mut alert = json!({
                "labels": labels,
                "annotations": { "summary": text(&event["summary"]), "event_type": event_type },
                "startsAt": at,
            });
            if let Some(ends) = ends {
                alert["endsAt"] = json!(ends);
            }
            json!([alert]).to_string().into_bytes()
        }
    }
}

fn plus(rfc3339: &str, secs: u64) -> String {
    humantime::parse_rfc3339(rfc3339)
        .map(|t| humantime::format_rfc3339_seconds(t + std::time::Duration::from_secs(secs)).to_string())
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// An outbox row due for delivery.
#[derive(Debug, Clone)]
pub struct Due {
    /// Outbox row.
    pub id: i64,
    /// Endpoint.
    pub webhook_id: i64,
    /// Asset (deliveries of one asset to one endpoint go in order).
    pub asset_id: i64,
    /// X-Assetkit-Event-Id.
    pub event_id: String,
    /// Alert type.
    pub event: String,
    /// Plain JSON event.
    pub payload: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it was queued (unix seconds; the retry horizon runs from here).
    pub created_at: i64,
}

/// Rows due at `now_ms`: for each endpoint and asset, only the oldest pending one (so an asset's
/// events arrive in the order they happened), oldest first.
pub fn due(db: &mut dyn Db, now_ms: i64, limit: usize) -> Result<Vec<Due>> {
    let rows = db.query(
        "SELECT o.id, o.webhook_id, o.asset_id, o.event_id, o.event, o.payload, o.attempts, o.created_at FROM outbox o \
         WHERE o.state = 'pending' AND o.next_at <= ?1 AND NOT EXISTS (SELECT 1 FROM outbox p \
         WHERE p.state = 'pending' AND p.webhook_id = o.webhook_id AND p.asset_id = o.asset_id AND p.id < o.id) \
         ORDER BY o.next_at, o.id LIMIT ?2",
        crate::args![now_ms, limit],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Due {
                id: r.get(0)?,
                webhook_id: r.get(1)?,
                asset_id: r.get(2)?,
                event_id: r.get(3)?,
                event: r.get(4)?,
                payload: r.get(5)?,
                attempts: r.get(6)?,
                created_at: r.get(7)?,
            })
        })
        .collect()
}

/// A row taken for one attempt.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    /// Outbox row.
    pub id: i64,
    /// Attempts, this one included: the claim's fence.
    pub attempts: i64,
    /// Endpoint.
    pub webhook_id: i64,
    /// Asset.
    pub asset_id: i64,
}

/// Takes a due row for one attempt: it is not due again before `lease_until_ms` (so another
/// replica leaves it alone, and a crash mid-attempt retries it then). `None` if another worker
/// took it first.
pub fn claim(db: &mut dyn Db, id: i64, now_ms: i64, lease_until_ms: i64) -> Result<Option<Claim>> {
    let row = db.query_opt(
        "UPDATE outbox SET next_at = ?3, attempts = attempts + 1 WHERE id = ?1 AND state = 'pending' AND next_at <= ?2 \
         RETURNING attempts, webhook_id, asset_id",
        crate::args![id, now_ms, lease_until_ms],
    )?;
    row.map(|r| Ok(Claim { id, attempts: r.get(0)?, webhook_id: r.get(1)?, asset_id: r.get(2)? })).transpose()
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The endpoint answered 2xx.
    Delivered,
    /// It failed; try again then.
    Retry {
        /// Unix milliseconds.
        at_ms: i64,
        /// Why it failed.
        error: String,
    },
    /// It failed past the retry horizon.
    Dead(String),
}

/// Writes an attempt's outcome, if its claim still holds (a worker whose lease ran out, and
/// whose row another worker took, changes nothing). The rows queued behind it for the same
/// endpoint and asset wait for the retry, or are due now that it is done.
pub fn settle(db: &mut dyn Db, claim: &Claim, outcome: &Outcome, now_ms: i64) -> Result<()> {
    let (id, attempts) = (claim.id, claim.attempts);
    let (changed, followers_at) = match outcome {
        Outcome::Delivered => (
            db.execute(
                "UPDATE outbox SET state = 'delivered', done_at = ?3, last_error = NULL \
                 WHERE id = ?1 AND attempts = ?2 AND state = 'pending'",
                crate::args![id, attempts, now_ms],
            )?,
            now_ms,
        ),
        Outcome::Retry { at_ms, error } => (
            db.execute(
                "UPDATE outbox SET next_at = ?3, last_error = ?4 WHERE id = ?1 AND attempts = ?2 AND state = 'pending'",
                crate::args![id, attempts, *at_ms, crate::log::clip(error)],
            )?,
            *at_ms,
        ),
        Outcome::Dead(error) => (
            db.execute(
                "UPDATE outbox SET state = 'dead', done_at = ?3, last_error = ?4 \
                 WHERE id = ?1 AND attempts = ?2 AND state = 'pending'",
                crate::args![id, attempts, now_ms, crate::log::clip(error)],
            )?,
            now_ms,
        ),
    };
    // Only after a failure or with rows waiting: the followers' next_at keeps `due` from
    // scanning rows that cannot go yet.
    if changed == 1 && (claim.attempts > 1 || !matches!(outcome, Outcome::Delivered)) {
        db.execute(
            "UPDATE outbox SET next_at = ?4 WHERE webhook_id = ?1 AND asset_id = ?2 AND id > ?3 AND state = 'pending'",
            crate::args![claim.webhook_id, claim.asset_id, claim.id, followers_at],
        )?;
    }
    Ok(())
}

/// Sends a dead event again, with a fresh retry horizon; false if it is not dead.
pub fn redeliver(db: &mut dyn Db, id: i64, actor: &str, now: i64) -> Result<bool> {
    let done = db.execute(
        "UPDATE outbox SET state = 'pending', attempts = 0, created_at = ?2, next_at = ?3, done_at = NULL \
         WHERE id = ?1 AND state = 'dead'",
        crate::args![id, now, now * 1000],
    )? == 1;
    if done {
        crate::domain::audit::record(db, actor, "webhook.redeliver", &id.to_string(), "", now)?;
    }
    Ok(done)
}

/// A dead delivery, as the console lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeadLetter {
    /// Outbox row (what "redeliver" names).
    pub id: i64,
    /// Endpoint id.
    pub webhook_id: i64,
    /// Endpoint URL (shown form).
    pub url: String,
    /// Alert type.
    pub event: String,
    /// Event id.
    pub event_id: String,
    /// Asset.
    pub asset_id: i64,
    /// The event's summary.
    pub summary: String,
    /// Attempts made.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was given up (RFC 3339).
    pub dead_at: String,
}

/// The most recent dead deliveries.
pub fn dead_letters(db: &mut dyn Db, limit: usize) -> Result<Vec<DeadLetter>> {
    let rows = db.query(
        "SELECT o.id, o.webhook_id, w.url_shown, o.event, o.event_id, o.asset_id, o.payload, o.attempts, o.last_error, o.done_at \
         FROM outbox o JOIN webhooks w ON w.id = o.webhook_id WHERE o.state = 'dead' ORDER BY o.id DESC LIMIT ?1",
        crate::args![limit],
    )?;
    rows.iter()
        .map(|r| {
            let payload: Value = serde_json::from_str(&r.get::<String>(6)?).unwrap_or(Value::Null);
            Ok(DeadLetter {
                id: r.get(0)?,
                webhook_id: r.get(1)?,
                url: r.get(2)?,
                event: r.get(3)?,
                event_id: r.get(4)?,
                asset_id: r.get(5)?,
                summary: payload["summary"].as_str().unwrap_or("").to_owned(),
                attempts: r.get(7)?,
                last_error: r.get(8)?,
                dead_at: crate::store::time::rfc3339(r.get::<Option<i64>>(9)?.unwrap_or(0) / 1000),
            })
        })
        .collect()
}

/// The queue as metrics show it.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueStats {
    /// Deliveries waiting.
    pub pending: i64,
    /// Age of the oldest waiting one, seconds (0 when none waits).
    pub oldest_age_secs: i64,
    /// Dead deliveries.
    pub dead: i64,
}

/// Queue depth, oldest undelivered age, dead count.
pub fn queue_stats(db: &mut dyn Db, now: i64) -> Result<QueueStats> {
    let r = db.query_one(
        "SELECT COUNT(*), MIN(created_at), (SELECT COUNT(*) FROM outbox WHERE state = 'dead') FROM outbox WHERE state = 'pending'",
        &[],
    )?;
    let oldest: Option<i64> = r.get(1)?;
    Ok(QueueStats { pending: r.get(0)?, oldest_age_secs: oldest.map_or(0, |o| (now - o).max(0)), dead: r.get(2)? })
}

/// Forgets delivered rows older than `keep_secs`, and dead ones older than `keep_dead_secs`.
pub fn purge(db: &mut dyn Db, now: i64, keep_secs: i64, keep_dead_secs: i64) -> Result<u64> {
    Ok(db.execute(
        "DELETE FROM outbox WHERE state = 'delivered' AND done_at < ?1",
        crate::args![(now - keep_secs) * 1000],
    )? + db.execute(
        "DELETE FROM outbox WHERE state = 'dead' AND done_at < ?1",
        crate::args![(now - keep_dead_secs) * 1000],
    )?)
}

/// Hosts flagged by one sweep at most: the rest are flagged by the next.
pub const SWEEP_BATCH: usize = 1000;

/// The offline sweep: a reporting asset (online, or discovered and not yet assigned) with no
/// report since `cutoff` gets one "gone offline"
/// event (and its alert), once per silence: it is flagged `silent_since` until it reports
/// again. The number of assets flagged.
pub fn sweep_offline(db: &mut dyn Db, now: i64, cutoff: i64) -> Result<usize> {
    let rows = db.query(
        "SELECT id, last_seen FROM assets WHERE status IN ('online', 'discovered') AND last_seen < ?1 \
         AND silent_since IS NULL ORDER BY id LIMIT ?2",
        crate::args![cutoff, SWEEP_BATCH],
    )?;
    let mut flagged = 0;
    for r in &rows {
        let (id, last_seen): (i64, i64) = (r.get(0)?, r.get(1)?);
        // The flag first, on the same conditions: of two replicas sweeping together, or a sweep
        // and the host's report, one wins the row and the other changes nothing. The asset row is
        // locked before the event's outbox row exists, as a report locks it before its own: an
        // asset's alerts commit in the order of their ids.
        let won = db.execute(
            "UPDATE assets SET silent_since = ?2 WHERE id = ?1 AND silent_since IS NULL AND last_seen < ?3 \
             AND status IN ('online', 'discovered')",
            crate::args![id, now, cutoff],
        )? == 1;
        if !won {
            continue;
        }
        flagged += 1;
        let since = crate::store::time::rfc3339(last_seen);
        let event = Event::whole(
            "host",
            "changed",
            Some("online"),
            Some("online"),
            Some("offline"),
            format!("host gone offline: no report since {since}"),
        );
        changelog::record_all(db, id, None, now, Some("offline-sweep"), std::slice::from_ref(&event))?;
    }
    Ok(flagged)
}

/// A silent asset reporting again: its flag cleared, if it still has one; whether this call
/// cleared it. (A report racing the sweep that flags its host leaves the flag: the next report
/// clears it, with its "back online".)
pub fn clear_silence(db: &mut dyn Db, asset_id: i64) -> Result<bool> {
    Ok(db.execute(
        "UPDATE assets SET silent_since = NULL WHERE id = ?1 AND silent_since IS NOT NULL",
        crate::args![asset_id],
    )? == 1)
}

/// The delay before attempt `attempts + 1`: doubling from `base`, at most `cap`, with "equal
/// jitter" (half fixed, half random, so retries of many events spread out).
pub fn backoff(attempts: i64, base: std::time::Duration, cap: std::time::Duration, random: u64) -> std::time::Duration {
    let exp = u32::try_from(attempts.clamp(1, 31) - 1).unwrap_or(30);
    let full = base.saturating_mul(1u32 << exp).min(cap);
    let half = full / 2;
    let spread = half.as_millis() as u64;
    half + std::time::Duration::from_millis(if spread == 0 { 0 } else { random % (spread + 1) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn endpoints_select_known_types_and_parts() {
        assert!(parse_events("disk.*, host.offline").is_ok());
        assert!(parse_events("disk.exploded").is_err());
        assert!(parse_events("gpu.*").is_err());
    }

    #[test]
    fn stored_format_names_are_the_ones_the_cli_takes() {
        for f in <Format as clap::ValueEnum>::value_variants() {
            assert_eq!(Format::parse(f.as_str()).unwrap(), *f);
        }
        assert!(Format::parse("Slack").is_err());
    }

    #[test]
    fn urls_are_shown_without_their_secret_path() {
        let u = url::Url::parse("https://hooks.slack.com/services/T000/B000/XXXXSECRET").unwrap();
        assert_eq!(shown_url(&u), "https://hooks.slack.com/services/…");
        assert!(checked_url("ftp://x/").is_err());
        assert!(checked_url("https://user:pw@x/").is_err());
        assert!(checked_url("http://127.0.0.1:9/hook").is_ok());
    }

    #[test]
    fn backoff_doubles_within_its_cap_with_jitter() {
        let (base, cap) = (Duration::from_secs(10), Duration::from_secs(3600));
        assert_eq!(backoff(1, base, cap, 0), Duration::from_secs(5));
        assert_eq!(backoff(1, base, cap, 5000), Duration::from_secs(10));
        assert!(
            backoff(3, base, cap, 7) >= Duration::from_secs(20) && backoff(3, base, cap, 7) <= Duration::from_secs(40)
        );
        assert!(backoff(60, base, cap, 123_456) <= cap);
    }
}
