//! The tools the live host runs, each only where its hardware is: dmidecode where the kernel
//! exposes no SMBIOS table, MegaCli, storcli/perccli, ssacli and arcconf where their
//! controller's driver is bound, ipmitool where an IPMI device exists, lldpctl while lldpd runs,
//! nvme-cli where an NVMe controller is, nvidia-smi where the NVIDIA driver is loaded, smartctl
//! when enabled and root, `rpm -qa` where an rpm database exists (the packages plugin asks only
//! when no reader knows the database's format). Everything else comes from files.
//!
//! Pure functions of the [`LiveOptions`]: the live source calls them, they know nothing of it.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::command::{CommandError, find_program, run_with_timeout};
use crate::source::raw::{DEFAULT_PLUGINS_DIR, sorted_names};

/// Options for reading the live host.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Directory of custom plugin executables.
    pub plugins_dir: PathBuf,
    /// Deadline for each external command and custom plugin.
    pub command_timeout: Duration,
    /// Run `smartctl -j -i` per disk (needs root; off by default, sysfs usually suffices).
    pub smartctl: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            plugins_dir: PathBuf::from(DEFAULT_PLUGINS_DIR),
            command_timeout: Duration::from_secs(10),
            smartctl: false,
        }
    }
}

/// `<name> <readlink -f /sys/block/name>` per block device.
pub(super) fn readlink_sys_block() -> io::Result<Vec<u8>> {
    let mut out = String::new();
    for name in sorted_names(Path::new("/sys/block"))? {
        if let Ok(target) = std::fs::canonicalize(format!("/sys/block/{name}")) {
            out.push_str(&format!("{name} {}\n", target.display()));
        }
    }
    Ok(out.into_bytes())
}

/// dmidecode, MegaCli, nvme-cli, nvidia-smi.
pub(super) fn device_tool(options: &LiveOptions, name: &str) -> io::Result<Vec<u8>> {
    match name {
        // Only where the kernel does not expose the SMBIOS table (pre-4.2 kernels, some
        // containers): dmidecode then reads /dev/mem, which needs root.
        "dmidecode" => {
            if !is_root() {
                return Err(not_found("dmidecode (needs root)"));
            }
            let program = find_program(&["/usr/sbin/dmidecode", "/sbin/dmidecode", "/usr/bin/dmidecode"])
                .ok_or_else(|| not_found("dmidecode"))?;
            spawn(options, &program, &[])
        }
        "megacli-pdlist" => {
            if !megaraid_present() {
                return Err(not_found("MegaRAID controller"));
            }
            let program = find_program(&[
                "/opt/MegaRAID/MegaCli/MegaCli64",
                "/opt/MegaRAID/MegaCli/MegaCli",
                "/usr/sbin/MegaCli64",
                "/usr/sbin/MegaCli",
                "/usr/sbin/megacli",
                "/usr/bin/MegaCli64",
                "/usr/bin/megacli",
            ])
            .ok_or_else(|| not_found("MegaCli"))?;
            spawn(options, &program, &["-PDList", "-aALL", "-NoLog"])
        }
        // Only asked for when sysfs lacks an NVMe disk's model, serial or firmware.
        "nvme-list-json" => {
            if !Path::new("/sys/class/nvme").is_dir() {
                return Err(not_found("NVMe controller"));
            }
            let program = find_program(&["/usr/sbin/nvme", "/usr/bin/nvme", "/sbin/nvme"])
                .ok_or_else(|| not_found("nvme-cli"))?;
            spawn(options, &program, &["list", "-o", "json"])
        }
        // GPU serials and UUIDs, only where the NVIDIA driver is loaded and nvidia-smi installed.
        "nvidia-smi-q-x" => {
            if !Path::new("/proc/driver/nvidia/version").exists() {
                return Err(not_found("NVIDIA driver"));
            }
            let program = find_program(&["/usr/bin/nvidia-smi", "/usr/sbin/nvidia-smi", "/bin/nvidia-smi"])
                .ok_or_else(|| not_found("nvidia-smi"))?;
            spawn(options, &program, &["-q", "-x"])
        }
        other => Err(not_found(other)),
    }
}

/// ipmitool (the BMC) and lldpctl (the switch ports).
pub(super) fn management_tool(options: &LiveOptions, name: &str) -> io::Result<Vec<u8>> {
    match name {
        // The BMC, only where an IPMI device node exists and ipmitool is installed.
        "ipmitool-lan-print" => {
            let program = ipmitool()?;
            // Channel 1 is the LAN channel of most BMCs; HP iLO answers on channel 2.
            let first = spawn(options, &program, &["lan", "print", "1"]);
            match first {
                Ok(out) if crate::parse::ipmitool::lan_is_useful(&out) => Ok(out),
                first => spawn(options, &program, &["lan", "print", "2"]).or(first),
            }
        }
        "ipmitool-fru-print" => spawn(options, &ipmitool()?, &["fru", "print"]),
        "ipmitool-mc-info" => spawn(options, &ipmitool()?, &["mc", "info"]),
        // LLDP neighbours, only while lldpd runs (its control socket exists).
        "lldpctl-json" | "lldpctl-keyvalue" => {
            if !["/run/lldpd.socket", "/var/run/lldpd.socket"].iter().any(|p| Path::new(p).exists()) {
                return Err(not_found("lldpd"));
            }
            let program = find_program(&["/usr/sbin/lldpctl", "/usr/bin/lldpctl", "/sbin/lldpctl"])
                .ok_or_else(|| not_found("lldpctl"))?;
            let format = if name == "lldpctl-json" { "json" } else { "keyvalue" };
            spawn(options, &program, &["-f", format])
        }
        other => Err(not_found(other)),
    }
}

/// storcli, perccli, ssacli, arcconf.
pub(super) fn raid_tool(options: &LiveOptions, name: &str) -> io::Result<Vec<u8>> {
    match name {
        // RAID controller tools, each only where its controller's driver is bound and the
        // tool is installed.
        "storcli-show-all-json" | "storcli-drives-json" | "perccli-show-all-json" | "perccli-drives-json" => {
            if !pci_driver_bound(&["megaraid_sas", "mpi3mr"]) {
                return Err(not_found("MegaRAID or PERC controller"));
            }
            let program = if name.starts_with("storcli") {
                find_program(STORCLI).ok_or_else(|| not_found("storcli"))?
            } else {
                find_program(PERCCLI).ok_or_else(|| not_found("perccli"))?
            };
            let target = if name.ends_with("-drives-json") { "/call/eall/sall" } else { "/call" };
            spawn(options, &program, &[target, "show", "all", "J"])
        }
        "ssacli-config-detail" => {
            if !pci_driver_bound(&["hpsa", "smartpqi", "cciss"]) {
                return Err(not_found("Smart Array controller"));
            }
            let program = find_program(SSACLI).ok_or_else(|| not_found("ssacli, hpssacli or hpacucli"))?;
            spawn(options, &program, &["ctrl", "all", "show", "config", "detail"])
        }
        other if other.starts_with("arcconf-getconfig-") => {
            let number = other["arcconf-getconfig-".len()..]
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| not_found(other))?;
            if !pci_driver_bound(&["aacraid", "smartpqi"]) {
                return Err(not_found("Adaptec controller"));
            }
            let program = find_program(ARCCONF).ok_or_else(|| not_found("arcconf"))?;
            spawn(options, &program, &["GETCONFIG", &number.to_string(), "AL"])
        }
        other => Err(not_found(other)),
    }
}

/// `smartctl -j -i /dev/<disk>`, only when enabled and root.
pub(super) fn smartctl(options: &LiveOptions, disk: &str) -> io::Result<Vec<u8>> {
    if !options.smartctl || !is_root() || disk.contains('/') {
        return Err(not_found("smartctl"));
    }
    let program = find_program(&["/usr/sbin/smartctl", "/sbin/smartctl", "/usr/bin/smartctl"])
        .ok_or_else(|| not_found("smartctl"))?;
    let dev = format!("/dev/{disk}");
    // smartctl's exit status is a bit mask of drive health; its JSON is valid anyway.
    match run_with_timeout(&program, &["-j", "-i", &dev], options.command_timeout) {
        Ok(out) => Ok(out),
        Err(CommandError::Failed { .. }) => Err(io::Error::other("smartctl failed")),
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

/// `rpm -qa --qf` in the packages plugin's fixed format, only where an rpm database file
/// exists: the plugin asks for it when it cannot read the database itself, and also when it
/// found none (a sweep's snapshot holds the output instead), which must spawn nothing.
pub(super) fn rpm_qa(options: &LiveOptions) -> io::Result<Vec<u8>> {
    use crate::plugins::packages::rpm;
    let Some(dir) = rpm::DIRS.iter().find(|d| rpm::FILES.iter().any(|f| Path::new(d).join(f).exists())) else {
        return Err(not_found("rpm database"));
    };
    let program = find_program(&["/usr/bin/rpm", "/bin/rpm", "/usr/local/bin/rpm"]).ok_or_else(|| not_found("rpm"))?;
    // The database found, whatever rpm's default path (Debian's rpm reads ~/.rpmdb).
    spawn(options, &program, &["--dbpath", dir, "-qa", "--qf", rpm::qa::FORMAT])
}

/// Runs `program` under the options' deadline.
fn spawn(options: &LiveOptions, program: &Path, args: &[&str]) -> io::Result<Vec<u8>> {
    run_with_timeout(program, args, options.command_timeout).map_err(|e| match e {
        CommandError::Spawn { source, .. } => source,
        other => io::Error::other(other.to_string()),
    })
}

pub(crate) fn not_found(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{what} not available"))
}

pub(crate) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The RAID tools' capture names.
pub(super) fn is_raid_tool(name: &str) -> bool {
    matches!(
        name,
        "storcli-show-all-json"
            | "storcli-drives-json"
            | "perccli-show-all-json"
            | "perccli-drives-json"
            | "ssacli-config-detail"
    ) || name.starts_with("arcconf-getconfig-")
}

/// ipmitool, when an IPMI device node exists (the `ipmi_devintf` module is loaded) and ipmitool
/// is installed.
fn ipmitool() -> io::Result<PathBuf> {
    if !["/dev/ipmi0", "/dev/ipmi/0", "/dev/ipmidev/0"].iter().any(|p| Path::new(p).exists()) {
        return Err(not_found("IPMI device"));
    }
    find_program(&["/usr/bin/ipmitool", "/usr/sbin/ipmitool", "/bin/ipmitool", "/sbin/ipmitool"])
        .ok_or_else(|| not_found("ipmitool"))
}

const STORCLI: &[&str] = &[
    "/opt/MegaRAID/storcli/storcli64",
    "/opt/MegaRAID/storcli/storcli",
    "/usr/sbin/storcli64",
    "/usr/sbin/storcli",
    "/usr/bin/storcli64",
    "/usr/bin/storcli",
    "/usr/local/sbin/storcli64",
    // storcli2 (the 9600 series, mpi3mr) prints perccli2's layout.
    "/opt/MegaRAID/storcli2/storcli2",
    "/usr/sbin/storcli2",
    "/usr/bin/storcli2",
];
const PERCCLI: &[&str] = &[
    "/opt/MegaRAID/perccli/perccli64",
    "/opt/MegaRAID/perccli/perccli",
    "/opt/MegaRAID/perccli2/perccli2",
    "/usr/sbin/perccli64",
    "/usr/sbin/perccli",
    "/usr/sbin/perccli2",
    "/usr/bin/perccli64",
    "/usr/bin/perccli",
    "/usr/bin/perccli2",
];
const SSACLI: &[&str] = &[
    "/usr/sbin/ssacli",
    "/opt/smartstorageadmin/ssacli/bin/ssacli",
    "/usr/bin/ssacli",
    "/usr/sbin/hpssacli",
    "/opt/hp/hpssacli/bld/hpssacli",
    "/usr/sbin/hpacucli",
    "/opt/compaq/hpacucli/bld/hpacucli",
];
const ARCCONF: &[&str] =
    &["/usr/sbin/arcconf", "/usr/bin/arcconf", "/usr/Arcconf/arcconf", "/usr/StorMan/arcconf", "/opt/StorMan/arcconf"];

/// A PCI device is bound to one of `drivers` (the directory lists it by its address).
fn pci_driver_bound(drivers: &[&str]) -> bool {
    drivers.iter().any(|driver| {
        std::fs::read_dir(format!("/sys/bus/pci/drivers/{driver}"))
            .map(|d| d.filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().contains(':')))
            .unwrap_or(false)
    })
}

fn megaraid_present() -> bool {
    std::fs::read_dir("/sys/bus/pci/drivers/megaraid_sas")
        .map(|d| d.filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().contains(':')))
        .unwrap_or(false)
}

/// The live host's addresses in the shape of `ip -j addr`, so that a recorded snapshot holds
/// what `ip` would have printed and the same parser reads both.
pub(super) fn live_ip_addr_json() -> io::Result<String> {
    let networks =
        sysinfo::Networks::new_with_refreshed_list().map_err(|e| io::Error::other(format!("interfaces: {e}")))?;
    let mut out: Vec<serde_json::Value> = Vec::new();
    let mut entries: Vec<_> = networks.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    for (name, data) in entries {
        let name = name.to_string_lossy();
        let mut addrs: Vec<(String, String, u8)> = data
            .ip_networks()
            .iter()
            .map(|n| {
                let family = if n.addr.is_ipv4() { "inet" } else { "inet6" };
                (family.to_owned(), n.addr.to_string(), n.prefix)
            })
            .collect();
        addrs.sort();
        addrs.dedup();
        let addr_info: Vec<serde_json::Value> = addrs
            .into_iter()
            .map(|(family, local, prefixlen)| serde_json::json!({"family": family, "local": local, "prefixlen": prefixlen}))
            .collect();
        out.push(
            serde_json::json!({"ifname": name, "address": data.mac_address().to_string(), "addr_info": addr_info}),
        );
    }
    Ok(serde_json::Value::Array(out).to_string())
}
