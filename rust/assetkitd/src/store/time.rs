//! Time as the store keeps it (unix seconds) and as the API shows it (RFC 3339, UTC).

use std::time::{Duration, UNIX_EPOCH};

/// Seconds since the epoch.
pub fn now() -> i64 {
    assetkit_sign::unix_now()
}

/// RFC 3339 (UTC, seconds) for a unix time.
pub fn rfc3339(ts: i64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(ts.max(0) as u64)).to_string()
}
