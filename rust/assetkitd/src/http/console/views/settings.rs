//! Settings: names, API keys, users, webhooks and their dead deliveries, the audit log.

use maud::{Markup, PreEscaped, html};
use serde_json::Value;

use super::layout::{flash, layout, text};
use crate::domain::inventory::Choices;
use crate::domain::keys::KeyInfo;
use crate::domain::users::{Session, UserInfo};
use crate::domain::webhooks::{self, EVENT_TYPES};

/// What the settings page lists.
pub struct SettingsData {
    /// Business units and IDCs.
    pub choices: Choices,
    /// API keys, revoked ones included.
    pub keys: Vec<KeyInfo>,
    /// Console users.
    pub people: Vec<UserInfo>,
    /// The latest admin events.
    pub events: Vec<Value>,
    /// Webhook endpoints.
    pub webhooks: Vec<crate::domain::webhooks::Endpoint>,
    /// The latest dead webhook deliveries.
    pub dead: Vec<crate::domain::webhooks::DeadLetter>,
}

/// Business units, IDCs, API keys, users and the audit log.
/// `shown_once`: what was just created ("Key", "ak_..."), and its secret, shown this once.
pub fn settings(
    user: &Session,
    data: &SettingsData,
    msg: Option<&str>,
    shown_once: Option<(&str, &str, &str)>,
) -> Markup {
    let name_form = |kind: &str, label: &str| {
        html! {
            form.filters method="post" action="/settings/names" {
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="kind" value=(kind);
                label for={ "new-" (kind) } { (label) input id={ "new-" (kind) } name="name" required; }
                button type="submit" { "Add" }
            }
        }
    };
    layout(
        "Settings",
        Some(user),
        "/settings",
        html! {
            h1 { "Settings" }
            (flash(msg))
            @if let Some((what, id, secret)) = shown_once {
                div.panel.flash.warn role="alert" {
                    @if what == "Password" {
                        p { "The password of " code { (id) } " is shown once; hand it to them over a safe channel:" }
                    } @else {
                        p { (what) " " code { (id) } " created. Its secret is shown once; store it in a file of mode 0600:" }
                    }
                    p.secret.mono #new-secret { (secret) }
                }
            }
            div.grid {
                section { h2 { "Business units" } ul { @for b in &data.choices.business_units { li { (b) } } } (name_form("business_unit", "New business unit")) }
                section { h2 { "IDCs" } ul { @for i in &data.choices.idcs { li { (i) } } } (name_form("idc", "New IDC")) }
            }
            h2 { "API keys" }
            table {
                thead { tr { th { "Key id" } th { "Name" } th { "Scope" } th { "Created" } th { "Revoked" } th { span.skip { "Action" } } } }
                tbody { @for k in &data.keys { tr {
                    td.mono { (k.key_id) } td { (k.name) } td { (k.scope) } td { (k.created_at) } td { (k.revoked_at.as_deref().unwrap_or("—")) }
                    td { @if k.revoked_at.is_none() {
                        form.inline method="post" action="/settings/keys/revoke" data-confirm={ "Revoke " (k.key_id) "? Hosts using it can no longer report." } {
                            input type="hidden" name="csrf" value=(user.csrf);
                            input type="hidden" name="key_id" value=(k.key_id);
                            button.danger type="submit" { "Revoke" }
                        }
                    } }
                } } }
            }
            form.filters method="post" action="/settings/keys" {
                input type="hidden" name="csrf" value=(user.csrf);
                label for="key-name" { "What uses the key" input #key-name name="name" required placeholder="agents-dc1"; }
                label for="key-scope" { "Scope" select #key-scope name="scope" { option value="agent" { "agent (fleet key: hosts enrol with it)" } option value="read" { "read (GET the inventory)" } option value="admin" { "admin (everything)" } } }
                button type="submit" { "Create key" }
            }
            (webhooks_section(user, data))
            (super::users::users_section(user, &data.people))
            h2 { "Audit log" }
            table {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "Target" } th { "Detail" } } }
                tbody { @for e in &data.events { tr { td { (text(&e["at"])) } td { (text(&e["actor"])) } td { (text(&e["action"])) } td { (text(&e["target"])) } td { (text(&e["detail"])) } } } }
            }
            (PreEscaped(""))
        },
    )
}

/// The Settings section.
pub fn webhooks_section(user: &Session, data: &SettingsData) -> Markup {
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
