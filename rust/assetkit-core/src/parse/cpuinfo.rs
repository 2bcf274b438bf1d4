//! `/proc/cpuinfo` -> processor topology and model, across x86, ARM, POWER, SPARC, Alpha, MIPS
//! and IA-64 layouts.

use std::collections::BTreeSet;

use super::leading_u64;
use crate::placeholder::clean;

/// What cpuinfo tells, before SMBIOS fills the gaps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuInfo {
    /// Model name.
    pub model: Option<String>,
    /// Vendor id.
    pub vendor: Option<String>,
    /// Distinct `physical id` values; `None` when the kernel does not print them.
    pub sockets: Option<u32>,
    /// Distinct (physical id, core id) pairs, or sockets x `cpu cores`.
    pub physical_cores: Option<u32>,
    /// Logical processors.
    pub logical_cores: Option<u32>,
    /// Nominal MHz from the model name ("@ 2.40GHz").
    pub nominal_mhz: Option<u32>,
    /// Current MHz as the kernel last saw it (`cpu MHz`, `clock`, `cycle frequency`).
    pub current_mhz: Option<u32>,
    /// The `hypervisor` CPU flag is set: we run in a VM.
    pub hypervisor_flag: bool,
}

/// Parses cpuinfo text. Unknown layouts yield `CpuInfo::default()`.
pub fn parse(text: &str) -> CpuInfo {
    let mut info = CpuInfo::default();
    let mut logical = 0u32;
    let mut physical_ids = BTreeSet::new();
    let mut cores = BTreeSet::new();
    let mut current_physical: Option<String> = None;
    let mut cores_per_socket: Option<u32> = None;
    let mut arm_part: Option<(String, String)> = None;
    let mut ncpus_active: Option<u32> = None;
    let (mut model_name, mut cpu_model, mut cpu_line, mut old_arm, mut family) = (None, None, None, None, None);

    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            if line.trim().is_empty() {
                current_physical = None;
            }
            continue;
        };
        let key = key.trim();
        let value = value.trim();
        match key {
            "processor" if value.chars().all(|c| c.is_ascii_digit()) && !value.is_empty() => logical += 1,
            "Processor" => old_arm = old_arm.or_else(|| clean(value)),
            "model name" => model_name = model_name.or_else(|| clean(value)),
            "cpu model" => cpu_model = cpu_model.or_else(|| clean(value)),
            "cpu" => cpu_line = cpu_line.or_else(|| clean(value)),
            "family" => family = family.or_else(|| clean(value)),
            "vendor_id" | "vendor" => info.vendor = info.vendor.take().or_else(|| clean(value)),
            "physical id" => {
                physical_ids.insert(value.to_owned());
                current_physical = Some(value.to_owned());
            }
            "core id" => {
                cores.insert((current_physical.clone().unwrap_or_default(), value.to_owned()));
            }
            "cpu cores" => cores_per_socket = cores_per_socket.or(leading_u64(value).map(|n| n as u32)),
            "cpu MHz" | "clock" if info.current_mhz.is_none() => {
                info.current_mhz =
                    value.split(['.', 'M']).next().and_then(|n| n.trim().parse().ok()).filter(|n| *n > 0);
            }
            "cycle frequency [Hz]" => {
                info.current_mhz =
                    info.current_mhz.or(leading_u64(value).map(|hz| (hz / 1_000_000) as u32)).filter(|n| *n > 0);
            }
            "Cpu0ClkTck" => {
                info.current_mhz = info
                    .current_mhz
                    .or(u64::from_str_radix(value, 16).ok().map(|hz| (hz / 1_000_000) as u32))
                    .filter(|n| *n > 0);
            }
            "ncpus active" | "cpus active" => ncpus_active = leading_u64(value).map(|n| n as u32),
            "CPU implementer" => arm_part = Some((value.to_owned(), arm_part.map(|p| p.1).unwrap_or_default())),
            "CPU part" => arm_part = Some((arm_part.map(|p| p.0).unwrap_or_default(), value.to_owned())),
            "flags" | "Features" if value.split_whitespace().any(|f| f == "hypervisor") => {
                info.hypervisor_flag = true;
            }
            _ => {}
        }
    }

    info.model = model_name
        .or(cpu_model)
        .or(cpu_line)
        .or(old_arm)
        .or(family)
        .or_else(|| arm_part.as_ref().and_then(|(imp, part)| arm_core_name(imp, part)).map(str::to_owned));
    info.logical_cores = match (logical, ncpus_active) {
        (0, Some(n)) => Some(n),
        (0, None) if info.model.is_some() => Some(1),
        (0, None) => None,
        (n, _) => Some(n),
    };
    if !physical_ids.is_empty() {
        info.sockets = Some(physical_ids.len() as u32);
    }
    info.physical_cores = if !cores.is_empty() {
        Some(cores.len() as u32)
    } else {
        match (info.sockets, cores_per_socket) {
            (Some(s), Some(c)) => Some(s * c),
            _ => None,
        }
    };
    info.nominal_mhz = info.model.as_deref().and_then(nominal_mhz_from_model);
    info
}

/// "Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz" -> 2600.
pub fn nominal_mhz_from_model(model: &str) -> Option<u32> {
    let at = model.rfind('@')?;
    let rest = model[at + 1..].trim();
    let number: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let value: f64 = number.parse().ok()?;
    let unit = rest[number.len()..].trim().to_ascii_lowercase();
    let mhz = if unit.starts_with("ghz") {
        value * 1000.0
    } else if unit.starts_with("mhz") {
        value
    } else {
        return None;
    };
    (1.0..100_000.0).contains(&mhz).then(|| mhz.round() as u32)
}

/// Core names for ARM's own implementer id 0x41 (ARM64 kernels print no model name).
fn arm_core_name(implementer: &str, part: &str) -> Option<&'static str> {
    if implementer != "0x41" {
        return None;
    }
    Some(match part {
        "0xc07" => "ARM Cortex-A7",
        "0xc09" => "ARM Cortex-A9",
        "0xc0f" => "ARM Cortex-A15",
        "0xd03" => "ARM Cortex-A53",
        "0xd04" => "ARM Cortex-A35",
        "0xd05" => "ARM Cortex-A55",
        "0xd07" => "ARM Cortex-A57",
        "0xd08" => "ARM Cortex-A72",
        "0xd09" => "ARM Cortex-A73",
        "0xd0a" => "ARM Cortex-A75",
        "0xd0b" => "ARM Cortex-A76",
        "0xd0c" => "ARM Neoverse-N1",
        "0xd0d" => "ARM Cortex-A77",
        "0xd40" => "ARM Neoverse-V1",
        "0xd41" => "ARM Cortex-A78",
        "0xd49" => "ARM Neoverse-N2",
        "0xd4f" => "ARM Neoverse-V2",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nominal_from_model_name() {
        assert_eq!(nominal_mhz_from_model("Intel(R) Xeon(R) CPU E7520  @ 1.87GHz"), Some(1870));
        assert_eq!(nominal_mhz_from_model("AMD EPYC 7302 16-Core Processor"), None);
        assert_eq!(nominal_mhz_from_model("Pentium @ 800MHz"), Some(800));
    }
}
