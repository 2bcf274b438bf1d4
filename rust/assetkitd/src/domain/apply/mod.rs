//! Applying one report: identify the asset, diff its components, record typed change events.
//!
//! Runs inside a savepoint of the writer's transaction: it lands whole or not at all. The steps,
//! each testable alone: [`already_applied`] (idempotency, bound to sender and body),
//! [`identify`] (which asset, and whether this sender may write it), [`identity::changes`]
//! (status, name, drift), [`diff_components`], [`write::components`], [`write::asset`],
//! [`write::record`], [`enrol`]. Every statement is parameterised.
//!
//! The trust model: a fleet key (scope `agent`) may create an asset, or bind one that has no
//! credential yet (or that an admin marked for re-enrolment); the answer then carries the
//! host's own credential. From then on only that credential writes the asset. A fleet-key report
//! that resolves to an enrolled asset changes nothing: it is refused (403 `host_enrolled`) and
//! recorded as a security event on that asset. A host credential writes its own asset only.

pub mod answer;
pub mod budget;
pub mod claim;
pub mod identity;
pub mod last_digests;
pub mod prepared;
pub mod sender;
pub mod write;

use std::collections::BTreeMap;

use assetkit_core::model::Report;

use crate::domain::changelog;
use crate::domain::components::{self, Diff};
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::software;
use crate::store::{Db, DbExt};

pub use answer::{Action, Answer, Issued, Outcome};
pub use claim::Identified;
pub use identity::{AssetRow, Names, Policy, Via};
pub use last_digests::LastDigests;
pub use prepared::Prepared;
pub use sender::{Context, Failpoint, Sender};

/// What applying `report` from `sender` must not interleave with, as writer lock names: its
/// report id, every name and serial it could be matched by, and the asset its credential writes.
/// Two reports that could resolve to the same asset (or create it) share a name, so replicas
/// apply them one after the other and a host is never created twice.
///
/// A report that sends packages (a list or a delta) moves the fleet's per-package host counts,
/// rows that the same upgrade on many hosts touches in every batch: such reports also share the
/// lock `packages`, so that two replicas' batches never take those rows in opposite orders
/// (a deadlock, answered 503 to every report of both batches).
pub fn locks(report: &Report, sender: &Sender) -> Vec<String> {
    let names = Names::of(report, Policy::Sn);
    let mut locks = vec![format!("report:{}", report.report_id)];
    locks.extend([names.current, names.cert].into_iter().flatten().map(|n| format!("name:{}", n.to_lowercase())));
    locks.extend(names.serial.map(|s| format!("serial:{s}")));
    if let Sender::Host { asset_id, .. } = sender {
        locks.push(format!("asset:{asset_id}"));
    }
    if report.facts.packages.is_some() || report.facts.packages_delta.is_some() {
        locks.push("packages".to_owned());
    }
    locks
}

/// Applies a prepared report.
pub fn apply(db: &mut dyn Db, prepared: &Prepared, ctx: &Context<'_>) -> Result<Answer> {
    let report = &prepared.report;
    keys::check_active(db, ctx.sender.key_id())?;
    if let Some(first) = already_applied(db, report, ctx)? {
        return Ok(Answer::Applied(first));
    }
    if ctx.failpoint.is_some_and(|f| f.panic_on_hostname_prefix)
        && report.host.hostname.as_deref().is_some_and(|h| h.starts_with("panic-"))
    {
        panic!("failpoint: a report that panics the writer");
    }
    let names = Names::of(report, ctx.policy);
    let (sent, digest) = (prepared.sent(), prepared.digest.as_str());
    let (asset, via) = match claim::identify(db, report, &names, ctx)? {
        Identified::Asset(asset, via) => (asset, via),
        Identified::New => return discover(db, prepared, &names, ctx),
        Identified::Refused(answer) => return Ok(answer),
    };
    tracing::debug!(asset_id = asset.id, via = ?via, report_id = %report.report_id, "report matched an asset");
    let change = identity::changes(db, &asset, report, &names)?;
    if change.events.is_empty() && asset.facts_digest.as_deref() == Some(digest) {
        return same_hardware(db, report, &asset, &names, change.hostname, sent, ctx);
    }
    // First: a digest alone that is not the stored set's refuses the report (409), and one
    // event for a report's package changes is not lost in the budget's sum.
    let mut events: Vec<changelog::Event> =
        software::store::apply(db, asset.id, asset.packages_digest.as_deref(), sent)?.into_iter().collect();
    let diffs = diff_components(db, asset.id, prepared.components())?;
    write::components(db, asset.id, &diffs, ctx.failpoint)?;
    events.extend(change.events);
    events.extend(diffs.into_iter().flat_map(|(_, d)| d.events));
    let row = write::AssetColumns {
        hostname: change.hostname.as_deref(),
        current: names.current.as_deref(),
        serial: names.serial.as_deref(),
        status: &change.status,
        is_virtual: names.is_virtual,
        digest,
    };
    write::asset(db, asset.id, &row, report, prepared.kept(), ctx.now)?;
    events.extend(crate::domain::guests::apply(db, asset.id, report, ctx.now)?);
    // After the asset row: webhooks filter on, and carry, the asset as this report leaves it.
    let alerts = changelog::record_report(db, asset.id, &report.report_id, ctx.now, &events, ctx.budget)?;
    let action = if events.is_empty() { Action::Unchanged } else { Action::Updated };
    finish(db, report, asset.id, action, change.hostname, (events.len(), alerts), ctx)
}

/// A report whose names, hardware and errors are what is stored (the facts digest): the asset
/// is seen, its guests' rows refreshed, and its package changes, if any, stored as one event.
/// The hardware is not diffed again, and the raw report kept with the asset stays the last one
/// that changed something else.
fn same_hardware(
    db: &mut dyn Db,
    report: &Report,
    asset: &AssetRow,
    names: &Names,
    cert_hostname: Option<String>,
    sent: software::Sent<'_>,
    ctx: &Context<'_>,
) -> Result<Answer> {
    let events: Vec<changelog::Event> =
        software::store::apply(db, asset.id, asset.packages_digest.as_deref(), sent)?.into_iter().collect();
    write::touch(db, asset, report, names.current.as_deref(), ctx.now)?;
    crate::domain::guests::refresh(db, asset.id, report, ctx.now)?;
    let (action, alerts) = if events.is_empty() {
        (Action::Unchanged, 0)
    } else {
        (Action::Updated, changelog::record_report(db, asset.id, &report.report_id, ctx.now, &events, ctx.budget)?)
    };
    let credential = enrol(db, asset.id, report, ctx)?;
    write::remember(db, report, asset.id, action, cert_hostname.as_deref(), ctx, credential.as_ref())?;
    Ok(Answer::Applied(Outcome {
        asset_id: asset.id,
        action,
        cert_hostname,
        changes: events.len(),
        duplicate: false,
        alerts,
        credential,
    }))
}

/// A fleet-key report that wrote an asset binds it: the asset gets its own credential, and the
/// answer carries it. A host credential's report binds nothing new.
pub fn enrol(db: &mut dyn Db, asset_id: i64, report: &Report, ctx: &Context<'_>) -> Result<Option<Issued>> {
    match ctx.sender {
        Sender::Host { .. } => Ok(None),
        Sender::Fleet { .. } => {
            let credential = keys::issue_host_credential(db, ctx.ring, asset_id, ctx.now)?;
            Issued::deliver(credential, report, false).map(Some)
        }
    }
}

/// The first answer to the report's id, if it was applied before: only for the same sender and
/// the same body (anything else is a conflict, never another host's answer).
pub fn already_applied(db: &mut dyn Db, report: &Report, ctx: &Context<'_>) -> Result<Option<Outcome>> {
    let Some(r) = db.query_opt(
        "SELECT asset_id, action, cert_hostname, key_id, body_digest, host_key_id FROM applied_reports WHERE report_id = ?1",
        crate::args![report.report_id.as_str()],
    )?
    else {
        return Ok(None);
    };
    let (key_id, body_digest, host_key_id): (Option<String>, Option<String>, Option<String>) =
        (r.get(3)?, r.get(4)?, r.get(5)?);
    // The same sender with the same body, or the credential that report issued (the host
    // retrying a report whose answer it already acted on: it sends it without the enrolment key
    // now, so the body differs, and it needs no credential). Ids remembered before senders were
    // recorded carry no binding; they age out in 30 days.
    let sender = ctx.sender.key_id();
    let by_issued = host_key_id.as_deref() == Some(sender);
    let same_sender = key_id.as_deref().is_none_or(|k| k == sender);
    if !by_issued && (!same_sender || body_digest.is_some_and(|d| d != ctx.body_digest)) {
        return Err(Error::ReportIdConflict(crate::log::clip(&report.report_id)));
    }
    // The fleet key is shared and reports are readable (read keys, the console), so the same
    // bytes may come from a copier: the credential is only ever repeated sealed to the
    // enrolment key in those bytes, which only the enrolling host can open.
    let credential = match host_key_id {
        Some(k) if !by_issued => {
            keys::host_credential(db, ctx.ring, &k)?.map(|c| Issued::deliver(c, report, true)).transpose()?
        }
        _ => None,
    };
    Ok(Some(Outcome {
        asset_id: r.get(0)?,
        action: Action::parse(&r.get::<String>(1)?),
        cert_hostname: r.get(2)?,
        changes: 0,
        duplicate: true,
        alerts: 0,
        credential,
    }))
}

/// A host no asset matches: a new asset in `discovered`, with all its components.
fn discover(db: &mut dyn Db, prepared: &Prepared, names: &Names, ctx: &Context<'_>) -> Result<Answer> {
    let (report, sent, now) = (&prepared.report, prepared.sent(), ctx.now);
    software::store::check(db, None, sent)?;
    let hostname = names.cert.clone().or_else(|| names.current.clone());
    if hostname.is_none() && names.serial.is_none() {
        return Err(Error::Unidentifiable);
    }
    budget::check(db, ctx.sender.key_id(), now, ctx.new_assets)?;
    let asset_id: i64 = db.scalar(
        "INSERT INTO assets (status, source, created_at, updated_at) VALUES ('discovered', 'report', ?1, ?1) RETURNING id",
        crate::args![now],
    )?;
    let row = write::AssetColumns {
        hostname: hostname.as_deref(),
        current: names.current.as_deref(),
        serial: names.serial.as_deref(),
        status: "discovered",
        is_virtual: names.is_virtual,
        digest: &prepared.digest,
    };
    write::asset(db, asset_id, &row, report, prepared.kept(), now)?;
    let all: Vec<(&'static str, Diff)> = prepared
        .components()
        .iter()
        .map(|(kind, reported)| (*kind, Diff { upserts: reported.components.clone(), ..Diff::default() }))
        .collect();
    write::components(db, asset_id, &all, None)?;
    let via_text = if names.cert.is_some() && names.cert != names.current { " (cert file name)" } else { "" };
    let mode = report.agent.mode.as_str();
    let shown = hostname.as_deref().or(names.serial.as_deref()).unwrap_or("?");
    let event = components::Event {
        component: "asset".into(),
        key: String::new(),
        kind: "added",
        field: None,
        old: None,
        new: hostname.clone(),
        summary: format!("asset discovered: {shown}{via_text}, via {mode}"),
        replaced: false,
    };
    let mut events = vec![event];
    events.extend(software::store::apply(db, asset_id, None, sent)?);
    events.extend(crate::domain::guests::apply(db, asset_id, report, now)?);
    let alerts = changelog::record_all(db, asset_id, Some(&report.report_id), now, None, &events)?;
    finish(db, report, asset_id, Action::Created, hostname, (events.len(), alerts), ctx)
}

/// The component diff of every kind the report carries against what is stored. A kind whose
/// stored texts are the reported ones is unchanged without parsing them; only the others are
/// read back into components and diffed.
pub fn diff_components(
    db: &mut dyn Db,
    asset_id: i64,
    reported: &BTreeMap<&'static str, components::Reported>,
) -> Result<Vec<(&'static str, Diff)>> {
    let stored = write::load_stored(db, asset_id)?;
    Ok(reported
        .iter()
        .map(|(kind, new)| {
            let rows = stored.get(*kind).map(Vec::as_slice).unwrap_or(&[]);
            if new.is_stored(rows) {
                return (*kind, Diff::default());
            }
            let old: Vec<components::Component> =
                rows.iter().map(|(key, data)| write::stored_component(kind, key, data)).collect();
            (*kind, components::diff(kind, &old, &new.components))
        })
        .collect())
}

/// Plugin errors replaced, the asset enrolled (fleet key), the report id remembered with its
/// answer, the outcome.
fn finish(
    db: &mut dyn Db,
    report: &Report,
    asset_id: i64,
    action: Action,
    cert_hostname: Option<String>,
    (changes, alerts): (usize, usize),
    ctx: &Context<'_>,
) -> Result<Answer> {
    write::replace_errors(db, asset_id, report, ctx.now)?;
    let credential = enrol(db, asset_id, report, ctx)?;
    write::remember(db, report, asset_id, action, cert_hostname.as_deref(), ctx, credential.as_ref())?;
    Ok(Answer::Applied(Outcome { asset_id, action, cert_hostname, changes, duplicate: false, alerts, credential }))
}
