//! The single sections (os, system, baseboard, bios, cpu, memory, bmc): one component each,
//! with an empty key.

use assetkit_core::model::Facts;

use crate::domain::components::component::{Component, section};

/// The single sections the facts carry, each as one component.
pub fn extract(facts: &Facts) -> Vec<(&'static str, Vec<Component>)> {
    let single = |kind: &'static str, mut data: serde_json::Map<String, serde_json::Value>| {
        if kind == "memory" {
            data.remove("modules");
        }
        (kind, vec![Component { kind, key: String::new(), position: None, data }])
    };
    let mut out = Vec::new();
    if let Some(v) = &facts.os {
        out.push(single("os", section(v)));
    }
    if let Some(v) = &facts.system {
        out.push(single("system", section(v)));
    }
    if let Some(v) = &facts.baseboard {
        out.push(single("baseboard", section(v)));
    }
    if let Some(v) = &facts.bios {
        out.push(single("bios", section(v)));
    }
    if let Some(v) = &facts.cpu {
        out.push(single("cpu", section(v)));
    }
    if let Some(v) = &facts.memory {
        out.push(single("memory", section(v)));
    }
    if let Some(v) = &facts.bmc {
        out.push(single("bmc", section(v)));
    }
    out
}
