//! `assetkitd backup`: a consistent copy of a live SQLite store while reports keep arriving,
//! nothing lost from the live database, and a restore (backup + key file) that serves the same
//! inventory. PostgreSQL is refused with the tools to use instead.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use assetkitd::domain::apply::Policy;
use assetkitd::store::{Engine, Location, backup, copy};
use rusqlite::Connection;

use crate::only_on;
use crate::support::{TestDb, TestServer, again, cli, cli_raw, physical};

/// Reports acknowledged so far, in order: (report_id, nonce, sent after the backup's snapshot
/// was taken); waiters are woken on each one.
#[derive(Default)]
struct Acked {
    list: Mutex<Vec<(String, String, bool)>>,
    grew: Condvar,
    /// Set once the backup holds its snapshot: a report sent after that cannot be in it.
    snapshot: AtomicBool,
}

impl Acked {
    fn len(&self) -> usize {
        self.list.lock().unwrap().len()
    }

    /// Blocks until `enough` holds of the list (a deadline turns a stall into a failure rather
    /// than a hang).
    fn wait_until(&self, what: &str, enough: impl Fn(&[(String, String, bool)]) -> bool) {
        let list = self.list.lock().unwrap();
        let (list, timeout) = self.grew.wait_timeout_while(list, Duration::from_secs(120), |l| !enough(l)).unwrap();
        assert!(!timeout.timed_out(), "the load stalled at {} reports waiting for {what}", list.len());
    }

    fn ids(&self, keep: impl Fn(usize, bool) -> bool) -> BTreeSet<String> {
        let list = self.list.lock().unwrap();
        list.iter()
            .enumerate()
            .filter(|(i, (_, _, after))| keep(*i, *after))
            .map(|(_, (id, _, _))| id.clone())
            .collect()
    }
}

/// One load task: new hosts, one fleet-key report each, until `stop`.
async fn load(s: Arc<TestServer>, task: usize, acked: Arc<Acked>, stop: Arc<AtomicBool>) -> usize {
    let mut sent = 0;
    while !stop.load(Ordering::SeqCst) {
        let report = physical(&format!("load-{task}-{sent:05}"), &format!("LOAD-{task}-{sent:05}"));
        let body = serde_json::to_vec(&report).unwrap();
        let headers = assetkit_sign::sign(&s.agent.0, &s.agent.1, "POST", "/api/v1/reports", &body);
        let after_snapshot = acked.snapshot.load(Ordering::SeqCst);
        let (status, answer) = s.send_with("POST", "/api/v1/reports", &body, &headers).await;
        assert_eq!(status, 200, "{answer}");
        acked.list.lock().unwrap().push((report.report_id.clone(), headers.nonce.clone(), after_snapshot));
        acked.grew.notify_all();
        sent += 1;
    }
    sent
}

fn sqlite_path(db: &TestDb) -> std::path::PathBuf {
    match &db.location {
        Location::Sqlite(p) => p.clone(),
        Location::Postgres(_) => unreachable!("SQLite only"),
    }
}

fn applied(path: &std::path::Path) -> BTreeMap<String, i64> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT report_id, asset_id FROM applied_reports").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_is_one_snapshot_and_the_live_store_loses_nothing() {
    only_on!(Engine::Sqlite, "the online backup copies a SQLite file");
    let s = Arc::new(
        TestServer::start_with(|c| {
            c.policy = Policy::Auto;
            c.new_assets.per_minute = 1_000_000;
            c.new_assets.per_day = 1_000_000;
            c.send_budget.fleet_reports = 1e9;
            c.send_budget.fleet_bytes = 1e12;
        })
        .await,
    );
    // Enough pages that the backup takes many steps, and enrolled hosts sending again.
    for i in 0..150 {
        let first = physical(&format!("seed-{i:03}"), &format!("SEED-{i:03}"));
        s.report_ok(&first).await;
        s.report_ok(&again(&first)).await;
    }
    let live = sqlite_path(&s.db);
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("backup.db");

    let (acked, stop) = (Arc::new(Acked::default()), Arc::new(AtomicBool::new(false)));
    let tasks: Vec<_> = (0..4).map(|t| tokio::spawn(load(s.clone(), t, acked.clone(), stop.clone()))).collect();
    acked.wait_until("the load to start", |l| l.len() >= 20);

    // The backup, on its own thread, while the tasks keep reporting. At its first step its
    // snapshot is held; it then waits until 30 reports sent after that are acknowledged, so
    // reports are applied while it copies, whatever the machine's speed.
    let before = acked.len();
    let (acked2, live2, to2) = (acked.clone(), live.clone(), to.clone());
    let summary = tokio::task::spawn_blocking(move || {
        let mut steps = Vec::new();
        let summary = backup::backup(&live2, &to2, 4, |p| {
            if steps.is_empty() {
                acked2.snapshot.store(true, Ordering::SeqCst);
                acked2.wait_until("reports sent during the backup", |l| l.iter().filter(|r| r.2).count() >= 30);
            }
            steps.push(p);
        })
        .unwrap();
        assert!(steps.windows(2).all(|w| w[0].copied <= w[1].copied && w[0].total == w[1].total), "{steps:?}");
        summary
    })
    .await
    .unwrap();
    let after_backup = acked.len();
    acked.wait_until("reports after the backup", |l| l.len() >= after_backup + 20);
    stop.store(true, Ordering::SeqCst);
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }
    assert!(summary.steps > 10, "{summary:?}");
    let s = Arc::into_inner(s).expect("the load tasks are done");
    let db = s.stop_keeping_db().await;

    // Nothing lost: every acknowledged report is in the live store.
    let acked_all = acked.ids(|_, _| true);
    assert_eq!(acked_all.len(), sent);
    let in_live = applied(&live);
    let missing: Vec<_> = acked_all.iter().filter(|id| !in_live.contains_key(*id)).collect();
    assert!(missing.is_empty(), "acknowledged but not in the live store: {missing:?}");

    // One snapshot: everything acknowledged before the backup began is in it; nothing sent after
    // it held its snapshot is; every load report in it was acknowledged.
    let in_backup = applied(&to);
    let load_in_backup: BTreeSet<String> = in_backup.keys().filter(|id| acked_all.contains(*id)).cloned().collect();
    assert!(
        acked.ids(|i, _| i < before).is_subset(&load_in_backup),
        "a report acknowledged before the backup is missing"
    );
    assert!(
        acked.ids(|_, after| after).is_disjoint(&load_in_backup),
        "the backup holds writes made after its snapshot"
    );
    assert_eq!(in_backup.len() - load_in_backup.len(), 300, "the seed reports");
    assert!(
        acked.len() - load_in_backup.len() >= 50,
        "reports were applied while the backup ran and after: {} of {}",
        load_in_backup.len(),
        acked.len()
    );

    // The equivalent of "store verify against a copy taken after the load stopped, minus what
    // came later": a copy of the live store (VACUUM INTO, not the backup code) with the assets,
    // answers and nonces of the reports the backup does not hold removed, equals the backup.
    let reference = dir.path().join("reference.db");
    Connection::open(&live).unwrap().execute("VACUUM INTO ?1", [reference.to_str().unwrap()]).unwrap();
    let conn = Connection::open(&reference).unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    let nonces: BTreeMap<String, String> =
        acked.list.lock().unwrap().iter().map(|(id, nonce, _)| (id.clone(), nonce.clone())).collect();
    let later: Vec<&String> = acked_all.iter().filter(|id| !load_in_backup.contains(*id)).collect();
    for id in &later {
        conn.execute("DELETE FROM assets WHERE id = ?1", [in_live[*id]]).unwrap();
        conn.execute("DELETE FROM applied_reports WHERE report_id = ?1", [id]).unwrap();
        let deleted = conn.execute("DELETE FROM nonces WHERE nonce = ?1", [&nonces[*id]]).unwrap();
        assert_eq!(deleted, 1);
    }
    drop(conn);
    let (ok, out, err) = cli_raw(&["store", "verify", to.to_str().unwrap(), reference.to_str().unwrap()]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("the stores hold the same inventory"), "{out}");
    let check: String = Connection::open(&to).unwrap().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    assert!(summary.bytes > 0 && summary.schema_version > 0, "{summary:?}");
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_key_file_restore_into_a_new_server_that_serves_the_same_inventory() {
    only_on!(Engine::Sqlite, "the online backup copies a SQLite file");
    let s = TestServer::start(Policy::Auto).await;
    let host = physical("restore-01", "RESTORE-01");
    s.report_ok(&host).await;
    s.report_ok(&physical("restore-02", "RESTORE-02")).await;
    let credential = s.credential("restore-01");
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("nightly.db");

    // The CLI, as an operator runs it, while the server serves.
    let (ok, out, err) = cli(&s.db, &["backup", "--to", to.to_str().unwrap(), "--pages-per-step", "2"]);
    assert!(ok, "{err}");
    assert!(err.contains("backup: 100% ("), "progress on stderr: {err}");
    assert!(err.lines().filter(|l| l.starts_with("backup: ")).count() > 2, "{err}");
    assert!(out.contains("backed up") && out.contains("is not in the backup"), "{out}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&to).unwrap().permissions().mode() & 0o777, 0o600);
    let key_text = std::fs::read_to_string(&s.db.key_file).unwrap();
    let key_hex = key_text.lines().find(|l| !l.starts_with('#')).unwrap().split_once(':').unwrap().1;
    let bytes = std::fs::read(&to).unwrap();
    assert!(!bytes.windows(key_hex.len()).any(|w| w == key_hex.as_bytes()), "the server key is in the backup");
    assert!(std::fs::read_dir(dir.path()).unwrap().count() == 1, "only the backup file is left");

    // Writing over the live database or its key file is refused, and changes nothing.
    let live = sqlite_path(&s.db);
    let before = std::fs::read(&s.db.key_file).unwrap();
    for target in [live.to_str().unwrap(), s.db.key_file.to_str().unwrap()] {
        let (ok, _, err) = cli(&s.db, &["backup", "--to", target]);
        assert!(!ok && err.contains("is the live database or its server key file"), "{err}");
    }
    assert_eq!(std::fs::read(&s.db.key_file).unwrap(), before);
    let db = s.stop_keeping_db().await;

    // Restore: the backup and the key file into a new place; the same inventory, table by table.
    let restored = TestDb::on(Engine::Sqlite);
    std::fs::copy(&to, sqlite_path(&restored)).unwrap();
    std::fs::copy(&db.key_file, &restored.key_file).unwrap();
    let (ok, out, err) =
        cli_raw(&["store", "verify", live.to_str().unwrap(), sqlite_path(&restored).to_str().unwrap()]);
    assert!(ok && out.contains("the stores hold the same inventory"), "{out}\n{err}");
    let tables = copy::TABLES.len();
    assert_eq!(out.lines().filter(|l| l.ends_with(" same")).count(), tables, "{out}");

    // A new server on it: the host's credential, sealed in the database under the restored key
    // file, still signs its reports.
    let r = TestServer::start_on(restored, |_| {}).await;
    let (status, answer) = r.report_as(&credential, &again(&host)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["action"], "unchanged", "{answer}");
    assert_eq!(r.assets().await.len(), 2);
    r.stop().await;
}

#[test]
fn postgres_is_refused_with_the_tools_to_use() {
    let (ok, out, err) = cli_raw(&[
        "backup",
        "--db",
        "postgres://assetkit@db.invalid/assetkit",
        "--secret-key-file",
        "/nonexistent/server.key",
        "--to",
        "/nonexistent/backup.db",
    ]);
    assert!(!ok, "{out}");
    assert!(err.contains("pg_dump") && err.contains("pg_basebackup"), "{err}");
}
