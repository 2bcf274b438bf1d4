//! Verifying signed requests in two steps, so that no body is read for an unknown caller.
//!
//! 1. [`Signed`] (an extractor, before the body): the four headers are present and well-formed,
//!    the key id has the shape of a key id, the timestamp is inside the window, the key exists,
//!    is not revoked, and its scope allows the route.
//! 2. [`Signed::verify`] (after the body is read within its limit): the HMAC over method, path,
//!    timestamp, nonce and body digest, compared in constant time.
//!
//! Replay (the nonce) is checked by the writer, atomically with the write the request makes.
//! Key lookups are cached briefly; only keys that exist are cached, in a table of bounded size,
//! so unauthenticated requests with invented key ids cost a lookup each and no memory. Key ids
//! are never echoed into answers or logs.

use std::marker::PhantomData;

use assetkit_sign::{HEADER_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, SignError};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::http::error::ApiError;
use crate::http::keycache::KeyEntry;
use crate::http::request::{counted, read};
use crate::http::state::AppState;
use crate::store::NonceUse;

/// A route's required scope, as a type (`Signed<Report>`, `Signed<Read>`, `Signed<Admin>`):
/// the key scopes it admits.
pub trait RequiredScope: Send + Sync + 'static {
    /// Key scopes allowed on the route.
    const ALLOWED: &'static [&'static str];
}

/// `POST /reports`: the fleet key (enrolment), a host's own credential, an admin key.
pub struct Report;
/// Reading the inventory and its changes (Ansible and Salt inventories, exports, dashboards).
pub struct Read;
/// Routes for people and their scripts.
pub struct Admin;

impl RequiredScope for Report {
    const ALLOWED: &'static [&'static str] = &["agent", "host", "admin"];
}
impl RequiredScope for Read {
    const ALLOWED: &'static [&'static str] = &["read", "admin"];
}
impl RequiredScope for Admin {
    const ALLOWED: &'static [&'static str] = &["admin"];
}

/// Longest key id accepted.
pub const MAX_KEY_ID: usize = 64;

/// The caller, once verified.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key id.
    pub key_id: String,
    /// The key's scope.
    pub scope: String,
    /// The asset a host credential is bound to.
    pub asset_id: Option<i64>,
    /// Its nonce, for the writer to record.
    pub nonce: NonceUse,
}

/// A request whose headers, key and scope were checked; its body is not verified yet.
pub struct Signed<S> {
    presented: Presented,
    key: KeyEntry,
    method: String,
    path_and_query: String,
    _scope: PhantomData<S>,
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

/// A key id is short and plain: checked before any lookup or log line.
pub fn valid_key_id(key_id: &str) -> bool {
    (1..=MAX_KEY_ID).contains(&key_id.len())
        && key_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl<S: RequiredScope> FromRequestParts<AppState> for Signed<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match check_headers::<S>(parts, state).await {
            Ok(signed) => Ok(signed),
            Err(e) => Err(counted::<()>(state, Err(e))),
        }
    }
}

/// The signature headers as presented, checked for shape and the timestamp window (pure: no
/// lookup, no clock of its own; fuzzed in `fuzz/fuzz_targets/signed_request.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// Key id, of the shape [`valid_key_id`] accepts.
    pub key_id: String,
    /// Unix seconds, within the window around `now`.
    pub timestamp: i64,
    /// 32 to 128 hex digits.
    pub nonce: String,
    /// At most 128 characters (a SHA-256 HMAC is 64 hex digits).
    pub signature: String,
}

/// Reads and checks the four signature headers.
pub fn presented(headers: &HeaderMap, now: i64, window_secs: i64) -> Result<Presented, ApiError> {
    let key_id = header(headers, HEADER_KEY)?;
    if !valid_key_id(key_id) {
        return Err(unauthorized(format!(
            "{HEADER_KEY} is not a key id (1 to {MAX_KEY_ID} letters, digits, '_', '-', '.')"
        )));
    }
    let timestamp: i64 =
        header(headers, HEADER_TIMESTAMP)?.parse().map_err(|_| unauthorized(SignError::BadTimestamp.to_string()))?;
    let nonce = header(headers, HEADER_NONCE)?;
    let signature = header(headers, HEADER_SIGNATURE)?;
    if signature.len() > 128 {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", "signature mismatch"));
    }
    assetkit_sign::check_timestamp(timestamp, now, window_secs)
        .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, "stale_timestamp", e.to_string()))?;
    assetkit_sign::check_nonce(nonce).map_err(|e| unauthorized(e.to_string()))?;
    Ok(Presented { key_id: key_id.to_owned(), timestamp, nonce: nonce.to_owned(), signature: signature.to_owned() })
}

impl Presented {
    /// Checks the HMAC over the request in constant time.
    pub fn verify(
        &self,
        secret: &assetkit_sign::Secret,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<(), ApiError> {
        assetkit_sign::verify(secret, method, path_and_query, self.timestamp, &self.nonce, body, &self.signature)
            .map_err(|_| ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", "signature mismatch"))
    }
}

async fn check_headers<S: RequiredScope>(parts: &Parts, state: &AppState) -> Result<Signed<S>, ApiError> {
    let presented = presented(&parts.headers, crate::store::now(), state.config.window_secs)?;
    let Some(key) = lookup(state, &presented.key_id).await? else {
        return Err(unauthorized("unknown key".to_owned()));
    };
    if key.revoked {
        let code = if key.scope == "host" { "credential_revoked" } else { "unauthorized" };
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, code, "this key is revoked"));
    }
    if !S::ALLOWED.contains(&key.scope.as_str()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this key has scope {}, which does not allow this route", key.scope),
        ));
    }
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    Ok(Signed { presented, key, method: parts.method.as_str().to_owned(), path_and_query, _scope: PhantomData })
}

impl<S> Signed<S> {
    /// The key id the request names and whether it is a host credential, before the signature
    /// is checked: only for decisions that take nothing from that key (the budget pre-check).
    pub fn claimed(&self) -> (&str, bool) {
        (&self.presented.key_id, self.key.scope == "host")
    }

    /// Checks the signature over the body; returns the caller.
    pub fn verify(self, body: &[u8]) -> Result<Caller, ApiError> {
        self.presented.verify(&self.key.secret, &self.method, &self.path_and_query, body)?;
        let Presented { key_id, timestamp, nonce, .. } = self.presented;
        // Hex is case-insensitive: "AB.." and "ab.." are one nonce for replay purposes.
        let nonce = NonceUse { key_id: key_id.clone(), nonce: nonce.to_ascii_lowercase(), ts: timestamp };
        Ok(Caller { key_id, scope: self.key.scope, asset_id: self.key.asset_id, nonce })
    }
}

async fn lookup(state: &AppState, key_id: &str) -> Result<Option<KeyEntry>, ApiError> {
    if let Some(entry) = state.keys.get(key_id) {
        return Ok(Some(entry));
    }
    let id = key_id.to_owned();
    let ring = state.keyring.clone();
    let found = read(state, move |db| crate::domain::keys::lookup(db, &ring, &id)).await?;
    if let Some(entry) = &found {
        state.keys.put(key_id, entry.clone());
    }
    Ok(found)
}

/// Signed GET: verifies (an empty body) and records the nonce.
pub(crate) async fn signed_get<S>(state: &AppState, signed: Signed<S>) -> Result<Caller, ApiError> {
    let caller = signed.verify(b"")?;
    state.writer.nonce(caller.nonce.clone()).await?;
    Ok(caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_bounded_before_lookup() {
        assert!(valid_key_id("ak_0123456789abcdef"));
        assert!(!valid_key_id(""));
        assert!(!valid_key_id(&"a".repeat(65)));
        assert!(!valid_key_id("ak_x\n"));
        assert!(!valid_key_id("ak x"));
    }
}
