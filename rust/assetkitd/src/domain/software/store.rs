//! Writing a report's package set: upserting the packages it names (once for the fleet),
//! replacing the asset's set by the difference, keeping host counts, and the one change event.
//! Everything in the report's transaction; a few statements per report whatever its size (the
//! list travels as one JSON parameter).

use std::collections::{BTreeSet, HashSet};

use assetkit_core::model::{Package, PackageManager, Report};
use serde_json::json;

use super::diff::{self, Held};
use crate::domain::changelog::Event;
use crate::domain::error::{Error, Result};
use crate::store::{Db, DbExt, Engine};

/// What a report says about its packages.
#[derive(Debug, Clone, Copy)]
pub enum Sent<'a> {
    /// The whole list, and its digest.
    Full(&'a [Package], &'a str),
    /// Only the digest: "the list you acknowledged last".
    DigestOnly(&'a str),
    /// Nothing (the plugin off or failed): the stored set stays as it is.
    Nothing,
}

impl<'a> Sent<'a> {
    /// What `report` sends; `digest` is the digest of its full list, when it has one.
    pub fn of(report: &'a Report, digest: Option<&'a str>) -> Sent<'a> {
        match (&report.facts.packages, digest, &report.facts.packages_digest) {
            (Some(list), Some(d), _) => Sent::Full(list, d),
            (None, _, Some(d)) => Sent::DigestOnly(d),
            _ => Sent::Nothing,
        }
    }
}

/// `FROM` fragment over a JSON array parameter `?n`: one row `j` per element, `j.value ->> i` its
/// fields.
pub(crate) fn json_rows(engine: Engine, n: usize) -> String {
    match engine {
        Engine::Sqlite => format!("json_each(?{n}) j"),
        Engine::Postgres => format!("json_array_elements(CAST(CAST(?{n} AS text) AS json)) AS j(value)"),
    }
}

/// `FROM` fragment over a JSON array of integers `?n`: one row `j` per element, `j.value` it.
pub(crate) fn json_ids(engine: Engine, n: usize) -> String {
    match engine {
        Engine::Sqlite => format!("json_each(?{n}) j"),
        Engine::Postgres => format!("json_array_elements_text(CAST(CAST(?{n} AS text) AS json)) AS j(value)"),
    }
}

/// Checks what the report sends against what is stored, before anything is written: a digest
/// alone must be the stored set's.
pub fn check(db: &mut dyn Db, asset_id: Option<i64>, sent: Sent<'_>) -> Result<()> {
    let Sent::DigestOnly(digest) = sent else { return Ok(()) };
    let stored: Option<String> = match asset_id {
        Some(id) => db
            .scalar_opt::<Option<String>>("SELECT packages_digest FROM assets WHERE id = ?1", crate::args![id])?
            .flatten(),
        None => None,
    };
    if stored.as_deref() == Some(digest) { Ok(()) } else { Err(Error::PackagesUnknown(digest.to_owned())) }
}

/// Stores the package set the report sends for `asset_id`; the change event, if anything
/// changed: "package inventory taken" for a first list, else one event listing every change.
pub fn apply(db: &mut dyn Db, asset_id: i64, sent: Sent<'_>) -> Result<Option<Event>> {
    let (list, digest) = match sent {
        Sent::Nothing => return Ok(None),
        Sent::DigestOnly(_) => return check(db, Some(asset_id), sent).map(|()| None),
        Sent::Full(list, digest) => (list, digest),
    };
    let before: Option<String> = db
        .scalar_opt::<Option<String>>("SELECT packages_digest FROM assets WHERE id = ?1", crate::args![asset_id])?
        .flatten();
    if before.as_deref() == Some(digest) {
        return Ok(None);
    }
    let new = upsert(db, list)?;
    let old = held_by(db, asset_id)?;
    let (old_ids, new_ids): (HashSet<i64>, HashSet<i64>) =
        (old.iter().map(|h| h.id).collect(), new.iter().map(|h| h.id).collect());
    let added: Vec<i64> = new_ids.difference(&old_ids).copied().collect();
    let removed: Vec<i64> = old_ids.difference(&new_ids).copied().collect();
    replace(db, asset_id, &added, &removed)?;
    count_names(db, &old, &new)?;
    db.execute(
        "UPDATE assets SET packages_digest = ?2, package_count = ?3 WHERE id = ?1",
        crate::args![asset_id, digest, new.len() as i64],
    )?;
    if before.is_none() && old.is_empty() {
        let managers: BTreeSet<&str> = new.iter().map(|h| h.manager.as_str()).collect();
        let managers: Vec<&str> = managers.into_iter().collect();
        return Ok(Some(Event::whole(
            "packages",
            "added",
            Some("inventory"),
            None,
            Some(&new.len().to_string()),
            format!("package inventory taken: {} packages ({})", new.len(), managers.join(", ")),
        )));
    }
    let changes = diff::diff(&old, &new);
    if changes.is_empty() {
        return Ok(None);
    }
    let details = serde_json::to_string(&changes).unwrap_or_default();
    Ok(Some(Event::whole("packages", "changed", Some("packages"), None, Some(&details), diff::summary(&changes))))
}

/// Inserts the packages (and names) the fleet has not reported before; every listed package
/// with its ids.
fn upsert(db: &mut dyn Db, list: &[Package]) -> Result<Vec<Held>> {
    let engine = db.engine();
    let rows = json!(
        list.iter()
            .map(|p| json!([
                p.manager.as_str(),
                p.name,
                p.arch.as_deref().unwrap_or(""),
                p.version,
                p.source,
                p.source_version,
                p.vendor
            ]))
            .collect::<Vec<_>>()
    )
    .to_string();
    let from = json_rows(engine, 1);
    // `WHERE true`: SQLite's parser needs it between a SELECT and ON CONFLICT.
    db.execute(
        &format!(
            "INSERT INTO package_names (manager, name) SELECT DISTINCT j.value ->> 0, j.value ->> 1 FROM {from} \
             WHERE true ON CONFLICT (name, manager) DO NOTHING"
        ),
        crate::args![rows.as_str()],
    )?;
    db.execute(
        &format!(
            "INSERT INTO packages (name_id, arch, version, source, source_version, vendor) \
             SELECT DISTINCT n.id, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6 FROM {from} \
             JOIN package_names n ON n.name = j.value ->> 1 AND n.manager = j.value ->> 0 \
             WHERE true ON CONFLICT (name_id, arch, version) DO NOTHING"
        ),
        crate::args![rows.as_str()],
    )?;
    let found = db.query(
        &format!(
            "SELECT DISTINCT p.id, n.id, n.manager, n.name, p.arch, p.version FROM {from} \
             JOIN package_names n ON n.name = j.value ->> 1 AND n.manager = j.value ->> 0 \
             JOIN packages p ON p.name_id = n.id AND p.arch = j.value ->> 2 AND p.version = j.value ->> 3"
        ),
        crate::args![rows.as_str()],
    )?;
    found.iter().map(held).collect()
}

fn held(r: &crate::store::Row) -> Result<Held> {
    let manager: String = r.get(2)?;
    Ok(Held {
        id: r.get(0)?,
        name_id: r.get(1)?,
        manager: PackageManager::parse(&manager).unwrap_or(PackageManager::Deb),
        name: r.get(3)?,
        arch: r.get(4)?,
        version: r.get(5)?,
    })
}

/// The packages `asset_id` holds.
pub fn held_by(db: &mut dyn Db, asset_id: i64) -> Result<Vec<Held>> {
    db.query(
        "SELECT p.id, n.id, n.manager, n.name, p.arch, p.version FROM asset_packages ap \
         JOIN packages p ON p.id = ap.package_id JOIN package_names n ON n.id = p.name_id WHERE ap.asset_id = ?1",
        crate::args![asset_id],
    )?
    .iter()
    .map(held)
    .collect()
}

/// Replaces the asset's set by its difference, and moves the per-package host counts with it
/// (in id order, so that concurrent writers take the rows' locks in one order).
fn replace(db: &mut dyn Db, asset_id: i64, added: &[i64], removed: &[i64]) -> Result<()> {
    let engine = db.engine();
    let ids = |v: &[i64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        serde_json::to_string(&v).unwrap_or_default()
    };
    let (added, removed) = (ids(added), ids(removed));
    let from = json_ids(engine, 2);
    db.execute(
        &format!(
            "DELETE FROM asset_packages WHERE asset_id = ?1 AND package_id IN (SELECT CAST(j.value AS BIGINT) FROM {from})"
        ),
        crate::args![asset_id, removed.as_str()],
    )?;
    db.execute(
        &format!("INSERT INTO asset_packages (asset_id, package_id) SELECT ?1, CAST(j.value AS BIGINT) FROM {from}"),
        crate::args![asset_id, added.as_str()],
    )?;
    let from = json_ids(engine, 1);
    for (list, delta) in [(&added, "+ 1"), (&removed, "- 1")] {
        db.execute(
            &format!(
                "UPDATE packages SET hosts = hosts {delta} WHERE id IN (SELECT CAST(j.value AS BIGINT) FROM {from})"
            ),
            crate::args![list.as_str()],
        )?;
    }
    Ok(())
}

/// Moves the per-name host counts: a name counts a host once, however many of its versions or
/// architectures the host has.
fn count_names(db: &mut dyn Db, old: &[Held], new: &[Held]) -> Result<()> {
    let before: BTreeSet<i64> = old.iter().map(|h| h.name_id).collect();
    let after: BTreeSet<i64> = new.iter().map(|h| h.name_id).collect();
    let gained: Vec<i64> = after.difference(&before).copied().collect();
    let lost: Vec<i64> = before.difference(&after).copied().collect();
    let from = json_ids(db.engine(), 1);
    for (list, delta) in [(gained, "+ 1"), (lost, "- 1")] {
        if list.is_empty() {
            continue;
        }
        db.execute(
            &format!(
                "UPDATE package_names SET hosts = hosts {delta} WHERE id IN (SELECT CAST(j.value AS BIGINT) FROM {from})"
            ),
            crate::args![serde_json::to_string(&list).unwrap_or_default()],
        )?;
    }
    Ok(())
}

/// The raw report as stored with the asset: without its package list (kept as rows, and 100 KB
/// or more per host), with the list's digest and size in its place.
pub fn without_packages(raw: &str, digest: &str) -> String {
    let Ok(serde_json::Value::Object(mut report)) = serde_json::from_str::<serde_json::Value>(raw) else {
        return raw.to_owned();
    };
    if let Some(serde_json::Value::Object(facts)) = report.get_mut("facts")
        && let Some(list) = facts.remove("packages")
    {
        let n = list.as_array().map_or(0, Vec::len);
        facts.insert("packages_digest".into(), json!(digest));
        facts.insert("package_count".into(), json!(n));
    }
    serde_json::Value::Object(report).to_string()
}
