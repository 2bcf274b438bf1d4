//! The Software page: package names with the hosts that have them, each version with its hosts,
//! every count a link to exactly those hosts.

use maud::{Markup, html};
use serde_json::Value;

use super::layout::{layout, text};
use crate::domain::software::{SoftwarePage, SoftwareQuery};
use crate::domain::users::Session;

pub(super) fn link(params: &[(&str, &str)]) -> String {
    let s: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    format!("/assets?{s}")
}

fn page_link(q: &SoftwareQuery, page: u32) -> String {
    let mut pairs: Vec<(&str, String)> = vec![("page", page.to_string())];
    if let Some(term) = q.q.as_deref().filter(|t| !t.is_empty()) {
        pairs.push(("q", term.to_owned()));
    }
    if let Some(m) = q.manager.as_deref().filter(|m| !m.is_empty()) {
        pairs.push(("manager", m.to_owned()));
    }
    let s: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("/software?{s}")
}

/// The software list.
pub fn software(user: &Session, q: &SoftwareQuery, list: &SoftwarePage) -> Markup {
    let pages = list.total.div_ceil(u64::from(list.per_page)).max(1);
    layout(
        "Software",
        Some(user),
        "/software",
        html! {
            h1 { "Software" }
            form.filters method="get" action="/software" role="search" {
                label for="q" { "Package name" input #q type="search" name="q" value=[q.q.as_deref()] size="28"; }
                label for="manager" { "Manager"
                    select #manager name="manager" {
                        option value="" { "Any" }
                        @for m in ["deb", "rpm", "apk"] { option value=(m) selected[q.manager.as_deref() == Some(m)] { (m) } }
                    }
                }
                button type="submit" { "Search" }
                a href="/software" { "Reset" }
            }
            p.muted { (list.total) " package name(s). Each count opens the list of exactly those hosts." }
            table #software {
                thead { tr { th scope="col" { "Package" } th scope="col" { "Manager" } th scope="col" { "Hosts" } th scope="col" { "Versions (newest first): hosts" } } }
                tbody {
                    @for s in &list.software { (row(s)) }
                }
            }
            nav.pager aria-label="Pages" {
                @if list.page > 1 { a href=(page_link(q, list.page - 1)) rel="prev" { "← Previous" } }
                " Page " (list.page) " of " (pages) " "
                @if u64::from(list.page) < pages { a href=(page_link(q, list.page + 1)) rel="next" { "Next →" } }
            }
        },
    )
}

fn row(s: &Value) -> Markup {
    let (name, manager) = (s["name"].as_str().unwrap_or(""), s["manager"].as_str().unwrap_or(""));
    html! {
        tr {
            th scope="row" { (name) }
            td { (manager) }
            td.num { a.count href=(link(&[("package", name), ("manager", manager)])) { (s["hosts"]) } }
            td {
                ul.versions {
                    @for v in s["versions"].as_array().into_iter().flatten() {
                        @let version = v["version"].as_str().unwrap_or("");
                        @let arch = v["arch"].as_str().unwrap_or("");
                        li {
                            span.mono { (version) } @if !arch.is_empty() { " " span.muted { (arch) } } ": "
                            a.count href=(link(&[("package", name), ("manager", manager), ("arch", arch), ("version_eq", version)])) { (text(&v["hosts"])) }
                        }
                    }
                }
            }
        }
    }
}
