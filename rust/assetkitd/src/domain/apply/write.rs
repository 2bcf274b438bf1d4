//! The writes of one report: components, the asset row and its raw report, change events, plugin
//! errors, the remembered answer.

use std::collections::BTreeMap;

use assetkit_core::model::Report;

use super::answer::{Action, Issued};
use super::identity::AssetRow;
use super::sender::{Context, Failpoint};
use crate::domain::components::{self, Component, Diff};
use crate::domain::error::{Error, Result};
use crate::store::Db;

/// Applies the diffs' deletes and upserts. The test-only failpoint fails halfway.
pub fn components(
    db: &mut dyn Db,
    asset_id: i64,
    diffs: &[(&'static str, Diff)],
    failpoint: Option<Failpoint>,
) -> Result<()> {
    let writes: usize = diffs.iter().map(|(_, d)| d.upserts.len() + d.deletes.len()).sum();
    let fail_at = failpoint.filter(|f| f.after_half_of_component_writes && writes > 0).map(|_| writes.div_ceil(2));
    let mut done = 0usize;
    let mut step = || {
        done += 1;
        if fail_at == Some(done) { Err(Error::Failpoint(done)) } else { Ok(()) }
    };
    for (kind, d) in diffs {
        for key in &d.deletes {
            db.execute(
                "DELETE FROM components WHERE asset_id = ?1 AND kind = ?2 AND key = ?3",
                crate::args![asset_id, *kind, key.as_str()],
            )?;
            step()?;
        }
        for c in &d.upserts {
            db.execute(
                "INSERT INTO components (asset_id, kind, key, data) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (asset_id, kind, key) DO UPDATE SET data = excluded.data",
                crate::args![asset_id, c.kind, c.key.as_str(), serde_json::Value::Object(c.data.clone()).to_string()],
            )?;
            step()?;
        }
    }
    Ok(())
}

/// What a changing report writes into the asset row.
pub struct AssetColumns<'a> {
    /// Authoritative hostname.
    pub hostname: Option<&'a str>,
    /// What the host calls itself.
    pub current: Option<&'a str>,
    /// Serial number (kept when the report has none).
    pub serial: Option<&'a str>,
    /// Status.
    pub status: &'a str,
    /// A VM or a container.
    pub is_virtual: bool,
    /// Digest of the report.
    pub digest: &'a str,
}

/// Writes the asset row's columns from a report, and the report itself. A section the report
/// lacks keeps its old values.
pub fn asset(db: &mut dyn Db, id: i64, row: &AssetColumns<'_>, report: &Report, raw: &str, now: i64) -> Result<()> {
    let s = Summary::of(report);
    db.execute(
        "UPDATE assets SET hostname = ?2, reported_hostname = ?3, serial_number = COALESCE(?4, serial_number), uuid = COALESCE(?5, uuid), \
         status = ?6, virtual = ?7, manufacturer = COALESCE(?8, manufacturer), model = COALESCE(?9, model), os = COALESCE(?10, os), \
         cpu_model = COALESCE(?11, cpu_model), cpu_cores = COALESCE(?12, cpu_cores), memory_bytes = COALESCE(?13, memory_bytes), \
         ips = COALESCE(?14, ips), macs = COALESCE(?15, macs), facts_digest = ?16, last_report_id = ?17, last_mode = ?18, \
         last_seen = ?19, first_seen = COALESCE(first_seen, ?19), updated_at = ?19 WHERE id = ?1",
        crate::args![
            id,
            row.hostname,
            row.current,
            row.serial,
            s.uuid,
            row.status,
            row.is_virtual,
            s.manufacturer,
            s.model,
            s.os,
            s.cpu_model,
            s.cpu_cores,
            s.memory_bytes,
            s.ips,
            s.macs,
            row.digest,
            report.report_id.as_str(),
            report.agent.mode.as_str(),
            now
        ],
    )?;
    // The raw report that last changed the asset, kept apart from the asset row.
    db.execute(
        "INSERT INTO asset_reports (asset_id, report) VALUES (?1, ?2) \
         ON CONFLICT (asset_id) DO UPDATE SET report = excluded.report",
        crate::args![id, raw],
    )?;
    Ok(())
}

/// An unchanged report: only `last_seen` and what the host calls itself move.
pub fn touch(db: &mut dyn Db, asset: &AssetRow, report: &Report, current: Option<&str>, now: i64) -> Result<()> {
    db.execute(
        "UPDATE assets SET last_seen = ?2, last_report_id = ?3, last_mode = ?4, reported_hostname = ?5 WHERE id = ?1",
        crate::args![asset.id, now, report.report_id.as_str(), report.agent.mode.as_str(), current],
    )?;
    Ok(())
}

/// Remembers a report id with its answer, its sender and its body digest, for retries.
pub fn remember(
    db: &mut dyn Db,
    report: &Report,
    asset_id: i64,
    action: Action,
    cert: Option<&str>,
    ctx: &Context<'_>,
    credential: Option<&Issued>,
) -> Result<()> {
    db.execute(
        "INSERT INTO applied_reports (report_id, asset_id, action, cert_hostname, at, key_id, body_digest, host_key_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        crate::args![
            report.report_id.as_str(),
            asset_id,
            action.as_str(),
            cert,
            ctx.now,
            ctx.sender.key_id(),
            ctx.body_digest,
            credential.map(Issued::key_id)
        ],
    )?;
    Ok(())
}

/// The asset's plugin errors become those of this report.
pub fn replace_errors(db: &mut dyn Db, asset_id: i64, report: &Report, now: i64) -> Result<()> {
    db.execute("DELETE FROM plugin_errors WHERE asset_id = ?1", crate::args![asset_id])?;
    for e in &report.errors {
        db.execute(
            "INSERT INTO plugin_errors (asset_id, plugin, message, report_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            crate::args![asset_id, e.plugin.as_str(), e.message.as_str(), report.report_id.as_str(), now],
        )?;
    }
    Ok(())
}

/// An asset's stored components, by kind.
pub fn load_components(db: &mut dyn Db, asset_id: i64) -> Result<BTreeMap<String, Vec<Component>>> {
    let rows = db.query(
        "SELECT kind, key, data FROM components WHERE asset_id = ?1 ORDER BY kind, key",
        crate::args![asset_id],
    )?;
    let mut out: BTreeMap<String, Vec<Component>> = BTreeMap::new();
    for row in rows {
        let (kind, key, data): (String, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let Some(kind_static) = components::KINDS.iter().find(|k| **k == kind) else { continue };
        let data = match serde_json::from_str(&data) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let position = crate::domain::components::kinds::stored_position(kind_static, &key, &data);
        out.entry(kind).or_default().push(Component { kind: kind_static, key, position, data });
    }
    Ok(out)
}

/// The asset columns that lists and searches use.
struct Summary {
    uuid: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    os: Option<String>,
    cpu_model: Option<String>,
    cpu_cores: Option<u32>,
    memory_bytes: Option<i64>,
    ips: Option<String>,
    macs: Option<String>,
}

impl Summary {
    fn of(report: &Report) -> Summary {
        let f = &report.facts;
        let os = f.os.as_ref().and_then(|o| match (&o.name, &o.version) {
            (Some(n), Some(v)) => Some(format!("{n} {v}")),
            (Some(n), None) => Some(n.clone()),
            _ => o.pretty_name.clone(),
        });
        Summary {
            uuid: f.system.as_ref().and_then(|s| s.uuid.as_deref()).map(str::to_lowercase),
            manufacturer: f.system.as_ref().and_then(|s| s.manufacturer.clone()),
            model: f.system.as_ref().and_then(|s| s.product_name.clone()),
            os,
            cpu_model: f.cpu.as_ref().and_then(|c| c.model.clone()),
            cpu_cores: f.cpu.as_ref().and_then(|c| c.physical_cores),
            memory_bytes: f.memory.as_ref().and_then(|m| m.total_bytes).and_then(|b| i64::try_from(b).ok()),
            ips: f.nics.as_ref().map(|n| {
                n.iter().flat_map(|n| n.addresses.iter().map(|a| a.address.clone())).collect::<Vec<_>>().join(" ")
            }),
            macs: f.nics.as_ref().map(|n| n.iter().filter_map(|n| n.mac.clone()).collect::<Vec<_>>().join(" ")),
        }
    }
}
