//! What is said of a report's facts as a whole.

use super::Facts;

impl Facts {
    /// The facts but the package list, its digest and its delta, which are left out rather than
    /// copied (a list is 1,500 packages). Every other field is named, so that a field added to
    /// `Facts` must be added here too.
    pub fn without_packages(&self) -> Facts {
        let Facts {
            os,
            system,
            baseboard,
            bios,
            cpu,
            memory,
            disks,
            raid_controllers,
            nics,
            power_supplies,
            bmc,
            fc_hbas,
            gpus,
            packages: _,
            packages_digest: _,
            packages_delta: _,
            guests,
            cloud,
            custom,
        } = self;
        Facts {
            os: os.clone(),
            system: system.clone(),
            baseboard: baseboard.clone(),
            bios: bios.clone(),
            cpu: cpu.clone(),
            memory: memory.clone(),
            disks: disks.clone(),
            raid_controllers: raid_controllers.clone(),
            nics: nics.clone(),
            power_supplies: power_supplies.clone(),
            bmc: bmc.clone(),
            fc_hbas: fc_hbas.clone(),
            gpus: gpus.clone(),
            packages: None,
            packages_digest: None,
            packages_delta: None,
            guests: guests.clone(),
            cloud: cloud.clone(),
            custom: custom.clone(),
        }
    }
}
