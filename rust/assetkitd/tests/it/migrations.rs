//! A database written by an older assetkitd is migrated in place, data kept; a newer one is
//! refused. On the run's engine: each engine has its own migrations, with the same versions.

use assetkitd::store::{Db, DbExt, Engine, Location};

use crate::support::{TestDb, blocking};

/// The engine's migration files, in order.
fn migrations(engine: Engine) -> [&'static str; 14] {
    match engine {
        Engine::Sqlite => [
            include_str!("../../src/store/migrations/sqlite/0001_inventory.sql"),
            include_str!("../../src/store/migrations/sqlite/0002_console.sql"),
            include_str!("../../src/store/migrations/sqlite/0003_list_performance.sql"),
            include_str!("../../src/store/migrations/sqlite/0004_host_credentials.sql"),
            include_str!("../../src/store/migrations/sqlite/0005_counts.sql"),
            include_str!("../../src/store/migrations/sqlite/0006_roles.sql"),
            include_str!("../../src/store/migrations/sqlite/0007_dashboard.sql"),
            include_str!("../../src/store/migrations/sqlite/0008_webhooks.sql"),
            include_str!("../../src/store/migrations/sqlite/0009_trust.sql"),
            include_str!("../../src/store/migrations/sqlite/0010_software.sql"),
            include_str!("../../src/store/migrations/sqlite/0011_newcomer.sql"),
            include_str!("../../src/store/migrations/sqlite/0012_ownership.sql"),
            include_str!("../../src/store/migrations/sqlite/0013_dashboard_counts.sql"),
            include_str!("../../src/store/migrations/sqlite/0014_package_hosts_index.sql"),
        ],
        Engine::Postgres => [
            include_str!("../../src/store/migrations/postgres/0001_inventory.sql"),
            include_str!("../../src/store/migrations/postgres/0002_console.sql"),
            include_str!("../../src/store/migrations/postgres/0003_list_performance.sql"),
            include_str!("../../src/store/migrations/postgres/0004_host_credentials.sql"),
            include_str!("../../src/store/migrations/postgres/0005_counts.sql"),
            include_str!("../../src/store/migrations/postgres/0006_roles.sql"),
            include_str!("../../src/store/migrations/postgres/0007_dashboard.sql"),
            include_str!("../../src/store/migrations/postgres/0008_webhooks.sql"),
            include_str!("../../src/store/migrations/postgres/0009_trust.sql"),
            include_str!("../../src/store/migrations/postgres/0010_software.sql"),
            include_str!("../../src/store/migrations/postgres/0011_newcomer.sql"),
            include_str!("../../src/store/migrations/postgres/0012_ownership.sql"),
            include_str!("../../src/store/migrations/postgres/0013_dashboard_counts.sql"),
            include_str!("../../src/store/migrations/postgres/0014_package_hosts_index.sql"),
        ],
    }
}

/// A connection that does not migrate: what an older assetkitd had.
fn raw(db: &TestDb) -> Box<dyn Db + Send> {
    match &db.location {
        Location::Sqlite(path) => Box::new(rusqlite::Connection::open(path).unwrap()),
        Location::Postgres(url) => Box::new(assetkitd::store::postgres::Target::parse(url).unwrap().connect().unwrap()),
    }
}

/// Records schema `version` as the engine's migrator does.
fn set_version(db: &mut dyn Db, version: u32) {
    match db.engine() {
        Engine::Sqlite => db.batch(&format!("PRAGMA user_version = {version}")).unwrap(),
        Engine::Postgres => {
            db.batch("CREATE TABLE IF NOT EXISTS assetkit_schema (version BIGINT NOT NULL)").unwrap();
            db.execute("DELETE FROM assetkit_schema", &[]).unwrap();
            db.execute("INSERT INTO assetkit_schema (version) VALUES (?1)", assetkitd::args![version]).unwrap();
        }
    }
}

/// What an older assetkitd at `version` left: its schema and `rows`.
fn old_database(db: &TestDb, version: usize, rows: &[&str]) {
    blocking(|| {
        let mut conn = raw(db);
        for sql in &migrations(db.engine())[..version] {
            conn.batch(sql).unwrap();
        }
        set_version(conn.as_mut(), version as u32);
        for row in rows {
            conn.execute(row, &[]).unwrap();
        }
    });
}

#[test]
fn version_1_database_is_migrated_with_its_data() {
    let db = TestDb::new();
    old_database(
        &db,
        1,
        &["INSERT INTO assets (hostname, serial_number, status, ips, source, last_report, created_at, updated_at) \
           VALUES ('legacy-01', 'LEG-1', 'online', '10.9.8.7', 'report', '{\"schema_version\": 1}', 1, 1)"],
    );
    db.with(|conn| {
        let report: String = conn.scalar("SELECT report FROM asset_reports WHERE asset_id = 1", &[]).unwrap();
        assert_eq!(report, "{\"schema_version\": 1}");
        // The search index was built for existing rows.
        let filter = assetkitd::domain::inventory::AssetFilter { q: Some("10.9.8".into()), ..Default::default() };
        let page = assetkitd::domain::inventory::list_assets(conn, &filter, 0).unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.assets[0]["hostname"], "legacy-01");
        let enrolment: String = conn.scalar("SELECT enrolment FROM assets WHERE id = 1", &[]).unwrap();
        assert_eq!(enrolment, "none");
    });
    // Opening again is a no-op.
    db.with(|_| ());
}

#[test]
fn users_from_before_roles_become_admins_and_keep_their_sessions() {
    let db = TestDb::new();
    // What assetkitd left at schema version 5: a user who could do everything, signed in.
    let hash = {
        use argon2::password_hash::PasswordHasher;
        argon2::Argon2::default().hash_password(b"correct horse battery").unwrap().to_string()
    };
    let session = "f".repeat(64);
    let token_hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(session.as_bytes()))
    };
    old_database(
        &db,
        5,
        &[
            &format!("INSERT INTO users (name, password_hash, created_at) VALUES ('old-hand', '{hash}', 1)"),
            &format!(
                "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at)                  VALUES ('{token_hash}', 1, 'c', 1, 9999999999)"
            ),
        ],
    );
    db.with(|conn| {
        let people = assetkitd::domain::users::list_users(conn).unwrap();
        assert_eq!(people.len(), 1);
        assert_eq!((people[0].name.as_str(), people[0].role), ("old-hand", assetkitd::domain::users::Role::Admin));
        let signed_in = assetkitd::domain::users::session(conn, &session, 2).unwrap().expect("the session survives");
        assert_eq!(signed_in.role, assetkitd::domain::users::Role::Admin);
        assert_eq!(assetkitd::domain::users::verify(conn, "old-hand", "correct horse battery").unwrap(), Some(1));
        // The column only holds the three roles.
        assert!(conn.execute("UPDATE users SET role = 'superuser'", &[]).is_err());
    });
}

#[test]
fn a_newer_database_is_refused_with_advice() {
    let db = TestDb::new();
    db.with(|conn| set_version(conn, 99));
    let err = blocking(|| assetkitd::store::connect(&db.location).err().expect("refused").to_string());
    assert!(err.contains("newer than this assetkitd") && err.contains("upgrade"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_without_credentials_seals_its_secrets_and_its_assets_enrol_on_their_next_report() {
    let db = TestDb::new();
    let secret = "aks_legacy_plaintext_0123456789";
    // What assetkitd left at schema version 3: plaintext key secrets, no credentials.
    old_database(
        &db,
        3,
        &[
            &format!(
                "INSERT INTO api_keys (key_id, name, scope, secret, created_at) VALUES ('ak_legacy', 'fleet', 'agent', '{secret}', 1)"
            ),
            "INSERT INTO assets (hostname, serial_number, status, source, created_at, updated_at) \
             VALUES ('legacy-01', 'LEG-1', 'online', 'report', 1, 1)",
        ],
    );
    let s = crate::support::TestServer::start_on(db, |_| {}).await;
    let fleet = ("ak_legacy".to_owned(), assetkit_sign::Secret::new(secret));
    // The legacy asset enrols on its next report, through the old fleet key.
    let (status, answer) = s.report_as(&fleet, &crate::support::physical("legacy-01", "LEG-1")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["asset_id"], 1, "the existing asset, not a new one");
    let host = (
        answer["host_key_id"].as_str().unwrap().to_owned(),
        assetkit_sign::Secret::new(answer["host_secret"].as_str().unwrap()),
    );
    let (status, _) = s.report_as(&host, &crate::support::physical("legacy-01", "LEG-1")).await;
    assert_eq!(status, 200);
    let db = s.stop_keeping_db().await;
    // The plaintext secret is gone from the database.
    let stored: String = db.scalar("SELECT secret FROM api_keys WHERE key_id = 'ak_legacy'", &[]);
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(!db.dump().contains(secret), "the old secret is still in a table");
    // Nor is it left in SQLite's freed pages or log (secure_delete).
    if let Location::Sqlite(path) = &db.location {
        for file in [path.clone(), path.with_extension("db-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{} holds the old secret",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn replicas_starting_together_on_an_empty_database_all_open_it() {
    let db = TestDb::new();
    let barrier = std::sync::Barrier::new(8);
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let starts: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    assetkitd::store::connect(&db.location).map(drop).map_err(|e| e.to_string())
                })
            })
            .collect();
        starts.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for result in &results {
        assert!(result.is_ok(), "a replica failed to open the database: {result:?}");
    }
    let version: i64 = db.with(|conn| {
        let sql = match conn.engine() {
            Engine::Sqlite => "PRAGMA user_version",
            Engine::Postgres => "SELECT version FROM assetkit_schema",
        };
        conn.scalar(sql, &[]).unwrap()
    });
    assert_eq!(version as usize, migrations(db.engine()).len());
}

#[test]
fn version_9_webhooks_keep_their_deliveries_and_a_removed_id_is_never_given_again() {
    let db = TestDb::new();
    // Ids generated as assetkitd generates them: 1 and 2.
    let hook = |n: i64| {
        format!(
            "INSERT INTO webhooks (url, url_shown, secret, format, created_at, created_by) \
             VALUES ('sealed', 'http://x/', 'sealed', 'json', {n}, 'test')"
        )
    };
    let delivery = |id: i64, hook: i64| {
        format!(
            "INSERT INTO outbox (id, webhook_id, asset_id, event_id, event, payload, state, created_at, next_at) \
             VALUES ({id}, {hook}, 1, 'e{id}', 'disk.replaced', '{{}}', 'dead', 1, 1)"
        )
    };
    let rows = [hook(1), hook(2), delivery(1, 1), delivery(2, 2), "DELETE FROM webhooks WHERE id = 2".into()];
    old_database(&db, 9, &rows.iter().map(String::as_str).collect::<Vec<_>>());
    // Opening migrates.
    let (hooks, deliveries, next): (Vec<i64>, Vec<i64>, i64) = db.with(|conn| {
        let hooks = conn.column("SELECT id FROM webhooks ORDER BY id", &[]).unwrap();
        let deliveries = conn.column("SELECT id FROM outbox ORDER BY id", &[]).unwrap();
        conn.execute("DELETE FROM webhooks WHERE id = 1", &[]).unwrap();
        let next = conn
            .scalar(
                "INSERT INTO webhooks (url, url_shown, secret, format, created_at, created_by) \
                 VALUES ('', 'http://y/', '', 'json', 2, 'test') RETURNING id",
                &[],
            )
            .unwrap();
        (hooks, deliveries, next)
    });
    assert_eq!((hooks, deliveries), (vec![1], vec![1]), "the migration dropped or kept the wrong rows");
    // Webhook 1 was the last one: an id is given again only if nothing remembers it.
    assert!(next > 1, "a removed webhook's id was given again: {next}");
}

#[test]
fn version_11_uuids_are_lowered_and_purchase_dates_become_columns_without_change_events() {
    let db = TestDb::new();
    old_database(
        &db,
        11,
        &["INSERT INTO assets (hostname, status, source, uuid, purchase, created_at, updated_at) VALUES \
           ('vm-old', 'online', 'report', 'ABCDEF01-0000-0000-0000-00000000000A', \
           '{\"purchase_date\": \"2024-01-02\", \"warranty_end\": \"2027-01-01\"}', 1, 1)"],
    );
    let (uuid, purchased, warranty, events): (String, Option<String>, Option<String>, i64) = db.with(|conn| {
        let row = conn.query_one("SELECT uuid, purchase_date, warranty_end FROM assets", &[]).unwrap();
        let events = conn.scalar("SELECT COUNT(*) FROM changes", &[]).unwrap();
        (row.get(0).unwrap(), row.get(1).unwrap(), row.get(2).unwrap(), events)
    });
    assert_eq!(uuid, "abcdef01-0000-0000-0000-00000000000a");
    assert_eq!((purchased.as_deref(), warranty.as_deref()), (Some("2024-01-02"), Some("2027-01-01")));
    assert_eq!(events, 0, "lowering stored UUIDs is not a change");
}
