//! Filling a store with many assets quickly, for the console and export benches.

use std::path::Path;

use crate::receiver::Receiver;

/// Fills the receiver's database with `n` realistic assets in one transaction, straight
/// through SQL: the same rows on either engine; then [`settle`]s it.
pub(crate) fn seed_assets(r: &Receiver, n: usize) -> anyhow::Result<()> {
    seed_rows(r, n)?;
    settle(r)
}

/// The rows of [`seed_assets`], written into tables every build since schema version 12 has.
pub(crate) fn seed_rows(r: &Receiver, n: usize) -> anyhow::Result<()> {
    match &r.location {
        assetkitd::store::Location::Sqlite(path) => seed_sqlite(path, n),
        assetkitd::store::Location::Postgres(_) => seed_postgres(r.db_as_is()?.as_mut(), n),
    }
}

/// What the receiver's minutely maintenance does after a bulk write: one row per status (and
/// make-up, and day). On PostgreSQL, two minutes of it with autovacuum in between: the first
/// fold leaves its sums behind a million dead deltas, the second moves them into the space
/// vacuum freed, so that the next vacuum can give the empty tail back.
pub(crate) fn settle(r: &Receiver) -> anyhow::Result<()> {
    let pg = matches!(r.location, assetkitd::store::Location::Postgres(_));
    fold_every_count(r.db()?.as_mut(), pg)
}

fn fold_every_count(db: &mut dyn assetkitd::store::Db, pg: bool) -> anyhow::Result<()> {
    for _ in 0..if pg { 2 } else { 1 } {
        assetkitd::domain::maintenance::fold_counts(db)?;
        if pg {
            for table in ["asset_counts", "makeup_counts", "change_day_counts"] {
                db.batch(&format!("VACUUM ANALYZE {table}"))?;
            }
        }
    }
    Ok(())
}

/// [`settle`] for a PostgreSQL database at the schema of a baseline build, left at that version:
/// before version 13 it keeps only the status counts, from 13 on the make-up and per-day counts
/// too. What that build's own maintenance folds, with the same two rounds.
pub(crate) fn settle_status_counts(r: &Receiver) -> anyhow::Result<()> {
    use assetkitd::store::DbExt;
    let mut db = r.db_as_is()?;
    let kept_makeup: Option<String> = db.scalar("SELECT to_regclass('makeup_counts')::text", &[])?;
    if kept_makeup.is_some() {
        return fold_every_count(db.as_mut(), true);
    }
    for _ in 0..2 {
        db.batch(
            "WITH gone AS (DELETE FROM asset_counts RETURNING status, delta) \
             INSERT INTO asset_counts (status, delta) SELECT status, SUM(delta) FROM gone GROUP BY status",
        )?;
        db.batch("VACUUM ANALYZE asset_counts")?;
    }
    Ok(())
}

/// [`seed_assets`] on PostgreSQL, generated in the server (a million rows in seconds).
pub(crate) fn seed_postgres(db: &mut dyn assetkitd::store::Db, n: usize) -> anyhow::Result<()> {
    let now = assetkit_sign::unix_now();
    db.batch(
        "BEGIN; \
         INSERT INTO business_units (id, name) VALUES (1, 'payments'), (2, 'search'), (3, 'storage'), (4, 'ml'), (5, 'web'), (6, 'infra'); \
         INSERT INTO idcs (id, name) SELECT i, 'dc' || i FROM generate_series(1, 8) i",
    )?;
    db.execute(
        "INSERT INTO assets (hostname, reported_hostname, serial_number, status, manufacturer, model, os, cpu_model, cpu_cores, \
         memory_bytes, ips, macs, business_unit_id, idc_id, rack, position, source, first_seen, last_seen, created_at, updated_at) \
         SELECT h, h, 'SN' || upper(lpad(to_hex((i * 2654435761) % 4294967291), 8, '0')), \
           CASE i % 20 WHEN 0 THEN 'discovered' WHEN 1 THEN 'in_stock' WHEN 2 THEN 'retired' ELSE 'online' END, \
           'Dell Inc.', 'PowerEdge R640', 'Rocky Linux 9.3', 'Intel(R) Xeon(R) Gold 6244 CPU @ 3.60GHz', 16, 274877906944, \
           format('10.%s.%s.%s 10.200.%s.%s', i / 65536 % 256, i / 256 % 256, i % 256, i / 256 % 256, i % 256), \
           format('e4:43:4b:%s:%s:%s', lpad(to_hex(i / 65536 % 256), 2, '0'), lpad(to_hex(i / 256 % 256), 2, '0'), lpad(to_hex(i % 256), 2, '0')), \
           i % 6 + 1, i % 8 + 1, 'R' || lpad((i % 48)::text, 2, '0'), 'U' || (i % 42 + 1), 'report', ?2 - 86400 * 90, \
           CASE WHEN i % 17 = 0 THEN ?2 - 30 * 86400 ELSE ?2 - i % 3600 END, ?2 - 86400 * 90, \
           CASE WHEN i % 17 = 0 THEN ?2 - 30 * 86400 ELSE ?2 - i % 3600 END \
         FROM (SELECT i, (ARRAY['web', 'db', 'cache', 'batch', 'gpu'])[i % 5 + 1] || '-' || lpad(i::text, 6, '0') || '.dc' || (i % 8 + 1) || '.example.com' AS h \
               FROM generate_series(0::bigint, ?1 - 1) i) s",
        &[assetkitd::store::Value::from(n), assetkitd::store::Value::from(now)],
    )?;
    db.execute(SEED_CHANGES, &[assetkitd::store::Value::from(now)])?;
    db.batch(SEED_OWNERSHIP)?;
    db.batch(
        "SELECT setval(pg_get_serial_sequence('business_units', 'id'), 7, false); \
         SELECT setval(pg_get_serial_sequence('idcs', 'id'), 9, false); COMMIT",
    )?;
    // What autovacuum does within a minute of a bulk load (statistics, the visibility map that
    // index-only counts rely on); measured after it, not during.
    db.batch("VACUUM ANALYZE assets")?;
    db.batch("VACUUM ANALYZE changes")?;
    db.batch("VACUUM ANALYZE asset_tags")?;
    db.batch("VACUUM ANALYZE asset_fields")?;
    Ok(())
}

/// [`seed_assets`] on SQLite.
pub(crate) fn seed_sqlite(db: &Path, n: usize) -> anyhow::Result<()> {
    let mut conn = rusqlite::Connection::open(db)?;
    let tx = conn.transaction()?;
    for (i, bu) in ["payments", "search", "storage", "ml", "web", "infra"].iter().enumerate() {
        tx.execute("INSERT INTO business_units (id, name) VALUES (?1, ?2)", rusqlite::params![i as i64 + 1, bu])?;
    }
    for i in 1..=8 {
        tx.execute("INSERT INTO idcs (id, name) VALUES (?1, ?2)", rusqlite::params![i, format!("dc{i}")])?;
    }
    let now = assetkit_sign::unix_now();
    {
        let mut insert = tx.prepare(
            "INSERT INTO assets (hostname, reported_hostname, serial_number, status, manufacturer, model, os, cpu_model, cpu_cores, \
             memory_bytes, ips, macs, business_unit_id, idc_id, rack, position, source, first_seen, last_seen, created_at, updated_at) \
             VALUES (?1, ?1, ?2, ?3, 'Dell Inc.', 'PowerEdge R640', 'Rocky Linux 9.3', 'Intel(R) Xeon(R) Gold 6244 CPU @ 3.60GHz', 16, \
             274877906944, ?4, ?5, ?6, ?7, ?8, ?9, 'report', ?10, ?11, ?10, ?11)",
        )?;
        for i in 0..n {
            let status = match i % 20 {
                0 => "discovered",
                1 => "in_stock",
                2 => "retired",
                _ => "online",
            };
            let last_seen = if i % 17 == 0 { now - 30 * 86_400 } else { now - (i % 3600) as i64 };
            insert.execute(rusqlite::params![
                format!("{}-{:06}.dc{}.example.com", ["web", "db", "cache", "batch", "gpu"][i % 5], i, i % 8 + 1),
                format!("SN{:08X}", i * 2_654_435_761 % 4_294_967_291),
                status,
                format!("10.{}.{}.{} 10.200.{}.{}", i / 65_536 % 256, i / 256 % 256, i % 256, i / 256 % 256, i % 256),
                format!("e4:43:4b:{:02x}:{:02x}:{:02x}", i / 65_536 % 256, i / 256 % 256, i % 256),
                (i % 6 + 1) as i64,
                (i % 8 + 1) as i64,
                format!("R{:02}", i % 48),
                format!("U{}", i % 42 + 1),
                now - 86_400 * 90,
                last_seen,
            ])?;
        }
    }
    tx.execute(SEED_CHANGES, rusqlite::params![now])?;
    tx.execute_batch(SEED_OWNERSHIP)?;
    tx.commit()?;
    Ok(())
}

/// Change events for the dashboard's 30-day chart and hardware list: one for every tenth asset,
/// spread over 30 days and over disks, DIMMs, NICs, the OS and admin edits.
pub(crate) const SEED_CHANGES: &str = "INSERT INTO changes (asset_id, at, component, key, kind, field, old, new, actor, summary) \
     SELECT id, ?1 - (id / 10 % 30) * 86400 - id % 3600, \
       CASE id / 10 % 7 WHEN 0 THEN 'disk' WHEN 1 THEN 'memory_module' WHEN 2 THEN 'nic' WHEN 3 THEN 'psu' \
         WHEN 4 THEN 'os' WHEN 5 THEN 'bios' ELSE 'asset' END, \
       'slot-1', 'changed', 'serial_number', 'OLD', 'NEW', NULL, 'bench: part replaced' \
     FROM assets WHERE id % 10 = 0";

/// Tags and a custom field on every asset, as a fleet that uses them has: each asset in one of
/// 50 teams (`team-N`), one in a hundred tagged `pci`; a field `cost_centre` (integer), one of
/// 1,000 values per asset. The same statements on either engine.
pub(crate) const SEED_OWNERSHIP: &str = "\
     INSERT INTO asset_tags (asset_id, tag) SELECT id, 'team-' || (id % 50) FROM assets; \
     INSERT INTO asset_tags (asset_id, tag) SELECT id, 'pci' FROM assets WHERE id % 100 = 0; \
     INSERT INTO custom_fields (id, name, type, created_at) VALUES (1, 'cost_centre', 'integer', 0); \
     INSERT INTO asset_fields (asset_id, field_id, value) SELECT id, 1, CAST(id % 1000 AS TEXT) FROM assets;";
