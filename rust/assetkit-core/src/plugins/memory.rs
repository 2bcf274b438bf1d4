//! `memory`: total from /proc/meminfo, modules from SMBIOS type 17. Empty slots are counted in
//! `slots` but are not modules; devices of arrays that are not system memory (the BIOS flash
//! chip, video or cache memory: type 16's Use) are neither.

use super::{CollectError, Collector, Ctx, Output};
use crate::model::{Memory, MemoryModule};

/// Total memory, slot count and installed modules.
pub struct MemoryCollector;

impl Collector for MemoryCollector {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn describe(&self) -> &'static str {
        "total, slots and modules (slot, bank, size, type, speed, serial) from /proc/meminfo and SMBIOS types 16 and 17"
    }
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError> {
        let os_visible_bytes = ctx.source.text("/proc/meminfo").and_then(|t| mem_total_bytes(&t));
        let state = ctx.smbios();
        let devices: Option<Vec<_>> = state.smbios.as_ref().map(|s| s.system_memory_devices().collect());
        let modules: Option<Vec<MemoryModule>> = devices.as_ref().map(|devs| {
            devs.iter()
                .filter(|d| d.installed)
                .map(|d| MemoryModule {
                    slot: d.locator.clone(),
                    bank: d.bank_locator.clone(),
                    size_bytes: d.size_bytes,
                    r#type: d.memory_type.clone(),
                    speed_mts: d.speed_mts,
                    manufacturer: d.manufacturer.clone(),
                    serial_number: d.serial_number.clone(),
                    part_number: d.part_number.clone(),
                })
                .collect()
        });
        if os_visible_bytes.is_none() && modules.is_none() {
            return Err(CollectError::Missing("/proc/meminfo is unreadable and there is no SMBIOS data".to_owned()));
        }
        let installed: Option<u64> =
            modules.as_ref().filter(|m| !m.is_empty()).map(|m| m.iter().filter_map(|m| m.size_bytes).sum());
        let mut out = Output::default();
        if modules.is_none() && state.smbios.is_none() {
            out.warnings.push("memory modules unknown: no SMBIOS data".to_owned());
        }
        out.facts.memory = Some(Memory {
            total_bytes: installed.or(os_visible_bytes),
            os_visible_bytes,
            slots: devices.as_ref().map(|d| d.len() as u32),
            modules,
        });
        Ok(out)
    }
}

/// `MemTotal:  16318412 kB` -> bytes.
fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}
