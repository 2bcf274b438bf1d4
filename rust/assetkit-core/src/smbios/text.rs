//! `dmidecode` text output -> [`Smbios`].
//!
//! Handles the current format (`Handle 0x0100, DMI type 1, 27 bytes` then a title line and
//! tab-indented `Key: Value` lines) and the 2.x format of RHEL 2-4 era hosts (`Handle 0x0100`
//! alone, `DMI type 1, 25 bytes.` on the next line, one more level of indentation and different
//! key names). Garbage lines are skipped; a truncated record yields what it holds.

use super::{BiosInfo, BoardInfo, ChassisInfo, MemoryDeviceInfo, ProcessorInfo, Smbios, SystemInfo};
use crate::placeholder::clean;

/// One record: its type and its first-level `Key: Value` fields.
#[derive(Debug, Default)]
struct Record<'a> {
    kind: Option<u32>,
    title_indent: Option<usize>,
    field_indent: Option<usize>,
    fields: Vec<(&'a str, &'a str)>,
}

impl<'a> Record<'a> {
    fn get(&self, keys: &[&str]) -> Option<&'a str> {
        keys.iter().find_map(|k| self.fields.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| *v))
    }
    fn clean(&self, keys: &[&str]) -> Option<String> {
        self.get(keys).and_then(clean)
    }
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
            current = Some(Record { kind: dmi_type(line), ..Record::default() });
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
        // level; anything deeper is a nested list (flags, characteristics) and is skipped.
        let d = indent(line);
        match (record.title_indent, record.field_indent) {
            (None, _) => record.title_indent = Some(d),
            (Some(title), None) if d > title => {
                record.field_indent = Some(d);
                if let Some((key, value)) = trimmed.split_once(':') {
                    record.fields.push((key.trim(), value.trim()));
                }
            }
            (Some(_), Some(field)) if d == field => {
                if let Some((key, value)) = trimmed.split_once(':') {
                    record.fields.push((key.trim(), value.trim()));
                }
            }
            _ => {}
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
    let records = records(text);
    let mut parsed = Parsed {
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
                    uuid: record.clean(&["UUID"]).map(|u| u.to_ascii_uppercase()),
                    sku: record.clean(&["SKU Number"]),
                    family: record.clean(&["Family"]),
                });
            }
            Some(2) if smbios.baseboard.is_none() => {
                smbios.baseboard = Some(BoardInfo {
                    manufacturer: record.clean(&["Manufacturer", "Vendor"]),
                    product_name: record.clean(&["Product Name", "Product"]),
                    serial_number: record.clean(&["Serial Number"]),
                });
            }
            Some(3) if smbios.chassis.is_none() => {
                smbios.chassis = Some(ChassisInfo {
                    manufacturer: record.clean(&["Manufacturer", "Vendor"]),
                    chassis_type: record.clean(&["Type", "Chassis Type"]),
                    serial_number: record.clean(&["Serial Number"]),
                });
            }
            Some(4) => smbios.processors.push(processor(&record)),
            Some(17) => smbios.memory_devices.push(memory_device(&record)),
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
        locator: record.clean(&["Locator"]),
        bank_locator: record.clean(&["Bank Locator"]),
        size_bytes,
        installed: size_bytes.is_some(),
        memory_type: record.clean(&["Type"]).filter(|t| t != "Other" && !t.starts_with('<')),
        speed_mts: record.get(&["Speed"]).and_then(leading_number).map(|n| n as u32).filter(|n| *n > 0),
        manufacturer: record.clean(&["Manufacturer"]),
        serial_number: record.clean(&["Serial Number"]),
        part_number: record.clean(&["Part Number"]),
    }
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
