//! World Wide Names and SAS addresses of drives, from each tool's real capture
//! (tests/fixtures/raw, see its ORIGIN.md) and from sysfs.

use assetkit_core::model::Disk;
use assetkit_core::parse::{arcconf, smartctl, ssacli, storcli};

use crate::support::{Snap, fixtures};

fn raw(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("raw").join(rel)).unwrap()
}

fn text(rel: &str) -> String {
    String::from_utf8_lossy(&raw(rel)).into_owned()
}

fn by_slot<'a>(disks: &'a [Disk], slot: &str) -> &'a Disk {
    disks.iter().find(|d| d.slot.as_deref() == Some(slot)).unwrap_or_else(|| panic!("no drive in {slot}"))
}

#[test]
fn perccli_drives_carry_their_wwn_and_port_sas_address() {
    let raid = storcli::parse(
        "perccli",
        Some(&raw("perccli/bodik__output_7.2313_controllers_ok.json")),
        Some(&raw("perccli/bodik__output_7.2313_pdisks_ok.json")),
    )
    .unwrap();
    let d = by_slot(&raid.disks, "64:1");
    assert_eq!(d.wwn.as_deref(), Some("5000cca29423ae83"));
    // 64:0's WWN is masked in the capture ("5000Cxxxxxxxx81B"): no name rather than a wrong one.
    let d = by_slot(&raid.disks, "64:0");
    assert_eq!((d.wwn.as_deref(), d.sas_address.as_deref()), (None, Some("5000cca294256819")));
    let named = raid.disks.iter().filter(|d| d.wwn.is_some()).count();
    assert!(named >= raid.disks.len() / 2, "{named} of {}", raid.disks.len());
}

#[test]
fn arcconf_world_wide_names() {
    let raid = arcconf::parse(1, &text("arcconf/checkraid__1-getconfig")).unwrap();
    let got: Vec<(Option<&str>, Option<&str>)> =
        raid.disks.iter().map(|d| (d.serial_number.as_deref(), d.wwn.as_deref())).collect();
    assert!(got.contains(&(Some("3LQ1WEH4"), Some("5000c5000707aa3c"))), "{got:?}");
    assert!(got.contains(&(Some("3LQ1WEWL"), Some("5000c5000707c13c"))), "{got:?}");
}

#[test]
fn ssacli_redacted_wwids_and_enclosure_wwids_name_no_drive() {
    // The capture's drive WWIDs read "REDACTED"; the WWIDs it does show are its SEP's.
    let raid = ssacli::parse(&text("ssacli/netdata__ssacli-P400ar.txt")).unwrap();
    assert!(!raid.disks.is_empty());
    assert!(raid.disks.iter().all(|d| d.wwn.is_none()), "{:?}", raid.disks);
    let mut sample = text("ssacli/netdata__ssacli-P400ar.txt");
    sample = sample.replacen("WWID: REDACTED", "WWID: 5000C5008F6A1E0B", 1);
    let raid = ssacli::parse(&sample).unwrap();
    assert_eq!(by_slot(&raid.disks, "1I:1:1").wwn.as_deref(), Some("5000c5008f6a1e0b"));
}

#[test]
fn smartctl_wwn_from_text_and_json() {
    assert_eq!(smartctl::parse(&text("smartctl/sample5")).unwrap().wwn.as_deref(), Some("500a075128413fa9"));
    assert_eq!(smartctl::parse(&text("smartctl/sample8")).unwrap().wwn.as_deref(), Some("5e83a9710002cb71"));
    // smartctl -j: the same id as three numbers.
    let json = r#"{"model_name":"ST4000NM0035","serial_number":"ZC1ABCDE","wwn":{"naa":5,"oui":3152,"id":2699281108}}"#;
    assert_eq!(smartctl::parse(json).unwrap().wwn.as_deref(), Some("5000c500a0e3c2d4"));
}

#[test]
fn sysfs_wwid_for_scsi_and_nvme_and_smartctl_agree() {
    let snap = Snap::new();
    snap.file("/sys/block/sda/device/uevent", "DRIVER=sd\n");
    snap.file("/sys/block/sda/size", "7814037168\n");
    snap.file("/sys/block/sda/device/model", "ST4000NM0035\n");
    snap.file("/sys/block/sda/device/wwid", "naa.5000c500a0e3c2d4\n");
    snap.file("/sys/block/nvme0n1/device/uevent", "\n");
    snap.file("/sys/block/nvme0n1/size", "1953525168\n");
    snap.file("/sys/block/nvme0n1/device/model", "Samsung SSD 980 PRO 1TB\n");
    snap.file("/sys/block/nvme0n1/device/serial", "S5GXNX0R123456\n");
    snap.file("/sys/block/nvme0n1/device/firmware_rev", "5B2QGXA7\n");
    snap.file("/sys/block/nvme0n1/wwid", "eui.002538b911b2c3d4\n");
    let disks = snap.collect(&["disk"]).facts.disks.unwrap();
    let wwn = |name: &str| disks.iter().find(|d| d.name.as_deref() == Some(name)).and_then(|d| d.wwn.clone());
    assert_eq!(wwn("sda").as_deref(), Some("5000c500a0e3c2d4"));
    assert_eq!(wwn("nvme0n1").as_deref(), Some("eui.002538b911b2c3d4"));
    // Without sysfs's wwid, smartctl's names the same drive the same way.
    std::fs::remove_file(snap.path().join("files/sys/block/sda/device/wwid")).unwrap();
    let json = r#"{"model_name":"ST4000NM0035","serial_number":"ZC1ABCDE","wwn":{"naa":5,"oui":3152,"id":2699281108}}"#;
    snap.command("smartctl-sda", json);
    let disks = snap.collect(&["disk"]).facts.disks.unwrap();
    let sda = disks.iter().find(|d| d.name.as_deref() == Some("sda")).unwrap();
    assert_eq!((sda.wwn.as_deref(), sda.serial_number.as_deref()), (Some("5000c500a0e3c2d4"), Some("ZC1ABCDE")));
}
