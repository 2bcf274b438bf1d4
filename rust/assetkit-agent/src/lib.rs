//! assetkit-agent: everything between a collected report and the receiver on the host side.
//!
//! Invariants: the agent never writes outside its spool directory and its cert file; a
//! report is either acknowledged by the receiver or in the spool, never lost; the secret is read
//! from a file of mode 0600 and never logged.
//!
//! Modules: [`config`] (agent.toml).

pub mod config;

pub use config::{Config, ConfigError};
