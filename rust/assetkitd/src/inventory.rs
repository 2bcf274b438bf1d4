//! Reading and editing the inventory: the queries behind the API, the console and the admin
//! CLI, and the admin writes (manual entry, assignment, renames, keys). Every write records a
//! change event with its actor. Every statement is parameterised; sort orders come from a
//! fixed list.

use std::time::{Duration, UNIX_EPOCH};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::apply::record;
use crate::components::Event;
use crate::writer::WriteError;

/// Statuses an admin may set. "offline" is derived: online with no report for a while.
pub const STATUSES: &[&str] = &["discovered", "online", "in_stock", "retired"];

/// RFC 3339 for a unix time.
pub fn rfc3339(ts: i64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(ts.max(0) as u64)).to_string()
}

/// Filters and paging for the asset list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AssetFilter {
    /// discovered, online, offline, in_stock, retired.
    pub status: Option<String>,
    /// Business unit name.
    pub business_unit: Option<String>,
    /// IDC name.
    pub idc: Option<String>,
    /// Free text over hostname, serial number, IPs and MACs.
    pub q: Option<String>,
    /// 1-based page.
    pub page: Option<u32>,
    /// Rows per page (max 500).
    pub per_page: Option<u32>,
    /// hostname, -hostname, last_seen, -last_seen, serial_number, id, -id.
    pub sort: Option<String>,
}

/// One page of assets.
#[derive(Debug, Serialize)]
pub struct AssetPage {
    /// Matching assets in all pages.
    pub total: u64,
    /// This page.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// The rows.
    pub assets: Vec<Value>,
}

fn sort_clause(sort: Option<&str>) -> &'static str {
    match sort.unwrap_or("hostname") {
        "-hostname" => "a.hostname DESC, a.id DESC",
        "last_seen" => "a.last_seen, a.id",
        "-last_seen" => "a.last_seen DESC, a.id DESC",
        "serial_number" => "a.serial_number, a.id",
        "id" => "a.id",
        "-id" => "a.id DESC",
        "status" => "a.status, a.hostname",
        _ => "a.hostname, a.id",
    }
}

fn like(term: &str) -> String {
    let escaped = term.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

const ASSET_COLUMNS: &str = "a.id, a.hostname, a.serial_number, a.status, a.manufacturer, a.model, a.os, a.ips, a.macs, \
    bu.name, idc.name, a.rack, a.position, a.last_seen, a.virtual, a.reported_hostname, a.last_mode, a.cpu_model, \
    a.cpu_cores, a.memory_bytes, a.uuid, a.first_seen, a.source, a.created_at, a.mismatches, a.purchase";

fn asset_json(r: &rusqlite::Row<'_>, offline_cutoff: i64) -> rusqlite::Result<Value> {
    let status: String = r.get(3)?;
    let last_seen: Option<i64> = r.get(13)?;
    let effective =
        if status == "online" && last_seen.is_some_and(|t| t < offline_cutoff) { "offline".to_owned() } else { status };
    Ok(json!({
        "id": r.get::<_, i64>(0)?,
        "hostname": r.get::<_, Option<String>>(1)?,
        "serial_number": r.get::<_, Option<String>>(2)?,
        "status": effective,
        "manufacturer": r.get::<_, Option<String>>(4)?,
        "model": r.get::<_, Option<String>>(5)?,
        "os": r.get::<_, Option<String>>(6)?,
        "ips": r.get::<_, Option<String>>(7)?.map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>()).unwrap_or_default(),
        "macs": r.get::<_, Option<String>>(8)?.map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>()).unwrap_or_default(),
        "business_unit": r.get::<_, Option<String>>(9)?,
        "idc": r.get::<_, Option<String>>(10)?,
        "rack": r.get::<_, Option<String>>(11)?,
        "position": r.get::<_, Option<String>>(12)?,
        "last_seen": last_seen.map(rfc3339),
        "virtual": r.get::<_, bool>(14)?,
        "reported_hostname": r.get::<_, Option<String>>(15)?,
        "last_mode": r.get::<_, Option<String>>(16)?,
        "cpu_model": r.get::<_, Option<String>>(17)?,
        "cpu_cores": r.get::<_, Option<i64>>(18)?,
        "memory_bytes": r.get::<_, Option<i64>>(19)?,
        "uuid": r.get::<_, Option<String>>(20)?,
        "first_seen": r.get::<_, Option<i64>>(21)?.map(rfc3339),
        "source": r.get::<_, String>(22)?,
        "created_at": rfc3339(r.get::<_, i64>(23)?),
        "mismatches": r.get::<_, Option<String>>(24)?.and_then(|m| serde_json::from_str::<Value>(&m).ok()).unwrap_or(Value::Array(vec![])),
        "purchase": r.get::<_, Option<String>>(25)?.and_then(|m| serde_json::from_str::<Value>(&m).ok()),
    }))
}

/// The asset list. `offline_cutoff`: online assets last seen before this count as offline.
///
/// Built for 100,000 assets: the count runs on the filter columns' indexes without joins; the
/// page is chosen on the sort column's index (the `+` keeps SQLite from preferring a filter index
/// and sorting everything) and only its rows are joined; free text goes through the trigram index.
pub fn list_assets(conn: &Connection, f: &AssetFilter, offline_cutoff: i64) -> rusqlite::Result<AssetPage> {
    let mut count_where: Vec<String> = Vec::new();
    let mut page_where: Vec<String> = Vec::new();
    let mut args: Vec<SqlValue> = Vec::new();
    let mut both = |count: &str, page: &str| {
        count_where.push(count.to_owned());
        page_where.push(page.to_owned());
    };
    match f.status.as_deref().filter(|s| !s.is_empty()) {
        Some("offline") => {
            both("a.status = 'online' AND a.last_seen < ?", "+a.status = 'online' AND a.last_seen < ?");
            args.push(offline_cutoff.into());
        }
        Some("online") => {
            both(
                "a.status = 'online' AND (a.last_seen IS NULL OR a.last_seen >= ?)",
                "+a.status = 'online' AND (+a.last_seen IS NULL OR +a.last_seen >= ?)",
            );
            args.push(offline_cutoff.into());
        }
        Some(s) => {
            both("a.status = ?", "+a.status = ?");
            args.push(s.to_owned().into());
        }
        None => {}
    }
    if let Some(bu) = f.business_unit.as_deref().filter(|s| !s.is_empty()) {
        both(
            "a.business_unit_id = (SELECT id FROM business_units WHERE name = ?)",
            "+a.business_unit_id = (SELECT id FROM business_units WHERE name = ?)",
        );
        args.push(bu.to_owned().into());
    }
    if let Some(idc) = f.idc.as_deref().filter(|s| !s.is_empty()) {
        both("a.idc_id = (SELECT id FROM idcs WHERE name = ?)", "+a.idc_id = (SELECT id FROM idcs WHERE name = ?)");
        args.push(idc.to_owned().into());
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if q.chars().count() >= 3 {
            let fts = "a.id IN (SELECT rowid FROM assets_fts WHERE assets_fts MATCH ?)";
            both(fts, fts);
            args.push(format!("\"{}\"", q.replace('"', "\"\"")).into());
        } else {
            let like_all = "(a.hostname LIKE ? ESCAPE '\\' OR a.serial_number LIKE ? ESCAPE '\\' OR a.ips LIKE ? ESCAPE '\\' OR a.macs LIKE ? ESCAPE '\\')";
            // The four placeholders take the same pattern.
            count_where.push(like_all.to_owned());
            page_where.push(like_all.to_owned());
            for _ in 0..4 {
                args.push(like(q).into());
            }
        }
    }
    let clause = |w: &[String]| if w.is_empty() { String::new() } else { format!("WHERE {}", w.join(" AND ")) };
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM assets a {}", clause(&count_where)))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    let per_page = f.per_page.unwrap_or(50).clamp(1, 500);
    let page = f.page.unwrap_or(1).max(1);
    let mut page_args = args.clone();
    page_args.push(i64::from(per_page).into());
    page_args.push((i64::from(page - 1) * i64::from(per_page)).into());
    let order = sort_clause(f.sort.as_deref());
    let sql = format!(
        "SELECT {ASSET_COLUMNS} FROM assets a LEFT JOIN business_units bu ON bu.id = a.business_unit_id \
         LEFT JOIN idcs idc ON idc.id = a.idc_id WHERE a.id IN \
         (SELECT a.id FROM assets a {} ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}",
        clause(&page_where)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let assets = stmt
        .query_map(params_from_iter(page_args.iter()), |r| asset_json(r, offline_cutoff))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AssetPage { total: total as u64, page, per_page, assets })
}

/// One asset with its components, plugin errors, last changing report and change count.
pub fn asset_detail(conn: &Connection, id: i64, offline_cutoff: i64) -> rusqlite::Result<Option<Value>> {
    let from = "FROM assets a LEFT JOIN business_units bu ON bu.id = a.business_unit_id LEFT JOIN idcs idc ON idc.id = a.idc_id";
    let Some(mut asset) = conn
        .prepare_cached(&format!("SELECT {ASSET_COLUMNS} {from} WHERE a.id = ?1"))?
        .query_row([id], |r| asset_json(r, offline_cutoff))
        .optional()?
    else {
        return Ok(None);
    };
    let mut components = serde_json::Map::new();
    let mut stmt =
        conn.prepare_cached("SELECT kind, key, data FROM components WHERE asset_id = ?1 ORDER BY kind, key")?;
    for row in stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))? {
        let (kind, key, data) = row?;
        let mut data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut data
            && !key.is_empty()
        {
            m.insert("_key".into(), Value::String(key));
        }
        let entry = components.entry(kind).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(data);
        }
    }
    // Slots and names read best in natural order (DIMM_A2 before DIMM_A10, 32:2 before 32:10).
    for list in components.values_mut() {
        if let Value::Array(items) = list {
            items.sort_by_cached_key(|c| {
                let label = ["slot", "name", "_key"]
                    .iter()
                    .find_map(|k| c.get(*k).and_then(Value::as_str))
                    .unwrap_or("")
                    .to_owned();
                natural_key(&label)
            });
        }
    }
    let errors: Vec<Value> = conn
        .prepare_cached("SELECT plugin, message, at FROM plugin_errors WHERE asset_id = ?1 ORDER BY plugin")?
        .query_map([id], |r| {
            Ok(json!({"plugin": r.get::<_, String>(0)?, "message": r.get::<_, String>(1)?, "at": rfc3339(r.get(2)?)}))
        })?
        .collect::<Result<_, _>>()?;
    let (last_report, changes): (Option<String>, i64) = conn
        .prepare_cached(
            "SELECT (SELECT report FROM asset_reports WHERE asset_id = ?1), (SELECT COUNT(*) FROM changes WHERE asset_id = ?1)",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let m = asset.as_object_mut().expect("asset_json builds an object");
    m.insert("components".into(), Value::Object(components));
    m.insert("errors".into(), Value::Array(errors));
    m.insert("change_count".into(), json!(changes));
    m.insert("last_report".into(), last_report.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or(Value::Null));
    Ok(Some(asset))
}

/// Splits digits from the rest so that "A10" sorts after "A2".
pub fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                out.push((std::mem::take(&mut text), digits.parse().unwrap_or(u64::MAX)));
                digits.clear();
            }
            text.push(c);
        }
    }
    out.push((text, digits.parse().unwrap_or(0)));
    out
}

/// A change event as the API shows it.
fn change_json(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    Ok(json!({
        "id": r.get::<_, i64>(0)?,
        "asset_id": r.get::<_, i64>(1)?,
        "report_id": r.get::<_, Option<String>>(2)?,
        "at": rfc3339(r.get(3)?),
        "component": r.get::<_, String>(4)?,
        "key": r.get::<_, Option<String>>(5)?,
        "kind": r.get::<_, String>(6)?,
        "field": r.get::<_, Option<String>>(7)?,
        "old": r.get::<_, Option<String>>(8)?,
        "new": r.get::<_, Option<String>>(9)?,
        "actor": r.get::<_, Option<String>>(10)?,
        "summary": r.get::<_, String>(11)?,
    }))
}

const CHANGE_COLUMNS: &str = "id, asset_id, report_id, at, component, key, kind, field, old, new, actor, summary";

/// An asset's change timeline, newest first; `before` pages backwards by change id.
pub fn asset_changes(
    conn: &Connection,
    asset_id: i64,
    limit: u32,
    before: Option<i64>,
) -> rusqlite::Result<Vec<Value>> {
    conn.prepare_cached(&format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE asset_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
    ))?
    .query_map(params![asset_id, before.unwrap_or(i64::MAX), limit.clamp(1, 1000)], change_json)?
    .collect()
}

/// All changes at or after `since` (unix time) and after change id `after_id`, oldest first:
/// a feed another system can follow by passing the last id it saw.
pub fn changes_since(conn: &Connection, since: i64, after_id: i64, limit: u32) -> rusqlite::Result<Vec<Value>> {
    conn.prepare_cached(&format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE at >= ?1 AND id > ?2 ORDER BY id LIMIT ?3"
    ))?
    .query_map(params![since, after_id, limit.clamp(1, 5000)], change_json)?
    .collect()
}

/// Hostnames an admin entered that have not reported since `day_start` (unix time).
pub fn pending_hosts(conn: &Connection, day_start: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT hostname FROM assets WHERE source = 'manual' AND status <> 'retired' AND hostname IS NOT NULL \
         AND (last_seen IS NULL OR last_seen < ?1) ORDER BY hostname",
    )?
    .query_map([day_start], |r| r.get(0))?
    .collect()
}

/// A new asset entered by hand.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAsset {
    /// The hostname sweeps will connect to.
    pub hostname: String,
    /// Serial number, if known.
    #[serde(default)]
    pub serial_number: Option<String>,
    /// Business unit name (created if new).
    #[serde(default)]
    pub business_unit: Option<String>,
    /// IDC name (created if new).
    #[serde(default)]
    pub idc: Option<String>,
    /// Rack.
    #[serde(default)]
    pub rack: Option<String>,
    /// Position in the rack.
    #[serde(default)]
    pub position: Option<String>,
    /// Initial status (default online).
    #[serde(default)]
    pub status: Option<String>,
}

/// Fields to change; an empty string clears a field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetPatch {
    /// New authoritative hostname: the legitimate rename the cert logic accepts.
    pub hostname: Option<String>,
    /// Business unit name.
    pub business_unit: Option<String>,
    /// IDC name.
    pub idc: Option<String>,
    /// Rack.
    pub rack: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// discovered, online, in_stock, retired.
    pub status: Option<String>,
}

/// Checks a hostname's shape (RFC 1123 labels, underscores tolerated).
pub fn valid_hostname(name: &str) -> Result<(), WriteError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if ok { Ok(()) } else { Err(WriteError::Invalid(format!("{name:?} is not a valid hostname"))) }
}

fn named_id(conn: &Connection, table: &str, name: Option<&str>) -> rusqlite::Result<Option<i64>> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    // `table` is one of two constants, never user input.
    debug_assert!(table == "business_units" || table == "idcs");
    conn.prepare_cached(&format!("INSERT OR IGNORE INTO {table} (name) VALUES (?1)"))?.execute([name])?;
    conn.prepare_cached(&format!("SELECT id FROM {table} WHERE name = ?1"))?.query_row([name], |r| r.get(0)).map(Some)
}

fn hostname_owner(conn: &Connection, name: &str, except: Option<i64>) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM assets WHERE hostname = ?1 AND status <> 'retired' AND id <> ?2 LIMIT 1")?
        .query_row(params![name, except.unwrap_or(-1)], |r| r.get(0))
        .optional()
}

fn admin_event(
    field: Option<&str>,
    old: Option<&str>,
    new: Option<&str>,
    summary: String,
    kind: &'static str,
) -> Event {
    Event::whole("asset", kind, field, old, new, summary)
}

/// Enters a host by hand. Returns the new asset id.
pub fn create_asset(conn: &Connection, input: &NewAsset, actor: &str, now: i64) -> Result<i64, WriteError> {
    let hostname = input.hostname.trim();
    valid_hostname(hostname)?;
    if let Some(id) = hostname_owner(conn, hostname, None)? {
        return Err(WriteError::Invalid(format!("hostname {hostname} already belongs to asset {id}")));
    }
    let status = input.status.as_deref().unwrap_or("online");
    if !STATUSES.contains(&status) {
        return Err(WriteError::Invalid(format!("status must be one of {}", STATUSES.join(", "))));
    }
    let bu = named_id(conn, "business_units", input.business_unit.as_deref())?;
    let idc = named_id(conn, "idcs", input.idc.as_deref())?;
    let serial = input.serial_number.as_deref().map(str::trim).filter(|s| !s.is_empty());
    conn.prepare_cached(
        "INSERT INTO assets (hostname, serial_number, status, business_unit_id, idc_id, rack, position, source, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'manual', ?8, ?8)",
    )?
    .execute(params![hostname, serial, status, bu, idc, input.rack, input.position, now])?;
    let id = conn.last_insert_rowid();
    record(
        conn,
        id,
        None,
        now,
        Some(actor),
        &admin_event(None, None, Some(hostname), format!("asset {hostname} entered by {actor}"), "added"),
    )?;
    Ok(id)
}

/// Applies a patch; returns the number of change events recorded.
pub fn update_asset(
    conn: &Connection,
    id: i64,
    patch: &AssetPatch,
    actor: &str,
    now: i64,
) -> Result<usize, WriteError> {
    type Row = (Option<String>, String, Option<String>, Option<String>, Option<String>, Option<String>);
    let current: Option<Row> = conn
        .prepare_cached(
            "SELECT a.hostname, a.status, bu.name, idc.name, a.rack, a.position FROM assets a \
             LEFT JOIN business_units bu ON bu.id = a.business_unit_id LEFT JOIN idcs idc ON idc.id = a.idc_id WHERE a.id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .optional()?;
    let Some((hostname, status, bu, idc, rack, position)) = current else {
        return Err(WriteError::NotFound(format!("no asset {id}")));
    };
    let norm = |v: &Option<String>| v.as_deref().map(str::trim).map(|s| (!s.is_empty()).then(|| s.to_owned()));
    let mut events = Vec::new();
    if let Some(new) = norm(&patch.hostname) {
        let Some(new) = new else { return Err(WriteError::Invalid("hostname cannot be cleared".into())) };
        valid_hostname(&new)?;
        if hostname.as_deref() != Some(new.as_str()) {
            if let Some(owner) = hostname_owner(conn, &new, Some(id))? {
                return Err(WriteError::Invalid(format!("hostname {new} already belongs to asset {owner}")));
            }
            if let Some(old) = &hostname {
                // The old name keeps finding this asset: a host whose cert file still holds it
                // is told the new name instead of becoming a duplicate.
                conn.prepare_cached("INSERT OR REPLACE INTO asset_names (name, asset_id, until) VALUES (?1, ?2, ?3)")?
                    .execute(params![old, id, now])?;
            }
            conn.prepare_cached("DELETE FROM asset_names WHERE name = ?1 AND asset_id = ?2")?
                .execute(params![new, id])?;
            conn.prepare_cached("UPDATE assets SET hostname = ?2 WHERE id = ?1")?.execute(params![id, new])?;
            events.push(admin_event(
                Some("hostname"),
                hostname.as_deref(),
                Some(&new),
                format!("renamed {} → {new} by {actor}", hostname.as_deref().unwrap_or("(none)")),
                "changed",
            ));
        }
    }
    let mut set_named = |field: &str,
                         table: &str,
                         column: &str,
                         old: &Option<String>,
                         value: &Option<String>|
     -> Result<(), WriteError> {
        if let Some(new) = norm(value)
            && new != *old
        {
            let new_id = named_id(conn, table, new.as_deref())?;
            conn.prepare_cached(&format!("UPDATE assets SET {column} = ?2 WHERE id = ?1"))?
                .execute(params![id, new_id])?;
            events.push(admin_event(
                Some(field),
                old.as_deref(),
                new.as_deref(),
                format!("{field} set to {} by {actor}", new.as_deref().unwrap_or("(none)")),
                "changed",
            ));
        }
        Ok(())
    };
    set_named("business_unit", "business_units", "business_unit_id", &bu, &patch.business_unit)?;
    set_named("idc", "idcs", "idc_id", &idc, &patch.idc)?;
    for (field, old, value) in [("rack", &rack, &patch.rack), ("position", &position, &patch.position)] {
        if let Some(new) = norm(value)
            && new != *old
        {
            conn.prepare_cached(&format!("UPDATE assets SET {field} = ?2 WHERE id = ?1"))?.execute(params![id, new])?;
            events.push(admin_event(
                Some(field),
                old.as_deref(),
                new.as_deref(),
                format!("{field} set to {} by {actor}", new.as_deref().unwrap_or("(none)")),
                "changed",
            ));
        }
    }
    let mut new_status = match norm(&patch.status) {
        Some(Some(s)) if STATUSES.contains(&s.as_str()) => Some(s),
        Some(Some(s)) if s == "offline" => {
            return Err(WriteError::Invalid("offline is derived from last_seen and cannot be set".into()));
        }
        Some(_) => return Err(WriteError::Invalid(format!("status must be one of {}", STATUSES.join(", ")))),
        None => None,
    };
    if new_status.is_none() && status == "discovered" {
        // A discovered asset is complete once it has a business unit, an IDC and a rack.
        let complete: bool = conn
            .prepare_cached("SELECT business_unit_id IS NOT NULL AND idc_id IS NOT NULL AND rack IS NOT NULL FROM assets WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?;
        if complete {
            new_status = Some("online".into());
        }
    }
    if let Some(s) = new_status.filter(|s| *s != status) {
        conn.prepare_cached("UPDATE assets SET status = ?2 WHERE id = ?1")?.execute(params![id, s])?;
        events.push(admin_event(
            Some("status"),
            Some(&status),
            Some(&s),
            format!("status {status} → {s} by {actor}"),
            "changed",
        ));
    }
    if !events.is_empty() {
        conn.prepare_cached("UPDATE assets SET updated_at = ?2 WHERE id = ?1")?.execute(params![id, now])?;
    }
    for e in &events {
        record(conn, id, None, now, Some(actor), e)?;
    }
    Ok(events.len())
}

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

/// Creates a key; the secret is returned once and stored for verification only.
pub fn create_key(
    conn: &Connection,
    name: &str,
    scope: &str,
    now: i64,
) -> Result<(String, assetkit_sign::Secret), WriteError> {
    if !matches!(scope, "agent" | "admin") {
        return Err(WriteError::Invalid("scope must be agent or admin".into()));
    }
    if name.trim().is_empty() {
        return Err(WriteError::Invalid("a key needs a name (what uses it)".into()));
    }
    let key_id = format!("ak_{}", assetkit_sign::random_hex(8));
    let secret = assetkit_sign::Secret::generate();
    conn.execute(
        "INSERT INTO api_keys (key_id, name, scope, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key_id, name.trim(), scope, secret.expose(), now],
    )?;
    Ok((key_id, secret))
}

/// All keys, newest first.
pub fn list_keys(conn: &Connection) -> rusqlite::Result<Vec<KeyInfo>> {
    conn.prepare("SELECT key_id, name, scope, created_at, revoked_at FROM api_keys ORDER BY created_at DESC, key_id")?
        .query_map([], |r| {
            Ok(KeyInfo {
                key_id: r.get(0)?,
                name: r.get(1)?,
                scope: r.get(2)?,
                created_at: rfc3339(r.get(3)?),
                revoked_at: r.get::<_, Option<i64>>(4)?.map(rfc3339),
            })
        })?
        .collect()
}

/// Revokes a key; false when no such key exists or it was already revoked.
pub fn revoke_key(conn: &Connection, key_id: &str, now: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL",
        params![key_id, now],
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
pub fn lookup_key(conn: &Connection, key_id: &str) -> rusqlite::Result<Option<StoredKey>> {
    conn.prepare_cached("SELECT secret, scope, revoked_at IS NOT NULL FROM api_keys WHERE key_id = ?1")?
        .query_row([key_id], |r| {
            Ok(StoredKey {
                secret: assetkit_sign::Secret::new(r.get::<_, String>(0)?),
                scope: r.get(1)?,
                revoked: r.get(2)?,
            })
        })
        .optional()
}

/// Assets per status, offline split out of online (two index-only queries).
pub fn status_counts(conn: &Connection, offline_cutoff: i64) -> rusqlite::Result<Vec<(String, u64)>> {
    let mut counts: Vec<(String, u64)> = STATUSES.iter().map(|s| ((*s).to_owned(), 0)).collect();
    counts.insert(2, ("offline".to_owned(), 0));
    let mut stmt = conn.prepare_cached("SELECT status, COUNT(*) FROM assets GROUP BY status")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (status, n) = row?;
        if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == status) {
            entry.1 = n as u64;
        }
    }
    let offline: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM assets WHERE last_seen < ?1 AND status = 'online'")?
        .query_row([offline_cutoff], |r| r.get(0))?;
    for (status, n) in counts.iter_mut() {
        match status.as_str() {
            "offline" => *n = offline as u64,
            "online" => *n = n.saturating_sub(offline as u64),
            _ => {}
        }
    }
    Ok(counts)
}

/// The business units and IDCs an asset can be assigned to, each sorted by name.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    /// Business unit names.
    pub business_units: Vec<String>,
    /// IDC names.
    pub idcs: Vec<String>,
}

/// Reads [`Choices`].
pub fn choices(conn: &Connection) -> rusqlite::Result<Choices> {
    let names = |sql: &str| -> rusqlite::Result<Vec<String>> {
        conn.prepare_cached(sql)?.query_map([], |r| r.get(0))?.collect()
    };
    Ok(Choices {
        business_units: names("SELECT name FROM business_units ORDER BY name")?,
        idcs: names("SELECT name FROM idcs ORDER BY name")?,
    })
}

/// Adds a business unit or an IDC; false when it already exists.
pub fn add_name(conn: &Connection, table: &str, name: &str, actor: &str, now: i64) -> Result<bool, WriteError> {
    let table = match table {
        "business_units" => "business_units",
        "idcs" => "idcs",
        other => return Err(WriteError::Invalid(format!("unknown list {other}"))),
    };
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(WriteError::Invalid("a name needs 1 to 100 characters".into()));
    }
    let added = conn.prepare_cached(&format!("INSERT OR IGNORE INTO {table} (name) VALUES (?1)"))?.execute([name])? > 0;
    if added {
        crate::users::audit(conn, actor, &format!("{table}.add"), name, "", now)?;
    }
    Ok(added)
}

/// The latest admin events (keys, users, lists, imports), newest first.
pub fn admin_events(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<Value>> {
    conn.prepare_cached("SELECT at, actor, action, target, detail FROM admin_events ORDER BY id DESC LIMIT ?1")?
        .query_map([limit], |r| {
            Ok(json!({"at": rfc3339(r.get(0)?), "actor": r.get::<_, String>(1)?, "action": r.get::<_, String>(2)?,
                      "target": r.get::<_, Option<String>>(3)?, "detail": r.get::<_, Option<String>>(4)?}))
        })?
        .collect()
}
