//! Signing in and out: the login form (throttled), the session cookie.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{
    Form, LOGIN_COOKIE, MAX_LOGIN_NAME, SESSION_COOKIE, cookie, csrf_ok, local_path, page, posted, read_form,
    set_cookie, write,
};
use super::roles::{User, Viewer};
use super::views;
use crate::domain::users::{self};
use crate::http::request::read;
use crate::http::state::AppState;

pub(super) async fn login_page(State(_state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
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

pub(super) async fn login(
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
    let network = super::throttle::Network::from(peer.ip());
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

pub(super) async fn logout(
    State(state): State<AppState>,
    user: User<Viewer>,
    headers: HeaderMap,
    body: Body,
) -> Response {
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
