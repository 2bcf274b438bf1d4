//! The frame of every page (navigation by role, the signed-in user) and the small pieces
//! pages share: flash messages, selects, text of JSON values.

use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use crate::domain::inventory::AssetFilter;
use crate::domain::users::{Role, Session};

pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "—".into(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

pub fn bytes(v: &Value) -> String {
    v.as_u64().map(crate::domain::components::human_bytes).unwrap_or_else(|| "—".into())
}

pub fn layout(title: &str, user: Option<&Session>, active: &str, body: Markup) -> Markup {
    // Each link with the least role that may use it: a link leads nowhere a role cannot go.
    let nav = [
        ("/", "Dashboard", Role::Viewer),
        ("/assets", "Assets", Role::Viewer),
        ("/discovered", "Discovered", Role::Viewer),
        ("/software", "Software", Role::Viewer),
        ("/assets/new", "Enter a host", Role::Operator),
        ("/import", "Import", Role::Operator),
        ("/settings", "Settings", Role::Admin),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · assetkit" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "assetkit" }
                    @if let Some(user) = user {
                        nav aria-label="Main" {
                            @for (href, label, _) in nav.iter().filter(|(_, _, least)| user.role.allows(*least)) {
                                a href=(href) aria-current=[(active == *href).then_some("page")] { (label) }
                            }
                        }
                        div.who {
                            span { "Signed in as " strong { (user.name) } " " span #role class={ "badge role-" (user.role) } { (user.role) } }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(user.csrf);
                                button.secondary type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

pub fn flash(msg: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = msg {
            @let class = if m.starts_with("Not ") || m.starts_with("Nothing") || m.contains("error") { "panel flash error" } else { "panel flash" };
            div class=(class) role="status" { (m) }
        }
    }
}

/// A page with just a message.
pub fn message(title: &str, body: &str, user: Option<&Session>) -> Markup {
    layout(title, user, "", html! { h1 { (title) } p { (body) } p { a href="/assets" { "Back to the assets" } } })
}

pub fn select(name: &str, label: &str, options: &[String], selected: Option<&str>, any: &str) -> Markup {
    html! {
        label for=(name) { (label)
            select #(name) name=(name) {
                option value="" { (any) }
                @for o in options { option value=(o) selected[selected == Some(o.as_str())] { (o) } }
            }
        }
    }
}

pub fn query(f: &AssetFilter, overrides: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            pairs.push((k.to_owned(), v));
        }
    };
    push("status", f.status.clone());
    push("business_unit", f.business_unit.clone());
    push("idc", f.idc.clone());
    push("q", f.q.clone());
    for (k, v) in f.packages.pairs() {
        push(k, Some(v));
    }
    for (k, v) in f.more.pairs() {
        push(&k, Some(v));
    }
    push("sort", f.sort.clone());
    push("page", f.page.map(|p| p.to_string()));
    for (k, v) in overrides {
        pairs.retain(|(key, _)| key != k);
        if !v.is_empty() {
            pairs.push(((*k).to_owned(), v.clone()));
        }
    }
    let s: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    if s.is_empty() { "/assets".into() } else { format!("/assets?{s}") }
}
