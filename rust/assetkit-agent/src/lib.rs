//! assetkit-agent: everything between a collected report and the receiver on the host side.
//!
//! Invariants: the agent never writes outside its spool directory, its cert file and its
//! credential files (the credential, its enrolment key, its acknowledged package digest); a
//! report is acknowledged by the receiver, or in the spool, or set aside with a log line, never
//! silently lost; the secret is read from a file of mode 0600 owned by the agent's user and
//! never logged.
//!
//! Modules: [`config`] (agent.toml), [`key`] (the fleet key file), [`credential`] (the host's
//! own credential), [`cert`] (the cert file), [`spool`] (unsent reports), [`client`] (signed
//! HTTP), [`tls`] (a refused server certificate as a sentence), [`signer`] (which key signs),
//! [`packages`] (the package list sent only when the receiver lacks it), [`run`] (the agent
//! flow).

pub mod cert;
pub mod client;
pub mod config;
pub mod credential;
pub mod key;
pub mod packages;
pub mod run;
pub mod signer;
pub mod spool;
pub mod tls;

pub use client::{Answer, Client, SendError};
pub use config::{Config, ConfigError};
