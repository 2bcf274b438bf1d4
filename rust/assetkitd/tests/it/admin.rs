//! Manual entry, assignment, the pending host list, listing and the change feed.

use assetkitd::domain::apply::Policy;

use crate::support::{TestServer, physical};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_entry_pending_and_assignment() {
    let s = TestServer::start(Policy::Auto).await;
    // Entered open to the fleet key's first report (an admin's approval given in advance; see
    // trust_claims.rs for hosts that wait for one).
    for host in ["sweep-a", "sweep-b"] {
        let body = serde_json::json!({"hostname": host, "business_unit": "payments", "idc": "dc1", "rack": "R12",
                                      "position": "U7", "open_enrolment": true});
        let (status, out) = s.send_as(&s.admin, "POST", "/api/v1/assets", body.to_string().as_bytes()).await;
        assert_eq!(status, 201, "{out}");
    }
    let (status, dup) = s.send_as(&s.admin, "POST", "/api/v1/assets", br#"{"hostname": "sweep-a"}"#).await;
    assert_eq!(
        (status, dup["error"]["code"].as_str(), dup["error"]["field"].as_str()),
        (409, Some("hostname_taken"), Some("hostname")),
        "{dup}"
    );
    // A read key sees both as pending; once sweep-a reports, only sweep-b.
    let read = s.db.create_key("sweeps", "read");
    let (status, pending) = s.send_as(&read, "GET", "/api/v1/hosts/pending", b"").await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["hosts"], serde_json::json!(["sweep-a", "sweep-b"]));
    let out = s.report_ok(&physical("sweep-a", "SWEEP-A")).await;
    assert_eq!(out["action"], "updated");
    let (_, pending) = s.send_as(&read, "GET", "/api/v1/hosts/pending", b"").await;
    assert_eq!(pending["hosts"], serde_json::json!(["sweep-b"]));

    // A discovered asset becomes online once it has a business unit, an IDC and a rack.
    let id = s.report_ok(&physical("found-1", "FOUND-1")).await["asset_id"].as_i64().unwrap();
    let patch = br#"{"business_unit": "payments", "idc": "dc2", "rack": "R1", "position": "U40"}"#;
    let (status, out) = s.send_as(&s.admin, "PATCH", &format!("/api/v1/assets/{id}"), patch).await;
    assert_eq!(status, 200, "{out}");
    let asset = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(
        (asset["status"].as_str(), asset["idc"].as_str(), asset["rack"].as_str()),
        (Some("online"), Some("dc2"), Some("R1"))
    );
    let (status, bad) =
        s.send_as(&s.admin, "PATCH", &format!("/api/v1/assets/{id}"), br#"{"status": "offline"}"#).await;
    assert_eq!(status, 422, "{bad}");

    // Filters and search.
    let by_idc = s.admin_get("/api/v1/assets?idc=dc1").await;
    assert_eq!(by_idc["total"], 2);
    let by_ip = s.admin_get("/api/v1/assets?q=10.1.2.3").await;
    assert_eq!(by_ip["total"], 2);
    let by_sn = s.admin_get("/api/v1/assets?q=found-1&status=online").await;
    assert_eq!(by_sn["total"], 1);
    let paged = s.admin_get("/api/v1/assets?per_page=1&page=2&sort=-hostname").await;
    assert_eq!(paged["assets"].as_array().unwrap().len(), 1);
    assert_eq!(paged["assets"][0]["hostname"], "sweep-a", "sweep-b, sweep-a, found-1: page 2 of 1");

    // The change feed, followed by id.
    let feed = s.admin_get("/api/v1/changes?since=2020-01-01T00:00:00Z").await;
    let all = feed["changes"].as_array().unwrap().len();
    assert!(all >= 6, "{feed}");
    let next = feed["next_after_id"].as_i64().unwrap();
    let rest = s.admin_get(&format!("/api/v1/changes?after_id={next}")).await;
    assert!(rest["changes"].as_array().unwrap().is_empty());
    assert!(
        feed["changes"].as_array().unwrap().iter().any(|c| c["actor"].as_str().is_some_and(|a| a.starts_with("key:")))
    );
    s.stop().await;
}
