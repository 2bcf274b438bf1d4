//! Webhooks in the console's Settings (admins only): the endpoints, a form to add one, and
//! the dead deliveries with their "Redeliver" button.

use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::page::{Form, page, posted, write};
use super::roles::{Admin, User};
use super::settings::settings_data;
use super::views;
use crate::domain::users::Session;
use crate::domain::webhooks::{self, Format, NewEndpoint};
use crate::http::request::read;
use crate::http::state::AppState;

fn back(user: &Session, state: &AppState, msg: &str) -> Response {
    super::flash::redirect(user, state.config.tls.is_some(), "/settings#webhooks", msg)
}

/// POST /settings/webhooks: adds an endpoint; a generated secret is shown once.
pub async fn add(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let nonempty = |name: &str| form.get(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let generated = nonempty("secret").is_none();
    let secret =
        nonempty("secret").map_or_else(|| assetkit_sign::Secret::generate_as("whs_"), assetkit_sign::Secret::new);
    let parsed = Format::parse(form.get("format").unwrap_or("json"))
        .and_then(|format| Ok((format, webhooks::parse_events(&form.all("events").join(","))?)));
    let (format, events) = match parsed {
        Ok(p) => p,
        Err(e) => return back(&user, &state, &format!("Not added: {e}")),
    };
    let url = form.get("url").unwrap_or("").to_owned();
    let checked = match webhooks::checked_url(&url) {
        Ok(u) => u,
        Err(e) => return back(&user, &state, &format!("Not added: {e}")),
    };
    if let Err(why) = crate::http::webhooks::check_destination(&checked, &state.config.webhook_destinations).await {
        return back(&user, &state, &format!("Not added: {why}"));
    }
    let new = NewEndpoint {
        url,
        secret: secret.clone(),
        format,
        events,
        business_unit: nonempty("business_unit"),
        idc: nonempty("idc"),
        status: nonempty("status"),
    };
    let actor = format!("console:{}", user.name);
    let ring = state.keyring.clone();
    let added = write(&state, move |db, now| webhooks::add(db, &ring, &new, &actor, now)).await;
    match added {
        Ok(id) if generated => {
            let Ok(data) = read(&state, settings_data).await else { return back(&user, &state, "Added.") };
            let id = id.to_string();
            page(StatusCode::OK, started, views::settings(&user, &data, None, Some(("Webhook", &id, secret.expose()))))
        }
        Ok(id) => back(&user, &state, &format!("Webhook {id} added.")),
        Err(e) => back(&user, &state, &format!("Not added: {e}")),
    }
}

fn id_of(form: &Form) -> Option<i64> {
    form.get("id").and_then(|v| v.parse().ok())
}

/// POST /settings/webhooks/remove.
pub async fn remove(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap, body: Body) -> Response {
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let Some(id) = id_of(&form) else { return back(&user, &state, "No such webhook.") };
    let actor = format!("console:{}", user.name);
    match write(&state, move |db, now| webhooks::remove(db, id, &actor, now)).await {
        Ok(true) => back(&user, &state, &format!("Webhook {id} removed with its undelivered events.")),
        Ok(false) => back(&user, &state, "No such webhook."),
        Err(e) => back(&user, &state, &format!("Not removed: {e}")),
    }
}

/// POST /settings/webhooks/redeliver: a dead delivery is queued again (same event id).
pub async fn redeliver(State(state): State<AppState>, user: User<Admin>, headers: HeaderMap, body: Body) -> Response {
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let Some(id) = id_of(&form) else { return back(&user, &state, "No such delivery.") };
    let actor = format!("console:{}", user.name);
    let done = write(&state, move |db, now| {
        let done = webhooks::redeliver(db, id, &actor, now)?;
        Ok((done, if done { None } else { webhooks::delivery_state(db, id)? }))
    });
    match done.await {
        Ok((true, _)) => back(&user, &state, &format!("Delivery {id} queued again.")),
        Ok((false, None)) => back(&user, &state, &format!("No delivery {id}.")),
        Ok((false, Some(_))) => back(&user, &state, &format!("Delivery {id} is not dead any more.")),
        Err(e) => back(&user, &state, &format!("Not queued: {e}")),
    }
}
