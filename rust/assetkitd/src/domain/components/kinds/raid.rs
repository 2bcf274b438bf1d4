//! RAID controllers and their logical drives, two kinds of components.

use assetkit_core::model::Facts;

use crate::domain::components::component::{Component, dedup, section};
use assetkit_core::model::RaidController;
use serde_json::Value;

/// The RAID controllers and logical drives, if the facts carry them.
pub fn extract(facts: &Facts) -> Option<(Vec<Component>, Vec<Component>)> {
    facts.raid_controllers.as_deref().map(raid)
}

/// RAID controllers keyed by serial, else by the tool's number for them ("#0"), and placed by
/// that number; their logical drives keyed by the controller's key and the drive's number, and
/// placed as "0/1" (controller 0, drive 1). A controller's component leaves its logical drives
/// out: they are components of their own.
fn raid(controllers: &[RaidController]) -> (Vec<Component>, Vec<Component>) {
    let mut list = Vec::new();
    let mut drives = Vec::new();
    for c in controllers {
        let key = match &c.serial_number {
            Some(sn) => format!("sn:{sn}"),
            None => format!("#{}", c.id),
        };
        let mut data = section(c);
        data.remove("logical_drives");
        list.push(Component { kind: "raid_controller", key: key.clone(), position: Some(c.id.clone()), data });
        for ld in &c.logical_drives {
            let mut data = section(ld);
            data.insert("controller".to_owned(), Value::String(c.id.clone()));
            drives.push(Component {
                kind: "logical_drive",
                key: format!("{key}/{}", ld.id),
                position: Some(format!("{}/{}", c.id, ld.id)),
                data,
            });
        }
    }
    (dedup(list), dedup(drives))
}
