//! The serving SQLite writer's two helpers, each on a thread of its own, so that the one writer
//! thread spends its time on statements and never waits for the disk:
//!
//! - the [`Syncer`] makes each committed batch durable (`fdatasync` of the write-ahead log)
//!   and only then answers its callers. The writer commits without syncing
//!   (`synchronous=NORMAL`) and goes on with the next batch meanwhile; batches committed while
//!   a sync runs share the next one. An acknowledged report survives power loss, as with
//!   `synchronous=FULL`: the log's frames are written before the commit returns, and the sync
//!   that follows covers them. A failed sync is final: the kernel may have dropped the pages
//!   it could not write and report the next sync as clean, and every frame after a lost one
//!   is discarded when the log is next read. So that batch and every later one are answered as
//!   failed, the writer stops, and the server exits to be restarted (PostgreSQL does the same
//!   on a failed fsync).
//! - the [`Checkpointer`] copies the log into the database file (a passive checkpoint: it
//!   blocks neither the writer nor a reader), after syncs, at most every
//!   [`Checkpointer::SPACING`]. It runs one batch behind the writer, so it never finds the log
//!   wholly copied when the writer begins, which is when SQLite starts the log over: under
//!   continuous load the log would only grow. The writer's own checkpoint, past
//!   [`super::sqlite::WRITER_CHECKPOINT_PAGES`], copies the little left and lets it start over.
//!
//! The log is the one SQLite writes: named after the file the writer's connection opened
//! (symbolic links followed), not after the path given. Both threads end when the writer
//! thread is gone (it holds the only sender).

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SendError, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::connection::Reply;
use super::db::{DbError, DbErrorKind, StoreError};
use super::writer::Health;

/// Hands committed batches' answers to the sync thread.
pub struct Syncer {
    batches: Sender<Vec<Reply>>,
}

impl Syncer {
    /// Starts the sync and checkpoint threads for the database the serving writer connection
    /// `writer` opened; a failed sync marks `health` failed. With `failing` (a test's
    /// failpoint), every sync fails.
    pub fn spawn(
        writer: &Connection,
        health: Arc<Health>,
        failing: bool,
    ) -> Result<(Syncer, Vec<JoinHandle<()>>), StoreError> {
        let path = writer.path().filter(|p| !p.is_empty()).map(PathBuf::from).ok_or_else(|| StoreError::Create {
            path: "(database)".into(),
            source: std::io::Error::other("the database has no file"),
        })?;
        let (checkpointer, checkpoint_thread) = Checkpointer::spawn(&path)?;
        let (batches, committed) = mpsc::channel::<Vec<Reply>>();
        let log = wal_path(&path);
        let sync_thread = std::thread::Builder::new()
            .name("assetkitd-sync".into())
            .spawn(move || sync_and_answer(&log, &committed, &checkpointer, (failing, &health)))
            .map_err(|source| StoreError::Create { path: format!("{} (sync thread)", path.display()), source })?;
        Ok((Syncer { batches }, vec![sync_thread, checkpoint_thread]))
    }

    /// Answers `replies` once what their batch committed is on disk (as failed, once a sync
    /// has failed: the sync thread has then marked the writer failed, and the server stops).
    /// An error if the sync thread is gone: the batch is answered as failed, and the writer
    /// must stop.
    pub fn committed(&self, replies: Vec<Reply>) -> Result<(), DbError> {
        self.batches.send(replies).map_err(|SendError(replies)| {
            let error = unsynced("the sync thread is gone");
            for reply in replies {
                reply(Some(&error));
            }
            error
        })
    }
}

fn unsynced(why: &str) -> DbError {
    DbError::new(
        DbErrorKind::Unavailable,
        format!("the batch was committed but not synced to disk ({why}); it may or may not survive a power loss"),
    )
}

/// The write-ahead log of the database at `path` (SQLite names it so).
fn wal_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push("-wal");
    PathBuf::from(name)
}

fn sync_and_answer(
    log: &Path,
    committed: &Receiver<Vec<Reply>>,
    checkpointer: &Checkpointer,
    (failing, health): (bool, &Health),
) {
    // Opened at the first batch: the writer's connection made the log when it first read, and
    // keeps it from being removed while the server runs.
    let mut file: Option<File> = None;
    let mut failure: Option<DbError> = None;
    while let Ok(first) = committed.recv() {
        let mut batches = vec![first];
        batches.extend(committed.try_iter());
        if failure.is_none() {
            let synced = match &file {
                _ if failing => Err(std::io::Error::other("failpoint: the sync fails")),
                Some(f) => f.sync_data(),
                None => File::open(log).and_then(|f| {
                    let result = f.sync_data();
                    file = Some(f);
                    result
                }),
            };
            if let Err(e) = synced {
                tracing::error!(error = %e, log = %log.display(), "cannot sync the write-ahead log: this and every later batch are answered as failed, and the server stops");
                health.fail();
                failure = Some(unsynced(&e.to_string()));
            }
        }
        for reply in batches.into_iter().flatten() {
            reply(failure.as_ref());
        }
        checkpointer.nudge();
    }
}

/// Wakes the checkpoint thread.
pub struct Checkpointer {
    wake: SyncSender<()>,
}

impl Checkpointer {
    /// Least time between two checkpoints: the log then holds about this much of the writer's
    /// work (SQLite's own default, 1,000 pages, is a few tens of milliseconds of it at load).
    pub const SPACING: Duration = Duration::from_millis(100);

    fn spawn(path: &Path) -> Result<(Checkpointer, JoinHandle<()>), StoreError> {
        let conn = super::sqlite::helper_connection(path)?;
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("assetkitd-checkpoint".into())
            .spawn(move || checkpoint_when_woken(&conn, &woken))
            .map_err(|source| StoreError::Create { path: format!("{} (checkpoint thread)", path.display()), source })?;
        Ok((Checkpointer { wake }, thread))
    }

    /// Says a batch was made durable: wakes the thread if it sleeps (a wake-up already pending
    /// covers this one).
    fn nudge(&self) {
        let _ = self.wake.try_send(());
    }
}

fn checkpoint_when_woken(conn: &Connection, woken: &Receiver<()>) {
    static LINES: crate::log::Limiter = crate::log::Limiter::new(5, Duration::from_secs(60));
    while woken.recv().is_ok() {
        let started = Instant::now();
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(0)? != 0, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match result {
            Ok((busy, log, copied)) => {
                let elapsed_us = started.elapsed().as_micros() as u64;
                tracing::trace!(busy, log, copied, elapsed_us, "checkpoint");
            }
            Err(e) => {
                if let Some(suppressed) = LINES.allow("checkpoint") {
                    tracing::warn!(error = %e, suppressed, "checkpoint failed; the log grows until one succeeds");
                }
            }
        }
        // Pacing, not synchronisation: syncs meanwhile leave one wake-up pending.
        std::thread::sleep(Checkpointer::SPACING.saturating_sub(started.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_synced_is_the_one_sqlite_writes_even_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let (real, link) = (dir.path().join("data/inventory.db"), dir.path().join("inventory.db"));
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let conn = crate::store::sqlite::open(&real).unwrap();
        drop(conn);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let conn = crate::store::sqlite::open(&link).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);").unwrap();
        let named = wal_path(Path::new(conn.path().unwrap()));
        assert_eq!(named, wal_path(&real), "the log is named after the file, not the link");
        assert!(std::fs::metadata(&named).unwrap().len() > 0, "the commit wrote its frames to that file");
        assert!(!wal_path(&link).exists());
    }
}
