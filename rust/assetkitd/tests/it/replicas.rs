//! Several receivers on one PostgreSQL database: the same semantics as one.

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assetkitd::domain::apply::Policy;
use assetkitd::store::Engine;

use crate::support::{TestDb, TestServer, again, blocking, load, pg_ctl, pg_up, physical, spawn_binary, until_count};

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

/// Every acknowledged report is stored.
fn all_stored(db: &TestDb, acked: &[String]) {
    let stored: HashSet<String> = db.column("SELECT report_id FROM applied_reports", &[]).into_iter().collect();
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged reports lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_one_replica_under_load_loses_no_acknowledged_report() {
    crate::only_on!(Engine::Postgres, "replicas share a PostgreSQL database");
    let db = TestDb::new();
    let fleet = db.create_key("load", "agent");
    let mut doomed = spawn_binary(&db, &[], "warn", Stdio::inherit()).await;
    let survivor = spawn_binary(&db, &[], "warn", Stdio::inherit()).await;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let progress = Arc::new(tokio::sync::watch::Sender::new(0u64));
    let bases = [doomed.base.clone(), survivor.base.clone()];
    let running = {
        let (fleet, progress) = (fleet.clone(), progress.clone());
        tokio::spawn(async move { load(&bases, &fleet, 8, stop, progress).await })
    };
    until_count(&progress, 300, Duration::from_secs(60)).await;
    doomed.child.kill().await.unwrap(); // SIGKILL, requests in flight on it
    // The survivor goes on serving.
    let after_kill = *progress.borrow();
    until_count(&progress, after_kill + 100, Duration::from_secs(60)).await;
    stop_tx.send(true).unwrap();
    let seen = running.await.unwrap();
    assert!(seen.acked.len() >= 400, "{seen:?}");
    all_stored(&db, &seen.acked);
    drop(survivor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_restart_under_load_is_503_then_recovery_and_loses_nothing() {
    crate::only_on!(Engine::Postgres, "a PostgreSQL outage");
    // A cluster of its own: restarting the shared one would fail the tests running beside it.
    let cluster = std::env::temp_dir().join(format!("assetkit-test-pg-restart-{}", std::process::id()));
    let (admin, dir) = pg_up(Some(&cluster));
    let db = TestDb::on_cluster(&admin);
    let fleet = db.create_key("load", "agent");
    let server = spawn_binary(&db, &[], "warn", Stdio::inherit()).await;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let progress = Arc::new(tokio::sync::watch::Sender::new(0u64));
    let running = {
        let (bases, fleet, progress) = ([server.base.clone()], fleet.clone(), progress.clone());
        tokio::spawn(async move { load(&bases, &fleet, 8, stop, progress).await })
    };
    until_count(&progress, 200, Duration::from_secs(60)).await;
    // Down (fast shutdown: sessions cut, as in a failover), then up again.
    blocking(|| pg_ctl("stop", &dir));
    let health = crate::support::client().get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503, "not ready while the database is down");
    blocking(|| pg_ctl("start", &dir));
    // Reports land again once the replica has reconnected by itself.
    let before = *progress.borrow();
    until_count(&progress, before + 200, Duration::from_secs(60)).await;
    stop_tx.send(true).unwrap();
    let seen = running.await.unwrap();
    assert!(seen.statuses.get(&503).copied().unwrap_or(0) > 0, "no 503 during the outage: {seen:?}");
    assert_eq!(seen.unavailable_without_retry_after, 0, "every 503 says when to retry: {seen:?}");
    let health = crate::support::client().get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    all_stored(&db, &seen.acked);
    drop(server);
    drop(db);
    blocking(|| pg_ctl("stop", &dir));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_through_one_replica_stops_working_on_the_other_within_the_cache_ttl() {
    crate::only_on!(Engine::Postgres, "replicas share a PostgreSQL database");
    let (a, b) = two_replicas(Policy::Auto).await;
    let key = a.db.create_key("soon revoked", "agent");
    // B has the key in its cache.
    let (status, _) = b.report_as(&key, &physical("ttl01", "SN-TTL1")).await;
    assert_eq!(status, 200);
    let revoked_at = Instant::now();
    let (ok, _, err) = crate::support::cli(&a.db, &["keys", "revoke", &key.0]);
    assert!(ok, "{err}");
    // Each try is a fresh host (a fleet key may enrol new hosts): refused once the cache expires.
    let mut n = 0;
    loop {
        n += 1;
        let (status, body) = b.report_as(&key, &physical(&format!("ttl-next-{n}"), &format!("SN-TTLN-{n}"))).await;
        if status == 401 {
            assert!(body["error"]["message"].as_str().unwrap().contains("revoked"), "{body}");
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(revoked_at.elapsed() < Duration::from_secs(6), "still accepted after {:?}", revoked_at.elapsed());
        tokio::task::yield_now().await;
    }
    assert!(revoked_at.elapsed() <= Duration::from_secs(6), "refused after {:?}", revoked_at.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_speaks_tls_and_verifies_the_server() {
    crate::only_on!(Engine::Postgres, "TLS to PostgreSQL");
    let db = TestDb::new();
    let (_, cluster) = pg_up(None);
    let assetkitd::store::Location::Postgres(url) = &db.location else { unreachable!() };
    let ca = cluster.join("ca.pem");
    let tls =
        assetkitd::store::Location::parse(&format!("{url}?sslmode=require&sslrootcert={}", ca.display())).unwrap();
    // The driver's own connection is encrypted.
    let over_tls = db.share_as(tls.clone());
    let ssl: bool = over_tls.scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]);
    assert!(ssl, "sslmode=require connected in clear");
    // A receiver on it serves.
    let s = TestServer::start_on(over_tls, |_| {}).await;
    let (status, body) = s.report(&physical("tls01", "SN-TLS1")).await;
    assert_eq!(status, 200, "{body}");
    // Without the CA that signed the server's certificate, there is no connection at all: the
    // server is verified, not merely encrypted to.
    let unverified = assetkitd::store::Location::parse(&format!("{url}?sslmode=require")).unwrap();
    let err = blocking(|| assetkitd::store::connect(&unverified).err().expect("refused").to_string());
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // libpq's "prefer" (TLS if offered, any certificate) is refused rather than half-honoured.
    let err = assetkitd::store::Location::parse(&format!("{url}?sslmode=prefer")).expect_err("refused").to_string();
    assert!(err.contains("sslmode=require"), "{err}");
}

/// Ten packages, all at `version`.
fn packages_at(version: &str) -> Vec<assetkit_core::model::Package> {
    (0..10).map(|i| crate::support::deb(&format!("lib{i}"), version)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_upgrade_across_the_fleet_through_two_replicas_never_deadlocks_and_counts_stay_exact() {
    crate::only_on!(Engine::Postgres, "replicas share a PostgreSQL database");
    use assetkit_core::model::{PackagesDelta, packages_digest};
    let (a, b) = two_replicas(Policy::Auto).await;
    let (old, new) = (packages_at("1.0"), packages_at("2.0"));
    let (old_digest, new_digest) = (packages_digest(&old), packages_digest(&new));
    let hosts = 24;
    let mut reports = Vec::new();
    for h in 0..hosts {
        let mut r = physical(&format!("upgrade-{h:02}"), &format!("UPG-{h:02}"));
        r.facts.packages_digest = Some(old_digest.clone());
        r.facts.packages = Some(old.clone());
        a.report_ok(&r).await;
        reports.push(r);
    }
    // Every host upgrades and downgrades the same ten packages three times, all hosts at once,
    // half of them starting on each replica and switching replica at every step: each step moves
    // the host counts of the same twenty package rows, from both replicas' writers together.
    let (up, down) = (PackagesDelta::between(&old_digest, &old, &new), PackagesDelta::between(&new_digest, &new, &old));
    let start = Arc::new(tokio::sync::Barrier::new(hosts));
    let mut tasks = Vec::new();
    for (h, report) in reports.into_iter().enumerate() {
        let (a, b, start) = (a.clone(), b.clone(), start.clone());
        let (up, down, old_digest, new_digest) = (up.clone(), down.clone(), old_digest.clone(), new_digest.clone());
        tasks.push(tokio::spawn(async move {
            let key = a.credential(report.host.hostname.as_deref().unwrap());
            start.wait().await;
            let mut answers = Vec::new();
            for step in 0..6 {
                let mut r = again(&report);
                r.facts.packages = None;
                let (delta, digest) = if step % 2 == 0 { (&up, &new_digest) } else { (&down, &old_digest) };
                r.facts.packages_delta = Some(delta.clone());
                r.facts.packages_digest = Some(digest.clone());
                let server = if (h + step) % 2 == 0 { &a } else { &b };
                answers.push(server.report_as(&key, &r).await);
            }
            answers
        }));
    }
    for task in tasks {
        for (status, body) in task.await.unwrap() {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["action"], "updated", "{body}");
        }
    }
    // Back at 1.0 everywhere, and the kept counts are the truth.
    let counts: Vec<(String, i64, i64)> = a.db.with(|db| {
        db.query(
            "SELECT p.version, p.hosts, (SELECT COUNT(*) FROM asset_packages ap WHERE ap.package_id = p.id) \
             FROM packages p JOIN package_names n ON n.id = p.name_id WHERE n.name = 'lib3' ORDER BY p.version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .collect()
    });
    assert_eq!(counts, [("1.0".to_owned(), hosts as i64, hosts as i64), ("2.0".to_owned(), 0, 0)]);
    let software = a.admin_get("/api/v1/software?q=lib3").await;
    assert_eq!(software["software"][0]["hosts"], hosts, "{software}");
}
