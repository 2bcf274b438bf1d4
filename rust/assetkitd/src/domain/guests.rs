//! Where each host runs: the guests a hypervisor reports (libvirt and Proxmox definitions), each
//! linked to the asset whose system UUID is the guest's, and the cloud instance a host is.
//!
//! - A hypervisor's report replaces its rows in `guests` (one per guest, keyed by UUID, else by
//!   name) and records "VM db07 defined on hv-c" / "undefined" events on the hypervisor.
//! - A guest's asset gets `hypervisor_id`: the hypervisor it runs on, or, while it runs nowhere
//!   known, one it is defined on. The link follows live migration ("VM web01 moved from hv-a to
//!   hv-b", one event on the VM); when two hypervisors both say they run one UUID, the later
//!   report wins and a security event on the VM says so.
//! - A guest that never reports is listed on its hypervisor by name and UUID; it is linked as
//!   soon as it reports (either order works).
//!
//! UUIDs are compared lower-case (RFC 4122's output form, as the kernel prints them).

use assetkit_core::model::{Guest, Report};
use serde_json::{Value, json};

use crate::domain::changelog::{self, Event};
use crate::domain::error::Result;
use crate::store::{Db, DbExt};

/// A guest's row key: its UUID, else (a container) its source and the hypervisor's id for it,
/// else its kind and name.
fn key(g: &Guest) -> String {
    match (&g.uuid, &g.id) {
        (Some(u), _) => u.to_lowercase(),
        (None, Some(id)) => format!("{}:{id}", g.source),
        (None, None) => format!("{}:{}", g.kind, g.name),
    }
}

fn hostname(db: &mut dyn Db, id: i64) -> Result<String> {
    let name: Option<String> =
        db.scalar_opt("SELECT COALESCE(hostname, serial_number) FROM assets WHERE id = ?1", crate::args![id])?;
    Ok(name.unwrap_or_else(|| format!("asset {id}")))
}

/// After a report of asset `id` is written: its guests (if it reports any) replace what it
/// reported before, guests' assets are linked to it, and it is linked to the hypervisor that
/// runs it. Events about the reporting asset are returned; those about other assets (a guest's
/// link) are recorded on them here.
pub fn apply(db: &mut dyn Db, id: i64, report: &Report, now: i64) -> Result<Vec<Event>> {
    cloud(db, id, report)?;
    let mut events = Vec::new();
    if let Some(guests) = &report.facts.guests {
        events.extend(replace(db, id, guests, &report.report_id, now)?);
    }
    if let Some(uuid) = report.facts.system.as_ref().and_then(|s| s.uuid.as_deref()) {
        events.extend(link_self(db, id, &uuid.to_lowercase())?);
    }
    Ok(events)
}

/// An unchanged report of a hypervisor: its claims are as fresh as the report (the later report
/// wins), so its rows take the next number and the guests it runs are linked again.
pub fn refresh(db: &mut dyn Db, hv: i64, report: &Report, now: i64) -> Result<()> {
    let Some(guests) = report.facts.guests.as_deref().filter(|g| !g.is_empty()) else { return Ok(()) };
    db.execute(
        "UPDATE guests SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM guests), seen_at = ?2 WHERE hypervisor_id = ?1",
        crate::args![hv, now],
    )?;
    for g in guests.iter().filter(|g| g.uuid.is_some()) {
        relink(db, &key(g), &report.report_id, now)?;
    }
    Ok(())
}

/// The cloud columns, from `facts.cloud`, when the report carries the SMBIOS sections they come
/// from (a report without them keeps the old values).
fn cloud(db: &mut dyn Db, id: i64, report: &Report) -> Result<()> {
    if report.facts.system.is_none() {
        return Ok(());
    }
    let c = report.facts.cloud.as_ref();
    db.execute(
        "UPDATE assets SET cloud_provider = ?2, cloud_instance_id = ?3, cloud_instance_type = ?4 WHERE id = ?1",
        crate::args![
            id,
            c.map(|c| c.provider.clone()),
            c.and_then(|c| c.instance_id.clone()),
            c.and_then(|c| c.instance_type.clone())
        ],
    )?;
    Ok(())
}

/// Replaces hypervisor `hv`'s guest rows; links the assets of the guests it runs.
fn replace(db: &mut dyn Db, hv: i64, guests: &[Guest], report_id: &str, now: i64) -> Result<Vec<Event>> {
    let hv_name = hostname(db, hv)?;
    let before: std::collections::BTreeMap<String, (String, Option<String>)> = db
        .query("SELECT key, name, uuid FROM guests WHERE hypervisor_id = ?1", crate::args![hv])?
        .iter()
        .map(|r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .collect::<Result<_>>()?;
    let mut seen = std::collections::BTreeSet::new();
    let mut events = Vec::new();
    // One number for this report's rows: later than any row written before.
    let seq: i64 = db.scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM guests", &[])?;
    for g in guests {
        let k = key(g);
        if !seen.insert(k.clone()) {
            continue;
        }
        if !before.contains_key(&k) {
            let what = if g.kind == "container" { "container" } else { "VM" };
            events.push(guest_event(
                "added",
                &k,
                None,
                Some(&g.name),
                format!("{what} {} defined on {hv_name}", g.name),
            ));
        }
        db.execute(
            "INSERT INTO guests (hypervisor_id, key, name, uuid, kind, source, vm_id, vcpus, memory_bytes, state, seen_at, \
             seq, running_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
             CASE WHEN ?10 = 'running' THEN ?12 END) ON CONFLICT (hypervisor_id, key) DO UPDATE SET \
             name = excluded.name, uuid = excluded.uuid, kind = excluded.kind, source = excluded.source, \
             vm_id = excluded.vm_id, vcpus = excluded.vcpus, memory_bytes = excluded.memory_bytes, \
             running_seq = CASE WHEN excluded.state = 'running' THEN COALESCE(CASE WHEN guests.state = 'running' \
             THEN guests.running_seq END, excluded.seq) END, \
             state = excluded.state, seen_at = excluded.seen_at, seq = excluded.seq",
            crate::args![
                hv,
                k.as_str(),
                g.name.as_str(),
                g.uuid.as_ref().map(|u| u.to_lowercase()),
                g.kind.as_str(),
                g.source.as_str(),
                g.id.clone(),
                g.vcpus.map(i64::from),
                g.memory_bytes.and_then(|b| i64::try_from(b).ok()),
                g.state.clone(),
                now,
                seq
            ],
        )?;
    }
    for (k, (name, uuid)) in before.iter().filter(|(k, _)| !seen.contains(*k)) {
        db.execute("DELETE FROM guests WHERE hypervisor_id = ?1 AND key = ?2", crate::args![hv, k.as_str()])?;
        events.push(guest_event("removed", k, Some(name), None, format!("VM {name} undefined on {hv_name}")));
        // Its asset no longer runs here: unlinked unless another hypervisor defines it.
        if let Some(uuid) = uuid {
            relink(db, uuid, report_id, now)?;
        }
    }
    for g in guests.iter().filter(|g| g.uuid.is_some()) {
        relink(db, &key(g), report_id, now)?;
    }
    Ok(events)
}

fn guest_event(kind: &'static str, key: &str, old: Option<&str>, new: Option<&str>, summary: String) -> Event {
    Event { key: key.to_owned(), ..Event::whole("guest", kind, None, old, new, summary) }
}

/// Where the asset with system UUID `uuid` runs, as the guest rows say: the hypervisor whose
/// latest report has it running, else the latest that defines it; and another hypervisor that
/// says it runs it too, when that claim is not stale (it was reported after the winner began
/// running it: a live migration's source, not yet reported since, is stale).
fn placement(db: &mut dyn Db, uuid: &str) -> Result<Option<(i64, Option<i64>)>> {
    let rows: Vec<(i64, bool, i64, Option<i64>)> = db
        .query(
            "SELECT hypervisor_id, CASE WHEN state = 'running' THEN 1 ELSE 0 END AS running, seq, running_seq \
             FROM guests WHERE uuid = ?1 ORDER BY running DESC, seq DESC, hypervisor_id DESC LIMIT 2",
            crate::args![uuid],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get::<i64>(1)? == 1, r.get(2)?, r.get(3)?)))
        .collect::<Result<_>>()?;
    Ok(match rows.as_slice() {
        [] => None,
        [(hv, true, _, since), (other, true, other_seq, _)] if since.is_some_and(|s| *other_seq > s) => {
            Some((*hv, Some(*other)))
        }
        [(hv, ..), ..] => Some((*hv, None)),
    })
}

/// Sets the link of the guest asset with system UUID `uuid` (if one reports) to where the rows
/// say it runs; its events are recorded on it.
fn relink(db: &mut dyn Db, uuid: &str, report_id: &str, now: i64) -> Result<()> {
    let Some(guest) =
        db.scalar_opt::<i64>("SELECT id FROM assets WHERE uuid = ?1 ORDER BY id LIMIT 1", crate::args![uuid])?
    else {
        return Ok(());
    };
    let events = link(db, guest, uuid)?;
    if !events.is_empty() {
        changelog::record_all(db, guest, Some(report_id), now, None, &events)?;
    }
    Ok(())
}

/// A guest asset's own report: linked to the hypervisor that runs it, if one reported it.
fn link_self(db: &mut dyn Db, id: i64, uuid: &str) -> Result<Vec<Event>> {
    link(db, id, uuid)
}

/// Moves asset `guest`'s hypervisor link to where the guest rows say it runs; the events.
fn link(db: &mut dyn Db, guest: i64, uuid: &str) -> Result<Vec<Event>> {
    let current: Option<i64> =
        db.scalar_opt("SELECT hypervisor_id FROM assets WHERE id = ?1", crate::args![guest])?.flatten();
    let place = placement(db, uuid)?.filter(|(hv, _)| *hv != guest);
    let wanted = place.map(|(hv, _)| hv);
    if wanted == current {
        return Ok(Vec::new());
    }
    db.execute("UPDATE assets SET hypervisor_id = ?2 WHERE id = ?1", crate::args![guest, wanted])?;
    let name = hostname(db, guest)?;
    let old_name = current.map(|h| hostname(db, h)).transpose()?;
    let new_name = wanted.map(|h| hostname(db, h)).transpose()?;
    let mut events = vec![Event::whole(
        "asset",
        "changed",
        Some("hypervisor"),
        old_name.as_deref(),
        new_name.as_deref(),
        match (&old_name, &new_name) {
            (Some(a), Some(b)) => format!("VM {name} moved from {a} to {b}"),
            (None, Some(b)) => format!("VM {name} runs on {b}"),
            (Some(a), None) => format!("VM {name} no longer defined on {a}"),
            (None, None) => unreachable!("wanted differs from current"),
        },
    )];
    if let Some((_, Some(other))) = place {
        let other = hostname(db, other)?;
        events.push(Event::whole(
            "security",
            "security",
            Some("hypervisor"),
            Some(&other),
            new_name.as_deref(),
            format!(
                "UUID {uuid} is reported running on both {other} and {}: the later report wins",
                new_name.as_deref().unwrap_or("?")
            ),
        ));
    }
    Ok(events)
}

/// A hypervisor's guests as last reported, each with the asset that is it (if it reports).
pub fn of_hypervisor(db: &mut dyn Db, hv: i64) -> Result<Vec<Value>> {
    db.query(
        "SELECT g.name, g.uuid, g.kind, g.source, g.vm_id, g.vcpus, g.memory_bytes, g.state, g.seen_at, \
         (SELECT a.id FROM assets a WHERE a.uuid = g.uuid ORDER BY a.id LIMIT 1), \
         (SELECT a.hostname FROM assets a WHERE a.uuid = g.uuid ORDER BY a.id LIMIT 1) \
         FROM guests g WHERE g.hypervisor_id = ?1 ORDER BY g.name, g.key",
        crate::args![hv],
    )?
    .iter()
    .map(|r| {
        Ok(json!({
            "name": r.get::<String>(0)?, "uuid": r.get::<Option<String>>(1)?, "kind": r.get::<String>(2)?,
            "source": r.get::<String>(3)?, "vm_id": r.get::<Option<String>>(4)?, "vcpus": r.get::<Option<i64>>(5)?,
            "memory_bytes": r.get::<Option<i64>>(6)?, "state": r.get::<Option<String>>(7)?,
            "seen_at": crate::store::rfc3339(r.get(8)?),
            "asset_id": r.get::<Option<i64>>(9)?, "asset_hostname": r.get::<Option<String>>(10)?,
        }))
    })
    .collect()
}

/// The names of the guests a hypervisor runs (for `host.offline`).
pub fn running_names(db: &mut dyn Db, hv: i64) -> Result<Vec<String>> {
    Ok(db.column(
        "SELECT name FROM guests WHERE hypervisor_id = ?1 AND (state = 'running' OR state IS NULL) ORDER BY name LIMIT 500",
        crate::args![hv],
    )?)
}
