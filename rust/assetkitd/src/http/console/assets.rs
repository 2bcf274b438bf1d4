//! The asset list (with its exports), one asset (its edits and credential buttons), and hosts
//! entered by hand.
use std::time::Instant;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::page::{Form, page, posted, write};
use super::roles::{Admin, Operator, User, Viewer};
use super::{flash, views};
use crate::domain::enrolment;
use crate::domain::inventory::{self, AssetFilter, AssetPatch, NewAsset};
use crate::http::params::{self, Params};
use crate::http::request::read;
use crate::http::state::AppState;

pub(super) async fn assets_page(
    State(state): State<AppState>,
    user: User<Viewer>,
    ListFilter(filter): ListFilter,
) -> Response {
    let started = Instant::now();
    let cutoff = state.offline_cutoff();
    let f = filter.clone();
    let data = read(&state, move |db| {
        Ok((inventory::list_assets(db, &f, cutoff)?, inventory::status_counts(db, cutoff)?, inventory::choices(db)?))
    })
    .await;
    match data {
        Ok((list, counts, choices)) => {
            page(StatusCode::OK, started, views::assets(&user, &filter, &list, &counts, &choices))
        }
        Err(e) => e.into_response(),
    }
}

/// The Export links: the list's filters as CSV or xlsx, streamed as the API streams them.
pub(super) async fn export_csv(
    State(state): State<AppState>,
    _: User<Viewer>,
    ListFilter(filter): ListFilter,
) -> Response {
    crate::http::export::export_csv(&state, export_filter(filter)).await.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn export_xlsx(
    State(state): State<AppState>,
    _: User<Viewer>,
    ListFilter(filter): ListFilter,
) -> Response {
    crate::http::export::export_xlsx(&state, export_filter(filter)).await.unwrap_or_else(IntoResponse::into_response)
}

/// The list's filters as the API reads them: a handler that takes one gets the filter, and a
/// request with a misspelt or malformed one is answered 400 naming it (after the handler's
/// earlier extractors, the user's role among them, have passed).
pub(super) struct ListFilter(AssetFilter);

impl FromRequestParts<AppState> for ListFilter {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let query = Params::from_request_parts(parts, state).await?;
        query
            .only(&[LIST_PARAMS, params::PACKAGE_PARAMS, params::NARROWING_PARAMS].concat())
            .and_then(|()| params::list_filter(&query))
            .map(ListFilter)
            .map_err(IntoResponse::into_response)
    }
}

const LIST_PARAMS: &[&str] = &["status", "business_unit", "idc", "q", "page", "per_page", "sort"];

fn export_filter(filter: AssetFilter) -> AssetFilter {
    AssetFilter { page: None, per_page: None, sort: None, after_id: None, ..filter }
}

pub(super) async fn asset_page(
    State(state): State<AppState>,
    user: User<Viewer>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let cutoff = state.offline_cutoff();
    let data = read(&state, move |db| {
        let mut detail = inventory::asset_detail(db, id, cutoff)?;
        if let (Some(d), Some(standing)) = (detail.as_mut(), enrolment::standing(db, id)?) {
            d["credential"] = serde_json::json!({"key_id": standing.key_id, "issued_at": standing.issued_at});
        }
        if let Some(d) = detail.as_mut() {
            d["packages"] = crate::domain::software::asset_packages(db, id)?;
            d["field_definitions"] =
                crate::domain::fields::list(db)?.iter().map(crate::domain::fields::Field::json).collect();
            d["package_history"] = serde_json::json!(crate::domain::software::history(db, id, 50)?);
        }
        Ok((detail, inventory::asset_changes(db, id, 200, None)?, inventory::choices(db)?))
    })
    .await;
    match data {
        Ok((Some(asset), changes, choices)) => {
            let msg = flash::take(&headers, &user);
            let view = views::asset(&user, &asset, &changes, &choices, msg.as_deref());
            flash::shown(page(StatusCode::OK, started, view), msg.is_some())
        }
        Ok((None, ..)) => page(
            StatusCode::NOT_FOUND,
            started,
            views::message("Not found", &format!("There is no asset {id}."), Some(&user)),
        ),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn reenrol_asset(
    State(state): State<AppState>,
    user: User<Admin>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Body,
) -> Response {
    if let Err(r) = posted(&user, &headers, body).await {
        return r;
    }
    let actor = format!("console:{}", user.name);
    let msg = match write(&state, move |db, now| enrolment::allow_reenrolment(db, id, &actor, now)).await {
        Ok(()) => "Re-enrolment allowed: the next report signed with the fleet key binds a new credential.".to_owned(),
        Err(e) => format!("Not changed: {e}"),
    };
    flash::redirect(&user, state.config.tls.is_some(), &format!("/assets/{id}"), &msg)
}

pub(super) async fn approve_asset(
    State(state): State<AppState>,
    user: User<Admin>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Body,
) -> Response {
    if let Err(r) = posted(&user, &headers, body).await {
        return r;
    }
    let actor = format!("console:{}", user.name);
    let msg = match write(&state, move |db, now| enrolment::approve(db, id, &actor, now)).await {
        Ok(true) => {
            "Claim approved: the next report signed with the fleet key that names this host binds it.".to_owned()
        }
        Ok(false) => "This host waited for no approval: nothing changed.".to_owned(),
        Err(e) => format!("Not changed: {e}"),
    };
    flash::redirect(&user, state.config.tls.is_some(), &format!("/assets/{id}"), &msg)
}

pub(super) async fn revoke_asset(
    State(state): State<AppState>,
    user: User<Admin>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Body,
) -> Response {
    if let Err(r) = posted(&user, &headers, body).await {
        return r;
    }
    let actor = format!("console:{}", user.name);
    let msg = match write(&state, move |db, now| enrolment::revoke(db, id, &actor, now)).await {
        Ok(n) => {
            state.keys.forget_asset(id);
            format!("Credential revoked ({n} key(s)): this host's reports are refused until a re-enrolment.")
        }
        Err(e) => format!("Not revoked: {e}"),
    };
    flash::redirect(&user, state.config.tls.is_some(), &format!("/assets/{id}"), &msg)
}

fn patch_from(form: &Form) -> AssetPatch {
    AssetPatch {
        hostname: form.get("hostname").map(str::trim).filter(|h| !h.is_empty()).map(str::to_owned),
        business_unit: form.opt("business_unit"),
        idc: form.opt("idc"),
        rack: form.opt("rack"),
        position: form.opt("position"),
        status: form.opt("status").filter(|s| !s.is_empty()),
        ..ownership_from(form)
    }
}

/// Owner, dates, tags (comma-separated) and custom fields (`cf_NAME`) as the form gives them;
/// a field the form does not carry is left as it is, an empty one is cleared.
fn ownership_from(form: &Form) -> AssetPatch {
    let custom = form.prefixed("cf_");
    AssetPatch {
        owner_name: form.opt("owner_name"),
        owner_email: form.opt("owner_email"),
        purchase_date: form.opt("purchase_date"),
        warranty_end: form.opt("warranty_end"),
        tags: form
            .get("tags")
            .map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()),
        fields: (!custom.is_empty()).then(|| custom.into_iter().map(|(k, v)| (k, Some(v))).collect()),
        ..AssetPatch::default()
    }
}

pub(super) async fn edit_asset(
    State(state): State<AppState>,
    user: User<Operator>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Body,
) -> Response {
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let patch = patch_from(&form);
    let actor = format!("console:{}", user.name);
    let result = write(&state, move |db, now| inventory::update_asset(db, id, &patch, &actor, now)).await;
    let msg = match result {
        Ok(0) => "Nothing to change.".to_owned(),
        Ok(n) => format!("Saved: {n} change(s) recorded."),
        Err(e) => format!("Not saved: {e}"),
    };
    flash::redirect(&user, state.config.tls.is_some(), &format!("/assets/{id}"), &msg)
}

pub(super) async fn new_asset_page(State(state): State<AppState>, user: User<Operator>) -> Response {
    let started = Instant::now();
    match read(&state, inventory::choices).await {
        Ok(choices) => page(StatusCode::OK, started, views::new_asset(&user, &choices, None)),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn new_asset(
    State(state): State<AppState>,
    user: User<Operator>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let input = NewAsset {
        hostname: form.get("hostname").unwrap_or("").trim().to_owned(),
        serial_number: form.opt("serial_number").filter(|s| !s.trim().is_empty()),
        business_unit: form.opt("business_unit").filter(|s| !s.is_empty()),
        idc: form.opt("idc").filter(|s| !s.is_empty()),
        rack: form.opt("rack").filter(|s| !s.is_empty()),
        position: form.opt("position").filter(|s| !s.is_empty()),
        status: None,
        // Opening a host to the fleet key is an admin's approval given in advance.
        open_enrolment: user.role.allows(crate::domain::users::Role::Admin) && form.get("open_enrolment") == Some("on"),
    };
    let actor = format!("console:{}", user.name);
    match write(&state, move |db, now| inventory::create_asset(db, &input, &actor, now)).await {
        Ok(id) => flash::redirect(
            &user,
            state.config.tls.is_some(),
            &format!("/assets/{id}"),
            "Host entered. It is pending until it reports.",
        ),
        Err(e) => {
            let choices = read(&state, inventory::choices).await.unwrap_or_default();
            page(StatusCode::UNPROCESSABLE_ENTITY, started, views::new_asset(&user, &choices, Some(&e.to_string())))
        }
    }
}
