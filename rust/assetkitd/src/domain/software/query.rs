//! Reading software: which packages a filter names (compared in each manager's own version
//! order, never as strings), the fleet's software list with host counts, one asset's packages
//! and their history.

use std::cmp::Ordering;

use assetkit_core::model::PackageManager;
use assetkit_core::versions;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::error::Result;
use crate::store::{Db, DbExt};

/// A package filter of the host list: a name, and optionally a manager, an architecture and a
/// version bound.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct PackageFilter {
    /// Package name, exact.
    pub package: Option<String>,
    /// `deb`, `rpm` or `apk`.
    pub manager: Option<String>,
    /// Architecture, exact ("" for none).
    pub arch: Option<String>,
    /// Versions older than this one.
    pub version_lt: Option<String>,
    /// Versions at most this one.
    pub version_le: Option<String>,
    /// Versions newer than this one.
    pub version_gt: Option<String>,
    /// Versions at least this one.
    pub version_ge: Option<String>,
    /// Versions equal to this one in the manager's order.
    pub version_eq: Option<String>,
}

impl PackageFilter {
    /// Whether it filters at all.
    pub fn is_set(&self) -> bool {
        self.package.as_deref().is_some_and(|p| !p.is_empty())
    }

    /// The filters given, as query parameters (`http::params` reads them back), as
    /// `Narrowing::pairs` gives the list's others.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("package", &self.package),
            ("manager", &self.manager),
            ("arch", &self.arch),
            ("version_lt", &self.version_lt),
            ("version_le", &self.version_le),
            ("version_gt", &self.version_gt),
            ("version_ge", &self.version_ge),
            ("version_eq", &self.version_eq),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
    }

    /// Whether `bound` is given (an empty parameter, as a form sends it, is not).
    fn given(bound: &Option<String>) -> Option<&str> {
        bound.as_deref().filter(|b| !b.is_empty())
    }

    /// What is wrong with it, in words: version bounds without a name, an unknown manager.
    pub fn problem(&self) -> Option<String> {
        let bounded = [&self.version_lt, &self.version_le, &self.version_gt, &self.version_ge, &self.version_eq]
            .iter()
            .any(|v| Self::given(v).is_some());
        if (bounded || Self::given(&self.manager).is_some() || Self::given(&self.arch).is_some()) && !self.is_set() {
            return Some("version_*, manager and arch filter a package: give package=NAME too".into());
        }
        if let Some(m) = Self::given(&self.manager).filter(|m| PackageManager::parse(m).is_none()) {
            return Some(format!("manager {m:?} is none of deb, rpm, apk"));
        }
        None
    }

    /// Whether `version` of a `manager` package passes every bound.
    fn admits(&self, manager: PackageManager, version: &str) -> bool {
        let cmp = |bound: &Option<String>, ok: &dyn Fn(Ordering) -> bool| {
            Self::given(bound).is_none_or(|b| ok(versions::compare(manager, version, b)))
        };
        cmp(&self.version_lt, &|o| o == Ordering::Less)
            && cmp(&self.version_le, &|o| o != Ordering::Greater)
            && cmp(&self.version_gt, &|o| o == Ordering::Greater)
            && cmp(&self.version_ge, &|o| o != Ordering::Less)
            && cmp(&self.version_eq, &|o| o == Ordering::Equal)
    }
}

/// The ids of the packages `f` selects (a name has tens of versions at most, compared here).
pub fn package_ids(db: &mut dyn Db, f: &PackageFilter) -> Result<Vec<i64>> {
    let Some(name) = f.package.as_deref().filter(|n| !n.is_empty()) else { return Ok(Vec::new()) };
    let rows = db.query(
        "SELECT p.id, n.manager, p.arch, p.version FROM package_names n JOIN packages p ON p.name_id = n.id \
         WHERE n.name = ?1 AND p.hosts > 0",
        crate::args![name],
    )?;
    let mut ids = Vec::new();
    for r in rows {
        let (id, manager, arch, version): (i64, String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        let Some(m) = PackageManager::parse(&manager) else { continue };
        let wanted = |v: &Option<String>| v.as_deref().filter(|v| !v.is_empty()).map(str::to_owned);
        if wanted(&f.manager).is_some_and(|want| want != manager) || wanted(&f.arch).is_some_and(|a| a != arch) {
            continue;
        }
        if f.admits(m, &version) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Paging and search of the software list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SoftwareQuery {
    /// Part of a package name.
    pub q: Option<String>,
    /// Only this manager's packages.
    pub manager: Option<String>,
    /// 1-based page.
    pub page: Option<u32>,
    /// Names per page (max 200).
    pub per_page: Option<u32>,
}

/// One page of the software list.
#[derive(Debug, Serialize)]
pub struct SoftwarePage {
    /// Names matching, in all pages.
    pub total: u64,
    /// This page.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Package names with the hosts that have any version, and each version with its hosts,
    /// newest first in the manager's order.
    pub software: Vec<Value>,
}

/// The fleet's software: names (searchable, paged, by name) with host counts, and their
/// versions with host counts. Each count is what the host list returns for
/// `package=NAME&manager=M` (and `&arch=A&version_eq=V` for a version): both come from the
/// same rows in the same transaction.
pub fn software(db: &mut dyn Db, q: &SoftwareQuery) -> Result<SoftwarePage> {
    let per_page = q.per_page.unwrap_or(50).clamp(1, 200);
    let page = q.page.unwrap_or(1).max(1);
    let mut conditions = vec!["hosts > 0".to_owned()];
    let mut args: Vec<crate::store::Value> = Vec::new();
    if let Some(term) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let escaped = term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        args.push(format!("%{escaped}%").into());
        conditions.push(format!("name LIKE ?{} ESCAPE '\\'", args.len()));
    }
    if let Some(m) = q.manager.as_deref().filter(|m| !m.is_empty()) {
        args.push(m.into());
        conditions.push(format!("manager = ?{}", args.len()));
    }
    let filter = conditions.join(" AND ");
    let total: i64 = db.scalar(&format!("SELECT COUNT(*) FROM package_names WHERE {filter}"), &args)?;
    let n = args.len();
    args.push(i64::from(per_page).into());
    args.push((i64::from(page - 1) * i64::from(per_page)).into());
    let names = db.query(
        &format!(
            "SELECT id, manager, name, hosts FROM package_names WHERE {filter} ORDER BY name, manager LIMIT ?{} OFFSET ?{}",
            n + 1,
            n + 2
        ),
        &args,
    )?;
    let ids: Vec<i64> = names.iter().map(|r| r.get(0)).collect::<std::result::Result<_, _>>()?;
    let versions = db.query(
        &format!(
            "SELECT name_id, arch, version, hosts FROM packages WHERE hosts > 0 AND name_id IN \
             (SELECT CAST(j.value AS BIGINT) FROM {})",
            super::store::json_ids(db.engine(), 1)
        ),
        crate::args![serde_json::to_string(&ids).unwrap_or_default()],
    )?;
    let mut software = Vec::with_capacity(names.len());
    for r in &names {
        let (id, manager, name, hosts): (i64, String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        let m = PackageManager::parse(&manager).unwrap_or(PackageManager::Deb);
        let mut list: Vec<(String, String, i64)> = versions
            .iter()
            .filter(|v| v.get::<i64>(0).is_ok_and(|n| n == id))
            .map(|v| Ok((v.get(1)?, v.get(2)?, v.get(3)?)))
            .collect::<Result<_>>()?;
        list.sort_by(|a, b| versions::compare(m, &b.1, &a.1).then_with(|| a.0.cmp(&b.0)));
        software.push(json!({
            "manager": manager,
            "name": name,
            "hosts": hosts,
            "versions": list.iter().map(|(arch, version, hosts)| json!({
                "version": version,
                "arch": if arch.is_empty() { Value::Null } else { json!(arch) },
                "hosts": hosts,
            })).collect::<Vec<_>>(),
        }));
    }
    Ok(SoftwarePage { total: total as u64, page, per_page, software })
}

/// One asset's installed packages, by manager and name.
pub fn asset_packages(db: &mut dyn Db, asset_id: i64) -> Result<Value> {
    let head =
        db.query_opt("SELECT packages_digest, package_count FROM assets WHERE id = ?1", crate::args![asset_id])?;
    let Some(head) = head else { return Ok(Value::Null) };
    let rows = db.query(
        "SELECT n.manager, n.name, p.arch, p.version, p.source, p.source_version, p.vendor FROM asset_packages ap \
         JOIN packages p ON p.id = ap.package_id JOIN package_names n ON n.id = p.name_id \
         WHERE ap.asset_id = ?1 ORDER BY n.manager, n.name, p.arch, p.version",
        crate::args![asset_id],
    )?;
    let packages = rows
        .iter()
        .map(|r| {
            let arch: String = r.get(2)?;
            Ok(json!({
                "manager": r.get::<String>(0)?,
                "name": r.get::<String>(1)?,
                "arch": if arch.is_empty() { Value::Null } else { json!(arch) },
                "version": r.get::<String>(3)?,
                "source": r.get::<Option<String>>(4)?,
                "source_version": r.get::<Option<String>>(5)?,
                "vendor": r.get::<Option<String>>(6)?,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({
        "asset_id": asset_id,
        "digest": head.get::<Option<String>>(0)?,
        "count": packages.len(),
        "packages": packages,
    }))
}

/// One asset's package history, newest first: each report's changes in one record.
pub fn history(db: &mut dyn Db, asset_id: i64, limit: u32) -> Result<Vec<Value>> {
    let rows = db.query(
        "SELECT id, at, kind, new, summary, report_id FROM changes WHERE asset_id = ?1 AND component = 'packages' \
         ORDER BY id DESC LIMIT ?2",
        crate::args![asset_id, i64::from(limit.clamp(1, 1000))],
    )?;
    rows.iter()
        .map(|r| {
            let kind: String = r.get(2)?;
            let new: Option<String> = r.get(3)?;
            let changes: Value = if kind == "changed" {
                new.as_deref().and_then(|n| serde_json::from_str(n).ok()).unwrap_or(Value::Null)
            } else {
                Value::Null
            };
            Ok(json!({
                "change_id": r.get::<i64>(0)?,
                "at": crate::store::time::rfc3339(r.get::<i64>(1)?),
                "kind": if kind == "changed" { "changed" } else { "inventory_taken" },
                "summary": r.get::<String>(4)?,
                "report_id": r.get::<Option<String>>(5)?,
                "changes": changes,
            }))
        })
        .collect()
}
