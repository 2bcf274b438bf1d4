//! storcli and perccli JSON (`J`) -> controllers, virtual drives and physical drives behind
//! Broadcom MegaRAID and Dell PERC controllers.
//!
//! Two outputs are read together: `/call show all J` (per controller: basics, versions, cache,
//! battery, the VD and PD lists and the topology that says which drives make each drive group)
//! and `/call/eall/sall show all J` (per drive: serial, vendor, firmware, sizes in sectors). Two
//! layouts exist for the second: storcli and perccli 7 print `Drive /c0/e64/s0` and
//! `Drive /c0/e64/s0 - Detailed Information` side by side; perccli2 prints a `Drives List` whose
//! entries nest `Drive Information` and `Drive Detailed Information`. HBAs (mpt3sas) put the
//! per-drive detail into `show all` itself, under `Physical Device Information`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::raid::{Raid, RaidError, field, sector_size, sectors, size_bytes, slot};
use crate::model::{Disk, LogicalDrive, RaidController};

/// Parses `/call show all J` and `/call/eall/sall show all J` of `tool` ("storcli" or
/// "perccli"); either may be missing. Fails when an output is not JSON, or when every controller
/// failed for a reason other than there being none.
pub fn parse(tool: &str, show_all: Option<&[u8]>, drives: Option<&[u8]>) -> Result<Raid, RaidError> {
    let mut raid = Raid::default();
    // Drives by (controller, slot), from the most detailed source that names them.
    let mut disks: BTreeMap<(u32, String), Disk> = BTreeMap::new();
    let mut order: Vec<(u32, String)> = Vec::new();
    let mut put = |key: (u32, String), disk: Disk, disks: &mut BTreeMap<(u32, String), Disk>| {
        if !disks.contains_key(&key) {
            order.push(key.clone());
        }
        disks.insert(key, disk);
    };
    if let Some(bytes) = show_all {
        for (index, data) in responses(tool, "show all", bytes)? {
            let prefix = (index > 0).then(|| format!("c{index}"));
            let Some(controller) = controller(tool, index, &data, prefix.as_deref()) else {
                continue;
            };
            raid.controllers.push(controller);
            for row in data.get("PD LIST").and_then(Value::as_array).into_iter().flatten() {
                if let Some(disk) = row.as_object().and_then(|r| basic_disk(tool, r, prefix.as_deref())) {
                    put((index, disk.slot.clone().unwrap_or_default()), disk, &mut disks);
                }
            }
            if let Some(info) = data.get("Physical Device Information").and_then(Value::as_object) {
                for disk in per_drive_keys(tool, info, prefix.as_deref()) {
                    put((index, disk.slot.clone().unwrap_or_default()), disk, &mut disks);
                }
            }
        }
    }
    if let Some(bytes) = drives {
        for (index, data) in responses(tool, "drives", bytes)? {
            let prefix = (index > 0).then(|| format!("c{index}"));
            let mut found = per_drive_keys(tool, &data, prefix.as_deref());
            for entry in data.get("Drives List").and_then(Value::as_array).into_iter().flatten() {
                let Some(info) = entry.get("Drive Information").and_then(Value::as_object) else {
                    continue;
                };
                if let Some(mut disk) = basic_disk(tool, info, prefix.as_deref()) {
                    if let Some(detail) = entry.get("Drive Detailed Information").and_then(Value::as_object) {
                        detailed(&mut disk, detail, info);
                        disk.sas_address = port_sas_address(detail);
                    }
                    found.push(disk);
                }
            }
            for row in data.get("Drive Information").and_then(Value::as_array).into_iter().flatten() {
                found.extend(row.as_object().and_then(|r| basic_disk(tool, r, prefix.as_deref())));
            }
            for disk in found {
                let key = (index, disk.slot.clone().unwrap_or_default());
                // The drives output has the serials; the PD list's figures only fill its gaps.
                let merged = match disks.get(&key) {
                    Some(listed) => fill(disk, listed),
                    None => disk,
                };
                put(key, merged, &mut disks);
            }
        }
    }
    raid.disks = order.iter().filter_map(|k| disks.remove(k)).collect();
    Ok(raid)
}

/// One controller's `Response Data`, with its number.
type Response = (u32, Map<String, Value>);

/// The `Response Data` of each controller that answered, by controller number.
fn responses(tool: &str, what: &str, bytes: &[u8]) -> Result<Vec<Response>, RaidError> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            RaidError::Truncated(format!("{tool} {what} output is truncated: {e}"))
        } else {
            RaidError::Invalid(format!("{tool} {what} output is not JSON: {e}"))
        }
    })?;
    let Some(list) = root.get("Controllers").and_then(Value::as_array) else {
        return Err(RaidError::Invalid(format!("{tool} {what} output has no Controllers list")));
    };
    let mut out = Vec::new();
    let mut failures = Vec::new();
    for (position, entry) in list.iter().enumerate() {
        let status = entry.get("Command Status");
        let ok = status.and_then(|s| s.get("Status")).and_then(Value::as_str) == Some("Success");
        let number = status
            .and_then(|s| s.get("Controller"))
            .or_else(|| entry.get("Response Data").and_then(|d| d.get("Basics")).and_then(|b| b.get("Controller")))
            .and_then(number)
            .unwrap_or(position as u32);
        if !ok {
            let description = status.and_then(|s| s.get("Description")).and_then(Value::as_str).unwrap_or("failed");
            if !description.to_ascii_lowercase().contains("no controller") {
                failures.push(format!("controller {number}: {description}"));
            }
            continue;
        }
        if let Some(data) = entry.get("Response Data").and_then(Value::as_object) {
            out.push((number, data.clone()));
        }
    }
    if out.is_empty() && !failures.is_empty() {
        return Err(RaidError::Failed(format!("{tool} {what} failed: {}", failures.join("; "))));
    }
    Ok(out)
}

fn number(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON scalar as a field: strings through [`field`], numbers as written.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => field(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn get<'a>(data: &'a Map<String, Value>, section: &str, key: &str) -> Option<&'a Value> {
    data.get(section).and_then(|s| s.get(key))
}

fn controller(tool: &str, index: u32, data: &Map<String, Value>, prefix: Option<&str>) -> Option<RaidController> {
    let model = text(get(data, "Basics", "Model"))
        .or_else(|| text(get(data, "Basics", "Product Name")))
        .or_else(|| text(data.get("Product Name")));
    // `storcli show J` (no controller) and other answers that describe no controller.
    model.as_ref()?;
    let first = |section: &str, key: &str| {
        data.get(section).and_then(Value::as_array).and_then(|a| a.first()).and_then(|r| text(r.get(key)))
    };
    let battery = first("BBU_Info", "State")
        .or_else(|| first("Cachevault_Info", "State"))
        .or_else(|| first("Energy Pack Info", "Status"))
        .or_else(|| {
            let absent = |key: &str| text(get(data, "HwCfg", key)).filter(|v| v == "Absent");
            absent("BBU").or_else(|| absent("Energy Pack"))
        });
    let cache_bytes = text(get(data, "HwCfg", "On Board Memory Size"))
        .and_then(|s| size_bytes(&s, true))
        .or_else(|| get(data, "HwCfg", "DDR Memory Size(MiB)").and_then(Value::as_u64).map(|m| m << 20));
    let topology: Vec<&Map<String, Value>> =
        data.get("TOPOLOGY").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object).collect();
    let logical_drives = data
        .get("VD LIST")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .filter_map(|row| {
            let dg_vd = text(row.get("DG/VD"))?;
            let (dg, vd) = dg_vd.split_once('/').unwrap_or(("", dg_vd.as_str()));
            let members = topology
                .iter()
                .filter(|t| text(t.get("Type")).as_deref() == Some("DRIVE") && text(t.get("DG")).as_deref() == Some(dg))
                .filter_map(|t| text(t.get("EID:Slot")))
                .map(|s| slot(prefix, &s))
                .collect();
            Some(LogicalDrive {
                id: vd.to_owned(),
                name: text(row.get("Name")),
                raid_level: text(row.get("TYPE")),
                size_bytes: text(row.get("Size")).and_then(|s| size_bytes(&s, true)),
                state: text(row.get("State")).map(|s| expand(&s)),
                members,
            })
        })
        .collect();
    Some(RaidController {
        id: index.to_string(),
        model,
        serial_number: text(get(data, "Basics", "Serial Number")).or_else(|| text(data.get("Serial Number"))),
        firmware: text(get(data, "Version", "Firmware Version")).or_else(|| text(data.get("FW Version"))),
        cache_bytes,
        battery,
        status: text(get(data, "Status", "Controller Status")),
        source: tool.to_owned(),
        logical_drives,
    })
}

/// storcli's abbreviations for drive and VD states, spelled out.
fn expand(state: &str) -> String {
    let long = match state {
        "Onln" => "Online",
        "Offln" | "OfLn" => "Offline",
        "UGood" => "Unconfigured Good",
        "UBad" => "Unconfigured Bad",
        "GHS" => "Global Hot Spare",
        "DHS" => "Dedicated Hot Spare",
        "Rbld" => "Rebuild",
        "Cpybck" => "Copyback",
        "Optl" => "Optimal",
        "Dgrd" => "Degraded",
        "Pdgd" => "Partially Degraded",
        "Rec" => "Recovery",
        "Msng" => "Missing",
        other => other,
    };
    long.to_owned()
}

/// A drive from a PD list row (`EID:Slt`, `Model`, `Size`, `Intf`, `Med`, `State`).
fn basic_disk(tool: &str, row: &Map<String, Value>, prefix: Option<&str>) -> Option<Disk> {
    let local = text(row.get("EID:Slt"))?;
    let local = local.trim_start_matches(':').to_owned();
    // perccli2 splits the state in two: "Conf" + "Online", "UConf" + "Good", "GHS" + "Good".
    let state = match (text(row.get("State")), text(row.get("Status"))) {
        (Some(state), Some(status)) if state == "Conf" => Some(status),
        (Some(state), Some(status)) if state == "UConf" => Some(format!("Unconfigured {status}")),
        (Some(state), _) => Some(expand(&state)),
        (None, status) => status,
    };
    Some(Disk {
        name: None,
        slot: Some(slot(prefix, &local)),
        model: text(row.get("Model")),
        vendor: None,
        serial_number: None,
        size_bytes: text(row.get("Size")).and_then(|s| size_bytes(&s, true)),
        rotational: text(row.get("Med")).and_then(|m| match m.as_str() {
            "HDD" => Some(true),
            "SSD" => Some(false),
            _ => None,
        }),
        interface: text(row.get("Intf")).map(|i| i.to_ascii_lowercase()),
        firmware: None,
        state,
        source: tool.to_owned(),
        ..Disk::default()
    })
}

/// Drives under `Drive /cN/eE/sS` keys, each with its `- Detailed Information` sibling.
fn per_drive_keys(tool: &str, data: &Map<String, Value>, prefix: Option<&str>) -> Vec<Disk> {
    let mut out = Vec::new();
    for (key, value) in data {
        if !key.starts_with("Drive /") || key.ends_with("Detailed Information") {
            continue;
        }
        let Some(row) = value.as_array().and_then(|a| a.first()).and_then(Value::as_object) else {
            continue;
        };
        let Some(mut disk) = basic_disk(tool, row, prefix) else {
            continue;
        };
        if let Some(detail) = data.get(&format!("{key} - Detailed Information")).and_then(Value::as_object) {
            let attributes = detail.get(&format!("{key} Device attributes")).and_then(Value::as_object);
            if let Some(attributes) = attributes {
                detailed(&mut disk, attributes, row);
            }
            disk.sas_address = port_sas_address(detail);
        }
        out.push(disk);
    }
    // JSON objects come back in key order ("23:10" before "23:2"): put them in slot order.
    out.sort_by_cached_key(|d| slot_order(d.slot.as_deref().unwrap_or("")));
    out
}

/// "c1:64:10" -> [1, 64, 10], for ordering drives as the enclosure numbers them.
fn slot_order(slot: &str) -> Vec<u64> {
    slot.split(':').map(|part| part.trim_start_matches('c').parse().unwrap_or(u64::MAX)).collect()
}

/// Serial, vendor, model, firmware and exact size from a drive's detail.
fn detailed(disk: &mut Disk, detail: &Map<String, Value>, row: &Map<String, Value>) {
    disk.serial_number = text(detail.get("SN")).or_else(|| text(detail.get("Serial Number")));
    disk.wwn = text(detail.get("WWN")).and_then(|w| super::wwn::normalize(&w));
    disk.vendor = text(detail.get("Manufacturer Id")).or_else(|| text(detail.get("Vendor"))).filter(|v| v != "ATA");
    if let Some(model) = text(detail.get("Model Number")).or_else(|| text(detail.get("Model"))) {
        disk.model = Some(model);
    }
    disk.firmware = text(detail.get("Firmware Revision")).or_else(|| text(detail.get("Firmware Revision Level")));
    let sector = text(detail.get("Logical Sector Size"))
        .or_else(|| text(detail.get("Sector Size")))
        .or_else(|| text(row.get("SeSz")))
        .and_then(|s| sector_size(&s))
        .unwrap_or(512);
    let count = text(detail.get("Raw size")).and_then(|s| sectors(&s));
    if let Some(bytes) = count.and_then(|c| c.checked_mul(sector)) {
        disk.size_bytes = Some(bytes);
    }
}

/// The SAS address of the drive's first active port (`Port Information` under its policies).
fn port_sas_address(detail: &Map<String, Value>) -> Option<String> {
    let nested = detail.values().filter_map(Value::as_object);
    std::iter::once(detail)
        .chain(nested)
        .filter_map(|m| m.get("Port Information").and_then(Value::as_array))
        .flatten()
        .find_map(|port| text(port.get("SAS address")).and_then(|a| super::wwn::sas_address(&a)))
}

/// `detailed`'s drive, its gaps filled from the PD list's row for the same slot.
fn fill(mut disk: Disk, listed: &Disk) -> Disk {
    disk.model = disk.model.or_else(|| listed.model.clone());
    disk.size_bytes = disk.size_bytes.or(listed.size_bytes);
    disk.rotational = disk.rotational.or(listed.rotational);
    disk.interface = disk.interface.or_else(|| listed.interface.clone());
    disk.state = disk.state.or_else(|| listed.state.clone());
    disk.wwn = disk.wwn.or_else(|| listed.wwn.clone());
    disk.sas_address = disk.sas_address.or_else(|| listed.sas_address.clone());
    disk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_controller_is_no_controller_and_a_failure_is_an_error() {
        let none = br#"{"Controllers":[{"Command Status":{"Status":"Failure","Description":"No Controller found"}}]}"#;
        assert_eq!(parse("perccli", Some(none), None), Ok(Raid::default()));
        let failed = br#"{"Controllers":[{"Command Status":{"Controller":0,"Status":"Failure","Description":"Un-supported command"}}]}"#;
        assert!(matches!(parse("storcli", Some(failed), None), Err(RaidError::Failed(_))));
        assert!(matches!(parse("storcli", Some(b"{\"Controllers\": [{"), None), Err(RaidError::Truncated(_))));
        assert!(matches!(parse("storcli", Some(b"<html>"), None), Err(RaidError::Invalid(_))));
    }
}
