//! One report is one transaction, acknowledged only once durable.

use assetkitd::domain::apply::{Failpoint, Policy};

use assetkitd::store::{Engine, Location};

use crate::support::{TestDb, TestServer, again, load, physical, spawn_binary, until_count};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_after_half_the_component_writes_leaves_the_database_as_before() {
    let s = TestServer::start_with(|c| {
        c.policy = Policy::Auto;
        c.failpoint = Some(Failpoint { after_half_of_component_writes: true, ..Failpoint::default() });
    })
    .await;
    let r = physical("db02", "SN-DB02");
    s.report_ok(&r).await;
    let before = s.dump();
    let mut changing = again(&r);
    changing.facts.disks.as_mut().unwrap().truncate(1);
    changing.facts.memory.as_mut().unwrap().modules.as_mut().unwrap().clear();
    changing.facts.nics.as_mut().unwrap()[0].mtu = Some(9000);
    let (status, body) = s.report(&changing).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "database");
    assert_eq!(before, s.dump(), "a failed apply left partial writes (or its nonce) behind");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_database_refuses_and_keeps_what_it_had() {
    crate::only_on!(Engine::Sqlite, "--max-db-size caps a SQLite file (a PostgreSQL quota is the DBA's)");
    let test_db = TestDb::new();
    let Location::Sqlite(db) = test_db.location.clone() else { unreachable!("a SQLite run") };
    // Size the cap just above the empty, migrated database.
    test_db.with(|_| ());
    let base_size = std::fs::metadata(&db).unwrap().len()
        + std::fs::metadata(db.with_extension("db-wal")).map(|m| m.len()).unwrap_or(0);
    let s = TestServer::start_on(test_db, |c| c.max_db_bytes = Some(base_size.max(200 * 1024) + 64 * 1024)).await;
    let mut accepted: i64 = 0;
    let mut refused = None;
    for i in 0..500 {
        let mut r = physical(&format!("bulk{i:03}"), &format!("BULK-{i}"));
        r.facts.custom.insert("blob".into(), serde_json::Value::String("x".repeat(8 * 1024)));
        let before = s.dump();
        let (status, body) = s.report(&r).await;
        if status == 200 {
            accepted += 1;
            continue;
        }
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["error"]["code"], "database");
        assert!(body["error"]["message"].as_str().unwrap().contains("nothing was written"));
        assert_eq!(before, s.dump());
        refused = Some(i);
        break;
    }
    assert!(accepted > 0 && refused.is_some(), "accepted {accepted}, refused {refused:?}");
    // A burst at the limit, grouped into shared transactions by the writer: whatever is
    // acknowledged is stored, whatever is refused is not, whichever report of a batch failed.
    let s = std::sync::Arc::new(s);
    let mut burst = Vec::new();
    for i in 0..24 {
        let s = s.clone();
        burst.push(tokio::spawn(async move {
            let mut r = physical(&format!("burst{i:02}"), &format!("BURST-{i}"));
            r.facts.custom.insert("blob".into(), serde_json::Value::String("y".repeat(4 * 1024)));
            let (status, body) = s.report(&r).await;
            assert!(status == 200 || (status == 500 && body["error"]["code"] == "database"), "{status} {body}");
            (r.report_id, status == 200)
        }));
    }
    let mut outcomes = Vec::new();
    for t in burst {
        outcomes.push(t.await.unwrap());
    }
    for (id, acknowledged) in &outcomes {
        let stored: i64 =
            s.db.scalar("SELECT COUNT(*) FROM applied_reports WHERE report_id = ?1", assetkitd::args![id.as_str()]);
        assert_eq!(stored == 1, *acknowledged, "report {id}: acknowledged {acknowledged}, stored {stored}");
    }
    accepted += outcomes.iter().filter(|(_, ok)| *ok).count() as i64;
    let s = std::sync::Arc::try_unwrap(s).ok().expect("all requests finished");
    let health = s.client.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let db = s.stop_keeping_db().await;
    let check: String = db.scalar("PRAGMA integrity_check", &[]);
    assert_eq!(check, "ok");
    let n: i64 = db.scalar("SELECT COUNT(*) FROM assets", &[]);
    assert_eq!(n, accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_report() {
    let db = TestDb::new();
    let key = db.create_key("load", "agent");
    let mut server = spawn_binary(&db, &[], "warn", std::process::Stdio::inherit()).await;
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let progress = std::sync::Arc::new(tokio::sync::watch::Sender::new(0u64));
    let running = {
        let (bases, progress) = ([server.base.clone()], progress.clone());
        tokio::spawn(async move { load(&bases, &key, 16, stop, progress).await })
    };
    until_count(&progress, 300, std::time::Duration::from_secs(60)).await;
    server.child.kill().await.unwrap(); // SIGKILL, requests still in flight
    let seen = running.await.unwrap(); // every worker ends when its server is gone
    let acked = seen.acked;
    if db.engine() == Engine::Sqlite {
        let check: String = db.scalar("PRAGMA integrity_check", &[]);
        assert_eq!(check, "ok");
    }
    let stored: std::collections::HashSet<String> =
        db.column("SELECT report_id FROM applied_reports", &[]).into_iter().collect();
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged reports lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(acked.len() >= 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_down_cleanly() {
    let db = TestDb::new();
    let key = db.create_key("t", "agent");
    let mut server = spawn_binary(&db, &[], "warn", std::process::Stdio::inherit()).await;
    let r = physical("term01", "TERM-1");
    let body = serde_json::to_vec(&r).unwrap();
    let h = assetkit_sign::sign(&key.0, &key.1, "POST", "/api/v1/reports", &body);
    let mut req = crate::support::client().post(format!("{}/api/v1/reports", server.base)).body(body);
    for (n, v) in h.pairs() {
        req = req.header(n, v);
    }
    assert_eq!(req.send().await.unwrap().status().as_u16(), 200);
    let pid = rustix::process::Pid::from_raw(server.child.id().unwrap() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = server.child.wait().await.unwrap();
    assert!(status.success(), "{status}");
    assert!(db.dump().contains("term01"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_answered_only_once_its_batch_is_synced_to_disk_and_a_failed_sync_stops_the_server() {
    crate::only_on!(
        Engine::Sqlite,
        "a PostgreSQL commit is durable when it returns; SQLite's writer commits first and syncs apart"
    );
    let db = TestDb::new();
    let key = db.create_key("t", "agent");
    let (base, server) = crate::support::serve_failing(&db, Failpoint { fail_syncs: true, ..Failpoint::default() });
    let r = physical("sync01", "SN-SYNC01");
    let body = serde_json::to_vec(&r).unwrap();
    let signed = assetkit_sign::sign(&key.0, &key.1, "POST", "/api/v1/reports", &body);
    let mut request = crate::support::client().post(format!("{base}/api/v1/reports")).body(body);
    for (name, value) in signed.pairs() {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    // Committed, but the sync that would make it durable failed: the sender is not told it is
    // stored, and is told to retry (a retry is answered as a duplicate).
    assert_eq!(response.status().as_u16(), 503);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "unavailable", "{answer}");
    let committed: i64 =
        db.scalar("SELECT COUNT(*) FROM applied_reports WHERE report_id = ?1", assetkitd::args![r.report_id.as_str()]);
    assert_eq!(committed, 1, "the batch was committed before the sync: only its answer waited");
    // A failed sync is final (the kernel may have dropped what it could not write): the
    // server stops, for its service manager to restart it.
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(30), server).await.expect("the server stopped");
    let error = stopped.unwrap().expect_err("serve returns an error").to_string();
    assert!(error.contains("writer"), "{error}");
}
