//! A report's facts as components with stable keys, and the typed change events between two
//! versions of them.
//!
//! Memory modules are keyed by slot, and by bank and slot ("P1/D11") where the report repeats a
//! slot name across banks; disks by serial (else slot, else kernel name); NICs by name + MAC;
//! power supplies by location, else name (when no other unit has it), else their place in the
//! table ("#2"); Fibre Channel HBA ports by port WWN (placed by SCSI host); GPUs by serial, else
//! PCI address (placed by PCI address, so a new serial there is a replacement). A NIC's LLDP
//! neighbour is one of its fields: a new switch or port reads "eth2 moved to sw-b12 port 17".
//! RAID controllers by serial, else the tool's number ("#0"), placed by that number ("RAID
//! controller 0: firmware 4.680 → 4.740"); logical drives by their controller's key and number,
//! placed as "0/1" ("logical drive 0/1: state Optimal → Degraded").
//! Single sections (os, system, bios, cpu, bmc, ...) are components with an empty key.
//! A section absent from the report (its plugin failed or is disabled) is not diffed, so a
//! failing collector never reads as "every disk removed".
//!
//! A memory module's key only gains its bank where the slot name repeats, so hosts whose slot
//! names are unique (most of them) keep the keys they were stored under. When a key changes for
//! the same physical slot (an upgrade from `D11~2` to `P1/D11`, or `P1/D11` back to `D11` once
//! its twin in P0 is pulled), the diff pairs the two by bank and slot and re-keys the component
//! without an event.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use assetkit_core::model::{Facts, RaidController};
use serde_json::{Map, Value};

pub use crate::domain::changelog::Event;

/// One component as stored: kind, identity key, a human label and its data.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// "memory_module", "disk", "nic", "os", ...
    pub kind: &'static str,
    /// Stable identity key within (asset, kind).
    pub key: String,
    /// Where it sits, for people and for pairing replacements: slot, disk name, NIC name, PSU
    /// location.
    pub position: Option<String>,
    /// The facts, as a JSON object.
    pub data: Map<String, Value>,
}

/// Fields that change without anything worth recording happening.
const IGNORED_FIELDS: &[(&str, &str)] = &[("os", "hostname"), ("memory", "os_visible_bytes"), ("system", "source")];

/// The component kinds a report's sections map to, with whether each is a list.
pub const KINDS: &[&str] = &[
    "os",
    "system",
    "baseboard",
    "bios",
    "cpu",
    "memory",
    "memory_module",
    "disk",
    "nic",
    "psu",
    "bmc",
    "fc_hba",
    "gpu",
    "raid_controller",
    "logical_drive",
    "custom",
];

/// Components per kind for the sections present in `facts`; absent sections are absent here.
pub fn extract(facts: &Facts) -> BTreeMap<&'static str, Vec<Component>> {
    let mut out: BTreeMap<&'static str, Vec<Component>> = BTreeMap::new();
    let single = |kind: &'static str, value: Value| -> Vec<Component> {
        match value {
            Value::Object(mut data) => {
                if kind == "memory" {
                    data.remove("modules");
                }
                vec![Component { kind, key: String::new(), position: None, data }]
            }
            _ => Vec::new(),
        }
    };
    let to_value = |v: &dyn erased::Serialize| v.to_json();
    if let Some(os) = &facts.os {
        out.insert("os", single("os", to_value(os)));
    }
    if let Some(system) = &facts.system {
        out.insert("system", single("system", to_value(system)));
    }
    if let Some(b) = &facts.baseboard {
        out.insert("baseboard", single("baseboard", to_value(b)));
    }
    if let Some(b) = &facts.bios {
        out.insert("bios", single("bios", to_value(b)));
    }
    if let Some(c) = &facts.cpu {
        out.insert("cpu", single("cpu", to_value(c)));
    }
    if let Some(m) = &facts.memory {
        out.insert("memory", single("memory", to_value(m)));
        if let Some(modules) = &m.modules {
            let mut slots: HashMap<&str, usize> = HashMap::new();
            for slot in modules.iter().filter_map(|m| m.slot.as_deref()) {
                *slots.entry(slot).or_default() += 1;
            }
            let mut list = Vec::new();
            for (i, module) in modules.iter().enumerate() {
                let key = match (&module.slot, &module.bank) {
                    (Some(slot), Some(bank)) if slots[slot.as_str()] > 1 => format!("{}/{slot}", bank_name(bank)),
                    (Some(slot), _) => slot.clone(),
                    (None, _) => format!("#{i}"),
                };
                list.push(Component {
                    kind: "memory_module",
                    key: key.clone(),
                    position: Some(key),
                    data: object(to_value(module)),
                });
            }
            out.insert("memory_module", dedup(list));
        }
    }
    if let Some(psus) = &facts.power_supplies {
        let mut names: HashMap<&str, usize> = HashMap::new();
        for name in psus.iter().filter_map(|p| p.name.as_deref()) {
            *names.entry(name).or_default() += 1;
        }
        let list = psus
            .iter()
            .enumerate()
            .map(|(i, p)| {
                // Identical units often share a name ("PWR SPLY,750W,RDNT,EMSN"): then only their
                // place in the table tells them apart.
                let key = p
                    .location
                    .clone()
                    .or_else(|| p.name.clone().filter(|n| names[n.as_str()] == 1))
                    .unwrap_or_else(|| format!("#{}", i + 1));
                Component { kind: "psu", key: key.clone(), position: Some(key), data: object(to_value(p)) }
            })
            .collect();
        out.insert("psu", dedup(list));
    }
    if let Some(bmc) = &facts.bmc {
        out.insert("bmc", single("bmc", to_value(bmc)));
    }
    if let Some(hbas) = &facts.fc_hbas {
        let list = hbas
            .iter()
            .map(|h| Component {
                kind: "fc_hba",
                key: h.port_wwn.clone().unwrap_or_else(|| format!("host:{}", h.host)),
                position: Some(h.host.clone()),
                data: object(to_value(h)),
            })
            .collect();
        out.insert("fc_hba", dedup(list));
    }
    if let Some(gpus) = &facts.gpus {
        // By serial where nvidia-smi gives one, so a card moved to another slot is the same
        // card; else by PCI address. A new serial at an address is a replacement there.
        let list = gpus
            .iter()
            .map(|g| Component {
                kind: "gpu",
                key: match &g.serial_number {
                    Some(sn) => format!("sn:{sn}"),
                    None => format!("pci:{}", g.pci_address),
                },
                position: Some(g.pci_address.clone()),
                data: object(to_value(g)),
            })
            .collect();
        out.insert("gpu", dedup(list));
    }
    if let Some(disks) = &facts.disks {
        let list = disks
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let position = d.slot.clone().or_else(|| d.name.clone());
                let key = match (&d.serial_number, &position) {
                    (Some(sn), _) => format!("sn:{sn}"),
                    (None, Some(p)) => format!("at:{p}"),
                    (None, None) => format!("#{i}"),
                };
                Component { kind: "disk", key, position, data: object(to_value(d)) }
            })
            .collect();
        out.insert("disk", dedup(list));
    }
    if let Some(controllers) = &facts.raid_controllers {
        let (list, drives) = raid(controllers);
        out.insert("raid_controller", list);
        out.insert("logical_drive", drives);
    }
    if let Some(nics) = &facts.nics {
        let list = nics
            .iter()
            .map(|n| Component {
                kind: "nic",
                key: format!("{}/{}", n.name, n.mac.as_deref().unwrap_or("-")),
                position: Some(n.name.clone()),
                data: object(to_value(n)),
            })
            .collect();
        out.insert("nic", dedup(list));
    }
    if !facts.custom.is_empty() {
        let list = facts
            .custom
            .iter()
            .map(|(name, value)| {
                let data = match value {
                    Value::Object(map) => map.clone(),
                    other => Map::from_iter([("value".to_owned(), other.clone())]),
                };
                Component { kind: "custom", key: name.clone(), position: Some(name.clone()), data }
            })
            .collect();
        out.insert("custom", list);
    }
    out
}

/// RAID controllers keyed by serial, else by the tool's number for them ("#0"), and placed by
/// that number; their logical drives keyed by the controller's key and the drive's number, and
/// placed as "0/1" (controller 0, drive 1). A controller's component leaves its logical drives
/// out: they are components of their own.
fn raid(controllers: &[RaidController]) -> (Vec<Component>, Vec<Component>) {
    let mut list = Vec::new();
    let mut drives = Vec::new();
    for c in controllers {
        let key = match &c.serial_number {
            Some(sn) => format!("sn:{sn}"),
            None => format!("#{}", c.id),
        };
        let mut data = object(serde_json::to_value(c).unwrap_or(Value::Null));
        data.remove("logical_drives");
        list.push(Component { kind: "raid_controller", key: key.clone(), position: Some(c.id.clone()), data });
        for ld in &c.logical_drives {
            let mut data = object(serde_json::to_value(ld).unwrap_or(Value::Null));
            data.insert("controller".to_owned(), Value::String(c.id.clone()));
            drives.push(Component {
                kind: "logical_drive",
                key: format!("{key}/{}", ld.id),
                position: Some(format!("{}/{}", c.id, ld.id)),
                data,
            });
        }
    }
    (dedup(list), dedup(drives))
}

/// Two components with one key (two disks reporting the same serial, say): keep the first and
/// make the others unique (`key~2`, `key~3`, ...) so nothing is silently merged. Linear in the
/// number of components: each key remembers the next suffix to try.
fn dedup(list: Vec<Component>) -> Vec<Component> {
    let mut seen: HashSet<String> = list.iter().map(|c| c.key.clone()).collect();
    if seen.len() == list.len() {
        return list;
    }
    seen.clear();
    let mut next_suffix: HashMap<String, usize> = HashMap::new();
    list.into_iter()
        .map(|mut c| {
            if !seen.insert(c.key.clone()) {
                let n = next_suffix.entry(c.key.clone()).or_insert(2);
                while seen.contains(&format!("{}~{n}", c.key)) {
                    *n += 1;
                }
                c.key = format!("{}~{n}", c.key);
                *n += 1;
                seen.insert(c.key.clone());
            }
            c
        })
        .collect()
}

/// The short name of a bank for a key: the last part of a path ("/SYS/MB/P1" -> "P1"), else
/// the whole name ("P0 CHANNEL A").
fn bank_name(bank: &str) -> &str {
    bank.rsplit('/').find(|part| !part.trim().is_empty()).unwrap_or(bank)
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Serialising the model's section types without naming each one.
mod erased {
    pub trait Serialize {
        fn to_json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Serialize for T {
        fn to_json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

/// What to write for one kind.
#[derive(Debug, Default)]
pub struct Diff {
    /// Events to record.
    pub events: Vec<Event>,
    /// Components to insert or replace.
    pub upserts: Vec<Component>,
    /// Component keys to delete.
    pub deletes: Vec<String>,
}

/// Differences between the stored components of one kind and the reported ones.
///
/// O(n log n) in the number of components (hash lookups by key and by position), so a report
/// at the component limits holds the writer for milliseconds, not minutes.
pub fn diff(kind: &'static str, old: &[Component], new: &[Component]) -> Diff {
    let mut out = Diff::default();
    let old_by_key: HashMap<&str, &Component> = old.iter().map(|c| (c.key.as_str(), c)).collect();
    let new_keys: HashSet<&str> = new.iter().map(|c| c.key.as_str()).collect();

    for n in new {
        if let Some(o) = old_by_key.get(n.key.as_str()) {
            let verb = replaced_in_place(kind, &o.data, &n.data).then_some("replaced");
            let events = field_changes(kind, label(n), &o.data, &n.data, verb);
            if !events.is_empty() || o.data != n.data {
                out.upserts.push(n.clone());
            }
            out.events.extend(events);
        }
    }
    let removed: Vec<&Component> = old.iter().filter(|c| !new_keys.contains(c.key.as_str())).collect();
    let added: Vec<&Component> = new.iter().filter(|c| !old_by_key.contains_key(c.key.as_str())).collect();

    let mut paired = vec![false; added.len()];
    // A power supply under a new key with the serial it had is the same unit, re-keyed: two
    // units sharing a name are keyed by place ("#2"), and when one leaves the other is keyed by
    // its name again.
    let removed: Vec<&Component> = if kind == "psu" {
        let mut added_by_serial: HashMap<&str, usize> = HashMap::new();
        for (i, a) in added.iter().enumerate() {
            if let Some(sn) = a.data.get("serial_number").and_then(Value::as_str) {
                added_by_serial.entry(sn).or_insert(i);
            }
        }
        removed
            .into_iter()
            .filter(|r| {
                let same =
                    r.data.get("serial_number").and_then(Value::as_str).and_then(|sn| added_by_serial.remove(sn));
                let Some(ai) = same else { return true };
                out.events.extend(field_changes(kind, label(added[ai]), &r.data, &added[ai].data, None));
                out.deletes.push(r.key.clone());
                out.upserts.push(added[ai].clone());
                paired[ai] = true;
                false
            })
            .collect()
    } else {
        removed
    };
    // A removed and an added component in the same position is a replacement. Added components
    // are queued by position, so the k-th removed one in a position pairs with the k-th added.
    let mut added_at: HashMap<String, VecDeque<usize>> = HashMap::new();
    for (i, a) in added.iter().enumerate().filter(|(i, _)| !paired[*i]) {
        if let Some(pos) = place(a) {
            added_at.entry(pos).or_default().push_back(i);
        }
    }
    let mut unpaired_removed = Vec::new();
    for r in removed {
        let partner = place(r).and_then(|pos| added_at.get_mut(&pos)).and_then(VecDeque::pop_front);
        let Some(ai) = partner else {
            unpaired_removed.push(r);
            continue;
        };
        let a = added[ai];
        // A GPU whose serial comes or goes (nvidia-smi installed or gone) is the same card.
        let serial = |m: &Map<String, Value>| m.get("serial_number").is_some_and(|v| !v.is_null());
        let same_card = kind == "gpu" && serial(&r.data) != serial(&a.data);
        out.events.extend(field_changes(kind, label(a), &r.data, &a.data, (!same_card).then_some("replaced")));
        out.deletes.push(r.key.clone());
        out.upserts.push(a.clone());
        paired[ai] = true;
    }
    for r in unpaired_removed {
        out.events.push(Event {
            component: kind.to_owned(),
            key: label(r),
            kind: "removed",
            field: None,
            old: Some(describe(kind, &r.data)),
            new: None,
            summary: format!("{} removed ({})", subject(kind, &label(r)), describe(kind, &r.data)),
            replaced: false,
        });
        out.deletes.push(r.key.clone());
    }
    for (a, _) in added.into_iter().zip(paired).filter(|(_, p)| !p) {
        out.events.push(Event {
            component: kind.to_owned(),
            key: label(a),
            kind: "added",
            field: None,
            old: None,
            new: Some(describe(kind, &a.data)),
            summary: format!("{} added ({})", subject(kind, &label(a)), describe(kind, &a.data)),
            replaced: false,
        });
        out.upserts.push(a.clone());
    }
    out
}

fn label(c: &Component) -> String {
    c.position.clone().unwrap_or_else(|| c.key.clone())
}

/// Where a removed and an added component must sit to be one replaced in place. A memory
/// module sits in a bank and a slot, whatever its key was when it was stored.
fn place(c: &Component) -> Option<String> {
    match (c.kind, c.data.get("slot").and_then(Value::as_str)) {
        ("memory_module", Some(slot)) => {
            Some(format!("{}\u{1f}{slot}", c.data.get("bank").and_then(Value::as_str).unwrap_or("")))
        }
        _ => c.position.clone(),
    }
}

/// A power supply keeps its key (its bay) when it is swapped: a new serial there is a
/// replacement, not a change of the old unit.
fn replaced_in_place(kind: &str, old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    let serial = |m: &Map<String, Value>| m.get("serial_number").and_then(Value::as_str).map(str::to_owned);
    kind == "psu" && matches!((serial(old), serial(new)), (Some(o), Some(n)) if o != n)
}

fn noun(kind: &str) -> &str {
    match kind {
        "memory_module" => "memory module",
        "disk" => "disk",
        "nic" => "NIC",
        "psu" => "PSU",
        "bmc" => "BMC",
        "fc_hba" => "FC HBA",
        "gpu" => "GPU",
        "raid_controller" => "RAID controller",
        "logical_drive" => "logical drive",
        "custom" => "custom fact",
        other => other,
    }
}

/// "memory module P1/D11", "PSU #2"; a power supply whose label already says what it is ("PSU
/// 2", "Power Supply 1") goes by its label alone.
fn subject(kind: &str, label: &str) -> String {
    let lower = label.to_ascii_lowercase();
    if label.is_empty() {
        return noun(kind).to_owned();
    }
    if kind == "psu" && (lower.starts_with("psu") || lower.starts_with("power supply")) {
        label.to_owned()
    } else {
        format!("{} {label}", noun(kind))
    }
}

fn field_changes(
    kind: &str,
    label: String,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    replaced: Option<&str>,
) -> Vec<Event> {
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).collect();
    fields.sort();
    fields.dedup();
    let mut events = Vec::new();
    for field in fields {
        if IGNORED_FIELDS.contains(&(kind, field.as_str())) {
            continue;
        }
        let (o, n) = (old.get(field).unwrap_or(&Value::Null), new.get(field).unwrap_or(&Value::Null));
        if o == n {
            continue;
        }
        let (old_s, new_s) = (render(o), render(n));
        let arrow = format!("{} → {}", old_s.as_deref().unwrap_or("(none)"), new_s.as_deref().unwrap_or("(none)"));
        let where_ = if label.is_empty() { noun(kind).to_owned() } else { subject(kind, &label) };
        let summary = match (replaced, kind) {
            (Some(_), "disk") => format!("disk in slot {label} replaced: {field} {arrow}"),
            (Some(verb), _) => format!("{where_} {verb}: {field} {arrow}"),
            (None, "nic") if field == "lldp" => match (&old_s, &new_s) {
                (Some(_), Some(_)) if same_link(o, n) => format!("{label}: LLDP neighbour {arrow}"),
                (Some(_), Some(to)) => format!("{label} moved to {to}"),
                (None, Some(to)) => format!("{label} connected to {to}"),
                (_, None) => format!("{label}: no LLDP neighbour any more (was {arrow})"),
            },
            (None, "bmc") => format!("BMC {} {arrow}", bmc_field(field)),
            (None, _) => format!("{where_}: {field} {arrow}"),
        };
        events.push(Event {
            component: kind.to_owned(),
            key: label.clone(),
            kind: "changed",
            field: Some(field.clone()),
            old: old_s,
            new: new_s,
            summary,
            replaced: replaced.is_some(),
        });
    }
    events
}

/// Same switch and port, whatever else (the VLAN) changed.
fn same_link(old: &Value, new: &Value) -> bool {
    let part = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    ["chassis_name", "chassis_id", "port_id"].iter().all(|k| part(old, k) == part(new, k))
}

/// What a BMC field is called in an event: "BMC address 10.0.0.5 → 10.0.0.6".
fn bmc_field(field: &str) -> &str {
    match field {
        "ip_address" => "address",
        "ip_source" => "address source",
        "mac" => "MAC",
        "vlan_id" => "VLAN",
        "board_serial" => "board serial",
        "product_serial" => "product serial",
        other => other,
    }
}

/// A value as text for the change log: strings bare, addresses as "a/p, ...", an LLDP
/// neighbour as "sw-b12 port Gi1/0/17 (VLAN 140)", null as None.
pub fn render(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Object(m) if m.contains_key("port_id") && m.contains_key("chassis_id") => {
            let s = |k: &str| m.get(k).and_then(Value::as_str);
            let switch = s("chassis_name").or(s("chassis_id")).unwrap_or("unknown switch");
            let port = s("port_id").or(s("port_description")).unwrap_or("?");
            let vlan = m.get("vlan_id").and_then(Value::as_u64).map(|v| format!(" (VLAN {v})")).unwrap_or_default();
            Some(format!("{switch} port {port}{vlan}"))
        }
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| match (i.get("address"), i.get("prefix_len")) {
                    (Some(Value::String(a)), Some(p)) => format!("{a}/{p}"),
                    _ => render(i).unwrap_or_default(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        other => Some(other.to_string()),
    }
}

fn describe(kind: &str, data: &Map<String, Value>) -> String {
    let s = |k: &str| data.get(k).and_then(render);
    let size = data.get("size_bytes").and_then(Value::as_u64).map(human_bytes);
    let parts: Vec<String> = match kind {
        "memory_module" => {
            [size, s("type"), s("serial_number").map(|x| format!("serial {x}"))].into_iter().flatten().collect()
        }
        "disk" => [s("model"), size, s("serial_number").map(|x| format!("serial {x}"))].into_iter().flatten().collect(),
        "nic" => [s("mac"), s("addresses").filter(|a| !a.is_empty())].into_iter().flatten().collect(),
        "raid_controller" => [
            s("model"),
            s("firmware").map(|x| format!("firmware {x}")),
            s("serial_number").map(|x| format!("serial {x}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        "logical_drive" => [s("raid_level"), size, s("state")].into_iter().flatten().collect(),
        "bmc" => {
            [s("ip_address"), s("mac"), s("firmware").map(|x| format!("firmware {x}"))].into_iter().flatten().collect()
        }
        "fc_hba" => [s("port_wwn"), s("port_state"), s("speed")].into_iter().flatten().collect(),
        "gpu" => [s("model").or(s("device_id")), s("pci_address"), s("serial_number").map(|x| format!("serial {x}"))]
            .into_iter()
            .flatten()
            .collect(),
        "psu" => [
            s("manufacturer"),
            s("part_number"),
            data.get("max_power_w").and_then(Value::as_u64).map(|w| format!("{w} W")),
            s("serial_number").map(|x| format!("serial {x}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        _ => data.iter().take(3).filter_map(|(k, v)| render(v).map(|r| format!("{k}={r}"))).collect(),
    };
    if parts.is_empty() { "no details".to_owned() } else { parts.join(", ") }
}

/// 17179869184 -> "16 GiB".
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if (v - v.round()).abs() < 0.05 {
        format!("{} {}", v.round() as u64, UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assetkit_core::model::{Address, Disk, Memory, MemoryModule, Nic, PowerSupply};

    fn disk(slot: &str, serial: &str) -> Disk {
        Disk {
            slot: Some(slot.into()),
            serial_number: Some(serial.into()),
            model: Some("ST2000".into()),
            source: "megacli".into(),
            ..Disk::default()
        }
    }

    #[test]
    fn disk_replacement_is_one_change_in_its_slot() {
        let old = extract(&Facts { disks: Some(vec![disk("32:3", "AAA"), disk("32:4", "BBB")]), ..Facts::default() });
        let new = extract(&Facts { disks: Some(vec![disk("32:3", "CCC"), disk("32:4", "BBB")]), ..Facts::default() });
        let d = diff("disk", &old["disk"], &new["disk"]);
        assert_eq!(d.events.len(), 1, "{:?}", d.events);
        let e = &d.events[0];
        assert_eq!((e.kind, e.key.as_str(), e.field.as_deref()), ("changed", "32:3", Some("serial_number")));
        assert_eq!((e.old.as_deref(), e.new.as_deref()), (Some("AAA"), Some("CCC")));
        assert!(e.summary.starts_with("disk in slot 32:3 replaced"), "{}", e.summary);
        assert_eq!(d.deletes, vec!["sn:AAA".to_owned()]);
    }

    #[test]
    fn nic_address_change() {
        let nic = |ip: &str| Nic {
            name: "eth0".into(),
            mac: Some("52:54:00:00:00:01".into()),
            addresses: vec![Address { family: "inet".into(), address: ip.into(), prefix_len: 24 }],
            ..Nic::default()
        };
        let old = extract(&Facts { nics: Some(vec![nic("10.0.0.1")]), ..Facts::default() });
        let new = extract(&Facts { nics: Some(vec![nic("10.0.0.2")]), ..Facts::default() });
        let d = diff("nic", &old["nic"], &new["nic"]);
        assert_eq!(d.events.len(), 1);
        assert_eq!(d.events[0].old.as_deref(), Some("10.0.0.1/24"));
        assert_eq!(d.events[0].new.as_deref(), Some("10.0.0.2/24"));
    }

    #[test]
    fn absent_section_is_not_extracted() {
        assert!(!extract(&Facts::default()).contains_key("disk"));
        assert!(extract(&Facts { disks: Some(vec![]), ..Facts::default() }).contains_key("disk"));
    }

    fn modules(n: usize, serial: &str) -> Vec<Component> {
        (0..n)
            .map(|i| Component {
                kind: "memory_module",
                key: format!("slot{i}/{serial}{i}"),
                position: Some(format!("slot{i}")),
                data: Map::from_iter([("serial_number".to_owned(), Value::String(format!("{serial}{i}")))]),
            })
            .collect()
    }

    #[test]
    fn diff_is_not_quadratic() {
        // 50,000 modules, every one replaced in its slot: the pairing was O(n²) (minutes); it is
        // now hash lookups. The bound is loose on purpose: it separates n log n from n², not
        // one machine from another.
        let (old, new) = (modules(50_000, "OLD"), modules(50_000, "NEW"));
        let started = std::time::Instant::now();
        let d = diff("memory_module", &old, &new);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
        assert_eq!(d.deletes.len(), 50_000);
        assert_eq!(d.upserts.len(), 50_000);
        assert!(d.events.iter().all(|e| e.kind == "changed" && e.field.as_deref() == Some("serial_number")));
        assert_eq!(d.events[7].key, "slot7");
    }

    #[test]
    fn replacements_pair_in_order_within_one_position() {
        let old = modules(2, "A")
            .into_iter()
            .map(|mut c| {
                c.position = Some("p".into());
                c
            })
            .collect::<Vec<_>>();
        let new = modules(3, "B")
            .into_iter()
            .map(|mut c| {
                c.position = Some("p".into());
                c
            })
            .collect::<Vec<_>>();
        let d = diff("memory_module", &old, &new);
        let kinds: Vec<&str> = d.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["changed", "changed", "added"], "{:?}", d.events);
    }

    #[test]
    fn duplicate_keys_get_unique_suffixes_in_linear_time() {
        let list: Vec<Component> = (0..20_000)
            .map(|_| Component { kind: "disk", key: "sn:SAME".into(), position: None, data: Map::new() })
            .chain([Component { kind: "disk", key: "sn:SAME~3".into(), position: None, data: Map::new() }])
            .collect();
        let started = std::time::Instant::now();
        let out = dedup(list);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
        let keys: HashSet<&str> = out.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys.len(), out.len(), "keys are unique");
        assert_eq!(
            (out[0].key.as_str(), out[1].key.as_str(), out[2].key.as_str()),
            ("sn:SAME", "sn:SAME~2", "sn:SAME~3")
        );
    }

    fn dimm(bank: Option<&str>, slot: &str, serial: &str) -> MemoryModule {
        MemoryModule {
            slot: Some(slot.into()),
            bank: bank.map(str::to_owned),
            size_bytes: Some(16 << 30),
            r#type: Some("DDR4".into()),
            serial_number: Some(serial.into()),
            ..MemoryModule::default()
        }
    }

    fn memory(modules: Vec<MemoryModule>) -> Vec<Component> {
        let facts = Facts { memory: Some(Memory { modules: Some(modules), ..Memory::default() }), ..Facts::default() };
        extract(&facts).remove("memory_module").unwrap()
    }

    fn keys(list: &[Component]) -> Vec<&str> {
        list.iter().map(|c| c.key.as_str()).collect()
    }

    #[test]
    fn memory_keys_gain_the_bank_only_where_slot_names_repeat() {
        // Unique slot names keep the keys existing databases hold, banks or not.
        let unique = memory(vec![dimm(Some("BANK 0"), "DIMM_A1", "1"), dimm(Some("0"), "DIMM_A2", "2")]);
        assert_eq!(keys(&unique), ["DIMM_A1", "DIMM_A2"]);
        let repeated = memory(vec![
            dimm(Some("/SYS/MB/P0"), "D0", "1"),
            dimm(Some("/SYS/MB/P1"), "D0", "2"),
            dimm(Some("P0 CHANNEL A"), "DIMM 0", "3"),
            dimm(Some("P0 CHANNEL B"), "DIMM 0", "4"),
            dimm(Some("/SYS/MB/P1"), "D1", "5"),
        ]);
        assert_eq!(keys(&repeated), ["P0/D0", "P1/D0", "P0 CHANNEL A/DIMM 0", "P0 CHANNEL B/DIMM 0", "D1"]);
        // Without banks there is nothing better than a suffix.
        assert_eq!(keys(&memory(vec![dimm(None, "D0", "1"), dimm(None, "D0", "2")])), ["D0", "D0~2"]);
    }

    #[test]
    fn keys_stored_before_banks_are_re_keyed_without_events() {
        // What the receiver stored for this host before: "D11" and "D11~2".
        let before = vec![
            Component {
                key: "D11".into(),
                position: Some("D11".into()),
                ..memory(vec![dimm(Some("/SYS/MB/P0"), "D11", "A")]).remove(0)
            },
            Component {
                key: "D11~2".into(),
                position: Some("D11~2".into()),
                ..memory(vec![dimm(Some("/SYS/MB/P1"), "D11", "B")]).remove(0)
            },
        ];
        let now = memory(vec![dimm(Some("/SYS/MB/P0"), "D11", "A"), dimm(Some("/SYS/MB/P1"), "D11", "B")]);
        let d = diff("memory_module", &before, &now);
        assert!(d.events.is_empty(), "{:?}", d.events);
        assert_eq!(d.deletes, ["D11", "D11~2"]);
        assert_eq!(keys(&d.upserts), ["P0/D11", "P1/D11"]);
        // A re-keyed module that also changed is a replacement in its slot, named by bank.
        let swapped = memory(vec![dimm(Some("/SYS/MB/P0"), "D11", "A"), dimm(Some("/SYS/MB/P1"), "D11", "C")]);
        let d = diff("memory_module", &before, &swapped);
        assert_eq!(d.events.len(), 1, "{:?}", d.events);
        assert_eq!(d.events[0].summary, "memory module P1/D11 replaced: serial_number B → C");
    }

    fn unit(location: Option<&str>, name: &str, serial: &str) -> PowerSupply {
        PowerSupply {
            location: location.map(str::to_owned),
            name: Some(name.into()),
            manufacturer: Some("DELL".into()),
            serial_number: Some(serial.into()),
            part_number: Some("00XW8WA02".into()),
            max_power_w: Some(750),
            present: Some(true),
            hot_replaceable: Some(true),
            ..PowerSupply::default()
        }
    }

    fn psus(units: Vec<PowerSupply>) -> Vec<Component> {
        extract(&Facts { power_supplies: Some(units), ..Facts::default() }).remove("psu").unwrap()
    }

    #[test]
    fn power_supplies_are_keyed_by_location_else_a_unique_name_else_their_place() {
        let supermicro = psus(vec![unit(Some("PSU1"), "PWS-751P-1R", "1"), unit(Some("PSU2"), "PWS-751P-1R", "2")]);
        assert_eq!(keys(&supermicro), ["PSU1", "PSU2"]);
        let hp = psus(vec![unit(None, "Power Supply 1", "1"), unit(None, "Power Supply 2", "2")]);
        assert_eq!(keys(&hp), ["Power Supply 1", "Power Supply 2"]);
        let dell = psus(vec![unit(None, "PWR SPLY,750W,RDNT,EMSN", "1"), unit(None, "PWR SPLY,750W,RDNT,EMSN", "2")]);
        assert_eq!(keys(&dell), ["#1", "#2"]);
    }

    #[test]
    fn a_new_serial_in_a_psu_bay_is_a_replacement() {
        let dell = |second: &str| {
            psus(vec![
                unit(None, "PWR SPLY,750W,RDNT,EMSN", "PH1629862600EB"),
                unit(None, "PWR SPLY,750W,RDNT,EMSN", second),
            ])
        };
        let d = diff("psu", &dell("PH16298624018E"), &dell("CN7161561F0C36"));
        assert_eq!(d.events.len(), 1, "{:?}", d.events);
        assert_eq!(d.events[0].summary, "PSU #2 replaced: serial_number PH16298624018E → CN7161561F0C36");
        let hp = |second: &str| psus(vec![unit(None, "Power Supply 1", "A"), unit(None, "Power Supply 2", second)]);
        let d = diff("psu", &hp("B"), &hp("C"));
        assert_eq!(d.events[0].summary, "Power Supply 2 replaced: serial_number B → C");
        // One of two units sharing a name pulled: the other, now alone with its name, is keyed by
        // it; the same serial says it is the same unit.
        let one = psus(vec![unit(None, "PWR SPLY,750W,RDNT,EMSN", "CN7161561F0C36")]);
        assert_eq!(keys(&one), ["PWR SPLY,750W,RDNT,EMSN"]);
        let d = diff("psu", &dell("CN7161561F0C36"), &one);
        assert_eq!(d.events.len(), 1, "{:?}", d.events);
        assert_eq!(d.events[0].summary, "PSU #1 removed (DELL, 00XW8WA02, 750 W, serial PH1629862600EB)");
        assert_eq!(keys(&d.upserts), ["PWR SPLY,750W,RDNT,EMSN"]);
        // A status change is a change, not a replacement.
        let mut critical = hp("B");
        critical[1].data.insert("status".into(), Value::String("Critical".into()));
        let d = diff("psu", &hp("B"), &critical);
        assert_eq!(d.events[0].summary, "Power Supply 2: status (none) → Critical");
    }
}
