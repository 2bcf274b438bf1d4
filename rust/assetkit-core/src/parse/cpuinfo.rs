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
    /// Sockets x `cpu cores`, or the distinct (physical id, core id) pairs when they are more;
    /// one per processor in a VM whose cpuinfo has no topology at all.
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
    let mut siblings_seen = false;
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
            "siblings" => siblings_seen = true,
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
    // An offline CPU is missing from cpuinfo, and so is its core when all its threads are
    // offline; `cpu cores` still counts every core of the package.
    let per_package = match (info.sockets, cores_per_socket) {
        (Some(s), Some(c)) => s.checked_mul(c),
        _ => None,
    };
    let listed = (!cores.is_empty()).then_some(cores.len() as u32);
    let no_topology = physical_ids.is_empty() && cores.is_empty() && cores_per_socket.is_none() && !siblings_seen;
    info.physical_cores = match (listed, per_package) {
        (Some(l), Some(p)) => Some(l.max(p)),
        (Some(n), None) | (None, Some(n)) => Some(n),
        // A hypervisor that shows no topology gives each vCPU its own core.
        (None, None) if info.hypervisor_flag && no_topology => info.logical_cores,
        (None, None) => None,
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

    /// One `/proc/cpuinfo` entry in the x86 layout, topology fields included.
    fn x86_processor(n: u32, socket: u32, core: u32, cores_per_socket: u32, siblings: u32) -> String {
        format!(
            "processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz\n\
             physical id\t: {socket}\nsiblings\t: {siblings}\ncore id\t\t: {core}\ncpu cores\t: {cores_per_socket}\n\
             flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic ht\n\n"
        )
    }

    #[test]
    fn offline_cpus_do_not_hide_their_cores() {
        // 2 sockets x 4 cores x 2 threads, as Linux lists them (threads of one core 8 apart).
        let all: Vec<(u32, u32, u32)> = (0..16).map(|n| (n, (n % 8) / 4, n % 4)).collect::<Vec<_>>();
        let whole: String = all.iter().map(|(n, s, c)| x86_processor(*n, *s, *c, 4, 8)).collect();
        let info = parse(&whole);
        assert_eq!((info.sockets, info.physical_cores, info.logical_cores), (Some(2), Some(8), Some(16)));
        // `echo 0 > /sys/devices/system/cpu/cpuN/online` for both threads of cores 2 and 3 of
        // socket 1 (CPUs 6, 7, 14, 15): their entries vanish, the cores are still there.
        let online: String = all
            .iter()
            .filter(|(n, _, _)| ![6, 7, 14, 15].contains(n))
            .map(|(n, s, c)| x86_processor(*n, *s, *c, 4, 8))
            .collect();
        let info = parse(&online);
        assert_eq!((info.sockets, info.physical_cores, info.logical_cores), (Some(2), Some(8), Some(12)));
    }

    #[test]
    fn a_vm_without_topology_has_one_core_per_processor() {
        let vcpu = |n: u32| {
            format!(
                "processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: QEMU Virtual CPU version 2.5+\nflags\t\t: fpu de pse tsc hypervisor lahf_lm\n\n"
            )
        };
        let info = parse(&(0..4).map(vcpu).collect::<String>());
        assert_eq!((info.physical_cores, info.logical_cores), (Some(4), Some(4)));
        // Bare metal without topology fields (old ARM, POWER) stays unknown: SMT may hide there.
        let bare = "processor\t: 0\nmodel name\t: ARMv7 Processor rev 4 (v7l)\n\nprocessor\t: 1\nmodel name\t: ARMv7 Processor rev 4 (v7l)\n";
        assert_eq!(parse(bare).physical_cores, None);
    }

    #[test]
    fn nominal_from_model_name() {
        assert_eq!(nominal_mhz_from_model("Intel(R) Xeon(R) CPU E7520  @ 1.87GHz"), Some(1870));
        assert_eq!(nominal_mhz_from_model("AMD EPYC 7302 16-Core Processor"), None);
        assert_eq!(nominal_mhz_from_model("Pentium @ 800MHz"), Some(800));
    }
}
