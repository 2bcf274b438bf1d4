//! Custom facts: one component each, keyed by the plugin's name.

use assetkit_core::model::Facts;

use crate::domain::components::component::Component;
use serde_json::{Map, Value};

/// The custom facts, if there are any.
pub fn extract(facts: &Facts) -> Option<Vec<Component>> {
    if facts.custom.is_empty() {
        return None;
    }
    let list = facts
        .custom
        .iter()
        .map(|(name, value)| {
            let data = match value {
                Value::Object(map) => map.clone(),
                other => Map::from_iter([("value".to_owned(), other.clone())]),
            };
            Component { kind: "custom", key: name.clone(), position: Some(name.clone()), data }
        })
        .collect();
    Some(list)
}
