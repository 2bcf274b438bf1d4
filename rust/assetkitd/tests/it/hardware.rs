//! The BMC, LLDP neighbours, Fibre Channel HBA ports and GPUs as components: stable keys and
//! the change events an operator reads ("BMC address 10.0.0.5 → 10.0.0.6", "eth2 moved to
//! sw-b12 port Ethernet17", "GPU 0000:3b:00.0 replaced").

use assetkit_core::model::{Bmc, FcHba, Gpu, LldpNeighbor};
use assetkitd::domain::apply::Policy;

use crate::support::{TestServer, again, physical};

fn find<'a>(changes: &'a [serde_json::Value], component: &str, kind: &str) -> Vec<&'a serde_json::Value> {
    changes.iter().filter(|c| c["component"] == component && c["kind"] == kind).collect()
}

fn bmc(ip: &str, firmware: &str) -> Bmc {
    Bmc {
        ip_address: Some(ip.into()),
        ip_source: Some("static".into()),
        netmask: Some("255.255.255.0".into()),
        gateway: Some("10.0.0.1".into()),
        mac: Some("18:fb:7b:9b:57:27".into()),
        vlan_id: None,
        firmware: Some(firmware.into()),
        manufacturer: Some("DELL Inc".into()),
        board_serial: Some("CNIVC0005G0184".into()),
        product_serial: Some("2RJF153".into()),
        frus: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bmc_address_and_firmware_changes_are_events() {
    let s = TestServer::start(Policy::Auto).await;
    let mut r = physical("bmc01", "SN-BMC01");
    r.facts.bmc = Some(bmc("10.0.0.5", "7.00"));
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(asset["components"]["bmc"][0]["ip_address"], "10.0.0.5", "{asset}");

    let mut moved = again(&r);
    moved.facts.bmc = Some(bmc("10.0.0.6", "7.10"));
    assert_eq!(s.report_ok(&moved).await["action"], "updated");
    let changes = s.changes(id).await;
    let summaries: Vec<&str> =
        find(&changes, "bmc", "changed").iter().map(|c| c["summary"].as_str().unwrap()).collect();
    assert_eq!(summaries.len(), 2, "{changes:#?}");
    assert!(summaries.contains(&"BMC address 10.0.0.5 → 10.0.0.6"), "{summaries:?}");
    assert!(summaries.contains(&"BMC firmware 7.00 → 7.10"), "{summaries:?}");

    // A report whose bmc plugin failed or did not run says nothing about the BMC.
    let mut failed = again(&moved);
    failed.facts.bmc = None;
    s.report_ok(&failed).await;
    assert!(find(&s.changes(id).await, "bmc", "removed").is_empty());

    // The console's asset page shows it.
    s.db.with(|db| assetkitd::domain::users::create_user(db, "alice", "correct horse battery", "test", 0).unwrap());
    let console = crate::support::Console::login(&s.base, "alice", "correct horse battery").await;
    let page = console.page(&format!("/assets/{id}")).await;
    assert!(page.contains("BMC (1)") && page.contains("10.0.0.6") && page.contains("7.10"), "{page}");
    s.stop().await;
}

fn neighbor(switch: &str, port: &str) -> LldpNeighbor {
    LldpNeighbor {
        chassis_name: Some(switch.into()),
        chassis_id: Some("38:20:56:67:90:80".into()),
        port_id: Some(port.into()),
        port_description: None,
        vlan_id: Some(140),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nic_moved_to_another_switch_port() {
    let s = TestServer::start(Policy::Auto).await;
    let mut r = physical("lldp01", "SN-LLDP01");
    r.facts.nics.as_mut().unwrap()[0].name = "eth2".into();
    r.facts.nics.as_mut().unwrap()[0].lldp = Some(neighbor("sw-a03", "Ethernet4"));
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();

    let mut moved = again(&r);
    moved.facts.nics.as_mut().unwrap()[0].lldp = Some(neighbor("sw-b12", "Ethernet17"));
    s.report_ok(&moved).await;
    let changes = s.changes(id).await;
    let nic = find(&changes, "nic", "changed");
    assert_eq!(nic.len(), 1, "{changes:#?}");
    assert_eq!(nic[0]["field"], "lldp");
    assert_eq!(nic[0]["summary"], "eth2 moved to sw-b12 port Ethernet17 (VLAN 140)");
    assert_eq!(nic[0]["old"], "sw-a03 port Ethernet4 (VLAN 140)");

    // The console shows the switch port.
    s.db.with(|db| assetkitd::domain::users::create_user(db, "alice", "correct horse battery", "test", 0).unwrap());
    let console = crate::support::Console::login(&s.base, "alice", "correct horse battery").await;
    let page = console.page(&format!("/assets/{id}")).await;
    assert!(page.contains("Switch port (LLDP)") && page.contains("sw-b12 port Ethernet17"), "{page}");
    s.stop().await;
}

fn hba(host: &str, wwn: &str, state: &str) -> FcHba {
    FcHba {
        host: host.into(),
        port_wwn: Some(wwn.into()),
        node_wwn: Some(wwn.replacen("0x21", "0x20", 1)),
        port_state: Some(state.into()),
        speed: Some("16 Gbit".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fc_hba_ports_are_keyed_by_port_wwn() {
    let s = TestServer::start(Policy::Auto).await;
    let mut r = physical("san01", "SN-SAN01");
    r.facts.fc_hbas =
        Some(vec![hba("host3", "0x21000024ff3dd1b0", "Online"), hba("host4", "0x21000024ff3dd1b1", "Online")]);
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    let mut keys: Vec<&str> =
        asset["components"]["fc_hba"].as_array().unwrap().iter().map(|h| h["_key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["0x21000024ff3dd1b0", "0x21000024ff3dd1b1"]);

    // host4's link goes down, then its card is swapped: a state change, then a replacement in
    // host4 (a new WWN at the same place).
    let mut down = again(&r);
    down.facts.fc_hbas.as_mut().unwrap()[1].port_state = Some("Linkdown".into());
    s.report_ok(&down).await;
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(asset["components"]["fc_hba"][1]["port_state"], "Linkdown", "{asset}");
    let changes = s.changes(id).await;
    let changed = find(&changes, "fc_hba", "changed");
    assert_eq!(changed.len(), 1, "{changes:#?}");
    assert_eq!(changed[0]["summary"], "FC HBA host4: port_state Online → Linkdown");

    let mut swapped = again(&r);
    swapped.facts.fc_hbas.as_mut().unwrap()[1] = hba("host4", "0x21000024ff9a0001", "Online");
    s.report_ok(&swapped).await;
    let changes = s.changes(id).await;
    let replaced =
        find(&changes, "fc_hba", "changed").into_iter().filter(|c| c["field"] == "port_wwn").collect::<Vec<_>>();
    assert_eq!(replaced.len(), 1, "{changes:#?}");
    assert_eq!(replaced[0]["summary"], "FC HBA host4 replaced: port_wwn 0x21000024ff3dd1b1 → 0x21000024ff9a0001");
    s.stop().await;
}

fn gpu(addr: &str, serial: Option<&str>) -> Gpu {
    Gpu {
        pci_address: addr.into(),
        class: Some("0x030200".into()),
        vendor_id: Some("0x10de".into()),
        device_id: Some("0x1eb8".into()),
        vendor: Some("NVIDIA Corporation".into()),
        model: Some("TU104GL [Tesla T4]".into()),
        driver: Some("nvidia".into()),
        serial_number: serial.map(str::to_owned),
        uuid: serial.map(|s| format!("GPU-{s}")),
        firmware: Some("90.04.96.00.02".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpus_added_removed_and_replaced() {
    let s = TestServer::start(Policy::Auto).await;
    let mut r = physical("gpu01", "SN-GPU01");
    r.facts.gpus = Some(vec![gpu("0000:3b:00.0", Some("1562720012345")), gpu("0000:5e:00.0", None)]);
    let id = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    let mut keys: Vec<&str> =
        asset["components"]["gpu"].as_array().unwrap().iter().map(|g| g["_key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["pci:0000:5e:00.0", "sn:1562720012345"]);

    // The card at 3b:00.0 replaced by another serial: one replacement there.
    let mut swapped = again(&r);
    swapped.facts.gpus.as_mut().unwrap()[0] = gpu("0000:3b:00.0", Some("1562720099999"));
    s.report_ok(&swapped).await;
    let changes = s.changes(id).await;
    let serial =
        find(&changes, "gpu", "changed").into_iter().filter(|c| c["field"] == "serial_number").collect::<Vec<_>>();
    assert_eq!(serial.len(), 1, "{changes:#?}");
    assert_eq!(serial[0]["summary"], "GPU 0000:3b:00.0 replaced: serial_number 1562720012345 → 1562720099999");
    assert!(find(&changes, "gpu", "added").is_empty() && find(&changes, "gpu", "removed").is_empty(), "{changes:#?}");

    // The second card pulled, then put back.
    let mut pulled = again(&swapped);
    pulled.facts.gpus.as_mut().unwrap().remove(1);
    s.report_ok(&pulled).await;
    let removed = find(&s.changes(id).await, "gpu", "removed").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["summary"], "GPU 0000:5e:00.0 removed (TU104GL [Tesla T4], 0000:5e:00.0)");
    s.report_ok(&again(&swapped)).await;
    let added = find(&s.changes(id).await, "gpu", "added").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(added.len(), 1);
    assert!(added[0]["summary"].as_str().unwrap().starts_with("GPU 0000:5e:00.0 added"), "{}", added[0]);

    // nvidia-smi gone: the card at 3b:00.0 loses its serial and is keyed by address; the same
    // card, not a replacement.
    let mut no_smi = again(&swapped);
    no_smi.facts.gpus.as_mut().unwrap()[0] = gpu("0000:3b:00.0", None);
    s.report_ok(&no_smi).await;
    let changes = s.changes(id).await;
    let last: Vec<&str> = find(&changes, "gpu", "changed")
        .iter()
        .filter(|c| c["field"] == "serial_number")
        .map(|c| c["summary"].as_str().unwrap())
        .collect();
    assert!(last.contains(&"GPU 0000:3b:00.0: serial_number 1562720099999 → (none)"), "{last:?}");

    // More GPUs than the schema allows are refused, naming the list.
    let mut crowded = again(&swapped);
    crowded.facts.gpus = Some((0..257).map(|i| gpu(&format!("0000:{:02x}:00.0", i % 256), None)).collect());
    let (status, body) = s.report(&crowded).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("gpus"), "{body}");
    s.stop().await;
}
