//! Webhooks in the console's Settings (admins only): the endpoints, a form to add one, and
//! the dead deliveries with their "Redeliver" button.

use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};

use super::roles::{Admin, User};
use super::views::SettingsData;
use super::{page, posted, read, settings_data, views, write};
use crate::domain::users::Session;
use crate::domain::webhooks::{self, EVENT_TYPES, Format, NewEndpoint};
use crate::http::state::AppState;

/// The Settings section.
pub fn section(user: &Session, data: &SettingsData) -> Markup {
    html! {
        h2 #webhooks { "Webhooks" }
        p.muted {
            "Change events are POSTed, signed (" code { "X-Assetkit-Signature" } "), to each endpoint whose filters select them; "
            "failed deliveries are retried with backoff, then listed below as dead."
        }
        table #webhook-list {
            thead { tr { th { "Id" } th { "URL" } th { "Format" } th { "Events" } th { "Filters" } th { "Waiting" } th { "Dead" } th { span.skip { "Action" } } } }
            tbody { @for w in &data.webhooks { tr {
                td { (w.id) } td.mono { (w.url) } td { (w.format) }
                td { @if w.events.is_empty() { "all" } @else { (w.events.replace(',', ", ")) } }
                td { (filters(w)) }
                td { (w.pending) } td { (w.dead) }
                td { form.inline method="post" action="/settings/webhooks/remove" data-confirm={ "Remove webhook " (w.id) " and drop its undelivered events?" } {
                    input type="hidden" name="csrf" value=(user.csrf);
                    input type="hidden" name="id" value=(w.id);
                    button.danger type="submit" { "Remove" }
                } }
            } } }
        }
        form.filters #webhook-add method="post" action="/settings/webhooks" {
            input type="hidden" name="csrf" value=(user.csrf);
            label for="hook-url" { "URL" input #hook-url name="url" type="url" required placeholder="https://ops.example/hooks/assetkit"; }
            label for="hook-format" { "Format" select #hook-format name="format" {
                option value="json" { "JSON event" } option value="slack" { "Slack / Mattermost" } option value="alertmanager" { "Alertmanager" }
            } }
            label for="hook-events" { "Events (none: all)" select #hook-events name="events" multiple size="6" {
                @for t in EVENT_TYPES { option value=(t) { (t) } }
            } }
            label for="hook-bu" { "Business unit" select #hook-bu name="business_unit" { option value="" { "any" } @for b in &data.choices.business_units { option value=(b) { (b) } } } }
            label for="hook-idc" { "IDC" select #hook-idc name="idc" { option value="" { "any" } @for i in &data.choices.idcs { option value=(i) { (i) } } } }
            label for="hook-status" { "Status" select #hook-status name="status" { option value="" { "any" } @for s in crate::domain::inventory::STATUSES { option value=(s) { (s.replace('_', " ")) } } } }
            label for="hook-secret" { "Secret (blank: generated)" input #hook-secret name="secret" type="password" autocomplete="new-password" minlength="16"; }
            button type="submit" { "Add webhook" }
        }
        h3 #dead-letters { "Dead deliveries" }
        @if data.dead.is_empty() {
            p.muted #no-dead { "None: every event was delivered or is still being retried." }
        } @else {
            table #dead-list {
                thead { tr { th { "Delivery" } th { "Webhook" } th { "Event" } th { "Asset" } th { "Summary" } th { "Attempts" } th { "Given up" } th { "Last error" } th { span.skip { "Action" } } } }
                tbody { @for d in &data.dead { tr {
                    td { (d.id) } td.mono { (d.webhook_id) " " (d.url) } td { (d.event) }
                    td { a href={ "/assets/" (d.asset_id) } { (d.asset_id) } } td { (d.summary) } td { (d.attempts) } td { (d.dead_at) }
                    td { (d.last_error.as_deref().unwrap_or("—")) }
                    td { form.inline method="post" action="/settings/webhooks/redeliver" {
                        input type="hidden" name="csrf" value=(user.csrf);
                        input type="hidden" name="id" value=(d.id);
                        button type="submit" { "Redeliver" }
                    } }
                } } }
            }
        }
    }
}

fn filters(w: &webhooks::Endpoint) -> String {
    let parts: Vec<String> = [("BU", &w.business_unit), ("IDC", &w.idc), ("status", &w.status)]
        .iter()
        .filter_map(|(name, v)| v.as_ref().map(|v| format!("{name} {v}")))
        .collect();
    if parts.is_empty() { "—".to_owned() } else { parts.join(", ") }
}

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
    let secret = nonempty("secret").map_or_else(assetkit_sign::Secret::generate, assetkit_sign::Secret::new);
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

fn id_of(form: &super::Form) -> Option<i64> {
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
    match write(&state, move |db, now| webhooks::redeliver(db, id, &actor, now)).await {
        Ok(true) => back(&user, &state, &format!("Delivery {id} queued again.")),
        Ok(false) => back(&user, &state, "That delivery is not dead any more."),
        Err(e) => back(&user, &state, &format!("Not queued: {e}")),
    }
}
