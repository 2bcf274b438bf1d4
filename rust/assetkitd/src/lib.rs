//! assetkitd: the receiver. It turns signed reports into a trustworthy inventory.
//!
//! Flow: HTTP request -> [`api`] (body limit, [`auth`] signature and scope) -> [`writer`]
//! (one thread, group commit, one savepoint per report) -> [`apply`] (identity, component
//! [`components`] diff, change events) -> SQLite ([`store`]). Reads go through the reader pool
//! ([`inventory`]). People use the web console ([`console`], [`users`]) and import purchase lists
//! ([`import`]).
//!
//! Invariants:
//! - the receiver never trusts an unsigned body: every `/api` route verifies the signature
//!   before parsing, and the nonce is recorded in the same transaction as the write;
//! - one report is one savepoint: it lands whole or not at all, and is acknowledged only
//!   after its transaction commits (`synchronous=FULL`);
//! - a report_id is applied once; retries get the first answer;
//! - SQL is always parameterised; secrets are never logged.

pub mod api;
pub mod apply;
pub mod auth;
pub mod components;
pub mod console;
pub mod import;
pub mod intake;
pub mod inventory;
pub mod limits;
pub mod log;
pub mod metrics;
pub mod server;
pub mod store;
pub mod users;
pub mod writer;

pub use server::{ServerConfig, serve};
