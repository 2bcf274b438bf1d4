//! Fibre Channel HBA ports: keyed by port WWN, placed by SCSI host.

use assetkit_core::model::Facts;

use crate::domain::components::component::{Component, dedup, section};

/// The FC HBA ports, if the facts carry them.
pub fn extract(facts: &Facts) -> Option<Vec<Component>> {
    let list = facts
        .fc_hbas
        .as_ref()?
        .iter()
        .map(|h| Component {
            kind: "fc_hba",
            key: h.port_wwn.clone().unwrap_or_else(|| format!("host:{}", h.host)),
            position: Some(h.host.clone()),
            data: section(h),
        })
        .collect();
    Some(dedup(list))
}
