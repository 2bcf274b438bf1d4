//! `arcconf GETCONFIG <n> AL` -> one Adaptec / Microsemi (SmartRAID, ServeRAID 8k) controller,
//! its logical devices and physical devices.
//!
//! The output is three sections under dashed titles ("Controller information", "Logical device
//! information", "Physical Device information"; the case varies between versions), each of
//! `Key : value` lines. Logical devices list their members as segments ("Segment 0 : Present
//! (2861588MB, SATA, HDD, Enclosure:0, Slot:0) WD-WMC4N0EA309P"); where the parentheses hold
//! only a channel ("(0,1)"), the serial at the end names the physical device, whose `Reported
//! Location` gives the slot. arcconf always ends with
//! "Command completed successfully."; an output without it was cut off.

use super::raid::{Raid, RaidError, field, size_bytes, slot};
use crate::model::{Disk, LogicalDrive, RaidController};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    Controller,
    Battery,
    Logical,
    Physical,
    Other,
}

#[derive(Debug, Default)]
struct Device {
    drive: bool,
    channel: Option<String>,
    location: Option<String>,
    disk: Disk,
}

/// How many controllers `GETCONFIG` says the host has ("Controllers found: 2").
pub fn controllers_found(text: &str) -> Option<u32> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case("controllers found").then(|| v.trim().parse().ok()).flatten()
    })
}

/// Parses the output for controller `number` (1 for the first).
pub fn parse(number: u32, text: &str) -> Result<Raid, RaidError> {
    if !text.contains("Command completed successfully") {
        let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no output");
        let looks_like_arcconf = text.contains("Controller information") || text.contains("Controller Information");
        return Err(if looks_like_arcconf {
            RaidError::Truncated(format!(
                "arcconf GETCONFIG {number} output is truncated (no \"Command completed successfully.\")"
            ))
        } else {
            RaidError::Failed(format!("arcconf GETCONFIG {number} failed: {first}"))
        });
    }
    let mut reading = Reading::new(number);
    text.lines().for_each(|line| reading.line(line));
    Ok(reading.finish(number))
}

/// What has been read so far, line by line.
struct Reading {
    controller: RaidController,
    /// Each logical device's segments, in order.
    segments: Vec<Vec<String>>,
    devices: Vec<Device>,
    section: Section,
    previous_dashes: bool,
}

impl Reading {
    fn new(number: u32) -> Reading {
        Reading {
            controller: RaidController { id: number.to_string(), source: "arcconf".to_owned(), ..Default::default() },
            segments: Vec::new(),
            devices: Vec::new(),
            section: Section::Other,
            previous_dashes: false,
        }
    }

    fn line(&mut self, raw: &str) {
        let line = raw.trim();
        if line.starts_with("---") {
            self.previous_dashes = true;
            return;
        }
        // Titles sit between dashed lines; so, in some versions, does the first "Device #0".
        let title = self.previous_dashes && !line.contains(':') && line.to_ascii_lowercase().contains("information");
        self.previous_dashes = false;
        // Older versions say "Logical drive" where newer ones say "Logical device".
        let lower = line.to_ascii_lowercase().replace("logical drive", "logical device");
        if title {
            self.section = section_of(&lower, self.section);
        } else if let Some(n) = lower.strip_prefix("logical device number ") {
            self.section = Section::Logical;
            self.controller.logical_drives.push(LogicalDrive { id: n.trim().to_owned(), ..LogicalDrive::default() });
            self.segments.push(Vec::new());
        } else if self.section == Section::Physical && line.starts_with("Device #") {
            self.devices.push(Device::default());
        } else if self.section == Section::Physical && lower.starts_with("device is ") {
            if let Some(d) = self.devices.last_mut() {
                d.drive = lower.contains("hard drive") || lower.contains("solid state") || lower.contains("ssd");
            }
        } else if let Some((key, value)) = line.split_once(" : ").or_else(|| line.split_once(':')) {
            let key = key.trim().to_ascii_lowercase().replace("logical drive", "logical device");
            self.field(&key, value.trim());
        }
    }

    fn field(&mut self, key: &str, value: &str) {
        match self.section {
            Section::Controller => controller_field(&mut self.controller, key, value),
            Section::Battery => {
                if key == "status" || key == "overall backup unit status" {
                    self.controller.battery = field(value);
                }
            }
            Section::Logical => {
                if let (Some(ld), Some(segments)) =
                    (self.controller.logical_drives.last_mut(), self.segments.last_mut())
                {
                    logical_field(ld, segments, key, value);
                }
            }
            Section::Physical => {
                if let Some(d) = self.devices.last_mut() {
                    physical_field(d, key, value);
                }
            }
            Section::Other => {}
        }
    }

    fn finish(self, number: u32) -> Raid {
        let prefix = (number != 1).then(|| format!("c{number}"));
        let mut controller = self.controller;
        let drives: Vec<Device> = self.devices.into_iter().filter(|d| d.drive).collect();
        for (ld, list) in controller.logical_drives.iter_mut().zip(&self.segments) {
            ld.members = list.iter().filter_map(|s| member(s, &drives)).map(|s| slot(prefix.as_deref(), &s)).collect();
        }
        let disks = drives
            .into_iter()
            .map(|d| {
                let local = d.location.or(d.channel).unwrap_or_else(|| "?".to_owned());
                Disk { slot: Some(slot(prefix.as_deref(), &local)), source: "arcconf".to_owned(), ..d.disk }
            })
            .collect();
        Raid { controllers: vec![controller], disks }
    }
}

/// The section a title opens (a "Device Phy" title stays in the current one).
fn section_of(title: &str, current: Section) -> Section {
    if title.contains("battery") || title.contains("zmm") || title.contains("backup unit") {
        Section::Battery
    } else if title.starts_with("controller") {
        Section::Controller
    } else if title.starts_with("logical device") {
        Section::Logical
    } else if title.starts_with("physical device") {
        Section::Physical
    } else if title.starts_with("device phy") {
        current
    } else {
        Section::Other
    }
}

fn controller_field(controller: &mut RaidController, key: &str, value: &str) {
    match key {
        "controller status" => controller.status = field(value),
        "controller model" => controller.model = field(value),
        "controller serial number" => controller.serial_number = field(value),
        "installed memory" => controller.cache_bytes = size_bytes(value, true),
        "firmware" => controller.firmware = field(value),
        _ => {}
    }
}

fn logical_field(ld: &mut LogicalDrive, segments: &mut Vec<String>, key: &str, value: &str) {
    match key {
        "logical device name" => ld.name = field(value),
        "raid level" => {
            ld.raid_level =
                field(value).map(|l| if l.starts_with(|c: char| c.is_ascii_digit()) { format!("RAID {l}") } else { l })
        }
        "status of logical device" => ld.state = field(value),
        "size" => ld.size_bytes = size_bytes(value, true),
        k if k.starts_with("segment ") || k.contains(", segment ") => segments.push(value.to_owned()),
        // Old firmware: "Drive(s) (Channel,Device) : 0,0 0,1".
        "drive(s) (channel,device)" => segments.extend(value.split_whitespace().map(|cd| format!("({cd})"))),
        _ => {}
    }
}

fn physical_field(d: &mut Device, key: &str, value: &str) {
    let disk = &mut d.disk;
    match key {
        "state" => disk.state = field(value),
        "transfer speed" => disk.interface = value.split_whitespace().next().and_then(interface),
        "reported location" => d.location = location(value),
        "reported channel,device" | "reported channel,device(t:l)" => {
            d.channel = field(value.split('(').next().unwrap_or(value))
        }
        "vendor" => disk.vendor = field(value).filter(|v| v != "ATA"),
        "model" => disk.model = field(value),
        "firmware" => disk.firmware = field(value),
        "serial number" => disk.serial_number = field(value),
        "world-wide name" => disk.wwn = super::wwn::normalize(value),
        "sas address" => disk.sas_address = super::wwn::sas_address(value),
        "size" | "total size" => disk.size_bytes = size_bytes(value, true),
        "ssd" => disk.rotational = Some(!value.eq_ignore_ascii_case("yes")),
        _ => {}
    }
}

fn interface(word: &str) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    matches!(lower.as_str(), "sas" | "sata" | "nvme").then_some(lower)
}

/// "Enclosure 0, Slot 3" -> "0:3"; "Connector 0, Device 1" -> "C0:D1".
fn location(value: &str) -> Option<String> {
    let words: Vec<&str> =
        value.split(|c: char| c == ',' || c == ':' || c.is_whitespace()).filter(|w| !w.is_empty()).collect();
    let after = |name: &str| words.iter().position(|w| w.eq_ignore_ascii_case(name)).and_then(|i| words.get(i + 1));
    match (after("Enclosure"), after("Slot"), after("Connector"), after("Device")) {
        (Some(e), Some(s), _, _) => Some(format!("{e}:{s}")),
        (_, _, Some(c), Some(d)) => Some(format!("C{c}:D{d}")),
        _ => None,
    }
}

/// A segment's drive: the place in its parentheses, else the physical device with the serial
/// the segment ends with (masked serials repeat, places do not).
fn member(segment: &str, drives: &[Device]) -> Option<String> {
    let (inside, serial) = match segment.split_once('(') {
        Some((_, rest)) => rest.split_once(')').map(|(i, s)| (i, s.trim())).unwrap_or((rest, "")),
        None => ("", segment.trim()),
    };
    let place = |d: &Device| d.location.clone().or_else(|| d.channel.clone());
    if let Some(found) = location(inside) {
        return Some(found);
    }
    if let Some(d) = drives.iter().find(|d| !serial.is_empty() && d.disk.serial_number.as_deref() == Some(serial)) {
        return place(d);
    }
    // Old firmware: "(0,1)" is the channel and device.
    let channel = inside.replace(' ', "");
    drives.iter().find(|d| d.channel.as_deref() == Some(channel.as_str())).and_then(place).or_else(|| field(&channel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(location("Enclosure 0, Slot 3").as_deref(), Some("0:3"));
        assert_eq!(location("Connector 1, Device 2").as_deref(), Some("C1:D2"));
        assert_eq!(location("Controller:1,Enclosure:0,Slot:9").as_deref(), Some("0:9"));
        assert_eq!(location("garbage"), None);
        assert_eq!(controllers_found("Controllers found: 2\n"), Some(2));
    }
}
