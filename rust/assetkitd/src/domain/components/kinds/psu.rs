//! Power supplies: keyed by location, else by name (when no other unit has it), else by
//! their place in the table ("#2").

use std::collections::HashMap;

use assetkit_core::model::Facts;

use crate::domain::components::component::{Component, dedup, section};

/// The power supplies, if the facts carry them.
pub fn extract(facts: &Facts) -> Option<Vec<Component>> {
    let psus = facts.power_supplies.as_ref()?;
    let mut names: HashMap<&str, usize> = HashMap::new();
    for name in psus.iter().filter_map(|p| p.name.as_deref()) {
        *names.entry(name).or_default() += 1;
    }
    let list = psus
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // Identical units often share a name ("PWR SPLY,750W,RDNT,EMSN"): then only their
            // place in the table tells them apart.
            let key = p
                .location
                .clone()
                .or_else(|| p.name.clone().filter(|n| names[n.as_str()] == 1))
                .unwrap_or_else(|| format!("#{}", i + 1));
            Component { kind: "psu", key: key.clone(), position: Some(key), data: section(p) }
        })
        .collect();
    Some(dedup(list))
}
