//! rpm: the package database under `/var/lib/rpm` or `/usr/lib/sysimage/rpm`, whichever backend
//! the distribution ships: `rpmdb.sqlite` ([`sqlite`]), SUSE's ndb `Packages.db` ([`ndb`]) or the
//! Berkeley DB hash `Packages` ([`bdb`]), preferred in that order when a migration left more
//! than one behind. All three store the same header blob per package ([`header`]).
//!
//! A database whose format none of them knows (another backend, a Berkeley DB hash version
//! outside 8 to 10, an encrypted one) is read through `rpm -qa --qf` in one fixed format
//! instead ([`qa`], snapshot `commands/rpm-qa`); the live source runs rpm only then. A snapshot
//! with no database file but an `rpm-qa` output (the SSH sweep's) is read from that output.
//!
//! `gpg-pubkey` entries are skipped: they are the signing keys rpm has imported, stored as
//! pseudo-packages, not software.

pub mod bdb;
pub mod header;
pub mod ndb;
pub mod qa;
pub mod sqlite;

use super::database::{DbError, package, read_file};
use crate::model::{Package, PackageManager};
use crate::plugins::CollectError;
use crate::source::Source;
use header::RpmHeader;

/// Where rpm keeps its database: the classic path, and Fedora 36+'s and SUSE's (where
/// /var/lib/rpm is often a symlink to it).
pub const DIRS: &[&str] = &["/var/lib/rpm", "/usr/lib/sysimage/rpm"];
/// The database files of each backend, in order of preference.
pub const FILES: &[&str] = &["rpmdb.sqlite", "Packages.db", "Packages"];
/// The snapshot name of the `rpm -qa --qf` fallback.
pub const QA_COMMAND: &str = "rpm-qa";

/// How often the three files of an SQLite database are read again when rpm wrote between
/// the reads.
const SQLITE_ATTEMPTS: usize = 3;

/// The host's rpm packages; `None` when it has no rpm database.
pub fn read(src: &dyn Source) -> Result<Option<Vec<Package>>, CollectError> {
    for file in FILES {
        for dir in DIRS {
            let path = format!("{dir}/{file}");
            let parsed = match *file {
                "rpmdb.sqlite" => read_sqlite(src, &path)?,
                _ => read_file(src, &path)?
                    .map(|bytes| if *file == "Packages" { bdb::read(&bytes) } else { ndb::read(&bytes) }),
            };
            let Some(parsed) = parsed else { continue };
            let headers = match parsed {
                Ok(headers) => headers,
                Err(DbError::Unsupported(why)) => fallback(src, &path, &why)?,
                Err(DbError::Invalid(why)) => return Err(CollectError::Invalid(format!("{path}: {why}"))),
            };
            return Ok(Some(packages(headers)));
        }
    }
    // No database file: a snapshot may still hold `rpm -qa` (the sweep's); the live source
    // answers NotFound here without running anything.
    match src.command(QA_COMMAND) {
        Ok(out) => qa::parse(&out).map(|h| Some(packages(h))).map_err(|e| CollectError::Invalid(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectError::Invalid(format!("rpm -qa: {e}"))),
    }
}

/// `rpm -qa` for a database no reader here knows.
fn fallback(src: &dyn Source, path: &str, why: &str) -> Result<Vec<RpmHeader>, CollectError> {
    match src.command(QA_COMMAND) {
        Ok(out) => qa::parse(&out).map_err(|e| CollectError::Invalid(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CollectError::Invalid(format!(
            "{path}: {why}, which assetkit does not read, and no `rpm -qa` output to read instead ({e})"
        ))),
        Err(e) => Err(CollectError::Invalid(format!("{path}: {why}; rpm -qa instead: {e}"))),
    }
}

/// rpmdb.sqlite with its WAL, read as one consistent state: the WAL before and after the
/// database, and the database only trusted if the WAL only grew in between. A WAL that
/// restarted, was truncated, or began while the database was read may come with a checkpoint
/// that moved pages into the database mid-read, which the WAL read after it no longer covers;
/// then all three are read again.
fn read_sqlite(src: &dyn Source, path: &str) -> Result<Option<Result<Vec<RpmHeader>, DbError>>, CollectError> {
    let (wal_path, journal_path) = (format!("{path}-wal"), format!("{path}-journal"));
    for _ in 0..SQLITE_ATTEMPTS {
        let before = read_file(src, &wal_path)?.unwrap_or_default();
        let Some(db) = read_file(src, path)? else { return Ok(None) };
        let after = read_file(src, &wal_path)?.unwrap_or_default();
        let grew = if before.is_empty() { after.is_empty() } else { after.starts_with(&before) };
        if !grew {
            continue;
        }
        if read_file(src, &journal_path)?.is_some_and(|j| !j.is_empty()) {
            return Ok(Some(Err(DbError::Invalid(format!(
                "{journal_path} is not empty: a write is in progress or was interrupted"
            )))));
        }
        return Ok(Some(sqlite::read(db, Some(&after))));
    }
    Ok(Some(Err(DbError::Invalid(format!(
        "rpm rewrote {wal_path} while it was read, {SQLITE_ATTEMPTS} times: the database is being rewritten"
    )))))
}

/// The report's packages: `[epoch:]version-release` (the epoch only when not 0), without
/// the `gpg-pubkey` pseudo-packages.
pub fn packages(headers: Vec<RpmHeader>) -> Vec<Package> {
    headers
        .into_iter()
        .filter(|h| h.name != "gpg-pubkey")
        .map(|h| {
            let version = match h.epoch {
                Some(e) if e != 0 => format!("{e}:{}-{}", h.version, h.release),
                _ => format!("{}-{}", h.version, h.release),
            };
            let mut p = package(PackageManager::Rpm, h.name, version);
            p.arch = h.arch.filter(|a| !a.is_empty());
            p.source = h.source_rpm.filter(|s| !s.is_empty());
            p.vendor = h.vendor.filter(|v| !v.is_empty());
            p.installed_at = h.install_time.map(i64::from);
            p
        })
        .collect()
}
