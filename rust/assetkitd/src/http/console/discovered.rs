//! The discovered queue: assets that reported but were never assigned, assigned in bulk.
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::page::{page, posted, write};
use super::roles::{Operator, User, Viewer};
use super::{flash, views};
use crate::domain::inventory::{self, AssetFilter, AssetPatch};
use crate::http::request::read;
use crate::http::state::AppState;

pub(super) async fn discovered_page(State(state): State<AppState>, user: User<Viewer>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let cutoff = state.offline_cutoff();
    let data = read(&state, move |db| {
        let filter = AssetFilter {
            status: Some("discovered".into()),
            per_page: Some(500),
            sort: Some("-id".into()),
            ..AssetFilter::default()
        };
        Ok((inventory::list_assets(db, &filter, cutoff)?, inventory::choices(db)?, inventory::claims_waiting(db)?))
    })
    .await;
    match data {
        Ok((list, choices, waiting)) => {
            let msg = flash::take(&headers, &user);
            let view = views::discovered(&user, &list, &choices, &waiting, msg.as_deref());
            flash::shown(page(StatusCode::OK, started, view), msg.is_some())
        }
        Err(e) => e.into_response(),
    }
}

pub(super) async fn assign_discovered(
    State(state): State<AppState>,
    user: User<Operator>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let ids: Vec<i64> = form.all("ids").iter().filter_map(|i| i.parse().ok()).collect();
    if ids.is_empty() {
        return flash::redirect(&user, state.config.tls.is_some(), "/discovered", "Select at least one asset.");
    }
    let patch = AssetPatch {
        business_unit: form.opt("business_unit").filter(|s| !s.is_empty()),
        idc: form.opt("idc").filter(|s| !s.is_empty()),
        rack: form.opt("rack").filter(|s| !s.is_empty()),
        position: form.opt("position").filter(|s| !s.is_empty()),
        ..AssetPatch::default()
    };
    let actor = format!("console:{}", user.name);
    let count = ids.len();
    let result = write(&state, move |db, now| {
        let mut events = 0;
        for id in ids {
            events += inventory::update_asset(db, id, &patch, &actor, now)?;
        }
        Ok(events)
    })
    .await;
    let msg = match result {
        Ok(n) => format!("Assigned {count} asset(s): {n} change(s) recorded."),
        Err(e) => format!("Nothing assigned: {e}"),
    };
    flash::redirect(&user, state.config.tls.is_some(), "/discovered", &msg)
}
