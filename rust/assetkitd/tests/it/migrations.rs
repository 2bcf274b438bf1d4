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
