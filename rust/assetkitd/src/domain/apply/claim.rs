//! Who may write the asset a report names: the step between finding the asset and changing it.
//!
//! A host credential writes its own asset only (its cert file naming another one is refused). A
//! fleet key, shared by the whole fleet, may write an asset only while no host has claimed it,
//! and only where that claim is its to make:
//! - an enrolled (or revoked) asset: only its own credential writes it (`host_enrolled`);
//! - a host entered by hand: only once an admin approves the claim, or pre-enrols the host
//!   (`approval_required`); the claim waits on the asset for the admin to see;
//! - a purchase-list asset: only by a report carrying its serial number (`serial_mismatch`).
//!
//! Every refusal writes nothing but a security event, counted on one row while it repeats.

use assetkit_core::model::Report;
use serde_json::json;

use super::answer::Answer;
use super::identity::{self, AssetRow, Names, Via};
use super::sender::{Context, Sender};
use crate::domain::changelog::{self, Event};
use crate::domain::error::{Error, Result};
use crate::store::Db;

/// Which asset a report is for, and whether its sender may write it.
pub enum Identified {
    /// This asset, found this way: the sender may write it.
    Asset(AssetRow, Via),
    /// No asset: the report makes a new one.
    New,
    /// The sender may not write the asset it named; only a security event was written.
    Refused(Answer),
}

/// Why a fleet key may not claim an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its own credential writes it.
    Enrolled,
    /// Entered by hand, waiting for an admin.
    Approval,
    /// From a purchase list with another serial number.
    Serial,
}

impl Refusal {
    /// The API's error code.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Enrolled => "host_enrolled",
            Refusal::Approval => "approval_required",
            Refusal::Serial => "serial_mismatch",
        }
    }
}

/// Whether a fleet-key report with these names may claim `asset`.
pub fn fleet_may_claim(asset: &AssetRow, names: &Names) -> std::result::Result<(), Refusal> {
    if asset.is_bound() {
        return Err(Refusal::Enrolled);
    }
    if asset.claim.as_deref() == Some("approval") {
        return Err(Refusal::Approval);
    }
    if asset.status == "in_stock"
        && let Some(bought) = asset.serial_number.as_deref()
        && names.serial.as_deref().is_none_or(|s| !s.eq_ignore_ascii_case(bought))
    {
        return Err(Refusal::Serial);
    }
    Ok(())
}

/// Finds the asset `report` is for and checks that its sender may write it.
pub fn identify(db: &mut dyn Db, report: &Report, names: &Names, ctx: &Context<'_>) -> Result<Identified> {
    match ctx.sender {
        Sender::Host { key_id, asset_id } => {
            let asset =
                identity::by_id(db, *asset_id)?.ok_or_else(|| Error::NotFound(format!("no asset {asset_id}")))?;
            if let Some(other) = identity::claimed_elsewhere(db, names, asset.id)? {
                let message = format!(
                    "refused: host credential {} claimed asset {} ({}) through its cert file; a credential writes its own asset only",
                    crate::log::clip(key_id),
                    other.id,
                    other.hostname.as_deref().unwrap_or("?")
                );
                security_event(db, asset.id, report, ctx, "credential_mismatch", &message)?;
                security_event(db, other.id, report, ctx, "credential_mismatch", &message)?;
                return Ok(Identified::Refused(Answer::Refused {
                    asset_id: asset.id,
                    code: "credential_mismatch",
                    message: format!(
                        "this credential belongs to asset {}, but the report's cert hostname names asset {}; nothing was written",
                        asset.id, other.id
                    ),
                }));
            }
            Ok(Identified::Asset(asset, Via::Credential))
        }
        Sender::Fleet { key_id } => match identity::resolve(db, names)? {
            None => Ok(Identified::New),
            Some((asset, via)) => match fleet_may_claim(&asset, names) {
                Ok(()) => Ok(Identified::Asset(asset, via)),
                Err(refusal) => refuse(db, report, names, ctx, key_id, &asset, refusal),
            },
        },
    }
}

fn refuse(
    db: &mut dyn Db,
    report: &Report,
    names: &Names,
    ctx: &Context<'_>,
    key_id: &str,
    asset: &AssetRow,
    refusal: Refusal,
) -> Result<Identified> {
    let id = asset.id;
    let shown = |v: Option<&str>| crate::log::clip(v.unwrap_or("-"));
    let claimed = format!(
        "a report signed with fleet key {} (hostname {}, cert hostname {}, serial {})",
        crate::log::clip(key_id),
        shown(names.current.as_deref()),
        shown(names.cert.as_deref()),
        shown(names.serial.as_deref()),
    );
    let (summary, message) = match refusal {
        Refusal::Enrolled => (
            format!("refused: {claimed} claimed this {} host; only its own credential may write it", asset.enrolment),
            format!(
                "asset {id} is enrolled: only its own credential writes it, and this report was signed with a fleet key; \
                 nothing was written. If the host was reinstalled or lost its credential, an admin runs \
                 `assetkitd hosts reenrol {id}`"
            ),
        ),
        Refusal::Approval => {
            let times = remember_claim(db, id, report, names, key_id, ctx.now)?;
            (
                format!("claim waiting for approval: {claimed} named this host, entered by hand"),
                format!(
                    "asset {id} was entered by hand: a fleet-key report claims it only once an admin approves the claim \
                     (`assetkitd hosts approve {id}`, or Approve on the console's Discovered page) or pre-enrols the \
                     host; nothing was written, and the claim waits for approval ({times} request(s) so far)"
                ),
            )
        }
        Refusal::Serial => (
            format!("refused: {claimed} named this purchase-list asset without its serial number"),
            format!(
                "asset {id} came from a purchase list with another serial number: a fleet-key report claims it only \
                 with that serial; nothing was written"
            ),
        ),
    };
    security_event(db, id, report, ctx, refusal.code(), &summary)?;
    Ok(Identified::Refused(Answer::Refused { asset_id: id, code: refusal.code(), message }))
}

/// Keeps the latest claim on a hand-entered asset for the admin to see; how many there were.
fn remember_claim(db: &mut dyn Db, id: i64, report: &Report, names: &Names, key_id: &str, now: i64) -> Result<i64> {
    let before: Option<String> = crate::store::DbExt::scalar_opt::<Option<String>>(
        db,
        "SELECT claim_request FROM assets WHERE id = ?1",
        crate::args![id],
    )?
    .flatten();
    let times = before
        .as_deref()
        .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
        .and_then(|v| v["count"].as_i64())
        .unwrap_or(0)
        + 1;
    let request = json!({
        "at": crate::store::rfc3339(now),
        "key_id": crate::log::clip(key_id),
        "hostname": names.current,
        "cert_hostname": names.cert,
        "serial_number": names.serial,
        "mode": report.agent.mode.as_str(),
        "count": times,
    });
    db.execute("UPDATE assets SET claim_request = ?2 WHERE id = ?1", crate::args![id, request.to_string()])?;
    Ok(times)
}

/// A refused report's security event on `asset_id`, one row while the same key is refused for
/// the same reason (the count grows on it).
fn security_event(
    db: &mut dyn Db,
    asset_id: i64,
    report: &Report,
    ctx: &Context<'_>,
    code: &str,
    summary: &str,
) -> Result<()> {
    let event = Event {
        component: "security".into(),
        key: String::new(),
        kind: "security",
        field: Some("credential".into()),
        old: Some(code.to_owned()),
        new: Some(crate::log::clip(ctx.sender.key_id())),
        summary: summary.to_owned(),
        replaced: false,
    };
    changelog::record_repeated(db, asset_id, Some(&report.report_id), ctx.now, None, &event).map(drop)
}
