//! What only the console keeps between requests: failed logins and pending import previews.

use super::{previews, throttle};

/// State that only the console needs.
#[derive(Default)]
pub struct ConsoleState {
    /// Failed logins.
    pub throttle: throttle::Throttle,
    /// Import previews waiting to be applied.
    pub previews: previews::Previews,
}
