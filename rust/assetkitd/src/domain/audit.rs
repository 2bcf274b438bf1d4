//! The audit log: admin writes that are not about one asset (keys, users, lists, imports).

use serde_json::{Value, json};

use crate::domain::error::Result;
use crate::store::{Db, rfc3339};

/// Records an admin write.
pub fn record(db: &mut dyn Db, actor: &str, action: &str, target: &str, detail: &str, now: i64) -> Result<()> {
    db.execute(
        "INSERT INTO admin_events (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        crate::args![now, actor, action, target, detail],
    )?;
    Ok(())
}

/// The latest admin events, newest first.
pub fn latest(db: &mut dyn Db, limit: u32) -> Result<Vec<Value>> {
    db.query(
        "SELECT at, actor, action, target, detail FROM admin_events ORDER BY id DESC LIMIT ?1",
        crate::args![limit],
    )?
    .iter()
    .map(|r| {
        Ok(json!({"at": rfc3339(r.get(0)?), "actor": r.get::<String>(1)?, "action": r.get::<String>(2)?,
                      "target": r.get::<Option<String>>(3)?, "detail": r.get::<Option<String>>(4)?}))
    })
    .collect()
}
