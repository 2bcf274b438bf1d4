//! The software routes (scope `read`): the fleet's packages with host counts, one asset's
//! packages and their history. The host list's package filters are the asset list's
//! (`GET /api/v1/assets?package=...`), in [`crate::http::params::package_filter`].

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use crate::domain::inventory;
use crate::domain::software::{self, SoftwareQuery};
use crate::http::auth::{Read, Signed, signed_get};
use crate::http::error::ApiError;
use crate::http::params::{self, Params};
use crate::http::request::{counted, read};
use crate::http::state::AppState;

/// The software routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/software", get(list))
        .route("/api/v1/assets/{id}/packages", get(asset_packages))
        .route("/api/v1/assets/{id}/packages/history", get(history))
}

/// The software list's parameters, as the console reads them too.
pub fn software_query(params: &Params) -> Result<SoftwareQuery, ApiError> {
    Ok(SoftwareQuery {
        q: params.text("q", 256)?,
        manager: params.choice("manager", &["deb", "rpm", "apk"])?,
        page: params.int("page", 1..=1_000_000, Some(1))?.map(|p| p as u32),
        per_page: params.int("per_page", 1..=200, Some(50))?.map(|p| p as u32),
    })
}

async fn list(State(state): State<AppState>, signed: Signed<Read>, params: Params) -> Response {
    let result = async {
        params.only(&["q", "manager", "page", "per_page"])?;
        let query = software_query(&params)?;
        signed_get(&state, signed).await?;
        let page = read(&state, move |c| software::software(c, &query)).await?;
        Ok(Json(serde_json::to_value(page).map_err(ApiError::internal)?))
    }
    .await;
    counted(&state, result)
}

fn no_asset(id: i64) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no asset {id}"))
}

async fn asset_packages(State(state): State<AppState>, signed: Signed<Read>, Path(id): Path<String>) -> Response {
    let result = async {
        let id = params::id(&id)?;
        signed_get(&state, signed).await?;
        let packages = read(&state, move |c| software::asset_packages(c, id)).await?;
        if packages.is_null() {
            return Err(no_asset(id));
        }
        Ok(Json(packages))
    }
    .await;
    counted(&state, result)
}

async fn history(
    State(state): State<AppState>,
    signed: Signed<Read>,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    let result = async {
        params.only(&["limit"])?;
        let id = params::id(&id)?;
        let limit = params.int("limit", 1..=1000, Some(100))?.unwrap_or(100) as u32;
        signed_get(&state, signed).await?;
        let history = read(&state, move |c| {
            if !inventory::asset_exists(c, id)? {
                return Ok(None);
            }
            software::history(c, id, limit).map(Some)
        })
        .await?
        .ok_or_else(|| no_asset(id))?;
        Ok(Json(json!({"asset_id": id, "history": history})))
    }
    .await;
    counted(&state, result)
}
