//! The asset list: filters, sorts, bounded counts served by indexes, pages chosen on the sort
//! index, keyset batches for exports, and the status counts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::presence::IN_SERVICE;
use super::row::{ASSET_COLUMNS, STATUSES, asset_json, group_components};
use crate::domain::error::Result;
use crate::store::{Db, DbExt, Engine, Value as SqlValue};

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
    /// Only assets with a package installed (a name, and a manager, architecture and version
    /// bounds in the manager's own order).
    #[serde(flatten)]
    pub packages: crate::domain::software::PackageFilter,
    /// The filters people reach for beyond status and place (read from the query string by
    /// `http::params::list_filter`).
    #[serde(skip)]
    pub more: Narrowing,
}

/// Filters on what an asset is and whose it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Narrowing {
    /// A tag it carries.
    pub tag: Option<String>,
    /// Its owner's name or e-mail, without regard to case.
    pub owner: Option<String>,
    /// Manufacturer, exact.
    pub manufacturer: Option<String>,
    /// Model, exact.
    pub model: Option<String>,
    /// OS as listed, exact.
    pub os: Option<String>,
    /// A VM or container (true) or a physical machine (false).
    pub is_virtual: Option<bool>,
    /// At least this much memory, GiB.
    pub memory_min_gib: Option<i64>,
    /// Less memory than this, GiB.
    pub memory_below_gib: Option<i64>,
    /// At least this many CPU cores.
    pub cores_min: Option<i64>,
    /// At most this many CPU cores.
    pub cores_max: Option<i64>,
    /// No report for at least this many days (or never).
    pub not_seen_days: Option<i64>,
    /// Guests of this hypervisor.
    pub hypervisor_id: Option<i64>,
    /// Instances of this cloud provider.
    pub cloud: Option<String>,
    /// A warranty ending within this many days from today (not already ended).
    pub warranty_within_days: Option<i64>,
    /// Custom field values, `cf_NAME=VALUE`: each must hold.
    pub fields: Vec<(String, String)>,
}

impl Narrowing {
    /// Whether any filter is set.
    pub fn is_set(&self) -> bool {
        *self != Narrowing::default()
    }

    /// The filters set, as query parameters (`http::params::narrowing` reads them back).
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in [
            ("tag", &self.tag),
            ("owner", &self.owner),
            ("manufacturer", &self.manufacturer),
            ("model", &self.model),
            ("os", &self.os),
            ("cloud", &self.cloud),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                out.push((k.into(), v.into()));
            }
        }
        if let Some(v) = self.is_virtual {
            out.push(("virtual".into(), v.to_string()));
        }
        for (k, v) in [
            ("memory_min_gib", self.memory_min_gib),
            ("memory_below_gib", self.memory_below_gib),
            ("cores_min", self.cores_min),
            ("cores_max", self.cores_max),
            ("not_seen_days", self.not_seen_days),
            ("hypervisor_id", self.hypervisor_id),
            ("warranty_within_days", self.warranty_within_days),
        ] {
            if let Some(v) = v {
                out.push((k.into(), v.to_string()));
            }
        }
        out.extend(self.fields.iter().map(|(k, v)| (format!("cf_{k}"), v.clone())));
        out
    }
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

/// `order` with each sort column but the id as an expression no index serves (same values,
/// same collation).
fn unindexed(order: &str) -> String {
    order
        .split(", ")
        .map(|part| {
            let (column, dir) = part.split_once(' ').map_or((part, ""), |(c, d)| (c, d));
            let expr = match column {
                "a.id" => column.to_owned(),
                "a.last_seen" => format!("({column} + 0)"),
                _ => format!("({column} || '')"),
            };
            if dir.is_empty() { expr } else { format!("{expr} {dir}") }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn like(term: &str) -> String {
    let escaped = term.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
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
    let Some(m) = matching(db, f, offline_cutoff) else {
        return Ok(AssetPage { total: 0, total_exact: true, page, per_page, assets: Vec::new() });
    };
    let (total, total_exact) = totals(db, f, &m, offline_cutoff)?;
    let Matching { count_where, page_where, args, .. } = m;
    let n = args.len();
    let mut page_args = args;
    page_args.push(i64::from(per_page).into());
    page_args.push((i64::from(page - 1) * i64::from(per_page)).into());
    let order = sort_clause(f.sort.as_deref());
    // A filter that the count found to match few assets: the page is chosen by sorting those
    // (the sort key as an expression, so no planner walks the sort column's index hoping to meet
    // matches early: a tag whose assets all sort last would make it read nearly every row).
    let few = total_exact && total <= EXACT_COUNT_UP_TO && !count_where.is_empty();
    let inner_order = if few { unindexed(order) } else { order.to_owned() };
    let sql = format!(
        "SELECT {ASSET_COLUMNS} FROM assets a LEFT JOIN business_units bu ON bu.id = a.business_unit_id \
         LEFT JOIN idcs idc ON idc.id = a.idc_id WHERE a.id IN \
         (SELECT a.id FROM assets a {} ORDER BY {inner_order} LIMIT ?{} OFFSET ?{}) ORDER BY {order}",
        where_clause(&page_where),
        n + 1,
        n + 2
    );
    let mut assets =
        db.query(&sql, &page_args)?.iter().map(|r| asset_json(r, offline_cutoff)).collect::<Result<Vec<_>>>()?;
    super::ownership::with_extras(db, &mut assets, false)?;
    Ok(AssetPage { total, total_exact, page, per_page, assets })
}

/// The list's total: exact by status (from the counts), else counted up to
/// [`EXACT_COUNT_UP_TO`].
fn totals(db: &mut dyn Db, f: &AssetFilter, m: &Matching, offline_cutoff: i64) -> Result<(u64, bool)> {
    let Matching { count_where, args, .. } = m;
    let by_status_only = f.after_id.is_none()
        && !f.packages.is_set()
        && !f.more.is_set()
        && [&f.business_unit, &f.idc, &f.q].iter().all(|v| v.as_deref().is_none_or(|s| s.trim().is_empty()));
    if by_status_only {
        return Ok((status_total(db, f.status.as_deref().filter(|s| !s.is_empty()), offline_cutoff)?, true));
    }
    if f.packages.is_set() {
        // Exact whatever the number: the hosts holding a package are an index range each, and
        // the software list's counts must be this list's length.
        if let (Some(ids), [_alone]) = (&m.packages, count_where.as_slice()) {
            return Ok((hosts_holding(db, ids)?, true));
        }
        return Ok((bounded_count(db, count_where, args, u64::MAX >> 1)?, true));
    }
    let n = bounded_count(db, count_where, args, EXACT_COUNT_UP_TO + 1)?;
    Ok((n.min(EXACT_COUNT_UP_TO), n <= EXACT_COUNT_UP_TO))
}

/// How many hosts hold any of the packages `ids`: read from the index by package
/// alone, without visiting an asset (every link's asset exists: deleting one deletes its links).
/// 20,000 hosts of 100,000 are 20,000 index entries, where joining the assets read all 100,000.
fn hosts_holding(db: &mut dyn Db, ids: &[i64]) -> Result<u64> {
    let (held, ids) = crate::domain::software::store::package_in(db.engine(), 1, ids);
    let n: i64 = db.scalar(
        &format!("SELECT COUNT(*) FROM (SELECT DISTINCT ap.asset_id FROM asset_packages ap WHERE {held}) holding"),
        crate::args![ids],
    )?;
    Ok(n as u64)
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
    extras: bool,
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
    let mut assets =
        db.query(&sql, &args)?.iter().map(|r| asset_json(r, offline_cutoff)).collect::<Result<Vec<_>>>()?;
    if extras {
        super::ownership::with_extras(db, &mut assets, true)?;
    }
    Ok(assets)
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

/// `WHERE a AND b ...`, or nothing for no conditions.
pub fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) }
}

/// A filter as SQL: the conditions for counting and for choosing a page (the same, but on
/// SQLite with index hints), and their arguments.
struct Matching {
    count_where: Vec<String>,
    page_where: Vec<String>,
    args: Vec<SqlValue>,
    /// The ids of the packages a package filter selects.
    packages: Option<Vec<i64>>,
}

/// Conditions being built: each pushed twice (for counting, and hinted for the page), its
/// placeholders numbered as its arguments are pushed.
struct Conditions {
    hint: &'static str,
    m: Matching,
}

impl Conditions {
    fn both(&mut self, cond: &dyn Fn(&str, &dyn Fn() -> String) -> String, values: Vec<SqlValue>) {
        let first = self.m.args.len() + 1;
        let numbers = std::cell::Cell::new(first);
        let next = || {
            let n = numbers.get();
            numbers.set(n + 1);
            format!("?{n}")
        };
        self.m.count_where.push(cond("", &next));
        numbers.set(first);
        self.m.page_where.push(cond(self.hint, &next));
        self.m.args.extend(values);
    }
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
    let mut c = Conditions {
        hint,
        m: Matching { count_where: Vec::new(), page_where: Vec::new(), args: Vec::new(), packages: None },
    };
    match f.status.as_deref().filter(|s| !s.is_empty()) {
        Some("offline") => c.both(
            &|h, p| format!("{h}a.status IN {IN_SERVICE} AND {h}a.last_seen < {}", p()),
            vec![offline_cutoff.into()],
        ),
        Some(s @ ("online" | "discovered")) => c.both(
            &|h, p| format!("{h}a.status = {} AND ({h}a.last_seen IS NULL OR {h}a.last_seen >= {})", p(), p()),
            vec![s.into(), offline_cutoff.into()],
        ),
        Some(s) => c.both(&|h, p| format!("{h}a.status = {}", p()), vec![s.into()]),
        None => {}
    }
    if let Some(bu) = f.business_unit.as_deref().filter(|s| !s.is_empty()) {
        c.both(
            &|h, p| format!("{h}a.business_unit_id = (SELECT id FROM business_units WHERE name = {})", p()),
            vec![bu.into()],
        );
    }
    if f.packages.is_set() {
        package_condition(db, &mut c, f)?;
    }
    if let Some(after) = f.after_id {
        // Never hinted away: the primary key's range is the way in.
        c.both(&|_, p| format!("a.id > {}", p()), vec![after.into()]);
    }
    if let Some(idc) = f.idc.as_deref().filter(|s| !s.is_empty()) {
        c.both(&|h, p| format!("{h}a.idc_id = (SELECT id FROM idcs WHERE name = {})", p()), vec![idc.into()]);
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        text_condition(db.engine(), &mut c, q);
    }
    if f.more.is_set() {
        narrowing(db, &mut c, &f.more)?;
    }
    Some(c.m)
}

/// What an asset is and whose it is; `None` when a custom field named does not exist (nothing
/// can match).
fn narrowing(db: &mut dyn Db, c: &mut Conditions, n: &Narrowing) -> Option<()> {
    const GIB: i64 = 1 << 30;
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(tag) = text(&n.tag) {
        c.both(&|_, p| format!("a.id IN (SELECT asset_id FROM asset_tags WHERE tag = {})", p()), vec![tag.into()]);
    }
    if let Some(owner) = text(&n.owner) {
        c.both(
            &|_, p| format!("(lower(a.owner_name) = lower({}) OR lower(a.owner_email) = lower({}))", p(), p()),
            vec![owner.clone().into(), owner.into()],
        );
    }
    for (column, value) in
        [("manufacturer", &n.manufacturer), ("model", &n.model), ("os", &n.os), ("cloud_provider", &n.cloud)]
    {
        if let Some(v) = text(value) {
            c.both(&|h, p| format!("{h}a.{column} = {}", p()), vec![v.into()]);
        }
    }
    if let Some(v) = n.is_virtual {
        c.both(&|h, p| format!("{h}a.virtual = {}", p()), vec![i64::from(v).into()]);
    }
    let ranges: [(&str, &str, Option<i64>); 4] = [
        ("memory_bytes", ">=", n.memory_min_gib.map(|g| g.saturating_mul(GIB))),
        ("memory_bytes", "<", n.memory_below_gib.map(|g| g.saturating_mul(GIB))),
        ("cpu_cores", ">=", n.cores_min),
        ("cpu_cores", "<=", n.cores_max),
    ];
    for (column, op, bound) in ranges {
        if let Some(b) = bound {
            c.both(&|h, p| format!("{h}a.{column} {op} {}", p()), vec![b.into()]);
        }
    }
    if let Some(days) = n.not_seen_days {
        let cutoff = crate::store::now() - days.saturating_mul(86_400);
        c.both(&|h, p| format!("({h}a.last_seen IS NULL OR {h}a.last_seen < {})", p()), vec![cutoff.into()]);
    }
    if let Some(id) = n.hypervisor_id {
        c.both(&|_, p| format!("a.hypervisor_id = {}", p()), vec![id.into()]);
    }
    if let Some(days) = n.warranty_within_days {
        let now = crate::store::now();
        let (today, until) = (day_of(now)?, day_of(now + days.clamp(0, 36_500) * 86_400)?);
        c.both(
            &|_, p| format!("a.warranty_end >= {} AND a.warranty_end <= {}", p(), p()),
            vec![today.into(), until.into()],
        );
    }
    for (name, value) in &n.fields {
        let field = crate::domain::fields::by_name(db, name).ok()??;
        let value = field.normalise(value).ok()?;
        c.both(
            &|_, p| format!("a.id IN (SELECT asset_id FROM asset_fields WHERE field_id = {} AND value = {})", p(), p()),
            vec![field.id.into(), value.into()],
        );
    }
    Some(())
}

/// The UTC date (YYYY-MM-DD) of a unix time.
pub(crate) fn day_of(unix: i64) -> Option<String> {
    let t = jiff::Timestamp::from_second(unix).ok()?.to_string();
    t.get(..10).map(str::to_owned)
}

/// Assets holding a package `f` selects (compared in the manager's version order); `None` when
/// no package matches, so nothing can.
fn package_condition(db: &mut dyn Db, c: &mut Conditions, f: &AssetFilter) -> Option<()> {
    let ids = crate::domain::software::package_ids(db, &f.packages).ok()?;
    if ids.is_empty() {
        return None;
    }
    let (held, value) = crate::domain::software::store::package_in(db.engine(), c.m.args.len() + 1, &ids);
    c.both(&|_, _| format!("a.id IN (SELECT ap.asset_id FROM asset_packages ap WHERE {held})"), vec![value.into()]);
    c.m.packages = Some(ids);
    Some(())
}

/// Free text over hostname, serial, IPs and MACs.
fn text_condition(engine: Engine, c: &mut Conditions, q: &str) {
    if engine == Engine::Postgres {
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
        c.both(
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
        c.both(
            &|_, p| format!("a.id IN (SELECT rowid FROM assets_fts WHERE assets_fts MATCH {})", p()),
            vec![format!("\"{}\"", q.replace('"', "\"\"")).into()],
        );
    } else {
        let pattern = like(q);
        c.both(
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

/// Assets with `status` (all assets when none), from the status counts.
fn status_total(db: &mut dyn Db, status: Option<&str>, offline_cutoff: i64) -> Result<u64> {
    let counts = status_counts(db, offline_cutoff)?;
    Ok(match status {
        None => counts.iter().map(|(_, n)| n).sum(),
        Some(s) => counts.iter().find(|(name, _)| name == s).map_or(0, |(_, n)| *n),
    })
}

/// Assets per status, offline split out of online and discovered: summed from the status-count
/// deltas, and one range of the (status, last_seen) index per status in service.
pub fn status_counts(db: &mut dyn Db, offline_cutoff: i64) -> Result<Vec<(String, u64)>> {
    let mut counts: Vec<(String, u64)> = STATUSES.iter().map(|s| ((*s).to_owned(), 0)).collect();
    counts.insert(2, ("offline".to_owned(), 0));
    for row in db.query("SELECT status, CAST(SUM(delta) AS BIGINT) FROM asset_counts GROUP BY status", &[])? {
        let (status, n): (String, i64) = (row.get(0)?, row.get(1)?);
        if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == status) {
            entry.1 = n.max(0) as u64;
        }
    }
    let mut offline = 0;
    for (status, n) in counts.iter_mut().filter(|(s, _)| s == "online" || s == "discovered") {
        let silent = offline_count(db, status, offline_cutoff)?;
        *n = n.saturating_sub(silent);
        offline += silent;
    }
    if let Some(entry) = counts.iter_mut().find(|(s, _)| s == "offline") {
        entry.1 = offline;
    }
    Ok(counts)
}

/// Assets of `status` that reported, but not since `offline_cutoff`.
fn offline_count(db: &mut dyn Db, status: &str, offline_cutoff: i64) -> Result<u64> {
    let n: i64 = db.scalar(
        "SELECT COUNT(*) FROM assets WHERE status = ?1 AND last_seen < ?2",
        crate::args![status, offline_cutoff],
    )?;
    Ok(n as u64)
}
