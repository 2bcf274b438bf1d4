//! Every FRU record of `ipmitool fru print`: its description ("PS1 (ID 1)" without the ID), and
//! the product, manufacturer, serial, part number and version its board and product areas
//! give (the product area first). Power-supply records are told apart by their description or
//! product ("PS1", "PSU 2", "Power Supply 1", "PWR SPLY,750W,RDNT,DELTA"): on many Sun/Oracle,
//! Supermicro and Quanta boards they are the only source of a power supply's serial.
//!
//! Vendor placeholders are null. A record that says "Device not present", or holds nothing,
//! is left out.

use crate::model::{FruDevice, PowerSupply};
use crate::placeholder::{clean, clean_label};

/// The FRU records of one `ipmitool fru print`, split into power supplies and the rest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records {
    /// Power supplies, as the report lists them.
    pub power_supplies: Vec<PowerSupply>,
    /// Every other record (the builtin FRU device among them).
    pub devices: Vec<FruDevice>,
}

#[derive(Debug, Default)]
struct Raw {
    description: String,
    absent: bool,
    board: Area,
    product: Area,
}

#[derive(Debug, Default)]
struct Area {
    name: Option<String>,
    manufacturer: Option<String>,
    serial: Option<String>,
    part: Option<String>,
    version: Option<String>,
}

/// Splits `text` into its records. Never fails: what is not a record is skipped (the caller
/// has already checked that this is `fru print` output and that it is whole).
pub fn parse(text: &str) -> Records {
    // A last line without its newline may be cut: not read (see `ipmitool::parse_fru`).
    let text = if text.ends_with('\n') { text } else { text.rsplit_once('\n').map_or("", |(whole, _)| whole) };
    let mut raws: Vec<Raw> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("FRU Device Description") {
            let name = rest.trim_start().trim_start_matches(':').trim();
            let name = match name.rfind(" (ID ") {
                Some(at) if name.ends_with(')') => name[..at].trim(),
                _ => name,
            };
            raws.push(Raw { description: name.to_owned(), ..Raw::default() });
            continue;
        }
        let Some(raw) = raws.last_mut() else { continue };
        if line.trim_start().starts_with("Device not present") {
            raw.absent = true;
            continue;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = clean(value);
        match key.trim() {
            "Board Product" => raw.board.name = value,
            "Board Mfg" => raw.board.manufacturer = value,
            "Board Serial" => raw.board.serial = value,
            "Board Part Number" => raw.board.part = value,
            "Product Name" => raw.product.name = value,
            "Product Manufacturer" => raw.product.manufacturer = value,
            "Product Serial" => raw.product.serial = value,
            "Product Part Number" => raw.product.part = value,
            "Product Version" => raw.product.version = value,
            _ => {}
        }
    }
    let mut out = Records::default();
    for raw in raws.into_iter().filter(|r| !r.absent) {
        let (b, p) = (raw.board, raw.product);
        let name = p.name.or(b.name);
        let manufacturer = p.manufacturer.or(b.manufacturer);
        let serial = p.serial.or(b.serial);
        let part = p.part.or(b.part);
        if name.is_none() && serial.is_none() && part.is_none() {
            continue;
        }
        let description = clean_label(&raw.description);
        if is_power_supply(description.as_deref().unwrap_or(""), name.as_deref().unwrap_or("")) {
            out.power_supplies.push(PowerSupply {
                location: description,
                max_power_w: name.as_deref().and_then(watts),
                name,
                manufacturer,
                serial_number: serial,
                part_number: part,
                revision: p.version,
                present: Some(true),
                ..PowerSupply::default()
            });
        } else {
            out.devices.push(FruDevice {
                description,
                product: name,
                manufacturer,
                serial_number: serial,
                part_number: part,
            });
        }
    }
    out
}

/// "PS1", "PSU 2", "PS-1", "Power Supply 1", "PWS-1"; or a product named as one.
pub(crate) fn is_power_supply(description: &str, product: &str) -> bool {
    let d = description.to_ascii_lowercase();
    let p = product.to_ascii_lowercase();
    let numbered = |prefix: &str| {
        d.strip_prefix(prefix).is_some_and(|rest| {
            let rest = rest.trim_start_matches([' ', '-', '_']);
            !rest.is_empty() && rest.chars().next().is_some_and(|c| c.is_ascii_digit())
        })
    };
    numbered("psu")
        || numbered("ps")
        || numbered("pws")
        || numbered("power supply")
        || d.contains("power supply")
        || p.contains("pwr sply")
        || p.contains("power supply")
}

/// "PWR SPLY,750W,RDNT,DELTA" -> 750.
fn watts(product: &str) -> Option<u32> {
    product.split([',', ' ', '/']).find_map(|word| {
        let digits = word.strip_suffix('W').or_else(|| word.strip_suffix("WP"))?;
        digits.parse::<u32>().ok().filter(|w| (50..=10_000).contains(w))
    })
}

/// Adds the FRU power supplies to SMBIOS's (type 39): one unit with the same serial is one
/// power supply, its gaps filled from the FRU record; the others are appended.
pub fn merge_power_supplies(smbios: &mut Vec<PowerSupply>, fru: Vec<PowerSupply>) {
    for unit in fru {
        let same = unit.serial_number.as_deref().and_then(|sn| {
            smbios.iter_mut().find(|s| s.serial_number.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(sn)))
        });
        match same {
            Some(s) => {
                s.location = s.location.take().or(unit.location);
                s.name = s.name.take().or(unit.name);
                s.manufacturer = s.manufacturer.take().or(unit.manufacturer);
                s.part_number = s.part_number.take().or(unit.part_number);
                s.revision = s.revision.take().or(unit.revision);
                s.max_power_w = s.max_power_w.or(unit.max_power_w);
            }
            None => smbios.push(unit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_supplies_are_told_apart() {
        assert!(is_power_supply("PS1", ""));
        assert!(is_power_supply("PSU 2", ""));
        assert!(is_power_supply("Power Supply 1", ""));
        assert!(is_power_supply("FRU 3", "PWR SPLY,750W,RDNT,DELTA"));
        assert!(!is_power_supply("PERC1", "Dell Storage Cntlr. H740P - Mini"));
        assert!(!is_power_supply("PSX", ""));
        assert_eq!(watts("PWR SPLY,750WP,RDNT,DELTA"), Some(750));
        assert_eq!(watts("DRIVE BACKPLANE"), None);
    }
}
