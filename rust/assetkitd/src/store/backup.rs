//! Online backup of a SQLite store (`assetkitd backup`): a consistent copy of the database
//! while servers keep writing to it, through SQLite's online backup API.
//!
//! Consistency: the source connection opens one read transaction before the first step and
//! holds it to the last, so every step copies pages of the same snapshot (WAL mode lets the
//! writer keep committing meanwhile; its commits are simply not in this backup). Without the
//! held snapshot, SQLite restarts a stepwise backup whenever another connection writes, which
//! under steady load may never finish.
//!
//! Safety: pages go into a temporary file beside the destination (mode 0600: the database holds
//! sealed secrets), which is checked (`PRAGMA quick_check`), switched to a rollback journal (one
//! self-contained file), synced and only then renamed over the destination. A failed or
//! interrupted backup never leaves a half-written file at the destination. The source is never
//! created, migrated or written: a missing database is an error.
//!
//! The server key file is not part of the database and so never part of a backup.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::db::{DbError, DbErrorKind};

/// How far a backup has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Pages copied so far.
    pub copied: u64,
    /// Pages in the snapshot being copied.
    pub total: u64,
}

/// What a finished backup holds.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Pages copied.
    pub pages: u64,
    /// The backup file's size.
    pub bytes: u64,
    /// The schema version recorded in the copy (`PRAGMA user_version`).
    pub schema_version: u32,
    /// Steps taken.
    pub steps: u64,
    /// How long it took.
    pub elapsed: Duration,
}

fn error(message: impl Into<String>) -> DbError {
    DbError::new(DbErrorKind::Other, message.into())
}

/// Copies the SQLite database at `source` to `to`, `pages_per_step` pages at a time, calling
/// `progress` after each step. `to` is replaced only once the copy is complete and checked.
pub fn backup(
    source: &Path,
    to: &Path,
    pages_per_step: u32,
    mut progress: impl FnMut(Progress),
) -> Result<Summary, DbError> {
    let started = Instant::now();
    if !source.is_file() {
        return Err(error(format!("no database at {}", source.display())));
    }
    let dir = to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // In the destination's directory, so the final rename is atomic; 0600 by tempfile's default.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", to.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()))
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| error(format!("cannot create a temporary file in {}: {e}", dir.display())))?;
    let (pages, steps) = copy_snapshot(source, tmp.path(), pages_per_step.max(1), &mut progress)?;
    let schema_version = finish(tmp.path())?;
    let file =
        tmp.persist(to).map_err(|e| error(format!("cannot move the backup to {}: {}", to.display(), e.error)))?;
    drop(file);
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(Summary { pages, bytes, schema_version, steps, elapsed: started.elapsed() })
}

/// Opens the live database without creating or migrating it, for reading only.
fn open_source(source: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

/// Copies one snapshot of `source` into the file `dest`: (pages, steps).
fn copy_snapshot(
    source: &Path,
    dest: &Path,
    pages_per_step: u32,
    progress: &mut impl FnMut(Progress),
) -> Result<(u64, u64), DbError> {
    let src = open_source(source)?;
    // The snapshot every step reads: held until the last page is copied.
    src.execute_batch("BEGIN DEFERRED")?;
    let _: i64 = src.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get(0))?;
    let mut dst = Connection::open(dest)?;
    let mut steps = 0u64;
    let pages = {
        let backup = Backup::new(&src, &mut dst)?;
        loop {
            let step = backup.step(pages_per_step as std::os::raw::c_int)?;
            steps += 1;
            let p = backup.progress();
            let total = p.pagecount.max(0) as u64;
            progress(Progress { copied: total.saturating_sub(p.remaining.max(0) as u64), total });
            match step {
                StepResult::Done => break total,
                StepResult::More => {}
                // The destination is private to this process and the source is only read, so
                // this is another process holding an exclusive lock for a moment: wait a little.
                StepResult::Busy | StepResult::Locked => std::thread::sleep(Duration::from_millis(50)),
                _ => return Err(error("unexpected answer from the SQLite backup step")),
            }
        }
    };
    src.execute_batch("COMMIT")?;
    Ok((pages, steps))
}

/// Checks the copy, makes it one self-contained file (rollback journal: no -wal beside it),
/// syncs it; returns its schema version.
fn finish(dest: &Path) -> Result<u32, DbError> {
    let dst = Connection::open(dest)?;
    let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(error(format!("the copy failed its check: {check}")));
    }
    let _: String = dst.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    let version: u32 = dst.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    drop(dst);
    std::fs::File::open(dest).and_then(|f| f.sync_all()).map_err(|e| error(format!("syncing the copy: {e}")))?;
    Ok(version)
}

/// Files a backup must never be written over: the database itself, its WAL and shared-memory
/// files, and the server key file.
pub fn protected_paths(db: &Path, key_file: &Path) -> Vec<PathBuf> {
    let with = |suffix: &str| {
        let mut s = db.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    vec![db.to_path_buf(), with("-wal"), with("-shm"), with("-journal"), key_file.to_path_buf()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_holds_the_rows_and_no_partial_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x TEXT); PRAGMA user_version = 7;").unwrap();
        for i in 0..500 {
            conn.execute("INSERT INTO t VALUES (?1)", [format!("{i:0>200}")]).unwrap();
        }
        let to = dir.path().join("copy.db");
        let mut seen = Vec::new();
        let summary = backup(&db, &to, 3, |p| seen.push(p)).unwrap();
        assert!(summary.steps > 1 && seen.len() as u64 == summary.steps, "{summary:?}");
        assert_eq!(seen.last().unwrap().copied, summary.pages);
        assert!(seen.windows(2).all(|w| w[0].copied <= w[1].copied));
        assert_eq!(summary.schema_version, 7);
        let copy = Connection::open(&to).unwrap();
        assert_eq!(copy.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap(), 500);
        let mode: String = copy.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "delete");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&to).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_missing_source_is_an_error_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let err = backup(&dir.path().join("none.db"), &dir.path().join("copy.db"), 100, |_| {}).unwrap_err();
        assert!(err.to_string().contains("no database at"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
