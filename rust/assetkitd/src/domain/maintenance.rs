//! What only needs keeping for a while: nonces (twice the signature window), applied report
//! ids (the retry horizon of a spool), and change events (`--keep-changes`, and at most
//! `--max-changes-per-asset` for any one asset); and the count deltas, folded into one row per
//! status and per make-up. Deletions go in bounded steps, so a long backlog never holds the writer: the
//! rest goes at the next run, a minute later.

use std::time::Duration;

use crate::store::{Db, DbError, DbExt, Engine};

/// Retention of what is purged.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Nonces older than this are forgotten.
    pub nonces: Duration,
    /// Applied report ids older than this are forgotten.
    pub report_ids: Duration,
    /// Change events older than this are deleted (`None`: kept).
    pub changes: Option<Duration>,
    /// The most change events kept for one asset (`None`: no cap); the oldest go first.
    pub changes_per_asset: Option<u64>,
    /// Assets that recorded this many events in a day are the ones checked against the cap.
    pub busy_day: i64,
}

/// Rows deleted per statement, so one run holds the writer for milliseconds.
pub const DELETE_STEP: i64 = 10_000;

/// Deletes what is past its retention; the number of nonces and report ids removed.
pub fn purge(db: &mut dyn Db, retention: Retention, now: i64) -> Result<(u64, u64), DbError> {
    let nonces =
        db.execute("DELETE FROM nonces WHERE ts < ?1", crate::args![now - retention.nonces.as_secs() as i64])?;
    let reports = db.execute(
        "DELETE FROM applied_reports WHERE at < ?1",
        crate::args![now - retention.report_ids.as_secs() as i64],
    )?;
    let changes = purge_changes(db, retention, now)?;
    tracing::debug!(nonces, applied_reports = reports, changes, "purged");
    fold_counts(db)?;
    Ok((nonces, reports))
}

/// Deletes change events past their retention, and beyond the per-asset cap for the assets that
/// spent a whole day's event budget (the only ones that can grow that long); at most
/// [`DELETE_STEP`] rows of each kind per run.
pub fn purge_changes(db: &mut dyn Db, retention: Retention, now: i64) -> Result<u64, DbError> {
    let mut deleted = 0;
    if let Some(keep) = retention.changes {
        deleted += db.execute(
            "DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE at < ?1 ORDER BY id LIMIT ?2)",
            crate::args![now - keep.as_secs() as i64, DELETE_STEP],
        )?;
    }
    if let Some(cap) = retention.changes_per_asset {
        let busy: Vec<i64> = db.column(
            "SELECT asset_id FROM event_budgets WHERE events >= ?1 ORDER BY asset_id LIMIT 100",
            crate::args![retention.busy_day],
        )?;
        for asset in busy {
            // The id of the cap-th newest event: everything older goes.
            let Some(oldest_kept) = db.scalar_opt::<i64>(
                "SELECT id FROM changes WHERE asset_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2",
                crate::args![asset, (cap as i64).saturating_sub(1)],
            )?
            else {
                continue;
            };
            deleted += db.execute(
                "DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE asset_id = ?1 AND id < ?2 ORDER BY id LIMIT ?3)",
                crate::args![asset, oldest_kept, DELETE_STEP],
            )?;
        }
    }
    Ok(deleted)
}

/// The make-up columns a `makeup_counts` row is grouped by.
const MAKEUP: &str = "manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id";

/// Folds the count deltas (`asset_counts` per status, `makeup_counts` per make-up and
/// `change_day_counts` per day and component, appended by triggers) into one row per status,
/// and per make-up or day still counted. On PostgreSQL
/// other writers append meanwhile: one statement deletes what it sees and inserts its sums, so a
/// delta committed in between is neither lost nor counted twice.
pub fn fold_counts(db: &mut dyn Db) -> Result<(), DbError> {
    for (table, columns, keep) in [
        ("asset_counts", "status", ""),
        ("makeup_counts", MAKEUP, " HAVING SUM(delta) <> 0"),
        ("change_day_counts", "day, component", " HAVING SUM(delta) <> 0"),
    ] {
        match db.engine() {
            Engine::Postgres => {
                db.execute(
                    &format!(
                        "WITH gone AS (DELETE FROM {table} RETURNING {columns}, delta) \
                         INSERT INTO {table} ({columns}, delta) SELECT {columns}, SUM(delta) FROM gone GROUP BY {columns}{keep}"
                    ),
                    &[],
                )?;
            }
            Engine::Sqlite => {
                let Some(last) = db.scalar::<Option<i64>>(&format!("SELECT MAX(id) FROM {table}"), &[])? else {
                    continue;
                };
                db.execute(
                    &format!(
                        "INSERT INTO {table} ({columns}, delta) SELECT {columns}, SUM(delta) FROM {table} \
                         WHERE id <= ?1 GROUP BY {columns}{keep}"
                    ),
                    crate::args![last],
                )?;
                db.execute(&format!("DELETE FROM {table} WHERE id <= ?1"), crate::args![last])?;
            }
        }
    }
    Ok(())
}
