//! Webhooks for change events. Which events are alerts, and their outbox rows, belong to the
//! change log ([`crate::domain::changelog`]); the worker that POSTs lives in `http::webhooks`.
//!
//! - here: endpoints and their filters (sealed URL and secret, shown as scheme and host only);
//! - [`destinations`]: where deliveries may go (no loopback, private or metadata address unless
//!   the operator allows its network);
//! - [`render`]: what one delivery sends, in the three formats;
//! - [`delivery`]: the outbox's bookkeeping (due rows, claims, outcomes, dead letters, backoff);
//! - [`offline`]: the offline sweep and its end when a host reports again.

pub mod delivery;
pub mod destinations;
pub mod offline;
pub mod render;

pub use delivery::*;
pub use offline::{SWEEP_BATCH, clear_silence, sweep_offline};
pub use render::{Format, render};

pub use crate::domain::changelog::alerts::EVENT_TYPES;
use crate::domain::error::{Error, Result};
use crate::store::secrets::Keyring;
use crate::store::{Db, DbError, DbErrorKind, DbExt};
use assetkit_sign::Secret;

/// Endpoints at most: each is checked for every alert, inside the writer's transaction.
pub const MAX_ENDPOINTS: usize = 100;
/// Longest accepted URL.
pub const MAX_URL: usize = 2048;

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

/// What a URL shows in lists and logs: its scheme, host and port only. A path can be a
/// credential (Slack and Mattermost URLs, ntfy topics, healthchecks.io UUIDs, Telegram's
/// `bot<token>`).
pub fn shown_url(url: &url::Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    if url.path() != "/" || url.query().is_some() {
        out.push_str("/…");
    }
    out
}

/// A webhook URL as given, checked for shape (the destination is checked apart, see
/// [`destinations`]).
pub fn checked_url(text: &str) -> Result<url::Url> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(shown_url(&u), "https://hooks.slack.com/…");
        for secret_path in [
            "https://ntfy.sh/mytopic-secret",
            "https://hc-ping.com/6f3a1c2e-uuid",
            "https://api.telegram.org/bot123:ABC/sendMessage",
        ] {
            let shown = shown_url(&url::Url::parse(secret_path).unwrap());
            assert!(shown.ends_with("/…") && !shown.contains("secret") && !shown.contains("bot123"), "{shown}");
        }
        assert_eq!(shown_url(&url::Url::parse("http://alertmanager:9093/").unwrap()), "http://alertmanager:9093");
        assert!(checked_url("ftp://x/").is_err());
        assert!(checked_url("https://user:pw@x/").is_err());
        assert!(checked_url("http://127.0.0.1:9/hook").is_ok());
    }
}
