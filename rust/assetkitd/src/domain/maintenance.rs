//! What only needs keeping for a while: nonces (twice the signature window) and applied report
//! ids (the retry horizon of a spool).

use std::time::Duration;

use crate::store::{Db, DbError};

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
    Ok((nonces, reports))
}
