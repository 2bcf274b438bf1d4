//! The JSON API under `/api/v1` (documented in `openapi.yaml`). Every route is signed.

use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::apply::{Answer, Context, Sender};
use crate::domain::enrolment;
use crate::domain::intake::{self, Intake, Refusal};
use crate::domain::inventory::{self, AssetFilter, AssetPatch, NewAsset};
use crate::http::auth::{Admin, Agent, Caller, Report, Signed};
use crate::http::error::ApiError;
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
}

/// Reads the body within `limit` (413 beyond it), the body timeout (408), and its framing (400
/// for a malformed chunked encoding or a body cut short). Declared lengths over the limit are
/// refused before a byte is read.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", format!("request body exceeds {limit} bytes"))
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| match body_fault(&e) {
        BodyFault::TooLarge => too_large(),
        BodyFault::TimedOut => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body stalled; send it without pauses",
        ),
        BodyFault::Malformed => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "the request body is malformed (bad chunked encoding, or cut short)",
        ),
    })
}

#[derive(Debug, PartialEq, Eq)]
enum BodyFault {
    TooLarge,
    TimedOut,
    Malformed,
}

/// What went wrong reading a body: the error chain holds a length-limit error, a body timeout,
/// or (anything else) a framing error from hyper.
fn body_fault(err: &axum::Error) -> BodyFault {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<http_body_util::LengthLimitError>() {
            return BodyFault::TooLarge;
        }
        if e.is::<tower_http::timeout::TimeoutError>() {
            return BodyFault::TimedOut;
        }
        cur = e.source();
    }
    BodyFault::Malformed
}

/// The answer to any path the API does not have: the API's JSON error.
pub async fn not_found(uri: Uri) -> Response {
    let _ = uri;
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
}

/// `Path`, answering a malformed path segment with the API's JSON error (and counting it).
pub struct ApiPath<T>(pub T);
/// `Query`, answering a malformed query string with the API's JSON error (and counting it).
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Response> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(e) => {
                Err(counted::<()>(state, Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))))
            }
        }
    }
}

impl<T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Response> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => {
                Err(counted::<()>(state, Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))))
            }
        }
    }
}

/// Wraps a handler result so every error is counted by reason and logged, a few lines per
/// reason per minute (a flood of bad requests is one summary line, not a full disk).
pub(crate) fn counted<T: IntoResponse>(state: &AppState, result: Result<T, ApiError>) -> Response {
    static LINES: crate::log::Limiter = crate::log::Limiter::new(10, std::time::Duration::from_secs(60));
    match result {
        Ok(v) => v.into_response(),
        Err(e) => {
            state.metrics.rejected(e.code);
            if let Some(suppressed) = LINES.allow(e.code) {
                tracing::info!(
                    code = e.code,
                    status = e.status.as_u16(),
                    message = %crate::log::clip(&e.message),
                    suppressed,
                    "request rejected"
                );
            }
            e.into_response()
        }
    }
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

async fn post_report_inner(
    state: &AppState,
    signed: Signed<Report>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let bytes = read_body(headers, body, state.config.max_body).await?;
    let caller = signed.verify(&bytes)?;
    let Intake { report, raw } = intake::decode(&bytes).map_err(|refusal| {
        let (status, code) = match &refusal {
            Refusal::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            Refusal::MalformedReport(_) => (StatusCode::BAD_REQUEST, "malformed_report"),
            Refusal::UnsupportedVersion(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unsupported_schema_version"),
            Refusal::OverLimit(_) => (StatusCode::UNPROCESSABLE_ENTITY, "too_many_components"),
            Refusal::InvalidName { field, .. } => {
                return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_hostname", refusal.to_string())
                    .with_field(*field);
            }
        };
        ApiError::new(status, code, refusal.to_string())
    })?;
    let sender = match caller.asset_id {
        Some(asset_id) if caller.scope == "host" => Sender::Host { key_id: caller.key_id.clone(), asset_id },
        _ => Sender::Fleet { key_id: caller.key_id.clone() },
    };
    let body_digest = assetkit_sign::body_digest(&bytes);
    let (policy, failpoint, ring) = (state.config.policy, state.config.failpoint, state.keyring.clone());
    let answer = state
        .writer
        .run(Some(caller.nonce), move |db, now| {
            let ctx = Context { policy, failpoint, ring: &ring, sender: &sender, body_digest: &body_digest, now };
            crate::domain::apply::apply(db, &report, &raw, &ctx)
        })
        .await
        .map_err(ApiError::from)?;
    let outcome = match answer {
        Answer::Applied(outcome) => outcome,
        Answer::Refused { code, message, .. } => return Err(ApiError::new(StatusCode::FORBIDDEN, code, message)),
    };
    let action = if outcome.duplicate { "duplicate" } else { outcome.action.as_str() };
    state.metrics.applied(action, started.elapsed().as_secs_f64());
    let mut answer = json!({
        "asset_id": outcome.asset_id,
        "action": outcome.action,
        "cert_hostname": outcome.cert_hostname,
        "changes": outcome.changes,
        "duplicate": outcome.duplicate,
    });
    if let Some(credential) = outcome.credential {
        answer["host_key_id"] = json!(credential.key_id);
        answer["host_secret"] = json!(credential.secret.expose());
    }
    Ok(Json(answer))
}

/// Signed GET: verifies (an empty body) and records the nonce.
async fn signed_get<S>(state: &AppState, signed: Signed<S>) -> Result<Caller, ApiError> {
    let caller = signed.verify(b"")?;
    state.writer.nonce(caller.nonce.clone()).await?;
    Ok(caller)
}

/// Runs a read on a pooled connection off the async threads.
pub(crate) async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn crate::store::Db) -> crate::domain::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let readers = state.readers.clone();
    tokio::task::spawn_blocking(move || readers.with(f).map_err(ApiError::from)).await.map_err(ApiError::internal)?
}

async fn pending(State(state): State<AppState>, signed: Signed<Agent>) -> Response {
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

async fn list_assets(
    State(state): State<AppState>,
    signed: Signed<Admin>,
    ApiQuery(filter): ApiQuery<AssetFilter>,
) -> Response {
    let result = async {
        signed_get(&state, signed).await?;
        let cutoff = state.offline_cutoff();
        let page = read(&state, move |c| inventory::list_assets(c, &filter, cutoff)).await?;
        Ok(Json(page))
    }
    .await;
    counted(&state, result)
}

async fn asset(State(state): State<AppState>, signed: Signed<Admin>, ApiPath(id): ApiPath<i64>) -> Response {
    let result = async {
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

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChangesQuery {
    limit: Option<u32>,
    before: Option<i64>,
    since: Option<String>,
    after_id: Option<i64>,
}

async fn asset_changes(
    State(state): State<AppState>,
    signed: Signed<Admin>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> Response {
    let result = async {
        signed_get(&state, signed).await?;
        let changes = read(&state, move |c| inventory::asset_changes(c, id, q.limit.unwrap_or(100), q.before)).await?;
        Ok(Json(json!({"asset_id": id, "changes": changes})))
    }
    .await;
    counted(&state, result)
}

/// `since` as unix seconds or RFC 3339.
fn parse_since(s: &str) -> Result<i64, ApiError> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    humantime::parse_rfc3339_weak(s)
        .map(|t| t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0))
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("since={s:?} is neither unix seconds nor RFC 3339"),
            )
        })
}

async fn changes(
    State(state): State<AppState>,
    signed: Signed<Admin>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> Response {
    let result = async {
        signed_get(&state, signed).await?;
        let since = q.since.as_deref().map(parse_since).transpose()?.unwrap_or(0);
        let after_id = q.after_id.unwrap_or(0);
        let changes =
            read(&state, move |c| inventory::changes_since(c, since, after_id, q.limit.unwrap_or(1000))).await?;
        let next = changes.last().and_then(|c| c["id"].as_i64()).unwrap_or(after_id);
        Ok(Json(json!({"changes": changes, "next_after_id": next})))
    }
    .await;
    counted(&state, result)
}

/// A signed admin write with a JSON body.
async fn admin_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    signed: Signed<Admin>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Caller, T), ApiError> {
    let bytes = read_body(headers, body, state.config.max_body).await?;
    let caller = signed.verify(&bytes)?;
    let input: T = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))?;
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
        let created = state
            .writer
            .run(Some(caller.nonce), move |db, now| {
                inventory::create_asset(db, &input, &actor, now).map(|id| json!({"asset_id": id}))
            })
            .await
            .map_err(ApiError::from)?;
        Ok((StatusCode::CREATED, Json(created)))
    }
    .await;
    counted(&state, result)
}

async fn patch_asset(
    State(state): State<AppState>,
    signed: Signed<Admin>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    body: Body,
) -> Response {
    let result = async {
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
                Ok::<_, crate::domain::Error>((id, credential, input.hostname.trim().to_owned()))
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
async fn reenrol(State(state): State<AppState>, signed: Signed<Admin>, ApiPath(id): ApiPath<i64>) -> Response {
    let result = async {
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

/// `POST /api/v1/assets/{id}/revoke`: the asset's credential stops working at once.
async fn revoke(State(state): State<AppState>, signed: Signed<Admin>, ApiPath(id): ApiPath<i64>) -> Response {
    let result = async {
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
