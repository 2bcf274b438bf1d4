//! Moving a live inventory between stores (`assetkitd store copy`) and proving two stores hold
//! the same (`assetkitd store verify`), across engines.
//!
//! Both stores are opened (and so migrated) to this build's schema version first; the tables
//! then have the same columns on either engine. Rows are read in primary-key order a page at a
//! time (memory stays flat at any size) and written in one transaction on the target: a copy
//! is whole or absent. Sealed secrets are copied as they are: the servers of the new store are
//! given the same `--secret-key-file`.
//!
//! A table's digest is order-free: the wrapping sum, modulo 2^128, of the SHA-256 of each row
//! written canonically (columns by name, values typed). So engines that order text differently
//! still agree, and one changed, missing or extra row changes the digest.

use sha2::{Digest, Sha256};

use super::db::{Db, DbError, DbErrorKind, DbExt, Engine, Value};

/// The tables, in an order that satisfies their foreign keys, with the key they are paged by
/// (empty: no key, paged by offset; small tables only).
pub const TABLES: &[(&str, &[&str])] = &[
    ("business_units", &["id"]),
    ("idcs", &["id"]),
    ("assets", &["id"]),
    ("asset_reports", &["asset_id"]),
    ("asset_names", &["name", "asset_id"]),
    ("components", &["asset_id", "kind", "key"]),
    ("changes", &["id"]),
    ("plugin_errors", &[]),
    ("applied_reports", &["report_id"]),
    ("api_keys", &["key_id"]),
    ("nonces", &["key_id", "nonce"]),
    ("users", &["id"]),
    ("sessions", &["token_hash"]),
    ("admin_events", &["id"]),
    ("webhooks", &["id"]),
    ("outbox", &["id"]),
    ("event_budgets", &["asset_id"]),
    ("settings", &["name"]),
    // Installed software (version 10): the fleet's packages, then each asset's set. The host
    // counts are columns, copied with their rows.
    ("package_names", &["id"]),
    ("packages", &["id"]),
    ("asset_packages", &["asset_id", "package_id"]),
    // Ownership and guests (version 12).
    ("asset_tags", &["asset_id", "tag"]),
    ("custom_fields", &["id"]),
    ("asset_fields", &["asset_id", "field_id"]),
    ("guests", &["hypervisor_id", "key"]),
    ("warranty_alerts", &["asset_id", "threshold", "warranty_end"]),
];

/// Tables whose `id` is generated (the sequence is moved past the copied ids on PostgreSQL).
const GENERATED_IDS: &[&str] = &[
    "business_units",
    "idcs",
    "assets",
    "changes",
    "users",
    "admin_events",
    "webhooks",
    "outbox",
    "package_names",
    "packages",
    "custom_fields",
];

/// Rows read per page.
const PAGE: usize = 2000;

/// What one table holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// The table.
    pub table: &'static str,
    /// Its rows.
    pub rows: u64,
    /// The order-free digest of its rows (hex).
    pub digest: String,
}

/// The columns of `table`, in the engine's order.
fn columns(db: &mut dyn Db, table: &str) -> Result<Vec<String>, DbError> {
    let sql = match db.engine() {
        Engine::Sqlite => "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
        Engine::Postgres => {
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position"
        }
    };
    let cols: Vec<String> = db.column(sql, crate::args![table])?;
    if cols.is_empty() {
        return Err(DbError::new(DbErrorKind::Other, format!("table {table} is missing")));
    }
    Ok(cols)
}

/// Reads every row of `table` (columns `cols`), a page at a time, handing each page to `each`.
fn pages(
    db: &mut dyn Db,
    table: &str,
    key: &[&str],
    cols: &[String],
    mut each: impl FnMut(&[Vec<Value>]) -> Result<(), DbError>,
) -> Result<(), DbError> {
    let list = cols.join(", ");
    let key_at: Vec<usize> = key.iter().map(|k| cols.iter().position(|c| c == k).expect("key column")).collect();
    let mut after: Option<Vec<Value>> = None;
    let mut offset = 0usize;
    loop {
        let rows = if key.is_empty() {
            let order = (1..=cols.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
            db.query(
                &format!("SELECT {list} FROM {table} ORDER BY {order} LIMIT ?1 OFFSET ?2"),
                crate::args![PAGE, offset],
            )?
        } else {
            let order = key.join(", ");
            match &after {
                None => {
                    db.query(&format!("SELECT {list} FROM {table} ORDER BY {order} LIMIT ?1"), crate::args![PAGE])?
                }
                Some(last) => {
                    let marks = (2..2 + key.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
                    let mut params = vec![Value::from(PAGE)];
                    params.extend(last.iter().cloned());
                    db.query(
                        &format!("SELECT {list} FROM {table} WHERE ({order}) > ({marks}) ORDER BY {order} LIMIT ?1"),
                        &params,
                    )?
                }
            }
        };
        let rows: Vec<Vec<Value>> = rows.into_iter().map(|r| r.0).collect();
        if rows.is_empty() {
            return Ok(());
        }
        each(&rows)?;
        offset += rows.len();
        after = rows.last().map(|r| key_at.iter().map(|&i| r[i].clone()).collect());
        if rows.len() < PAGE {
            return Ok(());
        }
    }
}

/// One row, written canonically and hashed: columns by name, values with their type.
fn row_hash(names: &[(usize, &String)], row: &[Value]) -> u128 {
    let mut h = Sha256::new();
    for (i, name) in names {
        h.update(name.as_bytes());
        h.update(b"=");
        match &row[*i] {
            Value::Null => h.update(b"N"),
            Value::Int(v) => h.update(format!("I{v}")),
            Value::Bool(b) => h.update(format!("I{}", i64::from(*b))),
            Value::Real(f) => h.update(format!("R{}", f.to_bits())),
            Value::Text(s) => {
                h.update(format!("T{}:", s.len()));
                h.update(s.as_bytes());
            }
        }
        h.update(b";");
    }
    let digest = h.finalize();
    u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"))
}

/// Counts and digests every table of `db`.
pub fn summarize(db: &mut dyn Db) -> Result<Vec<TableSummary>, DbError> {
    let mut out = Vec::new();
    for (table, key) in TABLES {
        let cols = columns(db, table)?;
        let mut names: Vec<(usize, &String)> = cols.iter().enumerate().collect();
        names.sort_by(|a, b| a.1.cmp(b.1));
        let (mut rows, mut sum) = (0u64, 0u128);
        pages(db, table, key, &cols, |page| {
            for row in page {
                rows += 1;
                sum = sum.wrapping_add(row_hash(&names, row));
            }
            Ok(())
        })?;
        out.push(TableSummary { table, rows, digest: format!("{sum:032x}") });
    }
    Ok(out)
}

/// Copies every table of `from` into `to`, which must hold no inventory yet, in one transaction
/// on `to`. `progress` hears each table's name and row count as it is done.
pub fn copy(
    from: &mut dyn Db,
    to: &mut dyn Db,
    mut progress: impl FnMut(&str, u64),
) -> Result<Vec<(&'static str, u64)>, DbError> {
    for (table, _) in TABLES {
        let n: i64 = to.scalar(&format!("SELECT COUNT(*) FROM {table}"), &[])?;
        if n > 0 {
            return Err(DbError::new(
                DbErrorKind::Other,
                format!("the target store is not empty ({table} has {n} rows); copy into a new, empty database"),
            ));
        }
    }
    let mut copied = Vec::new();
    super::transaction(to, |to| {
        for (table, key) in TABLES {
            let cols = columns(from, table)?;
            let mut theirs = columns(to, table)?;
            let mut ours = cols.clone();
            ours.sort();
            theirs.sort();
            if ours != theirs {
                return Err(DbError::new(
                    DbErrorKind::Other,
                    format!(
                        "table {table} has other columns in the target ({theirs:?} vs {ours:?}): different schema versions?"
                    ),
                ));
            }
            // Bounded by both engines' limits on parameters per statement.
            let per_insert = (30_000 / cols.len()).clamp(1, 200);
            let list = cols.join(", ");
            let mut n = 0u64;
            pages(from, table, key, &cols, |page| {
                for chunk in page.chunks(per_insert) {
                    let mut marks = Vec::with_capacity(chunk.len());
                    let mut params = Vec::with_capacity(chunk.len() * cols.len());
                    for row in chunk {
                        let base = params.len();
                        marks.push(format!(
                            "({})",
                            (1..=cols.len()).map(|i| format!("?{}", base + i)).collect::<Vec<_>>().join(", ")
                        ));
                        params.extend(row.iter().cloned());
                    }
                    to.execute(&format!("INSERT INTO {table} ({list}) VALUES {}", marks.join(", ")), &params)?;
                    n += chunk.len() as u64;
                }
                Ok(())
            })?;
            if to.engine() == Engine::Postgres && GENERATED_IDS.contains(table) {
                to.query(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
                    ),
                    &[],
                )?;
            }
            progress(table, n);
            copied.push((*table, n));
        }
        Ok(())
    })?;
    Ok(copied)
}
