//! One file per component kind: how its components are keyed and placed.

use std::collections::BTreeMap;

use assetkit_core::model::Facts;

use crate::domain::components::component::Component;

pub mod custom;
pub mod disk;
pub mod fc_hba;
pub mod gpu;
pub mod memory;
pub mod nic;
pub mod psu;
pub mod raid;
pub mod sections;

/// Components per kind for the sections present in `facts`; absent sections are absent here.
pub fn extract(facts: &Facts) -> BTreeMap<&'static str, Vec<Component>> {
    let mut out: BTreeMap<&'static str, Vec<Component>> = sections::extract(facts).into_iter().collect();
    let lists = [
        ("memory_module", memory::extract(facts)),
        ("psu", psu::extract(facts)),
        ("fc_hba", fc_hba::extract(facts)),
        ("gpu", gpu::extract(facts)),
        ("disk", disk::extract(facts)),
        ("nic", nic::extract(facts)),
        ("custom", custom::extract(facts)),
    ];
    out.extend(lists.into_iter().filter_map(|(kind, list)| list.map(|l| (kind, l))));
    if let Some((controllers, drives)) = raid::extract(facts) {
        out.insert("raid_controller", controllers);
        out.insert("logical_drive", drives);
    }
    out
}

/// Where a stored component sits (as [`extract`] placed it), read back from its key and data.
pub fn stored_position(kind: &str, key: &str, data: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    match kind {
        "disk" => data.get("slot").or(data.get("name")).and_then(|v| v.as_str()).map(str::to_owned),
        "nic" => data.get("name").and_then(|v| v.as_str()).map(str::to_owned),
        "memory_module" | "psu" | "custom" => Some(key.to_owned()),
        "fc_hba" => data.get("host").and_then(|v| v.as_str()).map(str::to_owned),
        "gpu" => data.get("pci_address").and_then(|v| v.as_str()).map(str::to_owned),
        "raid_controller" => data.get("id").and_then(|v| v.as_str()).map(str::to_owned),
        "logical_drive" => {
            match (data.get("controller").and_then(|v| v.as_str()), data.get("id").and_then(|v| v.as_str())) {
                (Some(controller), Some(id)) => Some(format!("{controller}/{id}")),
                _ => None,
            }
        }
        _ => None,
    }
}
