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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;

use crate::domain::import;
use crate::domain::inventory::{self, AssetFilter, AssetPatch, NameList, NewAsset};
use crate::domain::users::{self, Session};
use crate::domain::{audit, enrolment, keys};
use crate::http::api::read;
use crate::http::state::AppState;
use crate::store::Db;
use roles::{Admin, Operator, User, Viewer};

pub mod charts;
mod dashboard;
mod flash;
pub mod previews;
pub mod roles;
pub mod throttle;
mod views;
mod webhooks;

const SESSION_COOKIE: &str = "assetkit_session";
const LOGIN_COOKIE: &str = "assetkit_login";
/// Largest form body (everything but the import upload).
pub const MAX_FORM_BYTES: usize = 64 << 10;
/// Longest login name looked up; longer names are refused as they come.
pub const MAX_LOGIN_NAME: usize = 64;

/// State that only the console needs.
#[derive(Default)]
pub struct ConsoleState {
    /// Failed logins.
    pub throttle: throttle::Throttle,
    /// Import previews waiting to be applied.
    pub previews: previews::Previews,
}

/// The console's routes. The import upload may carry a file up to the import limit; every other
/// body is read by its handler within [`MAX_FORM_BYTES`].
pub fn routes(config: &crate::http::state::ServerConfig) -> Router<AppState> {
    let upload_limit = usize::try_from(config.import.file_bytes).unwrap_or(usize::MAX).saturating_add(MAX_FORM_BYTES);
    Router::new()
        .route("/", get(dashboard::dashboard_page))
        .route("/static/console.css", get(|| async { static_file("text/css", include_str!("console.css")) }))
        .route("/static/console.js", get(|| async { static_file("text/javascript", include_str!("console.js")) }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/assets", get(assets_page))
        .route("/assets/new", get(new_asset_page).post(new_asset))
        .route("/assets/export.csv", get(export_csv))
        .route("/assets/export.xlsx", get(export_xlsx))
        .route("/assets/{id}", get(asset_page).post(edit_asset))
        .route("/assets/{id}/reenrol", post(reenrol_asset))
        .route("/assets/{id}/revoke", post(revoke_asset))
        .route("/discovered", get(discovered_page).post(assign_discovered))
        .route(
            "/import",
            get(import_page).post(import_preview).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/import/apply", post(import_apply))
        .route("/import/cancel", post(import_cancel))
        .route("/settings", get(settings_page))
        .route("/settings/names", post(add_name))
        .route("/settings/keys", post(create_key))
        .route("/settings/keys/revoke", post(revoke_key))
        .route("/settings/webhooks", post(webhooks::add))
        .route("/settings/webhooks/remove", post(webhooks::remove))
        .route("/settings/webhooks/redeliver", post(webhooks::redeliver))
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// An HTML page with the console's security headers and its server render time.
pub(crate) fn page(status: StatusCode, started: Instant, markup: maud::Markup) -> Response {
    let mut resp = (status, markup.into_string()).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(&format!("render;dur={:.3}", started.elapsed().as_secs_f64() * 1000.0)) {
        h.insert("server-timing", v);
    }
    resp
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.tls.is_some() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"))
        .expect("cookie is ASCII")
}

/// A path on this server, never another origin: browsers read "//host" and "/\\host" as hosts.
fn local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.chars().all(|c| c.is_ascii_graphic() && c != '\\')
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A submitted form's fields, repeated names kept (checkbox lists).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
    fn opt(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

fn csrf_ok(expected: &str, given: Option<&str>) -> bool {
    given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
}

fn forbidden(started: Instant) -> Response {
    page(
        StatusCode::FORBIDDEN,
        started,
        views::message(
            "Forbidden",
            "The form's security token is missing or stale. Reload the page and try again.",
            None,
        ),
    )
}

/// A form POSTed by `user` (whose session and role were checked before a byte of the body was
/// read) with a valid CSRF token, or the response to send instead. The body is read within
/// [`MAX_FORM_BYTES`].
async fn posted(user: &Session, headers: &HeaderMap, body: Body) -> Result<Form, Response> {
    let started = Instant::now();
    let body = read_form(headers, body).await?;
    let form = Form::parse(&body);
    if !csrf_ok(&user.csrf, form.get("csrf")) {
        return Err(forbidden(started));
    }
    Ok(form)
}

/// A form body within [`MAX_FORM_BYTES`], or the error page.
async fn read_form(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Response> {
    let started = Instant::now();
    crate::http::api::read_body(headers, body, MAX_FORM_BYTES)
        .await
        .map_err(|e| page(e.status, started, views::message("Form not accepted", &e.message, None)))
}

/// A write as the logged-in user, through the writer thread.
async fn write<T: Send + 'static>(
    state: &AppState,
    op: impl FnOnce(&mut dyn Db, i64) -> crate::domain::Result<T> + Send + 'static,
) -> crate::domain::Result<T> {
    state.writer.run(None, op).await
}

async fn login_page(State(_state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let started = Instant::now();
    let token = assetkit_sign::random_hex(16);
    let mut resp =
        page(StatusCode::OK, started, views::login(&token, q.get("next").map(String::as_str).unwrap_or("/"), None));
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!("{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=1800"))
            .expect("ascii"),
    );
    resp
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let body = match read_form(&headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let form = Form::parse(&body);
    let next = form.get("next").filter(|n| local_path(n)).unwrap_or("/").to_owned();
    let again = |status, message: &str| {
        let token = assetkit_sign::random_hex(16);
        let mut resp = page(status, started, views::login(&token, &next, Some(message)));
        resp.headers_mut().insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&format!(
                "{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=1800"
            ))
            .expect("ascii"),
        );
        resp
    };
    // Login CSRF: the form's token must match the cookie set with the form.
    match cookie(&headers, LOGIN_COOKIE) {
        Some(expected) if csrf_ok(expected, form.get("csrf")) => {}
        _ => return again(StatusCode::FORBIDDEN, "The login form expired. Please try again."),
    }
    let name = form.get("username").unwrap_or("").trim().to_owned();
    let password = form.get("password").unwrap_or("").to_owned();
    let shown = crate::log::clip(&name);
    let network = throttle::Network::from(peer.ip());
    // Only accounts that exist are counted per account (a name someone invents has nothing to
    // protect and must not grow the table); every attempt counts for its network.
    let account = if name.len() <= MAX_LOGIN_NAME {
        let lookup = name.clone();
        read(&state, move |db| users::id_by_name(db, &lookup)).await.ok().flatten()
    } else {
        None
    };
    if let Err(wait) = state.console.throttle.attempt(account, network) {
        static REFUSED: crate::log::Limiter = crate::log::Limiter::new(10, Duration::from_secs(60));
        if let Some(suppressed) = REFUSED.allow("login_throttled") {
            tracing::warn!(user = %shown, peer = %peer.ip(), suppressed, "login refused: too many failures");
        }
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many failed logins. Try again in {} minute(s).", wait.div_ceil(60)),
        );
    }
    let verified = if name.len() <= MAX_LOGIN_NAME && password.len() <= 1024 {
        let check_name = name.clone();
        tokio::task::spawn_blocking({
            let pool = state.readers.clone();
            move || pool.with(|db| users::verify(db, &check_name, &password)).ok().flatten()
        })
        .await
        .ok()
        .flatten()
    } else {
        None
    };
    let Some(user_id) = verified else {
        static FAILED: crate::log::Limiter = crate::log::Limiter::new(10, Duration::from_secs(60));
        if let Some(suppressed) = FAILED.allow("login_failed") {
            tracing::info!(user = %shown, peer = %peer.ip(), suppressed, "failed login");
        }
        return again(StatusCode::UNAUTHORIZED, "Wrong user name or password.");
    };
    state.console.throttle.succeed(user_id, network);
    let created = write(&state, move |db, now| users::create_session(db, user_id, now)).await;
    match created {
        Ok(token) => {
            tracing::info!(user = %shown, "login");
            let mut resp = Redirect::to(&next).into_response();
            resp.headers_mut()
                .append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &token, users::SESSION_SECONDS));
            resp.headers_mut()
                .append(header::SET_COOKIE, HeaderValue::from_static("assetkit_login=; Path=/login; Max-Age=0"));
            resp
        }
        Err(e) => page(StatusCode::INTERNAL_SERVER_ERROR, started, views::message("Error", &e.to_string(), None)),
    }
}

async fn logout(State(state): State<AppState>, user: User<Viewer>, headers: HeaderMap, body: Body) -> Response {
    if let Err(r) = posted(&user, &headers, body).await {
        return r;
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE).map(str::to_owned) {
        let _ = write(&state, move |db, _| users::end_session(db, &token)).await;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    resp
}

async fn assets_page(State(state): State<AppState>, user: User<Viewer>, Query(filter): Query<AssetFilter>) -> Response {
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
async fn export_csv(State(state): State<AppState>, _: User<Viewer>, Query(filter): Query<AssetFilter>) -> Response {
    crate::http::export::export_csv(&state, export_filter(filter)).await.unwrap_or_else(IntoResponse::into_response)
}

async fn export_xlsx(State(state): State<AppState>, _: User<Viewer>, Query(filter): Query<AssetFilter>) -> Response {
    crate::http::export::export_xlsx(&state, export_filter(filter)).await.unwrap_or_else(IntoResponse::into_response)
}

fn export_filter(filter: AssetFilter) -> AssetFilter {
    AssetFilter { page: None, per_page: None, sort: None, after_id: None, ..filter }
}

async fn asset_page(
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

async fn reenrol_asset(
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

async fn revoke_asset(
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
    }
}

async fn edit_asset(
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

async fn new_asset_page(State(state): State<AppState>, user: User<Operator>) -> Response {
    let started = Instant::now();
    match read(&state, inventory::choices).await {
        Ok(choices) => page(StatusCode::OK, started, views::new_asset(&user, &choices, None)),
        Err(e) => e.into_response(),
    }
}

async fn new_asset(State(state): State<AppState>, user: User<Operator>, headers: HeaderMap, body: Body) -> Response {
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

async fn discovered_page(State(state): State<AppState>, user: User<Viewer>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let cutoff = state.offline_cutoff();
    let data = read(&state, move |db| {
        let filter = AssetFilter {
            status: Some("discovered".into()),
            per_page: Some(500),
            sort: Some("-id".into()),
            ..AssetFilter::default()
        };
        Ok((inventory::list_assets(db, &filter, cutoff)?, inventory::choices(db)?))
    })
    .await;
    match data {
        Ok((list, choices)) => {
            let msg = flash::take(&headers, &user);
            flash::shown(
                page(StatusCode::OK, started, views::discovered(&user, &list, &choices, msg.as_deref())),
                msg.is_some(),
            )
        }
        Err(e) => e.into_response(),
    }
}

async fn assign_discovered(
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

async fn import_page(user: User<Operator>) -> Response {
    let started = Instant::now();
    page(StatusCode::OK, started, views::import(&user, None, None, None))
}

/// Reads a multipart field within `limit` bytes.
async fn field_bytes(field: &mut axum::extract::multipart::Field<'_>, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| format!("upload failed: {e}"))? {
        if out.len() + chunk.len() > limit {
            return Err(format!("the file exceeds the limit of {limit} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn import_preview(State(state): State<AppState>, user: User<Operator>, mut multipart: Multipart) -> Response {
    let started = Instant::now();
    let failed = |status, message: &str| page(status, started, views::import(&user, None, None, Some(message)));
    // The form sends its CSRF token first; nothing else is read until it matches.
    match multipart.next_field().await {
        Ok(Some(mut field)) if field.name() == Some("csrf") => {
            let token = field_bytes(&mut field, 256).await.unwrap_or_default();
            if !csrf_ok(&user.csrf, std::str::from_utf8(&token).ok()) {
                return forbidden(started);
            }
        }
        Ok(_) => return forbidden(started),
        Err(e) => return failed(StatusCode::BAD_REQUEST, &format!("Upload failed: {e}")),
    }
    let limit = usize::try_from(state.config.import.file_bytes).unwrap_or(usize::MAX);
    let (mut encoding, mut file_name, mut bytes) = (None, String::from("upload"), Vec::new());
    loop {
        match multipart.next_field().await {
            Ok(Some(mut field)) => match field.name().unwrap_or("") {
                "encoding" => {
                    encoding = field_bytes(&mut field, 64).await.ok().and_then(|b| String::from_utf8(b).ok());
                }
                "file" => {
                    file_name = crate::log::clip(field.file_name().unwrap_or("upload"));
                    match field_bytes(&mut field, limit).await {
                        Ok(b) => bytes = b,
                        Err(e) => return failed(StatusCode::PAYLOAD_TOO_LARGE, &format!("Not imported: {e}.")),
                    }
                }
                _ => {}
            },
            Ok(None) => break,
            Err(e) => return failed(StatusCode::BAD_REQUEST, &format!("Upload failed: {e}")),
        }
    }
    if bytes.is_empty() {
        return failed(StatusCode::UNPROCESSABLE_ENTITY, "Choose an .xlsx or .csv file.");
    }
    let limits = state.config.import;
    let parsed =
        tokio::task::spawn_blocking(move || import::parse_within(&file_name, &bytes, encoding.as_deref(), limits))
            .await;
    let mut preview = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return failed(StatusCode::UNPROCESSABLE_ENTITY, &format!("Not imported: {e}.")),
        Err(e) => return failed(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let checked = read(&state, move |db| import::check_against(db, &mut preview).map(|()| preview)).await;
    let preview = match checked {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match state.console.previews.insert(&user.name, preview) {
        Ok((token, preview)) => page(StatusCode::OK, started, views::import(&user, Some(&preview), Some(&token), None)),
        Err(e) => failed(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

async fn import_apply(State(state): State<AppState>, user: User<Operator>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let token = form.get("token").unwrap_or("");
    let Some(preview) = state.console.previews.take(token, &user.name) else {
        return page(
            StatusCode::GONE,
            started,
            views::import(&user, None, None, Some("This preview expired; upload the file again.")),
        );
    };
    let actor = format!("console:{}", user.name);
    let result = write(&state, move |db, now| {
        // Re-check against the database inside the write: rows added since the preview are refused.
        let mut preview = preview;
        import::check_against(db, &mut preview)?;
        import::apply(db, &preview, &actor, now)
    })
    .await;
    match result {
        Ok(v) => {
            let msg = format!("Imported: {} asset(s) created in stock, {} row(s) skipped.", v.created, v.skipped);
            page(StatusCode::OK, started, views::import(&user, None, None, Some(&msg)))
        }
        Err(e) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            started,
            views::import(&user, None, None, Some(&format!("Nothing imported: {e}"))),
        ),
    }
}

async fn import_cancel(
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
    let dropped = state.console.previews.take(form.get("token").unwrap_or(""), &user.name).is_some();
    let msg = if dropped { "Preview discarded; nothing was imported." } else { "Nothing to discard." };
    page(StatusCode::OK, started, views::import(&user, None, None, Some(msg)))
}

/// What the settings page lists.
fn settings_data(db: &mut dyn Db) -> crate::domain::Result<views::SettingsData> {
    Ok(views::SettingsData {
        choices: inventory::choices(db)?,
        keys: keys::list(db)?,
        people: users::list_users(db)?,
        events: audit::latest(db, 50)?,
        webhooks: crate::domain::webhooks::list(db)?,
        dead: crate::domain::webhooks::dead_letters(db, 50)?,
    })
}

async fn settings_page(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    match read(&state, settings_data).await {
        Ok(data) => {
            let msg = flash::take(&headers, &user);
            flash::shown(
                page(StatusCode::OK, started, views::settings(&user, &data, msg.as_deref(), None)),
                msg.is_some(),
            )
        }
        Err(e) => e.into_response(),
    }
}

async fn add_name(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap, body: Body) -> Response {
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let list = match form.get("kind") {
        Some("business_unit") => NameList::BusinessUnits,
        Some("idc") => NameList::Idcs,
        _ => return Redirect::to("/settings").into_response(),
    };
    let name = form.get("name").unwrap_or("").trim().to_owned();
    let actor = format!("console:{}", user.name);
    let result = write(&state, move |db, now| inventory::add_name(db, list, &name, &actor, now)).await;
    let msg = match result {
        Ok(true) => "Added.".to_owned(),
        Ok(false) => "It already exists.".to_owned(),
        Err(e) => format!("Not added: {e}"),
    };
    flash::redirect(&user, state.config.tls.is_some(), "/settings", &msg)
}

async fn create_key(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let (name, scope) = (form.get("name").unwrap_or("").to_owned(), form.get("scope").unwrap_or("agent").to_owned());
    let actor = format!("console:{}", user.name);
    let ring = state.keyring.clone();
    let created = write(&state, move |db, now| {
        let (id, secret) = keys::create(db, &ring, &name, &scope, now)?;
        audit::record(db, &actor, "key.create", &id, &format!("{scope} key {name}"), now)?;
        Ok((id, secret.expose().to_owned()))
    })
    .await;
    let Ok(data) = read(&state, settings_data).await else { return Redirect::to("/settings").into_response() };
    match created {
        Ok((id, secret)) => {
            page(StatusCode::OK, started, views::settings(&user, &data, None, Some(("Key", &id, &secret))))
        }
        Err(e) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            started,
            views::settings(&user, &data, Some(&format!("Not created: {e}")), None),
        ),
    }
}

async fn revoke_key(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap, body: Body) -> Response {
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let key_id = form.get("key_id").unwrap_or("").to_owned();
    let actor = format!("console:{}", user.name);
    let result = write(&state, move |db, now| {
        let done = keys::revoke(db, &key_id, now)?;
        if done {
            audit::record(db, &actor, "key.revoke", &key_id, "", now)?;
        }
        Ok(done)
    })
    .await;
    let msg = match result {
        Ok(true) => "Key revoked; running servers refuse it within seconds.".to_owned(),
        Ok(false) => "No such active key.".to_owned(),
        Err(e) => format!("Not revoked: {e}"),
    };
    flash::redirect(&user, state.config.tls.is_some(), "/settings", &msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_redirects_stay_on_this_server() {
        for ok in ["/assets", "/assets/12?msg=x", "/discovered"] {
            assert!(local_path(ok), "{ok}");
        }
        for bad in
            ["//evil.example", "/\\evil.example", "https://evil.example", "/\\/evil", "/ok\nSet-Cookie: x", "evil", ""]
        {
            assert!(!local_path(bad), "{bad:?}");
        }
    }
}
