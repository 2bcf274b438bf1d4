//! Components in words for the change log: what a kind is called, what one is (its model, size
//! and serial), and values as text.

use serde_json::{Map, Value};

/// What a kind is called in a sentence.
pub fn noun(kind: &str) -> &str {
    match kind {
        "memory_module" => "memory module",
        "disk" => "disk",
        "nic" => "NIC",
        "psu" => "PSU",
        "bmc" => "BMC",
        "fc_hba" => "FC HBA",
        "gpu" => "GPU",
        "raid_controller" => "RAID controller",
        "logical_drive" => "logical drive",
        "custom" => "custom fact",
        other => other,
    }
}

/// "memory module P1/D11", "PSU #2"; a power supply whose label already says what it is ("PSU
/// 2", "Power Supply 1") goes by its label alone.
pub fn subject(kind: &str, label: &str) -> String {
    let lower = label.to_ascii_lowercase();
    if label.is_empty() {
        return noun(kind).to_owned();
    }
    if kind == "psu" && (lower.starts_with("psu") || lower.starts_with("power supply")) {
        label.to_owned()
    } else {
        format!("{} {label}", noun(kind))
    }
}

/// What a BMC field is called in an event: "BMC address 10.0.0.5 → 10.0.0.6".
pub fn bmc_field(field: &str) -> &str {
    match field {
        "ip_address" => "address",
        "ip_source" => "address source",
        "mac" => "MAC",
        "vlan_id" => "VLAN",
        "board_serial" => "board serial",
        "product_serial" => "product serial",
        other => other,
    }
}

/// A value as text for the change log: strings bare, addresses as "a/p, ...", an LLDP
/// neighbour as "sw-b12 port Gi1/0/17 (VLAN 140)", null as None.
pub fn render(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Object(m) if m.contains_key("port_id") && m.contains_key("chassis_id") => {
            let s = |k: &str| m.get(k).and_then(Value::as_str);
            let switch = s("chassis_name").or(s("chassis_id")).unwrap_or("unknown switch");
            let port = s("port_id").or(s("port_description")).unwrap_or("?");
            let vlan = m.get("vlan_id").and_then(Value::as_u64).map(|v| format!(" (VLAN {v})")).unwrap_or_default();
            Some(format!("{switch} port {port}{vlan}"))
        }
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| match (i.get("address"), i.get("prefix_len")) {
                    (Some(Value::String(a)), Some(p)) => format!("{a}/{p}"),
                    _ => render(i).unwrap_or_default(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        other => Some(other.to_string()),
    }
}

/// One component in a few words: its model, size and serial (or its first fields).
pub fn describe(kind: &str, data: &Map<String, Value>) -> String {
    let s = |k: &str| data.get(k).and_then(render);
    let size = data.get("size_bytes").and_then(Value::as_u64).map(human_bytes);
    let parts: Vec<String> = match kind {
        "memory_module" => {
            [size, s("type"), s("serial_number").map(|x| format!("serial {x}"))].into_iter().flatten().collect()
        }
        "disk" => {
            let id = s("serial_number").map(|x| format!("serial {x}")).or_else(|| s("wwn").map(|x| format!("WWN {x}")));
            [s("model"), size, id].into_iter().flatten().collect()
        }
        "nic" => [s("mac"), s("addresses").filter(|a| !a.is_empty())].into_iter().flatten().collect(),
        "raid_controller" => [
            s("model"),
            s("firmware").map(|x| format!("firmware {x}")),
            s("serial_number").map(|x| format!("serial {x}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        "logical_drive" => [s("raid_level"), size, s("state")].into_iter().flatten().collect(),
        "bmc" => {
            [s("ip_address"), s("mac"), s("firmware").map(|x| format!("firmware {x}"))].into_iter().flatten().collect()
        }
        "fc_hba" => [s("port_wwn"), s("port_state"), s("speed")].into_iter().flatten().collect(),
        "gpu" => [s("model").or(s("device_id")), s("pci_address"), s("serial_number").map(|x| format!("serial {x}"))]
            .into_iter()
            .flatten()
            .collect(),
        "psu" => [
            s("manufacturer"),
            s("part_number"),
            data.get("max_power_w").and_then(Value::as_u64).map(|w| format!("{w} W")),
            s("serial_number").map(|x| format!("serial {x}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        _ => data.iter().take(3).filter_map(|(k, v)| render(v).map(|r| format!("{k}={r}"))).collect(),
    };
    if parts.is_empty() { "no details".to_owned() } else { parts.join(", ") }
}

/// 17179869184 -> "16 GiB".
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if (v - v.round()).abs() < 0.05 {
        format!("{} {}", v.round() as u64, UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
