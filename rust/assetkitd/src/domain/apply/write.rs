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
                crate::args![asset_id, c.kind, c.key.as_str(), c.stored_text()],
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
///
/// Two statements: the columns that summarise the hardware are written only when one of them
/// differs from what is stored (rarely). Writing a column, even with its own value, rewrites its
/// index entries (SQLite) and fires its triggers; a dozen indexes cover those columns, and their
/// pages were most of what each changing report wrote to the log.
pub fn asset(db: &mut dyn Db, id: i64, row: &AssetColumns<'_>, report: &Report, raw: &str, now: i64) -> Result<()> {
    let s = Summary::of(report);
    db.execute(
        "UPDATE assets SET hostname = ?2, serial_number = COALESCE(?3, serial_number), uuid = COALESCE(?4, uuid), \
         status = ?5, virtual = ?6, manufacturer = COALESCE(?7, manufacturer), model = COALESCE(?8, model), os = COALESCE(?9, os), \
         cpu_model = COALESCE(?10, cpu_model), cpu_cores = COALESCE(?11, cpu_cores), memory_bytes = COALESCE(?12, memory_bytes), \
         ips = COALESCE(?13, ips), macs = COALESCE(?14, macs) \
         WHERE id = ?1 AND (hostname IS DISTINCT FROM ?2 OR serial_number IS DISTINCT FROM COALESCE(?3, serial_number) \
         OR uuid IS DISTINCT FROM COALESCE(?4, uuid) OR status IS DISTINCT FROM ?5 OR virtual IS DISTINCT FROM ?6 \
         OR manufacturer IS DISTINCT FROM COALESCE(?7, manufacturer) OR model IS DISTINCT FROM COALESCE(?8, model) \
         OR os IS DISTINCT FROM COALESCE(?9, os) OR cpu_model IS DISTINCT FROM COALESCE(?10, cpu_model) \
         OR cpu_cores IS DISTINCT FROM COALESCE(?11, cpu_cores) OR memory_bytes IS DISTINCT FROM COALESCE(?12, memory_bytes) \
         OR ips IS DISTINCT FROM COALESCE(?13, ips) OR macs IS DISTINCT FROM COALESCE(?14, macs))",
        crate::args![
            id,
            row.hostname,
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
            s.macs
        ],
    )?;
    db.execute(
        "UPDATE assets SET reported_hostname = ?2, facts_digest = ?3, last_report_id = ?4, last_mode = ?5, \
         last_seen = ?6, first_seen = COALESCE(first_seen, ?6), updated_at = ?6 WHERE id = ?1",
        crate::args![id, row.current, row.digest, report.report_id.as_str(), report.agent.mode.as_str(), now],
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

/// An asset's stored components by kind, as (key, data text) rows, unparsed.
pub fn load_stored(db: &mut dyn Db, asset_id: i64) -> Result<BTreeMap<String, Vec<(String, String)>>> {
    let rows = db.query(
        "SELECT kind, key, data FROM components WHERE asset_id = ?1 ORDER BY kind, key",
        crate::args![asset_id],
    )?;
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for row in rows {
        let (kind, key, data): (String, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        out.entry(kind).or_default().push((key, data));
    }
    Ok(out)
}

/// One stored row of `kind` as a component (data that is not a JSON object reads as empty).
pub fn stored_component(kind: &'static str, key: &str, data: &str) -> Component {
    let data = match serde_json::from_str(data) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let position = components::kinds::stored_position(kind, key, &data);
    Component { kind, key: key.to_owned(), position, data }
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
