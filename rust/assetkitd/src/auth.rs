//! Verifying signed requests: key lookup (with a short cache), timestamp window, signature in
//! constant time, scope. Replay (the nonce) is checked by the writer, atomically with the
//! write the request makes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use assetkit_sign::{HEADER_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, SignError};
use axum::http::{HeaderMap, Method, StatusCode, Uri};

use crate::api::ApiError;
use crate::server::AppState;
use crate::writer::NonceUse;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Send reports, read the pending host list.
    Agent,
    /// Everything.
    Admin,
}

impl Scope {
    fn allows(self, granted: &str) -> bool {
        match self {
            Scope::Agent => granted == "agent" || granted == "admin",
            Scope::Admin => granted == "admin",
        }
    }
}

/// How long a looked-up key is trusted before it is read again (bounds how long a revoked key
/// keeps working in a running server).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// A looked-up key: secret, scope, revoked.
type KeyEntry = Option<(assetkit_sign::Secret, String, bool)>;

/// Keys recently read from the store.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (Instant, KeyEntry)>>,
}

/// The caller, once verified.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key id.
    pub key_id: String,
    /// Its nonce, for the writer to record.
    pub nonce: NonceUse,
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| unauthorized(SignError::Missing(name).to_string()))
}

fn unauthorized(message: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// Verifies the request; returns the caller or the error to send.
pub async fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    need: Scope,
) -> Result<Caller, ApiError> {
    let key_id = header(headers, HEADER_KEY)?.to_owned();
    let timestamp: i64 =
        header(headers, HEADER_TIMESTAMP)?.parse().map_err(|_| unauthorized(SignError::BadTimestamp.to_string()))?;
    let nonce = header(headers, HEADER_NONCE)?.to_owned();
    let signature = header(headers, HEADER_SIGNATURE)?;
    assetkit_sign::check_timestamp(timestamp, crate::store::now(), state.config.window_secs)
        .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, "stale_timestamp", e.to_string()))?;
    assetkit_sign::check_nonce(&nonce).map_err(|e| unauthorized(e.to_string()))?;

    let key = lookup(state, &key_id).await?;
    let Some((secret, scope, revoked)) = key else {
        return Err(unauthorized(format!("unknown key {key_id}")));
    };
    if revoked {
        return Err(unauthorized(format!("key {key_id} is revoked")));
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    assetkit_sign::verify(&secret, method.as_str(), path, timestamp, &nonce, body, signature).map_err(|_| {
        ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", format!("signature mismatch for key {key_id}"))
    })?;
    if !need.allows(&scope) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("key {key_id} has scope {scope}, which does not allow this route"),
        ));
    }
    // Hex is case-insensitive: "AB.." and "ab.." are one nonce for replay purposes.
    Ok(Caller { key_id: key_id.clone(), nonce: NonceUse { key_id, nonce: nonce.to_ascii_lowercase(), ts: timestamp } })
}

async fn lookup(state: &AppState, key_id: &str) -> Result<KeyEntry, ApiError> {
    if let Some((at, entry)) = state.keys.entries.lock().expect("key cache lock").get(key_id)
        && at.elapsed() < KEY_CACHE_TTL
        && entry.is_some()
    {
        return Ok(entry.clone());
    }
    let pool = state.pool.clone();
    let id = key_id.to_owned();
    let found = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let conn = pool.get().map_err(ApiError::internal)?;
        crate::inventory::lookup_key(&conn, &id).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    let entry = found.map(|k| (k.secret, k.scope, k.revoked));
    let mut cache = state.keys.entries.lock().expect("key cache lock");
    if cache.len() > 10_000 {
        cache.clear();
    }
    cache.insert(key_id.to_owned(), (Instant::now(), entry.clone()));
    Ok(entry)
}
