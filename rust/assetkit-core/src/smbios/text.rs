//! `dmidecode` text output -> [`Smbios`].
//!
//! Handles the current format (`Handle 0x0100, DMI type 1, 27 bytes` then a title line and
//! tab-indented `Key: Value` lines) and the 2.x format of RHEL 2-4 era hosts (`Handle 0x0100`
//! alone, `DMI type 1, 25 bytes.` on the next line, one more level of indentation and different
//! key names). Garbage lines are skipped; a truncated record yields what it holds. dmidecode's
//! markers (`<BAD INDEX>`, `<OUT OF SPEC>`, `<OUT OF SPACE>`) are `None`, as the raw decoder
//! gives for the same bytes.

use super::{
    BiosInfo, BoardInfo, ChassisInfo, MemoryArrayInfo, MemoryDeviceInfo, PowerSupplyInfo, ProcessorInfo, Smbios,
    SystemInfo,
};
use crate::placeholder::{clean, clean_label, clean_part_number};

/// One record: its type and its first-level `Key: Value` fields.
#[derive(Debug, Default)]
struct Record<'a> {
    kind: Option<u32>,
    handle: Option<u16>,
    title_indent: Option<usize>,
    field_indent: Option<usize>,
    fields: Vec<(&'a str, &'a str)>,
}

impl<'a> Record<'a> {
    fn get(&self, keys: &[&str]) -> Option<&'a str> {
        keys.iter().find_map(|k| self.fields.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| *v))
    }
    /// An identifier (serial, vendor, model): placeholders are `None`.
    fn clean(&self, keys: &[&str]) -> Option<String> {
        self.get(keys).and_then(clean)
    }
    /// A name or locator: "0" is a name.
    fn label(&self, keys: &[&str]) -> Option<String> {
        self.get(keys).and_then(clean_label)
    }
    fn part_number(&self, keys: &[&str]) -> Option<String> {
        self.get(keys).and_then(clean_part_number)
    }
    fn yes_no(&self, keys: &[&str]) -> Option<bool> {
        match self.get(keys)? {
            v if v.eq_ignore_ascii_case("yes") => Some(true),
            v if v.eq_ignore_ascii_case("no") => Some(false),
            _ => None,
        }
    }
}

/// The status of a present power supply, spelled as the raw decoder spells it.
fn status_name(value: &str) -> Option<String> {
    (1..=5)
        .filter_map(super::power_supply_status_name)
        .find(|name| name.eq_ignore_ascii_case(value.trim()))
        .map(str::to_owned)
}

/// "0x1100" -> 0x1100.
fn hex_handle(value: &str) -> Option<u16> {
    let digits: String = value.trim().strip_prefix("0x")?.chars().take_while(char::is_ascii_hexdigit).collect();
    u16::from_str_radix(&digits, 16).ok()
}

/// Indentation width: dmidecode indents with tabs, some builds (and Windows ports) with spaces.
fn indent(line: &str) -> usize {
    line.chars().take_while(|c| *c == '\t' || *c == ' ').map(|c| if c == '\t' { 8 } else { 1 }).sum()
}

fn dmi_type(line: &str) -> Option<u32> {
    let rest = &line[line.find("DMI type ")? + "DMI type ".len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

fn records(text: &str) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    let mut current: Option<Record<'_>> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if line.starts_with("Handle 0x") {
            if let Some(r) = current.take() {
                out.push(r);
            }
            current = Some(Record {
                kind: dmi_type(line),
                handle: hex_handle(&line["Handle ".len()..]),
                ..Record::default()
            });
            continue;
        }
        let Some(record) = current.as_mut() else {
            continue;
        };
        if trimmed.is_empty() {
            continue;
        }
        if record.kind.is_none() && trimmed.starts_with("DMI type ") {
            record.kind = dmi_type(trimmed);
            continue;
        }
        // The first line is the record's title; the next, more indented line sets the field
        // level; anything deeper is a nested list (flags, characteristics) and is skipped. A
        // line a few spaces deeper than the fields, right after a field with a value, is a field
        // indented by hand (" \tMax Power Capacity: 460 W" in a real capture): nested lists
        // are a tab deeper, under a header without a value.
        let d = indent(line);
        let field_line = match (record.title_indent, record.field_indent) {
            (None, _) => {
                record.title_indent = Some(d);
                false
            }
            (Some(title), None) if d > title => {
                record.field_indent = Some(d);
                true
            }
            (Some(_), Some(field)) => {
                d == field || (d > field && d < field + 8 && record.fields.last().is_some_and(|(_, v)| !v.is_empty()))
            }
            _ => false,
        };
        if field_line && let Some((key, value)) = trimmed.split_once(':') {
            record.fields.push((key.trim(), value.trim()));
        }
    }
    out.extend(current);
    out
}

/// dmidecode output, decoded, with what is needed to tell whether it was complete.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The decoded facts.
    pub smbios: Smbios,
    /// Records found (`Handle 0x...` lines).
    pub records: usize,
    /// "82 structures occupying 5109 bytes": the count dmidecode announced, if it did.
    pub declared: Option<usize>,
    /// An End Of Table record (type 127) was seen.
    pub end_of_table: bool,
    /// dmidecode itself said the firmware's structure count is wrong ("Wrong DMI structures
    /// count: 41 announced, only 40 decoded"): the output is whole, the table header lies.
    pub count_mismatch_noted: bool,
    /// "SMBIOS 2.3 present.": the table's version, when dmidecode printed its header.
    pub version: Option<(u8, u8)>,
}

impl Parsed {
    /// Why this output cannot be trusted whole, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if self.records == 0 {
            return Some("dmidecode output holds no SMBIOS records (empty, binary or not dmidecode)".to_owned());
        }
        match self.declared {
            Some(n) if self.records < n && !self.end_of_table && !self.count_mismatch_noted => {
                Some(format!("dmidecode output is truncated: {} of {} structures", self.records, n))
            }
            _ => None,
        }
    }
}

/// Parses dmidecode output. Never fails: unknown or broken input yields an empty [`Smbios`].
pub fn parse(text: &str) -> Smbios {
    parse_detailed(text).smbios
}

/// [`parse`], plus record counts for completeness checks.
pub fn parse_detailed(text: &str) -> Parsed {
    let declared = text.lines().find_map(|l| {
        let (n, rest) = l.trim().split_once(' ')?;
        rest.starts_with("structures occupying").then(|| n.parse().ok()).flatten()
    });
    let version = text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("SMBIOS ")?.strip_suffix(" present.")?;
        let mut parts = rest.split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    });
    let records = records(text);
    let mut parsed = Parsed {
        version,
        records: records.len(),
        declared,
        end_of_table: records.iter().any(|r| r.kind == Some(127)),
        count_mismatch_noted: text.contains("Wrong DMI structures count"),
        ..Parsed::default()
    };
    let smbios = &mut parsed.smbios;
    for record in records {
        match record.kind {
            Some(0) if smbios.bios.is_none() => {
                smbios.bios = Some(BiosInfo {
                    vendor: record.clean(&["Vendor"]),
                    version: record.clean(&["Version"]),
                    release_date: record.clean(&["Release Date", "Release"]),
                });
            }
            Some(1) if smbios.system.is_none() => {
                smbios.system = Some(SystemInfo {
                    manufacturer: record.clean(&["Manufacturer", "Vendor"]),
                    product_name: record.clean(&["Product Name", "Product"]),
                    version: record.clean(&["Version"]),
                    serial_number: record.clean(&["Serial Number"]),
                    uuid: record.clean(&["UUID"]).map(|u| u.to_ascii_lowercase()),
                    sku: record.clean(&["SKU Number"]),
                    family: record.clean(&["Family"]),
                });
            }
            Some(2) if smbios.baseboard.is_none() => {
                smbios.baseboard = Some(BoardInfo {
                    manufacturer: record.clean(&["Manufacturer", "Vendor"]),
                    product_name: record.clean(&["Product Name", "Product"]),
                    serial_number: record.clean(&["Serial Number"]),
                    asset_tag: record.clean(&["Asset Tag"]),
                });
            }
            Some(3) if smbios.chassis.is_none() => {
                smbios.chassis = Some(ChassisInfo {
                    manufacturer: record.clean(&["Manufacturer", "Vendor"]),
                    chassis_type: record.clean(&["Type", "Chassis Type"]),
                    serial_number: record.clean(&["Serial Number"]),
                    asset_tag: record.clean(&["Asset Tag"]),
                });
            }
            Some(4) => smbios.processors.push(processor(&record)),
            Some(16) => {
                smbios.memory_arrays.push(MemoryArrayInfo { handle: record.handle, usage: record.label(&["Use"]) })
            }
            Some(17) => smbios.memory_devices.push(memory_device(&record)),
            Some(39) => smbios.power_supplies.extend(power_supply(&record)),
            _ => {}
        }
    }
    parsed
}

fn processor(record: &Record<'_>) -> ProcessorInfo {
    let manufacturer = record.clean(&["Manufacturer", "Processor Manufacturer"]);
    let version = record.clean(&["Version", "Processor Version"]);
    let (populated, enabled) = match record.get(&["Status"]) {
        Some(status) => {
            let s = status.to_ascii_lowercase();
            (s.contains("populated") && !s.contains("unpopulated"), !s.contains("disabled"))
        }
        None => (version.is_some() || manufacturer.is_some(), true),
    };
    ProcessorInfo {
        socket: record.clean(&["Socket Designation"]),
        manufacturer,
        version,
        populated,
        enabled,
        core_count: record.get(&["Core Count"]).and_then(leading_number).map(|n| n as u32).filter(|n| *n > 0),
        thread_count: record.get(&["Thread Count"]).and_then(leading_number).map(|n| n as u32).filter(|n| *n > 0),
        current_speed_mhz: record.get(&["Current Speed"]).and_then(leading_number).map(|n| n as u32).filter(|n| *n > 0),
        max_speed_mhz: record.get(&["Max Speed"]).and_then(leading_number).map(|n| n as u32).filter(|n| *n > 0),
    }
}

fn memory_device(record: &Record<'_>) -> MemoryDeviceInfo {
    let size_bytes = record.get(&["Size"]).and_then(parse_size).filter(|n| *n > 0);
    MemoryDeviceInfo {
        array_handle: record.get(&["Array Handle"]).and_then(hex_handle),
        locator: record.label(&["Locator"]),
        bank_locator: record.label(&["Bank Locator"]),
        size_bytes,
        installed: size_bytes.is_some(),
        memory_type: record.clean(&["Type"]).filter(|t| t != "Other"),
        speed_mts: record.get(&["Speed"]).and_then(leading_number).map(|n| n as u32).filter(|n| *n > 0),
        manufacturer: record.clean(&["Manufacturer"]),
        serial_number: record.clean(&["Serial Number"]),
        part_number: record.part_number(&["Part Number"]),
    }
    .with_type_from_part_number()
}

/// Type 39. `None` for a record without fields: dmidecode prints only the title of a structure
/// shorter than the SMBIOS 2.3.1 layout.
fn power_supply(record: &Record<'_>) -> Option<PowerSupplyInfo> {
    if record.fields.is_empty() {
        return None;
    }
    // "Present, OK", "Present, Unknown", "Not Present".
    let (present, status) = match record.get(&["Status"]) {
        Some(s) if s.eq_ignore_ascii_case("not present") => (Some(false), None),
        Some(s) => match s.strip_prefix("Present") {
            Some(rest) => (Some(true), status_name(rest.trim_start_matches([',', ' ']))),
            None => (None, None),
        },
        None => (None, None),
    };
    Some(PowerSupplyInfo {
        location: record.label(&["Location"]),
        name: record.label(&["Name"]),
        manufacturer: record.clean(&["Manufacturer"]),
        serial_number: record.clean(&["Serial Number"]),
        part_number: record.part_number(&["Model Part Number"]),
        revision: record.clean(&["Revision"]),
        max_power_w: record
            .get(&["Max Power Capacity"])
            .and_then(leading_number)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0),
        present,
        status,
        hot_replaceable: record.yes_no(&["Hot Replaceable"]),
    })
}

/// "16384 MB", "16 GB", "512 kB" -> bytes. `None` for "No Module Installed" and friends.
pub fn parse_size(value: &str) -> Option<u64> {
    let mut parts = value.split_whitespace();
    let number: u64 = parts.next()?.parse().ok()?;
    let multiplier: u64 = match parts.next()?.to_ascii_lowercase().as_str() {
        "bytes" | "b" => 1,
        "kb" | "kib" => 1 << 10,
        "mb" | "mib" => 1 << 20,
        "gb" | "gib" => 1 << 30,
        "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

fn leading_number(value: &str) -> Option<u64> {
    let digits: String = value.trim().chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16384 MB"), Some(16 << 30));
        assert_eq!(parse_size("16 GB"), Some(16 << 30));
        assert_eq!(parse_size("No Module Installed"), None);
        assert_eq!(parse_size("Not Installed"), None);
        assert_eq!(parse_size("99999999999999999999 GB"), None);
    }

    #[test]
    fn old_format_records() {
        let text = "Handle 0x0100\n\tDMI type 1, 25 bytes.\n\tSystem Information Block\n\t\tVendor: IBM\n\t\tProduct: -[84803AX]-\n\t\tSerial Number: KBKGW40\n";
        let s = parse(text);
        let sys = s.system.unwrap();
        assert_eq!(sys.manufacturer.as_deref(), Some("IBM"));
        assert_eq!(sys.product_name.as_deref(), Some("-[84803AX]-"));
        assert_eq!(sys.serial_number.as_deref(), Some("KBKGW40"));
    }

    #[test]
    fn truncated_record_keeps_what_it_has() {
        let text = "Handle 0x0100, DMI type 1, 27 bytes\nSystem Information\n\tManufacturer: Dell Inc.\n\tProduct Na";
        let s = parse(text);
        assert_eq!(s.system.unwrap().manufacturer.as_deref(), Some("Dell Inc."));
    }
}
