//! GPUs: keyed by serial where nvidia-smi gives one (a card moved to another slot is the
//! same card), else by PCI address; placed by PCI address, so a new serial there is a
//! replacement.

use assetkit_core::model::Facts;

use crate::domain::components::component::{Component, dedup, section};

/// The GPUs, if the facts carry them.
pub fn extract(facts: &Facts) -> Option<Vec<Component>> {
    let list = facts
        .gpus
        .as_ref()?
        .iter()
        .map(|g| Component {
            kind: "gpu",
            key: match &g.serial_number {
                Some(sn) => format!("sn:{sn}"),
                None => format!("pci:{}", g.pci_address),
            },
            position: Some(g.pci_address.clone()),
            data: section(g),
        })
        .collect();
    Some(dedup(list))
}
