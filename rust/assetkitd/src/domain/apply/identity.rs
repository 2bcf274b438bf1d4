//! Which asset a report belongs to, and what the report changes about the asset's identity
//! (status, authoritative name, drift). See ARCHITECTURE.md, "Identity".

use assetkit_core::model::Report;
use assetkit_core::names::is_placeholder_hostname;
use assetkit_core::placeholder::is_placeholder;
use serde::Serialize;

use crate::domain::components::Event;
use crate::domain::error::Result;
use crate::domain::inventory::presence::last_report;
use crate::store::{Db, DbExt, Row};

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

fn clean_name(name: Option<&str>) -> Option<String> {
    name.map(str::trim).filter(|n| !n.is_empty() && !is_placeholder_hostname(n)).map(str::to_owned)
}

/// What a report says about who it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// The running hostname (placeholders dropped).
    pub current: Option<String>,
    /// The cert file's hostname (placeholders dropped).
    pub cert: Option<String>,
    /// The system serial (placeholders dropped).
    pub serial: Option<String>,
    /// The serial, if the policy lets it identify the asset.
    pub trusted_serial: Option<String>,
    /// A VM or a container.
    pub is_virtual: bool,
}

impl Names {
    /// The names of `report` under `policy`.
    pub fn of(report: &Report, policy: Policy) -> Names {
        let system = report.facts.system.as_ref();
        let serial = system
            .and_then(|s| s.serial_number.as_deref())
            .map(str::trim)
            .filter(|s| !is_placeholder(s))
            .map(str::to_owned);
        let is_virtual = system.is_some_and(|s| s.r#virtual);
        let trusted_serial = match policy {
            Policy::Sn => serial.clone(),
            Policy::Auto => serial.clone().filter(|_| !is_virtual),
            Policy::Hostname => None,
        };
        Names {
            current: clean_name(report.host.hostname.as_deref()),
            cert: clean_name(report.host.cert_hostname.as_deref()),
            serial,
            trusted_serial,
            is_virtual,
        }
    }
}

/// The identity columns of an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRow {
    /// Id.
    pub id: i64,
    /// Authoritative hostname.
    pub hostname: Option<String>,
    /// What the host last called itself.
    pub reported_hostname: Option<String>,
    /// Status.
    pub status: String,
    /// Digest of the last changing report.
    pub facts_digest: Option<String>,
    /// The purchase-list row, JSON.
    pub purchase: Option<String>,
    /// none, enrolled, reenrol or revoked (see the 0004 migration).
    pub enrolment: String,
    /// When the offline sweep flagged it silent (its next report is "back online").
    pub silent_since: Option<i64>,
    /// Its serial number (a purchase list's, for an asset in stock).
    pub serial_number: Option<String>,
    /// `approval`: entered by hand, a fleet key claims it only once an admin approves.
    pub claim: Option<String>,
    /// Its last report before this one (unix seconds); `None` if it never reported.
    pub last_seen: Option<i64>,
    /// The digest of the package set stored for it.
    pub packages_digest: Option<String>,
}

impl AssetRow {
    /// Only its own credential may write it.
    pub fn is_bound(&self) -> bool {
        matches!(self.enrolment.as_str(), "enrolled" | "revoked")
    }
}

/// How an asset was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// By a trusted serial number.
    Serial,
    /// By the cert file's hostname.
    Cert,
    /// By the running hostname (or an old name of the asset).
    Hostname,
    /// By an unclaimed purchase-list serial.
    Purchase,
    /// By the host credential that signed the report.
    Credential,
}

const COLS: &str = "id, hostname, reported_hostname, status, facts_digest, purchase, enrolment, silent_since, serial_number, claim, last_seen, packages_digest";

fn asset_row(r: &Row) -> Result<AssetRow> {
    Ok(AssetRow {
        id: r.get(0)?,
        hostname: r.get(1)?,
        reported_hostname: r.get(2)?,
        status: r.get(3)?,
        facts_digest: r.get(4)?,
        purchase: r.get(5)?,
        enrolment: r.get(6)?,
        silent_since: r.get(7)?,
        serial_number: r.get(8)?,
        claim: r.get(9)?,
        last_seen: r.get(10)?,
        packages_digest: r.get(11)?,
    })
}

/// The asset with this id.
pub fn by_id(db: &mut dyn Db, id: i64) -> Result<Option<AssetRow>> {
    db.query_opt(&format!("SELECT {COLS} FROM assets WHERE id = ?1"), crate::args![id])?
        .as_ref()
        .map(asset_row)
        .transpose()
}

/// Another live asset the report's cert hostname names (a host credential claiming it).
pub fn claimed_elsewhere(db: &mut dyn Db, names: &Names, own: i64) -> Result<Option<AssetRow>> {
    match names.cert.as_deref() {
        Some(c) => Ok(by_name(db, c)?.filter(|a| a.id != own)),
        None => Ok(None),
    }
}

fn load(db: &mut dyn Db, sql: &str, value: &str) -> Result<Option<AssetRow>> {
    db.query_opt(sql, crate::args![value])?.as_ref().map(asset_row).transpose()
}

/// The live asset with this serial number.
pub fn by_serial(db: &mut dyn Db, serial: &str) -> Result<Option<AssetRow>> {
    load(
        db,
        &format!("SELECT {COLS} FROM assets WHERE serial_number = ?1 AND status <> 'retired' ORDER BY id LIMIT 1"),
        serial,
    )
}

/// The live asset called `name` now, or most recently, without regard to case (as DNS, Salt
/// and the pillar compare names).
pub fn by_name(db: &mut dyn Db, name: &str) -> Result<Option<AssetRow>> {
    if let Some(a) = load(
        db,
        &format!(
            "SELECT {COLS} FROM assets WHERE lower(hostname) = lower(?1) AND status <> 'retired' ORDER BY id LIMIT 1"
        ),
        name,
    )? {
        return Ok(Some(a));
    }
    load(
        db,
        &format!(
            "SELECT {COLS} FROM assets WHERE id = (SELECT n.asset_id FROM asset_names n JOIN assets a ON a.id = n.asset_id \
             WHERE lower(n.name) = lower(?1) AND a.status <> 'retired' ORDER BY n.until DESC LIMIT 1)"
        ),
        name,
    )
}

fn unclaimed_by_serial(db: &mut dyn Db, serial: &str) -> Result<Option<AssetRow>> {
    load(
        db,
        &format!(
            "SELECT {COLS} FROM assets WHERE serial_number = ?1 AND status = 'in_stock' AND hostname IS NULL ORDER BY id LIMIT 1"
        ),
        serial,
    )
}

/// The asset a report belongs to, in order: a trusted serial, the cert file's name when it
/// differs from the running one, the running name, an unclaimed purchase-list serial.
pub fn resolve(db: &mut dyn Db, names: &Names) -> Result<Option<(AssetRow, Via)>> {
    if let Some(sn) = &names.trusted_serial
        && let Some(a) = by_serial(db, sn)?
    {
        return Ok(Some((a, Via::Serial)));
    }
    if let Some(c) = names.cert.as_deref().filter(|c| !same_name(Some(c), names.current.as_deref()))
        && let Some(a) = by_name(db, c)?
    {
        return Ok(Some((a, Via::Cert)));
    }
    if let Some(h) = names.current.as_deref().or(names.cert.as_deref())
        && let Some(a) = by_name(db, h)?
    {
        return Ok(Some((a, Via::Hostname)));
    }
    if let Some(sn) = &names.serial
        && let Some(a) = unclaimed_by_serial(db, sn)?
    {
        return Ok(Some((a, Via::Purchase)));
    }
    Ok(None)
}

/// Two host names are one name when they differ only in case.
pub fn same_name(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        _ => false,
    }
}

/// What a report changes about the asset's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The asset's status after the report.
    pub status: String,
    /// The asset's authoritative hostname after the report.
    pub hostname: Option<String>,
    /// Identity-level events.
    pub events: Vec<Event>,
}

/// What a report says of the asset's presence (`domain::inventory::presence`): a host flagged
/// silent is back online, stating the same "last report at" fact as its "gone offline"; a
/// discovered asset that has its place (entered by hand with it, or assigned before it ever
/// reported) is in service from its first report.
fn reporting(db: &mut dyn Db, asset: &AssetRow, status: &mut String, events: &mut Vec<Event>) -> Result<()> {
    if asset.silent_since.is_some() && crate::domain::webhooks::clear_silence(db, asset.id)? {
        let before = asset.last_seen.map(last_report).unwrap_or_else(|| "no report before".into());
        events.push(Event::whole(
            "host",
            "changed",
            Some("online"),
            Some("offline"),
            Some("online"),
            format!("host back online: reporting again ({before} this one)"),
        ));
    }
    if status == "discovered" && assigned(db, asset.id)? {
        *status = "online".into();
        events.push(Event::whole(
            "asset",
            "changed",
            Some("status"),
            Some("discovered"),
            Some("online"),
            "status discovered → online: assigned, and now reporting".into(),
        ));
    }
    Ok(())
}

/// Whether an asset has its business unit, IDC and rack (what puts a discovered asset online).
fn assigned(db: &mut dyn Db, id: i64) -> Result<bool> {
    Ok(db.scalar(
        "SELECT business_unit_id IS NOT NULL AND idc_id IS NOT NULL AND rack IS NOT NULL FROM assets WHERE id = ?1",
        crate::args![id],
    )?)
}

/// Status, authoritative name, accepted renames and drift. A purchased asset coming online also
/// gets its purchase-list mismatches flagged.
pub fn changes(db: &mut dyn Db, asset: &AssetRow, report: &Report, names: &Names) -> Result<Change> {
    let (current, cert) = (names.current.as_deref(), names.cert.as_deref());
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
        let found = crate::domain::import::mismatches(&purchase, report);
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
        db.execute(
            "UPDATE assets SET mismatches = ?2 WHERE id = ?1",
            crate::args![asset.id, serde_json::to_string(&found).unwrap_or_default()],
        )?;
    }
    reporting(db, asset, &mut status, &mut events)?;
    let mut hostname = asset.hostname.clone();
    if hostname.is_none()
        && let Some(wanted) = names.cert.clone().or_else(|| names.current.clone())
    {
        // One live asset per name: a nameless asset's report cannot take a name another asset
        // goes by (in any case).
        match crate::domain::inventory::hostname_owner(db, &wanted, Some(asset.id))? {
            None => {
                events.push(Event::whole(
                    "asset",
                    "changed",
                    Some("hostname"),
                    None,
                    Some(&wanted),
                    format!("hostname set to {wanted}"),
                ));
                hostname = Some(wanted);
            }
            Some(owner) => events.push(Event::whole(
                "security",
                "security",
                Some("hostname"),
                None,
                Some(&wanted),
                format!("the host reported the name {wanted}, which asset {owner} goes by; this asset stays nameless"),
            )),
        }
    }
    // The cert file holds an older name, and the inventory already carries the new one: an
    // admin renamed the asset, and the host has now been renamed to match.
    if cert.is_some() && !same_name(cert, current) && current.is_some() && same_name(asset.hostname.as_deref(), current)
    {
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
        && !now_name.eq_ignore_ascii_case(name)
        && !same_name(asset.reported_hostname.as_deref(), Some(now_name))
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
    Ok(Change { status, hostname, events })
}
