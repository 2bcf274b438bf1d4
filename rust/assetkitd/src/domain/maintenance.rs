//! What only needs keeping for a while: nonces (twice the signature window) and applied report
//! ids (the retry horizon of a spool); and the status-count deltas, folded into one row per
//! status.

use std::time::Duration;

use crate::store::{Db, DbError, DbExt, Engine};

/// Retention of what is purged.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Nonces older than this are forgotten.
    pub nonces: Duration,
    /// Applied report ids older than this are forgotten.
    pub report_ids: Duration,
}

/// Deletes what is past its retention; the number of nonces and report ids removed.
pub fn purge(db: &mut dyn Db, retention: Retention, now: i64) -> Result<(u64, u64), DbError> {
    let nonces =
        db.execute("DELETE FROM nonces WHERE ts < ?1", crate::args![now - retention.nonces.as_secs() as i64])?;
    let reports = db.execute(
        "DELETE FROM applied_reports WHERE at < ?1",
        crate::args![now - retention.report_ids.as_secs() as i64],
    )?;
    tracing::debug!(nonces, applied_reports = reports, "purged");
    fold_counts(db)?;
    Ok((nonces, reports))
}

/// Folds the status-count deltas (`asset_counts`, appended by triggers) into one row per
/// status. On PostgreSQL other writers append meanwhile: one statement deletes what it sees and
/// inserts its sums, so a delta committed in between is neither lost nor counted twice.
pub fn fold_counts(db: &mut dyn Db) -> Result<(), DbError> {
    match db.engine() {
        Engine::Postgres => {
            db.execute(
                "WITH gone AS (DELETE FROM asset_counts RETURNING status, delta) \
                 INSERT INTO asset_counts (status, delta) SELECT status, SUM(delta) FROM gone GROUP BY status",
                &[],
            )?;
        }
        Engine::Sqlite => {
            let Some(last) = db.scalar::<Option<i64>>("SELECT MAX(id) FROM asset_counts", &[])? else {
                return Ok(());
            };
            db.execute(
                "INSERT INTO asset_counts (status, delta) SELECT status, SUM(delta) FROM asset_counts WHERE id <= ?1 GROUP BY status",
                crate::args![last],
            )?;
            db.execute("DELETE FROM asset_counts WHERE id <= ?1", crate::args![last])?;
        }
    }
    Ok(())
}
