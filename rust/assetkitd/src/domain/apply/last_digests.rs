//! The facts digest each asset was last left with by this process: the request's thread asks
//! it whether a report is likely to change its asset, to extract that report's components
//! before the writer (see [`super::prepared`]).

use std::collections::HashMap;
use std::sync::Mutex;

/// The facts digest each asset was last left with by this process (its first 64 bits), to guess
/// before the writer whether a report changes its asset. A wrong guess (another replica wrote
/// the asset, or this table was cleared) costs time, never correctness.
#[derive(Debug, Default)]
pub struct LastDigests(Mutex<HashMap<i64, u64>>);

impl LastDigests {
    /// Most assets remembered (about 34 MiB of table); past it the table starts again, empty.
    const MOST: usize = 1 << 20;

    /// True unless `digest` is the one `asset_id` was last left with.
    pub fn changes(&self, asset_id: i64, digest: &str) -> bool {
        let seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&asset_id).copied();
        seen.is_none() || seen != short(digest)
    }

    /// Remembers that `asset_id` was left with `digest`.
    pub fn record(&self, asset_id: i64, digest: &str) {
        let Some(short) = short(digest) else { return };
        let mut seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= Self::MOST && !seen.contains_key(&asset_id) {
            seen.clear();
        }
        seen.insert(asset_id, short);
    }
}

fn short(digest: &str) -> Option<u64> {
    digest.get(..16).and_then(|h| u64::from_str_radix(h, 16).ok())
}
