//! What a browser gets for an address with no page (404) or a form address opened as a page
//! (405, e.g. `GET /settings/webhooks`): a console page saying so, with the navigation when
//! someone is signed in. An API client (a path under `/api/`, or an `Accept` that does not ask
//! for HTML) keeps the API's JSON error.

use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use maud::html;

use super::page::{SESSION_COOKIE, cookie, page};
use super::views;
use crate::domain::users::{self, Session};
use crate::http::request::read;
use crate::http::state::AppState;

/// A browser asking for a page, not an API client.
fn wants_page(uri: &Uri, headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    !uri.path().starts_with("/api/") && accept.contains("text/html")
}

/// The signed-in user, if any (no redirect to the login page: this is already an answer).
async fn session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let token = cookie(headers, SESSION_COOKIE)?.to_owned();
    read(state, move |db| users::session(db, &token, crate::store::now())).await.ok().flatten()
}

/// The fallback for an address no route has.
pub async fn not_found(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if !wants_page(&uri, &headers) {
        return crate::http::api::not_found(uri).await;
    }
    let started = Instant::now();
    let user = session(&state, &headers).await;
    let body = html! {
        h1 { "Not found" }
        p { "There is no page at " code { (uri.path()) } "." }
        p { a href="/" { "Back to the dashboard" } }
    };
    page(StatusCode::NOT_FOUND, started, views::layout::layout("Not found", user.as_ref(), "", body))
}

/// The fallback for a route that does not take the method (axum adds the `Allow` header).
pub async fn method_not_allowed(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if !wants_page(&uri, &headers) {
        return crate::http::api::method_not_allowed().await;
    }
    let started = Instant::now();
    let user = session(&state, &headers).await;
    let body = html! {
        h1 { "Not a page" }
        p { code { (uri.path()) } " does not take a " (method.as_str()) " request: it receives a form sent from \
            another page." }
        p { a href="/" { "Back to the dashboard" } }
    };
    page(StatusCode::METHOD_NOT_ALLOWED, started, views::layout::layout("Not a page", user.as_ref(), "", body))
}
