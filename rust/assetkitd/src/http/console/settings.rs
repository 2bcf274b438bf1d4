//! Settings (admins): names of business units and IDCs, API keys, users, the audit log.
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{page, posted, write};
use super::roles::{Admin, User};
use super::{flash, views};
use crate::domain::inventory::{self, NameList};
use crate::domain::users::{self};
use crate::domain::{audit, keys};
use crate::http::request::read;
use crate::http::state::AppState;
use crate::store::Db;

/// What the settings page lists.
pub(super) fn settings_data(db: &mut dyn Db) -> crate::domain::Result<views::SettingsData> {
    Ok(views::SettingsData {
        choices: inventory::choices(db)?,
        keys: keys::list(db)?,
        people: users::list_users(db)?,
        events: audit::latest(db, 50)?,
        webhooks: crate::domain::webhooks::list(db)?,
        dead: crate::domain::webhooks::dead_letters(db, 50)?,
    })
}

pub(super) async fn settings_page(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap) -> Response {
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

pub(super) async fn add_name(
    State(state): State<AppState>,
    user: User<Admin>,
    headers: HeaderMap,
    body: Body,
) -> Response {
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

pub(super) async fn create_key(
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

pub(super) async fn revoke_key(
    State(state): State<AppState>,
    user: User<Admin>,
    headers: HeaderMap,
    body: Body,
) -> Response {
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
