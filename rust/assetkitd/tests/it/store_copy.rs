//! `assetkitd store copy` and `store verify`: a live SQLite inventory moved to the run's engine
//! (PostgreSQL in the PostgreSQL run) and proved the same, then served: hardware, history,
//! installed software, guests, tags and custom fields.

use assetkit_core::model::{Guest, Package, packages_digest};
use assetkit_sign::Secret;
use assetkitd::domain::apply::{self, Answer, Context, Policy, Sender};
use assetkitd::store::secrets::Keyring;
use assetkitd::store::{self, Engine};

use crate::support::{TestDb, TestServer, again, blocking, cli, cli_raw, deb, physical};

/// A few packages, one of them in a version of its own to host `i`.
fn packages_of(i: usize) -> Vec<Package> {
    vec![deb("openssl", "3.0.13-1~deb12u1"), deb("bash", "5.2.15-2+b2"), deb("tool", &format!("1.{i}"))]
}

/// 10,000 assets with their history, written through the domain as reports would be: each
/// host's first report, then a second that replaces a disk and changes an MTU (change events).
/// The first 50 hosts also report packages, and each of the first 10 a guest. Returns one
/// host's issued credential.
fn seed(db: &TestDb, hosts: usize) -> (String, Secret) {
    // A real fleet key: a report's sender must be a key the store holds, not revoked.
    let (fleet_key, _) = db.create_key("seed", "agent");
    blocking(|| {
        let ring = Keyring::open_or_create(&db.key_file).unwrap();
        let mut conn = store::connect(&db.location).unwrap();
        let fleet = Sender::Fleet { key_id: fleet_key };
        let mut credential = None;
        for chunk in (0..hosts).collect::<Vec<_>>().chunks(1000) {
            store::transaction(conn.as_mut(), |db| {
                for &i in chunk {
                    let mut first = physical(&format!("copy-{i:05}"), &format!("COPY-{i:05}"));
                    if i < 50 {
                        let list = packages_of(i);
                        first.facts.packages_digest = Some(packages_digest(&list));
                        first.facts.packages = Some(list);
                    }
                    if i < 10 {
                        first.facts.guests = Some(vec![Guest {
                            name: format!("guest-{i}"),
                            uuid: Some(format!("00000000-0000-4000-8000-{i:012}")),
                            kind: "vm".into(),
                            source: "libvirt".into(),
                            id: None,
                            vcpus: Some(2),
                            memory_bytes: Some(4 << 30),
                            state: Some("running".into()),
                        }]);
                    }
                    let mut second = again(&first);
                    second.facts.disks.as_mut().unwrap()[0].serial_number = Some(format!("NEW-{i}"));
                    second.facts.nics.as_mut().unwrap()[0].mtu = Some(9000);
                    // The first report enrols the host (fleet key); the second is sent with the
                    // credential it was given, as the agent does.
                    let mut sender = fleet.clone();
                    for r in [&first, &second] {
                        let raw = serde_json::to_string(r).unwrap();
                        let ctx = Context {
                            policy: Policy::Auto,
                            failpoint: None,
                            ring: &ring,
                            sender: &sender,
                            body_digest: &assetkit_sign::body_digest(raw.as_bytes()),
                            now: 1_795_000_000 + i as i64,
                            budget: Default::default(),
                            new_assets: Default::default(),
                        };
                        let prepared = apply::Prepared::new((*r).clone(), raw.clone());
                        let Answer::Applied(outcome) = apply::apply(db, &prepared, &ctx)? else {
                            panic!("report of host {i} refused")
                        };
                        if let Some(apply::Issued::Clear(c)) = &outcome.credential {
                            sender = Sender::Host { key_id: c.key_id.clone(), asset_id: outcome.asset_id };
                            credential.get_or_insert_with(|| (c.key_id.clone(), c.secret.clone()));
                        }
                    }
                }
                Ok::<_, assetkitd::domain::Error>(())
            })
            .unwrap();
        }
        credential.expect("the first report enrolled its host")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_inventory_moves_whole_and_verify_proves_it() {
    let source = TestDb::on(Engine::Sqlite);
    let credential = seed(&source, 10_000);
    source.create_key("fleet", "agent");
    source.with(|db| assetkitd::domain::users::create_user(db, "alice", "correct horse battery", "test", 0).unwrap());
    let csv = source.dir.path().join("buy.csv");
    std::fs::write(&csv, "SN,Vendor,Model,IDC,Rack\nPUR-1,Dell,R640,dc1,R01\nPUR-2,HP,DL380,dc2,R02\n").unwrap();
    let (ok, _, err) = cli(&source, &["import", csv.to_str().unwrap()]);
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&source, &["fields", "add", "cost_centre", "--type", "integer"]);
    assert!(ok, "{err}");
    let (ok, _, err) =
        cli(&source, &["assets", "set", "copy-00001", "--tags", "prod,pci", "--field", "cost_centre=4100"]);
    assert!(ok, "{err}");
    let changes: i64 = source.scalar("SELECT COUNT(*) FROM changes", &[]);
    assert!(changes >= 30_000, "history: {changes} change events (added, disk replaced, MTU changed)");

    // Into an empty store of the run's engine, with the same server key file.
    let target = TestDb::new();
    std::fs::copy(&source.key_file, &target.key_file).unwrap();
    let (from, to) = (source.cli_args()[1].clone(), target.cli_args()[1].clone());
    let (ok, out, err) = cli_raw(&["store", "copy", "--from", &from, "--to", &to]);
    assert!(ok, "{err}");
    eprintln!("{err}{out}");
    assert!(out.contains("copied") && err.contains("assets") && err.contains("10002 rows"), "{out}\n{err}");
    let (ok, out, err) = cli_raw(&["store", "verify", &from, &to]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("the stores hold the same inventory"), "{out}");
    // What the later schema versions added came along, not only the tables of the first ones.
    for (table, rows) in
        [("asset_packages", 150), ("package_names", 3), ("asset_tags", 2), ("asset_fields", 1), ("guests", 10)]
    {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!((table, source.scalar::<i64>(&sql, &[])), (table, rows));
        assert_eq!((table, target.scalar::<i64>(&sql, &[])), (table, rows), "{err}");
    }

    // A second copy into the now non-empty store is refused, and writes nothing.
    let (ok, _, err) = cli_raw(&["store", "copy", "--from", &from, "--to", &to]);
    assert!(!ok && err.contains("not empty"), "{err}");

    // One changed value, one missing row: verify says where, and fails.
    target.with(|db| {
        db.execute("UPDATE components SET data = '{}' WHERE asset_id = (SELECT MIN(asset_id) FROM components)", &[])
            .unwrap();
        db.execute("DELETE FROM admin_events WHERE id = (SELECT MAX(id) FROM admin_events)", &[]).unwrap();
    });
    let (ok, out, _) = cli_raw(&["store", "verify", &from, &to, "--json"]);
    assert!(!ok);
    let verdict: serde_json::Value = serde_json::from_str(&out).unwrap();
    let differ: Vec<&str> = verdict["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["same"] == false)
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(differ, ["components", "admin_events"], "{out}");

    // The copy serves: the host's credential (sealed, copied as it was) still writes its asset,
    // and new assets get fresh ids after the copied ones.
    let s = TestServer::start_on(target, |_| {}).await;
    // Its report sends the digest alone, as the agent does once its list was acknowledged: the
    // copy holds that list, so no 409 asks for it again.
    let mut digest_only = physical("copy-00000", "COPY-00000");
    digest_only.facts.packages_digest = Some(packages_digest(&packages_of(0)));
    let (status, answer) = s.report_as(&credential, &digest_only).await;
    assert_eq!(status, 200, "{answer}");
    let software = s.admin_get("/api/v1/software?q=openssl").await;
    assert_eq!(software["software"][0]["hosts"], 50, "{software}");
    let (status, created) = s.send_as(&s.admin, "POST", "/api/v1/assets", br#"{"hostname": "after-copy"}"#).await;
    assert_eq!(status, 201, "{created}");
    assert!(created["asset_id"].as_i64().unwrap() > 10_002, "{created}");
    let page = s.admin_get("/api/v1/assets?q=copy-0999&per_page=50").await;
    assert_eq!(page["total"], 10, "{page}");
    s.stop().await;
}
