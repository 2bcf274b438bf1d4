//! The JSON API under `/api/v1` (documented in `openapi.yaml`). Every route is signed.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::domain::apply::{Answer, Context, Issued, Prepared, Sender};
use crate::domain::enrolment;
use crate::domain::intake::{self, Intake, Refusal};
use crate::domain::inventory::{self, AssetPatch, NewAsset};
use crate::http::auth::{Admin, Caller, Read, Report, Signed, signed_get};
use crate::http::error::ApiError;
use crate::http::params::{self, Params, list_filter};
use crate::http::request::{counted, read, read_body};
use crate::http::state::AppState;

/// The API routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports", post(post_report))
        .route("/api/v1/hosts/pending", get(pending))
        .route("/api/v1/assets", get(list_assets).post(create_asset))
        .route("/api/v1/assets/{id}", get(asset).patch(patch_asset))
        .route("/api/v1/assets/{id}/changes", get(asset_changes))
        .route("/api/v1/changes", get(changes))
        .route("/api/v1/hosts/enrol", post(preenrol))
        .route("/api/v1/assets/{id}/reenrol", post(reenrol))
        .route("/api/v1/assets/{id}/revoke", post(revoke))
        .route("/api/v1/assets/{id}/approve", post(approve))
        .route("/api/v1/schema/report", get(report_schema))
}

/// The answer to any path the API does not have: the API's JSON error.
pub async fn not_found(uri: Uri) -> Response {
    let _ = uri;
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
}

/// The answer to a method a route does not have (axum adds the `Allow` header).
pub async fn method_not_allowed() -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
        .into_response()
}

/// `GET /api/v1/schema/report`: the report's JSON Schema, as the server checks reports against it.
async fn report_schema() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/schema+json"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        intake::REPORT_SCHEMA,
    )
        .into_response()
}

async fn post_report(
    State(state): State<AppState>,
    signed: Signed<Report>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = post_report_inner(&state, signed, &headers, body).await;
    counted(&state, result)
}

/// A report the intake refused, as the API's answer (422 with the offending field where there
/// is one, 400 for what is not JSON).
fn refused(refusal: Refusal) -> ApiError {
    let (status, code) = match &refusal {
        Refusal::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
        Refusal::InvalidReport { field, .. } => {
            return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_report", refusal.to_string())
                .with_field(field.clone());
        }
        Refusal::UnsupportedVersion(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unsupported_schema_version"),
        Refusal::OverLimit(over) => {
            return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "too_many_components", refusal.to_string())
                .with_field(over.field.clone());
        }
        Refusal::InvalidName { field, .. } => {
            return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_hostname", refusal.to_string())
                .with_field(field.clone());
        }
        Refusal::Unidentifiable => (StatusCode::UNPROCESSABLE_ENTITY, "unidentifiable"),
    };
    ApiError::new(status, code, refusal.to_string())
}

async fn post_report_inner(
    state: &AppState,
    signed: Signed<Report>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let over_budget = |over: crate::http::budgets::Over| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "over_budget",
            format!("{}; try again in {} s", over.what, over.retry_after),
        )
        .with_retry_after(over.retry_after)
    };
    // Before the body is read: a key already over its budget does not cost its body.
    let (claimed, host) = signed.claimed();
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(0);
    state.budgets.has_room(claimed, host, announced, Instant::now()).map_err(over_budget)?;
    let bytes = read_body(headers, body, state.config.max_body).await?;
    let caller = signed.verify(&bytes)?;
    // Before any parsing: a key over its budget costs no more than reading its body.
    state.budgets.admit(&caller.key_id, caller.scope == "host", bytes.len(), Instant::now()).map_err(over_budget)?;
    // Signed as sent; parsed (and remembered, for a retry's idempotency) as inflated.
    let bytes = crate::http::request::decoded_body(headers, bytes)?;
    let Intake { report, raw } = intake::decode(&bytes).map_err(refused)?;
    let sender = match caller.asset_id {
        Some(asset_id) if caller.scope == "host" => Sender::Host { key_id: caller.key_id.clone(), asset_id },
        _ => Sender::Fleet { key_id: caller.key_id.clone() },
    };
    let body_digest = assetkit_sign::body_digest(&bytes);
    let (policy, failpoint, ring, budget, new_assets) = (
        state.config.policy,
        state.config.failpoint,
        state.keyring.clone(),
        state.config.event_budget,
        state.config.new_assets,
    );
    let locks = crate::domain::apply::locks(&report, &sender);
    let lane = crate::store::Lane::of(&caller.key_id, bytes.len());
    // Off the writer thread: what needs no database is worked out here (the components only
    // when the report is expected to change its asset), and the report is freed here too (this
    // handle outlives the writer's).
    let prepared = Prepared::new(report, raw);
    let expect_change = match &sender {
        Sender::Host { asset_id, .. } => state.digests.changes(*asset_id, &prepared.digest),
        Sender::Fleet { .. } => true,
    };
    let prepared = Arc::new(if expect_change { prepared.with_components() } else { prepared });
    let ours = prepared.clone();
    let answer = state
        .writer
        .run_fair(Some(caller.nonce), locks, lane, move |db, now| {
            let ctx = Context {
                policy,
                failpoint,
                ring: &ring,
                sender: &sender,
                body_digest: &body_digest,
                now,
                budget,
                new_assets,
            };
            crate::domain::apply::apply(db, &prepared, &ctx)
        })
        .await
        .map_err(ApiError::from)?;
    let outcome = match answer {
        Answer::Applied(outcome) => outcome,
        Answer::Refused { code, message, .. } => return Err(ApiError::new(StatusCode::FORBIDDEN, code, message)),
    };
    if !outcome.duplicate {
        state.digests.record(outcome.asset_id, &ours.digest);
    }
    let action = if outcome.duplicate { "duplicate" } else { outcome.action.as_str() };
    state.metrics.applied(action, started.elapsed().as_secs_f64());
    if outcome.alerts > 0 {
        state.webhook_wake.notify_one();
    }
    let mut answer = json!({
        "asset_id": outcome.asset_id,
        "action": outcome.action,
        "cert_hostname": outcome.cert_hostname,
        "changes": outcome.changes,
        "duplicate": outcome.duplicate,
    });
    match outcome.credential {
        Some(Issued::Sealed { key_id, sealed }) => {
            answer["host_key_id"] = json!(key_id);
            answer["host_secret_sealed"] = json!(sealed);
        }
        Some(Issued::Clear(credential)) => {
            answer["host_key_id"] = json!(credential.key_id);
            answer["host_secret"] = json!(credential.secret.expose());
        }
        Some(Issued::Withheld { key_id }) => {
            answer["host_key_id"] = json!(key_id);
            answer["credential_withheld"] = json!(true);
        }
        None => {}
    }
    Ok(Json(answer))
}

async fn pending(State(state): State<AppState>, signed: Signed<Read>) -> Response {
    let result = async {
        signed_get(&state, signed).await?;
        let now = crate::store::now();
        let day_start = now - now.rem_euclid(86_400);
        let hosts = read(&state, move |c| inventory::pending_hosts(c, day_start)).await?;
        Ok(Json(json!({"hosts": hosts, "since": crate::store::rfc3339(day_start)})))
    }
    .await;
    counted(&state, result)
}

/// The asset list's parameters.
const LIST_PARAMS: &[&str] =
    &["status", "business_unit", "idc", "q", "page", "per_page", "sort", "include", "after_id"];

async fn list_assets(State(state): State<AppState>, signed: Signed<Read>, params: Params) -> Response {
    let result = async {
        params.only(&[LIST_PARAMS, params::PACKAGE_PARAMS, params::NARROWING_PARAMS].concat())?;
        let mut filter = list_filter(&params)?;
        let components = params.choice("include", &["components"])?.is_some();
        // With a cursor the list is in id order unless another order is asked for.
        if filter.after_id.is_some() && filter.sort.is_none() {
            filter.sort = Some("id".to_owned());
        }
        let cursor = filter.after_id.is_some() && filter.sort.as_deref() == Some("id");
        signed_get(&state, signed).await?;
        let cutoff = state.offline_cutoff();
        let (page, next_after_id) = read(&state, move |c| {
            let mut page = inventory::list_assets(c, &filter, cutoff)?;
            if components {
                inventory::with_components(c, &mut page.assets)?;
            }
            // In id order, the cursor for the next page: the last id of a full page; null at
            // the end.
            let next = cursor.then(|| {
                page.assets
                    .last()
                    .and_then(|a| a["id"].as_i64())
                    .filter(|_| page.assets.len() == page.per_page as usize)
            });
            Ok((page, next))
        })
        .await?;
        let mut answer = serde_json::to_value(page).map_err(ApiError::internal)?;
        if let Some(next) = next_after_id {
            answer["next_after_id"] = json!(next);
        }
        Ok(Json(answer))
    }
    .await;
    counted(&state, result)
}

async fn asset(State(state): State<AppState>, signed: Signed<Read>, Path(id): Path<String>) -> Response {
    let result = async {
        let id = params::id(&id)?;
        signed_get(&state, signed).await?;
        let cutoff = state.offline_cutoff();
        read(&state, move |c| inventory::asset_detail(c, id, cutoff))
            .await?
            .map(Json)
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no asset {id}")))
    }
    .await;
    counted(&state, result)
}

async fn asset_changes(
    State(state): State<AppState>,
    signed: Signed<Read>,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    let result = async {
        params.only(&["limit", "before"])?;
        let id = params::id(&id)?;
        let limit = params.int("limit", 1..=1000, Some(100))?.unwrap_or(100);
        let before = params.int("before", 1..=i64::MAX, None)?;
        signed_get(&state, signed).await?;
        let changes = read(&state, move |c| {
            if !inventory::asset_exists(c, id)? {
                return Ok(None);
            }
            inventory::asset_changes(c, id, limit as u32, before).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no asset {id}")))?;
        let next_before = changes.last().and_then(|c| c["id"].as_i64()).filter(|_| changes.len() as i64 == limit);
        Ok(Json(json!({"asset_id": id, "limit": limit, "changes": changes, "next_before": next_before})))
    }
    .await;
    counted(&state, result)
}

async fn changes(State(state): State<AppState>, signed: Signed<Read>, params: Params) -> Response {
    let result = async {
        params.only(&["since", "after_id", "limit"])?;
        let since = params.text("since", 64)?.as_deref().map(params::since).transpose()?.unwrap_or(0);
        let after_id = params.int("after_id", 0..=i64::MAX, Some(0))?.unwrap_or(0);
        let limit = params.int("limit", 1..=5000, Some(1000))?.unwrap_or(1000);
        signed_get(&state, signed).await?;
        let (changes, last) = read(&state, move |c| {
            Ok((inventory::changes_since(c, since, after_id, limit as u32)?, inventory::last_change_id(c)?))
        })
        .await?;
        // The cursor never goes back: on an empty page it is where the feed ends now (or where the
        // client already was), so following it never re-reads what was seen.
        let next = changes.last().and_then(|c| c["id"].as_i64()).unwrap_or(after_id.max(last));
        Ok(Json(json!({"changes": changes, "limit": limit, "next_after_id": next})))
    }
    .await;
    counted(&state, result)
}

/// A signed admin write with a JSON body: 400 `malformed_json` when it is not JSON, 422
/// `invalid` (with the field) when it is JSON of the wrong shape.
pub(crate) async fn admin_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    signed: Signed<Admin>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Caller, T), ApiError> {
    let bytes = read_body(headers, body, state.config.max_body).await?;
    let caller = signed.verify(&bytes)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("body is not valid JSON: {e}"))
    })?;
    let input: T = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", crate::log::clip_long(&e.inner().to_string()))
            .with_field(if field == "." { "(body)".to_owned() } else { field })
    })?;
    Ok((caller, input))
}

async fn create_asset(
    State(state): State<AppState>,
    signed: Signed<Admin>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let (caller, input): (Caller, NewAsset) = admin_body(&state, signed, &headers, body).await?;
        let actor = format!("key:{}", caller.key_id);
        let id = state
            .writer
            .run(Some(caller.nonce), move |db, now| inventory::create_asset(db, &input, &actor, now))
            .await
            .map_err(ApiError::from)?;
        let location = format!("/api/v1/assets/{id}");
        Ok((StatusCode::CREATED, [(axum::http::header::LOCATION, location)], Json(json!({"asset_id": id}))))
    }
    .await;
    counted(&state, result)
}

async fn patch_asset(
    State(state): State<AppState>,
    signed: Signed<Admin>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let result = async {
        let id = params::id(&id)?;
        let (caller, patch): (Caller, AssetPatch) = admin_body(&state, signed, &headers, body).await?;
        let actor = format!("key:{}", caller.key_id);
        let changed = state
            .writer
            .run(Some(caller.nonce), move |db, now| {
                inventory::update_asset(db, id, &patch, &actor, now).map(|n| json!({"asset_id": id, "changes": n}))
            })
            .await
            .map_err(ApiError::from)?;
        Ok(Json(changed))
    }
    .await;
    counted(&state, result)
}

/// `POST /api/v1/hosts/enrol`: binds a credential to a host before it is installed.
async fn preenrol(State(state): State<AppState>, signed: Signed<Admin>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let (caller, input): (Caller, NewAsset) = admin_body(&state, signed, &headers, body).await?;
        let actor = format!("key:{}", caller.key_id);
        let ring = state.keyring.clone();
        let (id, credential, hostname) = state
            .writer
            .run(Some(caller.nonce), move |db, now| {
                let (id, credential) = enrolment::preenrol(db, &ring, &input, &actor, now)?;
                Ok::<_, crate::domain::Error>((id, credential, input.hostname.clone()))
            })
            .await
            .map_err(ApiError::from)?;
        let location = format!("/api/v1/assets/{id}");
        Ok((
            StatusCode::CREATED,
            [(axum::http::header::LOCATION, location)],
            Json(json!({"asset_id": id, "cert_hostname": hostname, "host_key_id": credential.key_id,
                        "host_secret": credential.secret.expose()})),
        ))
    }
    .await;
    counted(&state, result)
}

/// `POST /api/v1/assets/{id}/reenrol`: the next fleet-key report may bind a new credential.
async fn reenrol(State(state): State<AppState>, signed: Signed<Admin>, Path(id): Path<String>) -> Response {
    let result = async {
        let id = params::id(&id)?;
        let caller = signed.verify(b"")?;
        let actor = format!("key:{}", caller.key_id);
        state
            .writer
            .run(Some(caller.nonce), move |db, now| enrolment::allow_reenrolment(db, id, &actor, now))
            .await
            .map_err(ApiError::from)?;
        Ok(Json(json!({"asset_id": id, "enrolment": "reenrol"})))
    }
    .await;
    counted(&state, result)
}

/// `POST /api/v1/assets/{id}/approve`: the next fleet-key report naming this hand-entered host
/// binds it.
async fn approve(State(state): State<AppState>, signed: Signed<Admin>, Path(id): Path<String>) -> Response {
    let result = async {
        let id = params::id(&id)?;
        let caller = signed.verify(b"")?;
        let actor = format!("key:{}", caller.key_id);
        let waited = state
            .writer
            .run(Some(caller.nonce), move |db, now| enrolment::approve(db, id, &actor, now))
            .await
            .map_err(ApiError::from)?;
        Ok(Json(json!({"asset_id": id, "claim": if waited { "approved" } else { "none" }})))
    }
    .await;
    counted(&state, result)
}

/// `POST /api/v1/assets/{id}/revoke`: the asset's credential stops working at once.
async fn revoke(State(state): State<AppState>, signed: Signed<Admin>, Path(id): Path<String>) -> Response {
    let result = async {
        let id = params::id(&id)?;
        let caller = signed.verify(b"")?;
        let actor = format!("key:{}", caller.key_id);
        let revoked = state
            .writer
            .run(Some(caller.nonce), move |db, now| enrolment::revoke(db, id, &actor, now))
            .await
            .map_err(ApiError::from)?;
        state.keys.forget_asset(id);
        Ok(Json(json!({"asset_id": id, "enrolment": "revoked", "revoked": revoked})))
    }
    .await;
    counted(&state, result)
}
