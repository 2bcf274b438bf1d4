//! The writer: threads that each own a write connection and commit in groups.
//!
//! Callers hand it a closure (`Writer::run`) and await the answer. A thread takes whatever is
//! queued (up to [`MAX_BATCH`]), opens one transaction, runs each closure in its own savepoint
//! (a failing one rolls back alone), commits once, and only then answers every caller. So an
//! acknowledged write is durable, and N writes cost one fsync. A request's nonce is recorded in
//! the same savepoint as its write: a replay is refused atomically with the write it would repeat.
//!
//! SQLite has one writer thread (SQLite allows one writer). PostgreSQL has several, sharing the
//! queue, each on its own connection; a connection lost to an outage is made again for the next
//! batch, and meanwhile batches fail with [`DbErrorKind::Unavailable`] (answered 503).
//!
//! Jobs that must not interleave with each other (two first reports of one host arriving at two
//! replicas) name *locks*: on PostgreSQL a batch takes every lock its jobs name, sorted, with
//! `pg_advisory_xact_lock` before its first job, and holds them to its commit. Taking them all at
//! once in one global order is what keeps concurrent batches free of deadlocks. On SQLite the
//! single writer already runs one batch at a time.
//!
//! The writer knows SQL transactions and nonces, nothing of the domain: what a job does is the
//! caller's closure.
//!
//! Jobs are served fairly between *lanes* (the key that sent a report): a batch takes one job
//! per lane in turn, and stops before its total weight (a report's size) would pass
//! [`MAX_BATCH_WEIGHT`], so a job heavier than that runs in a batch of its own. One sender
//! flooding the queue with reports at the limits gets one of them into each batch at most, and
//! another host's report waits behind one of them, not behind the flood.
//!
//! The thread must not die: a panic inside a batch rolls that batch back and is answered as a
//! failure (503), and the thread goes on with the next one. If it dies anyway,
//! [`Writer::is_dead`] says so and the server stops, so that the service manager restarts it.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::db::{Db, DbError, DbErrorKind, DbExt, Engine, Value};

use super::connection::Reply;
pub use super::connection::{Committed, Connect, Connection};
use super::lanes::{Fair, Lanes};
pub use super::lanes::{MAX_BATCH, MAX_BATCH_WEIGHT};
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

/// A unit of work for the writer thread.
trait Job: Send {
    /// The locks the job needs held while it runs.
    fn locks(&self) -> &[String];
    /// Whose job it is (jobs are served fairly between lanes).
    fn lane(&self) -> &str;
    /// How heavy it is (KiB of report; 1 for small jobs).
    fn weight(&self) -> u32;
    /// Runs inside the job's savepoint; says whether it succeeded, and how to answer later.
    fn run(self: Box<Self>, db: &mut dyn Db, now: i64) -> (bool, Reply);
    /// Answers without running (the batch could not start, or was abandoned).
    fn fail(self: Box<Self>, error: &DbError);
}

struct Op<T, E, F> {
    nonce: Option<NonceUse>,
    locks: Vec<String>,
    lane: Lane,
    op: F,
    reply: oneshot::Sender<Result<T, E>>,
}

/// Whose a job is, and how heavy: see the module's documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lane {
    /// The sender (a key id); "" for the server's own jobs.
    pub name: String,
    /// KiB of report, at least 1.
    pub weight: u32,
}

impl Lane {
    /// The lane of a report of `bytes` sent with `key_id`.
    pub fn of(key_id: &str, bytes: usize) -> Lane {
        Lane { name: key_id.to_owned(), weight: u32::try_from(bytes / 1024).unwrap_or(u32::MAX).max(1) }
    }
}

impl<T, E, F> Job for Op<T, E, F>
where
    T: Send + 'static,
    E: From<WriteFailure> + Send + 'static,
    F: FnOnce(&mut dyn Db, i64) -> Result<T, E> + Send,
{
    fn locks(&self) -> &[String] {
        &self.locks
    }

    fn lane(&self) -> &str {
        &self.lane.name
    }

    fn weight(&self) -> u32 {
        self.lane.weight.max(1)
    }

    fn run(self: Box<Self>, db: &mut dyn Db, now: i64) -> (bool, Reply) {
        let Op { nonce, op, reply, .. } = *self;
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

/// Settings of the writer thread.
pub struct WriterConfig {
    /// Test-only: the thread that takes the first batch dies.
    pub die_on_first_batch: bool,
    /// Test-only: every sync of the write-ahead log fails (SQLite).
    pub fail_syncs: bool,
}

/// What the writer threads say about themselves.
#[derive(Debug, Default)]
pub struct Health {
    dead: AtomicBool,
    died: tokio::sync::Notify,
    /// Batches lost to a panic (rolled back and answered 503).
    pub faults: AtomicU64,
}

impl Health {
    /// True when a thread died of a fault (not a clean stop).
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// Marks the writer dead: the server stops, to be restarted.
    pub(super) fn fail(&self) {
        self.dead.store(true, Ordering::SeqCst);
        self.died.notify_waiters();
    }

    /// Resolves when a writer thread dies of a fault.
    pub async fn death(&self) {
        let notified = self.died.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if !self.is_dead() {
            notified.await;
        }
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
            self.0.fail();
        }
    }
}

impl Writer {
    /// Starts one writer thread per connection (each outside any transaction); they share one
    /// queue.
    pub fn spawn(
        connections: Vec<Connection>,
        config: WriterConfig,
        name: String,
    ) -> (Writer, Vec<std::thread::JoinHandle<()>>) {
        Self::spawn_watched(connections, config, name, Arc::default())
    }

    /// [`Writer::spawn`], reporting to `health`, which a helper of the connection (the SQLite
    /// sync thread) may mark failed too.
    pub fn spawn_watched(
        connections: Vec<Connection>,
        config: WriterConfig,
        name: String,
        health: Arc<Health>,
    ) -> (Writer, Vec<std::thread::JoinHandle<()>>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(Queue { rx, lanes: Lanes::new() }));
        let die = Arc::new(AtomicBool::new(config.die_on_first_batch));
        let handles = connections
            .into_iter()
            .enumerate()
            .map(|(i, conn)| {
                let shared = Shared { queue: queue.clone(), die: die.clone(), name: name.clone() };
                let watch = DeathWatch(health.clone());
                std::thread::Builder::new()
                    .name(format!("assetkitd-writer-{i}"))
                    .spawn(move || {
                        let watch = watch;
                        run(conn, &shared, &watch.0)
                    })
                    .expect("spawning a writer thread")
            })
            .collect();
        (Writer { tx, health }, handles)
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
        self.run_locked(nonce, Vec::new(), op).await
    }

    /// [`Writer::run`], holding `locks` (names; see the module's documentation) while `op` runs.
    pub async fn run_locked<T, E, F>(&self, nonce: Option<NonceUse>, locks: Vec<String>, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<WriteFailure> + Send + 'static,
        F: FnOnce(&mut dyn Db, i64) -> Result<T, E> + Send + 'static,
    {
        self.run_fair(nonce, locks, Lane::default(), op).await
    }

    /// [`Writer::run_locked`] in `lane`, served fairly against other lanes.
    pub async fn run_fair<T, E, F>(
        &self,
        nonce: Option<NonceUse>,
        locks: Vec<String>,
        lane: Lane,
        op: F,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<WriteFailure> + Send + 'static,
        F: FnOnce(&mut dyn Db, i64) -> Result<T, E> + Send + 'static,
    {
        if self.is_dead() {
            return Err(E::from(WriteFailure::Closed));
        }
        let (reply, rx) = oneshot::channel();
        let job = Box::new(Op { nonce, locks, lane, op, reply });
        self.tx.send(job).await.map_err(|_| E::from(WriteFailure::Closed))?;
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
        self.tx
            .blocking_send(Box::new(Op { nonce: None, locks: Vec::new(), lane: Lane::default(), op, reply }))
            .map_err(|_| E::from(WriteFailure::Closed))?;
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

/// What the writer threads share.
struct Shared {
    queue: Arc<Mutex<Queue>>,
    die: Arc<AtomicBool>,
    name: String,
}

/// The queue: jobs arriving on the channel, sorted into lanes.
struct Queue {
    rx: mpsc::Receiver<Box<dyn Job>>,
    lanes: Lanes<Box<dyn Job>>,
}

impl Fair for Box<dyn Job> {
    fn lane(&self) -> &str {
        Job::lane(self.as_ref())
    }
    fn weight(&self) -> u32 {
        Job::weight(self.as_ref())
    }
}

/// The next batch: the first queued job waited for, then whatever else is queued, taken fairly
/// between lanes.
fn next_batch(shared: &Shared) -> Option<Vec<Box<dyn Job>>> {
    let mut queue = shared.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Queue { rx, lanes } = &mut *queue;
    if lanes.is_empty() {
        lanes.push(rx.blocking_recv()?);
    }
    while let Ok(job) = rx.try_recv() {
        lanes.push(job);
    }
    Some(lanes.batch())
}

fn run(mut conn: Connection, shared: &Shared, health: &Health) {
    let name = shared.name.as_str();
    while let Some(batch) = next_batch(shared) {
        if shared.die.swap(false, Ordering::SeqCst) {
            panic!("failpoint: the writer thread dies");
        }
        let db = match conn.get(name) {
            Ok(db) => db,
            Err(e) => {
                for job in batch {
                    job.fail(&e);
                }
                continue;
            }
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run_batch(db, batch, name)));
        if let Ok(committed) = outcome {
            if let Some(Err(error)) = committed.map(|replies| conn.answer(replies)) {
                tracing::error!(%error, db = %name, "commits can no longer be made durable; the writer stops");
                health.fail();
                break;
            }
            continue;
        }
        // It panicked: the batch's reply channels were dropped as it unwound (the callers
        // answer 503). Roll back whatever it left open.
        health.faults.fetch_add(1, Ordering::Relaxed);
        if db.in_transaction() {
            let _ = db.batch("ROLLBACK");
        }
        tracing::error!(db = %name, "a write batch panicked; it was rolled back and the writer goes on");
    }
    tracing::info!("writer stopped");
}

fn begin(db: &mut dyn Db) -> Result<(), DbError> {
    db.batch(match db.engine() {
        // Take the write lock now, not at the first write: no upgrade deadlock with readers.
        Engine::Sqlite => "BEGIN IMMEDIATE",
        Engine::Postgres => "BEGIN",
    })
}

/// Takes every lock the batch's jobs name, in one global order (PostgreSQL).
fn lock(db: &mut dyn Db, batch: &[Box<dyn Job>]) -> Result<(), DbError> {
    if db.engine() != Engine::Postgres {
        return Ok(());
    }
    let mut names: Vec<&str> = batch.iter().flat_map(|j| j.locks().iter().map(String::as_str)).collect();
    names.sort_unstable();
    names.dedup();
    // One statement per 128 names (PostgreSQL evaluates a select list left to right, so the
    // order holds), padded to a power of two by repeating the last name (a transaction takes
    // a lock it holds again at once): a handful of prepared statements serve every batch.
    for chunk in names.chunks(128) {
        let width = chunk.len().next_power_of_two();
        let calls: Vec<String> =
            (1..=width).map(|i| format!("pg_advisory_xact_lock(hashtextextended(?{i}, 0))")).collect();
        let last = *chunk.last().expect("chunks are never empty");
        let params: Vec<Value> = (0..width).map(|i| Value::from(*chunk.get(i).unwrap_or(&last))).collect();
        db.execute(&format!("SELECT {}", calls.join(", ")), &params)?;
    }
    Ok(())
}

/// Runs one batch in one transaction. Committed, it gives back the jobs' answers, to be given
/// once the commit is durable; else it answers them with the failure itself.
fn run_batch(db: &mut dyn Db, batch: Vec<Box<dyn Job>>, name: &str) -> Option<Vec<Reply>> {
    let size = batch.len();
    let started = Instant::now();
    if let Err(e) = begin(db).and_then(|()| lock(db, &batch)) {
        if db.in_transaction() {
            let _ = db.batch("ROLLBACK");
        }
        static LINES: crate::log::Limiter = crate::log::Limiter::new(5, Duration::from_secs(60));
        if let Some(suppressed) = LINES.allow("begin") {
            tracing::warn!(error = %e, jobs = size, suppressed, db = %name, "cannot begin a transaction; nothing from this batch was written");
        }
        for job in batch {
            job.fail(&e);
        }
        return None;
    }
    let now = super::time::now();
    let mut replies: Vec<Reply> = Vec::with_capacity(size);
    let mut jobs = batch.into_iter();
    let mut aborted = false;
    // Each job runs in the savepoint `job`; ending one and opening the next is one round trip.
    let mut savepoint = false;
    for job in jobs.by_ref() {
        if !savepoint {
            if let Err(e) = db.batch("SAVEPOINT job") {
                job.fail(&e);
                continue;
            }
            savepoint = true;
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
        let end = if ok { "RELEASE job; SAVEPOINT job" } else { "ROLLBACK TO job; RELEASE job; SAVEPOINT job" };
        if db.batch(end).is_err() || !db.in_transaction() {
            aborted = true;
            break;
        }
    }
    let committed = if aborted {
        if db.in_transaction() {
            let _ = db.batch("ROLLBACK");
        }
        Err(if db.is_broken() {
            DbError::new(DbErrorKind::Unavailable, "the connection to the database was lost")
        } else {
            DbError::new(DbErrorKind::Other, "the transaction was rolled back by the database")
        })
    } else {
        // A connection lost during COMMIT leaves the outcome unknown: the database may have
        // committed before it went away. Callers are told to retry the same request; a report
        // that did land is then answered as a duplicate (with any credential it issued).
        db.batch("COMMIT").map_err(|e| {
            if e.kind == DbErrorKind::Unavailable {
                DbError::new(
                    DbErrorKind::Unavailable,
                    "the connection to the database was lost during COMMIT; the batch may or may not have been written",
                )
            } else {
                e
            }
        })
    };
    let outcome = match committed {
        Ok(()) => Some(replies),
        Err(error) => {
            if db.in_transaction() {
                let _ = db.batch("ROLLBACK");
            }
            static LINES: crate::log::Limiter = crate::log::Limiter::new(5, Duration::from_secs(60));
            if error.kind == DbErrorKind::Unavailable {
                if let Some(suppressed) = LINES.allow("lost") {
                    tracing::warn!(%error, jobs = size, suppressed, db = %name, "database unavailable; the batch was not acknowledged");
                }
            } else {
                tracing::error!(%error, jobs = size, db = %name, "transaction failed; nothing from this batch was written");
            }
            replies.into_iter().for_each(|r| r(Some(&error)));
            for job in jobs {
                job.fail(&error);
            }
            None
        }
    };
    tracing::trace!(
        jobs = size,
        elapsed_us = started.elapsed().as_micros() as u64,
        committed = outcome.is_some(),
        "batch ended"
    );
    outcome
}
