//! When an asset is offline: one rule for the asset list and its counts, an asset's page, the
//! API, the CLI and the offline sweep's `host.offline` and `host.online` events.
//!
//! An asset is *offline* when it is in service (stored status `online`, or `discovered` and not
//! yet assigned), has reported at least once, and its last report is older than the server's
//! `--offline-after`. An asset that never reported (entered by hand, not yet installed) is not
//! offline and not online: it stays `discovered` until its first report. The line is the one
//! `assetkitd serve --offline-after` draws: a server records it in the store when it starts, and
//! the CLI reads it there.

use std::time::Duration;

use crate::domain::error::Result;
use crate::store::{Db, DbExt};

/// `--offline-after` when no server has recorded one.
pub const DEFAULT_OFFLINE_AFTER: Duration = Duration::from_secs(7 * 86_400);

/// The stored statuses an asset can be offline in.
pub const IN_SERVICE: &str = "('online', 'discovered')";

/// The `settings` row holding `--offline-after`, in seconds.
const SETTING: &str = "offline_after";

/// Records the server's `--offline-after` for the CLI and other replicas' readers.
pub fn record_offline_after(db: &mut dyn Db, after: Duration) -> Result<()> {
    db.execute(
        "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        crate::args![SETTING, after.as_secs().to_string()],
    )?;
    Ok(())
}

/// The `--offline-after` the last server to start recorded, else [`DEFAULT_OFFLINE_AFTER`].
pub fn offline_after(db: &mut dyn Db) -> Result<Duration> {
    let value: Option<String> = db.scalar_opt("SELECT value FROM settings WHERE name = ?1", crate::args![SETTING])?;
    Ok(value.and_then(|v| v.parse().ok()).map_or(DEFAULT_OFFLINE_AFTER, Duration::from_secs))
}

/// The status people see: the stored one, or `offline` for an asset in service whose last
/// report is older than `cutoff` (unix seconds).
pub fn shown_status(status: String, last_seen: Option<i64>, cutoff: i64) -> String {
    let in_service = status == "online" || status == "discovered";
    if in_service && last_seen.is_some_and(|t| t < cutoff) { "offline".to_owned() } else { status }
}

/// The words both events use for the same fact: when the host last reported.
pub fn last_report(last_seen: i64) -> String {
    format!("last report at {}", crate::store::time::rfc3339(last_seen))
}
