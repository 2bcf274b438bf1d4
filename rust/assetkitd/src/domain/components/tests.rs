//! The keys and events of each kind, on real shapes of data.

use super::component::dedup;
use super::*;
use std::collections::HashSet;

use assetkit_core::model::{Address, Disk, Facts, Memory, MemoryModule, Nic, PowerSupply};
use serde_json::{Map, Value};

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
fn a_slotless_disk_with_another_serial_is_removed_and_added_not_replaced() {
    let named = |name: &str, serial: &str| Disk {
        name: Some(name.into()),
        serial_number: Some(serial.into()),
        model: Some("Samsung SSD 870".into()),
        source: "sysfs".into(),
        ..Disk::default()
    };
    let old = extract(&Facts { disks: Some(vec![named("sda", "S1"), named("sdb", "S2")]), ..Facts::default() });
    let new = extract(&Facts { disks: Some(vec![named("sda", "S3"), named("sdb", "S2")]), ..Facts::default() });
    let d = diff("disk", &old["disk"], &new["disk"]);
    let said: Vec<(&str, &str)> = d.events.iter().map(|e| (e.kind, e.summary.as_str())).collect();
    assert_eq!(
        said,
        [
            ("removed", "disk sda removed (Samsung SSD 870, serial S1)"),
            ("added", "disk sda added (Samsung SSD 870, serial S3)"),
        ],
        "a kernel name is no slot"
    );
    assert!(d.events.iter().all(|e| !e.replaced));
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
    assert_eq!((out[0].key.as_str(), out[1].key.as_str(), out[2].key.as_str()), ("sn:SAME", "sn:SAME~2", "sn:SAME~3"));
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
