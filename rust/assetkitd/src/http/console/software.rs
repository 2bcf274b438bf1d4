//! The Software page (any role): the fleet's packages with host counts.

use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::page::page;
use super::roles::{User, Viewer};
use super::views;
use crate::domain::software::{self, SoftwareQuery};
use crate::http::request::read;
use crate::http::state::AppState;

pub(super) async fn software_page(
    State(state): State<AppState>,
    user: User<Viewer>,
    Query(query): Query<SoftwareQuery>,
) -> Response {
    let started = Instant::now();
    let q = SoftwareQuery {
        manager: query.manager.clone().filter(|m| ["deb", "rpm", "apk"].contains(&m.as_str())),
        ..query
    };
    let shown = q.clone();
    match read(&state, move |db| software::software(db, &q)).await {
        Ok(list) => page(StatusCode::OK, started, views::software(&user, &shown, &list)),
        Err(e) => e.into_response(),
    }
}
