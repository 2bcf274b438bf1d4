//! Guests linked to their hypervisors: a VM's asset is the one whose system UUID is the guest's,
//! in either order of first reports, following live migration as one event, listed on its
//! hypervisor before it ever reports, and matched without regard to case. Two hypervisors both
//! running one UUID: the later report wins and a security event says so.

use assetkit_core::model::{Guest, Report};
use assetkitd::domain::apply::Policy;
use serde_json::Value as Json;

use crate::support::{TestServer, again, physical, vm};

fn guest(name: &str, uuid: &str, state: &str) -> Guest {
    Guest {
        name: name.into(),
        uuid: Some(uuid.into()),
        kind: "vm".into(),
        source: "libvirt".into(),
        id: None,
        vcpus: Some(4),
        memory_bytes: Some(8 << 30),
        state: Some(state.into()),
    }
}

fn hypervisor(name: &str, serial: &str, guests: Vec<Guest>) -> Report {
    let mut r = physical(name, serial);
    r.facts.guests = Some(guests);
    r
}

fn with_guests(r: &Report, guests: Vec<Guest>) -> Report {
    let mut r = again(r);
    r.facts.guests = Some(guests);
    r
}

/// A VM whose system UUID is `uuid`, as its own agent reports it.
fn vm_with_uuid(name: &str, uuid: &str) -> Report {
    let mut r = vm(name, &format!("VMware-{name}"));
    r.facts.system.as_mut().unwrap().uuid = Some(uuid.into());
    r
}

async fn detail(s: &TestServer, id: i64) -> Json {
    s.admin_get(&format!("/api/v1/assets/{id}")).await
}

async fn id_of(s: &TestServer, r: &Report) -> i64 {
    s.report_ok(r).await["asset_id"].as_i64().unwrap()
}

fn summaries(changes: &[Json]) -> Vec<String> {
    changes.iter().map(|c| c["summary"].as_str().unwrap_or_default().to_owned()).collect()
}

const WEB01: &str = "5a1f0c7e-3b1d-4c5e-9f00-0000000000a1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_is_linked_whichever_reports_first() {
    let s = TestServer::start(Policy::Auto).await;
    // Hypervisor first: the guest is listed by name and UUID, not yet an asset.
    let hv = id_of(&s, &hypervisor("hv-a", "SN-HVA", vec![guest("web01", WEB01, "running")])).await;
    let listed = s.admin_get(&format!("/api/v1/assets/{hv}/guests")).await;
    assert_eq!(listed["guests"][0]["name"], "web01");
    assert_eq!(listed["guests"][0]["uuid"], WEB01);
    assert!(listed["guests"][0]["asset_id"].is_null(), "{listed}");
    assert!(summaries(&s.changes(hv).await).iter().any(|c| c == "VM web01 defined on hv-a"));
    // The guest reports: linked at once.
    let web = id_of(&s, &vm_with_uuid("web01", WEB01)).await;
    assert_eq!(detail(&s, web).await["hypervisor"]["id"], hv);
    assert_eq!(s.admin_get(&format!("/api/v1/assets/{hv}/guests")).await["guests"][0]["asset_id"], web);
    let listed = s.admin_get(&format!("/api/v1/assets?hypervisor_id={hv}")).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["assets"][0]["id"], web);

    // Guest first: its hypervisor's first report links it.
    let db07 = "5a1f0c7e-3b1d-4c5e-9f00-0000000000d7";
    let guest_first = id_of(&s, &vm_with_uuid("db07", db07)).await;
    assert!(detail(&s, guest_first).await["hypervisor"].is_null());
    let hv_c = id_of(&s, &hypervisor("hv-c", "SN-HVC", vec![guest("db07", db07, "running")])).await;
    assert_eq!(detail(&s, guest_first).await["hypervisor"]["id"], hv_c);
    assert!(summaries(&s.changes(guest_first).await).iter().any(|c| c == "VM db07 runs on hv-c"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_migration_is_one_event_and_undefining_unlinks() {
    let s = TestServer::start(Policy::Auto).await;
    let a = hypervisor("hv-a", "SN-MIG-A", vec![guest("web01", WEB01, "running")]);
    let b = hypervisor("hv-b", "SN-MIG-B", vec![]);
    let (hv_a, hv_b) = (id_of(&s, &a).await, id_of(&s, &b).await);
    let web = id_of(&s, &vm_with_uuid("web01", WEB01)).await;
    assert_eq!(detail(&s, web).await["hypervisor"]["id"], hv_a);
    let before = s.changes(web).await.len();
    // Migrated: hv-b runs it, hv-a no longer defines it (virsh migrate --undefinesource).
    s.report_ok(&with_guests(&b, vec![guest("web01", WEB01, "running")])).await;
    s.report_ok(&with_guests(&a, vec![])).await;
    assert_eq!(detail(&s, web).await["hypervisor"]["id"], hv_b);
    let changes = s.changes(web).await;
    let new: Vec<String> = summaries(&changes[..changes.len() - before]);
    assert_eq!(new, ["VM web01 moved from hv-a to hv-b"], "{changes:?}");
    assert!(summaries(&s.changes(hv_a).await).iter().any(|c| c == "VM web01 undefined on hv-a"));
    // Undefined everywhere: no longer linked.
    s.report_ok(&with_guests(&b, vec![])).await;
    assert!(detail(&s, web).await["hypervisor"].is_null());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hypervisors_running_one_uuid_the_later_wins_with_a_security_event() {
    let s = TestServer::start(Policy::Auto).await;
    let a = hypervisor("hv-a", "SN-TWO-A", vec![guest("web01", WEB01, "running")]);
    let hv_a = id_of(&s, &a).await;
    let web = id_of(&s, &vm_with_uuid("web01", WEB01)).await;
    assert_eq!(detail(&s, web).await["hypervisor"]["id"], hv_a);
    // A second hypervisor says it runs the same UUID: as a live migration's target would, so
    // the link moves with no alarm yet (hv-a's claim is older than hv-b's start).
    let b = hypervisor("hv-b", "SN-TWO-B", vec![guest("web01-clone", WEB01, "running")]);
    let hv_b = id_of(&s, &b).await;
    assert_eq!(detail(&s, web).await["hypervisor"]["id"], hv_b);
    assert!(s.changes(web).await.iter().all(|c| c["kind"] != "security"));
    // hv-a reports it running again, after hv-b began: two live claims. The later report wins,
    // and a security event says so; once.
    s.report_ok(&with_guests(&a, vec![guest("web01", WEB01, "running")])).await;
    assert_eq!(detail(&s, web).await["hypervisor"]["id"], hv_a);
    let changes = s.changes(web).await;
    let security: Vec<&Json> = changes.iter().filter(|c| c["kind"] == "security").collect();
    assert_eq!(security.len(), 1, "{changes:?}");
    let summary = security[0]["summary"].as_str().unwrap();
    assert!(summary.contains("hv-a") && summary.contains("hv-b") && summary.contains("later report wins"), "{summary}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uuids_match_without_regard_to_case_and_are_stored_lower_case() {
    let s = TestServer::start(Policy::Auto).await;
    let upper = WEB01.to_uppercase();
    // The VM reports its UUID in upper case (an old dmidecode), the hypervisor in lower case.
    let web = id_of(&s, &vm_with_uuid("web01", &upper)).await;
    assert_eq!(detail(&s, web).await["uuid"], WEB01);
    let hv = id_of(&s, &hypervisor("hv-a", "SN-CASE", vec![guest("web01", WEB01, "running")])).await;
    assert_eq!(detail(&s, web).await["hypervisor"]["id"], hv);
    // And the other way round.
    let other = "5a1f0c7e-3b1d-4c5e-9f00-0000000000b2";
    let hv2 = id_of(&s, &hypervisor("hv-b", "SN-CASE-B", vec![guest("web02", &other.to_uppercase(), "running")])).await;
    let web2 = id_of(&s, &vm_with_uuid("web02", other)).await;
    assert_eq!(detail(&s, web2).await["hypervisor"]["id"], hv2);
    s.stop().await;
}
