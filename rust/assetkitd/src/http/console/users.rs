//! Settings › Users (admins): the forms behind [`views::users`](super::views::users). Each calls
//! the domain function `assetkitd users` calls, with `console:NAME` as the actor, so the audit
//! log reads the same whichever way a user was changed. An admin cannot disable or demote
//! themselves here (another admin can): a console with no admin left is a locked door.

use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{Form, page, posted, write};
use super::roles::{Admin, User};
use super::settings::settings_data;
use super::{flash, views};
use crate::domain::users::{self, Role, Session};
use crate::http::request::read;
use crate::http::state::AppState;

fn back(user: &Session, state: &AppState, msg: &str) -> Response {
    flash::redirect(user, state.config.tls.is_some(), "/settings#users-heading", msg)
}

/// A new password for someone else to receive: 24 hex digits (96 bits) from the OS.
fn generated_password() -> String {
    assetkit_sign::Secret::generate_as("").expose().chars().take(24).collect()
}

/// The settings page with `password` for `name` shown once.
async fn shown_once(state: &AppState, user: &Session, started: Instant, name: &str, password: &str) -> Response {
    let Ok(data) = read(state, settings_data).await else { return Redirect::to("/settings").into_response() };
    page(StatusCode::OK, started, views::settings(user, &data, None, Some(("Password", name, password))))
}

fn named(form: &Form) -> String {
    form.get("name").unwrap_or("").trim().to_owned()
}

/// POST /settings/users: creates a user; a generated password is shown once.
pub async fn create(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let name = named(&form);
    let role: Role = match form.get("role").unwrap_or("viewer").parse() {
        Ok(role) => role,
        Err(e) => return back(&user, &state, &format!("Not created: {e}")),
    };
    let given = form.get("password").filter(|p| !p.is_empty()).map(str::to_owned);
    let password = given.clone().unwrap_or_else(generated_password);
    let (actor, who, secret) = (format!("console:{}", user.name), name.clone(), password.clone());
    let done = write(&state, move |db, now| users::create_user_as(db, &who, &secret, role, &actor, now)).await;
    match done {
        Ok(_) if given.is_none() => shown_once(&state, &user, started, &name, &password).await,
        Ok(_) => back(&user, &state, &format!("User {name} created ({role}).")),
        Err(e) => back(&user, &state, &format!("Not created: {e}")),
    }
}

/// POST /settings/users/role: gives a user another role (from their next request).
pub async fn set_role(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap, body: Body) -> Response {
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let name = named(&form);
    if name == user.name {
        return back(&user, &state, "You cannot change your own role here; another admin can.");
    }
    let role: Role = match form.get("role").unwrap_or("").parse() {
        Ok(role) => role,
        Err(e) => return back(&user, &state, &format!("Not changed: {e}")),
    };
    let (actor, who) = (format!("console:{}", user.name), name.clone());
    match write(&state, move |db, now| users::set_role(db, &who, role, &actor, now)).await {
        Ok(old) if old == role => back(&user, &state, &format!("{name} already is {role}.")),
        Ok(old) => back(&user, &state, &format!("{name} is now {role} (was {old}).")),
        Err(e) => back(&user, &state, &format!("Not changed: {e}")),
    }
}

/// POST /settings/users/password: a new generated password, shown once; their sessions end.
pub async fn reset_password(
    State(state): State<AppState>,
    user: User<Admin>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let name = named(&form);
    let password = generated_password();
    let (actor, who, secret) = (format!("console:{}", user.name), name.clone(), password.clone());
    match write(&state, move |db, now| users::set_password(db, &who, &secret, &actor, now)).await {
        Ok(()) => shown_once(&state, &user, started, &name, &password).await,
        Err(e) => back(&user, &state, &format!("Not changed: {e}")),
    }
}

/// POST /settings/users/disable: the user can no longer sign in; their sessions end.
pub async fn disable(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap, body: Body) -> Response {
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let name = named(&form);
    if name == user.name {
        return back(&user, &state, "You cannot disable yourself here; another admin can.");
    }
    let (actor, who) = (format!("console:{}", user.name), name.clone());
    match write(&state, move |db, now| users::disable_user(db, &who, &actor, now)).await {
        Ok(()) => back(&user, &state, &format!("User {name} disabled; their sessions ended.")),
        Err(e) => back(&user, &state, &format!("Not disabled: {e}")),
    }
}
