//! API keys and host credentials: created with a secret shown once, stored sealed under the
//! server key, listed without it, revoked, looked up for verification.
//!
//! Scopes: `agent` (the fleet key: sends reports, but may only *enrol* a host), `host` (a
//! credential bound to one asset: the only key that writes it), `admin` (people and scripts),
//! `read` (GET the inventory).

use assetkit_sign::Secret;
use serde::Serialize;

use crate::domain::error::{Error, Result};
use crate::store::secrets::{Keyring, SEALED};
use crate::store::{Db, DbError, DbErrorKind, DbExt, rfc3339};

/// Scopes an admin may create keys with (host credentials are issued by enrolment).
pub const SCOPES: &[&str] = &["agent", "admin", "read"];

/// An API key as listed (never with its secret).
#[derive(Debug, Serialize)]
pub struct KeyInfo {
    /// Key id.
    pub key_id: String,
    /// Name given at creation.
    pub name: String,
    /// agent, admin, read or host.
    pub scope: String,
    /// The asset a host credential belongs to.
    pub asset_id: Option<i64>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, when revoked.
    pub revoked_at: Option<String>,
}

/// A host's own credential, as issued (the secret is shown to the host once).
#[derive(Debug, Clone)]
pub struct HostCredential {
    /// `hk_...`.
    pub key_id: String,
    /// The secret.
    pub secret: Secret,
}

fn sealing_failed(e: impl std::fmt::Display) -> Error {
    Error::from(DbError::new(DbErrorKind::Other, e.to_string()))
}

/// Creates a key; the secret is returned once and stored sealed.
pub fn create(db: &mut dyn Db, ring: &Keyring, name: &str, scope: &str, now: i64) -> Result<(String, Secret)> {
    if !SCOPES.contains(&scope) {
        return Err(Error::invalid_field("scope", format!("scope must be one of {}", SCOPES.join(", "))));
    }
    if name.trim().is_empty() || name.len() > 200 {
        return Err(Error::invalid_field("name", "a key needs a name of 1 to 200 characters (what uses it)"));
    }
    let key_id = format!("ak_{}", assetkit_sign::random_hex(8));
    let secret = Secret::generate();
    db.execute(
        "INSERT INTO api_keys (key_id, name, scope, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        crate::args![key_id.as_str(), name.trim(), scope, ring.seal(&key_id, secret.expose()), now],
    )?;
    Ok((key_id, secret))
}

/// Issues a new credential for `asset_id`, revoking its earlier ones, and marks the asset
/// enrolled.
pub fn issue_host_credential(db: &mut dyn Db, ring: &Keyring, asset_id: i64, now: i64) -> Result<HostCredential> {
    db.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE asset_id = ?1 AND revoked_at IS NULL",
        crate::args![asset_id, now],
    )?;
    let key_id = format!("hk_{}", assetkit_sign::random_hex(8));
    let secret = Secret::generate();
    db.execute(
        "INSERT INTO api_keys (key_id, name, scope, secret, asset_id, created_at) VALUES (?1, ?2, 'host', ?3, ?4, ?5)",
        crate::args![key_id.as_str(), format!("host {asset_id}"), ring.seal(&key_id, secret.expose()), asset_id, now],
    )?;
    db.execute("UPDATE assets SET enrolment = 'enrolled' WHERE id = ?1", crate::args![asset_id])?;
    Ok(HostCredential { key_id, secret })
}

/// The secret of an issued host credential (to answer a retried enrolment the same way).
pub fn host_credential(db: &mut dyn Db, ring: &Keyring, key_id: &str) -> Result<Option<HostCredential>> {
    let Some(sealed) = db.scalar_opt::<String>(
        "SELECT secret FROM api_keys WHERE key_id = ?1 AND scope = 'host' AND revoked_at IS NULL",
        crate::args![key_id],
    )?
    else {
        return Ok(None);
    };
    let secret = ring.open_sealed(key_id, &sealed).map_err(sealing_failed)?;
    Ok(Some(HostCredential { key_id: key_id.to_owned(), secret: Secret::new(secret) }))
}

/// Revokes every credential of an asset; how many were active.
pub fn revoke_host_credentials(db: &mut dyn Db, asset_id: i64, now: i64) -> Result<u64> {
    Ok(db.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE asset_id = ?1 AND revoked_at IS NULL",
        crate::args![asset_id, now],
    )?)
}

/// All API keys, newest first. Host credentials (one per asset, thousands of them) are not
/// listed here: each asset shows its own.
pub fn list(db: &mut dyn Db) -> Result<Vec<KeyInfo>> {
    db.query(
        "SELECT key_id, name, scope, asset_id, created_at, revoked_at FROM api_keys WHERE scope <> 'host' \
         ORDER BY created_at DESC, key_id",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(KeyInfo {
            key_id: r.get(0)?,
            name: r.get(1)?,
            scope: r.get(2)?,
            asset_id: r.get(3)?,
            created_at: rfc3339(r.get(4)?),
            revoked_at: r.get::<Option<i64>>(5)?.map(rfc3339),
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

/// Refuses a key revoked (or replaced) since it was looked up: checked inside the write's own
/// transaction, so a revocation holds at once on every server, whatever their key caches hold.
pub fn check_active(db: &mut dyn Db, key_id: &str) -> Result<()> {
    let row = db.query_opt("SELECT scope, revoked_at IS NULL FROM api_keys WHERE key_id = ?1", crate::args![key_id])?;
    match row {
        Some(r) if r.get::<bool>(1)? => Ok(()),
        Some(r) => Err(Error::KeyRevoked { host: r.get::<String>(0)? == "host" }),
        None => Err(Error::KeyRevoked { host: false }),
    }
}

/// A key as the verifier needs it.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// The secret, opened.
    pub secret: Secret,
    /// agent, admin, read or host.
    pub scope: String,
    /// The asset a host credential may write.
    pub asset_id: Option<i64>,
    /// Revoked keys are refused.
    pub revoked: bool,
}

/// Looks a key up for verification. A secret that does not open with the server key (another
/// key file, a copied database) makes the key unusable: `None`, logged.
pub fn lookup(db: &mut dyn Db, ring: &Keyring, key_id: &str) -> Result<Option<StoredKey>> {
    let Some(r) = db.query_opt(
        "SELECT secret, scope, asset_id, revoked_at IS NOT NULL FROM api_keys WHERE key_id = ?1",
        crate::args![key_id],
    )?
    else {
        return Ok(None);
    };
    let sealed: String = r.get(0)?;
    let secret = match ring.open_sealed(key_id, &sealed) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "a key's secret does not open; the key is refused");
            return Ok(None);
        }
    };
    Ok(Some(StoredKey { secret: Secret::new(secret), scope: r.get(1)?, asset_id: r.get(2)?, revoked: r.get(3)? }))
}

/// Seals secrets an older version stored in plain text; how many.
pub fn seal_plaintext(db: &mut dyn Db, ring: &Keyring) -> Result<usize> {
    let rows = db.query("SELECT key_id, secret FROM api_keys WHERE secret NOT LIKE 'sealed:v1:%'", &[])?;
    for r in &rows {
        let (key_id, plain): (String, String) = (r.get(0)?, r.get(1)?);
        debug_assert!(!plain.starts_with(SEALED));
        db.execute(
            "UPDATE api_keys SET secret = ?2 WHERE key_id = ?1",
            crate::args![key_id.as_str(), ring.seal(&key_id, &plain)],
        )?;
    }
    Ok(rows.len())
}

/// Re-seals every secret with the keyring's newest key (a rotation); how many.
pub fn reseal_all(db: &mut dyn Db, ring: &Keyring) -> Result<usize> {
    let rows = db.query("SELECT key_id, secret FROM api_keys", &[])?;
    for r in &rows {
        let (key_id, sealed): (String, String) = (r.get(0)?, r.get(1)?);
        let plain = if sealed.starts_with(SEALED) {
            ring.open_sealed(&key_id, &sealed).map_err(sealing_failed)?
        } else {
            sealed
        };
        db.execute(
            "UPDATE api_keys SET secret = ?2 WHERE key_id = ?1",
            crate::args![key_id.as_str(), ring.seal(&key_id, &plain)],
        )?;
    }
    Ok(rows.len() + crate::domain::webhooks::reseal(db, ring)?)
}
