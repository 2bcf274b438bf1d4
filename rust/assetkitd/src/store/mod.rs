//! The store layer: engines, migrations, the engine-neutral [`Db`] interface, the single writer,
//! time. It knows SQL and transactions, nothing of assets or reports.
//!
//! - [`db`]: `Db`, `Value`, `Row`, `DbError`; the interface the domain layer is written against.
//! - [`sqlite`]: the embedded engine (pragmas, migrations, reader pool).
//! - [`writer`]: one thread per write connection, group commit, one savepoint per job, nonces.
//! - [`secrets`]: secrets at rest, sealed under a server key kept outside the database.
//! - [`time`]: unix seconds and RFC 3339.

pub mod db;
pub mod secrets;
pub mod sqlite;
pub mod time;
pub mod writer;

use std::path::{Path, PathBuf};

pub use db::{Db, DbError, DbErrorKind, DbExt, Engine, Row, Value};
pub use time::{now, rfc3339};
pub use writer::{NonceUse, WriteFailure, Writer, WriterConfig};

/// Errors opening a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine said no.
    #[error("database error: {0}")]
    Db(#[from] DbError),
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
        /// In the database.
        found: u32,
        /// In this build.
        expected: u32,
    },
    /// The location names no engine this build knows.
    #[error("{0}")]
    Location(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.into())
    }
}

/// Where the inventory lives: `--db` / `ASSETKIT_DB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (`sqlite:PATH` or a bare path).
    Sqlite(PathBuf),
}

impl Location {
    /// Parses `sqlite:PATH` or a bare path.
    pub fn parse(s: &str) -> Result<Location, StoreError> {
        if let Some(path) = s.strip_prefix("sqlite:") {
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if s.contains("://") {
            return Err(StoreError::Location(format!("{s:?}: unknown database URL (use sqlite:PATH or a file path)")));
        }
        Ok(Location::Sqlite(PathBuf::from(s)))
    }

    /// What to show in logs and messages (never a password).
    pub fn shown(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
        }
    }
}

impl std::str::FromStr for Location {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Location::parse(s)
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Location::Sqlite(p.to_path_buf())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Location::Sqlite(p)
    }
}

/// Read connections.
#[derive(Clone)]
pub enum Readers {
    /// SQLite's reader pool.
    Sqlite(sqlite::Pool),
}

impl Readers {
    /// Runs `f` on a pooled read connection (blocking: call it off the async threads).
    pub fn with<T, E: From<DbError>>(&self, f: impl FnOnce(&mut dyn Db) -> Result<T, E>) -> Result<T, E> {
        match self {
            Readers::Sqlite(pool) => {
                let mut conn = pool.get().map_err(|e| DbError::new(DbErrorKind::Unavailable, e.to_string()))?;
                f(&mut *conn)
            }
        }
    }
}

/// Opens (creating and migrating) the store for one-off use: the admin CLI, tests.
pub fn connect(location: &Location) -> Result<Box<dyn Db + Send>, StoreError> {
    match location {
        Location::Sqlite(path) => Ok(Box::new(sqlite::open(path)?)),
    }
}

/// Runs `f` in one transaction on `db`: committed if it returns `Ok`, rolled back otherwise.
pub fn transaction<T, E: From<DbError>>(db: &mut dyn Db, f: impl FnOnce(&mut dyn Db) -> Result<T, E>) -> Result<T, E> {
    db.batch(match db.engine() {
        Engine::Sqlite => "BEGIN IMMEDIATE",
        Engine::Postgres => "BEGIN",
    })?;
    match f(db) {
        Ok(v) => {
            db.batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = db.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// What a running server holds of its store.
pub struct Store {
    /// Read connections.
    pub readers: Readers,
    /// The writer.
    pub writer: Writer,
    /// The engine.
    pub engine: Engine,
}

/// Opens the store for serving: migrates, starts the writer thread with `config`, opens the
/// readers. `max_bytes` caps a SQLite file.
pub fn start(
    location: &Location,
    readers: u32,
    max_bytes: Option<u64>,
    config: WriterConfig,
) -> Result<(Store, std::thread::JoinHandle<()>), StoreError> {
    match location {
        Location::Sqlite(path) => {
            let conn = sqlite::open(path)?;
            if let Some(bytes) = max_bytes {
                sqlite::cap_size(&conn, bytes)?;
            }
            let pool = sqlite::reader_pool(path, readers)?;
            let (writer, thread) = Writer::spawn(Box::new(conn), config, path.display().to_string());
            Ok((Store { readers: Readers::Sqlite(pool), writer, engine: Engine::Sqlite }, thread))
        }
    }
}

/// The server key file: the one given, else (for SQLite) `DB.key` beside the database.
pub fn key_file(location: &Location, given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    match location {
        Location::Sqlite(db) => Ok(secrets::default_key_file(db)),
    }
}
