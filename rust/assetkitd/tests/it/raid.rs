//! RAID controllers, their logical drives and the drives behind them as components: stable
//! keys, and the change events an operator reads ("RAID controller 0: firmware 4.680 → 4.740",
//! "logical drive 0/1: state Optimal → Degraded", "disk in slot 64:3 replaced").

use assetkit_core::model::{Disk, LogicalDrive, RaidController};
use assetkitd::domain::apply::Policy;

use crate::support::{TestServer, again, physical};

fn find<'a>(changes: &'a [serde_json::Value], component: &str, kind: &str) -> Vec<&'a serde_json::Value> {
    changes.iter().filter(|c| c["component"] == component && c["kind"] == kind).collect()
}

fn controller(serial: Option<&str>, firmware: &str, state: &str) -> RaidController {
    RaidController {
        id: "0".into(),
        model: Some("PERC H740P Adapter".into()),
        serial_number: serial.map(str::to_owned),
        firmware: Some(firmware.into()),
        cache_bytes: Some(8 << 30),
        battery: Some("Optimal".into()),
        status: Some("Optimal".into()),
        source: "perccli".into(),
        logical_drives: vec![LogicalDrive {
            id: "1".into(),
            name: Some("data".into()),
            raid_level: Some("RAID6".into()),
            size_bytes: Some(94_046_727_081_820),
            state: Some(state.into()),
            members: vec!["64:0".into(), "64:1".into(), "64:2".into(), "64:3".into()],
        }],
    }
}

fn drive(slot: &str, serial: &str) -> Disk {
    Disk {
        slot: Some(slot.into()),
        model: Some("ST12000NM006J".into()),
        vendor: Some("SEAGATE".into()),
        serial_number: Some(serial.into()),
        size_bytes: Some(11_756_399_230_976),
        rotational: Some(true),
        interface: Some("sas".into()),
        firmware: Some("PSLB".into()),
        state: Some("Online".into()),
        source: "perccli".into(),
        ..Disk::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_firmware_logical_drive_state_and_a_drive_replaced_in_its_slot() {
    let s = TestServer::start(Policy::Auto).await;
    s.db.with(|db| assetkitd::domain::users::create_user(db, "alice", "correct horse battery", "test", 0).unwrap());
    let mut r = physical("raid01", "SN-RAID01");
    r.facts.raid_controllers = Some(vec![controller(Some("0AC1234"), "4.680.00-8519", "Optimal")]);
    r.facts.disks = Some((0..4).map(|i| drive(&format!("64:{i}"), &format!("ZRT1M00{i}"))).collect());
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    let c = &asset["components"];
    assert_eq!(c["raid_controller"][0]["_key"], "sn:0AC1234", "{asset}");
    assert!(c["raid_controller"][0].get("logical_drives").is_none(), "drives are components of their own");
    assert_eq!(c["logical_drive"][0]["_key"], "sn:0AC1234/1");
    assert_eq!(c["logical_drive"][0]["members"][3], "64:3");

    // A firmware update: one change on the controller, nothing else.
    let mut updated = again(&r);
    updated.facts.raid_controllers = Some(vec![controller(Some("0AC1234"), "4.740.00-8452", "Optimal")]);
    assert_eq!(s.report_ok(&updated).await["action"], "updated");
    let changes = s.changes(id).await;
    let raid: Vec<_> = changes.iter().filter(|c| c["component"] == "raid_controller").collect();
    assert_eq!(raid.len(), 1, "{changes:#?}");
    assert_eq!(
        (raid[0]["kind"].as_str(), raid[0]["key"].as_str(), raid[0]["field"].as_str()),
        (Some("changed"), Some("0"), Some("firmware"))
    );
    assert_eq!(raid[0]["summary"], "RAID controller 0: firmware 4.680.00-8519 → 4.740.00-8452");
    assert!(find(&changes, "logical_drive", "changed").is_empty(), "{changes:#?}");

    // A drive fails and is swapped: the logical drive degrades, the slot gets a new serial.
    let mut degraded = again(&updated);
    degraded.facts.raid_controllers = Some(vec![controller(Some("0AC1234"), "4.740.00-8452", "Degraded")]);
    degraded.facts.disks.as_mut().unwrap()[3].serial_number = Some("ZRT1MNEW".into());
    s.report_ok(&degraded).await;
    let changes = s.changes(id).await;
    let ld = find(&changes, "logical_drive", "changed");
    assert_eq!(ld.len(), 1, "{changes:#?}");
    assert_eq!((ld[0]["key"].as_str(), ld[0]["field"].as_str()), (Some("0/1"), Some("state")));
    assert_eq!(ld[0]["summary"], "logical drive 0/1: state Optimal → Degraded");
    let disk = find(&changes, "disk", "changed");
    assert_eq!(disk.len(), 1, "{changes:#?}");
    assert_eq!(disk[0]["summary"], "disk in slot 64:3 replaced: serial_number ZRT1M003 → ZRT1MNEW");

    // A report whose disk plugin failed says nothing about controllers.
    let mut failed = again(&degraded);
    failed.facts.raid_controllers = None;
    failed.facts.disks = None;
    s.report_ok(&failed).await;
    let changes = s.changes(id).await;
    assert!(
        find(&changes, "raid_controller", "removed").is_empty()
            && find(&changes, "logical_drive", "removed").is_empty()
    );

    // The console's asset page has a table for each.
    let console = crate::support::Console::login(&s.base, "alice", "correct horse battery").await;
    let page = console.page(&format!("/assets/{id}")).await;
    assert!(page.contains("RAID controllers (1)") && page.contains("4.740.00-8452"), "{page}");
    assert!(page.contains("Logical drives (1)") && page.contains("64:0, 64:1, 64:2, 64:3"), "{page}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_without_a_serial_is_keyed_by_its_number_and_replaced_in_place() {
    let s = TestServer::start(Policy::Auto).await;
    let mut r = physical("raid02", "SN-RAID02");
    r.facts.raid_controllers = Some(vec![controller(None, "7.5-0 (32033)", "Optimal")]);
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(asset["components"]["raid_controller"][0]["_key"], "#0", "{asset}");
    assert_eq!(asset["components"]["logical_drive"][0]["_key"], "#0/1");

    // The controller now reports a serial: the same controller 0, one change, its drive re-keyed
    // without an event.
    let mut serial = again(&r);
    serial.facts.raid_controllers = Some(vec![controller(Some("2B2111F7A1F"), "7.5-0 (32033)", "Optimal")]);
    s.report_ok(&serial).await;
    let changes = s.changes(id).await;
    let raid: Vec<_> = changes.iter().filter(|c| c["component"] == "raid_controller").collect();
    assert_eq!(raid.len(), 1, "{changes:#?}");
    assert_eq!(raid[0]["summary"], "RAID controller 0 replaced: serial_number (none) → 2B2111F7A1F");
    assert!(changes.iter().all(|c| c["component"] != "logical_drive"), "{changes:#?}");
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(asset["components"]["logical_drive"][0]["_key"], "sn:2B2111F7A1F/1");
    assert_eq!(asset["components"]["logical_drive"].as_array().unwrap().len(), 1);

    // More controllers, or logical drives on one, than the schema allows are refused, naming the
    // list.
    let mut crowded = again(&serial);
    crowded.facts.raid_controllers = Some((0..65).map(|_| controller(None, "1", "Optimal")).collect());
    let (status, body) = s.report(&crowded).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("too_many_components")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("facts.raid_controllers"), "{body}");
    let mut big = controller(None, "1", "Optimal");
    big.logical_drives = (0..257).map(|i| LogicalDrive { id: i.to_string(), ..LogicalDrive::default() }).collect();
    crowded.facts.raid_controllers = Some(vec![big]);
    let (status, body) = s.report(&crowded).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("too_many_components")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("logical_drives"), "{body}");
    s.stop().await;
}

/// A drive whose only identity is its World Wide Name (the serial masked or unreadable).
fn wwn_drive(slot: &str, wwn: &str) -> Disk {
    Disk { serial_number: None, wwn: Some(wwn.into()), ..drive(slot, "unused") }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serial_less_drive_is_known_by_its_wwn() {
    let s = TestServer::start(Policy::Auto).await;
    let mut r = physical("wwn01", "SN-WWN01");
    r.facts.disks = Some(vec![wwn_drive("64:0", "5000c500a1b2c3d4"), wwn_drive("64:1", "5000c500a1b2c3e8")]);
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(asset["components"]["disk"][0]["_key"], "wwn:5000c500a1b2c3d4", "{asset}");

    // Swapped in its slot: another WWN in 64:0 is one replacement event.
    let mut swapped = again(&r);
    swapped.facts.disks = Some(vec![wwn_drive("64:0", "5000c500ffff0001"), wwn_drive("64:1", "5000c500a1b2c3e8")]);
    s.report_ok(&swapped).await;
    let changes = s.changes(id).await;
    let disk: Vec<_> = changes.iter().filter(|c| c["component"] == "disk").collect();
    assert_eq!(disk.len(), 1, "{changes:#?}");
    let e = disk[0];
    assert_eq!(
        (e["kind"].as_str(), e["key"].as_str(), e["field"].as_str()),
        (Some("changed"), Some("64:0"), Some("wwn"))
    );
    assert_eq!(e["summary"], "disk in slot 64:0 replaced: wwn 5000c500a1b2c3d4 → 5000c500ffff0001", "{e}");

    // Moved to another slot: the same drive, its history kept (a slot change, nothing removed).
    let mut moved = again(&swapped);
    moved.facts.disks = Some(vec![wwn_drive("64:0", "5000c500ffff0001"), wwn_drive("64:5", "5000c500a1b2c3e8")]);
    s.report_ok(&moved).await;
    let changes = s.changes(id).await;
    let disk: Vec<_> = changes.iter().filter(|c| c["component"] == "disk").collect();
    assert_eq!(disk.len(), 2, "{changes:#?}");
    let e = disk.iter().find(|c| c["field"] == "slot").expect("a slot change");
    assert_eq!(
        (e["kind"].as_str(), e["old"].as_str(), e["new"].as_str()),
        (Some("changed"), Some("64:1"), Some("64:5"))
    );
    assert!(find(&changes, "disk", "removed").is_empty() && find(&changes, "disk", "added").is_empty(), "{changes:#?}");
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    let keys: Vec<&str> =
        asset["components"]["disk"].as_array().unwrap().iter().map(|d| d["_key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.contains(&"wwn:5000c500a1b2c3e8"), "{keys:?}");

    // An earlier agent's drive, keyed by its slot, reported with its WWN for the first time:
    // the same drive gaining a field, not a replacement.
    let mut old_agent = again(&moved);
    let mut plain = wwn_drive("64:7", "5000c500a1b2c3f0");
    plain.wwn = None;
    old_agent.facts.disks =
        Some(vec![wwn_drive("64:0", "5000c500ffff0001"), wwn_drive("64:5", "5000c500a1b2c3e8"), plain]);
    s.report_ok(&old_agent).await;
    let mut upgraded = again(&old_agent);
    upgraded.facts.disks.as_mut().unwrap()[2].wwn = Some("5000c500a1b2c3f0".into());
    s.report_ok(&upgraded).await;
    let changes = s.changes(id).await;
    let last = changes.iter().filter(|c| c["component"] == "disk" && c["key"] == "64:7").collect::<Vec<_>>();
    assert!(last.iter().all(|c| c["summary"].as_str().is_some_and(|t| !t.contains("replaced"))), "{last:#?}");
    s.stop().await;
}
