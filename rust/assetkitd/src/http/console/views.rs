//! The console's pages, as maud templates. Plain data in, markup out.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use crate::domain::import::Preview;
use crate::domain::inventory::{AssetFilter, AssetPage, Choices, STATUSES};
use crate::domain::keys::KeyInfo;
use crate::domain::users::{Role, Session, UserInfo};

fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "—".into(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn bytes(v: &Value) -> String {
    v.as_u64().map(crate::domain::components::human_bytes).unwrap_or_else(|| "—".into())
}

pub(super) fn layout(title: &str, user: Option<&Session>, active: &str, body: Markup) -> Markup {
    // Each link with the least role that may use it: a link leads nowhere a role cannot go.
    let nav = [
        ("/", "Dashboard", Role::Viewer),
        ("/assets", "Assets", Role::Viewer),
        ("/discovered", "Discovered", Role::Viewer),
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

fn flash(msg: Option<&str>) -> Markup {
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

/// The login page.
pub fn login(csrf: &str, next: &str, error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        "",
        html! {
            div.login {
                h1 { "Sign in to assetkit" }
                @if let Some(e) = error { div.panel.flash.error role="alert" { (e) } }
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="next" value=(next);
                    label for="username" { "User name" input #username name="username" autocomplete="username" required autofocus; }
                    label for="password" { "Password" input #password type="password" name="password" autocomplete="current-password" required; }
                    button type="submit" { "Sign in" }
                }
                p.muted { "Accounts are created with " code { "assetkitd users create" } "." }
            }
        },
    )
}

fn select(name: &str, label: &str, options: &[String], selected: Option<&str>, any: &str) -> Markup {
    html! {
        label for=(name) { (label)
            select #(name) name=(name) {
                option value="" { (any) }
                @for o in options { option value=(o) selected[selected == Some(o.as_str())] { (o) } }
            }
        }
    }
}

fn query(f: &AssetFilter, overrides: &[(&str, String)]) -> String {
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
            form.filters method="get" action="/assets" role="search" {
                @if let Some(s) = &f.status { input type="hidden" name="status" value=(s); }
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

fn component_table(title: &str, rows: Option<&Vec<Value>>, columns: &[(&str, &str)]) -> Markup {
    html! {
        @if let Some(rows) = rows.filter(|r| !r.is_empty()) {
            h2 { (title) " (" (rows.len()) ")" }
            table {
                thead { tr { @for (_, label) in columns { th scope="col" { (label) } } } }
                tbody { @for r in rows { tr { @for (key, _) in columns {
                    td class=[key.contains("serial").then_some("mono")] {
                        @if key.ends_with("bytes") { (bytes(&r[*key])) } @else if let Some(b) = r[*key].as_bool() {
                            (if b { "yes" } else { "no" })
                        } @else if *key == "addresses" || *key == "lldp" || *key == "members" {
                            (crate::domain::components::render(&r[*key]).filter(|s| !s.is_empty()).unwrap_or_else(|| "—".into()))
                        } @else { (text(&r[*key])) }
                    }
                } } } }
            }
        }
    }
}

/// One asset.
pub fn asset(user: &Session, a: &Value, changes: &[Value], choices: &Choices, msg: Option<&str>) -> Markup {
    let c = &a["components"];
    let first = |kind: &str| c[kind].as_array().and_then(|l| l.first()).cloned().unwrap_or(Value::Null);
    let (system, cpu, memory, os, bios) = (first("system"), first("cpu"), first("memory"), first("os"), first("bios"));
    let title = a["hostname"].as_str().or(a["serial_number"].as_str()).unwrap_or("asset").to_owned();
    let status = a["status"].as_str().unwrap_or("");
    layout(
        &title,
        Some(user),
        "/assets",
        html! {
            p { a href="/assets" { "← Assets" } }
            h1 { (title) " " span class={ "badge " (status) } { (status.replace('_', " ")) } }
            (flash(msg))
            @if let Some(m) = a["mismatches"].as_array().filter(|m| !m.is_empty()) {
                div.panel.flash.warn role="alert" { strong { "Purchase list mismatch" } ul { @for x in m { li { (text(x)) } } } }
            }
            div.grid {
                section aria-labelledby="facts" {
                    h2 #facts { "Facts" }
                    dl.facts {
                        dt { "Serial number" } dd.mono { (text(&a["serial_number"])) }
                        dt { "UUID" } dd.mono { (text(&a["uuid"])) }
                        dt { "Manufacturer" } dd { (text(&a["manufacturer"])) }
                        dt { "Model" } dd { (text(&a["model"])) }
                        dt { "Virtual" } dd { @if a["virtual"] == true { "yes" (system["hypervisor"].as_str().map(|h| format!(" ({h})")).unwrap_or_default()) } @else { "no" } }
                        dt { "OS" } dd { (text(&a["os"])) " · kernel " (text(&os["kernel"])) }
                        dt { "BIOS" } dd { (text(&bios["vendor"])) " " (text(&bios["version"])) }
                        dt { "CPU" } dd { (text(&cpu["model"])) " · " (text(&cpu["sockets"])) " socket(s), " (text(&cpu["physical_cores"])) " cores, " (text(&cpu["logical_cores"])) " threads" }
                        dt { "Memory" } dd { (bytes(&memory["total_bytes"])) @if let Some(n) = memory["slots"].as_u64() { " in " (n) " slots" } }
                        dt { "IPs" } dd.mono { (text(&a["ips"])) }
                        dt { "MACs" } dd.mono { (text(&a["macs"])) }
                        dt { "Reports as" } dd { (text(&a["reported_hostname"])) " via " (text(&a["last_mode"])) }
                        dt { "First seen" } dd { (text(&a["first_seen"])) }
                        dt { "Last seen" } dd { (text(&a["last_seen"])) }
                    }
                }
                section aria-labelledby="placement" {
                    h2 #placement { "Placement" }
                    @if !user.role.allows(Role::Operator) {
                        dl.facts #placement-facts {
                            dt { "Hostname" } dd { (text(&a["hostname"])) }
                            dt { "Business unit" } dd { (text(&a["business_unit"])) }
                            dt { "IDC" } dd { (text(&a["idc"])) }
                            dt { "Rack" } dd { (text(&a["rack"])) }
                            dt { "Position" } dd { (text(&a["position"])) }
                        }
                    } @else {
                    form method="post" action={ "/assets/" (a["id"]) } {
                        input type="hidden" name="csrf" value=(user.csrf);
                        dl.facts {
                            dt { label for="hostname" { "Hostname" } } dd { input #hostname name="hostname" value=[a["hostname"].as_str()] size="30"; }
                            dt { label for="business_unit" { "Business unit" } } dd { input #business_unit name="business_unit" list="bu-list" value=[a["business_unit"].as_str()]; }
                            dt { label for="idc" { "IDC" } } dd { input #idc name="idc" list="idc-list" value=[a["idc"].as_str()]; }
                            dt { label for="rack" { "Rack" } } dd { input #rack name="rack" value=[a["rack"].as_str()]; }
                            dt { label for="position" { "Position" } } dd { input #position name="position" value=[a["position"].as_str()]; }
                            dt { label for="status" { "Status" } } dd {
                                select #status name="status" { @for s in STATUSES { option value=(s) selected[status == *s || (status == "offline" && *s == "online")] { (s.replace('_', " ")) } } }
                            }
                        }
                        datalist #bu-list { @for b in &choices.business_units { option value=(b) {} } }
                        datalist #idc-list { @for i in &choices.idcs { option value=(i) {} } }
                        p { button type="submit" { "Save" } " " span.muted { "Renaming here is the rename hosts accept: their cert files follow." } }
                    }
                    }
                }
            }
            section aria-labelledby="credential" {
                h2 #credential { "Credential" }
                @let enrolment = a["enrolment"].as_str().unwrap_or("none");
                p #enrolment {
                    span class={ "badge enrolment-" (enrolment) } { (enrolment) } " "
                    @match enrolment {
                        "enrolled" => { "Only this host's own credential writes this asset" @if let Some(k) = a["credential"]["key_id"].as_str() { " (" span.mono { (k) } ", issued " (text(&a["credential"]["issued_at"])) ")" } "." }
                        "reenrol" => { "The next report signed with a fleet key binds a new credential." }
                        "revoked" => { "The credential is revoked: reports are refused until a re-enrolment is allowed." }
                        _ => { "No credential yet: the next report signed with a fleet key enrols this host." }
                    }
                }
                @if user.role.allows(Role::Admin) {
                div.actions {
                    form.inline method="post" action={ "/assets/" (a["id"]) "/reenrol" } {
                        input type="hidden" name="csrf" value=(user.csrf);
                        button.secondary #reenrol type="submit" { "Allow re-enrolment" }
                    }
                    " "
                    form.inline method="post" action={ "/assets/" (a["id"]) "/revoke" } {
                        input type="hidden" name="csrf" value=(user.csrf);
                        button.danger #revoke type="submit" { "Revoke credential" }
                    }
                }
                p.muted { "Use re-enrolment for a reinstalled host or a lost credential; revoke a credential you no longer trust." }
                }
            }
            (component_table("Memory modules", c["memory_module"].as_array(), &[("slot", "Slot"), ("bank", "Bank"), ("size_bytes", "Size"), ("type", "Type"), ("speed_mts", "MT/s"), ("manufacturer", "Manufacturer"), ("serial_number", "Serial"), ("part_number", "Part")]))
            (component_table("Disks", c["disk"].as_array(), &[("slot", "Slot"), ("name", "Device"), ("model", "Model"), ("size_bytes", "Size"), ("serial_number", "Serial"), ("interface", "Interface"), ("state", "State"), ("source", "Source")]))
            (component_table("RAID controllers", c["raid_controller"].as_array(), &[("id", "Controller"), ("model", "Model"), ("serial_number", "Serial"), ("firmware", "Firmware"), ("cache_bytes", "Cache"), ("battery", "Battery / CacheVault"), ("status", "Status"), ("source", "Tool")]))
            (component_table("Logical drives", c["logical_drive"].as_array(), &[("controller", "Controller"), ("id", "Drive"), ("name", "Name"), ("raid_level", "RAID level"), ("size_bytes", "Size"), ("state", "State"), ("members", "Members")]))
            (component_table("NICs", c["nic"].as_array(), &[("name", "Name"), ("mac", "MAC"), ("up", "Up"), ("speed_mbps", "Mb/s"), ("driver", "Driver"), ("firmware", "Firmware"), ("addresses", "Addresses"), ("lldp", "Switch port (LLDP)")]))
            (component_table("BMC", c["bmc"].as_array(), &[("ip_address", "Address"), ("ip_source", "Source"), ("netmask", "Netmask"), ("gateway", "Gateway"), ("mac", "MAC"), ("vlan_id", "VLAN"), ("firmware", "Firmware"), ("manufacturer", "Manufacturer"), ("board_serial", "Board serial"), ("product_serial", "Product serial")]))
            (component_table("Fibre Channel HBA ports", c["fc_hba"].as_array(), &[("host", "Host"), ("port_wwn", "Port WWN"), ("node_wwn", "Node WWN"), ("port_state", "State"), ("speed", "Speed")]))
            (component_table("GPUs and accelerators", c["gpu"].as_array(), &[("pci_address", "PCI address"), ("vendor", "Vendor"), ("model", "Model"), ("vendor_id", "Vendor ID"), ("device_id", "Device ID"), ("driver", "Driver"), ("serial_number", "Serial"), ("uuid", "UUID"), ("firmware", "VBIOS")]))
            (component_table("Power supplies", c["psu"].as_array(), &[("location", "Location"), ("name", "Name"), ("manufacturer", "Manufacturer"), ("part_number", "Part"), ("serial_number", "Serial"), ("max_power_w", "Max W"), ("present", "Present"), ("status", "Status"), ("hot_replaceable", "Hot-swap")]))
            @if let Some(errors) = a["errors"].as_array().filter(|e| !e.is_empty()) {
                h2 { "Plugin errors in the last report" }
                ul { @for e in errors { li { strong { (text(&e["plugin"])) } ": " (text(&e["message"])) } } }
            }
            h2 #timeline { "Change timeline (" (a["change_count"]) ")" }
            ol.timeline aria-labelledby="timeline" {
                @for ch in changes {
                    li {
                        time datetime=(text(&ch["at"])) { (text(&ch["at"])) }
                        span class={ "kind-" (ch["kind"].as_str().unwrap_or("")) } { (text(&ch["summary"])) }
                        @if let Some(actor) = ch["actor"].as_str() { span.muted { " — " (actor) } }
                    }
                }
            }
            @if !a["last_report"].is_null() {
                details {
                    summary { "Raw last report (the last one that changed something)" }
                    pre.raw.mono { (serde_json::to_string_pretty(&a["last_report"]).unwrap_or_default()) }
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
pub fn discovered(user: &Session, list: &AssetPage, choices: &Choices, msg: Option<&str>) -> Markup {
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

/// Purchase-list import: upload, preview with row errors, apply.
pub fn import(user: &Session, preview: Option<&Preview>, token: Option<&str>, msg: Option<&str>) -> Markup {
    layout(
        "Import",
        Some(user),
        "/import",
        html! {
            h1 { "Purchase-list import" }
            p.muted { "Columns: SN, Vendor, Model, CPU, Memory, Disks, IDC, Rack, Position, Purchase date, Warranty end. Rows become assets in stock; the first report with a matching serial links to them." }
            (flash(msg))
            form method="post" action="/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(user.csrf);
                div.filters {
                    label for="file" { "File (.xlsx or .csv)" input #file type="file" name="file" accept=".xlsx,.csv,text/csv" required; }
                    label for="encoding" { "CSV encoding"
                        select #encoding name="encoding" {
                            @for (v, l) in [("auto", "UTF-8 (auto)"), ("gbk", "GBK"), ("gb18030", "GB18030"), ("windows-1252", "Windows-1252"), ("shift_jis", "Shift-JIS")] { option value=(v) { (l) } }
                        }
                    }
                    button type="submit" { "Preview" }
                }
            }
            @if let Some(p) = preview {
                h2 { "Preview of " (p.file) }
                p #import-summary { (p.valid().count()) " row(s) will be imported, " (p.invalid()) " row(s) have errors" @if p.empty_rows > 0 { ", " (p.empty_rows) " empty row(s) skipped" } "." }
                @if !p.ignored_columns.is_empty() { p.muted { "Ignored columns: " (p.ignored_columns.join(", ")) } }
                table #preview {
                    thead { tr { @for h in ["Line", "SN", "Vendor", "Model", "IDC", "Rack", "Position", "Purchased", "Warranty end", "Result"] { th scope="col" { (h) } } } }
                    tbody { @for r in &p.rows {
                        tr {
                            td { (r.line) } td.mono { (r.get("serial_number").unwrap_or("—")) } td { (r.get("vendor").unwrap_or("—")) } td { (r.get("model").unwrap_or("—")) }
                            td { (r.get("idc").unwrap_or("—")) } td { (r.get("rack").unwrap_or("—")) } td { (r.get("position").unwrap_or("—")) }
                            td { (r.get("purchase_date").unwrap_or("—")) } td { (r.get("warranty_end").unwrap_or("—")) }
                            td { @if r.errors.is_empty() { span.row-ok { "ok" } } @else { span.row-error { (r.errors.join("; ")) } } }
                        }
                    } }
                }
                @if let Some(token) = token {
                    form method="post" action="/import/apply" {
                        input type="hidden" name="csrf" value=(user.csrf);
                        input type="hidden" name="token" value=(token);
                        p { button type="submit" disabled[p.valid().count() == 0] { "Import " (p.valid().count()) " row(s)" } " " span.muted { "In one transaction: all of them or none." } }
                    }
                    form method="post" action="/import/cancel" {
                        input type="hidden" name="csrf" value=(user.csrf);
                        input type="hidden" name="token" value=(token);
                        p { button.secondary #import-cancel type="submit" { "Discard this preview" } }
                    }
                }
            }
        },
    )
}

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
                    p { (what) " " code { (id) } " created. Its secret is shown once; store it in a file of mode 0600:" }
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
            (super::webhooks::section(user, data))
            h2 { "Users" }
            ul #users { @for u in &data.people { li { (u.name) " " span class={ "badge role-" (u.role) } { (u.role) } @if let Some(d) = &u.disabled_at { span.muted { " (disabled " (d) ")" } } } } }
            p.muted { "Users are managed with " code { "assetkitd users create|set-role|passwd|disable" } ". Viewers read the inventory; operators also edit assets, assign discovered hosts and import; admins also manage users, keys, webhooks and settings." }
            h2 { "Audit log" }
            table {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "Target" } th { "Detail" } } }
                tbody { @for e in &data.events { tr { td { (text(&e["at"])) } td { (text(&e["actor"])) } td { (text(&e["action"])) } td { (text(&e["target"])) } td { (text(&e["detail"])) } } } }
            }
            (PreEscaped(""))
        },
    )
}
