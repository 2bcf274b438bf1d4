//! Memory modules: keyed by slot, and by bank and slot ("P1/D11") where the report repeats
//! a slot name across banks.

use std::collections::HashMap;

use assetkit_core::model::Facts;

use crate::domain::components::component::{Component, dedup, section};

/// The memory modules, if the facts carry them.
pub fn extract(facts: &Facts) -> Option<Vec<Component>> {
    let modules = facts.memory.as_ref()?.modules.as_ref()?;
    let mut slots: HashMap<&str, usize> = HashMap::new();
    for slot in modules.iter().filter_map(|m| m.slot.as_deref()) {
        *slots.entry(slot).or_default() += 1;
    }
    let mut list = Vec::new();
    for (i, module) in modules.iter().enumerate() {
        let key = match (&module.slot, &module.bank) {
            (Some(slot), Some(bank)) if slots[slot.as_str()] > 1 => format!("{}/{slot}", bank_name(bank)),
            (Some(slot), _) => slot.clone(),
            (None, _) => format!("#{i}"),
        };
        list.push(Component { kind: "memory_module", key: key.clone(), position: Some(key), data: section(module) });
    }
    Some(dedup(list))
}

/// The short name of a bank for a key: the last part of a path ("/SYS/MB/P1" -> "P1"), else
/// the whole name ("P0 CHANNEL A").
fn bank_name(bank: &str) -> &str {
    bank.rsplit('/').find(|part| !part.trim().is_empty()).unwrap_or(bank)
}
