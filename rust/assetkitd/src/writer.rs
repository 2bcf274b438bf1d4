//! The single writer: one thread owns the write connection and commits in groups.
//!
//! Handlers send jobs over a bounded channel and await the answer. The thread takes whatever
//! is queued (up to [`MAX_BATCH`]), opens one `BEGIN IMMEDIATE` transaction, runs each job in
//! its own savepoint (a failing report rolls back alone), commits once, and only then answers
//! every job. So an acknowledged report is durable, and N reports cost one fsync.
//!
//! The thread is the only way to write, so it must not die: a panic inside a batch rolls that
//! batch back and is answered as a failure (503), and the thread goes on with the next one. If
//! it dies anyway, [`Writer::is_dead`] says so and the server stops (see `server::serve`), so
//! that the service manager restarts it. `/healthz` sends a probe through the thread.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use assetkit_core::model::Report;
use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use crate::apply::{self, ApplyError, Failpoint, Outcome, Policy};

/// Most jobs in one transaction: bounds the latency a job waits behind others.
pub const MAX_BATCH: usize = 64;
const QUEUE: usize = 4096;

/// Why a write job failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The nonce was already used inside the window.
    #[error("nonce already used: this request is a replay")]
    Replay,
    /// The report could not be applied.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// SQLite failed outside a report (begin, commit, nonce insert).
    #[error("database error: {0}")]
    Db(String),
    /// An admin operation refused its input.
    #[error("{0}")]
    Invalid(String),
    /// An admin operation's target does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The writer thread is gone (shutting down), or the batch was lost to a fault.
    #[error("the writer is not available (shutting down or recovering from a fault); nothing was written")]
    Closed,
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> Self {
        WriteError::Db(e.to_string())
    }
}

/// An admin write: runs on the writer connection inside a savepoint, at time `now`.
pub type AdminOp = Box<dyn FnOnce(&Connection, i64) -> Result<serde_json::Value, WriteError> + Send>;

/// The nonce that authorised a request.
#[derive(Debug, Clone)]
pub struct NonceUse {
    /// Key id.
    pub key_id: String,
    /// The nonce.
    pub nonce: String,
    /// Request timestamp.
    pub ts: i64,
}

enum Job {
    Apply { report: Box<Report>, raw: String, nonce: NonceUse, reply: oneshot::Sender<Result<Outcome, WriteError>> },
    Nonce { nonce: NonceUse, reply: oneshot::Sender<Result<(), WriteError>> },
    Admin { nonce: Option<NonceUse>, op: AdminOp, reply: oneshot::Sender<Result<serde_json::Value, WriteError>> },
    Probe { reply: oneshot::Sender<Result<(), WriteError>> },
}

/// Settings of the writer thread.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Identity policy.
    pub policy: Policy,
    /// Nonces older than this are forgotten (twice the timestamp window is enough).
    pub nonce_retention: Duration,
    /// Applied report ids older than this are forgotten (retries come within the spool's life).
    pub dedupe_retention: Duration,
    /// Test-only fault injection.
    pub failpoint: Option<Failpoint>,
}

/// What the writer thread says about itself.
#[derive(Debug, Default)]
pub struct Health {
    dead: AtomicBool,
    /// Batches lost to a panic (rolled back and answered 503).
    pub faults: AtomicU64,
}

impl Health {
    /// True when the thread died of a fault (not a clean stop).
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }
}

/// Handle to the writer thread. Cloning is cheap; the thread stops when every handle is dropped.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    health: Arc<Health>,
}

/// Marks the writer dead if its thread unwinds past the batch guard.
struct DeathWatch(Arc<Health>);

impl Drop for DeathWatch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.dead.store(true, Ordering::SeqCst);
        }
    }
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub fn spawn(conn: Connection, config: WriterConfig, db: PathBuf) -> (Writer, std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let health = Arc::new(Health::default());
        let watch = DeathWatch(health.clone());
        let handle = std::thread::Builder::new()
            .name("assetkitd-writer".into())
            .spawn(move || {
                let _watch = watch;
                run(conn, config, rx, db, &_watch.0)
            })
            .expect("spawning the writer thread");
        (Writer { tx, health }, handle)
    }

    /// True when the thread died of a fault (not a clean stop).
    pub fn is_dead(&self) -> bool {
        self.health.is_dead()
    }

    /// The thread's health, without a handle that would keep it running.
    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    /// Batches lost to a fault since start.
    pub fn faults(&self) -> u64 {
        self.health.faults.load(Ordering::Relaxed)
    }

    /// Runs an empty savepoint through a batch: proves the thread takes and commits work.
    pub async fn probe(&self) -> Result<(), WriteError> {
        if self.is_dead() {
            return Err(WriteError::Closed);
        }
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job::Probe { reply }).await.map_err(|_| WriteError::Closed)?;
        rx.await.map_err(|_| WriteError::Closed)?
    }

    /// Records the nonce and applies the report, atomically.
    pub async fn apply(&self, report: Report, raw: String, nonce: NonceUse) -> Result<Outcome, WriteError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job::Apply { report: Box::new(report), raw, nonce, reply })
            .await
            .map_err(|_| WriteError::Closed)?;
        rx.await.map_err(|_| WriteError::Closed)?
    }

    /// Records a nonce (for requests that write nothing else).
    pub async fn nonce(&self, nonce: NonceUse) -> Result<(), WriteError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job::Nonce { nonce, reply }).await.map_err(|_| WriteError::Closed)?;
        rx.await.map_err(|_| WriteError::Closed)?
    }

    /// Runs an admin write, recording its nonce in the same savepoint when it came signed.
    pub async fn admin(&self, nonce: Option<NonceUse>, op: AdminOp) -> Result<serde_json::Value, WriteError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job::Admin { nonce, op, reply }).await.map_err(|_| WriteError::Closed)?;
        rx.await.map_err(|_| WriteError::Closed)?
    }

    /// [`Writer::admin`] from synchronous code (the admin CLI).
    pub fn admin_blocking(&self, op: AdminOp) -> Result<serde_json::Value, WriteError> {
        let (reply, rx) = oneshot::channel();
        self.tx.blocking_send(Job::Admin { nonce: None, op, reply }).map_err(|_| WriteError::Closed)?;
        rx.blocking_recv().map_err(|_| WriteError::Closed)?
    }
}

fn insert_nonce(conn: &Connection, n: &NonceUse) -> Result<(), WriteError> {
    match conn
        .prepare_cached("INSERT INTO nonces (key_id, nonce, ts) VALUES (?1, ?2, ?3)")?
        .execute(params![n.key_id, n.nonce, n.ts])
    {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            Err(WriteError::Replay)
        }
        Err(e) => Err(e.into()),
    }
}

type Reply = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;

fn run(mut conn: Connection, config: WriterConfig, mut rx: mpsc::Receiver<Job>, db: PathBuf, health: &Health) {
    let mut last_purge = Instant::now();
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if config.failpoint.is_some_and(|f| f.kill_writer_thread) {
            panic!("failpoint: the writer thread dies");
        }
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            run_batch(&mut conn, &config, batch, &db);
            if last_purge.elapsed() > Duration::from_secs(60) {
                purge(&conn, &config);
                last_purge = Instant::now();
            }
        }));
        if outcome.is_err() {
            // The batch's transaction was rolled back as it unwound and its jobs' reply channels
            // dropped (the handlers answer 503). Make sure no transaction is left open.
            health.faults.fetch_add(1, Ordering::Relaxed);
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            tracing::error!(db = %db.display(), "a write batch panicked; it was rolled back and the writer goes on");
        }
    }
    purge(&conn, &config);
    tracing::info!("writer stopped");
}

fn run_batch(conn: &mut Connection, config: &WriterConfig, batch: Vec<Job>, db: &std::path::Path) {
    {
        let size = batch.len();
        let started = Instant::now();
        let replies = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(mut tx) => {
                let now = crate::store::now();
                let mut replies: Vec<Reply> = Vec::with_capacity(size);
                let mut jobs = batch.into_iter();
                let mut aborted = false;
                for job in jobs.by_ref() {
                    replies.push(run_job(&mut tx, job, config, now));
                    // SQLite may roll the whole transaction back by itself (SQLITE_FULL, IOERR,
                    // NOMEM). Then the savepoints of earlier jobs are gone, and later jobs would
                    // run in autocommit mode and land one by one: stop, and fail the whole batch.
                    if tx.is_autocommit() {
                        aborted = true;
                        break;
                    }
                }
                replies.extend(jobs.map(fail_job));
                let committed = if aborted {
                    Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                        Some("the transaction was rolled back by SQLite; nothing from this batch was written".into()),
                    ))
                } else {
                    tx.commit()
                };
                match committed {
                    Ok(()) => {
                        for r in replies {
                            r(None);
                        }
                        None
                    }
                    Err(e) => Some((replies, e)),
                }
            }
            Err(e) => Some((batch.into_iter().map(fail_job).collect(), e)),
        };
        if let Some((replies, error)) = replies {
            tracing::error!(%error, jobs = size, db = %db.display(), "transaction failed; nothing from this batch was written");
            for r in replies {
                r(Some(&error));
            }
        }
        tracing::trace!(jobs = size, elapsed_us = started.elapsed().as_micros() as u64, "batch committed");
    }
}

/// Runs one job in its own savepoint; returns how to answer it once the batch commits.
fn run_job(tx: &mut rusqlite::Transaction<'_>, job: Job, config: &WriterConfig, now: i64) -> Reply {
    let sp = match tx.savepoint() {
        Ok(sp) => sp,
        Err(e) => {
            let msg = e.to_string();
            return fail_job_with(job, msg);
        }
    };
    match job {
        Job::Apply { report, raw, nonce, reply } => {
            let result = insert_nonce(&sp, &nonce).and_then(|()| {
                apply::apply(&sp, &report, &raw, config.policy, now, config.failpoint).map_err(WriteError::from)
            });
            let result = finish(sp, result);
            Box::new(move |commit_error| {
                let _ = reply.send(match commit_error {
                    Some(e) => Err(WriteError::Db(clone_error(e))),
                    None => result,
                });
            })
        }
        Job::Nonce { nonce, reply } => {
            let result = insert_nonce(&sp, &nonce);
            let result = finish(sp, result);
            Box::new(move |commit_error| {
                let _ = reply.send(match commit_error {
                    Some(e) => Err(WriteError::Db(clone_error(e))),
                    None => result,
                });
            })
        }
        Job::Probe { reply } => {
            let result = sp.query_row("SELECT 1", [], |_| Ok(())).map_err(WriteError::from);
            let result = finish(sp, result);
            Box::new(move |commit_error| {
                let _ = reply.send(match commit_error {
                    Some(e) => Err(WriteError::Db(clone_error(e))),
                    None => result,
                });
            })
        }
        Job::Admin { nonce, op, reply } => {
            let result = match nonce.as_ref().map(|n| insert_nonce(&sp, n)).transpose() {
                Ok(_) => op(&sp, now),
                Err(e) => Err(e),
            };
            let result = finish(sp, result);
            Box::new(move |commit_error| {
                let _ = reply.send(match commit_error {
                    Some(e) => Err(WriteError::Db(clone_error(e))),
                    None => result,
                });
            })
        }
    }
}

/// Releases the savepoint on success; on failure, dropping it rolls it back.
fn finish<T>(sp: rusqlite::Savepoint<'_>, result: Result<T, WriteError>) -> Result<T, WriteError> {
    match result {
        Ok(v) => sp.commit().map(|()| v).map_err(WriteError::from),
        Err(e) => {
            drop(sp);
            Err(e)
        }
    }
}

fn fail_job(job: Job) -> Reply {
    fail_job_with(job, String::new())
}

fn fail_job_with(job: Job, message: String) -> Reply {
    let error = move |e: Option<&rusqlite::Error>| -> WriteError {
        match e {
            Some(e) => WriteError::Db(clone_error(e)),
            None => WriteError::Db(message.clone()),
        }
    };
    match job {
        Job::Apply { reply, .. } => Box::new(move |e| {
            let _ = reply.send(Err(error(e)));
        }),
        Job::Nonce { reply, .. } => Box::new(move |e| {
            let _ = reply.send(Err(error(e)));
        }),
        Job::Admin { reply, .. } => Box::new(move |e| {
            let _ = reply.send(Err(error(e)));
        }),
        Job::Probe { reply } => Box::new(move |e| {
            let _ = reply.send(Err(error(e)));
        }),
    }
}

fn clone_error(e: &rusqlite::Error) -> String {
    e.to_string()
}

fn purge(conn: &Connection, config: &WriterConfig) {
    let now = crate::store::now();
    let nonces = now - config.nonce_retention.as_secs() as i64;
    let reports = now - config.dedupe_retention.as_secs() as i64;
    let result = conn
        .execute("DELETE FROM nonces WHERE ts < ?1", [nonces])
        .and_then(|n| conn.execute("DELETE FROM applied_reports WHERE at < ?1", [reports]).map(|m| (n, m)));
    match result {
        Ok((n, m)) => tracing::debug!(nonces = n, applied_reports = m, "purged"),
        Err(error) => tracing::warn!(%error, "purge failed"),
    }
}
