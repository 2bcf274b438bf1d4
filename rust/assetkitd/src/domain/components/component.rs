//! A component as stored: its kind, its stable key within the asset, where it sits, and its
//! facts; and the two rules every kind shares (a section's JSON as an object, one key per
//! component).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// One component as stored: kind, identity key, a human label and its data.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// "memory_module", "disk", "nic", "os", ...
    pub kind: &'static str,
    /// Stable identity key within (asset, kind).
    pub key: String,
    /// Where it sits, for people and for pairing replacements: slot, disk name, NIC name, PSU
    /// location.
    pub position: Option<String>,
    /// The facts, as a JSON object.
    pub data: Map<String, Value>,
}

impl Component {
    /// Its data as stored: JSON text.
    pub fn stored_text(&self) -> String {
        serde_json::to_string(&self.data).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// The components of one kind as a report has them, each beside its data as stored. A kind whose
/// stored rows hold exactly these keys and texts is unchanged: [`Reported::is_stored`] finds that
/// by comparing text, without parsing what is stored (most of a changing report's kinds are
/// unchanged).
#[derive(Debug, Clone, Default)]
pub struct Reported {
    /// The components, as extracted.
    pub components: Vec<Component>,
    /// Each one's [`Component::stored_text`], in the same order.
    pub texts: Vec<String>,
}

impl Reported {
    /// `components` with their stored texts.
    pub fn of(components: Vec<Component>) -> Reported {
        let texts = components.iter().map(Component::stored_text).collect();
        Reported { components, texts }
    }

    /// True when `stored` (key and data text per row) holds exactly these components: each
    /// stored row matched once, by key, with the same text.
    pub fn is_stored(&self, stored: &[(String, String)]) -> bool {
        if stored.len() != self.components.len() {
            return false;
        }
        let mut by_key: HashMap<&str, &str> = stored.iter().map(|(k, t)| (k.as_str(), t.as_str())).collect();
        self.components
            .iter()
            .zip(&self.texts)
            .all(|(c, text)| by_key.remove(c.key.as_str()).is_some_and(|t| t == text))
    }
}

/// The component kinds a report's sections map to, with whether each is a list.
pub const KINDS: &[&str] = &[
    "os",
    "system",
    "baseboard",
    "bios",
    "cpu",
    "memory",
    "memory_module",
    "disk",
    "nic",
    "psu",
    "bmc",
    "fc_hba",
    "gpu",
    "raid_controller",
    "logical_drive",
    "custom",
];

/// Two components with one key (two disks reporting the same serial, say): keep the first and
/// make the others unique (`key~2`, `key~3`, ...) so nothing is silently merged. Linear in the
/// number of components: each key remembers the next suffix to try.
pub fn dedup(list: Vec<Component>) -> Vec<Component> {
    let mut seen: HashSet<String> = list.iter().map(|c| c.key.clone()).collect();
    if seen.len() == list.len() {
        return list;
    }
    seen.clear();
    let mut next_suffix: HashMap<String, usize> = HashMap::new();
    list.into_iter()
        .map(|mut c| {
            if !seen.insert(c.key.clone()) {
                let n = next_suffix.entry(c.key.clone()).or_insert(2);
                while seen.contains(&format!("{}~{n}", c.key)) {
                    *n += 1;
                }
                c.key = format!("{}~{n}", c.key);
                *n += 1;
                seen.insert(c.key.clone());
            }
            c
        })
        .collect()
}

/// `v` as a JSON object (empty when it is anything else).
pub fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A model section as a JSON object (empty when it serialises to anything else).
pub fn section<T: serde::Serialize>(v: &T) -> Map<String, Value> {
    object(serde_json::to_value(v).unwrap_or(Value::Null))
}
