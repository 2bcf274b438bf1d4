//! The store layer: engines, migrations, the engine-neutral [`Db`] interface, the single writer,
//! time. It knows SQL and transactions, nothing of assets or reports.
//!
//! - [`db`]: `Db`, `Value`, `Row`, `DbError`; the interface the domain layer is written against.
//! - [`sqlite`]: the embedded engine (pragmas, migrations, reader pool).
//! - [`postgres`]: the scale-out engine (TLS, migrations, pool, reconnection).
//! - [`writer`]: writer threads (one on SQLite, several on PostgreSQL), group commit, one
//!   savepoint per job, nonces.
//! - [`connection`]: where a writer thread gets its connection, who answers its commits.
//! - [`copy`]: `store copy` and `store verify`, across engines.
//! - [`backup`]: `assetkitd backup`, a consistent copy of a live SQLite file.
//! - [`secrets`]: secrets at rest, sealed under a server key kept outside the database.
//! - [`wal`]: the serving SQLite writer's sync and checkpoint threads.
//! - [`time`]: unix seconds and RFC 3339.

pub mod backup;
pub mod connection;
pub mod copy;
pub mod db;
pub mod lanes;
pub mod postgres;
pub mod secrets;
pub mod sqlite;
pub mod time;
pub mod wal;
pub mod writer;

use std::path::{Path, PathBuf};

pub use db::{Db, DbError, DbErrorKind, DbExt, Engine, FromValue, Row, StoreError, Value};
pub use time::{now, rfc3339};
pub use writer::{Lane, NonceUse, WriteFailure, Writer, WriterConfig};

/// Where the inventory lives: `--db` / `ASSETKIT_DB`.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (`sqlite:PATH` or a bare path).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://user@host:port/dbname?sslmode=require`).
    Postgres(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Location {
    /// Parses `sqlite:PATH`, `postgres://...` (or `postgresql://...`), or a bare path.
    pub fn parse(s: &str) -> Result<Location, StoreError> {
        if let Some(path) = s.strip_prefix("sqlite:") {
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            postgres::Target::parse(s)?;
            return Ok(Location::Postgres(s.to_owned()));
        }
        if s.contains("://") {
            return Err(StoreError::Location(format!(
                "{:?}: unknown database URL (use postgres://user@host/dbname, sqlite:PATH or a file path)",
                crate::log::clip(s)
            )));
        }
        Ok(Location::Sqlite(PathBuf::from(s)))
    }

    /// What to show in logs and messages: never a password.
    pub fn shown(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => match url::Url::parse(url) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    u.to_string()
                }
                Err(_) => "postgres://(unparsable)".to_owned(),
            },
        }
    }

    /// The engine it names.
    pub fn engine(&self) -> Engine {
        match self {
            Location::Sqlite(_) => Engine::Sqlite,
            Location::Postgres(_) => Engine::Postgres,
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
    /// PostgreSQL's pool (connections are made on demand and replaced when broken).
    Postgres(postgres::Pool),
}

impl Readers {
    /// Runs `f` on a pooled read connection (blocking: call it off the async threads).
    pub fn with<T, E: From<DbError>>(&self, f: impl FnOnce(&mut dyn Db) -> Result<T, E>) -> Result<T, E> {
        let unavailable = |e: r2d2::Error| DbError::new(DbErrorKind::Unavailable, e.to_string());
        match self {
            Readers::Sqlite(pool) => f(&mut *pool.get().map_err(unavailable)?),
            Readers::Postgres(pool) => f(&mut *pool.get().map_err(unavailable)?),
        }
    }
}

/// Opens (creating and migrating) the store for one-off use: the admin CLI, tests.
pub fn connect(location: &Location) -> Result<Box<dyn Db + Send>, StoreError> {
    match location {
        Location::Sqlite(path) => Ok(Box::new(sqlite::open(path)?)),
        Location::Postgres(url) => Ok(Box::new(postgres::open(&postgres::Target::parse(url)?)?)),
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

/// How a served store is sized: `serve --readers`, `--writers`, `--max-db-bytes`.
#[derive(Debug, Clone, Copy)]
pub struct Sizing {
    /// Read connections.
    pub readers: u32,
    /// Writer threads, each with its own connection (PostgreSQL; SQLite has exactly one).
    pub writers: u32,
    /// Caps a SQLite file.
    pub max_bytes: Option<u64>,
}

/// Opens the store for serving: migrates, starts the writer thread(s) with `config`, opens the
/// readers.
pub fn start(
    location: &Location,
    sizing: Sizing,
    config: WriterConfig,
) -> Result<(Store, Vec<std::thread::JoinHandle<()>>), StoreError> {
    match location {
        Location::Sqlite(path) => {
            let conn = sqlite::open(path)?;
            if let Some(bytes) = sizing.max_bytes {
                sqlite::cap_size(&conn, bytes)?;
            }
            let pool = sqlite::reader_pool(path, sizing.readers)?;
            let health = std::sync::Arc::new(writer::Health::default());
            let (syncer, helpers) = wal::Syncer::spawn(&conn, health.clone(), config.fail_syncs)?;
            sqlite::tune_writer(&conn)?;
            let connection = writer::Connection::fixed(Box::new(conn))
                .after_commit(Box::new(move |replies| syncer.committed(replies)));
            let (writer, mut threads) =
                Writer::spawn_watched(vec![connection], config, path.display().to_string(), health);
            threads.extend(helpers);
            Ok((Store { readers: Readers::Sqlite(pool), writer, engine: Engine::Sqlite }, threads))
        }
        Location::Postgres(url) => {
            let target = postgres::Target::parse(url)?;
            // Migrate once before serving; then every connection is made on demand, so an
            // outage later is survived (answers 503 meanwhile) instead of ending the process.
            drop(postgres::open(&target)?);
            let pool = postgres::pool(&target, sizing.readers)?;
            let connections = (0..sizing.writers.max(1))
                .map(|_| {
                    let target = target.clone();
                    writer::Connection::reconnecting(Box::new(move || {
                        target.connect().map(|c| Box::new(c) as Box<dyn Db + Send>)
                    }))
                })
                .collect();
            let (writer, threads) = Writer::spawn(connections, config, location.shown());
            Ok((Store { readers: Readers::Postgres(pool), writer, engine: Engine::Postgres }, threads))
        }
    }
}

/// The server key file: the one given, else (for SQLite) `DB.key` beside the database. A
/// PostgreSQL store has no file beside it: every replica is given the same key file.
pub fn key_file(location: &Location, given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    match location {
        Location::Sqlite(db) => Ok(secrets::default_key_file(db)),
        Location::Postgres(_) => anyhow::bail!(
            "a PostgreSQL store needs --secret-key-file (or ASSETKIT_SECRET_KEY_FILE): the key that seals the \
             secrets in the database, the same file on every replica, backed up apart from the database"
        ),
    }
}
