//! The console's pages, as maud templates. Plain data in, markup out.
//!
//! One file per page family; [`layout`] is the frame they share.

pub mod asset;
pub mod assets;
pub mod import;
pub mod layout;
pub mod login;
pub mod ownership;
pub mod settings;
pub mod software;
pub mod users;

pub use asset::asset;
pub use assets::{assets, discovered, new_asset};
pub use import::import;
pub use layout::message;
pub use login::login;
pub use settings::{SettingsData, settings};
pub use software::software;
