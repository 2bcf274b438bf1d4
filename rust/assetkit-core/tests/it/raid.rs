//! RAID controllers through the disk plugin: which tools are asked for (and, above all, that
//! none is on a host without a controller), one record per drive, truncated answers, and the
//! parsers on captures the golden machines do not cover.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assetkit_core::parse::raid::RaidError;
use assetkit_core::parse::{arcconf, ssacli, storcli};
use assetkit_core::source::CustomOutput;
use assetkit_core::{CollectOptions, LiveOptions, LiveSource, Mode, Report, Selection, Source};

use crate::support::{Snap, fixtures};

/// The snapshot names of every command a RAID tool answers.
fn is_raid_tool(name: &str) -> bool {
    name.starts_with("storcli-")
        || name.starts_with("perccli-")
        || name.starts_with("ssacli-")
        || name.starts_with("arcconf-")
}

/// A source that remembers every command asked of it.
struct Asking<S> {
    inner: S,
    asked: Mutex<Vec<String>>,
}

impl<S: Source> Source for Asking<S> {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.inner.read(path)
    }
    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        self.asked.lock().unwrap().push(name.to_owned());
        self.inner.command(name)
    }
    fn custom_plugins(&self) -> BTreeMap<String, CustomOutput> {
        self.inner.custom_plugins()
    }
}

fn collect_asking<S: Source + 'static>(inner: S) -> (Report, Vec<String>) {
    let source = Arc::new(Asking { inner, asked: Mutex::new(Vec::new()) });
    let options = CollectOptions {
        selection: Selection::from_names(&["disk"]).unwrap(),
        timeout: Duration::from_secs(30),
        mode: Mode::Cli,
    };
    let report = assetkit_core::collect(source.clone(), &options);
    let asked = source.asked.lock().unwrap().clone();
    (report, asked)
}

fn raw(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("raw").join(rel)).unwrap()
}

fn sata_disk(snap: &Snap, name: &str, serial: &str) {
    let base = format!("/sys/block/{name}");
    snap.file(&format!("{base}/device/uevent"), "DRIVER=sd\n");
    snap.file(&format!("{base}/size"), "3907029168\n");
    snap.file(&format!("{base}/device/model"), "ST2000NM0033\n");
    snap.file(&format!("{base}/device/serial"), format!("{serial}\n"));
}

/// One capture set per controller tool: the driver it needs live, and its `commands/` files.
const LONE_CAPTURES: &[(&str, &str, &[(&str, &str)])] = &[
    (
        "storcli",
        "megaraid_sas",
        &[
            ("storcli-show-all-json", "storcli/pystorcli2__controllerSet-test01-__c0_show_J.json"),
            ("storcli-drives-json", "storcli/pystorcli2__namedSet-set_state_offline_00-__c0_e35_sall_show_J.json"),
        ],
    ),
    (
        "perccli",
        "mpi3mr",
        &[
            ("perccli-show-all-json", "perccli/bodik__output_7.2313_controllers_ok.json"),
            ("perccli-drives-json", "perccli/bodik__output_7.2313_pdisks_ok.json"),
        ],
    ),
    ("ssacli", "hpsa", &[("ssacli-config-detail", "ssacli/netdata__ssacli-P400ar.txt")]),
    ("arcconf", "aacraid", &[("arcconf-getconfig-1", "arcconf/checkraid__1-getconfig")]),
    ("megacli", "megaraid_sas", &[("megacli-pdlist", "megacli/set1_PDlist")]),
];

#[test]
fn a_lone_capture_of_each_raid_tool_replays_without_files() {
    // A capture attached to a bug report: `commands/` only, no `files/` at all. It is evidence
    // that the tool ran, so it replays exactly as it does beside its controller's driver.
    for (tool, driver, captures) in LONE_CAPTURES {
        let lone = Snap::new();
        let beside = Snap::new();
        beside.file("/sys/class/scsi_host/host0/proc_name", format!("{driver}\n"));
        for (name, rel) in *captures {
            lone.command(name, raw(rel));
            beside.command(name, raw(rel));
        }
        assert!(!lone.path().join("files").exists());
        let report = lone.collect(&["disk"]);
        assert!(report.errors.is_empty(), "{tool}: {:?}", report.errors);
        let disks = report.facts.disks.clone().unwrap_or_default();
        assert!(!disks.is_empty(), "{tool}: no drive from a lone capture");
        assert!(disks.iter().all(|d| d.source == *tool), "{tool}: {disks:?}");
        if *tool != "megacli" {
            assert!(report.facts.raid_controllers.as_ref().is_some_and(|c| !c.is_empty()), "{tool}: no controller");
        }
        let with_driver = beside.collect(&["disk"]);
        assert_eq!(report.facts.disks, with_driver.facts.disks, "{tool}");
        assert_eq!(report.facts.raid_controllers, with_driver.facts.raid_controllers, "{tool}");
    }
}

#[test]
fn a_lone_nvme_list_replays_as_the_disk_list() {
    let snap = Snap::new();
    snap.command("nvme-list-json", raw("nvme/netdata__v2.11-nvme-list.json"));
    let report = snap.collect(&["disk"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let disks = report.facts.disks.unwrap();
    assert!(!disks.is_empty());
    for disk in &disks {
        assert_eq!((disk.source.as_str(), disk.interface.as_deref()), ("nvme", Some("nvme")), "{disk:?}");
        assert!(disk.serial_number.is_some() && disk.model.is_some(), "{disk:?}");
    }
    // With /sys/block there, nvme-cli only fills what sysfs lacks: its list adds no disk.
    let snap = Snap::new();
    sata_disk(&snap, "sda", "Z1X2AAA1");
    snap.command("nvme-list-json", raw("nvme/netdata__v2.11-nvme-list.json"));
    let disks = snap.collect(&["disk"]).facts.disks.unwrap();
    assert_eq!(disks.len(), 1, "{disks:?}");
}

#[test]
fn the_live_host_without_a_controller_spawns_no_raid_tool() {
    // This machine (a CI runner or a VM) has no RAID controller: the plugin asks, and the live
    // source refuses every tool name without looking for the program, so nothing is spawned.
    if ["megaraid_sas", "mpi3mr", "hpsa", "smartpqi", "cciss", "aacraid"]
        .iter()
        .any(|d| std::path::Path::new(&format!("/sys/bus/pci/drivers/{d}")).exists())
    {
        eprintln!("this host has a RAID driver loaded; the live check does not apply");
        return;
    }
    let live = LiveSource::new(LiveOptions::default());
    let (report, asked) = collect_asking(live);
    assert!(asked.iter().any(|n| is_raid_tool(n)), "the gate is the live source's, not the plugin's");
    assert_eq!(report.facts.raid_controllers, None);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let live = LiveSource::new(LiveOptions::default());
    for name in ["storcli-show-all-json", "perccli-drives-json", "ssacli-config-detail", "arcconf-getconfig-1"] {
        let error = live.command(name).expect_err(name);
        assert_eq!(error.kind(), io::ErrorKind::NotFound, "{name}: {error}");
    }
}

#[test]
fn a_drive_seen_by_the_kernel_and_its_controller_is_reported_once() {
    // An HBA-style pass-through: sdb is the drive the controller lists in slot 64:11.
    let snap = Snap::new();
    sata_disk(&snap, "sda", "LOCALBOOT1");
    sata_disk(&snap, "sdb", "ZRT1M589");
    snap.file("/sys/class/scsi_host/host0/proc_name", "megaraid_sas\n");
    snap.command("perccli-show-all-json", raw("perccli/bodik__output_7.2313_controllers_ok.json"));
    snap.command("perccli-drives-json", raw("perccli/bodik__output_7.2313_pdisks_ok.json"));
    let report = snap.collect(&["disk"]);
    let disks = report.facts.disks.unwrap();
    let same: Vec<_> = disks.iter().filter(|d| d.serial_number.as_deref() == Some("ZRT1M589")).collect();
    assert_eq!(same.len(), 1, "{same:?}");
    assert_eq!((same[0].slot.as_deref(), same[0].source.as_str()), (Some("64:11"), "perccli"));
    assert!(disks.iter().any(|d| d.name.as_deref() == Some("sda")), "the other kernel disk stays");
    assert_eq!(disks.len(), 13);
}

/// Where each capture is cut, as a fraction of its length.
const CUTS: &[(usize, usize)] = &[(1, 8), (1, 4), (1, 2), (3, 4), (9, 10)];

#[test]
fn a_truncated_tool_answer_fails_the_disk_plugin_rather_than_drop_drives() {
    let captures: &[(&str, &str, &str)] = &[
        ("megaraid_sas", "perccli-show-all-json", "perccli/bodik__output_7.2313_controllers_ok.json"),
        ("megaraid_sas", "perccli-drives-json", "perccli/bodik__output_7.2313_pdisks_ok.json"),
        ("mpi3mr", "perccli-drives-json", "perccli/bodik__output_8.4.0.22_pdisks_ok.json"),
        ("megaraid_sas", "storcli-show-all-json", "storcli/netdata__mpt3sas-controllers-info.json"),
        ("hpsa", "ssacli-config-detail", "ssacli/netdata__ssacli-P400ar.txt"),
        ("hpsa", "ssacli-config-detail", "ssacli/netdata__ssacli-P400i-unassigned.txt"),
        ("aacraid", "arcconf-getconfig-1", "arcconf/checkraid__issue128-getconfig"),
        ("aacraid", "arcconf-getconfig-1", "arcconf/checkraid__1-getconfig"),
    ];
    for (driver, name, rel) in captures {
        let full = raw(rel);
        for (num, den) in CUTS {
            let cut = &full[..full.len() * num / den];
            let snap = Snap::new();
            sata_disk(&snap, "sda", "LOCALBOOT1");
            snap.file("/sys/class/scsi_host/host0/proc_name", format!("{driver}\n"));
            // The other output of the pair, whole, where there is one.
            if name.ends_with("-drives-json") {
                let show_all = name.replace("-drives-json", "-show-all-json");
                let whole = if rel.contains("8.4.0.22") {
                    "perccli/bodik__output_8.4.0.22_controllers_ok.json"
                } else {
                    "perccli/bodik__output_7.2313_controllers_ok.json"
                };
                snap.command(&show_all, raw(whole));
            }
            snap.command(name, cut);
            let report = snap.collect(&["disk"]);
            let error = report.errors.iter().find(|e| e.plugin == "disk");
            assert!(error.is_some(), "{rel} cut at {num}/{den}: no error; disks {:?}", report.facts.disks);
            assert!(report.facts.disks.is_none() && report.facts.raid_controllers.is_none(), "{rel} {num}/{den}");
        }
    }
}

#[test]
fn storcli_on_an_hba_reads_drive_detail_from_show_all() {
    let raid = storcli::parse("storcli", Some(&raw("storcli/netdata__mpt3sas-controllers-info.json")), None).unwrap();
    let c = &raid.controllers[0];
    assert_eq!(
        (c.model.as_deref(), c.serial_number.as_deref(), c.firmware.as_deref(), c.cache_bytes),
        (Some("HBA 9500-8i"), Some("REDACTED"), Some("28.00.00.00"), Some(0))
    );
    assert!(c.logical_drives.is_empty());
    assert_eq!(raid.disks.len(), 29);
    // In slot order, not the JSON's key order ("23:10" before "23:2").
    let slots: Vec<&str> = raid.disks.iter().take(3).filter_map(|d| d.slot.as_deref()).collect();
    assert_eq!(slots, ["23:0", "23:1", "23:2"]);
    let first = &raid.disks[0];
    assert_eq!(first.model.as_deref(), Some("ST14000NM001G-2KJ103"));
    assert_eq!(first.serial_number.as_deref(), Some("REDACTED"));
    assert_eq!(first.firmware.as_deref(), Some("SN03"));
    // 0x65ddfffff sectors of 512 bytes.
    assert_eq!(first.size_bytes, Some(27_344_764_927 * 512));
    assert_eq!(
        (first.interface.as_deref(), first.rotational, first.state.as_deref()),
        (Some("sata"), Some(true), Some("JBOD"))
    );
}

#[test]
fn storcli_controller_show_and_enclosure_drives() {
    let show = raw("storcli/pystorcli2__controllerSet-test01-__c0_show_J.json");
    let drives = raw("storcli/pystorcli2__namedSet-set_state_offline_00-__c0_e35_sall_show_J.json");
    let raid = storcli::parse("storcli", Some(&show), Some(&drives)).unwrap();
    let c = &raid.controllers[0];
    assert_eq!(c.model.as_deref(), Some("Intel(R) RAID Controller RS3DC080"));
    assert_eq!((c.serial_number.as_deref(), c.firmware.as_deref()), (Some("SK75074929"), Some("4.650.00-8128")));
    let vd = &c.logical_drives[0];
    assert_eq!((vd.id.as_str(), vd.name.as_deref(), vd.raid_level.as_deref()), ("1", Some("dummy"), Some("RAID0")));
    assert_eq!(vd.state.as_deref(), Some("Optimal"));
    assert_eq!(raid.disks.len(), 12);
    let d = raid.disks.iter().find(|d| d.slot.as_deref() == Some("35:12")).unwrap();
    assert_eq!((d.model.as_deref(), d.state.as_deref()), (Some("HUS726040AL5210"), Some("Unconfigured Good")));
    // `storcli show J` of a host whose only controller failed: an error, not "no controllers".
    let failed = storcli::parse("storcli", Some(&raw("storcli/pystorcli2__controllerSet-test03-_show_J.json")), None);
    assert!(
        matches!(failed, Err(RaidError::Failed(ref m)) if m.contains("Failure") || m.contains("controller 0")),
        "{failed:?}"
    );
}

#[test]
fn ssacli_and_arcconf_refuse_what_is_not_their_output() {
    assert!(matches!(ssacli::parse("bash: ssacli: command not found\n"), Err(RaidError::Invalid(_))));
    assert_eq!(ssacli::parse("\nError: No controllers detected.\n").map(|r| r.controllers.len()), Ok(0));
    let truncated = arcconf::parse(1, &String::from_utf8_lossy(&raw("arcconf/checkraid__issue75-getconfig")));
    assert!(matches!(truncated, Err(RaidError::Truncated(_))), "{truncated:?}");
    assert!(matches!(arcconf::parse(1, "Invalid controller number.\n"), Err(RaidError::Failed(_))));
}

#[test]
fn arcconf_masked_serials_pass_through_and_members_come_from_places() {
    let raid = arcconf::parse(1, &String::from_utf8_lossy(&raw("arcconf/checkraid__issue31-getconfig"))).unwrap();
    let c = &raid.controllers[0];
    assert_eq!(c.serial_number.as_deref(), Some("xxxx"));
    assert_eq!(c.logical_drives.len(), 3);
    // Two logical devices share no drive: members are read from each segment's place, not from
    // serials that the capture masked alike.
    let first: Vec<&str> = c.logical_drives[0].members.iter().map(String::as_str).collect();
    let second: Vec<&str> = c.logical_drives[1].members.iter().map(String::as_str).collect();
    assert!(first.iter().all(|m| !second.contains(m)), "{first:?} {second:?}");
}

mod properties {
    //! No panic on any bytes, and a cut anywhere is either an error or the whole answer: never
    //! a shorter list that would read as drives removed.

    use assetkit_core::parse::{arcconf, ssacli, storcli};
    use proptest::prelude::*;

    use super::raw;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
            ..ProptestConfig::default()
        }
    }

    fn mutate(mut data: Vec<u8>, cut: usize, flips: Vec<(usize, u8)>) -> Vec<u8> {
        for (at, byte) in flips {
            let i = at % data.len();
            data[i] = byte;
        }
        data.truncate(cut.min(data.len()));
        data
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn raid_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = storcli::parse("storcli", Some(&bytes), Some(&bytes));
            let _ = ssacli::parse(&text);
            let _ = arcconf::parse(1, &text);
            let _ = arcconf::controllers_found(&text);
        }

        #[test]
        fn raid_text_parsers_never_panic_on_lines(s in "\\PC{0,2000}") {
            let _ = ssacli::parse(&s);
            let _ = arcconf::parse(2, &format!("{s}\nCommand completed successfully.\n"));
        }

        #[test]
        fn mutated_raid_captures_never_panic(
            cut in 0usize..40_000,
            flips in proptest::collection::vec((0usize..40_000, any::<u8>()), 0..32),
        ) {
            let show = mutate(raw("perccli/bodik__output_7.2313_controllers_ok.json"), cut, flips.clone());
            let drives = mutate(raw("perccli/bodik__output_8.4.0.22_pdisks_ok.json"), cut, flips.clone());
            let _ = storcli::parse("perccli", Some(&show), Some(&drives));
            let ssa = mutate(raw("ssacli/netdata__ssacli-P400ar.txt"), cut, flips.clone());
            let _ = ssacli::parse(&String::from_utf8_lossy(&ssa));
            let arc = mutate(raw("arcconf/checkraid__issue128-getconfig"), cut, flips);
            let _ = arcconf::parse(1, &String::from_utf8_lossy(&arc));
        }

        #[test]
        fn a_cut_answer_is_an_error_or_the_whole_answer(at in 0.0f64..1.0) {
            let json = raw("perccli/bodik__output_7.2313_pdisks_ok.json");
            let cut = &json[..(json.len() as f64 * at) as usize];
            let whole = storcli::parse("perccli", None, Some(&json));
            let got = storcli::parse("perccli", None, Some(cut));
            prop_assert!(got.is_err() || got == whole);
            for rel in ["ssacli/netdata__ssacli-P400ar.txt", "ssacli/netdata__ssacli-P400i-unassigned.txt"] {
                let text = String::from_utf8(raw(rel)).unwrap();
                let mut end = (text.len() as f64 * at) as usize;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                let got = ssacli::parse(&text[..end]);
                prop_assert!(got.is_err() || got == ssacli::parse(&text), "{} cut at {}", rel, end);
            }
            let text = String::from_utf8_lossy(&raw("arcconf/checkraid__issue128-getconfig")).into_owned();
            let mut end = (text.len() as f64 * at) as usize;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let got = arcconf::parse(1, &text[..end]);
            prop_assert!(got.is_err() || got == arcconf::parse(1, &text));
        }
    }
}
