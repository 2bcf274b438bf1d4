//! Where a writer thread gets its connection, and who answers what it commits: a fixed
//! connection (SQLite) or one made again after an outage (PostgreSQL); answers given at once,
//! or handed to whoever makes the commit durable first (the SQLite sync thread, [`super::wal`]).

use super::db::{Db, DbError, DbErrorKind};

/// Answers a job's caller: `None` once its batch is durable, else why it is not.
pub type Reply = Box<dyn FnOnce(Option<&DbError>) + Send>;

/// Makes a new connection (PostgreSQL, after an outage).
pub type Connect = Box<dyn FnMut() -> Result<Box<dyn Db + Send>, DbError> + Send>;

/// Given the answers of each batch the writer committed, to answer once the batch is durable
/// (SQLite: the sync thread). It runs on the writer thread: it must hand them on, not wait.
/// An error says commits can no longer be made durable (the answers were given as failed):
/// the writer stops.
pub type Committed = Box<dyn FnMut(Vec<Reply>) -> Result<(), DbError> + Send>;

/// Where a writer thread gets its connection.
pub struct Connection {
    current: Option<Box<dyn Db + Send>>,
    connect: Option<Connect>,
    failing: bool,
    committed: Option<Committed>,
}

impl Connection {
    /// One connection for the thread's life (SQLite).
    pub fn fixed(db: Box<dyn Db + Send>) -> Connection {
        Connection { current: Some(db), connect: None, failing: false, committed: None }
    }

    /// Hands each committed batch's answers to `committed` rather than answering at once: for
    /// a connection whose commit returns before the batch is on disk.
    pub fn after_commit(mut self, committed: Committed) -> Connection {
        self.committed = Some(committed);
        self
    }

    /// Answers a committed batch, or hands it on to be answered when durable; an error when
    /// that can no longer be done.
    pub(super) fn answer(&mut self, replies: Vec<Reply>) -> Result<(), DbError> {
        match self.committed.as_mut() {
            Some(committed) => committed(replies),
            None => {
                replies.into_iter().for_each(|r| r(None));
                Ok(())
            }
        }
    }

    /// Connects on first use and again whenever the connection broke (PostgreSQL).
    pub fn reconnecting(connect: Connect) -> Connection {
        Connection { current: None, connect: Some(connect), failing: false, committed: None }
    }

    pub(super) fn get(&mut self, name: &str) -> Result<&mut (dyn Db + Send), DbError> {
        if self.current.as_mut().is_some_and(|db| db.is_broken()) && self.connect.is_some() {
            self.current = None;
        }
        if self.current.is_none() {
            let connect =
                self.connect.as_mut().ok_or_else(|| DbError::new(DbErrorKind::Unavailable, "no connection"))?;
            match connect() {
                Ok(db) => {
                    if self.failing {
                        tracing::info!(db = %name, "database connection restored");
                    }
                    self.failing = false;
                    self.current = Some(db);
                }
                Err(e) => {
                    if !self.failing {
                        tracing::warn!(db = %name, error = %e, "cannot connect to the database; writes are refused (503) until it answers");
                    }
                    self.failing = true;
                    return Err(e);
                }
            }
        }
        Ok(self.current.as_deref_mut().expect("connected above"))
    }
}
