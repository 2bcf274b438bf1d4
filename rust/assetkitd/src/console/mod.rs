//! The web console: server-rendered pages (maud) for operators to see, complete and correct the
//! inventory. Sessions are HttpOnly SameSite=Strict cookies; every form carries a CSRF token;
//! failed logins are rate-limited; every write is a change event (or an audit entry) with the
//! acting user. Everything is served from the binary: no CDN, no build step.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;

use crate::api::read;
use crate::import::{self, Preview};
use crate::inventory::{self, AssetFilter, AssetPatch, NewAsset};
use crate::server::AppState;
use crate::users::{self, Session};
use crate::writer::WriteError;

mod views;

const SESSION_COOKIE: &str = "assetkit_session";
const LOGIN_COOKIE: &str = "assetkit_login";
/// Failed logins allowed per user name in [`THROTTLE_WINDOW`].
pub const MAX_FAILED_LOGINS: usize = 5;
/// Failed logins allowed per client address (several people behind one NAT, or a password spray).
pub const MAX_FAILED_LOGINS_PER_ADDRESS: usize = 20;
/// The window over which failed logins count.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
const IMPORT_TTL: Duration = Duration::from_secs(30 * 60);

/// State that only the console needs.
#[derive(Default)]
pub struct ConsoleState {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    imports: Mutex<HashMap<String, (Instant, String, Preview)>>,
}

impl ConsoleState {
    /// Counts one login attempt against `keys` (user and address), or refuses it with the
    /// seconds to wait. Check and count happen under one lock, before the password is verified,
    /// so a burst of parallel attempts cannot slip past the limit.
    fn attempt(&self, keys: &[String]) -> Result<(), u64> {
        let mut failures = self.failures.lock().expect("throttle lock");
        let now = Instant::now();
        let mut wait = None;
        for k in keys {
            let list = failures.entry(k.clone()).or_default();
            list.retain(|t| now.duration_since(*t) < THROTTLE_WINDOW);
            let limit = if k.starts_with("ip:") { MAX_FAILED_LOGINS_PER_ADDRESS } else { MAX_FAILED_LOGINS };
            if list.len() >= limit {
                let oldest = list[list.len() - limit];
                wait =
                    wait.max(Some((THROTTLE_WINDOW - now.duration_since(oldest).min(THROTTLE_WINDOW)).as_secs() + 1));
            }
        }
        if let Some(w) = wait {
            return Err(w);
        }
        if failures.len() > 100_000 {
            failures.clear();
        }
        for k in keys {
            failures.entry(k.clone()).or_default().push(now);
        }
        Ok(())
    }
    /// A successful login clears the user's count and takes back its attempt from the address.
    fn succeed(&self, keys: &[String]) {
        let mut failures = self.failures.lock().expect("throttle lock");
        if let Some(user) = keys.first() {
            failures.remove(user);
        }
        for k in &keys[1..] {
            if let Some(list) = failures.get_mut(k) {
                list.pop();
            }
        }
    }
}

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/assets") }))
        .route("/static/console.css", get(|| async { static_file("text/css", include_str!("console.css")) }))
        .route("/static/console.js", get(|| async { static_file("text/javascript", include_str!("console.js")) }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/assets", get(assets_page))
        .route("/assets/new", get(new_asset_page).post(new_asset))
        .route("/assets/{id}", get(asset_page).post(edit_asset))
        .route("/discovered", get(discovered_page).post(assign_discovered))
        .route("/import", get(import_page).post(import_preview))
        .route("/import/apply", post(import_apply))
        .route("/settings", get(settings_page))
        .route("/settings/names", post(add_name))
        .route("/settings/keys", post(create_key))
        .route("/settings/keys/revoke", post(revoke_key))
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

/// The logged-in user, or the redirect to the login page.
async fn session(state: &AppState, headers: &HeaderMap, next: &str) -> Result<Session, Response> {
    let login = || Redirect::to(&format!("/login?next={}", urlencode(next))).into_response();
    let Some(token) = cookie(headers, SESSION_COOKIE).map(str::to_owned) else { return Err(login()) };
    let found =
        read(state, move |c| users::session(c, &token, crate::store::now())).await.map_err(|e| e.into_response())?;
    found.ok_or_else(login)
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

/// A form POSTed by a logged-in user with a valid CSRF token, or the response to send instead.
async fn posted(state: &AppState, headers: &HeaderMap, body: &[u8], from: &str) -> Result<(Session, Form), Response> {
    let started = Instant::now();
    let user = session(state, headers, from).await?;
    let form = Form::parse(body);
    if !csrf_ok(&user.csrf, form.get("csrf")) {
        return Err(forbidden(started));
    }
    Ok((user, form))
}

/// A write as the logged-in user, through the writer thread.
async fn write<T: serde::de::DeserializeOwned>(
    state: &AppState,
    op: impl FnOnce(&rusqlite::Connection, i64) -> Result<serde_json::Value, WriteError> + Send + 'static,
) -> Result<T, WriteError> {
    let value = state.writer.admin(None, Box::new(op)).await?;
    serde_json::from_value(value).map_err(|e| WriteError::Invalid(e.to_string()))
}

async fn login_page(State(_state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let started = Instant::now();
    let token = assetkit_sign::random_hex(16);
    let mut resp = page(
        StatusCode::OK,
        started,
        views::login(&token, q.get("next").map(String::as_str).unwrap_or("/assets"), None),
    );
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
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let form = Form::parse(&body);
    let next = form.get("next").filter(|n| local_path(n)).unwrap_or("/assets").to_owned();
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
    let keys = [format!("user:{}", name.to_ascii_lowercase()), format!("ip:{}", peer.ip())];
    if let Err(wait) = state.console.attempt(&keys) {
        tracing::warn!(user = ?name, peer = %peer.ip(), "login refused: too many failures");
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many failed logins. Try again in {} minute(s).", wait.div_ceil(60)),
        );
    }
    let check_name = name.clone();
    let verified = tokio::task::spawn_blocking({
        let pool = state.pool.clone();
        move || pool.get().ok().and_then(|c| users::verify(&c, &check_name, &password).ok()).flatten()
    })
    .await
    .ok()
    .flatten();
    let Some(user_id) = verified else {
        tracing::info!(user = ?name, peer = %peer.ip(), "failed login");
        return again(StatusCode::UNAUTHORIZED, "Wrong user name or password.");
    };
    state.console.succeed(&keys);
    let created = write::<String>(&state, move |c, now| {
        users::create_session(c, user_id, now).map(serde_json::Value::String).map_err(Into::into)
    })
    .await;
    match created {
        Ok(token) => {
            tracing::info!(user = ?name, "login");
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

async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let user = match session(&state, &headers, "/assets").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !csrf_ok(&user.csrf, Form::parse(&body).get("csrf")) {
        return forbidden(started);
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE).map(str::to_owned) {
        let _ = write::<serde_json::Value>(&state, move |c, _| {
            users::end_session(c, &token).map(|()| serde_json::Value::Null).map_err(Into::into)
        })
        .await;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    resp
}

async fn assets_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(filter): Query<AssetFilter>,
) -> Response {
    let started = Instant::now();
    let user = match session(&state, &headers, uri.path_and_query().map(|p| p.as_str()).unwrap_or("/assets")).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let cutoff = state.offline_cutoff();
    let f = filter.clone();
    let data = read(&state, move |c| {
        Ok((inventory::list_assets(c, &f, cutoff)?, inventory::status_counts(c, cutoff)?, inventory::choices(c)?))
    })
    .await;
    match data {
        Ok((list, counts, choices)) => {
            page(StatusCode::OK, started, views::assets(&user, &filter, &list, &counts, &choices))
        }
        Err(e) => e.into_response(),
    }
}

async fn asset_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let started = Instant::now();
    let user = match session(&state, &headers, &format!("/assets/{id}")).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let cutoff = state.offline_cutoff();
    let data = read(&state, move |c| {
        Ok((
            inventory::asset_detail(c, id, cutoff)?,
            inventory::asset_changes(c, id, 200, None)?,
            inventory::choices(c)?,
        ))
    })
    .await;
    match data {
        Ok((Some(asset), changes, choices)) => page(
            StatusCode::OK,
            started,
            views::asset(&user, &asset, &changes, &choices, q.get("msg").map(String::as_str)),
        ),
        Ok((None, ..)) => page(
            StatusCode::NOT_FOUND,
            started,
            views::message("Not found", &format!("There is no asset {id}."), Some(&user)),
        ),
        Err(e) => e.into_response(),
    }
}

fn patch_from(form: &Form) -> AssetPatch {
    AssetPatch {
        hostname: form.opt("hostname").filter(|h| !h.trim().is_empty()),
        business_unit: form.opt("business_unit"),
        idc: form.opt("idc"),
        rack: form.opt("rack"),
        position: form.opt("position"),
        status: form.opt("status").filter(|s| !s.is_empty()),
    }
}

async fn edit_asset(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<i64>, body: Bytes) -> Response {
    let (user, form) = match posted(&state, &headers, &body, &format!("/assets/{id}")).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let patch = patch_from(&form);
    let actor = format!("console:{}", user.name);
    let result =
        write::<usize>(&state, move |c, now| inventory::update_asset(c, id, &patch, &actor, now).map(|n| n.into()))
            .await;
    let msg = match result {
        Ok(0) => "Nothing to change.".to_owned(),
        Ok(n) => format!("Saved: {n} change(s) recorded."),
        Err(e) => format!("Not saved: {e}"),
    };
    Redirect::to(&format!("/assets/{id}?msg={}", urlencode(&msg))).into_response()
}

async fn new_asset_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let user = match session(&state, &headers, "/assets/new").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match read(&state, inventory::choices).await {
        Ok(choices) => page(StatusCode::OK, started, views::new_asset(&user, &choices, None)),
        Err(e) => e.into_response(),
    }
}

async fn new_asset(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let (user, form) = match posted(&state, &headers, &body, "/assets/new").await {
        Ok(posted) => posted,
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
    };
    let actor = format!("console:{}", user.name);
    match write::<i64>(&state, move |c, now| inventory::create_asset(c, &input, &actor, now).map(Into::into)).await {
        Ok(id) => {
            Redirect::to(&format!("/assets/{id}?msg={}", urlencode("Host entered. It is pending until it reports.")))
                .into_response()
        }
        Err(e) => {
            let choices = read(&state, inventory::choices).await.unwrap_or_default();
            page(StatusCode::UNPROCESSABLE_ENTITY, started, views::new_asset(&user, &choices, Some(&e.to_string())))
        }
    }
}

async fn discovered_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let started = Instant::now();
    let user = match session(&state, &headers, "/discovered").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let cutoff = state.offline_cutoff();
    let data = read(&state, move |c| {
        let filter = AssetFilter {
            status: Some("discovered".into()),
            per_page: Some(500),
            sort: Some("-id".into()),
            ..AssetFilter::default()
        };
        Ok((inventory::list_assets(c, &filter, cutoff)?, inventory::choices(c)?))
    })
    .await;
    match data {
        Ok((list, choices)) => {
            page(StatusCode::OK, started, views::discovered(&user, &list, &choices, q.get("msg").map(String::as_str)))
        }
        Err(e) => e.into_response(),
    }
}

async fn assign_discovered(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (user, form) = match posted(&state, &headers, &body, "/discovered").await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let ids: Vec<i64> = form.all("ids").iter().filter_map(|i| i.parse().ok()).collect();
    if ids.is_empty() {
        return Redirect::to(&format!("/discovered?msg={}", urlencode("Select at least one asset."))).into_response();
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
    let result = write::<usize>(&state, move |c, now| {
        let mut events = 0;
        for id in ids {
            events += inventory::update_asset(c, id, &patch, &actor, now)?;
        }
        Ok(events.into())
    })
    .await;
    let msg = match result {
        Ok(n) => format!("Assigned {count} asset(s): {n} change(s) recorded."),
        Err(e) => format!("Nothing assigned: {e}"),
    };
    Redirect::to(&format!("/discovered?msg={}", urlencode(&msg))).into_response()
}

async fn import_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    match session(&state, &headers, "/import").await {
        Ok(user) => page(StatusCode::OK, started, views::import(&user, None, None, None)),
        Err(r) => r,
    }
}

async fn import_preview(State(state): State<AppState>, headers: HeaderMap, mut multipart: Multipart) -> Response {
    let started = Instant::now();
    let user = match session(&state, &headers, "/import").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (mut csrf, mut encoding, mut file_name, mut bytes) = (None, None, String::from("upload"), Vec::new());
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                match name.as_str() {
                    "csrf" => csrf = field.text().await.ok(),
                    "encoding" => encoding = field.text().await.ok(),
                    "file" => {
                        file_name = field.file_name().unwrap_or("upload").to_owned();
                        match field.bytes().await {
                            Ok(b) => bytes = b.to_vec(),
                            Err(e) => {
                                return page(
                                    StatusCode::PAYLOAD_TOO_LARGE,
                                    started,
                                    views::import(&user, None, None, Some(&format!("Upload failed: {e}"))),
                                );
                            }
                        }
                    }
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(e) => {
                return page(
                    StatusCode::BAD_REQUEST,
                    started,
                    views::import(&user, None, None, Some(&format!("Upload failed: {e}"))),
                );
            }
        }
    }
    if !csrf_ok(&user.csrf, csrf.as_deref()) {
        return forbidden(started);
    }
    if bytes.is_empty() {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            started,
            views::import(&user, None, None, Some("Choose an .xlsx or .csv file.")),
        );
    }
    let parsed = tokio::task::spawn_blocking(move || import::parse(&file_name, &bytes, encoding.as_deref())).await;
    let mut preview = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            return page(
                StatusCode::UNPROCESSABLE_ENTITY,
                started,
                views::import(&user, None, None, Some(&e.to_string())),
            );
        }
        Err(e) => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                started,
                views::import(&user, None, None, Some(&e.to_string())),
            );
        }
    };
    let checked = read(&state, move |c| import::check_against(c, &mut preview).map(|()| preview)).await;
    let preview = match checked {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let token = assetkit_sign::random_hex(16);
    {
        let mut imports = state.console.imports.lock().expect("imports lock");
        imports.retain(|_, (at, _, _)| at.elapsed() < IMPORT_TTL);
        imports.insert(token.clone(), (Instant::now(), user.name.clone(), preview.clone()));
    }
    page(StatusCode::OK, started, views::import(&user, Some(&preview), Some(&token), None))
}

async fn import_apply(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let (user, form) = match posted(&state, &headers, &body, "/import").await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let token = form.get("token").unwrap_or("").to_owned();
    let pending = state.console.imports.lock().expect("imports lock").remove(&token);
    let Some((_, owner, preview)) = pending.filter(|(at, owner, _)| at.elapsed() < IMPORT_TTL && *owner == user.name)
    else {
        return page(
            StatusCode::GONE,
            started,
            views::import(&user, None, None, Some("This preview expired; upload the file again.")),
        );
    };
    let _ = owner;
    let actor = format!("console:{}", user.name);
    let result = write::<serde_json::Value>(&state, move |c, now| {
        // Re-check against the database inside the write: rows added since the preview are refused.
        let mut preview = preview;
        import::check_against(c, &mut preview)?;
        import::apply(c, &preview, &actor, now).map(|a| serde_json::to_value(a).unwrap_or_default())
    })
    .await;
    match result {
        Ok(v) => {
            let msg = format!("Imported: {} asset(s) created in stock, {} row(s) skipped.", v["created"], v["skipped"]);
            page(StatusCode::OK, started, views::import(&user, None, None, Some(&msg)))
        }
        Err(e) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            started,
            views::import(&user, None, None, Some(&format!("Nothing imported: {e}"))),
        ),
    }
}

/// What the settings page lists.
fn settings_data(c: &rusqlite::Connection) -> rusqlite::Result<views::SettingsData> {
    Ok(views::SettingsData {
        choices: inventory::choices(c)?,
        keys: inventory::list_keys(c)?,
        people: users::list_users(c)?,
        events: inventory::admin_events(c, 50)?,
    })
}

async fn settings_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let started = Instant::now();
    let user = match session(&state, &headers, "/settings").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match read(&state, settings_data).await {
        Ok(data) => {
            page(StatusCode::OK, started, views::settings(&user, &data, q.get("msg").map(String::as_str), None))
        }
        Err(e) => e.into_response(),
    }
}

async fn add_name(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (user, form) = match posted(&state, &headers, &body, "/settings").await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let kind = match form.get("kind") {
        Some("business_unit") => "business_units",
        Some("idc") => "idcs",
        _ => return Redirect::to("/settings").into_response(),
    };
    let name = form.get("name").unwrap_or("").trim().to_owned();
    let actor = format!("console:{}", user.name);
    let result =
        write::<bool>(&state, move |c, now| inventory::add_name(c, kind, &name, &actor, now).map(Into::into)).await;
    let msg = match result {
        Ok(true) => "Added.".to_owned(),
        Ok(false) => "It already exists.".to_owned(),
        Err(e) => format!("Not added: {e}"),
    };
    Redirect::to(&format!("/settings?msg={}", urlencode(&msg))).into_response()
}

async fn create_key(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let (user, form) = match posted(&state, &headers, &body, "/settings").await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let (name, scope) = (form.get("name").unwrap_or("").to_owned(), form.get("scope").unwrap_or("agent").to_owned());
    let actor = format!("console:{}", user.name);
    let created = write::<(String, String)>(&state, move |c, now| {
        let (id, secret) = inventory::create_key(c, &name, &scope, now)?;
        users::audit(c, &actor, "key.create", &id, &format!("{scope} key {name}"), now)?;
        Ok(serde_json::json!([id, secret.expose()]))
    })
    .await;
    let Ok(data) = read(&state, settings_data).await else { return Redirect::to("/settings").into_response() };
    match created {
        Ok((id, secret)) => page(StatusCode::OK, started, views::settings(&user, &data, None, Some((&id, &secret)))),
        Err(e) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            started,
            views::settings(&user, &data, Some(&format!("Not created: {e}")), None),
        ),
    }
}

async fn revoke_key(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (user, form) = match posted(&state, &headers, &body, "/settings").await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let key_id = form.get("key_id").unwrap_or("").to_owned();
    let actor = format!("console:{}", user.name);
    let result = write::<bool>(&state, move |c, now| {
        let done = inventory::revoke_key(c, &key_id, now)?;
        if done {
            users::audit(c, &actor, "key.revoke", &key_id, "", now)?;
        }
        Ok(done.into())
    })
    .await;
    let msg = match result {
        Ok(true) => "Key revoked; running servers refuse it within seconds.".to_owned(),
        Ok(false) => "No such active key.".to_owned(),
        Err(e) => format!("Not revoked: {e}"),
    };
    Redirect::to(&format!("/settings?msg={}", urlencode(&msg))).into_response()
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

    #[test]
    fn the_throttle_counts_before_verifying() {
        let state = ConsoleState::default();
        let keys = ["user:alice".to_owned(), "ip:10.0.0.1".to_owned()];
        for _ in 0..MAX_FAILED_LOGINS {
            assert!(state.attempt(&keys).is_ok());
        }
        assert!(state.attempt(&keys).is_err(), "the sixth attempt in a burst is refused");
        let other = ["user:bob".to_owned(), "ip:10.0.0.1".to_owned()];
        assert!(state.attempt(&other).is_ok());
        state.succeed(&other);
        assert!(state.attempt(&other).is_ok());
    }
}
