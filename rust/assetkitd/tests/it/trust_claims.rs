//! Who may claim what, seen from an attacker holding only the fleet key (or one nameless host's
//! credential): one live asset per name without regard to case; hand-entered hosts wait for an
//! admin; purchase-list assets need their serial; the pending list is not the fleet key's; and
//! a refusal repeated a thousand times is one row of the timeline.

use assetkitd::domain::apply::Policy;

use crate::support::{TestServer, again, physical, vm};

fn count(s: &TestServer, sql: &str) -> i64 {
    s.db.scalar(sql, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_in_another_case_is_the_same_name() {
    let s = TestServer::start(Policy::Auto).await;
    let web01 = s.report_ok(&physical("web01", "SN-WEB01")).await["asset_id"].as_i64().unwrap();
    // The fleet key names it in capitals, from another machine: the enrolled web01, refused.
    let (status, body) = s.report_as(&s.agent, &physical("WEB01", "SN-ELSEWHERE")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("host_enrolled")), "{body}");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM assets"), 1);

    // A nameless host (a serial only) enrols, then its credential reports the name "Web01".
    let mut nameless = vm("", "SN-NAMELESS");
    nameless.host.hostname = None;
    nameless.facts.os.as_mut().unwrap().hostname = None;
    let answer = s.report_ok(&nameless).await;
    let id = answer["asset_id"].as_i64().unwrap();
    let credential = (
        answer["host_key_id"].as_str().unwrap().to_owned(),
        assetkit_sign::Secret::new(answer["host_secret"].as_str().unwrap()),
    );
    let mut claims_name = again(&nameless);
    claims_name.host.hostname = Some("Web01".into());
    let (status, body) = s.report_as(&credential, &claims_name).await;
    assert_eq!(status, 200, "{body}");
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(asset["hostname"], serde_json::Value::Null, "a second live asset took web01's name: {asset}");
    let events = s.changes(id).await;
    assert!(
        events.iter().any(|c| c["kind"] == "security" && c["summary"].as_str().unwrap().contains("Web01")),
        "{events:#?}"
    );
    assert_eq!(count(&s, "SELECT COUNT(*) FROM assets WHERE lower(hostname) = 'web01'"), 1);

    // An admin's rename is held to the same rule.
    let (status, body) =
        s.send_as(&s.admin, "PATCH", &format!("/api/v1/assets/{id}"), br#"{"hostname": "WEB01"}"#).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("hostname_taken")), "{body}");
    let (status, body) = s.send_as(&s.admin, "POST", "/api/v1/assets", br#"{"hostname": "wEb01"}"#).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("hostname_taken")), "{body}");
    // A case-only difference is no drift either.
    let mut upper = again(&physical("web01", "SN-WEB01"));
    upper.host.hostname = Some("WEB01".into());
    assert_eq!(s.report_as(&s.credential("web01"), &upper).await.0, 200);
    assert!(!s.changes(web01).await.iter().any(|c| c["summary"].as_str().unwrap().contains("drift")));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_entered_by_hand_waits_for_an_admin_to_approve_its_claim() {
    let s = TestServer::start(Policy::Auto).await;
    let (status, created) = s.send_as(&s.admin, "POST", "/api/v1/assets", br#"{"hostname": "web99"}"#).await;
    assert_eq!(status, 201, "{created}");
    let id = created["asset_id"].as_i64().unwrap();
    let before = s.db.scalar::<String>("SELECT COALESCE(serial_number, '') || enrolment FROM assets", &[]);

    // Any machine holding the fleet key names it: refused, three times, nothing bound.
    for _ in 0..3 {
        let (status, body) = s.report_as(&s.agent, &physical("web99", "SN-ATTACKER")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("approval_required")), "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("hosts approve"), "{body}");
    }
    assert_eq!(s.db.scalar::<String>("SELECT COALESCE(serial_number, '') || enrolment FROM assets", &[]), before);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM api_keys WHERE scope = 'host'"), 0);
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(asset["claim"], "approval", "{asset}");
    assert_eq!(asset["claim_request"]["serial_number"], "SN-ATTACKER", "{asset}");
    assert_eq!(asset["claim_request"]["count"], 3, "{asset}");
    // The refusals are one security row, counted.
    let security: Vec<_> = s.changes(id).await.into_iter().filter(|c| c["kind"] == "security").collect();
    assert_eq!(security.len(), 1, "{security:#?}");
    assert_eq!(security[0]["repeats"], 3, "{security:#?}");

    // The admin approves: the next fleet-key report binds it and enrols the host.
    let (status, body) = s.send_as(&s.admin, "POST", &format!("/api/v1/assets/{id}/approve"), b"").await;
    assert_eq!(status, 200, "{body}");
    let answer = s.report_ok(&physical("web99", "SN-WEB99")).await;
    assert_eq!(answer["asset_id"], id);
    assert!(answer["host_key_id"].as_str().is_some(), "{answer}");
    // Approving what waits for nothing changes nothing.
    let (status, body) = s.send_as(&s.admin, "POST", &format!("/api/v1/assets/{id}/approve"), b"").await;
    assert_eq!((status, body["claim"].as_str()), (200, Some("none")), "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_list_asset_is_claimed_only_with_its_serial() {
    let s = TestServer::start(Policy::Auto).await;
    let list = s.db.dir.path().join("buy.csv");
    std::fs::write(&list, "sn,vendor,idc,rack\nSN-BOUGHT-1,Dell Inc.,bj-01,R01\n").unwrap();
    let (ok, out, err) = crate::support::cli(&s.db, &["import", list.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let id: i64 = s.db.scalar("SELECT id FROM assets WHERE serial_number = 'SN-BOUGHT-1'", &[]);
    // An admin names it while it is still in stock.
    let (status, body) =
        s.send_as(&s.admin, "PATCH", &format!("/api/v1/assets/{id}"), br#"{"hostname": "rack01-u10"}"#).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.report_as(&s.agent, &physical("rack01-u10", "SN-SOMETHING-ELSE")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("serial_mismatch")), "{body}");
    assert_eq!(s.admin_get(&format!("/api/v1/assets/{id}")).await["status"], "in_stock");
    // The machine that was bought claims it.
    let answer = s.report_ok(&physical("rack01-u10", "SN-BOUGHT-1")).await;
    assert_eq!(answer["asset_id"], id);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_key_does_not_list_the_hosts_entered_by_hand() {
    let s = TestServer::start(Policy::Auto).await;
    assert_eq!(s.send_as(&s.admin, "POST", "/api/v1/assets", br#"{"hostname": "web77"}"#).await.0, 201);
    let (status, body) = s.send_as(&s.agent, "GET", "/api/v1/hosts/pending", b"").await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
    let read = s.db.create_key("sweeps", "read");
    let (status, body) = s.send_as(&read, "GET", "/api/v1/hosts/pending", b"").await;
    assert_eq!((status, &body["hosts"]), (200, &serde_json::json!(["web77"])), "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_hundred_refusals_are_one_row_and_leave_the_timeline_readable() {
    let s = TestServer::start(Policy::Auto).await;
    let host = physical("db01", "SN-DB01");
    let id = s.report_ok(&host).await["asset_id"].as_i64().unwrap();
    for _ in 0..600 {
        assert_eq!(s.report_as(&s.agent, &again(&host)).await.0, 403);
    }
    // A real event after them: a disk replaced.
    let mut replaced = again(&host);
    replaced.facts.disks.as_mut().unwrap()[0].serial_number = Some("NEW-DISK".into());
    s.report_ok(&replaced).await;
    let page = s.admin_get(&format!("/api/v1/assets/{id}/changes?limit=10")).await;
    let changes = page["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["summary"].as_str().unwrap().contains("NEW-DISK")), "{changes:#?}");
    let security: Vec<_> = changes.iter().filter(|c| c["kind"] == "security").collect();
    assert_eq!(security.len(), 1, "{security:#?}");
    assert_eq!(security[0]["repeats"], 600);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM changes WHERE kind = 'security'"), 1);
    s.stop().await;
}
