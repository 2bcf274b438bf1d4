//! Where a host runs and what people add to it: a hypervisor's guests (scope `read`), and the
//! custom fields an admin defines (listed with `read`, defined and removed with `admin`).
//! Owner, dates, tags and field values are set with `PATCH /api/v1/assets/{id}`.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get};
use serde_json::json;

use crate::domain::{fields, guests, inventory};
use crate::http::auth::{Admin, Read, Signed, signed_get};
use crate::http::error::ApiError;
use crate::http::params::{self, Params};
use crate::http::request::{counted, read};
use crate::http::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/assets/{id}/guests", get(asset_guests))
        .route("/api/v1/fields", get(list_fields).post(add_field))
        .route("/api/v1/fields/{name}", delete(remove_field))
}

fn no_asset(id: i64) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no asset {id}"))
}

/// `GET /api/v1/assets/{id}/guests`: the guests a hypervisor last reported, each with the asset
/// that is it when that guest reports too.
async fn asset_guests(
    State(state): State<AppState>,
    signed: Signed<Read>,
    Path(id): Path<String>,
    p: Params,
) -> Response {
    let result = async {
        p.only(&[])?;
        let id = params::id(&id)?;
        signed_get(&state, signed).await?;
        let guests = read(&state, move |c| {
            if !inventory::asset_exists(c, id)? {
                return Ok(None);
            }
            guests::of_hypervisor(c, id).map(Some)
        })
        .await?
        .ok_or_else(|| no_asset(id))?;
        Ok(Json(json!({"asset_id": id, "guests": guests})))
    }
    .await;
    counted(&state, result)
}

async fn list_fields(State(state): State<AppState>, signed: Signed<Read>, p: Params) -> Response {
    let result = async {
        p.only(&[])?;
        signed_get(&state, signed).await?;
        let list = read(&state, |c| Ok(fields::list(c)?.iter().map(fields::Field::json).collect::<Vec<_>>())).await?;
        Ok(Json(json!({"fields": list})))
    }
    .await;
    counted(&state, result)
}

async fn add_field(State(state): State<AppState>, signed: Signed<Admin>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let (caller, new): (_, fields::NewField) = crate::http::api::admin_body(&state, signed, &headers, body).await?;
        let actor = format!("key:{}", caller.key_id);
        let name = new.name.clone();
        state.writer.run(Some(caller.nonce), move |db, now| fields::define(db, &new, &actor, now)).await?;
        let location = format!("/api/v1/fields/{name}");
        Ok((StatusCode::CREATED, [(axum::http::header::LOCATION, location)], Json(json!({"name": name}))))
    }
    .await;
    counted(&state, result)
}

async fn remove_field(
    State(state): State<AppState>,
    signed: Signed<Admin>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Body,
) -> Response {
    let result = async {
        let bytes = crate::http::request::read_body(&headers, body, state.config.max_body).await?;
        let caller = signed.verify(&bytes)?;
        let actor = format!("key:{}", caller.key_id);
        let n = name.clone();
        let removed = state.writer.run(Some(caller.nonce), move |db, now| fields::remove(db, &n, &actor, now)).await?;
        if !removed {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no field {}", crate::log::clip(&name)),
            ));
        }
        Ok(Json(json!({"removed": name})))
    }
    .await;
    counted(&state, result)
}
