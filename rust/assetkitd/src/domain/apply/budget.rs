//! How many assets one fleet key may create: the fleet key is shared by every host, so whoever
//! holds it could mint assets at the report limits until the disk is full. Counted from the
//! reports that created assets (`applied_reports`), so the budget holds across replicas.

use crate::domain::error::{Error, Result};
use crate::store::{Db, DbExt};

/// New assets per fleet key (`assetkitd serve --max-new-assets-per-minute`, `...-per-day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewAssets {
    /// In any 60 seconds.
    pub per_minute: i64,
    /// In any 24 hours.
    pub per_day: i64,
}

impl Default for NewAssets {
    fn default() -> Self {
        NewAssets { per_minute: 600, per_day: 20_000 }
    }
}

/// Refuses (429, with the wait) a new asset the key's budget has no room for.
pub fn check(db: &mut dyn Db, key_id: &str, now: i64, limits: NewAssets) -> Result<()> {
    for (window, limit, what) in [(60, limits.per_minute, "minute"), (86_400, limits.per_day, "day")] {
        let since = now - window;
        let row = db.query_one(
            "SELECT COUNT(*), MIN(at) FROM (SELECT at FROM applied_reports WHERE key_id = ?1 AND action = 'created' \
             AND at > ?2 ORDER BY at DESC LIMIT ?3) recent",
            crate::args![key_id, since, limit],
        )?;
        let (count, oldest): (i64, Option<i64>) = (row.get(0)?, row.get(1)?);
        if count >= limit {
            let retry_after = oldest.map_or(window, |t| (t + window - now).max(1));
            return Err(Error::OverBudget {
                what: format!(
                    "this fleet key created {count} assets in the last {what}, its budget (--max-new-assets-per-{what})"
                ),
                retry_after: retry_after as u64,
            });
        }
    }
    Ok(())
}
