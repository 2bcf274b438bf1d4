//! The asset list, one asset, entering a host, and the discovered queue.

use maud::{Markup, html};
use serde_json::Value;

use super::layout::{flash, layout, query, select, text};
use crate::domain::inventory::{AssetFilter, AssetPage, Choices};
use crate::domain::users::{Role, Session};

/// The package filter in words: "openssl (deb, amd64) older than 3.0.13".
fn package_filter_words(f: &AssetFilter) -> String {
    let p = &f.packages;
    let mut words = p.package.clone().unwrap_or_default();
    let qualifiers: Vec<&str> = [p.manager.as_deref(), p.arch.as_deref()].into_iter().flatten().collect();
    if !qualifiers.is_empty() {
        words.push_str(&format!(" ({})", qualifiers.join(", ")));
    }
    for (bound, said) in [
        (&p.version_lt, "older than"),
        (&p.version_le, "at most"),
        (&p.version_gt, "newer than"),
        (&p.version_ge, "at least"),
        (&p.version_eq, "at version"),
    ] {
        if let Some(v) = bound {
            words.push_str(&format!(" {said} {v}"));
        }
    }
    words
}

/// The asset list.
pub fn assets(
    user: &Session,
    f: &AssetFilter,
    list: &AssetPage,
    counts: &[(String, u64)],
    choices: &Choices,
) -> Markup {
    let current_sort = f.sort.clone().unwrap_or_else(|| "hostname".into());
    let header = |label: &str, key: &str| {
        let (next, aria) = if current_sort == key {
            (format!("-{key}"), "ascending")
        } else if current_sort == format!("-{key}") {
            (key.to_owned(), "descending")
        } else {
            (key.to_owned(), "none")
        };
        html! { th scope="col" aria-sort=(aria) { a href=(query(f, &[("sort", next), ("page", String::new())])) { (label) @if aria == "ascending" { " ▲" } @if aria == "descending" { " ▼" } } } }
    };
    let pages = list.total.div_ceil(u64::from(list.per_page)).max(1);
    let total_all: u64 = counts.iter().filter(|(s, _)| s != "offline").map(|(_, n)| n).sum();
    layout(
        "Assets",
        Some(user),
        "/assets",
        html! {
            h1 { "Assets" }
            nav.tabs aria-label="Status" {
                a href=(query(f, &[("status", String::new()), ("page", String::new())])) aria-current=[f.status.as_deref().unwrap_or("").is_empty().then_some("true")] { "All (" (total_all) ")" }
                @for (status, n) in counts {
                    a href=(query(f, &[("status", status.clone()), ("page", String::new())])) aria-current=[(f.status.as_deref() == Some(status.as_str())).then_some("true")] { (status.replace('_', " ")) " (" (n) ")" }
                }
            }
            @if f.packages.is_set() {
                p #package-filter.panel {
                    "Hosts with " strong { (package_filter_words(f)) } " · "
                    a href=(query(f, &[("package", String::new()), ("manager", String::new()), ("arch", String::new()),
                        ("version_lt", String::new()), ("version_le", String::new()), ("version_gt", String::new()),
                        ("version_ge", String::new()), ("version_eq", String::new()), ("page", String::new())])) { "all hosts" }
                }
            }
            @if f.more.is_set() {
                p #narrowing.panel {
                    "Filtered by "
                    @for (i, (k, v)) in f.more.pairs().iter().enumerate() {
                        @if i > 0 { ", " }
                        strong { (k.replace('_', " ")) " = " (v) }
                    }
                    " · "
                    @let set = f.more.pairs();
                    @let cleared: Vec<(&str, String)> = set.iter().map(|(k, _)| (k.as_str(), String::new())).collect();
                    a href=(query(f, &[cleared, vec![("page", String::new())]].concat())) { "all hosts" }
                }
            }
            form.filters method="get" action="/assets" role="search" {
                @if let Some(s) = &f.status { input type="hidden" name="status" value=(s); }
                @for (k, v) in f.packages.pairs() { input type="hidden" name=(k) value=(v); }
                @for (k, v) in f.more.pairs().into_iter().filter(|(k, _)| k != "tag" && k != "owner") { input type="hidden" name=(k) value=(v); }
                label for="tag" { "Tag" input #tag type="text" name="tag" value=[f.more.tag.as_deref()] size="12"; }
                label for="owner" { "Owner" input #owner type="text" name="owner" value=[f.more.owner.as_deref()] size="16"; }
                label for="q" { "Hostname, serial, IP or MAC" input #q type="search" name="q" value=[f.q.as_deref()] size="28"; }
                (select("business_unit", "Business unit", &choices.business_units, f.business_unit.as_deref(), "Any"))
                (select("idc", "IDC", &choices.idcs, f.idc.as_deref(), "Any"))
                button type="submit" { "Filter" }
                a href="/assets" { "Reset" }
            }
            p.muted {
                @if list.total_exact { (list.total) " asset(s)" } @else { "More than " (list.total) " assets: narrow the filter" }
                " · Export these: "
                @let filtered = query(f, &[("sort", String::new()), ("page", String::new())]);
                @let filtered = filtered.strip_prefix("/assets").unwrap_or("");
                a #export-csv href={ "/assets/export.csv" (filtered) } download { "CSV" }
                " "
                a #export-xlsx href={ "/assets/export.xlsx" (filtered) } download { "Excel" }
            }
            table {
                thead { tr {
                    (header("Hostname", "hostname")) th scope="col" { "Status" } (header("Serial", "serial_number"))
                    th scope="col" { "Model" } th scope="col" { "IP" } th scope="col" { "BU" } th scope="col" { "IDC / rack" }
                    (header("Last seen", "last_seen"))
                } }
                tbody {
                    @for a in &list.assets {
                        tr {
                            td { a href={ "/assets/" (a["id"]) } { (text(&a["hostname"])) } }
                            td { span class={ "badge " (a["status"].as_str().unwrap_or("")) } { (text(&a["status"]).replace('_', " ")) } }
                            td.mono { (text(&a["serial_number"])) }
                            td { (text(&a["model"])) }
                            td.mono { (a["ips"].as_array().and_then(|i| i.first()).map(text).unwrap_or_else(|| "—".into())) }
                            td { (text(&a["business_unit"])) }
                            td { (text(&a["idc"])) @if !a["rack"].is_null() { " / " (text(&a["rack"])) } }
                            td { (text(&a["last_seen"])) }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages" {
                @if list.page > 1 { a href=(query(f, &[("page", (list.page - 1).to_string())])) rel="prev" { "← Previous" } }
                @if list.total_exact { span { "Page " (list.page) " of " (pages) } } @else { span { "Page " (list.page) } }
                @if u64::from(list.page) < pages || (!list.total_exact && list.assets.len() == list.per_page as usize) {
                    a href=(query(f, &[("page", (list.page + 1).to_string())])) rel="next" { "Next →" }
                }
            }
        },
    )
}

/// Manual entry.
pub fn new_asset(user: &Session, choices: &Choices, error: Option<&str>) -> Markup {
    layout(
        "Enter a host",
        Some(user),
        "/assets/new",
        html! {
            h1 { "Enter a host" }
            p.muted { "The hostname is what SSH and Salt sweeps connect to; until the host reports it is pending." }
            @if let Some(e) = error { div.panel.flash.error role="alert" { (e) } }
            form method="post" action="/assets/new" {
                input type="hidden" name="csrf" value=(user.csrf);
                dl.facts {
                    dt { label for="hostname" { "Hostname (required)" } } dd { input #hostname name="hostname" required size="32"; }
                    dt { label for="serial_number" { "Serial number" } } dd { input #serial_number name="serial_number"; }
                    dt { label for="business_unit" { "Business unit" } } dd { input #business_unit name="business_unit" list="bu-list"; }
                    dt { label for="idc" { "IDC" } } dd { input #idc name="idc" list="idc-list"; }
                    dt { label for="rack" { "Rack" } } dd { input #rack name="rack"; }
                    dt { label for="position" { "Position" } } dd { input #position name="position"; }
                    @if user.role.allows(Role::Admin) {
                        dt { label for="open_enrolment" { "Enrolment" } }
                        dd {
                            input #open_enrolment type="checkbox" name="open_enrolment";
                            " The first report signed with the fleet key that names this host may claim it (otherwise the claim waits for an admin's approval on the Discovered page)"
                        }
                    }
                }
                datalist #bu-list { @for b in &choices.business_units { option value=(b) {} } }
                datalist #idc-list { @for i in &choices.idcs { option value=(i) {} } }
                p { button type="submit" { "Enter host" } }
            }
        },
    )
}

/// The discovered queue with bulk assignment.
pub fn discovered(user: &Session, list: &AssetPage, choices: &Choices, waiting: &[Value], msg: Option<&str>) -> Markup {
    let assign = user.role.allows(Role::Operator);
    let table = html! {
                table {
                    thead { tr {
                        @if assign { th scope="col" { input #select-all type="checkbox" aria-label="Select all"; } }
                        th scope="col" { "Hostname" } th scope="col" { "Serial" } th scope="col" { "Model" } th scope="col" { "IP" } th scope="col" { "Seen" }
                    } }
                    tbody { @for a in &list.assets {
                        tr {
                            @if assign { td { input type="checkbox" name="ids" value=(a["id"]) aria-label={ "Select " (text(&a["hostname"])) }; } }
                            td { a href={ "/assets/" (a["id"]) } { (text(&a["hostname"])) } }
                            td.mono { (text(&a["serial_number"])) }
                            td { (text(&a["model"])) }
                            td.mono { (a["ips"].as_array().and_then(|i| i.first()).map(text).unwrap_or_else(|| "—".into())) }
                            td { (text(&a["first_seen"])) }
                        }
                    } }
                }
    };
    layout(
        "Discovered",
        Some(user),
        "/discovered",
        html! {
            h1 { "Discovered assets (" (list.total) ")" }
            p.muted { "New hosts waiting for a business unit, an IDC and a rack. Assigning all three puts them online." }
            (flash(msg))
            (claims(user, waiting))
            @if !assign { (table) } @else {
            form method="post" action="/discovered" {
                input type="hidden" name="csrf" value=(user.csrf);
                fieldset.panel {
                    legend { "Assign the selected assets" }
                    div.filters {
                        (select("business_unit", "Business unit", &choices.business_units, None, "—"))
                        (select("idc", "IDC", &choices.idcs, None, "—"))
                        label for="rack" { "Rack" input #rack name="rack" size="8"; }
                        label for="position" { "Position" input #position name="position" size="8"; }
                        button type="submit" { "Assign" }
                    }
                }
                (table)
            }
            }
        },
    )
}

/// Hosts entered by hand that a fleet-key report tried to claim: each waits for an admin.
fn claims(user: &Session, waiting: &[Value]) -> Markup {
    let approve = user.role.allows(Role::Admin);
    html! {
        @if !waiting.is_empty() {
            section #claims {
                h2 { "Claims waiting for approval (" (waiting.len()) ")" }
                p.muted {
                    "Hosts entered by hand that a report signed with the fleet key named. Approve a claim when the "
                    "reported serial and name are the machine you expect; the host's next report binds it."
                }
                table {
                    thead { tr {
                        th scope="col" { "Host" } th scope="col" { "Reported serial" } th scope="col" { "Reported name" }
                        th scope="col" { "Via" } th scope="col" { "Requests" } th scope="col" { "Last" }
                        @if approve { th scope="col" { span.skip { "Action" } } }
                    } }
                    tbody { @for w in waiting {
                        @let r = &w["claim_request"];
                        tr {
                            td { a href={ "/assets/" (w["id"]) } { (text(&w["hostname"])) } }
                            td.mono { (text(&r["serial_number"])) }
                            td { (text(&r["hostname"])) }
                            td { (text(&r["mode"])) }
                            td { (text(&r["count"])) }
                            td { (text(&r["at"])) }
                            @if approve { td { form.inline method="post" action={ "/assets/" (w["id"]) "/approve" } {
                                input type="hidden" name="csrf" value=(user.csrf);
                                button.secondary type="submit" { "Approve" }
                            } } }
                        }
                    } }
                }
            }
        }
    }
}
