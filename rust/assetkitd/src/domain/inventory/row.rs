//! An asset as the API, the console and the exports show it: the columns read, the JSON made
//! of them (the effective status, offline included), components grouped by kind.

use serde_json::{Value, json};

use crate::domain::error::Result;
use crate::store::{Row, rfc3339};

/// Statuses an admin may set. "offline" is derived ([`super::presence`]).
pub const STATUSES: &[&str] = &["discovered", "online", "in_stock", "retired"];

/// The columns an asset answer is made of (`a` is the asset, `bu` and `idc` its names).
pub const ASSET_COLUMNS: &str = "a.id, a.hostname, a.serial_number, a.status, a.manufacturer, a.model, a.os, a.ips, a.macs, \
    bu.name, idc.name, a.rack, a.position, a.last_seen, a.virtual, a.reported_hostname, a.last_mode, a.cpu_model, \
    a.cpu_cores, a.memory_bytes, a.uuid, a.first_seen, a.source, a.created_at, a.mismatches, a.purchase, a.enrolment, \
    a.claim, a.claim_request, a.owner_name, a.owner_email, a.purchase_date, a.warranty_end, a.hypervisor_id, \
    a.cloud_provider, a.cloud_instance_id, a.cloud_instance_type";

/// An asset row (of [`ASSET_COLUMNS`]) as JSON; assets in service last seen before
/// `offline_cutoff` show as offline ([`super::presence`]).
pub fn asset_json(r: &Row, offline_cutoff: i64) -> Result<Value> {
    let status: String = r.get(3)?;
    let last_seen: Option<i64> = r.get(13)?;
    let effective = super::presence::shown_status(status, last_seen, offline_cutoff);
    Ok(json!({
        "id": r.get::<i64>(0)?,
        "hostname": r.get::<Option<String>>(1)?,
        "serial_number": r.get::<Option<String>>(2)?,
        "status": effective,
        "manufacturer": r.get::<Option<String>>(4)?,
        "model": r.get::<Option<String>>(5)?,
        "os": r.get::<Option<String>>(6)?,
        "ips": r.get::<Option<String>>(7)?.map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>()).unwrap_or_default(),
        "macs": r.get::<Option<String>>(8)?.map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>()).unwrap_or_default(),
        "business_unit": r.get::<Option<String>>(9)?,
        "idc": r.get::<Option<String>>(10)?,
        "rack": r.get::<Option<String>>(11)?,
        "position": r.get::<Option<String>>(12)?,
        "last_seen": last_seen.map(rfc3339),
        "virtual": r.get::<bool>(14)?,
        "reported_hostname": r.get::<Option<String>>(15)?,
        "last_mode": r.get::<Option<String>>(16)?,
        "cpu_model": r.get::<Option<String>>(17)?,
        "cpu_cores": r.get::<Option<i64>>(18)?,
        "memory_bytes": r.get::<Option<i64>>(19)?,
        "uuid": r.get::<Option<String>>(20)?,
        "first_seen": r.get::<Option<i64>>(21)?.map(rfc3339),
        "source": r.get::<String>(22)?,
        "created_at": rfc3339(r.get::<i64>(23)?),
        "mismatches": r.get::<Option<String>>(24)?.and_then(|m| serde_json::from_str::<Value>(&m).ok()).unwrap_or(Value::Array(vec![])),
        "purchase": r.get::<Option<String>>(25)?.and_then(|m| serde_json::from_str::<Value>(&m).ok()),
        "enrolment": r.get::<String>(26)?,
        "claim": r.get::<Option<String>>(27)?,
        "claim_request": r.get::<Option<String>>(28)?.and_then(|m| serde_json::from_str::<Value>(&m).ok()),
        "owner": match (r.get::<Option<String>>(29)?, r.get::<Option<String>>(30)?) {
            (None, None) => Value::Null,
            (name, email) => json!({"name": name, "email": email}),
        },
        "purchase_date": r.get::<Option<String>>(31)?,
        "warranty_end": r.get::<Option<String>>(32)?,
        "hypervisor_id": r.get::<Option<i64>>(33)?,
        "cloud": match r.get::<Option<String>>(34)? {
            None => Value::Null,
            Some(provider) => json!({"provider": provider, "instance_id": r.get::<Option<String>>(35)?,
                                     "instance_type": r.get::<Option<String>>(36)?}),
        },
    }))
}

/// Components by kind, each list in natural order of its slot or name (DIMM_A2 before DIMM_A10,
/// 32:2 before 32:10), each item with its identity key as `_key`.
pub fn group_components(rows: Vec<(String, String, String)>) -> Value {
    let mut components = serde_json::Map::new();
    for (kind, key, data) in rows {
        let mut data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut data
            && !key.is_empty()
        {
            m.insert("_key".into(), Value::String(key));
        }
        let entry = components.entry(kind).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(data);
        }
    }
    for list in components.values_mut() {
        if let Value::Array(items) = list {
            items.sort_by_cached_key(|c| {
                let label = ["slot", "name", "_key"]
                    .iter()
                    .find_map(|k| c.get(*k).and_then(Value::as_str))
                    .unwrap_or("")
                    .to_owned();
                natural_key(&label)
            });
        }
    }
    Value::Object(components)
}

/// Splits digits from the rest so that "A10" sorts after "A2".
pub fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                out.push((std::mem::take(&mut text), digits.parse().unwrap_or(u64::MAX)));
                digits.clear();
            }
            text.push(c);
        }
    }
    out.push((text, digits.parse().unwrap_or(0)));
    out
}
