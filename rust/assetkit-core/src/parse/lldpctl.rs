//! `lldpctl -f keyvalue` and `lldpctl -f json`: the LLDP neighbour of each interface.
//!
//! Interface names may hold dots ("eth0.100"), so a keyvalue key is split at the first known
//! section name (`chassis`, `port`, `vlan`, ...), not at the first dot. A multi-line value
//! (a Cisco `chassis.descr`) continues on lines without a key.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::LldpNeighbor;
use crate::placeholder::clean_label;

/// Neighbours by local interface name.
pub type Neighbors = BTreeMap<String, LldpNeighbor>;

/// The first part of a keyvalue key after the interface name.
const SECTIONS: &[&str] =
    &["via", "rid", "age", "chassis", "port", "vlan", "ppvid", "pi", "lldp-med", "unknown-tlvs", "dot3", "mfs"];

/// "eth0.100.port.ifname" -> ("eth0.100", "port.ifname").
fn split_key(key: &str) -> Option<(&str, &str)> {
    key.match_indices('.').map(|(at, _)| at).find_map(|at| {
        let field = &key[at + 1..];
        let section = field.split('.').next().unwrap_or("");
        (at > 0 && SECTIONS.contains(&section)).then(|| (&key[..at], field))
    })
}

/// Parses `lldpctl -f keyvalue`. Empty output (no neighbour heard) is no neighbours.
pub fn parse_keyvalue(text: &str) -> Result<Neighbors, String> {
    if text.contains('\0') {
        return Err("lldpctl output is binary, not text".to_owned());
    }
    let mut out = Neighbors::new();
    let mut vlans: BTreeMap<String, Vec<(Option<u16>, bool)>> = BTreeMap::new();
    let mut last_key: Option<String> = None;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some(rest) = line.strip_prefix("lldp.") else {
            // A continuation of a multi-line description; anything else is not lldpctl.
            if last_key.as_deref().is_some_and(|k| k.ends_with("descr")) {
                continue;
            }
            return Err(format!("not lldpctl keyvalue output: {:?}", clip(line)));
        };
        let Some((key, value)) = rest.split_once('=') else {
            return Err(format!("lldpctl output ends mid-line ({:?}): truncated?", clip(line)));
        };
        let cut = i + 1 == lines.len() && !text.ends_with('\n');
        let Some((ifname, field)) = split_key(key) else {
            continue;
        };
        last_key = Some(field.to_owned());
        let known = matches!(
            field,
            "chassis.name"
                | "chassis.mac"
                | "chassis.local"
                | "chassis.ip"
                | "chassis.ifname"
                | "port.ifname"
                | "port.mac"
                | "port.local"
                | "port.descr"
                | "vlan.vlan-id"
                | "vlan.pvid"
        );
        if cut && known {
            return Err(format!("lldpctl output ends mid-line ({:?}): truncated?", clip(line)));
        }
        let n = out.entry(ifname.to_owned()).or_default();
        let value = value.trim();
        match field {
            "chassis.name" => n.chassis_name = clean_label(value),
            "chassis.mac" | "chassis.local" | "chassis.ip" | "chassis.ifname" => {
                n.chassis_id = n.chassis_id.take().or_else(|| clean_label(value));
            }
            "port.ifname" | "port.mac" | "port.local" => n.port_id = n.port_id.take().or_else(|| clean_label(value)),
            "port.descr" => n.port_description = clean_label(value),
            "vlan.vlan-id" => vlans.entry(ifname.to_owned()).or_default().push((value.parse().ok(), false)),
            "vlan.pvid" if value == "yes" => {
                if let Some(last) = vlans.get_mut(ifname).and_then(|v| v.last_mut()) {
                    last.1 = true;
                }
            }
            _ => {}
        }
    }
    for (ifname, list) in vlans {
        if let Some(n) = out.get_mut(&ifname) {
            // The PVID when one is marked, else the first VLAN.
            n.vlan_id = list.iter().find(|v| v.1).or(list.first()).and_then(|v| v.0);
        }
    }
    Ok(out)
}

/// Parses `lldpctl -f json` (lldpd 0.9 and later): one interface is an object, several are a
/// list of one-key objects.
pub fn parse_json(text: &str) -> Result<Neighbors, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("lldpctl JSON is invalid: {e}"))?;
    let lldp = root.get("lldp").ok_or("lldpctl JSON has no \"lldp\" object")?;
    let mut out = Neighbors::new();
    let interfaces: Vec<(&String, &Value)> = match lldp.get("interface") {
        None => return Ok(out),
        Some(Value::Object(map)) => map.iter().collect(),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_object).flat_map(|m| m.iter()).collect(),
        Some(_) => return Err("lldpctl JSON: \"interface\" is neither an object nor a list".to_owned()),
    };
    for (ifname, iface) in interfaces {
        let mut n = LldpNeighbor::default();
        if let Some(chassis) = iface.get("chassis").and_then(Value::as_object) {
            // {"sw1": {"id": ...}} when the switch sends a name, else {"id": ...}.
            let (name, body) = match chassis.get("id") {
                Some(_) => (None, Some(chassis)),
                None => match chassis.iter().next() {
                    Some((name, body)) => (Some(name.as_str()), body.as_object()),
                    None => (None, None),
                },
            };
            n.chassis_name = name.and_then(clean_label);
            n.chassis_id = body.and_then(|b| b.get("id")).and_then(id_value);
        }
        if let Some(port) = iface.get("port") {
            n.port_id = port.get("id").and_then(id_value);
            n.port_description = port.get("descr").and_then(Value::as_str).and_then(clean_label);
        }
        let vlans: Vec<&Value> = match iface.get("vlan") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => Vec::new(),
        };
        let vlan_id = |v: &Value| match v.get("vlan-id") {
            Some(Value::String(s)) => s.parse::<u16>().ok(),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            _ => None,
        };
        let pvid = |v: &&&Value| match v.get("pvid") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "yes",
            _ => false,
        };
        n.vlan_id = vlans.iter().find(pvid).or(vlans.first()).and_then(|v| vlan_id(v));
        out.insert(ifname.clone(), n);
    }
    Ok(out)
}

fn id_value(id: &Value) -> Option<String> {
    match id {
        Value::Object(m) => m.get("value").and_then(Value::as_str).and_then(clean_label),
        Value::String(s) => clean_label(s),
        _ => None,
    }
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The `firmware-version:` line of `ethtool -i <if>`; `None` when absent or "N/A".
pub fn ethtool_firmware(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("firmware-version:"))
        .map(str::trim)
        .filter(|v| !v.eq_ignore_ascii_case("n/a"))
        .and_then(clean_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_interface_names_and_vlans() {
        let n = parse_keyvalue(
            "lldp.eth0.100.via=LLDP\nlldp.eth0.100.chassis.name=sw1\nlldp.eth0.100.port.ifname=Eth1/7\n\
             lldp.eth0.100.vlan.vlan-id=100\nlldp.eth0.100.vlan.vlan-id=200\n",
        )
        .unwrap();
        let e = &n["eth0.100"];
        assert_eq!(
            (e.chassis_name.as_deref(), e.port_id.as_deref(), e.vlan_id),
            (Some("sw1"), Some("Eth1/7"), Some(100))
        );
    }

    #[test]
    fn json_one_and_many_interfaces() {
        let one = r#"{"lldp":{"interface":{"eth0":{"via":"LLDP","chassis":{"sw-b12":{"id":{"type":"mac","value":"00:11:22:33:44:55"}}},"port":{"id":{"type":"ifname","value":"Gi1/0/17"},"descr":"uplink"},"vlan":{"vlan-id":"140","pvid":true}}}}}"#;
        let n = parse_json(one).unwrap();
        assert_eq!(
            n["eth0"],
            LldpNeighbor {
                chassis_name: Some("sw-b12".into()),
                chassis_id: Some("00:11:22:33:44:55".into()),
                port_id: Some("Gi1/0/17".into()),
                port_description: Some("uplink".into()),
                vlan_id: Some(140),
            }
        );
        let many = r#"{"lldp":{"interface":[{"eth0":{"chassis":{"id":{"type":"mac","value":"aa"}},"port":{"id":{"value":"1"}}}},{"eth1":{"port":{"id":{"value":"2"}},"vlan":[{"vlan-id":"10"},{"vlan-id":"20","pvid":true}]}}]}}"#;
        let n = parse_json(many).unwrap();
        assert_eq!((n["eth0"].chassis_id.as_deref(), n["eth1"].vlan_id), (Some("aa"), Some(20)));
        assert!(parse_json(r#"{"lldp":{}}"#).unwrap().is_empty());
        assert!(parse_json("{\"lldp\": {\"interface\"").is_err());
    }

    #[test]
    fn ethtool() {
        assert_eq!(ethtool_firmware("driver: ixgbe\nfirmware-version: 0x800003e7\n").as_deref(), Some("0x800003e7"));
        assert_eq!(ethtool_firmware("driver: virtio_net\nfirmware-version: \n"), None);
    }
}
