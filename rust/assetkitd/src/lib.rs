//! assetkitd: the receiver. It turns signed reports into a trustworthy inventory.
//!
//! Three layers, each importing only downward:
//! - [`http`]: requests and answers. The signed API, the console, `serve`; bounds on
//!   connections, time and bodies; authentication before a body is read.
//! - [`domain`]: what a report does to the inventory (intake, identity, component diff, change
//!   events), the inventory's queries and edits, imports, keys, users, the audit log. Written once
//!   against [`store::Db`].
//! - [`store`]: engines and migrations, the `Db` interface, the single writer with group commit,
//!   time.
//!
//! [`cmd`] is the admin CLI (one file per subcommand) and [`log`] the logging policy; both sit
//! beside the layers and use them.
//!
//! Invariants:
//! - the receiver never trusts an unsigned body: every `/api` route checks the signature
//!   headers, key and scope before reading the body and the HMAC before parsing it, and the nonce
//!   is recorded in the same transaction as the write;
//! - one report is one savepoint: it lands whole or not at all, and is acknowledged only after
//!   its transaction commits;
//! - a report_id is applied once; retries get the first answer;
//! - SQL is always parameterised; secrets are never logged.

pub mod cmd;
pub mod domain;
pub mod http;
pub mod log;
pub mod store;

pub use http::server::serve;
pub use http::state::ServerConfig;
