//! The domain layer's one error type: what went wrong, in terms the HTTP layer and the CLI turn
//! into a status code or a message.

use crate::store::{DbError, WriteFailure};

/// Why a domain operation did not happen. Nothing was written in any case.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The store did not carry it out: a replayed nonce, an engine failure, the writer gone.
    #[error(transparent)]
    Store(#[from] WriteFailure),
    /// The input is refused; `field` names the offending field when there is one.
    #[error("{message}")]
    Invalid {
        /// JSON path or form field.
        field: Option<String>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The host name is another live asset's (409 `hostname_taken`).
    #[error("hostname {hostname} already belongs to asset {owner}")]
    HostnameTaken {
        /// The name asked for.
        hostname: String,
        /// The asset that has it.
        owner: i64,
    },
    /// The thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// No hostname, no cert hostname and no usable serial.
    #[error("report carries no hostname, cert hostname or serial number: the host cannot be identified")]
    Unidentifiable,
    /// A report id already applied from another key or with another body.
    #[error(
        "report_id {0} was already used by another sender or for another report; generate a fresh report_id per report"
    )]
    ReportIdConflict(String),
    /// A report sent only the digest of its package list, and the receiver does not hold that
    /// list for this asset (a new database, a restored backup, a lost write): the sender sends
    /// the full list.
    #[error(
        "this receiver does not hold the package list {0} refers to; send the report again with facts.packages in full"
    )]
    PackagesUnknown(String),
    /// The key that signed the request was revoked or replaced (checked in the write's own
    /// transaction, so it holds at once on every server).
    #[error("this key is revoked")]
    KeyRevoked {
        /// A host credential (401 `credential_revoked`), else any other key.
        host: bool,
    },
    /// A budget is spent (429 `over_budget`, with `Retry-After`).
    #[error("{what}; try again in {retry_after} s")]
    OverBudget {
        /// Which budget, and its size.
        what: String,
        /// Seconds until the budget has room again.
        retry_after: u64,
    },
    /// The test-only failpoint fired.
    #[error("failpoint: injected failure after {0} component writes")]
    Failpoint(usize),
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        Error::Store(WriteFailure::Db(e))
    }
}

impl Error {
    /// An input refusal without a field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid { field: None, message: message.into() }
    }
    /// An input refusal naming its field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid { field: Some(field.into()), message: message.into() }
    }
}

/// Results of the domain layer.
pub type Result<T> = std::result::Result<T, Error>;
