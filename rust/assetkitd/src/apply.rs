//! Applying one report: identify the asset, diff its components, record typed change events.
//!
//! Runs inside a savepoint of the writer's transaction ([`crate::writer`]): it either lands
//! whole or not at all. Every statement is parameterised.

use std::collections::BTreeMap;

use assetkit_core::model::Report;
use assetkit_core::placeholder::is_placeholder;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::components::{self, Component, Event};

/// How reports are matched to assets (`assetkitd serve --identity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// By serial number first: physical fleets.
    Sn,
    /// By hostname (and cert file) only: mixed fleets whose VMs share serials.
    Hostname,
    /// A real serial on a physical machine, else the hostname.
    Auto,
}

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

/// Why a report was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// No hostname, no cert hostname and no usable serial.
    #[error("report carries no hostname, cert hostname or serial number: the host cannot be identified")]
    Unidentifiable,
    /// The test-only failpoint fired.
    #[error("failpoint: injected failure after {0} component writes")]
    Failpoint(usize),
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

/// Names that every unconfigured host has: never an identity.
fn placeholder_hostname(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "localhost.localdomain" | "localhost6" | "localhost6.localdomain6" | "(none)"
    )
}

#[derive(Debug)]
struct AssetRow {
    id: i64,
    hostname: Option<String>,
    reported_hostname: Option<String>,
    status: String,
    facts_digest: Option<String>,
    purchase: Option<String>,
}

#[derive(Debug, PartialEq)]
enum Via {
    Serial,
    Cert,
    Hostname,
    Purchase,
}

fn load(conn: &Connection, sql: &str, value: &str) -> rusqlite::Result<Option<AssetRow>> {
    conn.prepare_cached(sql)?
        .query_row([value], |r| {
            Ok(AssetRow {
                id: r.get(0)?,
                hostname: r.get(1)?,
                reported_hostname: r.get(2)?,
                status: r.get(3)?,
                facts_digest: r.get(4)?,
                purchase: r.get(5)?,
            })
        })
        .optional()
}

const COLS: &str = "id, hostname, reported_hostname, status, facts_digest, purchase";

fn by_serial(conn: &Connection, serial: &str) -> rusqlite::Result<Option<AssetRow>> {
    load(
        conn,
        &format!("SELECT {COLS} FROM assets WHERE serial_number = ?1 AND status <> 'retired' ORDER BY id LIMIT 1"),
        serial,
    )
}

fn by_name(conn: &Connection, name: &str) -> rusqlite::Result<Option<AssetRow>> {
    if let Some(a) = load(
        conn,
        &format!("SELECT {COLS} FROM assets WHERE hostname = ?1 AND status <> 'retired' ORDER BY id LIMIT 1"),
        name,
    )? {
        return Ok(Some(a));
    }
    load(
        conn,
        &format!(
            "SELECT {COLS} FROM assets WHERE id = (SELECT n.asset_id FROM asset_names n JOIN assets a ON a.id = n.asset_id \
             WHERE n.name = ?1 AND a.status <> 'retired' ORDER BY n.until DESC LIMIT 1)"
        ),
        name,
    )
}

fn unclaimed_by_serial(conn: &Connection, serial: &str) -> rusqlite::Result<Option<AssetRow>> {
    load(
        conn,
        &format!(
            "SELECT {COLS} FROM assets WHERE serial_number = ?1 AND status = 'in_stock' AND hostname IS NULL ORDER BY id LIMIT 1"
        ),
        serial,
    )
}

fn clean_name(name: Option<&str>) -> Option<&str> {
    name.map(str::trim).filter(|n| !n.is_empty() && !placeholder_hostname(n))
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
    conn: &Connection,
    report: &Report,
    raw: &str,
    policy: Policy,
    now: i64,
    failpoint: Option<Failpoint>,
) -> Result<Outcome, ApplyError> {
    if let Some((asset_id, action, cert_hostname)) = conn
        .prepare_cached("SELECT asset_id, action, cert_hostname FROM applied_reports WHERE report_id = ?1")?
        .query_row([&report.report_id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?))
        })
        .optional()?
    {
        return Ok(Outcome { asset_id, action: Action::parse(&action), cert_hostname, changes: 0, duplicate: true });
    }

    if failpoint.is_some_and(|f| f.panic_on_hostname_prefix)
        && report.host.hostname.as_deref().is_some_and(|h| h.starts_with("panic-"))
    {
        panic!("failpoint: a report that panics the writer");
    }
    let current = clean_name(report.host.hostname.as_deref());
    let cert = clean_name(report.host.cert_hostname.as_deref());
    let system = report.facts.system.as_ref();
    let serial = system.and_then(|s| s.serial_number.as_deref()).map(str::trim).filter(|s| !is_placeholder(s));
    let is_virtual = system.is_some_and(|s| s.r#virtual);
    let trusted_serial = match policy {
        Policy::Sn => serial,
        Policy::Auto => serial.filter(|_| !is_virtual),
        Policy::Hostname => None,
    };

    let mut found: Option<(AssetRow, Via)> = None;
    if let Some(sn) = trusted_serial {
        found = by_serial(conn, sn)?.map(|a| (a, Via::Serial));
    }
    if found.is_none()
        && let Some(c) = cert.filter(|c| Some(*c) != current)
    {
        found = by_name(conn, c)?.map(|a| (a, Via::Cert));
    }
    if found.is_none()
        && let Some(h) = current.or(cert)
    {
        found = by_name(conn, h)?.map(|a| (a, Via::Hostname));
    }
    if found.is_none()
        && let Some(sn) = serial
    {
        found = unclaimed_by_serial(conn, sn)?.map(|a| (a, Via::Purchase));
    }

    let digest = digest(report);
    let new_components = components::extract(&report.facts);
    let summary = Summary::of(report);
    let mode = report.agent.mode.as_str();

    let Some((asset, via)) = found else {
        let hostname = cert.or(current).map(str::to_owned);
        if hostname.is_none() && serial.is_none() {
            return Err(ApplyError::Unidentifiable);
        }
        conn.prepare_cached(
            "INSERT INTO assets (status, source, created_at, updated_at) VALUES ('discovered', 'report', ?1, ?1)",
        )?
        .execute([now])?;
        let asset_id = conn.last_insert_rowid();
        let row = Row {
            hostname: hostname.as_deref(),
            current,
            serial,
            status: "discovered",
            is_virtual,
            summary: &summary,
            digest: &digest,
        };
        write_row(conn, asset_id, &row, report, now)?;
        store_report(conn, asset_id, raw)?;
        let mut insert =
            conn.prepare_cached("INSERT INTO components (asset_id, kind, key, data) VALUES (?1, ?2, ?3, ?4)")?;
        for list in new_components.values() {
            for c in list {
                insert.execute(params![
                    asset_id,
                    c.kind,
                    c.key,
                    serde_json::Value::Object(c.data.clone()).to_string()
                ])?;
            }
        }
        let via_text = if cert.is_some() && cert != current { " (cert file name)" } else { "" };
        record(
            conn,
            asset_id,
            Some(&report.report_id),
            now,
            None,
            &Event {
                component: "asset".into(),
                key: String::new(),
                kind: "added",
                field: None,
                old: None,
                new: hostname.clone(),
                summary: format!(
                    "asset discovered: {}{via_text}, via {mode}",
                    hostname.as_deref().or(serial).unwrap_or("?")
                ),
            },
        )?;
        replace_errors(conn, asset_id, report, now)?;
        remember(conn, &report.report_id, asset_id, Action::Created, hostname.as_deref(), now)?;
        return Ok(Outcome {
            asset_id,
            action: Action::Created,
            cert_hostname: hostname,
            changes: 1,
            duplicate: false,
        });
    };

    tracing::debug!(asset_id = asset.id, via = ?via, report_id = %report.report_id, "report matched an asset");
    // Identity-level changes: status, the authoritative name, drift.
    let mut events: Vec<Event> = Vec::new();
    let mut status = asset.status.clone();
    if status == "in_stock" {
        status = "online".into();
        events.push(Event::whole(
            "asset",
            "changed",
            Some("status"),
            Some("in_stock"),
            Some("online"),
            "purchased asset came online (linked by serial number)".into(),
        ));
        // What the purchase list promised against what the host reports.
        let purchase: serde_json::Value =
            asset.purchase.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
        let found = crate::import::mismatches(&purchase, report);
        for m in &found {
            events.push(Event::whole(
                "asset",
                "changed",
                Some("purchase"),
                None,
                Some(m),
                format!("purchase list mismatch: {m}"),
            ));
        }
        conn.prepare_cached("UPDATE assets SET mismatches = ?2 WHERE id = ?1")?
            .execute(params![asset.id, serde_json::to_string(&found).unwrap_or_default()])?;
    }
    let mut hostname = asset.hostname.clone();
    if hostname.is_none() {
        hostname = cert.or(current).map(str::to_owned);
        events.push(Event::whole(
            "asset",
            "changed",
            Some("hostname"),
            None,
            hostname.as_deref(),
            format!("hostname set to {}", hostname.as_deref().unwrap_or("?")),
        ));
    }
    // The cert file holds an older name, and the inventory already carries the new one: an
    // admin renamed the asset, and the host has now been renamed to match.
    if cert.is_some_and(|c| Some(c) != current) && current.is_some() && asset.hostname.as_deref() == current {
        events.push(Event::whole(
            "host",
            "changed",
            Some("cert_hostname"),
            cert,
            current,
            format!("rename accepted: cert file {} → {}", cert.unwrap_or("?"), current.unwrap_or("?")),
        ));
    }
    if let (Some(now_name), Some(name)) = (current, hostname.as_deref())
        && now_name != name
        && asset.reported_hostname.as_deref() != Some(now_name)
    {
        events.push(Event::whole(
            "host",
            "changed",
            Some("hostname"),
            asset.reported_hostname.as_deref(),
            Some(now_name),
            format!("hostname drift: host calls itself {now_name}, inventory name stays {name}"),
        ));
    }

    let unchanged = events.is_empty() && asset.facts_digest.as_deref() == Some(digest.as_str());
    if unchanged {
        conn.prepare_cached("UPDATE assets SET last_seen = ?2, last_report_id = ?3, last_mode = ?4, reported_hostname = ?5 WHERE id = ?1")?
            .execute(params![asset.id, now, report.report_id, mode, current])?;
        remember(conn, &report.report_id, asset.id, Action::Unchanged, hostname.as_deref(), now)?;
        return Ok(Outcome {
            asset_id: asset.id,
            action: Action::Unchanged,
            cert_hostname: hostname,
            changes: 0,
            duplicate: false,
        });
    }

    // Components: diff each kind the report carries.
    let old = load_components(conn, asset.id)?;
    let mut diffs = Vec::new();
    for (kind, new_list) in &new_components {
        let old_list = old.get(*kind).map(Vec::as_slice).unwrap_or(&[]);
        diffs.push(components::diff(kind, old_list, new_list));
    }
    let writes: usize = diffs.iter().map(|d| d.upserts.len() + d.deletes.len()).sum();
    let fail_at = failpoint.filter(|f| f.after_half_of_component_writes && writes > 0).map(|_| writes.div_ceil(2));
    let mut done = 0usize;
    {
        let mut upsert = conn
            .prepare_cached("INSERT OR REPLACE INTO components (asset_id, kind, key, data) VALUES (?1, ?2, ?3, ?4)")?;
        let mut delete =
            conn.prepare_cached("DELETE FROM components WHERE asset_id = ?1 AND kind = ?2 AND key = ?3")?;
        for (kind, d) in new_components.keys().zip(&diffs) {
            for key in &d.deletes {
                delete.execute(params![asset.id, kind, key])?;
                done += 1;
                if fail_at == Some(done) {
                    return Err(ApplyError::Failpoint(done));
                }
            }
            for c in &d.upserts {
                upsert.execute(params![
                    asset.id,
                    c.kind,
                    c.key,
                    serde_json::Value::Object(c.data.clone()).to_string()
                ])?;
                done += 1;
                if fail_at == Some(done) {
                    return Err(ApplyError::Failpoint(done));
                }
            }
        }
    }
    events.extend(diffs.into_iter().flat_map(|d| d.events));
    for e in &events {
        record(conn, asset.id, Some(&report.report_id), now, None, e)?;
    }
    let row = Row {
        hostname: hostname.as_deref(),
        current,
        serial,
        status: &status,
        is_virtual,
        summary: &summary,
        digest: &digest,
    };
    write_row(conn, asset.id, &row, report, now)?;
    store_report(conn, asset.id, raw)?;
    replace_errors(conn, asset.id, report, now)?;
    let action = if events.is_empty() { Action::Unchanged } else { Action::Updated };
    remember(conn, &report.report_id, asset.id, action, hostname.as_deref(), now)?;
    Ok(Outcome { asset_id: asset.id, action, cert_hostname: hostname, changes: events.len(), duplicate: false })
}

/// Inserts one change event.
pub fn record(
    conn: &Connection,
    asset_id: i64,
    report_id: Option<&str>,
    at: i64,
    actor: Option<&str>,
    e: &Event,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO changes (asset_id, report_id, at, component, key, kind, field, old, new, actor, summary) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        asset_id,
        report_id,
        at,
        e.component,
        e.key,
        e.kind,
        e.field,
        e.old,
        e.new,
        actor,
        e.summary
    ])?;
    Ok(())
}

/// What a changing report writes into the asset row.
struct Row<'a> {
    hostname: Option<&'a str>,
    current: Option<&'a str>,
    serial: Option<&'a str>,
    status: &'a str,
    is_virtual: bool,
    summary: &'a Summary,
    digest: &'a str,
}

/// Writes the asset row's columns from a report. A section the report lacks keeps its old values.
fn write_row(conn: &Connection, id: i64, row: &Row<'_>, report: &Report, now: i64) -> rusqlite::Result<()> {
    let s = row.summary;
    conn.prepare_cached(
        "UPDATE assets SET hostname = ?2, reported_hostname = ?3, serial_number = COALESCE(?4, serial_number), uuid = COALESCE(?5, uuid), \
         status = ?6, virtual = ?7, manufacturer = COALESCE(?8, manufacturer), model = COALESCE(?9, model), os = COALESCE(?10, os), \
         cpu_model = COALESCE(?11, cpu_model), cpu_cores = COALESCE(?12, cpu_cores), memory_bytes = COALESCE(?13, memory_bytes), \
         ips = COALESCE(?14, ips), macs = COALESCE(?15, macs), facts_digest = ?16, last_report_id = ?17, last_mode = ?18, \
         last_seen = ?19, first_seen = COALESCE(first_seen, ?19), updated_at = ?19 WHERE id = ?1",
    )?
    .execute(params![
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
        report.report_id,
        report.agent.mode.as_str(),
        now
    ])?;
    Ok(())
}

/// The raw report that last changed the asset, kept apart from the asset row.
fn store_report(conn: &Connection, asset_id: i64, raw: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO asset_reports (asset_id, report) VALUES (?1, ?2)")?
        .execute(params![asset_id, raw])?;
    Ok(())
}

fn remember(
    conn: &Connection,
    report_id: &str,
    asset_id: i64,
    action: Action,
    cert: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO applied_reports (report_id, asset_id, action, cert_hostname, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![report_id, asset_id, action.as_str(), cert, now])?;
    Ok(())
}

fn replace_errors(conn: &Connection, asset_id: i64, report: &Report, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM plugin_errors WHERE asset_id = ?1")?.execute([asset_id])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO plugin_errors (asset_id, plugin, message, report_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for e in &report.errors {
        insert.execute(params![asset_id, e.plugin, e.message, report.report_id, now])?;
    }
    Ok(())
}

/// An asset's stored components, by kind.
pub fn load_components(conn: &Connection, asset_id: i64) -> rusqlite::Result<BTreeMap<String, Vec<Component>>> {
    let mut stmt =
        conn.prepare_cached("SELECT kind, key, data FROM components WHERE asset_id = ?1 ORDER BY kind, key")?;
    let rows =
        stmt.query_map([asset_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    let mut out: BTreeMap<String, Vec<Component>> = BTreeMap::new();
    for row in rows {
        let (kind, key, data) = row?;
        let Some(kind_static) = components::KINDS.iter().find(|k| **k == kind) else { continue };
        let data = match serde_json::from_str(&data) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let position = match *kind_static {
            "disk" => data.get("slot").or(data.get("name")).and_then(|v| v.as_str()).map(str::to_owned),
            "nic" => data.get("name").and_then(|v| v.as_str()).map(str::to_owned),
            "memory_module" | "custom" => Some(key.clone()),
            _ => None,
        };
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
            uuid: f.system.as_ref().and_then(|s| s.uuid.clone()),
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
