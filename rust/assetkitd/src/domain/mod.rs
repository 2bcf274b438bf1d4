//! The domain layer: what a report does to the inventory, and what people may do to it. It talks
//! to the store only through [`crate::store::Db`], so the same code runs on every engine.
//!
//! - [`intake`], [`limits`]: what a body must be to be taken in as a report.
//! - [`apply`]: identity, component diff, change events (one report, one savepoint).
//! - [`changelog`]: the one owner of change events (recording, repeats, budgets) and of the
//!   outbox rows of those that are alerts.
//! - [`components`]: components with stable keys and the typed events between two versions.
//! - [`inventory`]: the queries behind the API, console and CLI, and the admin edits.
//! - [`dashboard`]: the console home page's aggregates (bounded, index-served).
//! - [`export`]: the asset list as CSV and xlsx (formula injection neutralised).
//! - [`import`]: purchase lists (bounded xlsx/csv reading, row errors, apply).
//! - [`keys`], [`enrolment`]: API keys and host credentials (the trust model), admins' actions
//!   on credentials.
//! - [`users`], [`audit`]: console users and sessions, the audit log.
//! - [`maintenance`]: purging what only needs keeping for a while.
//! - [`error`]: the layer's one error type.

pub mod apply;
pub mod audit;
pub mod changelog;
pub mod components;
pub mod dashboard;
pub mod enrolment;
pub mod error;
pub mod export;
pub mod fields;
pub mod guests;
pub mod import;
pub mod intake;
pub mod inventory;
pub mod keys;
pub mod limits;
pub mod maintenance;
pub mod software;
pub mod users;
pub mod webhooks;

pub use error::{Error, Result};
