//! The writer: one thread owns a write connection and commits in groups.
//!
//! Callers hand it a closure (`Writer::run`) and await the answer. The thread takes whatever is
//! queued (up to [`MAX_BATCH`]), opens one transaction, runs each closure in its own savepoint
//! (a failing one rolls back alone), commits once, and only then answers every caller. So an
//! acknowledged write is durable, and N writes cost one fsync. A request's nonce is recorded in
//! the same savepoint as its write: a replay is refused atomically with the write it would repeat.
//!
//! The writer knows SQL transactions and nonces, nothing of the domain: what a job does is the
//! caller's closure.
//!
//! The thread must not die: a panic inside a batch rolls that batch back and is answered as a
//! failure (503), and the thread goes on with the next one. If it dies anyway,
//! [`Writer::is_dead`] says so and the server stops, so that the service manager restarts it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::db::{Db, DbError, DbErrorKind, DbExt, Engine};

/// Most jobs in one transaction: bounds the latency a job waits behind others.
pub const MAX_BATCH: usize = 64;
const QUEUE: usize = 4096;

/// Why the store did not carry a write out (the caller's own refusals are its own error type).
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteFailure {
    /// The nonce was already used inside the window.
    #[error("nonce already used: this request is a replay")]
    Replay,
    /// The engine failed (begin, commit, a statement).
    #[error("database error: {0}; nothing was written")]
    Db(DbError),
    /// The writer thread is gone (shutting down), or the batch was lost to a fault.
    #[error("the writer is not available (shutting down or recovering from a fault); nothing was written")]
    Closed,
}

impl From<DbError> for WriteFailure {
    fn from(e: DbError) -> Self {
        WriteFailure::Db(e)
    }
}

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

/// Records a nonce; [`WriteFailure::Replay`] if it was used before.
pub fn insert_nonce(db: &mut dyn Db, n: &NonceUse) -> Result<(), WriteFailure> {
    match db.execute(
        "INSERT INTO nonces (key_id, nonce, ts) VALUES (?1, ?2, ?3)",
        crate::args![n.key_id.as_str(), n.nonce.as_str(), n.ts],
    ) {
        Ok(_) => Ok(()),
        Err(e) if e.is_constraint() => Err(WriteFailure::Replay),
        Err(e) => Err(e.into()),
    }
}

/// How to answer a job once its batch commits (or fails to).
type Reply = Box<dyn FnOnce(Option<&DbError>) + Send>;

/// A unit of work for the writer thread.
trait Job: Send {
    /// Runs inside the job's savepoint; says whether it succeeded, and how to answer later.
    fn run(self: Box<Self>, db: &mut dyn Db, now: i64) -> (bool, Reply);
    /// Answers without running (the batch could not start, or was abandoned).
    fn fail(self: Box<Self>, error: &DbError);
}

struct Op<T, E, F> {
    nonce: Option<NonceUse>,
    op: F,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> Job for Op<T, E, F>
where
    T: Send + 'static,
    E: From<WriteFailure> + Send + 'static,
    F: FnOnce(&mut dyn Db, i64) -> Result<T, E> + Send,
{
    fn run(self: Box<Self>, db: &mut dyn Db, now: i64) -> (bool, Reply) {
        let Op { nonce, op, reply } = *self;
        let result = match nonce.as_ref().map(|n| insert_nonce(db, n)).transpose() {
            Err(failure) => Err(E::from(failure)),
            Ok(_) => op(db, now),
        };
        let ok = result.is_ok();
        (
            ok,
            Box::new(move |commit_error| {
                let _ = reply.send(match commit_error {
                    Some(e) => Err(E::from(WriteFailure::Db(e.clone()))),
                    None => result,
                });
            }),
        )
    }

    fn fail(self: Box<Self>, error: &DbError) {
        let _ = self.reply.send(Err(E::from(WriteFailure::Db(error.clone()))));
    }
}

/// Periodic work on the write connection (purging old nonces and report ids).
pub type Maintenance = Box<dyn FnMut(&mut dyn Db, i64) -> Result<(), DbError> + Send>;

/// Settings of the writer thread.
pub struct WriterConfig {
    /// Run between batches at most once a minute.
    pub maintenance: Option<Maintenance>,
    /// Test-only: the thread dies on its first batch.
    pub die_on_first_batch: bool,
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
    tx: mpsc::Sender<Box<dyn Job>>,
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
    /// Starts the writer thread on `db` (a connection outside any transaction).
    pub fn spawn(db: Box<dyn Db + Send>, config: WriterConfig, name: String) -> (Writer, std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let health = Arc::new(Health::default());
        let watch = DeathWatch(health.clone());
        let handle = std::thread::Builder::new()
            .name("assetkitd-writer".into())
            .spawn(move || {
                let watch = watch;
                run(db, config, rx, &name, &watch.0)
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

    /// Runs `op` in its own savepoint of the next batch, after recording `nonce` in the same
    /// savepoint; answers once the batch is durable. `op` failing rolls back its savepoint alone.
    pub async fn run<T, E, F>(&self, nonce: Option<NonceUse>, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<WriteFailure> + Send + 'static,
        F: FnOnce(&mut dyn Db, i64) -> Result<T, E> + Send + 'static,
    {
        if self.is_dead() {
            return Err(E::from(WriteFailure::Closed));
        }
        let (reply, rx) = oneshot::channel();
        self.tx.send(Box::new(Op { nonce, op, reply })).await.map_err(|_| E::from(WriteFailure::Closed))?;
        rx.await.map_err(|_| E::from(WriteFailure::Closed))?
    }

    /// [`Writer::run`] from synchronous code (the admin CLI).
    pub fn run_blocking<T, E, F>(&self, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<WriteFailure> + Send + 'static,
        F: FnOnce(&mut dyn Db, i64) -> Result<T, E> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        self.tx.blocking_send(Box::new(Op { nonce: None, op, reply })).map_err(|_| E::from(WriteFailure::Closed))?;
        rx.blocking_recv().map_err(|_| E::from(WriteFailure::Closed))?
    }

    /// Records a nonce (for requests that write nothing else).
    pub async fn nonce(&self, nonce: NonceUse) -> Result<(), WriteFailure> {
        self.run(Some(nonce), |_, _| Ok::<(), WriteFailure>(())).await
    }

    /// Runs an empty savepoint through a batch: proves the thread takes and commits work.
    pub async fn probe(&self) -> Result<(), WriteFailure> {
        self.run(None, |db, _| db.scalar::<i64>("SELECT 1", &[]).map(|_| ()).map_err(WriteFailure::from)).await
    }
}

fn run(
    mut db: Box<dyn Db + Send>,
    mut config: WriterConfig,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    name: &str,
    health: &Health,
) {
    let mut last_maintenance = Instant::now();
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if config.die_on_first_batch {
            panic!("failpoint: the writer thread dies");
        }
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            run_batch(db.as_mut(), batch, name);
            if last_maintenance.elapsed() > Duration::from_secs(60) {
                maintain(db.as_mut(), &mut config);
                last_maintenance = Instant::now();
            }
        }));
        if outcome.is_err() {
            // The batch's reply channels were dropped as it unwound (the callers answer 503).
            // Roll back whatever it left open.
            health.faults.fetch_add(1, Ordering::Relaxed);
            if db.in_transaction() {
                let _ = db.batch("ROLLBACK");
            }
            tracing::error!(db = %name, "a write batch panicked; it was rolled back and the writer goes on");
        }
    }
    maintain(db.as_mut(), &mut config);
    tracing::info!("writer stopped");
}

fn maintain(db: &mut dyn Db, config: &mut WriterConfig) {
    if let Some(m) = config.maintenance.as_mut()
        && let Err(error) = m(db, super::now())
    {
        tracing::warn!(%error, "maintenance failed");
    }
}

fn begin(db: &mut dyn Db) -> Result<(), DbError> {
    db.batch(match db.engine() {
        // Take the write lock now, not at the first write: no upgrade deadlock with readers.
        Engine::Sqlite => "BEGIN IMMEDIATE",
        Engine::Postgres => "BEGIN",
    })
}

fn run_batch(db: &mut dyn Db, batch: Vec<Box<dyn Job>>, name: &str) {
    let size = batch.len();
    let started = Instant::now();
    if let Err(e) = begin(db) {
        tracing::error!(error = %e, jobs = size, db = %name, "cannot begin a transaction; nothing from this batch was written");
        for job in batch {
            job.fail(&e);
        }
        return;
    }
    let now = super::now();
    let mut replies: Vec<Reply> = Vec::with_capacity(size);
    let mut jobs = batch.into_iter();
    let mut aborted = false;
    for job in jobs.by_ref() {
        if let Err(e) = db.batch("SAVEPOINT job") {
            job.fail(&e);
            continue;
        }
        let (ok, reply) = job.run(db, now);
        replies.push(reply);
        // SQLite may roll the whole transaction back by itself (SQLITE_FULL, IOERR, NOMEM).
        // Then the savepoints of earlier jobs are gone, and later jobs would run in autocommit
        // mode and land one by one: stop, and fail the whole batch.
        if !db.in_transaction() {
            aborted = true;
            break;
        }
        let end = if ok { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
        if db.batch(end).is_err() || !db.in_transaction() {
            aborted = true;
            break;
        }
    }
    let committed = if aborted {
        if db.in_transaction() {
            let _ = db.batch("ROLLBACK");
        }
        Err(DbError::new(
            DbErrorKind::Other,
            "the transaction was rolled back by the database; nothing from this batch was written",
        ))
    } else {
        db.batch("COMMIT")
    };
    match committed {
        Ok(()) => replies.into_iter().for_each(|r| r(None)),
        Err(error) => {
            if db.in_transaction() {
                let _ = db.batch("ROLLBACK");
            }
            tracing::error!(%error, jobs = size, db = %name, "transaction failed; nothing from this batch was written");
            replies.into_iter().for_each(|r| r(Some(&error)));
            for job in jobs {
                job.fail(&error);
            }
        }
    }
    tracing::trace!(jobs = size, elapsed_us = started.elapsed().as_micros() as u64, "batch committed");
}
