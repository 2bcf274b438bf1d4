//! The SQLite store: opening with the right pragmas, versioned migrations, the reader pool.
//!
//! One writer connection lives on the writer thread ([`crate::writer`]); readers come from a
//! small r2d2 pool. WAL mode lets readers proceed while the writer commits.
//!
//! Durability: `synchronous=FULL`. The writer groups many reports per transaction, so the
//! fsync per commit is shared and FULL costs little, while every acknowledged report survives
//! power loss (NORMAL in WAL mode may lose the last transactions).

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[(&str, &str)] = &[
    ("inventory", include_str!("migrations/0001_inventory.sql")),
    ("console", include_str!("migrations/0002_console.sql")),
    ("list_performance", include_str!("migrations/0003_list_performance.sql")),
];

/// The schema version this build expects.
pub fn schema_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The pool could not hand out a connection.
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    /// The file could not be created.
    #[error("cannot create database file {path}: {source}")]
    Create {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The database is newer than this build.
    #[error("database schema version {found} is newer than this assetkitd ({expected}); upgrade assetkitd")]
    TooNew {
        /// In the file.
        found: u32,
        /// In this build.
        expected: u32,
    },
}

/// Reader pool.
pub type Pool = r2d2::Pool<r2d2_sqlite::SqliteConnectionManager>;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Opens (creating with mode 0600 if needed: it holds API secrets) and migrates the database,
/// returning the writer connection.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .or_else(|e| if e.kind() == std::io::ErrorKind::AlreadyExists { std::fs::File::open(path) } else { Err(e) })
            .map_err(|source| StoreError::Create { path: path.display().to_string(), source })?;
    }
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    configure(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Applies pending migrations, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> Result<u32, StoreError> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let expected = schema_version();
    if found > expected {
        return Err(StoreError::TooNew { found, expected });
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as u32 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        // Another process may have migrated while we waited for the lock.
        let now: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now >= version {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, migration = *name, "database migrated");
    }
    Ok(expected)
}

/// A pool of read connections to a migrated database.
pub fn reader_pool(path: &Path, size: u32) -> Result<Pool, StoreError> {
    let manager = r2d2_sqlite::SqliteConnectionManager::file(path)
        .with_flags(
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
                | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )
        .with_init(|c| {
            configure(c)?;
            // Readers serve the console's lists: a larger page cache per connection, and the
            // file mapped so the OS page cache is shared between them.
            c.pragma_update(None, "cache_size", -32_768)?;
            c.pragma_update(None, "mmap_size", 268_435_456)?;
            c.pragma_update(None, "query_only", "ON")
        });
    Ok(r2d2::Pool::builder().max_size(size).min_idle(Some(1)).build(manager)?)
}

/// Caps the database file at about `bytes` (SQLite then fails writes with "database or disk is
/// full", which the writer rolls back like any other failure).
pub fn cap_size(conn: &Connection, bytes: u64) -> rusqlite::Result<()> {
    let page: u64 = conn.pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0))? as u64;
    conn.pragma_update(None, "max_page_count", (bytes / page.max(1)).max(1) as i64)
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    assetkit_sign::unix_now()
}
