//! Change events as the API shows them: an asset's timeline, the feed.

use serde_json::{Value, json};

use crate::domain::error::Result;
use crate::store::{Db, DbExt, Row, rfc3339};

/// A change event as the API shows it.
pub fn change_json(r: &Row) -> Result<Value> {
    Ok(json!({
        "id": r.get::<i64>(0)?,
        "asset_id": r.get::<i64>(1)?,
        "report_id": r.get::<Option<String>>(2)?,
        "at": rfc3339(r.get(3)?),
        "component": r.get::<String>(4)?,
        "key": r.get::<Option<String>>(5)?,
        "kind": r.get::<String>(6)?,
        "field": r.get::<Option<String>>(7)?,
        "old": r.get::<Option<String>>(8)?,
        "new": r.get::<Option<String>>(9)?,
        "actor": r.get::<Option<String>>(10)?,
        "summary": r.get::<String>(11)?,
        "repeats": r.get::<i64>(12)?,
    }))
}

const CHANGE_COLUMNS: &str =
    "id, asset_id, report_id, at, component, key, kind, field, old, new, actor, summary, repeats";

/// An asset's change timeline, newest first; `before` pages backwards by change id.
pub fn asset_changes(db: &mut dyn Db, asset_id: i64, limit: u32, before: Option<i64>) -> Result<Vec<Value>> {
    db.query(
        &format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE asset_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"),
        crate::args![asset_id, before.unwrap_or(i64::MAX), limit.clamp(1, 1000)],
    )?
    .iter()
    .map(change_json)
    .collect()
}

/// All changes at or after `since` (unix time) and after change id `after_id`, oldest first:
/// a feed another system can follow by passing the last id it saw.
pub fn changes_since(db: &mut dyn Db, since: i64, after_id: i64, limit: u32) -> Result<Vec<Value>> {
    db.query(
        &format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE at >= ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
        crate::args![since, after_id, limit.clamp(1, 5000)],
    )?
    .iter()
    .map(change_json)
    .collect()
}

/// The newest change id (0 when there is none): where the feed ends now.
pub fn last_change_id(db: &mut dyn Db) -> Result<i64> {
    Ok(db.scalar("SELECT COALESCE(MAX(id), 0) FROM changes", &[])?)
}
