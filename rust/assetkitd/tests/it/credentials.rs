//! Host-bound credentials: the fleet key enrols, each host writes its asset with its own
//! credential, admins re-enrol and revoke; names are validated; secrets are sealed at rest.

use assetkit_sign::Secret;
use assetkitd::domain::apply::Policy;
use serde_json::Value as Json;

use crate::support::{TestServer, again, physical};

/// Every row that belongs to asset `id`, as text.
fn asset_rows(s: &TestServer, id: i64) -> String {
    s.db.with(|db| {
        let mut out = String::new();
        for (table, column) in
            [("assets", "id"), ("components", "asset_id"), ("asset_reports", "asset_id"), ("plugin_errors", "asset_id")]
        {
            let rows: Vec<String> = db
                .query(&format!("SELECT * FROM {table} WHERE {column} = ?1"), assetkitd::args![id])
                .unwrap()
                .iter()
                .map(|r| r.0.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join("|"))
                .collect();
            out.push_str(&format!("{table}: {rows:?}\n"));
        }
        out
    })
}

fn query<T: assetkitd::store::FromValue + Send>(s: &TestServer, sql: &str) -> Vec<T> {
    s.db.column(sql, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_key_enrols_and_cannot_rewrite_an_enrolled_host() {
    let s = TestServer::start(Policy::Auto).await;
    let a = physical("host-a", "SN-A");
    let first = s.report_ok(&a).await;
    assert_eq!(first["action"], "created");
    let host_key = first["host_key_id"].as_str().expect("the enrolling answer carries a credential").to_owned();
    assert!(host_key.starts_with("hk_") && first["host_secret"].as_str().is_some_and(|s| s.starts_with("aks_")));
    let id = first["asset_id"].as_i64().unwrap();
    // The host then signs with its own credential.
    let second = s.report_ok(&again(&a)).await;
    assert_eq!(second["action"], "unchanged");
    assert!(second.get("host_key_id").is_none(), "a credential is issued once");
    assert_eq!(
        query::<String>(&s, "SELECT key_id FROM applied_reports ORDER BY at, action"),
        [s.agent.0.clone(), host_key.clone()]
    );

    // Host B holds the fleet key and claims A: its cert hostname and serial, fewer disks.
    let before = asset_rows(&s, id);
    let mut forged = physical("host-b", "SN-A");
    forged.host.cert_hostname = Some("host-a".into());
    forged.facts.disks.as_mut().unwrap().clear();
    let (status, body) = s.report_as(&s.agent, &forged).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "host_enrolled");
    assert!(body["error"]["message"].as_str().unwrap().contains("hosts reenrol"), "{body}");
    assert_eq!(before, asset_rows(&s, id), "the enrolled asset changed");
    let events = s.changes(id).await;
    let security: Vec<_> = events.iter().filter(|c| c["kind"] == "security").collect();
    assert_eq!(security.len(), 1, "{events:#?}");
    assert!(security[0]["summary"].as_str().unwrap().contains("fleet key"), "{}", security[0]);
    assert_eq!(query::<i64>(&s, "SELECT COUNT(*) FROM assets"), [1], "no new asset either");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinstalled_host_enrols_again_after_an_admin_allows_it() {
    let s = TestServer::start(Policy::Auto).await;
    let a = physical("host-a", "SN-A");
    let id = s.report_ok(&a).await["asset_id"].as_i64().unwrap();
    let old = s.credential("host-a");
    // Reinstalled: the credential is gone, the fleet key is refused.
    let (status, _) = s.report_as(&s.agent, &again(&a)).await;
    assert_eq!(status, 403);
    let (status, body) = s.send_as(&s.admin, "POST", &format!("/api/v1/assets/{id}/reenrol"), b"").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.report_as(&s.agent, &again(&a)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["asset_id"], id, "the same asset, not a new one");
    let new = (body["host_key_id"].as_str().unwrap().to_owned(), Secret::new(body["host_secret"].as_str().unwrap()));
    assert_ne!(new.0, old.0);
    // The old credential stopped working; the new one works.
    let (status, body) = s.report_as(&old, &again(&a)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("credential_revoked")), "{body}");
    let (status, _) = s.report_as(&new, &again(&a)).await;
    assert_eq!(status, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_writes_its_own_asset_only() {
    let s = TestServer::start(Policy::Auto).await;
    s.report_ok(&physical("host-a", "SN-A")).await;
    let b_id = s.report_ok(&physical("host-b", "SN-B")).await["asset_id"].as_i64().unwrap();
    let before = asset_rows(&s, b_id);
    // A's credential, replayed against B's asset.
    let mut claim = physical("host-b", "SN-B");
    claim.host.cert_hostname = Some("host-b".into());
    let (status, body) = s.report_as(&s.credential("host-a"), &claim).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "credential_mismatch");
    assert_eq!(before, asset_rows(&s, b_id));
    assert!(s.changes(b_id).await.iter().any(|c| c["kind"] == "security"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_credential_is_refused_and_the_asset_flagged() {
    let s = TestServer::start(Policy::Auto).await;
    let a = physical("host-a", "SN-A");
    let id = s.report_ok(&a).await["asset_id"].as_i64().unwrap();
    let (status, body) = s.send_as(&s.admin, "POST", &format!("/api/v1/assets/{id}/revoke"), b"").await;
    assert_eq!((status, body["revoked"].as_i64()), (200, Some(1)), "{body}");
    let (status, body) = s.report(&again(&a)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("credential_revoked")), "{body}");
    assert_eq!(s.admin_get(&format!("/api/v1/assets/{id}")).await["enrolment"], "revoked");
    // Nor may the fleet key take it back without an admin.
    assert_eq!(s.report_as(&s.agent, &again(&a)).await.0, 403);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_id_is_bound_to_its_sender_and_its_body() {
    let s = TestServer::start(Policy::Auto).await;
    let a = physical("host-a", "SN-A");
    let first = s.report_ok(&a).await;
    // The same report again (a retry after a lost answer, or a copy): the same answer, but a
    // credential issued in clear is never repeated (see enrolment_replay.rs for the sealed one).
    let retry = s.report_as(&s.agent, &a).await;
    assert_eq!(retry.0, 200, "{}", retry.1);
    assert_eq!(retry.1["duplicate"], true);
    assert_eq!(retry.1["host_key_id"], first["host_key_id"]);
    assert_eq!((&retry.1["host_secret"], &retry.1["credential_withheld"]), (&Json::Null, &Json::Bool(true)));
    // Another credential reusing the id: refused, and never given A's answer.
    s.report_ok(&physical("host-b", "SN-B")).await;
    let mut b = physical("host-b", "SN-B");
    b.report_id = a.report_id.clone();
    let (status, body) = s.report(&b).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("report_id_conflict")), "{body}");
    assert!(!body.to_string().contains("host-a") && body.get("host_secret").is_none());
    // The same sender with another body under the same id: refused too.
    let mut changed = a.clone();
    changed.facts.nics.as_mut().unwrap()[0].mtu = Some(9000);
    let (status, body) = s.report_as(&s.agent, &changed).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("report_id_conflict")), "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_are_not_host_names_are_refused_where_they_enter() {
    let s = TestServer::start(Policy::Auto).await;
    s.report_ok(&physical("seed", "SN-SEED")).await;
    let before = s.dump();
    let long = "a".repeat(300);
    let cases: [(&str, &str); 6] = [
        ("web\u{0}01", "control"),
        ("web\n01", "control"),
        (&long, "300 bytes"),
        ("web\u{200b}01", "U+200B"),
        ("wеb01", "U+0435"),
        ("web..01", "label 2 is empty"),
    ];
    for (name, why) in cases {
        for field in ["host.hostname", "host.cert_hostname", "facts.os.hostname"] {
            let mut r = physical("fine", "SN-FINE");
            match field {
                "host.hostname" => r.host.hostname = Some(name.into()),
                "host.cert_hostname" => r.host.cert_hostname = Some(name.into()),
                _ => r.facts.os.as_mut().unwrap().hostname = Some(name.into()),
            }
            let (status, body) = s.report_as(&s.agent, &r).await;
            assert_eq!(status, 422, "{field} = {name:?}: {body}");
            assert_eq!(body["error"]["code"], "invalid_hostname");
            assert_eq!(body["error"]["field"], field);
            assert!(body["error"]["message"].as_str().unwrap().contains(why), "{body}");
        }
    }
    // Admin edits use the same rule.
    let (status, body) =
        s.send_as(&s.admin, "POST", "/api/v1/assets", "{\"hostname\": \"a\\u200bb\"}".as_bytes()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(before, s.dump(), "a refused name wrote something");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_copied_without_its_key_file_holds_no_usable_secret() {
    let s = TestServer::start(Policy::Auto).await;
    s.report_ok(&physical("host-a", "SN-A")).await;
    let stored: Vec<(String, String)> = s.db.with(|db| {
        let rows = db.query("SELECT key_id, secret FROM api_keys", &[]).unwrap();
        rows.iter().map(|r| (r.get(0).unwrap(), r.get(1).unwrap())).collect()
    });
    assert_eq!(stored.len(), 3, "agent, admin and one host credential");
    // Everything the database holds, as a copy of it would: the file itself for SQLite, every
    // row for PostgreSQL (what pg_dump writes).
    let raw = match &s.db.location {
        assetkitd::store::Location::Sqlite(path) => std::fs::read(path).unwrap(),
        assetkitd::store::Location::Postgres(_) => s.dump().into_bytes(),
    };
    for (key_id, secret) in &stored {
        assert!(secret.starts_with("sealed:v1:"), "{key_id} is stored in plain text");
        // Whoever holds the database file signs with what it holds: refused.
        let (status, _) = s.report_as(&(key_id.clone(), Secret::new(secret)), &physical("thief", "SN-T")).await;
        assert_eq!(status, 401);
    }
    let agent_secret = s.agent.1.expose().as_bytes();
    assert!(!raw.windows(agent_secret.len()).any(|w| w == agent_secret), "a plaintext secret is in the file");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_pre_enrolled_by_an_admin_never_uses_the_fleet_key() {
    let s = TestServer::start(Policy::Auto).await;
    let (status, body) =
        s.send_as(&s.admin, "POST", "/api/v1/hosts/enrol", br#"{"hostname": "web09.dc1.example.com"}"#).await;
    assert_eq!(status, 201, "{body}");
    let id = body["asset_id"].as_i64().unwrap();
    let credential =
        (body["host_key_id"].as_str().unwrap().to_owned(), Secret::new(body["host_secret"].as_str().unwrap()));
    let mut r = physical("localhost.localdomain", "SN-W9");
    r.host.cert_hostname = Some("web09.dc1.example.com".into());
    let (status, answer) = s.report_as(&credential, &r).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["asset_id"], id);
    assert_eq!(query::<String>(&s, "SELECT key_id FROM applied_reports"), std::slice::from_ref(&credential.0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_revoked_by_another_process_stops_writing_at_once() {
    let s = TestServer::start(Policy::Auto).await;
    let a = physical("host-a", "SN-A");
    s.report_ok(&a).await;
    // The credential is cached by the server now.
    let credential = s.credential("host-a");
    assert_eq!(s.report_as(&credential, &again(&a)).await.0, 200);
    // Revoked by the CLI (another process), then used again within the cache's lifetime.
    let (ok, out, err) = crate::support::cli(&s.db, &["hosts", "revoke", "host-a"]);
    assert!(ok, "{out}{err}");
    let (status, body) = s.report_as(&credential, &again(&a)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("credential_revoked")), "{body}");

    // Replaced by a re-enrolment: the old credential stops at once too.
    let b = physical("host-b", "SN-B");
    let id = s.report_ok(&b).await["asset_id"].as_i64().unwrap();
    let old = s.credential("host-b");
    assert_eq!(s.report_as(&old, &again(&b)).await.0, 200);
    assert_eq!(s.send_as(&s.admin, "POST", &format!("/api/v1/assets/{id}/reenrol"), b"").await.0, 200);
    let answer = s.report_as(&s.agent, &again(&b)).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let (status, body) = s.report_as(&old, &again(&b)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("credential_revoked")), "{body}");
    s.stop().await;
}
