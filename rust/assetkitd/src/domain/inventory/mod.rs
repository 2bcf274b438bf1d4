//! Reading and editing the inventory: the queries behind the API, the console and the admin
//! CLI, and the admin writes (manual entry, assignment, renames). Every write records a change
//! event with its actor. Every statement is parameterised; sort orders come from a fixed list.
//!
//! Modules: [`row`] (an asset as shown), [`list`] (filters, counts, pages, batches),
//! [`detail`] (one asset), [`changes`] (timelines and the feed), [`edit`] (manual entry and
//! edits), [`names`] (business units and IDCs), [`presence`] (when an asset is offline).

pub mod changes;
pub mod detail;
pub mod edit;
pub mod list;
pub mod names;
pub mod ownership;
pub mod presence;
pub mod row;

pub use changes::{asset_changes, changes_since, last_change_id};
pub use detail::{asset_detail, asset_exists, claims_waiting, pending_hosts};
pub use edit::{AssetPatch, NewAsset, create_asset, hostname_owner, update_asset, valid_hostname};
pub use list::{
    AssetFilter, AssetPage, EXACT_COUNT_UP_TO, Narrowing, assets_after, count_matching, list_assets, status_counts,
    with_components,
};
pub use names::{Choices, NameList, add_name, choices, named_id};
pub use row::{STATUSES, natural_key};
