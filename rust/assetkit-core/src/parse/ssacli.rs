//! `ssacli ctrl all show config detail` (and hpssacli's and hpacucli's, the same text) ->
//! HPE Smart Array controllers, their logical drives and physical drives.
//!
//! The output is indented text: a controller header at column 0 ("Smart Array P440ar in Slot 0
//! (Embedded)"), its fields, then drive cages, arrays (`Array: A`) holding logical drives
//! (`Logical Drive: 1`) and physical drives (`physicaldrive 1I:1:1`, one block each), and the
//! `Unassigned` drives. Physical drives are also listed one per line with a summary in
//! parentheses ("(port 1I:box 1:bay 1, SATA SSD, 1.9 TB, OK)"), which is all that `show config`
//! without `detail` prints; those lines are read too. Physical drive sizes are decimal (as the
//! drives are sold), logical drive and cache sizes binary.

use super::raid::{Raid, RaidError, field, size_bytes, slot};
use crate::model::{Disk, LogicalDrive, RaidController};

#[derive(Debug, Default)]
struct Drive {
    id: String,
    summary: bool,
    detail: bool,
    status: Option<String>,
    interface: Option<String>,
    size: Option<String>,
    firmware: Option<String>,
    serial: Option<String>,
    model: Option<String>,
    rotational: Option<bool>,
    wwn: Option<String>,
    sas_address: Option<String>,
}

#[derive(Debug, Default)]
struct Array {
    drives: Vec<String>,
    logical: Vec<LogicalDrive>,
}

#[derive(Debug, Default)]
struct Controller {
    info: RaidController,
    slot: String,
    /// Fields followed the header: the `detail` form, which lists every drive in full.
    detailed: bool,
    /// Drives, arrays or an empty cage followed the controller's own fields.
    ended: bool,
    /// Any line followed the header.
    followed: bool,
    arrays: Vec<Array>,
    drives: Vec<Drive>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Block {
    Controller,
    Logical,
    Physical(usize),
    Other,
}

/// Parses the whole output. Fails when no controller header is found, or when the output stops
/// before the detail of every drive it listed.
pub fn parse(text: &str) -> Result<Raid, RaidError> {
    let mut reading = Reading::default();
    text.lines().for_each(|line| reading.line(line));
    if reading.controllers.is_empty() {
        let lower = text.to_ascii_lowercase();
        if lower.contains("no controllers detected") {
            return Ok(Raid::default());
        }
        return Err(RaidError::Invalid("no Smart Array controller in the ssacli output".to_owned()));
    }
    // ssacli ends every line, the last included; an answer cut anywhere but at a line's end
    // says so here, wherever the cut fell.
    if !text.ends_with('\n') {
        return Err(RaidError::Truncated("ssacli output is truncated: it ends mid-line".to_owned()));
    }
    let mut raid = Raid::default();
    for c in reading.controllers {
        complete(&c)?;
        let prefix = (c.slot != "0").then(|| format!("slot{}", c.slot));
        let mut info = c.info;
        for a in c.arrays {
            let members: Vec<String> = a.drives.iter().map(|d| slot(prefix.as_deref(), d)).collect();
            info.logical_drives.extend(a.logical.into_iter().map(|mut ld| {
                ld.members = members.clone();
                ld
            }));
        }
        raid.controllers.push(info);
        raid.disks.extend(c.drives.into_iter().map(|d| to_disk(d, prefix.as_deref())));
    }
    Ok(raid)
}

/// A controller whose answer stops early is an error, never a shorter drive list.
fn complete(c: &Controller) -> Result<(), RaidError> {
    if !c.followed || (c.detailed && !c.ended) {
        return Err(RaidError::Truncated(format!(
            "ssacli output is truncated: it stops in the details of the controller in slot {}",
            c.slot
        )));
    }
    if c.detailed
        && let Some(d) = c.drives.iter().find(|d| !d.detail || d.model.is_none())
    {
        return Err(RaidError::Truncated(format!(
            "ssacli output is truncated: physicaldrive {} has no {}",
            d.id,
            if d.detail { "Model" } else { "detail" }
        )));
    }
    Ok(())
}

/// What has been read so far, line by line.
#[derive(Default)]
struct Reading {
    controllers: Vec<Controller>,
    block: Option<Block>,
    array: Option<usize>,
}

impl Reading {
    fn line(&mut self, raw: &str) {
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        let line = raw.trim();
        if line.is_empty() {
            return;
        }
        if !indented && let Some(c) = header(line) {
            self.controllers.push(c);
            self.block = Some(Block::Controller);
            self.array = None;
            return;
        }
        let Some(c) = self.controllers.last_mut() else { return };
        c.followed = true;
        if let Some(rest) = line.strip_prefix("physicaldrive ") {
            c.ended = true;
            if let Some(i) = physical_drive(c, self.array, rest) {
                self.block = Some(Block::Physical(i));
            }
        } else if line.starts_with("Array:") || line.starts_with("array ") {
            c.ended = true;
            c.arrays.push(Array::default());
            self.array = Some(c.arrays.len() - 1);
            self.block = Some(Block::Other);
        } else if let Some(rest) = line.strip_prefix("Logical Drive:") {
            c.ended = true;
            if let Some(a) = self.array.and_then(|a| c.arrays.get_mut(a)) {
                a.logical.push(LogicalDrive { id: rest.trim().to_owned(), ..LogicalDrive::default() });
                self.block = Some(Block::Logical);
            }
        } else if let Some(rest) = line.strip_prefix("logicaldrive ") {
            c.ended = true;
            if let Some(a) = self.array.and_then(|a| c.arrays.get_mut(a)) {
                a.logical.push(logical_summary(rest));
            }
        } else if is_divider(line) {
            // Ports, cages and enclosure processors come before the drives; a detail answer
            // that stops there is cut short (an empty cage still says "None attached").
            c.ended |= line == "Unassigned" || line == "unassigned" || line.starts_with("HBA Drives");
            self.block = Some(Block::Other);
            self.array = None;
        } else if line == "None attached" {
            c.ended = true;
        } else if let Some((key, value)) = line.split_once(':') {
            let array = self.array;
            field_of(c, self.block.unwrap_or(Block::Other), array, key.trim(), value.trim());
        }
    }
}

/// A `physicaldrive` line: the drive (found or added, and placed in the current array), its
/// summary read; the drive's index when a detail block follows.
fn physical_drive(c: &mut Controller, array: Option<usize>, rest: &str) -> Option<usize> {
    let (id, summary) = match rest.split_once(" (") {
        Some((id, summary)) => (id.trim(), Some(summary.trim_end_matches(')'))),
        None => (rest.trim(), None),
    };
    let i = match c.drives.iter().position(|d| d.id == id) {
        Some(i) => i,
        None => {
            c.drives.push(Drive { id: id.to_owned(), ..Drive::default() });
            c.drives.len() - 1
        }
    };
    if let Some(a) = array.and_then(|a| c.arrays.get_mut(a))
        && !a.drives.iter().any(|d| d == id)
    {
        a.drives.push(id.to_owned());
    }
    match summary {
        Some(summary) => {
            read_summary(&mut c.drives[i], summary);
            None
        }
        None => {
            c.drives[i].detail = true;
            Some(i)
        }
    }
}

/// Lines that end the block above them.
fn is_divider(line: &str) -> bool {
    line == "Unassigned"
        || line == "unassigned"
        || line == "Physical Drives"
        || line.starts_with("HBA Drives")
        || line.starts_with("Port Name:")
        || line.contains("Drive Cage")
        || line.starts_with("SEP ")
        || line.starts_with("Expander ")
        || line.starts_with("Enclosure ")
}

/// A `key: value` line, read into the block it belongs to.
fn field_of(c: &mut Controller, block: Block, array: Option<usize>, key: &str, value: &str) {
    match block {
        Block::Controller => {
            c.detailed = true;
            controller_field(&mut c.info, key, value)
        }
        Block::Logical => {
            if let Some(ld) = array.and_then(|a| c.arrays.get_mut(a)).and_then(|a| a.logical.last_mut()) {
                logical_field(ld, key, value);
            }
        }
        Block::Physical(i) => drive_field(&mut c.drives[i], key, value),
        Block::Other => {}
    }
}

/// "Smart Array P410 in Slot 1   (sn: PACCRID10331H80)" -> the controller it starts.
fn header(line: &str) -> Option<Controller> {
    let (model, rest) = line.split_once(" in Slot ")?;
    let slot: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if slot.is_empty() {
        return None;
    }
    let serial = rest.split_once("(sn:").and_then(|(_, s)| field(s.trim_end_matches(')')));
    Some(Controller {
        info: RaidController {
            id: slot.clone(),
            model: field(model),
            serial_number: serial,
            source: "ssacli".to_owned(),
            ..RaidController::default()
        },
        slot,
        ..Controller::default()
    })
}

fn controller_field(info: &mut RaidController, key: &str, value: &str) {
    match key {
        "Serial Number" => info.serial_number = field(value),
        "Firmware Version" => info.firmware = field(value),
        "Controller Status" => info.status = field(value),
        "Total Cache Size" => info.cache_bytes = size_bytes(value, true),
        "Battery/Capacitor Status" => info.battery = field(value),
        _ => {}
    }
}

/// "1+0" -> "RAID 1+0"; "6 (ADG)" kept as "RAID 6 (ADG)".
fn raid_level(tolerance: &str) -> Option<String> {
    let t = field(tolerance)?;
    Some(if t.to_ascii_uppercase().starts_with("RAID") { t } else { format!("RAID {t}") })
}

fn logical_field(ld: &mut LogicalDrive, key: &str, value: &str) {
    match key {
        "Size" => ld.size_bytes = size_bytes(value, true),
        "Fault Tolerance" => ld.raid_level = raid_level(value),
        "Status" => ld.state = field(value),
        _ => {}
    }
}

/// "1 (2.2 TB, RAID 1+0, OK)" -> a logical drive.
fn logical_summary(rest: &str) -> LogicalDrive {
    let (id, summary) = rest.split_once(" (").unwrap_or((rest, ""));
    let parts: Vec<&str> = summary.trim_end_matches(')').split(", ").collect();
    LogicalDrive {
        id: id.trim().to_owned(),
        size_bytes: parts.first().and_then(|s| size_bytes(s, true)),
        raid_level: parts.get(1).and_then(|r| raid_level(r)),
        state: parts.get(2).and_then(|s| field(s)),
        ..LogicalDrive::default()
    }
}

/// "port 1I:box 1:bay 1, SATA SSD, 1.9 TB, OK".
fn read_summary(d: &mut Drive, summary: &str) {
    let parts: Vec<&str> = summary.split(", ").collect();
    d.summary = true;
    if let Some(kind) = parts.get(1) {
        let upper = kind.to_ascii_uppercase();
        d.interface = d.interface.take().or_else(|| interface(&upper));
        if d.rotational.is_none() {
            d.rotational = if upper.contains("SSD") {
                Some(false)
            } else if upper.contains("HDD") {
                Some(true)
            } else {
                None
            };
        }
    }
    d.size = d.size.take().or_else(|| parts.get(2).map(|s| s.to_string()));
    d.status = d.status.take().or_else(|| parts.get(3).and_then(|s| field(s)));
}

fn interface(upper: &str) -> Option<String> {
    ["NVME", "SATA", "SAS"].iter().find(|i| upper.contains(*i)).map(|i| i.to_ascii_lowercase())
}

fn drive_field(d: &mut Drive, key: &str, value: &str) {
    match key {
        "Status" => d.status = field(value),
        "Interface Type" => {
            let upper = value.to_ascii_uppercase();
            d.interface = interface(&upper);
            if upper.contains("SOLID STATE") {
                d.rotational = Some(false);
            }
        }
        "Rotational Speed" => d.rotational = Some(true),
        "Size" => d.size = Some(value.to_owned()),
        "Firmware Revision" => d.firmware = field(value),
        "Serial Number" => d.serial = field(value),
        "WWID" => d.wwn = super::wwn::normalize(value),
        "SAS Address" => d.sas_address = super::wwn::sas_address(value),
        "Model" => d.model = Some(value.to_owned()),
        _ => {}
    }
}

fn to_disk(d: Drive, prefix: Option<&str>) -> Disk {
    // SCSI inquiry layout: vendor in 8 columns, then the product ("ATA     INTEL SSDSC2KB01").
    let (vendor, model) = match &d.model {
        Some(m) if m.len() > 8 && m.is_char_boundary(8) => (field(&m[..8]).filter(|v| v != "ATA"), field(&m[8..])),
        Some(m) => (None, field(m)),
        None => (None, None),
    };
    Disk {
        name: None,
        slot: Some(slot(prefix, &d.id)),
        model,
        vendor,
        serial_number: d.serial,
        wwn: d.wwn,
        sas_address: d.sas_address,
        size_bytes: d.size.as_deref().and_then(|s| size_bytes(s, false)),
        rotational: d.rotational,
        interface: d.interface,
        firmware: d.firmware,
        state: d.status,
        source: "ssacli".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_only_config() {
        let text = "\nSmart Array P410i in Slot 0 (Embedded)    (sn: 50014380095E2C50)\n\n   array A (SAS, Unused Space: 0  MB)\n\n      logicaldrive 1 (2.2 TB, RAID 1+0, OK)\n\n      physicaldrive 1I:1:1 (port 1I:box 1:bay 1, SAS, 600 GB, OK)\n      physicaldrive 1I:1:2 (port 1I:box 1:bay 2, SAS, 600 GB, OK)\n";
        let raid = parse(text).unwrap();
        let c = &raid.controllers[0];
        assert_eq!(
            (c.model.as_deref(), c.serial_number.as_deref()),
            (Some("Smart Array P410i"), Some("50014380095E2C50"))
        );
        assert_eq!(c.logical_drives[0].raid_level.as_deref(), Some("RAID 1+0"));
        assert_eq!(c.logical_drives[0].members, ["1I:1:1", "1I:1:2"]);
        assert_eq!(raid.disks[1].size_bytes, Some(600_000_000_000));
        assert!(matches!(parse("Error: something"), Err(RaidError::Invalid(_))));
    }
}
