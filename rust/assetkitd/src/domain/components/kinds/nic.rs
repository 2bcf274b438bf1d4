//! NICs: keyed by name and MAC, placed by name. The LLDP neighbour is one of a NIC's fields.

use assetkit_core::model::Facts;

use crate::domain::components::component::{Component, dedup, section};

/// The NICs, if the facts carry them.
pub fn extract(facts: &Facts) -> Option<Vec<Component>> {
    let list = facts
        .nics
        .as_ref()?
        .iter()
        .map(|n| Component {
            kind: "nic",
            key: format!("{}/{}", n.name, n.mac.as_deref().unwrap_or("-")),
            position: Some(n.name.clone()),
            data: section(n),
        })
        .collect();
    Some(dedup(list))
}
