//! What admins do with host credentials: allow a re-enrolment (a reinstalled host, a lost
//! credential), revoke a credential (a compromised host), pre-enrol a host before it is installed
//! (Cobbler), and read where an asset stands.

use serde::Serialize;

use crate::domain::changelog::record;
use crate::domain::components::Event;
use crate::domain::error::{Error, Result};
use crate::domain::inventory::{self, NewAsset};
use crate::domain::keys::{self, HostCredential};
use crate::store::secrets::Keyring;
use crate::store::{Db, DbExt, rfc3339};

/// Where an asset's credential stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// none, enrolled, reenrol or revoked.
    pub enrolment: String,
    /// The active host credential's key id (never its secret).
    pub key_id: Option<String>,
    /// When it was issued, RFC 3339.
    pub issued_at: Option<String>,
}

/// Where asset `id` stands; `None` if there is no such asset.
pub fn standing(db: &mut dyn Db, id: i64) -> Result<Option<Standing>> {
    let Some(enrolment) = db.scalar_opt::<String>("SELECT enrolment FROM assets WHERE id = ?1", crate::args![id])?
    else {
        return Ok(None);
    };
    let key = db.query_opt(
        "SELECT key_id, created_at FROM api_keys WHERE asset_id = ?1 AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 1",
        crate::args![id],
    )?;
    let (key_id, issued_at) = match key {
        Some(r) => (Some(r.get::<String>(0)?), Some(rfc3339(r.get(1)?))),
        None => (None, None),
    };
    Ok(Some(Standing { enrolment, key_id, issued_at }))
}

fn security(db: &mut dyn Db, id: i64, actor: &str, old: &str, new: &str, summary: String, now: i64) -> Result<()> {
    let event = Event::whole("security", "security", Some("enrolment"), Some(old), Some(new), summary);
    record(db, id, None, now, Some(actor), &event).map(drop)
}

fn current(db: &mut dyn Db, id: i64) -> Result<String> {
    db.scalar_opt::<String>("SELECT enrolment FROM assets WHERE id = ?1", crate::args![id])?
        .ok_or_else(|| Error::NotFound(format!("no asset {id}")))
}

/// Lets the next fleet-key report for asset `id` bind a new credential (the old one keeps
/// working until then).
pub fn allow_reenrolment(db: &mut dyn Db, id: i64, actor: &str, now: i64) -> Result<()> {
    let old = current(db, id)?;
    db.execute("UPDATE assets SET enrolment = 'reenrol' WHERE id = ?1", crate::args![id])?;
    security(
        db,
        id,
        actor,
        &old,
        "reenrol",
        format!("re-enrolment allowed by {actor}: the next report signed with a fleet key binds a new credential"),
        now,
    )
}

/// Approves the claim on a host entered by hand: the next report signed with a fleet key that
/// names it binds it (and enrols it). Whether it was waiting for approval (approving an asset
/// that waits for none changes nothing).
pub fn approve(db: &mut dyn Db, id: i64, actor: &str, now: i64) -> Result<bool> {
    let claim = db
        .query_opt("SELECT claim, claim_request FROM assets WHERE id = ?1", crate::args![id])?
        .ok_or_else(|| Error::NotFound(format!("no asset {id}")))?;
    let (claim, request): (Option<String>, Option<String>) = (claim.get(0)?, claim.get(1)?);
    if claim.as_deref() != Some("approval") {
        return Ok(false);
    }
    db.execute("UPDATE assets SET claim = NULL, claim_request = NULL WHERE id = ?1", crate::args![id])?;
    let from = request
        .as_deref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
        .map(|r| {
            format!(
                " (last request: {} via {})",
                r["hostname"].as_str().unwrap_or("-"),
                r["mode"].as_str().unwrap_or("-")
            )
        })
        .unwrap_or_default();
    security(
        db,
        id,
        actor,
        "approval",
        "approved",
        format!("claim approved by {actor}{from}: the next report signed with a fleet key binds this host"),
        now,
    )?;
    Ok(true)
}

/// Revokes asset `id`'s credentials: its reports get 401, and fleet keys cannot bind it until an
/// admin allows a re-enrolment. The number of credentials revoked.
pub fn revoke(db: &mut dyn Db, id: i64, actor: &str, now: i64) -> Result<u64> {
    let old = current(db, id)?;
    let n = keys::revoke_host_credentials(db, id, now)?;
    db.execute("UPDATE assets SET enrolment = 'revoked' WHERE id = ?1", crate::args![id])?;
    security(
        db,
        id,
        actor,
        &old,
        "revoked",
        format!("host credential revoked by {actor} ({n} key(s)): reports with it are refused until a re-enrolment"),
        now,
    )?;
    Ok(n)
}

/// Binds a credential to `hostname` before the host exists (an install system such as Cobbler
/// hands it to the host in `%post`): the asset is found by name or entered by hand, and any
/// earlier credential of it is revoked.
pub fn preenrol(
    db: &mut dyn Db,
    ring: &Keyring,
    input: &NewAsset,
    actor: &str,
    now: i64,
) -> Result<(i64, HostCredential)> {
    input.check()?;
    let hostname = input.hostname.as_str();
    let existing = crate::domain::apply::identity::by_name(db, hostname)?;
    let (id, old) = match existing {
        Some(a) => (a.id, a.enrolment),
        None => (inventory::create_asset(db, input, actor, now)?, "none".to_owned()),
    };
    let credential = keys::issue_host_credential(db, ring, id, now)?;
    security(
        db,
        id,
        actor,
        &old,
        "enrolled",
        format!("credential {} issued by {actor} before the host reported (pre-enrolment)", credential.key_id),
        now,
    )?;
    Ok((id, credential))
}
