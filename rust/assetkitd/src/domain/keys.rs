//! API keys: created with a secret shown once, listed without it, revoked, looked up for
//! verification.

use serde::Serialize;

use crate::domain::error::{Error, Result};
use crate::store::{Db, DbExt, rfc3339};

/// Scopes a key may have.
pub const SCOPES: &[&str] = &["agent", "admin"];

/// An API key as listed (never with its secret).
#[derive(Debug, Serialize)]
pub struct KeyInfo {
    /// Key id.
    pub key_id: String,
    /// Name given at creation.
    pub name: String,
    /// agent or admin.
    pub scope: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, when revoked.
    pub revoked_at: Option<String>,
}

/// Creates a key; the secret is returned once.
pub fn create(db: &mut dyn Db, name: &str, scope: &str, now: i64) -> Result<(String, assetkit_sign::Secret)> {
    if !SCOPES.contains(&scope) {
        return Err(Error::invalid_field("scope", format!("scope must be one of {}", SCOPES.join(", "))));
    }
    if name.trim().is_empty() {
        return Err(Error::invalid_field("name", "a key needs a name (what uses it)"));
    }
    let key_id = format!("ak_{}", assetkit_sign::random_hex(8));
    let secret = assetkit_sign::Secret::generate();
    db.execute(
        "INSERT INTO api_keys (key_id, name, scope, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        crate::args![key_id.as_str(), name.trim(), scope, secret.expose(), now],
    )?;
    Ok((key_id, secret))
}

/// All keys, newest first.
pub fn list(db: &mut dyn Db) -> Result<Vec<KeyInfo>> {
    db.query("SELECT key_id, name, scope, created_at, revoked_at FROM api_keys ORDER BY created_at DESC, key_id", &[])?
        .iter()
        .map(|r| {
            Ok(KeyInfo {
                key_id: r.get(0)?,
                name: r.get(1)?,
                scope: r.get(2)?,
                created_at: rfc3339(r.get(3)?),
                revoked_at: r.get::<Option<i64>>(4)?.map(rfc3339),
            })
        })
        .collect()
}

/// Revokes a key; false when no such key exists or it was already revoked.
pub fn revoke(db: &mut dyn Db, key_id: &str, now: i64) -> Result<bool> {
    Ok(db.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL",
        crate::args![key_id, now],
    )? > 0)
}

/// A key as the verifier needs it.
pub struct StoredKey {
    /// The secret.
    pub secret: assetkit_sign::Secret,
    /// agent or admin.
    pub scope: String,
    /// Revoked keys are refused.
    pub revoked: bool,
}

/// Looks a key up for verification.
pub fn lookup(db: &mut dyn Db, key_id: &str) -> Result<Option<StoredKey>> {
    db.query_opt("SELECT secret, scope, revoked_at IS NOT NULL FROM api_keys WHERE key_id = ?1", crate::args![key_id])?
        .map(|r| {
            Ok(StoredKey {
                secret: assetkit_sign::Secret::new(r.get::<String>(0)?),
                scope: r.get(1)?,
                revoked: r.get(2)?,
            })
        })
        .transpose()
}
