//! What people do to assets: enter a host by hand, rename, assign, retire. One live asset per
//! name, without regard to case.

use serde::Deserialize;

use super::names::{NameList, named_id};
use super::row::STATUSES;
use crate::domain::changelog::record;
use crate::domain::components::Event;
use crate::domain::error::{Error, Result};
use crate::store::{Db, DbExt};

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
    /// The person or team accountable ("" clears).
    pub owner_name: Option<String>,
    /// Their e-mail ("" clears).
    pub owner_email: Option<String>,
    /// YYYY-MM-DD ("" clears).
    pub purchase_date: Option<String>,
    /// YYYY-MM-DD ("" clears).
    pub warranty_end: Option<String>,
    /// The whole set of tags.
    pub tags: Option<Vec<String>>,
    /// Custom field values by name; null or "" clears one.
    pub fields: Option<std::collections::BTreeMap<String, Option<String>>>,
}

impl AssetPatch {
    /// The ownership part of the patch.
    pub fn ownership(&self) -> super::ownership::Ownership {
        super::ownership::Ownership {
            owner_name: self.owner_name.clone(),
            owner_email: self.owner_email.clone(),
            purchase_date: self.purchase_date.clone(),
            warranty_end: self.warranty_end.clone(),
            tags: self.tags.clone(),
            fields: self.fields.clone(),
        }
    }
}

/// Checks a hostname entered by an admin: the same rule as names in reports
/// ([`assetkit_core::names::check_hostname`]).
pub fn valid_hostname(name: &str) -> Result<()> {
    assetkit_core::names::check_hostname(name)
        .map_err(|why| Error::invalid_field("hostname", format!("{:?} {why}", crate::log::clip(name))))
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
    // Not online before its first report (domain::inventory::presence): a host entered by hand
    // is discovered until it reports, and then online if it has its place.
    let status = input.status.as_deref().unwrap_or("discovered");
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
    let current = Current {
        hostname: row.get(0)?,
        status: row.get(1)?,
        business_unit: row.get(2)?,
        idc: row.get(3)?,
        rack: row.get(4)?,
        position: row.get(5)?,
    };
    let mut events = Vec::new();
    events.extend(rename(db, id, current.hostname.as_deref(), patch.hostname.as_deref(), actor, now)?);
    events.extend(place(db, id, &current, patch, actor)?);
    events.extend(status(db, id, &current.status, patch.status.as_ref(), actor)?);
    events.extend(super::ownership::apply(db, id, &patch.ownership(), actor)?);
    if !events.is_empty() {
        db.execute("UPDATE assets SET updated_at = ?2 WHERE id = ?1", crate::args![id, now])?;
    }
    for e in &events {
        record(db, id, None, now, Some(actor), e)?;
    }
    Ok(events.len())
}

/// The fields a patch may change, as they stand.
struct Current {
    hostname: Option<String>,
    status: String,
    business_unit: Option<String>,
    idc: Option<String>,
    rack: Option<String>,
    position: Option<String>,
}

/// A patched text field: `None` leaves it, `Some(None)` clears it (an empty string), else the
/// trimmed value.
fn patched(v: &Option<String>) -> Option<Option<String>> {
    v.as_deref().map(str::trim).map(|s| (!s.is_empty()).then(|| s.to_owned()))
}

/// A rename: the new name checked (valid, nobody else's in any case), the old one kept so that a
/// host whose cert file still holds it is told the new name instead of becoming a duplicate.
fn rename(
    db: &mut dyn Db,
    id: i64,
    hostname: Option<&str>,
    wanted: Option<&str>,
    actor: &str,
    now: i64,
) -> Result<Option<Event>> {
    // A name is taken as given (a form trims what a person typed before it gets here).
    let Some(new) = wanted else { return Ok(None) };
    if new.is_empty() {
        return Err(Error::invalid_field("hostname", "hostname cannot be cleared"));
    }
    valid_hostname(new)?;
    if hostname == Some(new) {
        return Ok(None);
    }
    if let Some(owner) = hostname_owner(db, new, Some(id))? {
        return Err(Error::HostnameTaken { hostname: new.to_owned(), owner });
    }
    if let Some(old) = hostname {
        db.execute(
            "INSERT INTO asset_names (name, asset_id, until) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name, asset_id) DO UPDATE SET until = excluded.until",
            crate::args![old, id, now],
        )?;
    }
    db.execute("DELETE FROM asset_names WHERE name = ?1 AND asset_id = ?2", crate::args![new, id])?;
    db.execute("UPDATE assets SET hostname = ?2 WHERE id = ?1", crate::args![id, new])?;
    Ok(Some(admin_event(
        Some("hostname"),
        hostname,
        Some(new),
        format!("renamed {} → {new} by {actor}", hostname.unwrap_or("(none)")),
        "changed",
    )))
}

/// Business unit, IDC, rack and position.
fn place(db: &mut dyn Db, id: i64, current: &Current, patch: &AssetPatch, actor: &str) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    let set = |field: &str, old: &Option<String>, new: &Option<String>| {
        admin_event(
            Some(field),
            old.as_deref(),
            new.as_deref(),
            format!("{field} set to {} by {actor}", new.as_deref().unwrap_or("(none)")),
            "changed",
        )
    };
    for (field, list, column, old, value) in [
        ("business_unit", NameList::BusinessUnits, "business_unit_id", &current.business_unit, &patch.business_unit),
        ("idc", NameList::Idcs, "idc_id", &current.idc, &patch.idc),
    ] {
        if let Some(new) = patched(value)
            && new != *old
        {
            let new_id = named_id(db, list, new.as_deref())?;
            db.execute(&format!("UPDATE assets SET {column} = ?2 WHERE id = ?1"), crate::args![id, new_id])?;
            events.push(set(field, old, &new));
        }
    }
    for (field, old, value) in [("rack", &current.rack, &patch.rack), ("position", &current.position, &patch.position)]
    {
        if let Some(new) = patched(value)
            && new != *old
        {
            db.execute(&format!("UPDATE assets SET {field} = ?2 WHERE id = ?1"), crate::args![id, &new])?;
            events.push(set(field, old, &new));
        }
    }
    Ok(events)
}

/// The status asked for, or (for a discovered asset now complete: a business unit, an IDC and a
/// rack, and reporting) online.
fn status(db: &mut dyn Db, id: i64, status: &str, wanted: Option<&String>, actor: &str) -> Result<Option<Event>> {
    let mut new_status = match patched(&wanted.cloned()) {
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
        let complete: bool = db.scalar(
            "SELECT business_unit_id IS NOT NULL AND idc_id IS NOT NULL AND rack IS NOT NULL AND last_seen IS NOT NULL \
             FROM assets WHERE id = ?1",
            crate::args![id],
        )?;
        if complete {
            new_status = Some("online".into());
        }
    }
    let Some(s) = new_status.filter(|s| s != status) else { return Ok(None) };
    db.execute("UPDATE assets SET status = ?2 WHERE id = ?1", crate::args![id, s.as_str()])?;
    Ok(Some(admin_event(
        Some("status"),
        Some(status),
        Some(&s),
        format!("status {status} → {s} by {actor}"),
        "changed",
    )))
}
