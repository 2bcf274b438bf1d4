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
