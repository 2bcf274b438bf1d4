//! One asset's page: facts, placement (editable by operators), credential (admins act on it),
//! components, plugin errors, the change timeline and the raw last report.

use maud::{Markup, html};
use serde_json::Value;

use super::layout::{bytes, flash, layout, text};
use crate::domain::inventory::{Choices, STATUSES};
use crate::domain::users::{Role, Session};

/// One asset.
pub fn asset(user: &Session, a: &Value, changes: &[Value], choices: &Choices, msg: Option<&str>) -> Markup {
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
                (facts(a))
                (placement(user, a, choices))
            }
            (super::ownership::ownership(user, a))
            (credential(user, a))
            nav.tabs aria-label="Sections" {
                a href="#components" { "Components" }
                a href="#packages" { "Packages (" (a["packages"]["count"]) ")" }
                a href="#timeline" { "Change timeline" }
            }
            div #components { (components(a)) }
            (packages(a))
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

fn first(a: &Value, kind: &str) -> Value {
    a["components"][kind].as_array().and_then(|l| l.first()).cloned().unwrap_or(Value::Null)
}

fn facts(a: &Value) -> Markup {
    let (system, cpu, memory, os, bios) =
        (first(a, "system"), first(a, "cpu"), first(a, "memory"), first(a, "os"), first(a, "bios"));
    html! {
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
    }
}

fn placement(user: &Session, a: &Value, choices: &Choices) -> Markup {
    let status = a["status"].as_str().unwrap_or("");
    html! {
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
}

fn credential(user: &Session, a: &Value) -> Markup {
    html! {
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
        @if a["claim"] == "approval" {
            p #claim {
                "Entered by hand: a report signed with a fleet key claims this host only after an admin approves."
                @if let Some(q) = a["claim_request"].as_object() {
                    " A claim waits: serial " span.mono { (text(&q["serial_number"])) } " signed by " span.mono { (text(&q["key_id"])) } " at " (text(&q["at"])) " (" (text(&q["count"])) " tries)."
                }
            }
            @if user.role.allows(Role::Admin) {
                form.inline method="post" action={ "/assets/" (a["id"]) "/approve" } {
                    input type="hidden" name="csrf" value=(user.csrf);
                    button #approve type="submit" { "Approve the claim" }
                }
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
    }
}

fn components(a: &Value) -> Markup {
    let c = &a["components"];
    html! {
    (component_table("Memory modules", c["memory_module"].as_array(), &[("slot", "Slot"), ("bank", "Bank"), ("size_bytes", "Size"), ("type", "Type"), ("speed_mts", "MT/s"), ("manufacturer", "Manufacturer"), ("serial_number", "Serial"), ("part_number", "Part")]))
    (component_table("Disks", c["disk"].as_array(), &[("slot", "Slot"), ("name", "Device"), ("model", "Model"), ("size_bytes", "Size"), ("serial_number", "Serial"), ("wwn", "WWN"), ("interface", "Interface"), ("state", "State"), ("source", "Source")]))
    (component_table("RAID controllers", c["raid_controller"].as_array(), &[("id", "Controller"), ("model", "Model"), ("serial_number", "Serial"), ("firmware", "Firmware"), ("cache_bytes", "Cache"), ("battery", "Battery / CacheVault"), ("status", "Status"), ("source", "Tool")]))
    (component_table("Logical drives", c["logical_drive"].as_array(), &[("controller", "Controller"), ("id", "Drive"), ("name", "Name"), ("raid_level", "RAID level"), ("size_bytes", "Size"), ("state", "State"), ("members", "Members")]))
    (component_table("NICs", c["nic"].as_array(), &[("name", "Name"), ("mac", "MAC"), ("up", "Up"), ("speed_mbps", "Mb/s"), ("driver", "Driver"), ("firmware", "Firmware"), ("addresses", "Addresses"), ("lldp", "Switch port (LLDP)")]))
    (component_table("BMC", c["bmc"].as_array(), &[("ip_address", "Address"), ("ip_source", "Source"), ("netmask", "Netmask"), ("gateway", "Gateway"), ("mac", "MAC"), ("vlan_id", "VLAN"), ("firmware", "Firmware"), ("manufacturer", "Manufacturer"), ("board_serial", "Board serial"), ("product_serial", "Product serial")]))
    (component_table("Fibre Channel HBA ports", c["fc_hba"].as_array(), &[("host", "Host"), ("port_wwn", "Port WWN"), ("node_wwn", "Node WWN"), ("port_state", "State"), ("speed", "Speed")]))
    (component_table("GPUs and accelerators", c["gpu"].as_array(), &[("pci_address", "PCI address"), ("vendor", "Vendor"), ("model", "Model"), ("vendor_id", "Vendor ID"), ("device_id", "Device ID"), ("driver", "Driver"), ("serial_number", "Serial"), ("uuid", "UUID"), ("firmware", "VBIOS")]))
    (component_table("Power supplies", c["psu"].as_array(), &[("location", "Location"), ("name", "Name"), ("manufacturer", "Manufacturer"), ("part_number", "Part"), ("serial_number", "Serial"), ("max_power_w", "Max W"), ("present", "Present"), ("status", "Status"), ("hot_replaceable", "Hot-swap")]))
    }
}

/// One package change: "upgraded openssl 3.0.11-1 → 3.0.13-1", "installed curl 7.88.1-10".
fn change_line(c: &Value) -> String {
    let (kind, name) = (c["kind"].as_str().unwrap_or(""), c["name"].as_str().unwrap_or(""));
    let (old, new) = (c["old"].as_str().unwrap_or(""), c["new"].as_str().unwrap_or(""));
    match kind {
        "installed" => format!("installed {name} {new}"),
        "removed" => format!("removed {name} {old}"),
        _ => format!("{kind} {name} {old} → {new}"),
    }
}

/// The installed packages (collapsed: a host has hundreds) and their history, newest first.
fn packages(a: &Value) -> Markup {
    let list = a["packages"]["packages"].as_array().cloned().unwrap_or_default();
    html! {
        section #packages aria-labelledby="packages-title" {
            h2 #packages-title { "Packages (" (list.len()) ")" }
            @if list.is_empty() {
                p.muted { "No package list yet: the packages plugin reports dpkg, rpm and apk databases." }
            } @else {
                details #package-list {
                    summary { "Installed packages" }
                    table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Version" } th scope="col" { "Arch" } th scope="col" { "Manager" } th scope="col" { "Source" } } }
                        tbody { @for p in &list { tr {
                            @let (name, manager) = (p["name"].as_str().unwrap_or(""), p["manager"].as_str().unwrap_or(""));
                            td { a href=(super::software::link(&[("package", name), ("manager", manager)])) { (name) } }
                            td.mono { (text(&p["version"])) } td { (text(&p["arch"])) } td { (text(&p["manager"])) } td { (text(&p["source"])) }
                        } } }
                    }
                }
            }
            h3 { "Package history" }
            ol #package-history.timeline {
                @for h in a["package_history"].as_array().into_iter().flatten() {
                    li {
                        time datetime=(text(&h["at"])) { (text(&h["at"])) } " " (text(&h["summary"]))
                        @if let Some(changes) = h["changes"].as_array().filter(|c| c.len() > 1) {
                            details { summary { (changes.len()) " changes" }
                                ul { @for c in changes { li.mono { (change_line(c)) } } }
                            }
                        }
                    }
                }
            }
        }
    }
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
