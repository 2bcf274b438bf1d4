//! Reading and editing the inventory: the queries behind the API, the console and the admin
//! CLI, and the admin writes (manual entry, assignment, renames). Every write records a change
//! event with its actor. Every statement is parameterised; sort orders come from a fixed list.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::changelog::record;
use crate::domain::components::Event;
use crate::domain::error::{Error, Result};
use crate::store::{Db, DbExt, Engine, Row, Value as SqlValue, rfc3339};

/// Statuses an admin may set. "offline" is derived: online with no report for a while.
pub const STATUSES: &[&str] = &["discovered", "online", "in_stock", "retired"];

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
    /// Only assets with a larger id: with `sort` by id, a cursor that pages without OFFSET.
    pub after_id: Option<i64>,
}

/// One page of assets.
#[derive(Debug, Serialize)]
pub struct AssetPage {
    /// Matching assets in all pages: exact, or (with `total_exact` false) a lower bound when a
    /// filter other than status matches more than [`EXACT_COUNT_UP_TO`].
    pub total: u64,
    /// Whether `total` is exact.
    pub total_exact: bool,
    /// This page.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// The rows.
    pub assets: Vec<Value>,
}

/// Filtered lists (business unit, IDC, free text) are counted exactly up to this many matches;
/// beyond, the total is this bound (`total_exact: false`), so that a broad filter over a million
/// assets costs a bounded count rather than a scan. Lists by status alone are always exact.
pub const EXACT_COUNT_UP_TO: u64 = 10_000;

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
    a.cpu_cores, a.memory_bytes, a.uuid, a.first_seen, a.source, a.created_at, a.mismatches, a.purchase, a.enrolment, \
    a.claim, a.claim_request";

fn asset_json(r: &Row, offline_cutoff: i64) -> Result<Value> {
    let status: String = r.get(3)?;
    let last_seen: Option<i64> = r.get(13)?;
    let effective =
        if status == "online" && last_seen.is_some_and(|t| t < offline_cutoff) { "offline".to_owned() } else { status };
    Ok(json!({
        "id": r.get::<i64>(0)?,
        "hostname": r.get::<Option<String>>(1)?,
        "serial_number": r.get::<Option<String>>(2)?,
        "status": effective,
        "manufacturer": r.get::<Option<String>>(4)?,
        "model": r.get::<Option<String>>(5)?,
        "os": r.get::<Option<String>>(6)?,
        "ips": r.get::<Option<String>>(7)?.map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>()).unwrap_or_default(),
        "macs": r.get::<Option<String>>(8)?.map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>()).unwrap_or_default(),
        "business_unit": r.get::<Option<String>>(9)?,
        "idc": r.get::<Option<String>>(10)?,
        "rack": r.get::<Option<String>>(11)?,
        "position": r.get::<Option<String>>(12)?,
        "last_seen": last_seen.map(rfc3339),
        "virtual": r.get::<bool>(14)?,
        "reported_hostname": r.get::<Option<String>>(15)?,
        "last_mode": r.get::<Option<String>>(16)?,
        "cpu_model": r.get::<Option<String>>(17)?,
        "cpu_cores": r.get::<Option<i64>>(18)?,
        "memory_bytes": r.get::<Option<i64>>(19)?,
        "uuid": r.get::<Option<String>>(20)?,
        "first_seen": r.get::<Option<i64>>(21)?.map(rfc3339),
        "source": r.get::<String>(22)?,
        "created_at": rfc3339(r.get::<i64>(23)?),
        "mismatches": r.get::<Option<String>>(24)?.and_then(|m| serde_json::from_str::<Value>(&m).ok()).unwrap_or(Value::Array(vec![])),
        "purchase": r.get::<Option<String>>(25)?.and_then(|m| serde_json::from_str::<Value>(&m).ok()),
        "enrolment": r.get::<String>(26)?,
        "claim": r.get::<Option<String>>(27)?,
        "claim_request": r.get::<Option<String>>(28)?.and_then(|m| serde_json::from_str::<Value>(&m).ok()),
    }))
}

/// The asset list. `offline_cutoff`: online assets last seen before this count as offline.
///
/// Built for 100,000 assets: the count runs on the filter columns' indexes without joins; the
/// page is chosen on the sort column's index (on SQLite a `+` keeps the planner from preferring
/// a filter index and sorting everything) and only its rows are joined; free text goes through
/// the trigram index.
pub fn list_assets(db: &mut dyn Db, f: &AssetFilter, offline_cutoff: i64) -> Result<AssetPage> {
    let per_page = f.per_page.unwrap_or(50).clamp(1, 500);
    let page = f.page.unwrap_or(1).max(1);
    let Some(Matching { count_where, page_where, args }) = matching(db, f, offline_cutoff) else {
        return Ok(AssetPage { total: 0, total_exact: true, page, per_page, assets: Vec::new() });
    };
    let (total, total_exact) = totals(db, f, &count_where, &args, offline_cutoff)?;
    let n = args.len();
    let mut page_args = args;
    page_args.push(i64::from(per_page).into());
    page_args.push((i64::from(page - 1) * i64::from(per_page)).into());
    let order = sort_clause(f.sort.as_deref());
    let sql = format!(
        "SELECT {ASSET_COLUMNS} FROM assets a LEFT JOIN business_units bu ON bu.id = a.business_unit_id \
         LEFT JOIN idcs idc ON idc.id = a.idc_id WHERE a.id IN \
         (SELECT a.id FROM assets a {} ORDER BY {order} LIMIT ?{} OFFSET ?{}) ORDER BY {order}",
        where_clause(&page_where),
        n + 1,
        n + 2
    );
    let assets =
        db.query(&sql, &page_args)?.iter().map(|r| asset_json(r, offline_cutoff)).collect::<Result<Vec<_>>>()?;
    Ok(AssetPage { total, total_exact, page, per_page, assets })
}

/// The list's total: exact by status (from the counts), else counted up to
/// [`EXACT_COUNT_UP_TO`].
fn totals(
    db: &mut dyn Db,
    f: &AssetFilter,
    count_where: &[String],
    args: &[SqlValue],
    offline_cutoff: i64,
) -> Result<(u64, bool)> {
    let by_status_only = f.after_id.is_none()
        && [&f.business_unit, &f.idc, &f.q].iter().all(|v| v.as_deref().is_none_or(|s| s.trim().is_empty()));
    if by_status_only {
        return Ok((status_total(db, f.status.as_deref().filter(|s| !s.is_empty()), offline_cutoff)?, true));
    }
    let n = bounded_count(db, count_where, args, EXACT_COUNT_UP_TO + 1)?;
    Ok((n.min(EXACT_COUNT_UP_TO), n <= EXACT_COUNT_UP_TO))
}

/// How many assets match `f`, counting no further than `up_to`.
pub fn count_matching(db: &mut dyn Db, f: &AssetFilter, offline_cutoff: i64, up_to: u64) -> Result<u64> {
    match matching(db, f, offline_cutoff) {
        Some(Matching { count_where, args, .. }) => bounded_count(db, &count_where, &args, up_to),
        None => Ok(0),
    }
}

fn bounded_count(db: &mut dyn Db, conditions: &[String], args: &[SqlValue], up_to: u64) -> Result<u64> {
    let mut count_args = args.to_vec();
    count_args.push((up_to as i64).into());
    let n: i64 = db.scalar(
        &format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM assets a {} LIMIT ?{}) bounded",
            where_clause(conditions),
            args.len() + 1
        ),
        &count_args,
    )?;
    Ok(n as u64)
}

/// Up to `limit` assets matching `f` (its paging and sort ignored) with ids above `after_id`, in
/// id order: an export walks the whole list this way, a batch at a time, at the same cost per
/// batch however deep it is (no OFFSET).
pub fn assets_after(
    db: &mut dyn Db,
    f: &AssetFilter,
    after_id: i64,
    limit: u32,
    offline_cutoff: i64,
) -> Result<Vec<Value>> {
    let Some(Matching { mut page_where, mut args, .. }) = matching(db, f, offline_cutoff) else {
        return Ok(Vec::new());
    };
    page_where.push(format!("a.id > ?{}", args.len() + 1));
    args.push(after_id.into());
    args.push(i64::from(limit).into());
    let sql = format!(
        "SELECT {ASSET_COLUMNS} FROM assets a LEFT JOIN business_units bu ON bu.id = a.business_unit_id \
         LEFT JOIN idcs idc ON idc.id = a.idc_id {} ORDER BY a.id LIMIT ?{}",
        where_clause(&page_where),
        args.len()
    );
    db.query(&sql, &args)?.iter().map(|r| asset_json(r, offline_cutoff)).collect()
}

/// Adds each asset's components (`{"kind": [data, ...]}`, as on the detail) to a page of
/// assets, in one query for the page.
pub fn with_components(db: &mut dyn Db, assets: &mut [Value]) -> Result<()> {
    let ids: Vec<SqlValue> = assets.iter().filter_map(|a| a["id"].as_i64()).map(SqlValue::from).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("?{i}")).collect();
    let rows = db.query(
        &format!(
            "SELECT asset_id, kind, key, data FROM components WHERE asset_id IN ({}) ORDER BY asset_id, kind, key",
            placeholders.join(", ")
        ),
        &ids,
    )?;
    let mut by_asset: std::collections::HashMap<i64, Vec<(String, String, String)>> = Default::default();
    for r in &rows {
        by_asset.entry(r.get(0)?).or_default().push((r.get(1)?, r.get(2)?, r.get(3)?));
    }
    for asset in assets.iter_mut() {
        let id = asset["id"].as_i64().unwrap_or_default();
        let components = group_components(by_asset.remove(&id).unwrap_or_default());
        if let Value::Object(m) = asset {
            m.insert("components".into(), components);
        }
    }
    Ok(())
}

/// Components by kind, each list in natural order of its slot or name (DIMM_A2 before DIMM_A10,
/// 32:2 before 32:10), each item with its identity key as `_key`.
fn group_components(rows: Vec<(String, String, String)>) -> Value {
    let mut components = serde_json::Map::new();
    for (kind, key, data) in rows {
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
    Value::Object(components)
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) }
}

/// A filter as SQL: the conditions for counting and for choosing a page (the same, but on
/// SQLite with index hints), and their arguments.
struct Matching {
    count_where: Vec<String>,
    page_where: Vec<String>,
    args: Vec<SqlValue>,
}

/// `f` as SQL conditions; `None` when it can match nothing.
fn matching(db: &mut dyn Db, f: &AssetFilter, offline_cutoff: i64) -> Option<Matching> {
    // Search text is data: a control character (NUL, newline) is in no hostname, serial, IP or
    // MAC, so such a query matches nothing, and never reaches the full-text parser.
    if f.q.as_deref().is_some_and(|q| q.chars().any(char::is_control)) {
        return None;
    }
    // On SQLite `+col` disables an index for the page query; PostgreSQL has no such hint.
    let hint = if db.engine() == Engine::Sqlite { "+" } else { "" };
    let mut count_where: Vec<String> = Vec::new();
    let mut page_where: Vec<String> = Vec::new();
    let mut args: Vec<SqlValue> = Vec::new();
    // Each condition's placeholders are numbered as its arguments are pushed.
    let mut both =
        |args: &mut Vec<SqlValue>, cond: &dyn Fn(&str, &dyn Fn() -> String) -> String, values: Vec<SqlValue>| {
            let first = args.len() + 1;
            let numbers = std::cell::Cell::new(first);
            let next = || {
                let n = numbers.get();
                numbers.set(n + 1);
                format!("?{n}")
            };
            count_where.push(cond("", &next));
            numbers.set(first);
            page_where.push(cond(hint, &next));
            args.extend(values);
        };
    match f.status.as_deref().filter(|s| !s.is_empty()) {
        Some("offline") => both(
            &mut args,
            &|h, p| format!("{h}a.status = 'online' AND {h}a.last_seen < {}", p()),
            vec![offline_cutoff.into()],
        ),
        Some("online") => both(
            &mut args,
            &|h, p| format!("{h}a.status = 'online' AND ({h}a.last_seen IS NULL OR {h}a.last_seen >= {})", p()),
            vec![offline_cutoff.into()],
        ),
        Some(s) => both(&mut args, &|h, p| format!("{h}a.status = {}", p()), vec![s.into()]),
        None => {}
    }
    if let Some(bu) = f.business_unit.as_deref().filter(|s| !s.is_empty()) {
        both(
            &mut args,
            &|h, p| format!("{h}a.business_unit_id = (SELECT id FROM business_units WHERE name = {})", p()),
            vec![bu.into()],
        );
    }
    if let Some(after) = f.after_id {
        // Never hinted away: the primary key's range is the way in.
        both(&mut args, &|_, p| format!("a.id > {}", p()), vec![after.into()]);
    }
    if let Some(idc) = f.idc.as_deref().filter(|s| !s.is_empty()) {
        both(&mut args, &|h, p| format!("{h}a.idc_id = (SELECT id FROM idcs WHERE name = {})", p()), vec![idc.into()]);
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if db.engine() == Engine::Postgres {
            // The pg_trgm GIN index over the text with punctuation spelled as letters
            // (migrations/postgres/0005) finds the candidates; the plain text keeps the match
            // exact. Case-insensitive like SQLite's trigram index; the term is a LIKE pattern
            // with its wildcards escaped, so it is data.
            const TEXT: &str = "lower(coalesce(a.hostname, '') || ' ' || coalesce(a.serial_number, '') || ' ' || \
                                coalesce(a.ips, '') || ' ' || coalesce(a.macs, ''))";
            let pattern = like(&q.to_lowercase());
            let spelled: String = pattern
                .chars()
                .map(|c| match c {
                    '.' => 'x',
                    ':' => 'y',
                    '-' => 'z',
                    c => c,
                })
                .collect();
            both(
                &mut args,
                &|_, p| {
                    let (spelled, plain) = (p(), p());
                    format!(
                        "translate({TEXT}, '.:-', 'xyz') LIKE {spelled} ESCAPE '\\' AND {TEXT} LIKE {plain} ESCAPE '\\'"
                    )
                },
                vec![spelled.into(), pattern.into()],
            );
        } else if q.chars().count() >= 3 {
            // The trigram index treats the term as a phrase: quotes doubled, so it is data.
            both(
                &mut args,
                &|_, p| format!("a.id IN (SELECT rowid FROM assets_fts WHERE assets_fts MATCH {})", p()),
                vec![format!("\"{}\"", q.replace('"', "\"\"")).into()],
            );
        } else {
            let pattern = like(q);
            both(
                &mut args,
                &|_, p| {
                    let (a, b, c, d) = (p(), p(), p(), p());
                    format!(
                        "(a.hostname LIKE {a} ESCAPE '\\' OR a.serial_number LIKE {b} ESCAPE '\\' OR a.ips LIKE {c} ESCAPE '\\' OR a.macs LIKE {d} ESCAPE '\\')"
                    )
                },
                vec![pattern.clone().into(), pattern.clone().into(), pattern.clone().into(), pattern.into()],
            );
        }
    }
    Some(Matching { count_where, page_where, args })
}

/// Assets with `status` (all assets when none), from the status counts.
fn status_total(db: &mut dyn Db, status: Option<&str>, offline_cutoff: i64) -> Result<u64> {
    let counts = status_counts(db, offline_cutoff)?;
    Ok(match status {
        None => counts.iter().map(|(_, n)| n).sum(),
        Some(s) => counts.iter().find(|(name, _)| name == s).map_or(0, |(_, n)| *n),
    })
}

/// One asset with its components, plugin errors, last changing report and change count.
pub fn asset_detail(db: &mut dyn Db, id: i64, offline_cutoff: i64) -> Result<Option<Value>> {
    let from = "FROM assets a LEFT JOIN business_units bu ON bu.id = a.business_unit_id LEFT JOIN idcs idc ON idc.id = a.idc_id";
    let Some(row) = db.query_opt(&format!("SELECT {ASSET_COLUMNS} {from} WHERE a.id = ?1"), crate::args![id])? else {
        return Ok(None);
    };
    let mut asset = asset_json(&row, offline_cutoff)?;
    let rows =
        db.query("SELECT kind, key, data FROM components WHERE asset_id = ?1 ORDER BY kind, key", crate::args![id])?;
    let components =
        group_components(rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).collect::<Result<_>>()?);
    let errors: Vec<Value> = db
        .query("SELECT plugin, message, at FROM plugin_errors WHERE asset_id = ?1 ORDER BY plugin", crate::args![id])?
        .iter()
        .map(|r| Ok(json!({"plugin": r.get::<String>(0)?, "message": r.get::<String>(1)?, "at": rfc3339(r.get(2)?)})))
        .collect::<Result<_>>()?;
    let row = db.query_one(
        "SELECT (SELECT report FROM asset_reports WHERE asset_id = ?1), (SELECT COUNT(*) FROM changes WHERE asset_id = ?1)",
        crate::args![id],
    )?;
    let (last_report, changes): (Option<String>, i64) = (row.get(0)?, row.get(1)?);
    let m = asset.as_object_mut().expect("asset_json builds an object");
    m.insert("components".into(), components);
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
fn change_json(r: &Row) -> Result<Value> {
    Ok(json!({
        "id": r.get::<i64>(0)?,
        "asset_id": r.get::<i64>(1)?,
        "report_id": r.get::<Option<String>>(2)?,
        "at": rfc3339(r.get(3)?),
        "component": r.get::<String>(4)?,
        "key": r.get::<Option<String>>(5)?,
        "kind": r.get::<String>(6)?,
        "field": r.get::<Option<String>>(7)?,
        "old": r.get::<Option<String>>(8)?,
        "new": r.get::<Option<String>>(9)?,
        "actor": r.get::<Option<String>>(10)?,
        "summary": r.get::<String>(11)?,
        "repeats": r.get::<i64>(12)?,
    }))
}

const CHANGE_COLUMNS: &str =
    "id, asset_id, report_id, at, component, key, kind, field, old, new, actor, summary, repeats";

/// An asset's change timeline, newest first; `before` pages backwards by change id.
pub fn asset_changes(db: &mut dyn Db, asset_id: i64, limit: u32, before: Option<i64>) -> Result<Vec<Value>> {
    db.query(
        &format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE asset_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"),
        crate::args![asset_id, before.unwrap_or(i64::MAX), limit.clamp(1, 1000)],
    )?
    .iter()
    .map(change_json)
    .collect()
}

/// All changes at or after `since` (unix time) and after change id `after_id`, oldest first:
/// a feed another system can follow by passing the last id it saw.
pub fn changes_since(db: &mut dyn Db, since: i64, after_id: i64, limit: u32) -> Result<Vec<Value>> {
    db.query(
        &format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE at >= ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
        crate::args![since, after_id, limit.clamp(1, 5000)],
    )?
    .iter()
    .map(change_json)
    .collect()
}

/// True when asset `id` exists.
pub fn asset_exists(db: &mut dyn Db, id: i64) -> Result<bool> {
    Ok(db.scalar("SELECT EXISTS (SELECT 1 FROM assets WHERE id = ?1)", crate::args![id])?)
}

/// The newest change id (0 when there is none): where the feed ends now.
pub fn last_change_id(db: &mut dyn Db) -> Result<i64> {
    Ok(db.scalar("SELECT COALESCE(MAX(id), 0) FROM changes", &[])?)
}

/// Hostnames an admin entered that have not reported since `day_start` (unix time).
pub fn pending_hosts(db: &mut dyn Db, day_start: i64) -> Result<Vec<String>> {
    Ok(db.column(
        "SELECT hostname FROM assets WHERE source = 'manual' AND status <> 'retired' AND hostname IS NOT NULL \
         AND (last_seen IS NULL OR last_seen < ?1) ORDER BY hostname",
        crate::args![day_start],
    )?)
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
    /// Let the first report signed with a fleet key that names this host bind it, without an
    /// admin's approval (the behaviour before version 9 of the schema). Off: the claim waits on
    /// the Discovered page until an admin approves it, unless the host is pre-enrolled.
    #[serde(default)]
    pub open_enrolment: bool,
}

impl NewAsset {
    /// Checks what can be checked without the database: the name and the status.
    pub fn check(&self) -> Result<()> {
        valid_hostname(&self.hostname)?;
        match self.status.as_deref() {
            Some(status) if !STATUSES.contains(&status) => {
                Err(Error::invalid_field("status", format!("status must be one of {}", STATUSES.join(", "))))
            }
            _ => Ok(()),
        }
    }
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

/// Checks a hostname entered by an admin: the same rule as names in reports
/// ([`assetkit_core::names::check_hostname`]).
pub fn valid_hostname(name: &str) -> Result<()> {
    assetkit_core::names::check_hostname(name)
        .map_err(|why| Error::invalid_field("hostname", format!("{:?} {why}", crate::log::clip(name))))
}

/// Which list a name belongs to: business units or IDCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameList {
    /// `business_units`.
    BusinessUnits,
    /// `idcs`.
    Idcs,
}

impl NameList {
    fn table(self) -> &'static str {
        match self {
            NameList::BusinessUnits => "business_units",
            NameList::Idcs => "idcs",
        }
    }
}

/// The id of `name` in `list`, created if new.
pub fn named_id(db: &mut dyn Db, list: NameList, name: Option<&str>) -> Result<Option<i64>> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    let table = list.table();
    db.execute(&format!("INSERT INTO {table} (name) VALUES (?1) ON CONFLICT (name) DO NOTHING"), crate::args![name])?;
    Ok(Some(db.scalar(&format!("SELECT id FROM {table} WHERE name = ?1"), crate::args![name])?))
}

/// The live asset other than `except` that goes by `name`, without regard to case: one live
/// asset per name, as DNS, Salt and the pillar compare names.
pub fn hostname_owner(db: &mut dyn Db, name: &str, except: Option<i64>) -> Result<Option<i64>> {
    Ok(db.scalar_opt(
        "SELECT id FROM assets WHERE lower(hostname) = lower(?1) AND status <> 'retired' AND id <> ?2 ORDER BY id LIMIT 1",
        crate::args![name, except.unwrap_or(-1)],
    )?)
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
pub fn create_asset(db: &mut dyn Db, input: &NewAsset, actor: &str, now: i64) -> Result<i64> {
    input.check()?;
    let hostname = input.hostname.as_str();
    if let Some(id) = hostname_owner(db, hostname, None)? {
        return Err(Error::HostnameTaken { hostname: hostname.to_owned(), owner: id });
    }
    let status = input.status.as_deref().unwrap_or("online");
    let bu = named_id(db, NameList::BusinessUnits, input.business_unit.as_deref())?;
    let idc = named_id(db, NameList::Idcs, input.idc.as_deref())?;
    let serial = input.serial_number.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let id: i64 = db.scalar(
        "INSERT INTO assets (hostname, serial_number, status, business_unit_id, idc_id, rack, position, source, created_at, updated_at, claim) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'manual', ?8, ?8, ?9) RETURNING id",
        crate::args![
            hostname,
            serial,
            status,
            bu,
            idc,
            &input.rack,
            &input.position,
            now,
            (!input.open_enrolment).then_some("approval")
        ],
    )?;
    record(
        db,
        id,
        None,
        now,
        Some(actor),
        &admin_event(None, None, Some(hostname), format!("asset {hostname} entered by {actor}"), "added"),
    )?;
    Ok(id)
}

/// Applies a patch; returns the number of change events recorded.
pub fn update_asset(db: &mut dyn Db, id: i64, patch: &AssetPatch, actor: &str, now: i64) -> Result<usize> {
    let Some(row) = db.query_opt(
        "SELECT a.hostname, a.status, bu.name, idc.name, a.rack, a.position FROM assets a \
         LEFT JOIN business_units bu ON bu.id = a.business_unit_id LEFT JOIN idcs idc ON idc.id = a.idc_id WHERE a.id = ?1",
        crate::args![id],
    )?
    else {
        return Err(Error::NotFound(format!("no asset {id}")));
    };
    let hostname: Option<String> = row.get(0)?;
    let status: String = row.get(1)?;
    let (bu, idc, rack, position): (Option<String>, Option<String>, Option<String>, Option<String>) =
        (row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?);
    let norm = |v: &Option<String>| v.as_deref().map(str::trim).map(|s| (!s.is_empty()).then(|| s.to_owned()));
    let mut events = Vec::new();
    // A name is taken as given (a form trims what a person typed before it gets here).
    if let Some(new) = patch.hostname.as_deref().map(|s| (!s.is_empty()).then(|| s.to_owned())) {
        let Some(new) = new else { return Err(Error::invalid_field("hostname", "hostname cannot be cleared")) };
        valid_hostname(&new)?;
        if hostname.as_deref() != Some(new.as_str()) {
            if let Some(owner) = hostname_owner(db, &new, Some(id))? {
                return Err(Error::HostnameTaken { hostname: new, owner });
            }
            if let Some(old) = &hostname {
                // The old name keeps finding this asset: a host whose cert file still holds it
                // is told the new name instead of becoming a duplicate.
                db.execute(
                    "INSERT INTO asset_names (name, asset_id, until) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (name, asset_id) DO UPDATE SET until = excluded.until",
                    crate::args![old.as_str(), id, now],
                )?;
            }
            db.execute("DELETE FROM asset_names WHERE name = ?1 AND asset_id = ?2", crate::args![new.as_str(), id])?;
            db.execute("UPDATE assets SET hostname = ?2 WHERE id = ?1", crate::args![id, new.as_str()])?;
            events.push(admin_event(
                Some("hostname"),
                hostname.as_deref(),
                Some(&new),
                format!("renamed {} → {new} by {actor}", hostname.as_deref().unwrap_or("(none)")),
                "changed",
            ));
        }
    }
    for (field, list, column, old, value) in [
        ("business_unit", NameList::BusinessUnits, "business_unit_id", &bu, &patch.business_unit),
        ("idc", NameList::Idcs, "idc_id", &idc, &patch.idc),
    ] {
        if let Some(new) = norm(value)
            && new != *old
        {
            let new_id = named_id(db, list, new.as_deref())?;
            db.execute(&format!("UPDATE assets SET {column} = ?2 WHERE id = ?1"), crate::args![id, new_id])?;
            events.push(admin_event(
                Some(field),
                old.as_deref(),
                new.as_deref(),
                format!("{field} set to {} by {actor}", new.as_deref().unwrap_or("(none)")),
                "changed",
            ));
        }
    }
    for (field, old, value) in [("rack", &rack, &patch.rack), ("position", &position, &patch.position)] {
        if let Some(new) = norm(value)
            && new != *old
        {
            db.execute(&format!("UPDATE assets SET {field} = ?2 WHERE id = ?1"), crate::args![id, &new])?;
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
            return Err(Error::invalid_field("status", "offline is derived from last_seen and cannot be set"));
        }
        Some(_) => {
            return Err(Error::invalid_field("status", format!("status must be one of {}", STATUSES.join(", "))));
        }
        None => None,
    };
    if new_status.is_none() && status == "discovered" {
        // A discovered asset is complete once it has a business unit, an IDC and a rack.
        let complete: bool = db.scalar(
            "SELECT business_unit_id IS NOT NULL AND idc_id IS NOT NULL AND rack IS NOT NULL FROM assets WHERE id = ?1",
            crate::args![id],
        )?;
        if complete {
            new_status = Some("online".into());
        }
    }
    if let Some(s) = new_status.filter(|s| *s != status) {
        db.execute("UPDATE assets SET status = ?2 WHERE id = ?1", crate::args![id, s.as_str()])?;
        events.push(admin_event(
            Some("status"),
            Some(&status),
            Some(&s),
            format!("status {status} → {s} by {actor}"),
            "changed",
        ));
    }
    if !events.is_empty() {
        db.execute("UPDATE assets SET updated_at = ?2 WHERE id = ?1", crate::args![id, now])?;
    }
    for e in &events {
        record(db, id, None, now, Some(actor), e)?;
    }
    Ok(events.len())
}

/// Assets per status, offline split out of online: summed from the status-count deltas, and
/// one range of the (status, last_seen) index.
pub fn status_counts(db: &mut dyn Db, offline_cutoff: i64) -> Result<Vec<(String, u64)>> {
    let mut counts: Vec<(String, u64)> = STATUSES.iter().map(|s| ((*s).to_owned(), 0)).collect();
    counts.insert(2, ("offline".to_owned(), 0));
    for row in db.query("SELECT status, CAST(SUM(delta) AS BIGINT) FROM asset_counts GROUP BY status", &[])? {
        let (status, n): (String, i64) = (row.get(0)?, row.get(1)?);
        if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == status) {
            entry.1 = n.max(0) as u64;
        }
    }
    let offline = offline_count(db, offline_cutoff)?;
    for (status, n) in counts.iter_mut() {
        match status.as_str() {
            "offline" => *n = offline,
            "online" => *n = n.saturating_sub(offline),
            _ => {}
        }
    }
    Ok(counts)
}

/// Online assets not seen since `offline_cutoff`.
fn offline_count(db: &mut dyn Db, offline_cutoff: i64) -> Result<u64> {
    let n: i64 = db.scalar(
        "SELECT COUNT(*) FROM assets WHERE status = 'online' AND last_seen < ?1",
        crate::args![offline_cutoff],
    )?;
    Ok(n as u64)
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
pub fn choices(db: &mut dyn Db) -> Result<Choices> {
    Ok(Choices {
        business_units: db.column("SELECT name FROM business_units ORDER BY name", &[])?,
        idcs: db.column("SELECT name FROM idcs ORDER BY name", &[])?,
    })
}

/// Adds a business unit or an IDC; false when it already exists.
pub fn add_name(db: &mut dyn Db, list: NameList, name: &str, actor: &str, now: i64) -> Result<bool> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(Error::invalid_field("name", "a name needs 1 to 100 characters"));
    }
    let table = list.table();
    let added = db.execute(
        &format!("INSERT INTO {table} (name) VALUES (?1) ON CONFLICT (name) DO NOTHING"),
        crate::args![name],
    )? > 0;
    if added {
        crate::domain::audit::record(db, actor, &format!("{table}.add"), name, "", now)?;
    }
    Ok(added)
}
