//! Import previews waiting for "apply": bounded per user and in total, by count and by bytes.
//!
//! A preview is freed when it is applied, discarded, or [`TTL`] old. A user's new upload pushes
//! out that user's oldest previews when the user is over their bounds; when the server-wide
//! bounds are reached, the upload is refused until previews are applied, discarded or expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::import::Preview;

/// How long a preview waits.
pub const TTL: Duration = Duration::from_secs(30 * 60);
/// Previews one user may hold.
pub const MAX_PER_USER: usize = 4;
/// Bytes of previews one user may hold.
pub const MAX_BYTES_PER_USER: usize = 64 << 20;
/// Previews held in all.
pub const MAX_TOTAL: usize = 64;
/// Bytes of previews held in all.
pub const MAX_TOTAL_BYTES: usize = 256 << 20;

/// The server-wide bounds are reached.
#[derive(Debug, thiserror::Error)]
#[error(
    "too many import previews are waiting on this server ({count} previews, {bytes} bytes; limits {MAX_TOTAL} and \
     {MAX_TOTAL_BYTES}); apply or discard one, or retry within {} minutes",
    TTL.as_secs() / 60
)]
pub struct Full {
    count: usize,
    bytes: usize,
}

struct Pending {
    at: Instant,
    owner: String,
    bytes: usize,
    preview: Preview,
}

/// The waiting previews, by token.
#[derive(Default)]
pub struct Previews {
    pending: Mutex<HashMap<String, Pending>>,
}

/// Memory a preview holds, roughly: its strings plus a per-row overhead.
pub fn approx_bytes(p: &Preview) -> usize {
    let strings: usize = p.header.iter().map(String::len).sum::<usize>()
        + p.rows
            .iter()
            .map(|r| {
                96 + r.values.iter().map(|(k, v)| 64 + k.len() + v.len()).sum::<usize>()
                    + r.errors.iter().map(|e| 24 + e.len()).sum::<usize>()
            })
            .sum::<usize>();
    std::mem::size_of::<Preview>() + strings
}

impl Previews {
    /// Keeps `preview` for `owner`; returns its token and the preview (to render).
    pub fn insert(&self, owner: &str, preview: Preview) -> Result<(String, Preview), Full> {
        let bytes = approx_bytes(&preview);
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.at.elapsed() < TTL);
        // The user's own oldest previews make room first.
        loop {
            let mine: Vec<(&String, &Pending)> = pending.iter().filter(|(_, p)| p.owner == owner).collect();
            let my_bytes: usize = mine.iter().map(|(_, p)| p.bytes).sum();
            if mine.len() < MAX_PER_USER && my_bytes + bytes <= MAX_BYTES_PER_USER {
                break;
            }
            let Some(oldest) = mine.iter().min_by_key(|(_, p)| p.at).map(|(t, _)| (*t).clone()) else { break };
            pending.remove(&oldest);
        }
        let total: usize = pending.values().map(|p| p.bytes).sum();
        if pending.len() >= MAX_TOTAL || total + bytes > MAX_TOTAL_BYTES || bytes > MAX_BYTES_PER_USER {
            return Err(Full { count: pending.len(), bytes: total });
        }
        let token = assetkit_sign::random_hex(16);
        pending.insert(
            token.clone(),
            Pending { at: Instant::now(), owner: owner.to_owned(), bytes, preview: preview.clone() },
        );
        Ok((token, preview))
    }

    /// Takes the preview `token` of `owner` (applied or discarded); `None` if it expired, never
    /// existed or belongs to someone else.
    pub fn take(&self, token: &str, owner: &str) -> Option<Preview> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.at.elapsed() < TTL);
        if pending.get(token).is_some_and(|p| p.owner == owner) {
            return pending.remove(token).map(|p| p.preview);
        }
        None
    }

    /// Previews held and their bytes.
    pub fn usage(&self) -> (usize, usize) {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        (pending.len(), pending.values().map(|p| p.bytes).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview(rows: usize) -> Preview {
        let mut p = Preview { file: "f.csv".into(), ..Preview::default() };
        for i in 0..rows {
            let mut row = crate::domain::import::Row { line: i + 2, ..Default::default() };
            row.values.insert("serial_number".into(), format!("SN{i:08}"));
            p.rows.push(row);
        }
        p
    }

    #[test]
    fn per_user_bounds_push_out_the_users_oldest() {
        let previews = Previews::default();
        let tokens: Vec<String> =
            (0..MAX_PER_USER + 2).map(|_| previews.insert("alice", preview(10)).unwrap().0).collect();
        assert_eq!(previews.usage().0, MAX_PER_USER);
        assert!(previews.take(&tokens[0], "alice").is_none(), "the oldest was pushed out");
        assert!(previews.take(tokens.last().unwrap(), "bob").is_none(), "only the owner applies it");
        assert!(previews.take(tokens.last().unwrap(), "alice").is_some());
        assert!(previews.take(tokens.last().unwrap(), "alice").is_none(), "taken once");
    }

    #[test]
    fn server_wide_bounds_refuse_new_uploads() {
        let previews = Previews::default();
        for u in 0..MAX_TOTAL {
            previews.insert(&format!("user{u}"), preview(1)).unwrap();
        }
        let err = previews.insert("late", preview(1)).unwrap_err().to_string();
        assert!(err.contains("too many import previews"), "{err}");
    }
}
