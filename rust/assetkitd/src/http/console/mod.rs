//! The web console: server-rendered pages (maud) for operators to see, complete and correct the
//! inventory. Sessions are HttpOnly SameSite=Strict cookies; every form carries a CSRF token;
//! failed logins are rate-limited ([`throttle`]); every write is a change event (or an audit
//! entry) with the acting user. Everything is served from the binary: no CDN, no build step.
//!
//! Every handler names the least role it admits by taking [`roles::User`]`<Viewer|Operator|Admin>`
//! (see [`roles`]): the session and its role are checked before the handler runs.
//!
//! No body is read before the session and its role are known: form handlers read at most
//! [`MAX_FORM_BYTES`]; the import upload checks its CSRF field, which the form sends
//! first, before it reads the file within the import limit. Pending import previews are bounded
//! per user and in total ([`previews`]).

use axum::Router;
use axum::routing::{get, post};

use crate::http::state::AppState;

mod assets;
pub mod charts;
mod dashboard;
mod discovered;
mod flash;
mod import;
mod login;
pub mod missing;
pub mod page;
pub mod previews;
pub mod roles;
mod settings;
mod software;
pub mod state;
pub mod throttle;
mod users;
mod views;
mod webhooks;

pub use page::{MAX_FORM_BYTES, MAX_LOGIN_NAME};
pub use state::ConsoleState;

/// The console's routes. The import upload may carry a file up to the import limit; every other
/// body is read by its handler within [`page::MAX_FORM_BYTES`].
pub fn routes(config: &crate::http::state::ServerConfig) -> Router<AppState> {
    let upload_limit =
        usize::try_from(config.import.file_bytes).unwrap_or(usize::MAX).saturating_add(page::MAX_FORM_BYTES);
    Router::new()
        .route("/", get(dashboard::dashboard_page))
        .route("/static/console.css", get(|| async { page::static_file("text/css", include_str!("console.css")) }))
        .route("/static/console.js", get(|| async { page::static_file("text/javascript", include_str!("console.js")) }))
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/assets", get(assets::assets_page))
        .route("/assets/new", get(assets::new_asset_page).post(assets::new_asset))
        .route("/assets/export.csv", get(assets::export_csv))
        .route("/assets/export.xlsx", get(assets::export_xlsx))
        .route("/assets/{id}", get(assets::asset_page).post(assets::edit_asset))
        .route("/assets/{id}/reenrol", post(assets::reenrol_asset))
        .route("/assets/{id}/revoke", post(assets::revoke_asset))
        .route("/assets/{id}/approve", post(assets::approve_asset))
        .route("/discovered", get(discovered::discovered_page).post(discovered::assign_discovered))
        .route("/software", get(software::software_page))
        .route(
            "/import",
            get(import::import_page)
                .post(import::import_preview)
                .layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/import/apply", post(import::import_apply))
        .route("/import/cancel", post(import::import_cancel))
        .route("/settings", get(settings::settings_page))
        .route("/settings/names", post(settings::add_name))
        .route("/settings/keys", post(settings::create_key))
        .route("/settings/keys/revoke", post(settings::revoke_key))
        .route("/settings/users", post(users::create))
        .route("/settings/users/role", post(users::set_role))
        .route("/settings/users/password", post(users::reset_password))
        .route("/settings/users/disable", post(users::disable))
        .route("/settings/webhooks", post(webhooks::add))
        .route("/settings/webhooks/remove", post(webhooks::remove))
        .route("/settings/webhooks/redeliver", post(webhooks::redeliver))
}
