//! What one report may carry, checked before it reaches the writer.
//!
//! A real server has at most a few hundred DIMMs and a few thousand disks. A report beyond these
//! bounds is refused whole (422, the limit named) before any work is queued, so one host cannot
//! hold the single writer for seconds.

use assetkit_core::model::Report;

/// Most memory modules in one report.
pub const MAX_MEMORY_MODULES: usize = 1024;
/// Most disks in one report.
pub const MAX_DISKS: usize = 4096;
/// Most NICs in one report (container hosts carry many veths).
pub const MAX_NICS: usize = 4096;
/// Most addresses on one NIC.
pub const MAX_ADDRESSES_PER_NIC: usize = 1024;
/// Most power supplies in one report (a blade chassis reports a few dozen).
pub const MAX_POWER_SUPPLIES: usize = 256;
/// Most Fibre Channel HBA ports in one report.
pub const MAX_FC_HBAS: usize = 256;
/// Most GPUs and accelerators in one report.
pub const MAX_GPUS: usize = 256;
/// Most RAID controllers in one report.
pub const MAX_RAID_CONTROLLERS: usize = 64;
/// Most logical drives on one RAID controller.
pub const MAX_LOGICAL_DRIVES_PER_CONTROLLER: usize = 256;
/// Most member drives of one logical drive.
pub const MAX_LOGICAL_DRIVE_MEMBERS: usize = 1024;
/// Most custom facts in one report.
pub const MAX_CUSTOM_FACTS: usize = 256;
/// Most plugin errors, and most warnings, in one report.
pub const MAX_MESSAGES: usize = 256;
/// Most components of all kinds in one report.
pub const MAX_COMPONENTS: usize = 8192;

/// A report over one of the limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} has {count} entries; the limit is {limit}")]
pub struct OverLimit {
    /// JSON path of the offending list.
    pub field: String,
    /// Entries it has.
    pub count: usize,
    /// Entries allowed.
    pub limit: usize,
}

fn at_most(field: &str, count: usize, limit: usize) -> Result<(), OverLimit> {
    if count > limit { Err(OverLimit { field: field.to_owned(), count, limit }) } else { Ok(()) }
}

/// Checks every list of `report` against its limit.
pub fn check(report: &Report) -> Result<(), OverLimit> {
    let f = &report.facts;
    let modules = f.memory.as_ref().and_then(|m| m.modules.as_ref()).map_or(0, Vec::len);
    let disks = f.disks.as_ref().map_or(0, Vec::len);
    let nics = f.nics.as_ref().map_or(0, Vec::len);
    let psus = f.power_supplies.as_ref().map_or(0, Vec::len);
    let fc_hbas = f.fc_hbas.as_ref().map_or(0, Vec::len);
    let gpus = f.gpus.as_ref().map_or(0, Vec::len);
    let bmc = usize::from(f.bmc.is_some());
    let controllers = f.raid_controllers.as_ref().map_or(0, Vec::len);
    let logical_drives: usize = f.raid_controllers.iter().flatten().map(|c| c.logical_drives.len()).sum();
    at_most("facts.memory.modules", modules, MAX_MEMORY_MODULES)?;
    at_most("facts.disks", disks, MAX_DISKS)?;
    at_most("facts.nics", nics, MAX_NICS)?;
    at_most("facts.power_supplies", psus, MAX_POWER_SUPPLIES)?;
    at_most("facts.fc_hbas", fc_hbas, MAX_FC_HBAS)?;
    at_most("facts.gpus", gpus, MAX_GPUS)?;
    at_most("facts.raid_controllers", controllers, MAX_RAID_CONTROLLERS)?;
    for (i, c) in f.raid_controllers.iter().flatten().enumerate() {
        let field = format!("facts.raid_controllers[{i}].logical_drives");
        at_most(&field, c.logical_drives.len(), MAX_LOGICAL_DRIVES_PER_CONTROLLER)?;
        for (j, ld) in c.logical_drives.iter().enumerate() {
            at_most(&format!("{field}[{j}].members"), ld.members.len(), MAX_LOGICAL_DRIVE_MEMBERS)?;
        }
    }
    for (i, nic) in f.nics.iter().flatten().enumerate() {
        at_most(&format!("facts.nics[{i}].addresses"), nic.addresses.len(), MAX_ADDRESSES_PER_NIC)?;
    }
    at_most("facts.custom", f.custom.len(), MAX_CUSTOM_FACTS)?;
    at_most("errors", report.errors.len(), MAX_MESSAGES)?;
    at_most("warnings", report.warnings.len(), MAX_MESSAGES)?;
    at_most(
        "facts (components of all kinds)",
        modules + disks + nics + psus + controllers + logical_drives + fc_hbas + gpus + bmc + f.custom.len(),
        MAX_COMPONENTS,
    )
}
