//! The report and its facts: plain data, serialised exactly as the published JSON Schema
//! (`schema/report.schema.json`) describes.
//!
//! Every fact is an `Option`: `None` means "unknown on this host" and is serialised as `null`.
//! A whole section (`facts.disks`, say) is absent when its plugin was disabled or failed, so the
//! receiver can tell "this host has no disks" (`[]`) from "we could not look" (no key).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod facts;
mod guests;
mod packages;

pub use guests::{Cloud, Guest};
pub use packages::{Package, PackageManager, PackagesDelta, packages_digest};

/// The assetkit version, reported in `agent.version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Version of the report format. The receiver answers 422 to any other value.
pub const SCHEMA_VERSION: u32 = 1;

/// One host's report, as sent to the receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`] when produced by this crate.
    pub schema_version: u32,
    /// A fresh UUID per collection; the receiver's idempotency key.
    pub report_id: String,
    /// RFC 3339, UTC.
    pub collected_at: String,
    /// Who produced the report and how.
    pub agent: Agent,
    /// The host's names: what it is called now and what its cert file says.
    pub host: Host,
    /// Everything the plugins found.
    pub facts: Facts,
    /// One entry per plugin that failed; the other plugins' facts are still present.
    #[serde(default)]
    pub errors: Vec<PluginMessage>,
    /// Degraded-but-not-failed collection, e.g. "DMI table not readable: run as root".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<PluginMessage>,
}

/// The producer of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Always "assetkit" for reports made by this project.
    pub name: String,
    /// The crate version that made the report.
    pub version: String,
    /// The way the report reached the server.
    pub mode: Mode,
    /// The public half of the key the host enrols with (64 hex digits): sent with reports
    /// signed by the fleet key, so that the receiver seals the host's credential to it. See
    /// `assetkit_sign::enrol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrol_key: Option<String>,
}

/// The ways a report reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `assetkit report` from a timer on the host.
    Agent,
    /// `assetkit sweep` from a control machine.
    Ssh,
    /// The Salt execution module, returner or runner.
    Salt,
    /// The Ansible modules.
    Ansible,
    /// `assetkit collect` by hand.
    Cli,
}

impl Mode {
    /// The name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Agent => "agent",
            Mode::Ssh => "ssh",
            Mode::Salt => "salt",
            Mode::Ansible => "ansible",
            Mode::Cli => "cli",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "agent" => Mode::Agent,
            "ssh" => Mode::Ssh,
            "salt" => Mode::Salt,
            "ansible" => Mode::Ansible,
            "cli" => Mode::Cli,
            other => {
                return Err(format!("unknown mode {other:?} (agent, ssh, salt, ansible, cli)"));
            }
        })
    }
}

/// The host's names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// The running hostname (`/proc/sys/kernel/hostname`).
    pub hostname: Option<String>,
    /// The hostname stored in the cert file: the name the server knows this host by.
    pub cert_hostname: Option<String>,
}

/// A plugin's failure or warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginMessage {
    /// Plugin name, `custom.<name>` for custom plugins.
    pub plugin: String,
    /// Human-readable, one line.
    pub message: String,
}

/// All facts. A section is absent when its plugin did not run or failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// From the `os` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
    /// From the `board` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    /// From the `board` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseboard: Option<Baseboard>,
    /// From the `board` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bios: Option<Bios>,
    /// From the `cpu` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    /// From the `memory` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// From the `disk` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<Disk>>,
    /// From the `disk` plugin: RAID controllers (storcli, perccli, ssacli, arcconf) with their
    /// logical drives; their physical drives are in `disks`. Absent when no controller tool ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raid_controllers: Option<Vec<RaidController>>,
    /// From the `nic` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nics: Option<Vec<Nic>>,
    /// From the `board` plugin (SMBIOS type 39). Absent when no SMBIOS table was read whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_supplies: Option<Vec<PowerSupply>>,
    /// From the `bmc` plugin (ipmitool). Absent when the host has no IPMI device or no ipmitool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bmc: Option<Bmc>,
    /// From the `nic` plugin (`/sys/class/fc_host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fc_hbas: Option<Vec<FcHba>>,
    /// From the `gpu` plugin (PCI display controllers and processing accelerators in sysfs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<Vec<Gpu>>,
    /// From the `packages` plugin: every installed package of every package manager found
    /// (dpkg, rpm, apk), sorted. Absent when the plugin is off or failed, and in a report that
    /// sends only [`Facts::packages_digest`] because the receiver already holds this list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<Package>>,
    /// From the `packages` plugin: [`packages_digest`] of the package list. A report may carry it
    /// without `packages`: "the same list as the one you acknowledged"; a receiver that does not
    /// hold that list answers 409 `packages_unknown` and the sender sends the full list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages_digest: Option<String>,
    /// Instead of `packages`: what changed since the list the receiver acknowledged (whose
    /// digest is `from`); `packages_digest` is the digest of the list after the change. A
    /// receiver that does not hold `from` answers 409 `packages_unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages_delta: Option<PackagesDelta>,
    /// From the `guests` plugin: the virtual machines and containers this host (a hypervisor)
    /// defines, read from libvirt's and Proxmox VE's own files. Absent when the plugin is off or
    /// failed, or when the host runs no hypervisor whose files it knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guests: Option<Vec<Guest>>,
    /// From the `board` plugin: the cloud instance this host is, as its SMBIOS table says (no
    /// network call). Absent on a machine no rule recognises as a cloud instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud>,
    /// `facts.custom.<name>`: whatever JSON each custom plugin printed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, serde_json::Value>,
}

/// Operating system facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Os {
    /// Short hostname.
    pub hostname: Option<String>,
    /// Fully qualified name, from the hostname itself or `/etc/hosts`; never from DNS.
    pub fqdn: Option<String>,
    /// Distribution name (`NAME` in os-release).
    pub name: Option<String>,
    /// Distribution version (`VERSION_ID`).
    pub version: Option<String>,
    /// Distribution id (`ID`), e.g. "rhel", "debian".
    pub id: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
    /// Kernel release.
    pub kernel: Option<String>,
    /// Machine architecture (`uname -m`).
    pub arch: Option<String>,
}

/// System (SMBIOS type 1) facts plus virtualisation detection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct System {
    /// Manufacturer, placeholders removed.
    pub manufacturer: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// Serial number; `null` for placeholders such as "To Be Filled By O.E.M.".
    pub serial_number: Option<String>,
    /// SMBIOS UUID, lower case as the kernel and dmidecode print it (RFC 4122's output form),
    /// whichever decoder read it.
    pub uuid: Option<String>,
    /// SKU number.
    pub sku: Option<String>,
    /// Product family.
    pub family: Option<String>,
    /// Chassis type (SMBIOS type 3), e.g. "Rack Mount Chassis".
    pub chassis_type: Option<String>,
    /// Chassis serial number.
    pub chassis_serial_number: Option<String>,
    /// True inside a virtual machine or a container.
    pub r#virtual: bool,
    /// Hypervisor name when in a VM: "vmware", "kvm", "hyperv", "xen", "virtualbox", ...
    pub hypervisor: Option<String>,
    /// Container runtime when in a container: "docker", "podman", "lxc", ...
    pub container: Option<String>,
    /// Where the facts came from: "smbios" (raw table), "dmidecode" or "sysfs".
    pub source: Option<String>,
}

/// Baseboard (SMBIOS type 2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseboard {
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
}

/// BIOS (SMBIOS type 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bios {
    /// Vendor.
    pub vendor: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Release date, as the firmware spells it (usually MM/DD/YYYY).
    pub release_date: Option<String>,
}

/// Processor facts. Core counts are totals over all sockets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// Model name, whitespace collapsed.
    pub model: Option<String>,
    /// Vendor, e.g. "GenuineIntel".
    pub vendor: Option<String>,
    /// Populated sockets.
    pub sockets: Option<u32>,
    /// Physical cores, all sockets together.
    pub physical_cores: Option<u32>,
    /// Logical processors (threads), all sockets together.
    pub logical_cores: Option<u32>,
    /// Nominal clock in MHz (stable across reports, unlike the current frequency).
    pub mhz: Option<u32>,
}

/// Memory facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Installed memory: the sum of the modules when they are known, else what the OS sees.
    pub total_bytes: Option<u64>,
    /// `MemTotal` from /proc/meminfo.
    pub os_visible_bytes: Option<u64>,
    /// Memory slots on the board, populated or not.
    pub slots: Option<u32>,
    /// Populated slots only. `null` when the SMBIOS table could not be read.
    pub modules: Option<Vec<MemoryModule>>,
}

/// One memory module (SMBIOS type 17, populated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryModule {
    /// The dmidecode Locator, e.g. "DIMM_A1". The receiver's key for this component.
    pub slot: Option<String>,
    /// Bank locator.
    pub bank: Option<String>,
    /// Size in bytes.
    pub size_bytes: Option<u64>,
    /// Memory type, e.g. "DDR4".
    pub r#type: Option<String>,
    /// Rated speed in MT/s.
    pub speed_mts: Option<u32>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Part number.
    pub part_number: Option<String>,
}

/// One power supply unit (SMBIOS type 39). Units the firmware lists with nothing filled in
/// (every string a placeholder), or as absent with nothing but a location, are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PowerSupply {
    /// Location, e.g. "PSU1". The receiver's key for this component, else the name.
    pub location: Option<String>,
    /// Device name, e.g. "Power Supply 2".
    pub name: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Model part number.
    pub part_number: Option<String>,
    /// Revision level.
    pub revision: Option<String>,
    /// Maximum sustained output in watts.
    pub max_power_w: Option<u32>,
    /// The unit is present.
    pub present: Option<bool>,
    /// Status of a present unit: "OK", "Non-critical", "Critical" or "Other"; `null` when unknown.
    pub status: Option<String>,
    /// The unit can be replaced while the system runs.
    pub hot_replaceable: Option<bool>,
}

/// One physical disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    /// Kernel name ("sda", "nvme0n1"); `null` for drives behind a RAID controller.
    pub name: Option<String>,
    /// Controller slot ("32:3" = enclosure 32, slot 3) for drives behind a RAID controller.
    pub slot: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Vendor.
    pub vendor: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Size in bytes.
    pub size_bytes: Option<u64>,
    /// True for spinning media.
    pub rotational: Option<bool>,
    /// "sata", "sas", "nvme", "virtio", "usb", "scsi", ...
    pub interface: Option<String>,
    /// Firmware revision.
    pub firmware: Option<String>,
    /// Controller state for RAID members, e.g. "Online, Spun Up", "Failed", "Rebuild".
    pub state: Option<String>,
    /// World Wide Name: NAA names as lower-case hex ("5000c500a1b2c3d4"), NVMe ids with their
    /// prefix ("eui.0025388b91b2c3d4"). The drive's identity where it has no serial.
    pub wwn: Option<String>,
    /// SAS address of the drive's port (16 lower-case hex digits), where the tool gives one.
    pub sas_address: Option<String>,
    /// Where the disk was seen: "sysfs", "megacli", "smartctl", "nvme" (nvme-cli's list, read
    /// as the disk list only from a snapshot without /sys/block), or the RAID tool that listed
    /// it ("storcli", "perccli", "ssacli", "arcconf").
    pub source: String,
}

/// One RAID controller, as its management tool describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RaidController {
    /// The tool's name for it: storcli's controller number, the Smart Array slot, arcconf's
    /// controller number. The receiver's key when the serial is unknown.
    pub id: String,
    /// Model, e.g. "PERC H740P Adapter", "Smart Array P440ar".
    pub model: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Firmware version.
    pub firmware: Option<String>,
    /// Cache memory in bytes.
    pub cache_bytes: Option<u64>,
    /// Battery, CacheVault or energy pack state, e.g. "Optimal", "OK", "Not Installed".
    pub battery: Option<String>,
    /// Controller status, e.g. "Optimal", "OK".
    pub status: Option<String>,
    /// The tool that listed it: "storcli", "perccli", "ssacli" or "arcconf".
    pub source: String,
    /// Its logical drives (virtual drives), in the tool's order.
    pub logical_drives: Vec<LogicalDrive>,
}

/// One logical drive (virtual drive, logical device) of a RAID controller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogicalDrive {
    /// The controller's number for it (storcli VD, ssacli logical drive, arcconf logical device).
    pub id: String,
    /// Its name or label, when one is set.
    pub name: Option<String>,
    /// RAID level as the tool spells it: "RAID6", "RAID 1+0", "RAID 5".
    pub raid_level: Option<String>,
    /// Size in bytes (from the tool's rounded figure).
    pub size_bytes: Option<u64>,
    /// State, e.g. "Optimal", "Degraded", "OK".
    pub state: Option<String>,
    /// Member drives by slot, in the notation of `disks[].slot`.
    pub members: Vec<String>,
}

/// One network interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Nic {
    /// Interface name.
    pub name: String,
    /// MAC address, lower case.
    pub mac: Option<String>,
    /// Operational state is "up".
    pub up: Option<bool>,
    /// MTU.
    pub mtu: Option<u32>,
    /// Link speed; `null` when the link is down or the driver does not say.
    pub speed_mbps: Option<u32>,
    /// Kernel driver.
    pub driver: Option<String>,
    /// Adapter firmware, as the driver reports it (`ethtool -i`'s firmware-version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// Addresses, sorted.
    pub addresses: Vec<Address>,
    /// The switch port at the other end of the cable, from lldpd; absent when lldpd is not
    /// running or heard nothing on this interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lldp: Option<LldpNeighbor>,
}

/// The LLDP neighbour of one interface: the switch and the port the cable goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LldpNeighbor {
    /// The switch's system name, e.g. "sw-b12.dc3".
    pub chassis_name: Option<String>,
    /// The switch's chassis ID (usually a MAC address).
    pub chassis_id: Option<String>,
    /// The port ID as the switch sends it (an interface name such as "Gi1/0/29", or a MAC).
    pub port_id: Option<String>,
    /// The port description, e.g. "GigabitEthernet1/0/29".
    pub port_description: Option<String>,
    /// The port's VLAN ID (PVID when several are sent).
    pub vlan_id: Option<u16>,
}

/// The baseboard management controller (IPMI): its LAN address and firmware.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bmc {
    /// IPv4 address; `null` when unset (0.0.0.0).
    pub ip_address: Option<String>,
    /// "static", "dhcp", "bios" or "other".
    pub ip_source: Option<String>,
    /// Subnet mask.
    pub netmask: Option<String>,
    /// Default gateway; `null` when unset.
    pub gateway: Option<String>,
    /// MAC address, lower case.
    pub mac: Option<String>,
    /// 802.1q VLAN ID; `null` when disabled.
    pub vlan_id: Option<u16>,
    /// Firmware revision (`ipmitool mc info`).
    pub firmware: Option<String>,
    /// BMC manufacturer (`ipmitool mc info`).
    pub manufacturer: Option<String>,
    /// Board serial number from the builtin FRU.
    pub board_serial: Option<String>,
    /// Product serial number from the builtin FRU (often the service tag).
    pub product_serial: Option<String>,
    /// Every FRU record `ipmitool fru print` lists other than power supplies (those are in
    /// `power_supplies`); `null` when there was no `fru print`.
    #[serde(default)]
    pub frus: Option<Vec<FruDevice>>,
}

/// One field-replaceable unit the BMC knows (`ipmitool fru print`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FruDevice {
    /// The record's description ("PERC1", "BP1", "Builtin FRU Device"), without its ID.
    pub description: Option<String>,
    /// Product name (product area, else board area).
    pub product: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Part number.
    pub part_number: Option<String>,
}

/// One Fibre Channel HBA port (`/sys/class/fc_host/hostN`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FcHba {
    /// SCSI host name, e.g. "host3".
    pub host: String,
    /// Port WWN, "0x" and 16 hex digits as the kernel prints it. The receiver's key.
    pub port_wwn: Option<String>,
    /// Node WWN.
    pub node_wwn: Option<String>,
    /// "Online", "Linkdown", ...
    pub port_state: Option<String>,
    /// Negotiated speed as the kernel prints it, e.g. "16 Gbit"; `null` when unknown.
    pub speed: Option<String>,
}

/// One GPU or accelerator: a PCI function of class 0x03 (display) or 0x12 (processing
/// accelerator).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gpu {
    /// PCI address, e.g. "0000:3b:00.0". The receiver's key when there is no serial.
    pub pci_address: String,
    /// PCI class, e.g. "0x030200".
    pub class: Option<String>,
    /// PCI vendor ID, e.g. "0x10de".
    pub vendor_id: Option<String>,
    /// PCI device ID.
    pub device_id: Option<String>,
    /// Vendor name from pci.ids when installed.
    pub vendor: Option<String>,
    /// Device name from pci.ids (or nvidia-smi).
    pub model: Option<String>,
    /// Kernel driver.
    pub driver: Option<String>,
    /// Board serial number (nvidia-smi).
    pub serial_number: Option<String>,
    /// GPU UUID (nvidia-smi).
    pub uuid: Option<String>,
    /// VBIOS version (nvidia-smi).
    pub firmware: Option<String>,
}

/// One address on an interface.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Address {
    /// "inet" or "inet6".
    pub family: String,
    /// The address without prefix.
    pub address: String,
    /// Prefix length.
    pub prefix_len: u8,
}
