//! The SQLite engine: opening with the right pragmas, versioned migrations, the reader pool, and
//! [`Db`] over a rusqlite connection (statements cached per connection).
//!
//! One writer connection lives on the writer thread ([`super::writer`]); readers come from a
//! small r2d2 pool. WAL mode lets readers proceed while the writer commits.
//!
//! Durability: every acknowledged report survives power loss. The serving writer groups many
//! reports per transaction and commits with `synchronous=NORMAL`; its sync thread
//! ([`super::wal`]) syncs the write-ahead log after each commit and only then answers. Other
//! connections (the CLI, migrations) keep `synchronous=FULL`.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, ValueRef};

use super::db::{Db, DbError, DbErrorKind, Engine, Row, StoreError, Value};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[(&str, &str)] = &[
    ("inventory", include_str!("migrations/sqlite/0001_inventory.sql")),
    ("console", include_str!("migrations/sqlite/0002_console.sql")),
    ("list_performance", include_str!("migrations/sqlite/0003_list_performance.sql")),
    ("host_credentials", include_str!("migrations/sqlite/0004_host_credentials.sql")),
    ("counts", include_str!("migrations/sqlite/0005_counts.sql")),
    ("roles", include_str!("migrations/sqlite/0006_roles.sql")),
    ("dashboard", include_str!("migrations/sqlite/0007_dashboard.sql")),
    ("webhooks", include_str!("migrations/sqlite/0008_webhooks.sql")),
    ("trust", include_str!("migrations/sqlite/0009_trust.sql")),
    ("software", include_str!("migrations/sqlite/0010_software.sql")),
    ("newcomer", include_str!("migrations/sqlite/0011_newcomer.sql")),
    ("ownership", include_str!("migrations/sqlite/0012_ownership.sql")),
    ("dashboard_counts", include_str!("migrations/sqlite/0013_dashboard_counts.sql")),
    ("package_hosts_index", include_str!("migrations/sqlite/0014_package_hosts_index.sql")),
];

/// The schema version this build expects.
pub fn schema_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// Reader pool.
pub type Pool = r2d2::Pool<r2d2_sqlite::SqliteConnectionManager>;

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
        })
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let kind = match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                ErrorCode::ConstraintViolation => DbErrorKind::Constraint,
                ErrorCode::DiskFull => DbErrorKind::Full,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => DbErrorKind::Retry,
                _ => DbErrorKind::Other,
            },
            rusqlite::Error::QueryReturnedNoRows => DbErrorKind::NoRow,
            _ => DbErrorKind::Other,
        };
        DbError::new(kind, e.to_string())
    }
}

fn value_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

impl Db for Connection {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let mut stmt = self.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(value_of(row.get_ref(i)?));
            }
            out.push(Row(values));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.execute_batch(sql)?)
    }

    fn in_transaction(&mut self) -> bool {
        !self.is_autocommit()
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Deleted and overwritten content (a secret sealed in place, say) is zeroed in the page
    // instead of lingering in free space.
    conn.pragma_update(None, "secure_delete", "FAST")?;
    // Every statement the apply path runs stays prepared: rusqlite keeps 16 by default, fewer
    // than one report uses, and a statement evicted is parsed and planned again each time.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Prepared statements kept per connection (the distinct SQL texts the server runs are fewer).
const STATEMENT_CACHE: usize = 256;

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
    configure(&conn)?;
    use_wal(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Switches the file to WAL (once: the mode is stored in the file). Processes opening a new file
/// at the same moment race for the exclusive lock the switch needs, and SQLite answers the
/// loser "locked" at once rather than through the busy handler (waiting could deadlock): so the
/// switch is retried within the busy timeout, and skipped once another process has made it.
fn use_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        if mode.eq_ignore_ascii_case("wal") {
            return Ok(());
        }
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
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

/// Tunes the serving writer connection, which runs every write of every report:
/// - savepoint journals (one savepoint per report) in memory: on disk, each report's first
///   change to a page copied the page into a temporary file, a fifth of the writer's time;
/// - commits that do not wait for the disk (`synchronous=NORMAL`): the [`super::wal::Syncer`]
///   makes each committed batch durable on its own thread before anyone is answered, so the
///   writer goes on with the next batch meanwhile;
/// - no checkpoint on commit but past [`WRITER_CHECKPOINT_PAGES`]: the
///   [`super::wal::Checkpointer`] does it on its own thread.
///
/// Only with both helpers running: without the syncer, NORMAL would answer reports that a
/// power loss could still take back.
pub fn tune_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
}

/// Log pages past which the serving writer checkpoints after a commit (125 MiB; SQLite's default
/// is 1,000). The checkpoint thread has copied all but the last batch or two by then; what this
/// buys is a log wholly copied when the next write begins, the only moment SQLite starts the log
/// over (the checkpoint thread, one batch behind, never finds it so under continuous load). It
/// also bounds the log if that thread is gone.
///
/// It is not free: the writer syncs the log, copies what is left and syncs the database file,
/// and every report waits meanwhile (10 to 17 ms on the bench machine). At 4,000 pages that came
/// every 130 ms at saturation; at 32,000 about once a second. The price is disk: SQLite reuses the
/// log file from its start rather than shrinking it, so a receiver once saturated keeps a `-wal`
/// file of up to this size.
pub const WRITER_CHECKPOINT_PAGES: i64 = 32_000;

/// A connection to `path` for a helper thread, with the server's pragmas.
pub fn helper_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    Ok(conn)
}

/// Caps the database file at about `bytes` (SQLite then fails writes with "database or disk is
/// full", which the writer rolls back like any other failure).
pub fn cap_size(conn: &Connection, bytes: u64) -> rusqlite::Result<()> {
    let page: u64 = conn.pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0))? as u64;
    conn.pragma_update(None, "max_page_count", (bytes / page.max(1)).max(1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DbExt;

    #[test]
    fn the_interface_over_sqlite() {
        let mut conn = Connection::open_in_memory().unwrap();
        let db: &mut dyn Db = &mut conn;
        db.batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, flag INTEGER)").unwrap();
        let id: i64 =
            db.scalar("INSERT INTO t (name, flag) VALUES (?1, ?2) RETURNING id", crate::args!["a", true]).unwrap();
        assert_eq!(db.execute("UPDATE t SET name = ?2 WHERE id = ?1", crate::args![id, None::<String>]).unwrap(), 1);
        let row = db.query_one("SELECT id, name, flag FROM t", &[]).unwrap();
        assert_eq!((row.get::<i64>(0).unwrap(), row.get::<Option<String>>(1).unwrap()), (id, None));
        assert!(row.get::<bool>(2).unwrap());
        let err = db.execute("INSERT INTO t (id) VALUES (?1)", crate::args![id]).unwrap_err();
        assert!(err.is_constraint(), "{err:?}");
        assert!(!db.in_transaction());
    }
}
