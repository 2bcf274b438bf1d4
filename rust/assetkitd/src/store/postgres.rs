//! The PostgreSQL engine: [`Db`] over a `postgres` client (statements prepared once per
//! connection), connections that come back by themselves after an outage, versioned
//! migrations, and the r2d2 pool the readers and writers draw from.
//!
//! Values cross as [`Value`] and are converted to whatever type PostgreSQL inferred for the
//! placeholder (an `Int` bound to a `TEXT` parameter is sent as its decimal text, and so on), so
//! the domain's SQL needs no casts. Integers in the schema are all `BIGINT`.
//!
//! TLS: `sslmode=require` (or `verify-ca`/`verify-full`: the same here) in the URL connects with
//! rustls, verifying the server's certificate and name against the system's root certificates
//! (plus `sslrootcert=FILE` when given); no `sslmode`, or `disable`, connects in clear.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Config, Statement};

use super::db::{Db, DbError, DbErrorKind, Engine, Row, StoreError, Value, to_dollar_placeholders};

/// Schema migrations, applied in order; `assetkit_schema.version` records how many ran. The
/// same versions as SQLite's (`migrations/sqlite`), in PostgreSQL's types.
const MIGRATIONS: &[(&str, &str)] = &[
    ("inventory", include_str!("migrations/postgres/0001_inventory.sql")),
    ("console", include_str!("migrations/postgres/0002_console.sql")),
    ("list_performance", include_str!("migrations/postgres/0003_list_performance.sql")),
    ("host_credentials", include_str!("migrations/postgres/0004_host_credentials.sql")),
    ("counts", include_str!("migrations/postgres/0005_counts.sql")),
    ("roles", include_str!("migrations/postgres/0006_roles.sql")),
    ("dashboard", include_str!("migrations/postgres/0007_dashboard.sql")),
    ("webhooks", include_str!("migrations/postgres/0008_webhooks.sql")),
    ("trust", include_str!("migrations/postgres/0009_trust.sql")),
    ("software", include_str!("migrations/postgres/0010_software.sql")),
    ("newcomer", include_str!("migrations/postgres/0011_newcomer.sql")),
    ("ownership", include_str!("migrations/postgres/0012_ownership.sql")),
    ("dashboard_counts", include_str!("migrations/postgres/0013_dashboard_counts.sql")),
    ("package_hosts_index", include_str!("migrations/postgres/0014_package_hosts_index.sql")),
];

/// Most prepared statements kept per connection (the list queries are built per filter set).
const STATEMENT_CACHE: usize = 256;

/// Serialises migrations between replicas starting at once (an arbitrary, fixed lock id).
const MIGRATION_LOCK: i64 = 0x6173_7365_746b_6974; // "assetkit"

/// The schema version this build expects.
pub fn schema_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// How to reach the server: the parsed URL and the TLS it asks for.
#[derive(Clone)]
pub struct Target {
    config: Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl Target {
    /// Parses a `postgres://` URL (libpq's syntax: `sslmode`, `connect_timeout`, ...).
    pub fn parse(url: &str) -> Result<Target, StoreError> {
        // `sslrootcert` is libpq's; the driver does not know it, so it is taken out here.
        let driver_url = match url::Url::parse(url) {
            Ok(mut u) if u.query_pairs().any(|(k, _)| k == "sslrootcert") => {
                let kept: Vec<(String, String)> =
                    u.query_pairs().filter(|(k, _)| k != "sslrootcert").map(|(k, v)| (k.into(), v.into())).collect();
                u.query_pairs_mut().clear().extend_pairs(kept);
                u.to_string()
            }
            _ => url.to_owned(),
        };
        let mut config: Config =
            driver_url.parse().map_err(|e| StoreError::Location(format!("bad PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.application_name("assetkitd");
        // TLS is either asked for and verified, or not used: libpq's default, `prefer`, takes
        // whatever certificate a server shows, which protects from nothing but looks as if it
        // did. So no `sslmode` means none, and `prefer`/`allow` are refused with advice.
        let asked = url::Url::parse(url)
            .ok()
            .and_then(|u| u.query_pairs().find(|(k, _)| k == "sslmode").map(|(_, v)| v.into_owned()));
        let tls = match asked.as_deref() {
            None | Some("disable") => {
                config.ssl_mode(postgres::config::SslMode::Disable);
                None
            }
            Some("require" | "verify-ca" | "verify-full") => {
                config.ssl_mode(postgres::config::SslMode::Require);
                Some(rustls_connector(url)?)
            }
            Some(other) => {
                return Err(StoreError::Location(format!(
                    "sslmode={other} is not supported: use sslmode=require (TLS, the server's certificate verified \
                     against the system's roots or sslrootcert=FILE) or sslmode=disable"
                )));
            }
        };
        Ok(Target { config, tls })
    }

    /// A new connection.
    pub fn connect(&self) -> Result<PgDb, DbError> {
        let client = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(postgres::NoTls),
        }
        .map_err(DbError::from)?;
        Ok(PgDb { client: Some(client), statements: HashMap::new(), in_tx: false })
    }
}

/// rustls (ring) with the system's root certificates, plus the `sslrootcert` file when the URL
/// names one (a private CA, as most database servers use).
fn rustls_connector(url: &str) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |what: String| StoreError::Location(format!("PostgreSQL TLS: {what}"));
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let root_file = url::Url::parse(url)
        .ok()
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "sslrootcert").map(|(_, v)| v.into_owned()));
    if let Some(file) = root_file {
        for cert in CertificateDer::pem_file_iter(&file).map_err(|e| bad(format!("sslrootcert {file}: {e}")))? {
            let cert = cert.map_err(|e| bad(format!("sslrootcert {file}: {e}")))?;
            roots.add(cert).map_err(|e| bad(format!("sslrootcert {file}: {e}")))?;
        }
    }
    let config =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// One PostgreSQL connection as a [`Db`].
pub struct PgDb {
    /// Always `Some` until dropped.
    client: Option<Client>,
    statements: HashMap<String, Statement>,
    in_tx: bool,
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // Closing drives the driver's own event loop, which cannot run on an async thread (the
        // last handle of a pool may be dropped there): such a drop finishes on a thread of its
        // own.
        self.statements.clear();
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new().name("pg-close".into()).spawn(move || drop(client));
            } else {
                drop(client);
            }
        }
    }
}

impl PgDb {
    fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("a PgDb holds its client until dropped")
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let statement = self.client().prepare(&to_dollar_placeholders(sql)).map_err(|e| self.failed(e))?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn failed(&mut self, e: postgres::Error) -> DbError {
        if self.is_closed() {
            self.in_tx = false;
        }
        e.into()
    }

    /// True once the server is gone (the pool then replaces the connection).
    pub fn is_closed(&self) -> bool {
        self.client.as_ref().is_none_or(Client::is_closed)
    }
}

impl Db for PgDb {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let result = self.client().execute(&statement, &params);
        result.map_err(|e| self.failed(e))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let result = self.client().query(&statement, &params);
        let rows = result.map_err(|e| self.failed(e))?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.try_get::<_, Value>(i).map_err(DbError::from))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row)
            })
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        let result = self.client().batch_execute(sql);
        result.map_err(|e| self.failed(e))?;
        // Transaction control comes through here (the writer, `store::transaction`).
        let head = sql.trim_start().to_ascii_uppercase();
        if head.starts_with("BEGIN") || head.starts_with("START TRANSACTION") {
            self.in_tx = true;
        } else if head.starts_with("COMMIT") || (head.starts_with("ROLLBACK") && !head.starts_with("ROLLBACK TO")) {
            self.in_tx = false;
        }
        Ok(())
    }

    fn in_transaction(&mut self) -> bool {
        self.in_tx && !self.is_closed()
    }

    fn is_broken(&mut self) -> bool {
        self.is_closed()
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        let kind = match e.code() {
            Some(code) if code.code().starts_with("23") => DbErrorKind::Constraint,
            Some(code) if *code == SqlState::DISK_FULL || *code == SqlState::OUT_OF_MEMORY => DbErrorKind::Full,
            Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
                DbErrorKind::Retry
            }
            Some(code)
                if code.code().starts_with("08")
                    || *code == SqlState::ADMIN_SHUTDOWN
                    || *code == SqlState::CRASH_SHUTDOWN
                    || *code == SqlState::CANNOT_CONNECT_NOW
                    || *code == SqlState::TOO_MANY_CONNECTIONS =>
            {
                DbErrorKind::Unavailable
            }
            Some(_) => DbErrorKind::Other,
            // No SQLSTATE: the connection itself failed (refused, reset, closed).
            None => DbErrorKind::Unavailable,
        };
        let message = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.severity(), db.message()),
            // "error performing TLS handshake" says little without its cause.
            None => {
                let mut message = e.to_string();
                let mut cause = StdError::source(&e);
                while let Some(c) = cause {
                    message.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                message
            }
        };
        DbError::new(kind, message)
    }
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Int(i), _) if is_text(ty) => i.to_string().to_sql(&Type::TEXT, out),
            (Value::Bool(b), &Type::BOOL) => b.to_sql(ty, out),
            (Value::Bool(b), &Type::INT8) => i64::from(*b).to_sql(ty, out),
            (Value::Bool(b), &Type::INT4) => i32::from(*b).to_sql(ty, out),
            (Value::Bool(b), _) if is_text(ty) => i64::from(*b).to_string().to_sql(&Type::TEXT, out),
            (Value::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (Value::Real(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (Value::Real(f), _) if is_text(ty) => f.to_string().to_sql(&Type::TEXT, out),
            (Value::Text(s), _) if is_text(ty) => s.as_str().to_sql(&Type::TEXT, out),
            (Value::Text(s), &Type::INT8) => s.parse::<i64>()?.to_sql(ty, out),
            (v, ty) => Err(format!("cannot send {v:?} as a PostgreSQL {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn is_text(ty: &Type) -> bool {
    matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN)
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => Value::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::OID => Value::Int(i64::from(u32::from_sql(ty, raw)?)),
            Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::VOID => Value::Null,
            _ if is_text(ty) => Value::Text(<&str>::from_sql(ty, raw)?.to_owned()),
            _ => return Err(format!("PostgreSQL type {ty} is not read by assetkitd; cast it in the query").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Connects and applies pending migrations (one replica at a time).
pub fn open(target: &Target) -> Result<PgDb, StoreError> {
    let mut db = target.connect()?;
    migrate(&mut db)?;
    Ok(db)
}

/// Applies pending migrations, each in its own transaction, under an advisory lock so that
/// replicas starting together migrate once.
pub fn migrate(db: &mut PgDb) -> Result<u32, StoreError> {
    let expected = schema_version();
    // The lock comes first: two sessions racing `CREATE TABLE IF NOT EXISTS` on an empty
    // database collide on the catalog's unique index instead of skipping.
    db.execute("SELECT pg_advisory_lock(?1)", crate::args![MIGRATION_LOCK])?;
    let result = (|| {
        db.batch("CREATE TABLE IF NOT EXISTS assetkit_schema (version BIGINT NOT NULL)")?;
        let found = current_version(db)?;
        if found > expected {
            return Err(StoreError::TooNew { found, expected });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = i as u32 + 1;
            db.batch("BEGIN")?;
            let step = db
                .batch(sql)
                .and_then(|()| db.execute("DELETE FROM assetkit_schema", &[]))
                .and_then(|_| db.execute("INSERT INTO assetkit_schema (version) VALUES (?1)", crate::args![version]));
            match step {
                Ok(_) => db.batch("COMMIT")?,
                Err(e) => {
                    let _ = db.batch("ROLLBACK");
                    return Err(e.into());
                }
            }
            tracing::info!(version, migration = *name, "database migrated");
        }
        Ok(expected)
    })();
    let _ = db.execute("SELECT pg_advisory_unlock(?1)", crate::args![MIGRATION_LOCK]);
    result
}

/// The schema version recorded in the database (0 for an empty one).
pub fn current_version(db: &mut PgDb) -> Result<u32, DbError> {
    use super::DbExt;
    let v: Option<i64> = db.scalar_opt("SELECT max(version) FROM assetkit_schema", &[])?.flatten();
    Ok(v.unwrap_or(0) as u32)
}

/// Hands out [`PgDb`] connections to r2d2: the read connections.
pub struct Manager(pub Target);

impl r2d2::ManageConnection for Manager {
    type Connection = PgDb;
    type Error = DbError;

    fn connect(&self) -> Result<PgDb, DbError> {
        let mut db = self.0.connect()?;
        // Reads are the lists, whose filters (a LIKE pattern above all) decide between an index
        // and a scan: each is planned for its values, never from a generic plan.
        db.batch("SET plan_cache_mode = force_custom_plan")?;
        Ok(db)
    }

    fn is_valid(&self, conn: &mut PgDb) -> Result<(), DbError> {
        conn.client().simple_query("").map(|_| ()).map_err(DbError::from)
    }

    fn has_broken(&self, conn: &mut PgDb) -> bool {
        conn.is_closed()
    }
}

/// Connection pool.
pub type Pool = r2d2::Pool<Manager>;

/// A pool of `size` connections to a migrated database. Connections are made on demand, so a
/// server whose database is down still starts its pool and recovers when it returns.
pub fn pool(target: &Target, size: u32) -> Result<Pool, StoreError> {
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(false)
        .build_unchecked(Manager(target.clone())))
}
