//! Applying one report: identify the asset, diff its components, record typed change events.
//!
//! Runs inside a savepoint of the writer's transaction: it lands whole or not at all. The steps,
//! each testable alone: [`already_applied`] (idempotency), [`identity::resolve`] (which asset),
//! [`identity::changes`] (status, name, drift), [`diff_components`], [`write::components`],
//! [`write::asset`], [`write::record`]. Every statement is parameterised.

pub mod identity;
pub mod write;

use assetkit_core::model::Report;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::components::{self, Diff};
use crate::domain::error::{Error, Result};
use crate::store::{Db, DbExt};

pub use identity::{AssetRow, Names, Policy, Via};

/// What happened to the asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new asset was discovered.
    Created,
    /// Something changed and was recorded.
    Updated,
    /// Nothing changed; only `last_seen` moved.
    Unchanged,
}

impl Action {
    /// As stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
        }
    }
    fn parse(s: &str) -> Action {
        match s {
            "created" => Action::Created,
            "updated" => Action::Updated,
            _ => Action::Unchanged,
        }
    }
}

/// The answer to a report; also what a retry of the same report_id gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The asset the report landed on.
    pub asset_id: i64,
    /// Created, updated or unchanged.
    pub action: Action,
    /// The hostname the host must store in its cert file.
    pub cert_hostname: Option<String>,
    /// Change events recorded by this report.
    pub changes: usize,
    /// True when this report_id had already been applied.
    pub duplicate: bool,
}

/// Test-only fault injection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Failpoint {
    /// Fail after half the component writes of every changing report.
    pub after_half_of_component_writes: bool,
    /// Panic while applying a report whose hostname starts with `panic-`.
    pub panic_on_hostname_prefix: bool,
    /// Kill the writer thread on its first batch.
    pub kill_writer_thread: bool,
}

/// The digest of everything an unchanged report would repeat.
pub fn digest(report: &Report) -> String {
    #[derive(Serialize)]
    struct Digested<'a> {
        facts: &'a assetkit_core::model::Facts,
        hostname: &'a Option<String>,
        cert_hostname: &'a Option<String>,
        errors: &'a [assetkit_core::model::PluginMessage],
    }
    let bytes = serde_json::to_vec(&Digested {
        facts: &report.facts,
        hostname: &report.host.hostname,
        cert_hostname: &report.host.cert_hostname,
        errors: &report.errors,
    })
    .unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// Applies `report` (whose raw JSON is `raw`) at time `now`.
pub fn apply(
    db: &mut dyn Db,
    report: &Report,
    raw: &str,
    policy: Policy,
    now: i64,
    failpoint: Option<Failpoint>,
) -> Result<Outcome> {
    if let Some(first) = already_applied(db, &report.report_id)? {
        return Ok(first);
    }
    if failpoint.is_some_and(|f| f.panic_on_hostname_prefix)
        && report.host.hostname.as_deref().is_some_and(|h| h.starts_with("panic-"))
    {
        panic!("failpoint: a report that panics the writer");
    }
    let names = Names::of(report, policy);
    let digest = digest(report);
    let Some((asset, via)) = identity::resolve(db, &names)? else {
        return discover(db, report, raw, &names, &digest, now);
    };
    tracing::debug!(asset_id = asset.id, via = ?via, report_id = %report.report_id, "report matched an asset");
    let change = identity::changes(db, &asset, report, &names)?;
    if change.events.is_empty() && asset.facts_digest.as_deref() == Some(digest.as_str()) {
        write::touch(db, &asset, report, names.current.as_deref(), now)?;
        write::remember(db, &report.report_id, asset.id, Action::Unchanged, change.hostname.as_deref(), now)?;
        return Ok(Outcome {
            asset_id: asset.id,
            action: Action::Unchanged,
            cert_hostname: change.hostname,
            changes: 0,
            duplicate: false,
        });
    }
    let diffs = diff_components(db, asset.id, report)?;
    write::components(db, asset.id, &diffs, failpoint)?;
    let mut events = change.events;
    events.extend(diffs.into_iter().flat_map(|(_, d)| d.events));
    for e in &events {
        write::record(db, asset.id, Some(&report.report_id), now, None, e)?;
    }
    let row = write::AssetColumns {
        hostname: change.hostname.as_deref(),
        current: names.current.as_deref(),
        serial: names.serial.as_deref(),
        status: &change.status,
        is_virtual: names.is_virtual,
        digest: &digest,
    };
    write::asset(db, asset.id, &row, report, raw, now)?;
    let action = if events.is_empty() { Action::Unchanged } else { Action::Updated };
    finish(db, report, asset.id, action, change.hostname, events.len(), now)
}

/// The first answer to `report_id`, if it was applied before.
pub fn already_applied(db: &mut dyn Db, report_id: &str) -> Result<Option<Outcome>> {
    let row = db.query_opt(
        "SELECT asset_id, action, cert_hostname FROM applied_reports WHERE report_id = ?1",
        crate::args![report_id],
    )?;
    Ok(match row {
        Some(r) => Some(Outcome {
            asset_id: r.get(0)?,
            action: Action::parse(&r.get::<String>(1)?),
            cert_hostname: r.get(2)?,
            changes: 0,
            duplicate: true,
        }),
        None => None,
    })
}

/// A host no asset matches: a new asset in `discovered`, with all its components.
fn discover(db: &mut dyn Db, report: &Report, raw: &str, names: &Names, digest: &str, now: i64) -> Result<Outcome> {
    let hostname = names.cert.clone().or_else(|| names.current.clone());
    if hostname.is_none() && names.serial.is_none() {
        return Err(Error::Unidentifiable);
    }
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
        digest,
    };
    write::asset(db, asset_id, &row, report, raw, now)?;
    let all: Vec<(&'static str, Diff)> = components::extract(&report.facts)
        .into_iter()
        .map(|(kind, list)| (kind, Diff { upserts: list, ..Diff::default() }))
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
    };
    write::record(db, asset_id, Some(&report.report_id), now, None, &event)?;
    finish(db, report, asset_id, Action::Created, hostname, 1, now)
}

/// The component diff of every kind the report carries against what is stored.
pub fn diff_components(db: &mut dyn Db, asset_id: i64, report: &Report) -> Result<Vec<(&'static str, Diff)>> {
    let new = components::extract(&report.facts);
    let old = write::load_components(db, asset_id)?;
    Ok(new
        .iter()
        .map(|(kind, list)| (*kind, components::diff(kind, old.get(*kind).map(Vec::as_slice).unwrap_or(&[]), list)))
        .collect())
}

/// Plugin errors replaced, the report id remembered with its answer, the outcome.
fn finish(
    db: &mut dyn Db,
    report: &Report,
    asset_id: i64,
    action: Action,
    cert_hostname: Option<String>,
    changes: usize,
    now: i64,
) -> Result<Outcome> {
    write::replace_errors(db, asset_id, report, now)?;
    write::remember(db, &report.report_id, asset_id, action, cert_hostname.as_deref(), now)?;
    Ok(Outcome { asset_id, action, cert_hostname, changes, duplicate: false })
}
