//! Several receivers on one PostgreSQL database: the same semantics as one.

use std::collections::HashSet;
use std::sync::Arc;

use assetkitd::domain::apply::Policy;
use assetkitd::store::Engine;

use crate::support::{TestDb, TestServer, physical};

/// Two replicas of the same database.
async fn two_replicas(policy: Policy) -> (Arc<TestServer>, Arc<TestServer>) {
    let db = TestDb::new();
    let shared = db.share();
    let a = TestServer::start_on(db, |c| c.policy = policy).await;
    let b = TestServer::start_on(shared, |c| c.policy = policy).await;
    (Arc::new(a), Arc::new(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_reports_of_the_same_hosts_racing_on_two_replicas_make_one_asset_each() {
    crate::only_on!(Engine::Postgres, "replicas share a PostgreSQL database");
    let (a, b) = two_replicas(Policy::Auto).await;
    // 32 first reports of 8 new hosts, 4 per host, all sent at once over both replicas; each
    // report is its own collection (its own report_id).
    let start = Arc::new(tokio::sync::Barrier::new(32));
    let mut sends = Vec::new();
    for i in 0..32 {
        let (server, start) = (if i % 2 == 0 { a.clone() } else { b.clone() }, start.clone());
        sends.push(tokio::spawn(async move {
            let host = i % 8;
            let report = physical(&format!("race-{host}"), &format!("RACE-{host}"));
            start.wait().await;
            server.report_as(&server.agent, &report).await
        }));
    }
    let mut created = 0;
    for send in sends {
        let (status, body) = send.await.unwrap();
        // The first report of a host enrols it; its racing twins find it enrolled and are refused,
        // as any second fleet-key report of an enrolled host is.
        match (status, body["action"].as_str(), body["error"]["code"].as_str()) {
            (200, Some("created"), _) => created += 1,
            (200, Some("unchanged" | "updated"), _) | (403, _, Some("host_enrolled")) => {}
            other => panic!("unexpected answer {other:?}: {body}"),
        }
    }
    assert_eq!(created, 8, "each host created once");
    let names: Vec<String> = a.db.column("SELECT hostname FROM assets ORDER BY hostname", &[]);
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), 8, "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_used_on_one_replica_is_a_replay_on_the_other() {
    crate::only_on!(Engine::Postgres, "replicas share a PostgreSQL database");
    let (a, b) = two_replicas(Policy::Auto).await;
    let body = serde_json::to_vec(&physical("nonce01", "SN-N1")).unwrap();
    let signed = assetkit_sign::sign(&a.agent.0, &a.agent.1, "POST", "/api/v1/reports", &body);
    let (status, answer) = a.send_with("POST", "/api/v1/reports", &body, &signed).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = b.send_with("POST", "/api/v1/reports", &body, &signed).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("replay")), "{answer}");
}
