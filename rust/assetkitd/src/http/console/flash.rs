//! Flash messages ("Host entered.", "Not added: ...") carried from a form's POST to the page it
//! redirects to. They belong to the session, not to the URL: a link cannot make a page show
//! text of its author's choosing. The message travels in a short-lived cookie bound to the
//! session (an HMAC keyed by the session's CSRF secret), is shown once, and is cleared by the
//! page that shows it.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::domain::users::Session;

const COOKIE: &str = "assetkit_flash";
/// Longest message carried (cookies are small; a message is a sentence).
const MAX_CHARS: usize = 500;

fn mac(session: &Session, message: &[u8]) -> String {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(session.csrf.as_bytes()).expect("any key length");
    mac.update(b"flash:");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// A redirect to `to` that shows `message` there, to this session only.
pub fn redirect(session: &Session, secure: bool, to: &str, message: &str) -> Response {
    let message: String = message.chars().take(MAX_CHARS).collect();
    let value = format!("{}.{}", hex::encode(message.as_bytes()), mac(session, message.as_bytes()));
    let secure = if secure { "; Secure" } else { "" };
    let mut resp = Redirect::to(to).into_response();
    if let Ok(cookie) =
        HeaderValue::from_str(&format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60{secure}"))
    {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    resp
}

/// The message waiting for this session, if any (one set for another session, or forged, is
/// ignored).
pub fn take(headers: &HeaderMap, session: &Session) -> Option<String> {
    let value = super::page::cookie(headers, COOKIE)?;
    let (text, given) = value.split_once('.')?;
    let bytes = hex::decode(text).ok()?;
    let expected = mac(session, &bytes);
    let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes()).into();
    same.then(|| String::from_utf8(bytes).ok()).flatten()
}

/// `resp`, clearing a message it showed.
pub fn shown(mut resp: Response, had: bool) -> Response {
    if had {
        resp.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("assetkit_flash=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::users::Role;

    fn session(csrf: &str) -> Session {
        Session { user_id: 1, name: "ops".into(), role: Role::Admin, csrf: csrf.into() }
    }

    #[test]
    fn a_message_reaches_its_own_session_only() {
        let resp = redirect(&session("s1"), false, "/settings", "Webhook 4 added.");
        let set = resp.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(set.split(';').next().unwrap()).unwrap());
        assert_eq!(take(&headers, &session("s1")).as_deref(), Some("Webhook 4 added."));
        assert_eq!(take(&headers, &session("s2")), None, "another session's message");
        let forged = format!("{COOKIE}={}.{}", hex::encode("Call 555-0100"), "00".repeat(32));
        headers.insert(header::COOKIE, HeaderValue::from_str(&forged).unwrap());
        assert_eq!(take(&headers, &session("s1")), None, "a forged message");
    }
}
