//! Keys recently read from the store, for the signature check: only keys that exist are kept, in
//! a table of bounded size, for [`KEY_CACHE_TTL`] at most (a revoked key's writes are refused in
//! their own transaction whatever this holds).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a looked-up key is trusted before it is read again (bounds how long a revoked key
/// keeps working in a running server).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// Most keys cached at once.
pub const KEY_CACHE_MAX: usize = 100_000;

/// A looked-up key.
pub type KeyEntry = crate::domain::keys::StoredKey;

/// Keys recently read from the store (existing keys only).
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (Instant, KeyEntry)>>,
}

impl KeyCache {
    /// The cached key, if it was read less than [`KEY_CACHE_TTL`] ago.
    pub fn get(&self, key_id: &str) -> Option<KeyEntry> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key_id).filter(|(at, _)| at.elapsed() < KEY_CACHE_TTL).map(|(_, e)| e.clone())
    }

    /// Caches a key read from the store (unless the table is full of fresh entries).
    pub fn put(&self, key_id: &str, entry: KeyEntry) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= KEY_CACHE_MAX && !entries.contains_key(key_id) {
            entries.retain(|_, (at, _)| at.elapsed() < KEY_CACHE_TTL);
            if entries.len() >= KEY_CACHE_MAX {
                return;
            }
        }
        entries.insert(key_id.to_owned(), (Instant::now(), entry));
    }

    /// Drops the cached credentials of an asset (after a revocation: they stop at once here,
    /// and within [`KEY_CACHE_TTL`] on other servers).
    pub fn forget_asset(&self, asset_id: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (_, k)| k.asset_id != Some(asset_id));
    }

    /// Keys cached now.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded() {
        let cache = KeyCache::default();
        let entry = crate::domain::keys::StoredKey {
            secret: assetkit_sign::Secret::new("s"),
            scope: "agent".to_owned(),
            asset_id: None,
            revoked: false,
        };
        for i in 0..KEY_CACHE_MAX + 10 {
            cache.put(&format!("k{i}"), entry.clone());
        }
        assert_eq!(cache.len(), KEY_CACHE_MAX);
        assert!(cache.get("k0").is_some());
    }
}
