//! Writing a report's package set: upserting the packages it names (once for the fleet),
//! replacing the asset's set by the difference, keeping host counts, and the one change event.
//! Everything in the report's transaction; a few statements per report whatever its size (the
//! list travels as one JSON parameter).

use std::collections::{BTreeSet, HashSet};

use assetkit_core::model::{Package, PackageManager, PackagesDelta, Report};
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
    /// The changes since a list the receiver acknowledged, and the digest after them.
    Delta(&'a PackagesDelta, &'a str),
    /// Only the digest: "the list you acknowledged last".
    DigestOnly(&'a str),
    /// Nothing (the plugin off or failed): the stored set stays as it is.
    Nothing,
}

impl<'a> Sent<'a> {
    /// What `report` sends; `digest` is the digest of its full list, when it has one.
    pub fn of(report: &'a Report, digest: Option<&'a str>) -> Sent<'a> {
        match (&report.facts.packages, digest, &report.facts.packages_delta, &report.facts.packages_digest) {
            (Some(list), Some(d), _, _) => Sent::Full(list, d),
            (None, _, Some(delta), Some(d)) => Sent::Delta(delta, d),
            (None, _, None, Some(d)) => Sent::DigestOnly(d),
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

/// `ap.package_id` is one of `ids`: the condition (over parameter `?n`) and the parameter.
///
/// On PostgreSQL an array (`= ANY`): the planner probes the index by package for each id and
/// estimates the hosts from the column's statistics. A set-returning function there is
/// estimated at 100 rows whatever it holds, and with a second filter (a business unit) the
/// planner then walked each candidate host's 1,500 packages instead: 1.6 s where the array
/// takes 30 ms, at 100,000 hosts. On SQLite `json_each`, which its planner probes alike.
pub(crate) fn package_in(engine: Engine, n: usize, ids: &[i64]) -> (String, String) {
    let listed = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    match engine {
        Engine::Sqlite => (format!("ap.package_id IN (SELECT j.value FROM json_each(?{n}) j)"), format!("[{listed}]")),
        Engine::Postgres => {
            (format!("ap.package_id = ANY(CAST(CAST(?{n} AS text) AS integer[]))"), format!("{{{listed}}}"))
        }
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
    let stored = match asset_id {
        Some(id) => stored_digest(db, id)?,
        None => None,
    };
    check_against(stored.as_deref(), sent)
}

fn check_against(stored: Option<&str>, sent: Sent<'_>) -> Result<()> {
    let known = |d: &str| stored == Some(d);
    match sent {
        Sent::DigestOnly(d) if !known(d) => Err(Error::PackagesUnknown(d.to_owned())),
        // Already applied (the same change again), or applicable to what is stored.
        Sent::Delta(delta, to) if !known(to) && !known(&delta.from) => Err(Error::PackagesUnknown(delta.from.clone())),
        _ => Ok(()),
    }
}

fn stored_digest(db: &mut dyn Db, asset_id: i64) -> Result<Option<String>> {
    Ok(db
        .scalar_opt::<Option<String>>("SELECT packages_digest FROM assets WHERE id = ?1", crate::args![asset_id])?
        .flatten())
}

/// Stores the package set the report sends for `asset_id`, whose stored set has the digest
/// `before`; the change event, if anything changed: "package inventory taken" for a first list,
/// else one event listing every change.
pub fn apply(db: &mut dyn Db, asset_id: i64, before: Option<&str>, sent: Sent<'_>) -> Result<Option<Event>> {
    check_against(before, sent)?;
    let changes = match sent {
        Sent::Nothing | Sent::DigestOnly(_) => return Ok(None),
        Sent::Full(_, d) | Sent::Delta(_, d) if before == Some(d) => return Ok(None),
        Sent::Full(list, digest) => {
            let new = stored(db, list)?;
            let old = held_by(db, asset_id)?;
            if before.is_none() && old.is_empty() {
                change(db, asset_id, &new, &[], &[], digest)?;
                return Ok(Some(inventory_taken(&new)));
            }
            let (old_ids, new_ids): (HashSet<i64>, HashSet<i64>) =
                (old.iter().map(|h| h.id).collect(), new.iter().map(|h| h.id).collect());
            let added: Vec<Held> = new.into_iter().filter(|h| !old_ids.contains(&h.id)).collect();
            let removed: Vec<Held> = old.into_iter().filter(|h| !new_ids.contains(&h.id)).collect();
            let names: BTreeSet<i64> = added.iter().chain(&removed).map(|h| h.name_id).collect();
            let held = held_of_names(db, asset_id, &names)?;
            change(db, asset_id, &added, &removed, &held, digest)?
        }
        Sent::Delta(delta, digest) => apply_delta(db, asset_id, delta, digest)?,
    };
    if changes.is_empty() {
        return Ok(None);
    }
    let details = serde_json::to_string(&changes).unwrap_or_default();
    Ok(Some(Event::whole("packages", "changed", Some("packages"), None, Some(&details), diff::summary(&changes))))
}

/// A delta: one read finds every stored version of the names it touches and which of them the
/// asset holds (a package new to the fleet is inserted first, rarely); then the set changes.
fn apply_delta(db: &mut dyn Db, asset_id: i64, delta: &PackagesDelta, digest: &str) -> Result<Vec<diff::Change>> {
    let names: BTreeSet<&str> = delta.added.iter().chain(&delta.removed).map(|p| p.name.as_str()).collect();
    let mut versions = versions_of(db, asset_id, &names)?;
    let mut added = among(&versions, &delta.added);
    if added.len() < delta.added.len() {
        upsert(db, &rows_of(&delta.added))?;
        versions = versions_of(db, asset_id, &names)?;
        added = among(&versions, &delta.added);
    }
    let removed = among(&versions, &delta.removed);
    let held: Vec<(i64, i64)> = versions.iter().filter(|(_, h)| *h).map(|(v, _)| (v.id, v.name_id)).collect();
    change(db, asset_id, &added, &removed, &held, digest)
}

/// The stored versions of `list` among `versions`.
fn among(versions: &[(Held, bool)], list: &[Package]) -> Vec<Held> {
    let wanted: HashSet<(PackageManager, &str, &str, &str)> = list
        .iter()
        .map(|p| (p.manager, p.name.as_str(), p.arch.as_deref().unwrap_or(""), p.version.as_str()))
        .collect();
    versions
        .iter()
        .filter(|(v, _)| wanted.contains(&(v.manager, v.name.as_str(), v.arch.as_str(), v.version.as_str())))
        .map(|(v, _)| v.clone())
        .collect()
}

/// Every stored version of the packages called `names` (any manager), and whether the asset
/// holds it.
fn versions_of(db: &mut dyn Db, asset_id: i64, names: &BTreeSet<&str>) -> Result<Vec<(Held, bool)>> {
    let from = json_ids(db.engine(), 2);
    let rows = db.query(
        &format!(
            "SELECT p.id, n.id, n.manager, n.name, p.arch, p.version, \
             CAST(CASE WHEN ap.asset_id IS NULL THEN 0 ELSE 1 END AS BIGINT) \
             FROM package_names n JOIN packages p ON p.name_id = n.id \
             LEFT JOIN asset_packages ap ON ap.asset_id = ?1 AND ap.package_id = p.id \
             WHERE n.name IN (SELECT j.value FROM {from})"
        ),
        crate::args![asset_id, serde_json::to_string(names).unwrap_or_default()],
    )?;
    rows.iter().map(|r| Ok((held(r)?, r.get::<i64>(6)? == 1))).collect()
}

fn inventory_taken(new: &[Held]) -> Event {
    let managers: BTreeSet<&str> = new.iter().map(|h| h.manager.as_str()).collect();
    let managers: Vec<&str> = managers.into_iter().collect();
    Event::whole(
        "packages",
        "added",
        Some("inventory"),
        None,
        Some(&new.len().to_string()),
        format!("package inventory taken: {} packages ({})", new.len(), managers.join(", ")),
    )
}

/// Adds `added` to the asset's set and takes `removed` out of it (what it does not hold, or
/// holds already, is left alone), moves the host counts, records `digest`; the typed changes.
/// `held` is what the asset holds of the names involved (package id, name id): it tells both
/// which packages change and which names the asset holds before and after.
fn change(
    db: &mut dyn Db,
    asset_id: i64,
    added: &[Held],
    removed: &[Held],
    held: &[(i64, i64)],
    digest: &str,
) -> Result<Vec<diff::Change>> {
    let held_ids: HashSet<i64> = held.iter().map(|&(id, _)| id).collect();
    let added: Vec<&Held> = added.iter().filter(|h| !held_ids.contains(&h.id)).collect();
    let removed: Vec<&Held> = removed.iter().filter(|h| held_ids.contains(&h.id)).collect();
    let gone: HashSet<i64> = removed.iter().map(|h| h.id).collect();
    let names_before: BTreeSet<i64> = held.iter().map(|&(_, name)| name).collect();
    let names_after: BTreeSet<i64> = held
        .iter()
        .filter(|(id, _)| !gone.contains(id))
        .map(|&(_, name)| name)
        .chain(added.iter().map(|h| h.name_id))
        .collect();
    let ids = |v: &[&Held]| v.iter().map(|h| h.id).collect::<Vec<i64>>();
    replace(db, asset_id, &ids(&added), &ids(&removed))?;
    count_names(db, &names_before, &names_after)?;
    db.execute(
        "UPDATE assets SET packages_digest = ?2, package_count = COALESCE(package_count, 0) + ?3 WHERE id = ?1",
        crate::args![asset_id, digest, added.len() as i64 - removed.len() as i64],
    )?;
    let (old, new): (Vec<Held>, Vec<Held>) =
        (removed.into_iter().cloned().collect(), added.into_iter().cloned().collect());
    Ok(diff::diff(&old, &new))
}

/// The asset's packages whose name is among `names`: (package id, name id). Driven from the
/// names' versions (`CROSS JOIN` fixes that order in SQLite, which without table statistics
/// would otherwise walk the asset's whole set, 1,500 rows, for every changing report).
fn held_of_names(db: &mut dyn Db, asset_id: i64, names: &BTreeSet<i64>) -> Result<Vec<(i64, i64)>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let from = json_ids(db.engine(), 2);
    let rows = db.query(
        &format!(
            "SELECT ap.package_id, p.name_id FROM packages p CROSS JOIN asset_packages ap \
             WHERE p.name_id IN (SELECT CAST(j.value AS BIGINT) FROM {from}) \
             AND ap.asset_id = ?1 AND ap.package_id = p.id"
        ),
        crate::args![asset_id, serde_json::to_string(names).unwrap_or_default()],
    )?;
    rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}

/// The listed packages with their ids, inserting those (and the names) the fleet has not
/// reported before. Most reports name only packages already stored: one read then.
fn stored(db: &mut dyn Db, list: &[Package]) -> Result<Vec<Held>> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let rows = rows_of(list);
    let found = find(db, &rows)?;
    if found.len() >= list.len() {
        return Ok(found);
    }
    upsert(db, &rows)
}

/// Inserts the packages (and names) of `rows` (see [`rows_of`]) the fleet has not reported
/// before; every listed package with its ids.
fn upsert(db: &mut dyn Db, rows: &str) -> Result<Vec<Held>> {
    let from = json_rows(db.engine(), 1);
    // `WHERE true`: SQLite's parser needs it between a SELECT and ON CONFLICT.
    db.execute(
        &format!(
            "INSERT INTO package_names (manager, name) SELECT DISTINCT j.value ->> 0, j.value ->> 1 FROM {from} \
             WHERE true ON CONFLICT (name, manager) DO NOTHING"
        ),
        crate::args![rows],
    )?;
    db.execute(
        &format!(
            "INSERT INTO packages (name_id, arch, version, source, source_version, vendor) \
             SELECT DISTINCT n.id, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6 FROM {from} \
             JOIN package_names n ON n.name = j.value ->> 1 AND n.manager = j.value ->> 0 \
             WHERE true ON CONFLICT (name_id, arch, version) DO NOTHING"
        ),
        crate::args![rows],
    )?;
    find(db, rows)
}

/// The listed packages as one JSON parameter.
fn rows_of(list: &[Package]) -> String {
    json!(
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
    .to_string()
}

fn find(db: &mut dyn Db, rows: &str) -> Result<Vec<Held>> {
    let from = json_rows(db.engine(), 1);
    let found = db.query(
        &format!(
            "SELECT DISTINCT p.id, n.id, n.manager, n.name, p.arch, p.version FROM {from} \
             JOIN package_names n ON n.name = j.value ->> 1 AND n.manager = j.value ->> 0 \
             JOIN packages p ON p.name_id = n.id AND p.arch = j.value ->> 2 AND p.version = j.value ->> 3"
        ),
        crate::args![rows],
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

/// Replaces the asset's set by its difference, and moves the per-package host counts with it in
/// one statement (ids in order).
fn replace(db: &mut dyn Db, asset_id: i64, added: &[i64], removed: &[i64]) -> Result<()> {
    if added.is_empty() && removed.is_empty() {
        return Ok(());
    }
    let engine = db.engine();
    let json = |v: &[i64]| serde_json::to_string(v).unwrap_or_default();
    let from = json_ids(engine, 2);
    if !removed.is_empty() {
        db.execute(
            &format!(
                "DELETE FROM asset_packages WHERE asset_id = ?1 AND package_id IN (SELECT CAST(j.value AS BIGINT) FROM {from})"
            ),
            crate::args![asset_id, json(removed)],
        )?;
    }
    if !added.is_empty() {
        db.execute(
            &format!(
                "INSERT INTO asset_packages (asset_id, package_id) SELECT ?1, CAST(j.value AS BIGINT) FROM {from}"
            ),
            crate::args![asset_id, json(added)],
        )?;
    }
    let mut moves: Vec<(i64, i64)> =
        added.iter().map(|&id| (id, 1)).chain(removed.iter().map(|&id| (id, -1))).collect();
    moves.sort_unstable();
    let from = json_rows(engine, 1);
    db.execute(
        &format!(
            "UPDATE packages SET hosts = hosts + m.delta FROM (SELECT CAST(j.value ->> 0 AS BIGINT) AS id, \
             CAST(j.value ->> 1 AS BIGINT) AS delta FROM {from}) m WHERE packages.id = m.id"
        ),
        crate::args![serde_json::to_string(&moves).unwrap_or_default()],
    )?;
    Ok(())
}

/// Moves the per-name host counts: a name counts a host once, however many of its versions or
/// architectures the host has.
fn count_names(db: &mut dyn Db, before: &BTreeSet<i64>, after: &BTreeSet<i64>) -> Result<()> {
    let gained: Vec<i64> = after.difference(before).copied().collect();
    let lost: Vec<i64> = before.difference(after).copied().collect();
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
    if let Some(serde_json::Value::Object(facts)) = report.get_mut("facts") {
        facts.remove("packages_delta");
        if let Some(list) = facts.remove("packages") {
            facts.insert("package_count".into(), json!(list.as_array().map_or(0, Vec::len)));
        }
        facts.insert("packages_digest".into(), json!(digest));
    }
    serde_json::Value::Object(report).to_string()
}
