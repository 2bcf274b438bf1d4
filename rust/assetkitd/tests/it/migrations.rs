//! A database written by an older assetkitd is migrated in place, data kept.

#[test]
fn version_1_database_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    {
        // What assetkitd 0.1 at schema version 1 left on disk.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(include_str!("../../src/store/migrations/sqlite/0001_inventory.sql")).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO assets (hostname, serial_number, status, ips, source, last_report, created_at, updated_at) \
             VALUES ('legacy-01', 'LEG-1', 'online', '10.9.8.7', 'report', '{\"schema_version\": 1}', 1, 1)",
            [],
        )
        .unwrap();
    }
    let mut conn = assetkitd::store::sqlite::open(&db).unwrap();
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, assetkitd::store::sqlite::schema_version());
    let report: String =
        conn.query_row("SELECT report FROM asset_reports WHERE asset_id = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(report, "{\"schema_version\": 1}");
    // The search index was built for existing rows.
    let filter = assetkitd::domain::inventory::AssetFilter { q: Some("10.9.8".into()), ..Default::default() };
    let page = assetkitd::domain::inventory::list_assets(&mut conn, &filter, 0).unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.assets[0]["hostname"], "legacy-01");
    drop(conn);
    // Opening again is a no-op.
    assetkitd::store::sqlite::open(&db).unwrap();
}

#[test]
fn a_newer_database_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    drop(assetkitd::store::sqlite::open(&db).unwrap());
    rusqlite::Connection::open(&db).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = assetkitd::store::sqlite::open(&db).unwrap_err().to_string();
    assert!(err.contains("newer than this assetkitd") && err.contains("upgrade"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_without_credentials_seals_its_secrets_and_its_assets_enrol_on_their_next_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v3.db");
    let secret = "aks_legacy_plaintext_0123456789";
    {
        // What assetkitd left at schema version 3: plaintext key secrets, no credentials.
        let conn = rusqlite::Connection::open(&db).unwrap();
        for sql in [
            include_str!("../../src/store/migrations/sqlite/0001_inventory.sql"),
            include_str!("../../src/store/migrations/sqlite/0002_console.sql"),
            include_str!("../../src/store/migrations/sqlite/0003_list_performance.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute(
            "INSERT INTO api_keys (key_id, name, scope, secret, created_at) VALUES ('ak_legacy', 'fleet', 'agent', ?1, 1)",
            [secret],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO assets (hostname, serial_number, status, source, created_at, updated_at) \
             VALUES ('legacy-01', 'LEG-1', 'online', 'report', 1, 1)",
            [],
        )
        .unwrap();
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(assetkitd::serve(listener, assetkitd::ServerConfig::new(db.clone()), async {
        let _ = rx.await;
    }));
    let client = crate::support::client();
    let post = |key: (String, assetkit_sign::Secret), report: assetkit_core::Report| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let body = serde_json::to_vec(&report).unwrap();
            let h = assetkit_sign::sign(&key.0, &key.1, "POST", "/api/v1/reports", &body);
            let mut req = client.post(format!("{base}/api/v1/reports")).body(body);
            for (n, v) in h.pairs() {
                req = req.header(n, v);
            }
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap())
        }
    };
    let fleet = ("ak_legacy".to_owned(), assetkit_sign::Secret::new(secret));
    // The legacy asset enrols on its next report, through the old fleet key.
    let (status, answer) = post(fleet.clone(), crate::support::physical("legacy-01", "LEG-1")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["asset_id"], 1, "the existing asset, not a new one");
    let host = (
        answer["host_key_id"].as_str().unwrap().to_owned(),
        assetkit_sign::Secret::new(answer["host_secret"].as_str().unwrap()),
    );
    let (status, _) = post(host, crate::support::physical("legacy-01", "LEG-1")).await;
    assert_eq!(status, 200);
    let _ = tx.send(());
    server.await.unwrap().unwrap();
    // The plaintext secret is gone from the database.
    let stored: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT secret FROM api_keys WHERE key_id = 'ak_legacy'", [], |r| r.get(0))
        .unwrap();
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    // Nor is it left in freed pages or the log (secure_delete).
    for file in [db.clone(), db.with_extension("db-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the old secret",
                file.display()
            );
        }
    }
}
