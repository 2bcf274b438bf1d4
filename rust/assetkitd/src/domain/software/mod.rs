//! Installed software: each asset's package set, what changed between its reports, and the
//! fleet's packages with host counts.
//!
//! - [`store`]: a report's set written (packages stored once for the fleet, an asset's set as
//!   rows of ids, host counts moved in the same transaction) and its one change event; the
//!   digest-only report checked against the stored set.
//! - [`diff`]: installed, removed, upgraded, downgraded, in the manager's version order.
//! - [`query`]: the packages a filter selects, the software list, an asset's packages and
//!   history.

pub mod diff;
pub mod query;
pub mod store;

pub use query::{PackageFilter, SoftwarePage, SoftwareQuery, asset_packages, history, package_ids, software};
pub use store::Sent;
