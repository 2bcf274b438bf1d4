//! The change log: the one owner of change events. Applying a report, an admin's edit, a key's
//! revocation, the offline sweep and an import all record their events here, and here each
//! event that is an alert gets its outbox rows, in the same transaction. This module calls none
//! of those that call it.
//!
//! - [`Event`]: a typed change before it gets an asset and a time.
//! - [`record`], [`record_all`]: one event; a batch of events with their alerts queued.
//! - [`record_repeated`]: an event that repeats (a fleet key refused again and again on one
//!   host) is one row whose `repeats` counts, not a row per attempt.
//! - [`Budget`]: what one report, and one asset in a day, may add to the log; the rest is summed
//!   up in one row, so the log grows with the fleet, not with one sender's activity.
//! - [`alerts`]: which events are alerts; [`outbox`]: their rows for each endpoint.

pub mod alerts;
pub mod outbox;

use crate::domain::error::Result;
use crate::store::{Db, DbExt};

/// A typed change event, before it gets an asset and a time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    /// Component kind.
    pub component: String,
    /// Where: slot, disk, NIC name, or "" for single sections.
    pub key: String,
    /// "added", "removed", "changed" or "security".
    pub kind: &'static str,
    /// The field that changed, for "changed".
    pub field: Option<String>,
    /// Old value, rendered.
    pub old: Option<String>,
    /// New value, rendered.
    pub new: Option<String>,
    /// One line for people: "disk in slot 32:3 replaced: serial A -> B".
    pub summary: String,
    /// One of the field changes of a part replaced in its place (a replacement records one
    /// event per field that differs; a webhook sends one alert for them all).
    pub replaced: bool,
}

impl Event {
    /// An event about a whole thing (the asset, the host, a single section), not one component.
    pub fn whole(
        component: &str,
        kind: &'static str,
        field: Option<&str>,
        old: Option<&str>,
        new: Option<&str>,
        summary: String,
    ) -> Event {
        Event {
            component: component.to_owned(),
            key: String::new(),
            kind,
            field: field.map(str::to_owned),
            old: old.map(str::to_owned),
            new: new.map(str::to_owned),
            summary,
            replaced: false,
        }
    }
}

/// Inserts one change event; its id.
pub fn record(
    db: &mut dyn Db,
    asset_id: i64,
    report_id: Option<&str>,
    at: i64,
    actor: Option<&str>,
    e: &Event,
) -> Result<i64> {
    Ok(db.scalar(
        "INSERT INTO changes (asset_id, report_id, at, component, key, kind, field, old, new, actor, summary) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
        crate::args![
            asset_id,
            report_id,
            at,
            e.component.as_str(),
            e.key.as_str(),
            e.kind,
            &e.field,
            &e.old,
            &e.new,
            actor,
            e.summary.as_str()
        ],
    )?)
}

/// Records events and puts those the webhooks select into the outbox, in this transaction; the
/// number of deliveries queued.
pub fn record_all(
    db: &mut dyn Db,
    asset_id: i64,
    report_id: Option<&str>,
    at: i64,
    actor: Option<&str>,
    events: &[Event],
) -> Result<usize> {
    let mut ids = Vec::with_capacity(events.len());
    for e in events {
        ids.push(record(db, asset_id, report_id, at, actor, e)?);
    }
    outbox::enqueue(db, asset_id, at, report_id, events, &ids)
}

/// How long a repeated event keeps being counted on its first row.
pub const REPEAT_WINDOW_SECS: i64 = 86_400;

/// Records `e`, or, when the asset's latest event of the same component, kind, field, old and
/// new value is less than [`REPEAT_WINDOW_SECS`] old, counts it there (its summary becomes this
/// one's, its `at` stays the first time). Returns the row's id and how many times it happened.
pub fn record_repeated(
    db: &mut dyn Db,
    asset_id: i64,
    report_id: Option<&str>,
    at: i64,
    actor: Option<&str>,
    e: &Event,
) -> Result<(i64, i64)> {
    let earlier = db.query_opt(
        "SELECT id, repeats FROM changes WHERE asset_id = ?1 AND component = ?2 AND kind = ?3 \
         AND COALESCE(field, '') = ?4 AND COALESCE(old, '') = ?5 AND COALESCE(new, '') = ?6 AND at >= ?7 \
         ORDER BY id DESC LIMIT 1",
        crate::args![
            asset_id,
            e.component.as_str(),
            e.kind,
            e.field.as_deref().unwrap_or(""),
            e.old.as_deref().unwrap_or(""),
            e.new.as_deref().unwrap_or(""),
            at - REPEAT_WINDOW_SECS
        ],
    )?;
    if let Some(row) = earlier {
        let (id, repeats): (i64, i64) = (row.get(0)?, row.get(1)?);
        let summary = format!("{} ({} times since the first)", e.summary, repeats + 1);
        db.execute(
            "UPDATE changes SET repeats = repeats + 1, summary = ?2, report_id = ?3 WHERE id = ?1",
            crate::args![id, summary.as_str(), report_id],
        )?;
        return Ok((id, repeats + 1));
    }
    Ok((record(db, asset_id, report_id, at, actor, e)?, 1))
}

/// What a report may add to the change log (`assetkitd serve --max-events-per-report`,
/// `--max-events-per-day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Events itemized for one report; the rest of that report's are one summing row.
    pub per_report: usize,
    /// Events itemized for one asset in a UTC day; the rest of that day's are one summing row,
    /// updated in place.
    pub per_day: i64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { per_report: 512, per_day: 2_000 }
    }
}

/// Records a report's events within `budget`: the first ones itemized (with their alerts), the
/// rest summed up in one row (the report's, or the day's when the day's budget is spent). The
/// number of deliveries queued.
pub fn record_report(
    db: &mut dyn Db,
    asset_id: i64,
    report_id: &str,
    at: i64,
    events: &[Event],
    budget: Budget,
) -> Result<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let day = at.div_euclid(86_400);
    let (today, summary_id) = match db
        .query_opt("SELECT day, events, summary_id FROM event_budgets WHERE asset_id = ?1", crate::args![asset_id])?
    {
        Some(r) if r.get::<i64>(0)? == day => (r.get::<i64>(1)?, r.get::<Option<i64>>(2)?),
        _ => (0, None),
    };
    let left_today = usize::try_from((budget.per_day - today).max(0)).unwrap_or(0);
    let itemized = events.len().min(budget.per_report).min(left_today);
    let alerts = record_all(db, asset_id, Some(report_id), at, None, &events[..itemized])?;
    let rest = (events.len() - itemized) as i64;
    let mut summary_id = summary_id;
    if rest > 0 {
        if left_today > budget.per_report {
            // Only the report's own cap was reached: its rest is one row.
            let e = Event::whole(
                "asset",
                "changed",
                Some("events"),
                None,
                Some(&rest.to_string()),
                format!("{rest} more changes in this report not itemized (at most {} per report)", budget.per_report),
            );
            record(db, asset_id, Some(report_id), at, None, &e)?;
        } else {
            summary_id = Some(day_summary(db, asset_id, report_id, at, summary_id, rest, budget)?);
        }
    }
    db.execute(
        "INSERT INTO event_budgets (asset_id, day, events, summary_id) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (asset_id) DO UPDATE SET day = excluded.day, events = excluded.events, summary_id = excluded.summary_id",
        crate::args![asset_id, day, today + itemized as i64, summary_id],
    )?;
    Ok(alerts)
}

/// The day's summing row of an asset over its daily budget: created, or counted up in place.
fn day_summary(
    db: &mut dyn Db,
    asset_id: i64,
    report_id: &str,
    at: i64,
    existing: Option<i64>,
    rest: i64,
    budget: Budget,
) -> Result<i64> {
    let text = |n: i64| {
        format!("{n} more changes today not itemized (the daily budget is {} events per asset)", budget.per_day)
    };
    if let Some(id) = existing
        && let Some(before) =
            db.scalar_opt::<Option<String>>("SELECT new FROM changes WHERE id = ?1", crate::args![id])?
    {
        let total = before.and_then(|n| n.parse::<i64>().ok()).unwrap_or(0) + rest;
        db.execute(
            "UPDATE changes SET new = ?2, summary = ?3, repeats = repeats + 1, report_id = ?4 WHERE id = ?1",
            crate::args![id, total.to_string(), text(total), report_id],
        )?;
        return Ok(id);
    }
    let e = Event::whole("asset", "changed", Some("events"), None, Some(&rest.to_string()), text(rest));
    record(db, asset_id, Some(report_id), at, None, &e)
}
