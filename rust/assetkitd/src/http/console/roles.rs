//! Who may use a console route, as a type: a handler takes [`User<Viewer>`], [`User<Operator>`]
//! or [`User<Admin>`], the way API handlers take `Signed<Scope>`. The extractor finds the session
//! from its cookie and checks its role before the handler runs and before a byte of the body is
//! read, so a route cannot be written without choosing its role, and a refused request writes
//! nothing. Hiding buttons a role cannot use is courtesy; this is the check.

use std::marker::PhantomData;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{SESSION_COOKIE, cookie, page, urlencode};
use super::views;
use crate::domain::users::{self, Role, Session};
use crate::http::request::read;
use crate::http::state::AppState;

/// A route's least role, as a type.
pub trait RequiredRole: Send + Sync + 'static {
    /// The least role admitted; every role above it is admitted too.
    const ROLE: Role;
}

/// Reading: assets, changes, discovered hosts, exports.
pub struct Viewer;
/// Editing assets, entering hosts, assigning discovered hosts, importing.
pub struct Operator;
/// Users, API keys, host credentials, settings.
pub struct Admin;

impl RequiredRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl RequiredRole for Operator {
    const ROLE: Role = Role::Operator;
}
impl RequiredRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// The logged-in user, whose role admits the route.
pub struct User<R> {
    /// Their session.
    pub session: Session,
    role: PhantomData<R>,
}

impl<R> std::ops::Deref for User<R> {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

impl<R: RequiredRole> FromRequestParts<AppState> for User<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let started = Instant::now();
        // After signing in, a page comes back to where it was; a form goes to the home page (its
        // POST cannot be repeated by a redirect).
        let next = if parts.method == Method::GET {
            parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
        } else {
            "/"
        };
        let login = || Redirect::to(&format!("/login?next={}", urlencode(next))).into_response();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned) else { return Err(login()) };
        let found = read(state, move |db| users::session(db, &token, crate::store::now()))
            .await
            .map_err(IntoResponse::into_response)?;
        let session = found.ok_or_else(login)?;
        if !session.role.allows(R::ROLE) {
            return Err(refused(started, &session, R::ROLE));
        }
        Ok(User { session, role: PhantomData })
    }
}

/// The 403 page for a role that does not reach a route.
fn refused(started: Instant, session: &Session, needed: Role) -> Response {
    page(
        StatusCode::FORBIDDEN,
        started,
        views::message(
            "Not allowed",
            &format!(
                "Your role, {}, cannot do this: it needs {}. Nothing was changed. An admin can change your role \
                 (assetkitd users set-role).",
                session.role,
                match needed {
                    Role::Viewer => "a signed-in user",
                    Role::Operator => "an operator or an admin",
                    Role::Admin => "an admin",
                }
            ),
            Some(session),
        ),
    )
}
