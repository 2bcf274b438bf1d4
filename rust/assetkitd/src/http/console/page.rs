//! What every console page shares: the page with its security headers, cookies, the session's
//! form (read within its limit after the session, checked for its CSRF token), writes as the
//! signed-in user, and the one redirect rule (a path on this server, never another origin).

use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::views;
use crate::domain::users::Session;
use crate::http::state::AppState;
use crate::store::Db;

pub(super) const SESSION_COOKIE: &str = "assetkit_session";

pub(super) const LOGIN_COOKIE: &str = "assetkit_login";

/// Largest form body (everything but the import upload).
pub const MAX_FORM_BYTES: usize = 64 << 10;

/// Longest login name looked up; longer names are refused as they come.
pub const MAX_LOGIN_NAME: usize = 64;

pub(super) fn static_file(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// An HTML page with the console's security headers and its server render time.
pub(super) fn page(status: StatusCode, started: Instant, markup: maud::Markup) -> Response {
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

pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(super) fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.tls.is_some() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"))
        .expect("cookie is ASCII")
}

/// A path on this server, never another origin: browsers read "//host" and "/\\host" as hosts.
pub(super) fn local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.chars().all(|c| c.is_ascii_graphic() && c != '\\')
}

pub(super) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A submitted form's fields, repeated names kept (checkbox lists).
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The fields of an urlencoded body.
    pub fn parse(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }
    /// The first value of field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// Every value of field `name` (checkbox lists).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
    /// The fields whose names start with `prefix`, the prefix taken off.
    pub fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        self.0.iter().filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_owned(), v.clone()))).collect()
    }
    /// The first value of field `name`, owned.
    pub fn opt(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

pub(super) fn csrf_ok(expected: &str, given: Option<&str>) -> bool {
    given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
}

pub(super) fn forbidden(started: Instant) -> Response {
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
pub(super) async fn posted(user: &Session, headers: &HeaderMap, body: Body) -> Result<Form, Response> {
    let started = Instant::now();
    let body = read_form(headers, body).await?;
    let form = Form::parse(&body);
    if !csrf_ok(&user.csrf, form.get("csrf")) {
        return Err(forbidden(started));
    }
    Ok(form)
}

/// A form body within [`MAX_FORM_BYTES`], or the error page.
pub(super) async fn read_form(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Response> {
    let started = Instant::now();
    crate::http::request::read_body(headers, body, MAX_FORM_BYTES)
        .await
        .map_err(|e| page(e.status, started, views::message("Form not accepted", &e.message, None)))
}

/// A write as the logged-in user, through the writer thread.
pub(super) async fn write<T: Send + 'static>(
    state: &AppState,
    op: impl FnOnce(&mut dyn Db, i64) -> crate::domain::Result<T> + Send + 'static,
) -> crate::domain::Result<T> {
    state.writer.run(None, op).await
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
