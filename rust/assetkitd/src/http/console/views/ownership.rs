//! One asset's owner, dates, tags and custom fields (editable by operators), and where it runs:
//! a VM's hypervisor, a hypervisor's guests, a cloud instance.

use maud::{Markup, html};
use serde_json::Value;

use super::layout::text;
use crate::domain::users::{Role, Session};

/// The Ownership section of an asset's page.
pub fn ownership(user: &Session, a: &Value) -> Markup {
    let tags: Vec<&str> =
        a["tags"].as_array().map(|t| t.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let definitions = a["field_definitions"].as_array().cloned().unwrap_or_default();
    html! {
        section aria-labelledby="ownership" {
            h2 #ownership { "Ownership" }
            @if !user.role.allows(Role::Operator) {
                dl.facts #ownership-facts {
                    dt { "Owner" } dd { (text(&a["owner"]["name"])) @if let Some(e) = a["owner"]["email"].as_str() { " <" (e) ">" } }
                    dt { "Purchased" } dd { (text(&a["purchase_date"])) }
                    dt { "Warranty ends" } dd { (text(&a["warranty_end"])) }
                    dt { "Tags" } dd { @for t in &tags { span.tag { (t) } " " } }
                    @for d in &definitions {
                        @let name = d["name"].as_str().unwrap_or("");
                        dt { (d["label"].as_str().unwrap_or(name)) } dd { (text(&a["fields"][name])) }
                    }
                }
            } @else {
                form #ownership-form method="post" action={ "/assets/" (a["id"]) } {
                    input type="hidden" name="csrf" value=(user.csrf);
                    dl.facts {
                        dt { label for="owner_name" { "Owner" } } dd { input #owner_name name="owner_name" value=[a["owner"]["name"].as_str()] size="30"; }
                        dt { label for="owner_email" { "Owner e-mail" } } dd { input #owner_email type="email" name="owner_email" value=[a["owner"]["email"].as_str()] size="30"; }
                        dt { label for="purchase_date" { "Purchased" } } dd { input #purchase_date type="date" name="purchase_date" value=[a["purchase_date"].as_str()]; }
                        dt { label for="warranty_end" { "Warranty ends" } } dd { input #warranty_end type="date" name="warranty_end" value=[a["warranty_end"].as_str()]; }
                        dt { label for="tags" { "Tags" } } dd { input #tags name="tags" value=(tags.join(", ")) size="40" placeholder="comma-separated"; }
                        @for d in &definitions { (field_input(d, &a["fields"])) }
                    }
                    p { button type="submit" { "Save ownership" } }
                }
            }
        }
        (runs_on(a))
    }
}

fn field_input(d: &Value, values: &Value) -> Markup {
    let name = d["name"].as_str().unwrap_or("");
    let id = format!("cf_{name}");
    let current = match &values[name] {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let label = d["label"].as_str().unwrap_or(name);
    html! {
        dt { label for=(id) { (label) } }
        dd {
            @match d["type"].as_str().unwrap_or("text") {
                "choice" => {
                    select #(id) name=(id) {
                        option value="" { "—" }
                        @for c in d["choices"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                            option value=(c) selected[current == c] { (c) }
                        }
                    }
                }
                "integer" => { input #(id) name=(id) type="number" step="1" value=(current); }
                "date" => { input #(id) name=(id) type="date" value=(current); }
                _ => { input #(id) name=(id) value=(current) size="30"; }
            }
        }
    }
}

/// A VM's hypervisor, a hypervisor's guests, a cloud instance.
fn runs_on(a: &Value) -> Markup {
    let guests = a["guests"].as_array().cloned().unwrap_or_default();
    html! {
        @if let Some(h) = a["hypervisor"].as_object() {
            p #hypervisor { "Runs on " a href={ "/assets/" (h["id"]) } { (text(&h["hostname"])) } }
        }
        @if let Some(c) = a["cloud"].as_object().filter(|c| !c["provider"].is_null()) {
            p #cloud { "Cloud instance: " strong { (text(&c["provider"])) } " " span.mono { (text(&c["instance_id"])) } " " (text(&c["instance_type"])) }
        }
        @if !guests.is_empty() {
            h2 #guests { "Guests (" (guests.len()) ")" }
            table aria-labelledby="guests" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "UUID" } th scope="col" { "Kind" } th scope="col" { "State" } th scope="col" { "vCPUs" } th scope="col" { "Memory" } th scope="col" { "Asset" } } }
                tbody {
                    @for g in &guests {
                        tr {
                            td { (text(&g["name"])) }
                            td.mono { (text(&g["uuid"])) }
                            td { (text(&g["kind"])) }
                            td { (text(&g["state"])) }
                            td { (text(&g["vcpus"])) }
                            td { (super::layout::bytes(&g["memory_bytes"])) }
                            td { @if let Some(id) = g["asset_id"].as_i64() { a href={ "/assets/" (id) } { (text(&g["asset_hostname"])) } } @else { span.muted { "not reporting" } } }
                        }
                    }
                }
            }
        }
    }
}
