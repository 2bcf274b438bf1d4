//! apk: the installed database `/lib/apk/db/installed` (`/usr/lib/apk/db/installed` where
//! apk-tools keeps it under /usr). One record per package, records separated by blank lines,
//! each line `X:value`; the plugin reads `P` (name), `V` (version), `A` (arch) and `o` (origin).
//!
//! Like apk itself (apk-tools `apk_db_fdb_read`), a record without a name or a version makes
//! the whole database unreadable, not one package fewer.

use super::database::{DbError, package, read_file, text};
use crate::model::{Package, PackageManager};
use crate::plugins::CollectError;
use crate::source::Source;

/// Where apk keeps its installed database, first one found wins.
pub const INSTALLED: &[&str] = &["/lib/apk/db/installed", "/usr/lib/apk/db/installed"];

/// The host's apk packages; `None` when it has no apk database.
pub fn read(src: &dyn Source) -> Result<Option<Vec<Package>>, CollectError> {
    for path in INSTALLED {
        if let Some(bytes) = read_file(src, path)? {
            return parse(&bytes).map(Some).map_err(|e| CollectError::Invalid(format!("{path}: {e}")));
        }
    }
    Ok(None)
}

/// The packages of an apk installed database.
pub fn parse(db: &[u8]) -> Result<Vec<Package>, DbError> {
    if db.iter().all(u8::is_ascii_whitespace) {
        return Err(DbError::Invalid("the database is empty".to_owned()));
    }
    // apk writes every line with its newline (and a blank line after each record).
    if db.last() != Some(&b'\n') {
        return Err(DbError::Invalid("the database does not end with a newline: it is truncated".to_owned()));
    }
    let mut out = Vec::new();
    let mut record = Record::default();
    for (n, line) in db.split(|&c| c == b'\n').enumerate() {
        // A line too short to hold "X:" ends the record, as in apk.
        if line.len() < 2 {
            if let Some(p) = record.finish()? {
                out.push(p);
            }
            continue;
        }
        if line[1] != b':' {
            return Err(DbError::Invalid(format!("line {}: not an apk database line (`X:value`)", n + 1)));
        }
        if record.line == 0 {
            record.line = n + 1;
        }
        let value = &line[2..];
        match line[0] {
            b'P' => record.name = Some(value),
            b'V' => record.version = Some(value),
            b'A' => record.arch = Some(value),
            b'o' => record.origin = Some(value),
            _ => {}
        }
    }
    if let Some(p) = record.finish()? {
        out.push(p);
    }
    Ok(out)
}

#[derive(Default)]
struct Record<'a> {
    line: usize,
    name: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    arch: Option<&'a [u8]>,
    origin: Option<&'a [u8]>,
}

impl Record<'_> {
    /// The package of the record just ended (and a fresh record), `None` between records.
    fn finish(&mut self) -> Result<Option<Package>, DbError> {
        let r = std::mem::take(self);
        if r.line == 0 {
            return Ok(None);
        }
        let (Some(name), Some(version)) = (r.name.filter(|n| !n.is_empty()), r.version.filter(|v| !v.is_empty()))
        else {
            let what = if r.name.is_none_or(<[u8]>::is_empty) { "name (P:)" } else { "version (V:)" };
            return Err(DbError::Invalid(format!(
                "the record at line {} has no {what}; apk itself refuses such a database",
                r.line
            )));
        };
        let mut p = package(PackageManager::Apk, text(name), text(version));
        p.arch = r.arch.filter(|a| !a.is_empty()).map(text);
        p.source = r.origin.filter(|o| !o.is_empty()).map(text);
        Ok(Some(p))
    }
}
