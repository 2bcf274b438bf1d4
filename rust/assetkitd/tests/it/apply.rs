//! Discovery, component changes and identity rules, end to end through the signed API.

use assetkitd::domain::apply::Policy;

use crate::support::{TestServer, again, physical, vm};

fn find<'a>(changes: &'a [serde_json::Value], component: &str, kind: &str) -> Vec<&'a serde_json::Value> {
    changes.iter().filter(|c| c["component"] == component && c["kind"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_host_is_discovered_then_unchanged() {
    let s = TestServer::start(Policy::Auto).await;
    let r = physical("web01", "2RJF153");
    let first = s.report_ok(&r).await;
    assert_eq!(first["action"], "created");
    assert_eq!(first["cert_hostname"], "web01");
    let id = first["asset_id"].as_i64().unwrap();
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(asset["status"], "discovered");
    assert_eq!(asset["serial_number"], "2RJF153");
    assert_eq!(asset["components"]["disk"].as_array().unwrap().len(), 3);
    assert_eq!(asset["components"]["memory_module"].as_array().unwrap().len(), 2);
    let changes = s.changes(id).await;
    assert_eq!(changes.len(), 1);
    assert!(changes[0]["summary"].as_str().unwrap().starts_with("asset discovered: web01"));

    let second = s.report_ok(&again(&r)).await;
    assert_eq!(second["action"], "unchanged");
    assert_eq!(second["asset_id"], id);
    assert_eq!(s.changes(id).await.len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_replaced_in_slot() {
    let s = TestServer::start(Policy::Auto).await;
    let r = physical("db01", "SN-DB01");
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let mut r2 = again(&r);
    r2.facts.disks.as_mut().unwrap()[2].serial_number = Some("Z1X2NEW9".into());
    let out = s.report_ok(&r2).await;
    assert_eq!(out["action"], "updated");
    let changes = s.changes(id).await;
    let disk = find(&changes, "disk", "changed");
    assert_eq!(disk.len(), 1, "{changes:#?}");
    assert_eq!(disk[0]["key"], "32:3");
    assert_eq!(disk[0]["field"], "serial_number");
    assert_eq!((disk[0]["old"].as_str(), disk[0]["new"].as_str()), (Some("Z1X2AAA3"), Some("Z1X2NEW9")));
    assert!(disk[0]["summary"].as_str().unwrap().contains("disk in slot 32:3 replaced"));
    // The stored component follows the new disk.
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    let serials: Vec<&str> =
        asset["components"]["disk"].as_array().unwrap().iter().map(|d| d["serial_number"].as_str().unwrap()).collect();
    assert!(serials.contains(&"Z1X2NEW9") && !serials.contains(&"Z1X2AAA3"), "{serials:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dimm_removed_and_nic_address_changed() {
    let s = TestServer::start(Policy::Auto).await;
    let r = physical("app01", "SN-APP01");
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let mut r2 = again(&r);
    r2.facts.memory.as_mut().unwrap().modules.as_mut().unwrap().remove(1);
    r2.facts.memory.as_mut().unwrap().total_bytes = Some(32 << 30);
    r2.facts.nics.as_mut().unwrap()[0].addresses[0].address = "10.1.2.99".into();
    s.report_ok(&r2).await;
    let changes = s.changes(id).await;
    let removed = find(&changes, "memory_module", "removed");
    assert_eq!(removed.len(), 1, "{changes:#?}");
    assert_eq!(removed[0]["key"], "A2");
    assert!(removed[0]["summary"].as_str().unwrap().contains("M-0002"));
    let nic = find(&changes, "nic", "changed");
    assert_eq!(nic.len(), 1);
    assert_eq!(nic[0]["field"], "addresses");
    assert_eq!((nic[0]["old"].as_str(), nic[0]["new"].as_str()), (Some("10.1.2.3/24"), Some("10.1.2.99/24")));
    let total = find(&changes, "memory", "changed");
    assert_eq!(total[0]["field"], "total_bytes");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_plugin_is_not_a_removal() {
    let s = TestServer::start(Policy::Auto).await;
    let r = physical("app02", "SN-APP02");
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let mut r2 = again(&r);
    r2.facts.disks = None;
    r2.errors.push(assetkit_core::model::PluginMessage {
        plugin: "disk".into(),
        message: "MegaCli timed out after 10s".into(),
    });
    let out = s.report_ok(&r2).await;
    assert_eq!(out["action"], "unchanged", "a plugin error alone records no change event");
    assert!(find(&s.changes(id).await, "disk", "removed").is_empty());
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(asset["components"]["disk"].as_array().unwrap().len(), 3);
    assert_eq!(asset["errors"][0]["plugin"], "disk");
    assert_eq!(asset["errors"][0]["message"], "MegaCli timed out after 10s");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_hostname_change_keeps_one_asset() {
    let s = TestServer::start(Policy::Hostname).await;
    let r = vm("web07", "VMware-42 30 bf");
    let first = s.report_ok(&r).await;
    let id = first["asset_id"].as_i64().unwrap();
    assert_eq!(first["cert_hostname"], "web07");
    // Someone renames the host by hand; its cert file still says web07.
    let mut tmp = again(&r);
    tmp.host.hostname = Some("rescue-shell".into());
    tmp.host.cert_hostname = Some("web07".into());
    let out = s.report_ok(&tmp).await;
    assert_eq!(out["asset_id"], id);
    assert_eq!(out["cert_hostname"], "web07", "the host keeps its inventory name");
    let drift = s.changes(id).await.into_iter().filter(|c| c["component"] == "host").collect::<Vec<_>>();
    assert_eq!(drift.len(), 1);
    assert!(drift[0]["summary"].as_str().unwrap().contains("hostname drift: host calls itself rescue-shell"));
    // Renamed back: the same asset, no new drift event.
    let mut back = again(&r);
    back.host.cert_hostname = Some("web07".into());
    assert_eq!(s.report_ok(&back).await["asset_id"], id);
    assert_eq!(s.assets().await.len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rename_is_accepted() {
    let s = TestServer::start(Policy::Hostname).await;
    let r = vm("old-name", "VMware-1");
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let patch = serde_json::json!({"hostname": "new-name"}).to_string();
    let (status, body) = s.send_as(&s.admin, "PATCH", &format!("/api/v1/assets/{id}"), patch.as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    // Before the host itself is renamed it still reports old-name with cert old-name: it is
    // found through its former name and told the new one.
    let mut before = again(&r);
    before.host.cert_hostname = Some("old-name".into());
    let out = s.report_ok(&before).await;
    assert_eq!(out["asset_id"], id);
    assert_eq!(out["cert_hostname"], "new-name");
    // Ops rename the host; its cert still says old-name: the rename is accepted.
    let mut after = again(&r);
    after.host.hostname = Some("new-name".into());
    after.host.cert_hostname = Some("old-name".into());
    let out = s.report_ok(&after).await;
    assert_eq!(out["asset_id"], id);
    assert_eq!(out["cert_hostname"], "new-name");
    let changes = s.changes(id).await;
    assert!(changes.iter().any(|c| c["summary"].as_str().unwrap().starts_with("rename accepted")), "{changes:#?}");
    assert!(changes.iter().any(|c| c["actor"].as_str().is_some_and(|a| a.starts_with("key:"))));
    assert_eq!(s.assets().await.len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vms_sharing_a_serial_stay_two_assets() {
    for policy in [Policy::Hostname, Policy::Auto] {
        let s = TestServer::start(policy).await;
        let a = s.report_ok(&vm("vm-a", "VMware-SAME")).await;
        let b = s.report_ok(&vm("vm-b", "VMware-SAME")).await;
        assert_eq!((a["action"].as_str(), b["action"].as_str()), (Some("created"), Some("created")), "{policy:?}");
        assert_ne!(a["asset_id"], b["asset_id"]);
        assert_eq!(s.assets().await.len(), 2);
        s.stop().await;
    }
    // Under sn, a physical serial is the identity even across hostnames: a reinstalled host
    // under a new name is the same asset, once an admin lets it enrol again.
    let s = TestServer::start(Policy::Sn).await;
    let a = s.report_ok(&physical("node-a", "PHYS-1")).await;
    let reinstalled = physical("node-a-reinstalled", "PHYS-1");
    assert_eq!(s.report(&reinstalled).await.0, 403, "an enrolled asset is not the fleet key's to rewrite");
    let id = a["asset_id"].as_i64().unwrap();
    assert_eq!(s.send_as(&s.admin, "POST", &format!("/api/v1/assets/{id}/reenrol"), b"").await.0, 200);
    let b = s.report_ok(&again(&reinstalled)).await;
    assert_eq!(a["asset_id"], b["asset_id"]);
    assert_eq!(b["cert_hostname"], "node-a");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placeholder_serials_never_merge_hosts() {
    let s = TestServer::start(Policy::Sn).await;
    for (host, sn) in [
        ("h1", "To Be Filled By O.E.M."),
        ("h2", "To Be Filled By O.E.M."),
        ("h3", "0000000"),
        ("h4", "Default string"),
    ] {
        let out = s.report_ok(&physical(host, sn)).await;
        assert_eq!(out["action"], "created", "{host} with {sn:?}");
    }
    assert_eq!(s.assets().await.len(), 4);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_of_an_applied_report_is_answered_the_same() {
    let s = TestServer::start(Policy::Auto).await;
    let r = physical("web02", "SN-WEB02");
    let first = s.report_ok(&r).await;
    let before = s.dump();
    // The agent re-signs (new nonce) and resends the same report after a lost response.
    let retry = s.report_ok(&r).await;
    assert_eq!(retry["asset_id"], first["asset_id"]);
    assert_eq!(retry["action"], first["action"]);
    assert_eq!(retry["cert_hostname"], first["cert_hostname"]);
    assert_eq!(retry["duplicate"], true);
    // Only the retry's nonce was recorded.
    let strip_nonces = |d: &str| d.split("== ").filter(|t| !t.starts_with("nonces")).collect::<Vec<_>>().join("== ");
    assert_eq!(strip_nonces(&before), strip_nonces(&s.dump()));
    s.stop().await;
}

fn psu(location: &str, serial: &str) -> assetkit_core::model::PowerSupply {
    assetkit_core::model::PowerSupply {
        location: Some(location.into()),
        name: Some("PWS-2K04A-1R".into()),
        manufacturer: Some("SUPERMICRO".into()),
        serial_number: Some(serial.into()),
        part_number: Some("PWS-2K04A-1R".into()),
        revision: Some("1.1".into()),
        max_power_w: Some(2000),
        present: Some(true),
        status: Some("OK".into()),
        hot_replaceable: Some(true),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psu_replaced_in_its_bay_then_pulled_and_put_back() {
    let s = TestServer::start(Policy::Auto).await;
    s.db.with(|db| assetkitd::domain::users::create_user(db, "alice", "correct horse battery", "test", 0).unwrap());
    let mut r = physical("psu01", "SN-PSU01");
    r.facts.power_supplies = Some(vec![psu("PSU 1", "P2K4ACG46ST2836"), psu("PSU 2", "P2K4ACG46ST2835")]);
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    let keys: Vec<&str> =
        asset["components"]["psu"].as_array().unwrap().iter().map(|p| p["_key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["PSU 1", "PSU 2"]);

    // PSU 2 swapped for a new unit: one replacement in its bay, nothing else.
    let mut swapped = again(&r);
    swapped.facts.power_supplies.as_mut().unwrap()[1].serial_number = Some("P2K4ACG52ST0414".into());
    assert_eq!(s.report_ok(&swapped).await["action"], "updated");
    let changes = s.changes(id).await;
    let psu_changes = changes.iter().filter(|c| c["component"] == "psu").collect::<Vec<_>>();
    assert_eq!(psu_changes.len(), 1, "{changes:#?}");
    let e = psu_changes[0];
    assert_eq!(
        (e["kind"].as_str(), e["key"].as_str(), e["field"].as_str()),
        (Some("changed"), Some("PSU 2"), Some("serial_number"))
    );
    assert_eq!((e["old"].as_str(), e["new"].as_str()), (Some("P2K4ACG46ST2835"), Some("P2K4ACG52ST0414")));
    assert_eq!(e["summary"], "PSU 2 replaced: serial_number P2K4ACG46ST2835 → P2K4ACG52ST0414");

    // PSU 1 pulled, then put back.
    let mut pulled = again(&swapped);
    pulled.facts.power_supplies.as_mut().unwrap().remove(0);
    s.report_ok(&pulled).await;
    let removed = find(&s.changes(id).await, "psu", "removed").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["key"], "PSU 1");
    assert_eq!(removed[0]["summary"], "PSU 1 removed (SUPERMICRO, PWS-2K04A-1R, 2000 W, serial P2K4ACG46ST2836)");
    s.report_ok(&again(&swapped)).await;
    let added = find(&s.changes(id).await, "psu", "added").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(added.len(), 1);
    assert!(added[0]["summary"].as_str().unwrap().starts_with("PSU 1 added (SUPERMICRO"), "{}", added[0]);

    // A report whose board plugin failed says nothing about power supplies.
    let mut failed = again(&swapped);
    failed.facts.power_supplies = None;
    s.report_ok(&failed).await;
    assert!(find(&s.changes(id).await, "psu", "removed").len() == 1, "no new removal");

    // The console's asset page lists them.
    let console = crate::support::Console::login(&s.base, "alice", "correct horse battery").await;
    let page = console.page(&format!("/assets/{id}")).await;
    assert!(page.contains("Power supplies (2)") && page.contains("P2K4ACG52ST0414"), "{page}");

    // More units than the schema allows are refused, naming the list.
    let mut crowded = again(&swapped);
    crowded.facts.power_supplies = Some((0..257).map(|i| psu(&format!("PSU {i}"), &format!("S{i}"))).collect());
    let (status, body) = s.report(&crowded).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("too_many_components")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("facts.power_supplies"), "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_slot_names_repeated_across_banks_are_told_apart_by_bank() {
    let s = TestServer::start(Policy::Auto).await;
    let mut r = physical("x86-oracle", "SN-ORACLE");
    let template = r.facts.memory.as_ref().unwrap().modules.as_ref().unwrap()[0].clone();
    let module = |bank: &str, slot: &str, sn: &str| assetkit_core::model::MemoryModule {
        slot: Some(slot.into()),
        bank: Some(bank.into()),
        serial_number: Some(sn.into()),
        ..template.clone()
    };
    r.facts.memory.as_mut().unwrap().modules = Some(vec![
        module("/SYS/MB/P0", "D0", "A0"),
        module("/SYS/MB/P0", "D11", "A11"),
        module("/SYS/MB/P1", "D0", "B0"),
        module("/SYS/MB/P1", "D11", "B11"),
    ]);
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    let mut keys: Vec<&str> =
        asset["components"]["memory_module"].as_array().unwrap().iter().map(|m| m["_key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["P0/D0", "P0/D11", "P1/D0", "P1/D11"]);

    // P1's D11 pulled: the event says which D11.
    let mut pulled = again(&r);
    pulled.facts.memory.as_mut().unwrap().modules.as_mut().unwrap().remove(3);
    s.report_ok(&pulled).await;
    let changes = s.changes(id).await;
    let removed = find(&changes, "memory_module", "removed");
    assert_eq!(removed.len(), 1, "{changes:#?}");
    assert_eq!(removed[0]["key"], "P1/D11");
    assert!(removed[0]["summary"].as_str().unwrap().starts_with("memory module P1/D11 removed"), "{}", removed[0]);
    // P0's D11 is now the only D11 and is keyed by its slot alone: the same module, re-keyed
    // without an event.
    assert_eq!(find(&changes, "memory_module", "added").len(), 0, "{changes:#?}");
    assert_eq!(find(&changes, "memory_module", "changed").len(), 0, "{changes:#?}");
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    let mut keys: Vec<&str> =
        asset["components"]["memory_module"].as_array().unwrap().iter().map(|m| m["_key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["D11", "P0/D0", "P1/D0"]);
    s.stop().await;
}
