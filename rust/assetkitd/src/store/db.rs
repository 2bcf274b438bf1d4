//! The engine-neutral SQL interface the domain layer is written against.
//!
//! SQL is written once, in the dialect SQLite and PostgreSQL share, with numbered placeholders
//! (`?1`, `?2`; PostgreSQL receives `$1`, `$2`). Values cross as [`Value`], rows come back as
//! [`Row`]s of values. Where the dialects differ (full-text search, index hints, identity locks),
//! the caller asks [`Db::engine`]; nothing else in the domain layer knows which engine runs.

use std::fmt;

/// Which engine a [`Db`] speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default.
    Sqlite,
    /// The scale-out engine.
    Postgres,
}

/// A SQL value as it crosses the interface.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// An integer (BIGINT in PostgreSQL).
    Int(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(String),
    /// A boolean (0/1 in SQLite).
    Bool(bool),
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Int(i64::from(v))
            }
        }
    )*};
}
from_int!(i64, i32, u32, u16, u8);

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        i64::try_from(v).map(Value::Int).unwrap_or(Value::Null)
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        i64::try_from(v).map(Value::Int).unwrap_or(Value::Null)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
impl<T: Clone + Into<Value>> From<&Option<T>> for Value {
    fn from(v: &Option<T>) -> Self {
        v.clone().map_or(Value::Null, Into::into)
    }
}

/// Builds a `&[Value]` parameter list: `args![id, name, None::<i64>]`.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        &[$($crate::store::Value::from($v)),*][..]
    };
}

/// What a failed statement means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// A unique or foreign-key constraint refused the write.
    Constraint,
    /// The disk or the database's size cap is full.
    Full,
    /// A conflict with a concurrent transaction (serialization failure, deadlock): retry.
    Retry,
    /// The engine is not reachable (connection refused or lost, shutting down).
    Unavailable,
    /// A row the caller required is not there.
    NoRow,
    /// A value is not of the type the caller asked for.
    Type,
    /// Anything else.
    Other,
}

/// A database error, engine-neutral.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DbError {
    /// What it means.
    pub kind: DbErrorKind,
    /// The engine's message.
    pub message: String,
}

impl DbError {
    /// A new error.
    pub fn new(kind: DbErrorKind, message: impl Into<String>) -> Self {
        DbError { kind, message: message.into() }
    }
    /// True for a unique or foreign-key violation.
    pub fn is_constraint(&self) -> bool {
        self.kind == DbErrorKind::Constraint
    }
}

/// Reads a typed value out of a [`Value`].
pub trait FromValue: Sized {
    /// The conversion; the error says what was found instead.
    fn from_value(v: &Value) -> Result<Self, String>;
}

impl FromValue for Value {
    fn from_value(v: &Value) -> Result<Self, String> {
        Ok(v.clone())
    }
}
impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(i64::from(*b)),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
impl FromValue for u64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        i64::from_value(v).and_then(|i| u64::try_from(i).map_err(|e| e.to_string()))
    }
}
impl FromValue for u32 {
    fn from_value(v: &Value) -> Result<Self, String> {
        i64::from_value(v).and_then(|i| u32::try_from(i).map_err(|e| e.to_string()))
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::Int(i) => Ok(*i != 0),
            other => Err(format!("expected a boolean, found {other:?}")),
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `i` as `T`.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, DbError> {
        let v = self.0.get(i).ok_or_else(|| DbError::new(DbErrorKind::Type, format!("no column {i}")))?;
        T::from_value(v).map_err(|e| DbError::new(DbErrorKind::Type, format!("column {i}: {e}")))
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        })
    }
}

/// A connection or transaction of either engine.
pub trait Db {
    /// The engine behind it.
    fn engine(&self) -> Engine;
    /// Runs one statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Runs one query; all its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    /// Runs statements without parameters (transaction control, schema).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
    /// True while a transaction is open.
    fn in_transaction(&mut self) -> bool;
    /// True when the connection is lost for good (the server went away): the writer makes a
    /// new one. An embedded database never breaks this way.
    fn is_broken(&mut self) -> bool {
        false
    }
}

/// Conveniences over any [`Db`].
pub trait DbExt: Db {
    /// The first row, if any.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    /// The first row; an error if there is none.
    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?.ok_or_else(|| DbError::new(DbErrorKind::NoRow, "query returned no row"))
    }
    /// The first column of the first row.
    fn scalar<T: FromValue>(&mut self, sql: &str, params: &[Value]) -> Result<T, DbError> {
        self.query_one(sql, params)?.get(0)
    }
    /// The first column of the first row, if there is a row.
    fn scalar_opt<T: FromValue>(&mut self, sql: &str, params: &[Value]) -> Result<Option<T>, DbError> {
        self.query_opt(sql, params)?.map(|r| r.get(0)).transpose()
    }
    /// The first column of every row.
    fn column<T: FromValue>(&mut self, sql: &str, params: &[Value]) -> Result<Vec<T>, DbError> {
        self.query(sql, params)?.iter().map(|r| r.get(0)).collect()
    }
}

impl<D: Db + ?Sized> DbExt for D {}

/// `?N` placeholders as PostgreSQL's `$N`, leaving quoted text alone.
pub fn to_dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => out.push('$'),
            (None, c) => out.push(c),
        }
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_quotes_only() {
        assert_eq!(
            to_dollar_placeholders("SELECT a FROM t WHERE b = ?1 AND c LIKE '%?%' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c LIKE '%?%' AND d = $12"
        );
    }

    #[test]
    fn values_and_rows() {
        let row = Row(vec![Value::Int(3), Value::Null, Value::Text("x".into()), Value::Int(1)]);
        assert_eq!(row.get::<i64>(0).unwrap(), 3);
        assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
        assert_eq!(row.get::<String>(2).unwrap(), "x");
        assert!(row.get::<bool>(3).unwrap());
        assert!(row.get::<String>(0).is_err());
        assert_eq!(Value::from(Some("a")), Value::Text("a".into()));
        assert_eq!(Value::from(None::<i64>), Value::Null);
    }
}
