//! The console's home page: what the fleet is made of and what changed lately. The numbers come
//! from [`crate::domain::dashboard`] in one read; the charts are SVG from [`super::charts`], each
//! bar a link to the asset list it counts. Where the list has no filter for a bar (model, memory
//! size, core count, a day of changes), the bar opens the closest list there is and the page says
//! so.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};

use super::charts::{self, ACCENT, Bar, Column, SERIES, Stack};
use super::page::page;
use super::roles::{User, Viewer};
use super::views;
use crate::domain::dashboard::{self, CHANGE_GROUPS, Count, Dashboard};
use crate::domain::users::Session;
use crate::http::request::read;
use crate::http::state::AppState;

/// `GET /`: the dashboard.
pub async fn dashboard_page(State(state): State<AppState>, user: User<Viewer>) -> Response {
    let started = Instant::now();
    let cutoff = state.offline_cutoff();
    let now = crate::store::now();
    match read(&state, move |db| dashboard::load(db, now, cutoff)).await {
        Ok(data) => page(StatusCode::OK, started, view(&user, &data, now)),
        Err(e) => e.into_response(),
    }
}

fn list(params: &[(&str, &str)]) -> String {
    let q: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    if q.is_empty() { "/assets".into() } else { format!("/assets?{q}") }
}

fn status_color(status: &str) -> charts::RGBColor {
    use charts::RGBColor as C;
    match status {
        "online" => C(0x1a, 0x7f, 0x37),
        "offline" => C(0xcf, 0x22, 0x2e),
        "discovered" => C(0x9a, 0x67, 0x00),
        "in_stock" => ACCENT,
        _ => C(0x8c, 0x95, 0x9f),
    }
}

/// Bars for counts, each opening the list filtered to what it counts ("other" is unlinked).
fn named(counts: &[Count]) -> Vec<Bar> {
    counts
        .iter()
        .map(|c| Bar {
            label: c.label.clone(),
            n: c.n,
            href: c.filter.as_ref().map(|f| list(&f.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>())),
            color: ACCENT,
        })
        .collect()
}

fn ago(now: i64, then: i64) -> String {
    let s = (now - then).max(0);
    match s {
        s if s < 3_600 => format!("{} min ago", s / 60),
        s if s < 2 * 86_400 => format!("{} h ago", s / 3_600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// A chart with its caption; no chart at all when there is nothing to count.
fn figure(title: &str, note: Option<&str>, bars: &[Bar], draw: impl FnOnce(&[Bar]) -> String) -> Markup {
    html! {
        figure.chart-panel {
            figcaption { strong { (title) } @if let Some(n) = note { " " span.muted { (n) } } }
            @if bars.is_empty() {
                p.muted { "Nothing to count yet." }
            } @else {
                // SVG built by plotters and the link layer, both escaping what they write.
                (PreEscaped(draw(bars)))
            }
        }
    }
}

/// The page.
pub fn view(user: &Session, d: &Dashboard, now: i64) -> Markup {
    let total: u64 = d.statuses.iter().map(|(_, n)| n).sum();
    views::layout::layout(
        "Dashboard",
        Some(user),
        "/",
        html! {
            h1 { "Fleet dashboard" }
            p.muted { (total) " assets. Each bar opens the asset list it counts." }
            (make_up(d))
            (changes_panel(d))
            div.grid {
                (silent_section(d, now))
                (hardware_section(d, now))
            }
            (warranty_section(d))
        },
    )
}

/// The fleet's make-up: status, IDC, business unit, model, memory and cores.
fn make_up(d: &Dashboard) -> Markup {
    let statuses: Vec<Bar> = d
        .statuses
        .iter()
        .map(|(s, n)| Bar {
            label: s.replace('_', " "),
            n: *n,
            href: Some(list(&[("status", s)])),
            color: status_color(s),
        })
        .collect();
    html! {
        div.dashboard {
            (figure("Assets by status", None, &statuses, |b| charts::hbars("Assets by status", b)))
            (figure("Assets by IDC", None, &named(&d.idcs), |b| charts::hbars("Assets by IDC", b)))
            (figure("Assets by business unit", None, &named(&d.business_units),
                |b| charts::hbars("Assets by business unit", b)))
            (figure("Assets by manufacturer and model", None,
                &named(&d.models), |b| charts::hbars("Assets by manufacturer and model", b)))
            (figure("Memory", None,
                &named(&d.memory), |b| charts::histogram("Assets by memory size", "memory (GiB)", b)))
            (figure("CPU cores", None,
                &named(&d.cores), |b| charts::histogram("Assets by CPU cores", "CPU cores", b)))
        }
    }
}

/// Warranties ending in the next 90 days: how many (linked to the filtered list), the soonest.
fn warranty_section(d: &Dashboard) -> Markup {
    let (total, soonest) = &d.warranties;
    let days = crate::domain::dashboard::WARRANTY_DAYS;
    html! {
        section #warranties aria-labelledby="warranties-title" {
            h2 #warranties-title { "Warranties ending in the next " (days) " days" }
            @if *total == 0 {
                p.muted { "None." }
            } @else {
                p { a href=(list(&[("warranty_within_days", &days.to_string())])) { (total) " asset(s)" } }
                table {
                    thead { tr { th scope="col" { "Asset" } th scope="col" { "Warranty ends" } } }
                    tbody { @for (id, name, end) in soonest { tr { td { a href={ "/assets/" (id) } { (name) } } td { (end) } } } }
                }
            }
        }
    }
}

/// Change events per day, stacked by kind.
fn changes_panel(d: &Dashboard) -> Markup {
    let columns: Vec<Column> = d
        .days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let date = crate::store::rfc3339(day.start);
            let parts: Vec<String> = CHANGE_GROUPS
                .iter()
                .zip(&day.counts)
                .filter(|(_, n)| **n > 0)
                .map(|((name, _), n)| format!("{name} {n}"))
                .collect();
            let sum: u64 = day.counts.iter().sum();
            Column {
                // Every fifth day, and today, labelled (MM-DD).
                label: if (d.days.len() - 1 - i).is_multiple_of(5) { date[5..10].to_owned() } else { String::new() },
                title: format!(
                    "{}: {sum} change(s){}{}",
                    &date[..10],
                    if parts.is_empty() { "" } else { ": " },
                    parts.join(", ")
                ),
                values: day.counts.clone(),
            }
        })
        .collect();
    let stacks: Vec<Stack<'_>> =
        CHANGE_GROUPS.iter().zip(SERIES.iter().cycle()).map(|((name, _), c)| Stack { name, color: *c }).collect();
    let changes_30d: u64 = d.days.iter().flat_map(|day| &day.counts).sum();
    html! {
        figure.chart-panel.wide {
            figcaption {
                strong { "Changes per day, last " (dashboard::DAYS) " days" }
                " " span.muted { (changes_30d) " change event(s); hover a day for its numbers" }
            }
            (PreEscaped(charts::stacked("Change events per day by kind", &stacks, &columns)))
        }
    }
}

/// Online hosts silent for more than a day.
fn silent_section(d: &Dashboard, now: i64) -> Markup {
    html! {
        section #silent {
            h2 { "Silent for more than 24 h" }
            p.muted {
                (d.silent_total) " online host(s) with no report for over 24 h. "
                a href=(list(&[("status", "online"), ("sort", "last_seen")])) { "Online hosts, longest silent first" }
                " · " a href="/assets?status=offline" { "hosts counted offline" }
            }
            @if d.silent.is_empty() {
                p { "Every online host reported within the last 24 h." }
            } @else {
                table {
                    thead { tr { th { "Host" } th { "Last report" } } }
                    tbody {
                        @for s in &d.silent {
                            tr {
                                td { a href={ "/assets/" (s.id) } { (s.hostname.as_deref().unwrap_or("(no name)")) } }
                                td title=(crate::store::rfc3339(s.last_seen)) { (ago(now, s.last_seen)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The latest hardware changes.
fn hardware_section(d: &Dashboard, now: i64) -> Markup {
    html! {
        section #hardware-changes {
            h2 { "Recent hardware changes" }
            @if d.hardware_changes.is_empty() {
                p { "No hardware change in the last " (dashboard::DAYS) " days." }
            } @else {
                table {
                    thead { tr { th { "When" } th { "Host" } th { "Change" } } }
                    tbody {
                        @for c in &d.hardware_changes {
                            tr {
                                td title=(crate::store::rfc3339(c.at)) { (ago(now, c.at)) }
                                td { a href={ "/assets/" (c.asset_id) } { (c.hostname.as_deref().unwrap_or("(no name)")) } }
                                td { span.muted { (c.component) } " " (c.summary) }
                            }
                        }
                    }
                }
            }
        }
    }
}
