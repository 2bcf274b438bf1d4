//! Disks: keyed by serial, else World Wide Name, else slot, else kernel name; placed by slot,
//! else name. A drive without a serial but with a WWN keeps its history when it moves, and a
//! new WWN in its slot is a replacement (`diff::place`).

use assetkit_core::model::Facts;

use crate::domain::components::component::{Component, dedup, section};

/// The disks, if the facts carry them.
pub fn extract(facts: &Facts) -> Option<Vec<Component>> {
    let list = facts
        .disks
        .as_ref()?
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let position = d.slot.clone().or_else(|| d.name.clone());
            let key = match (&d.serial_number, &d.wwn, &position) {
                (Some(sn), _, _) => format!("sn:{sn}"),
                (None, Some(wwn), _) => format!("wwn:{wwn}"),
                (None, None, Some(p)) => format!("at:{p}"),
                (None, None, None) => format!("#{i}"),
            };
            Component { kind: "disk", key, position, data: section(d) }
        })
        .collect();
    Some(dedup(list))
}
