//! Every FRU record of `ipmitool fru print` (tests/fixtures/raw/ipmitool-fru, see its
//! ORIGIN.md): power supplies into `power_supplies`, merged with SMBIOS type 39 by serial; the
//! other records under `bmc.frus`.

use assetkit_core::model::PowerSupply;
use assetkit_core::parse::fru;

use crate::support::{Snap, fixtures};

fn raw(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("raw").join(rel)).unwrap()
}

fn text(rel: &str) -> String {
    String::from_utf8_lossy(&raw(rel)).into_owned()
}

fn summary(psus: &[PowerSupply]) -> Vec<(Option<&str>, Option<&str>, Option<&str>, Option<u32>)> {
    psus.iter()
        .map(|p| (p.location.as_deref(), p.serial_number.as_deref(), p.part_number.as_deref(), p.max_power_w))
        .collect()
}

#[test]
fn power_supply_records_become_power_supplies() {
    let cases: &[(&str, &[(&str, &str, &str)])] = &[
        ("glpi__dell-r640", &[("PS1", "CNDED0003G0NQA", "05RHVVA03"), ("PS2", "CNDED0003G0O0P", "05RHVVA03")]),
        (
            "glpi__powersupplies-fru_1.txt",
            &[("PS1", "CN1797238QA8EI", "05NF18A01"), ("PS2", "CN1797238QA8B4", "05NF18A01")],
        ),
        ("glpi__powersupplies-fru_3.txt", &[]),
        ("glpi__powersupplies-fru_2.txt", &[]),
    ];
    for (file, expected) in cases {
        let records = fru::parse(&text(&format!("ipmitool-fru/{file}")));
        let got: Vec<(&str, &str, &str)> = records
            .power_supplies
            .iter()
            .map(|p| {
                (p.location.as_deref().unwrap(), p.serial_number.as_deref().unwrap(), p.part_number.as_deref().unwrap())
            })
            .collect();
        assert_eq!(&got, expected, "{file}");
        for p in &records.power_supplies {
            assert_eq!((p.manufacturer.as_deref(), p.max_power_w, p.present), (Some("DELL"), Some(750), Some(true)));
        }
    }
}

#[test]
fn other_records_are_listed_under_the_bmc_placeholders_null() {
    let records = fru::parse(&text("ipmitool-fru/glpi__dell-r640"));
    let got: Vec<(Option<&str>, Option<&str>, Option<&str>)> = records
        .devices
        .iter()
        .map(|d| (d.description.as_deref(), d.product.as_deref(), d.serial_number.as_deref()))
        .collect();
    // BP0 says "Device not present" and "OEM fru" holds nothing: neither is listed.
    assert_eq!(
        got,
        [
            (Some("Builtin FRU Device"), Some("PowerEdge R640"), Some("2RJF153")),
            (Some("BP1"), Some("DRIVE BACKPLANE"), Some("CNIVC009C10097")),
            (Some("NDC"), Some("BRCM 2P 1G BT + 2P 10G BT rNDC"), Some("VNFCVBA02O00AZ")),
            (Some("PERC1"), Some("Dell Storage Cntlr. H740P - Mini"), Some("CNFCP0005M01NC")),
        ]
    );
    assert_eq!(records.devices[3].part_number.as_deref(), Some("00878MA03"));
    // A record whose only values are vendor placeholders keeps its description, its values null.
    let placeholder = "FRU Device Description : FAN1 (ID 5)\n Board Mfg             : To Be Filled By O.E.M.\n \
                       Board Product         : FAN MODULE\n Board Serial          : 0000000000\n";
    let records = fru::parse(placeholder);
    assert_eq!(records.devices.len(), 1);
    let d = &records.devices[0];
    assert_eq!((d.manufacturer.as_deref(), d.serial_number.as_deref()), (None, None));
    // Every shared capture parses to records, and the rubyipmi one lists its DIMMs and CPUs.
    let many = fru::parse(&text("ipmitool-fru/rubyipmi__fru.txt"));
    assert!(many.devices.len() >= 5, "{:?}", many.devices);
}

#[test]
fn one_power_supply_in_smbios_and_fru_is_reported_once() {
    // The same Dell R640: SMBIOS type 39 lists both units with their serials; so does the BMC.
    let snap = Snap::new();
    snap.command("dmidecode", raw("dmidecode/dell-r640"));
    snap.command("ipmitool-fru-print", raw("ipmitool-fru/glpi__dell-r640"));
    let report = snap.collect(&["board", "bmc"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let psus = report.facts.power_supplies.unwrap();
    assert_eq!(
        summary(&psus),
        [
            (Some("PS1"), Some("CNDED0003G0NQA"), Some("05RHVVA03"), Some(750)),
            (Some("PS2"), Some("CNDED0003G0O0P"), Some("05RHVVA03"), Some(750)),
        ]
    );
    // SMBIOS's own fields stay (it knows hot-replaceability; the FRU record does not).
    assert!(psus.iter().all(|p| p.hot_replaceable == Some(true)), "{psus:?}");
    let frus = report.facts.bmc.unwrap().frus.unwrap();
    assert!(frus.iter().all(|f| !f.description.as_deref().unwrap_or("").starts_with("PS")), "{frus:?}");

    // FRU records alone (a lone capture, or a board without type 39): the BMC's units.
    let snap = Snap::new();
    snap.command("ipmitool-fru-print", raw("ipmitool-fru/glpi__powersupplies-fru_1.txt"));
    let report = snap.collect(&["bmc"]);
    let psus = report.facts.power_supplies.unwrap();
    assert_eq!(psus.len(), 2);
    assert_eq!(psus[1].serial_number.as_deref(), Some("CN1797238QA8B4"));
}

#[test]
fn a_cut_power_supply_record_fails_the_plugin() {
    let fru = text("ipmitool-fru/glpi__dell-r640");
    let at = fru.find("CNDED0003G0O0P").unwrap() + 5;
    let snap = Snap::new();
    snap.command("ipmitool-fru-print", &fru[..at]);
    let report = snap.collect(&["bmc"]);
    let error = report.errors.iter().find(|e| e.plugin == "bmc").expect("an error");
    assert!(error.message.contains("truncated"), "{}", error.message);
    assert!(report.facts.power_supplies.is_none() && report.facts.bmc.is_none());
}
