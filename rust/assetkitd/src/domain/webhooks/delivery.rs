//! The outbox's bookkeeping: which rows are due, claims (leases) that let several workers and
//! replicas share the outbox, outcomes fenced by their claim, redelivery of dead rows, the
//! queue's gauges, the purge, and the backoff between attempts.

use serde_json::Value;

use crate::domain::error::Result;
use crate::store::{Db, DbExt};

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
/// events arrive in the order they happened), oldest first; none of the endpoints in `busy`
/// (whose batch is still being sent), so that their rows never crowd out the others'.
pub fn due(db: &mut dyn Db, now_ms: i64, limit: usize, busy: &[i64]) -> Result<Vec<Due>> {
    let skip = if busy.is_empty() {
        String::new()
    } else {
        let marks: Vec<String> = (0..busy.len()).map(|i| format!("?{}", i + 3)).collect();
        format!(" AND o.webhook_id NOT IN ({})", marks.join(", "))
    };
    let mut args = crate::args![now_ms, limit].to_vec();
    args.extend(busy.iter().map(|id| crate::store::Value::from(*id)));
    let rows = db.query(
        &format!(
            "SELECT o.id, o.webhook_id, o.asset_id, o.event_id, o.event, o.payload, o.attempts, o.created_at FROM outbox o \
             WHERE o.state = 'pending' AND o.next_at <= ?1{skip} AND NOT EXISTS (SELECT 1 FROM outbox p \
             WHERE p.state = 'pending' AND p.webhook_id = o.webhook_id AND p.asset_id = o.asset_id AND p.id < o.id) \
             ORDER BY o.next_at, o.id LIMIT ?2"
        ),
        &args,
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

/// Where delivery `id` stands (pending, delivered, dead), or `None` when there is no such
/// delivery: what a refused redelivery tells the admin.
pub fn delivery_state(db: &mut dyn Db, id: i64) -> Result<Option<String>> {
    Ok(db.scalar_opt("SELECT state FROM outbox WHERE id = ?1", crate::args![id])?)
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
