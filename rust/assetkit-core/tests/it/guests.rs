//! The guests plugin over real libvirt and Proxmox VE files (tests/fixtures/guests, origins in
//! its ORIGIN.md files), and over bad ones.

use crate::support::{Snap, fixtures};

fn guests_dir() -> std::path::PathBuf {
    fixtures().join("guests")
}

#[test]
fn golden_guests() {
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(guests_dir().join("golden.json")).unwrap()).unwrap();
    let cases = spec["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    let mut failures = Vec::new();
    for case in cases {
        let snap = Snap::new();
        for (path, rel) in case["files"].as_object().unwrap() {
            snap.file(path, std::fs::read(guests_dir().join(rel.as_str().unwrap())).unwrap());
        }
        let report = snap.collect(&["guests"]);
        let got = serde_json::to_value(&report.facts.guests).unwrap();
        if got != case["guests"] || !report.errors.is_empty() || !report.warnings.is_empty() {
            failures.push(format!(
                "{}:\n  expected {}\n  got      {got}\n  errors {:?} warnings {:?}",
                case["name"], case["guests"], report.errors, report.warnings
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(guests_dir().join(rel)).unwrap()
}

#[test]
fn a_bad_file_is_a_warning_and_the_others_stay() {
    let snap = Snap::new();
    snap.file("/etc/libvirt/qemu/good.xml", fixture("libvirt/minimal-x86_64.xml"));
    snap.file("/etc/libvirt/qemu/cut.xml", &fixture("libvirt/bhyve-memory-no-unit.xml")[..80]);
    snap.file("/etc/pve/qemu-server/101.conf", b"memory: lots\n");
    snap.file("/etc/pve/qemu-server/102.conf", fixture("proxmox/qemu-memory-hotplug.conf"));
    let report = snap.collect(&["guests"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let names: Vec<_> = report.facts.guests.unwrap().into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["QEMUGuest1", "simple"]);
    let warnings: Vec<_> = report.warnings.iter().map(|w| (w.plugin.as_str(), w.message.as_str())).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].1.starts_with("/etc/libvirt/qemu/cut.xml skipped: not well-formed XML"), "{warnings:?}");
    assert!(warnings[1].1.contains("/etc/pve/qemu-server/101.conf skipped: memory: \"lots\""), "{warnings:?}");
    assert!(warnings.iter().all(|(plugin, _)| *plugin == "guests"));
}

#[test]
fn every_file_bad_fails_the_plugin_and_drops_the_section() {
    let snap = Snap::new();
    snap.file("/etc/libvirt/qemu/a.xml", b"<network><name>default</name></network>");
    snap.file("/etc/libvirt/qemu/b.xml", b"\xff\xfe<domain/>");
    let report = snap.collect(&["guests"]);
    assert_eq!(report.facts.guests, None);
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].message.starts_with("no guest file could be read (2 bad)"), "{:?}", report.errors);
}

#[test]
fn limits_before_reading() {
    let snap = Snap::new();
    let mut big = fixture("libvirt/minimal-x86_64.xml");
    big.extend(std::iter::repeat_n(b' ', 1 << 20));
    snap.file("/etc/libvirt/qemu/big.xml", &big);
    snap.file("/etc/libvirt/qemu/ok.xml", fixture("libvirt/bhyve-memory-no-unit.xml"));
    let report = snap.collect(&["guests"]);
    assert_eq!(report.facts.guests.as_ref().map(Vec::len), Some(1));
    assert!(report.warnings[0].message.contains("big.xml skipped: larger than 1048576 bytes"), "{:?}", report.warnings);

    let crowded = Snap::new();
    for vmid in 100..=(100 + assetkit_core::plugins::guests::MAX_GUEST_FILES) {
        crowded.file(&format!("/etc/pve/lxc/{vmid}.conf"), b"hostname: ct\n");
    }
    let report = crowded.collect(&["guests"]);
    assert_eq!(report.facts.guests, None);
    assert!(report.errors[0].message.contains("holds 4097 .conf files, more than 4096"), "{:?}", report.errors);
}

#[test]
fn no_hypervisor_no_section_and_an_empty_one_an_empty_list() {
    let snap = Snap::new();
    snap.file("/etc/hostname", b"plain\n");
    assert_eq!(snap.collect(&["guests"]).facts.guests, None);
    std::fs::create_dir_all(snap.path().join("files/etc/libvirt/qemu/networks")).unwrap();
    let report = snap.collect(&["guests"]);
    assert_eq!(report.facts.guests, Some(vec![]), "{:?}", report.errors);
}

#[test]
fn a_recorded_snapshot_replays_the_same_guests() {
    use assetkit_core::{CollectOptions, Mode, Recorder, Selection, SnapshotDir, Source};
    use std::sync::Arc;
    let snap = Snap::new();
    snap.file("/etc/libvirt/qemu/QEMUGuest1.xml", fixture("libvirt/minimal-x86_64.xml"));
    snap.file("/run/libvirt/qemu/QEMUGuest1.xml", fixture("libvirt/status-running-vcpus-multi.xml"));
    std::fs::create_dir_all(snap.path().join("files/etc/pve/lxc")).unwrap();
    let options = CollectOptions {
        selection: Selection::from_names(&["guests"]).unwrap(),
        timeout: std::time::Duration::from_secs(10),
        mode: Mode::Cli,
    };
    let out = tempfile::tempdir().unwrap();
    let recorder: Arc<dyn Source> = Arc::new(Recorder::new(SnapshotDir::open(snap.path()).unwrap(), out.path()));
    let first = assetkit_core::collect(recorder, &options);
    let replay = assetkit_core::collect(Arc::new(SnapshotDir::open(out.path()).unwrap()), &options);
    assert_eq!(first.facts.guests.as_ref().map(Vec::len), Some(1));
    assert_eq!(first.facts.guests, replay.facts.guests);
    assert!(out.path().join("files/etc/pve/lxc").is_dir(), "an empty directory is recorded too");
}
