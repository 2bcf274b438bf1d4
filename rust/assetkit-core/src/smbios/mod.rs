//! The SMBIOS facts assetkit uses, decoded from either of two sources:
//! `dmidecode` text output ([`text`]) or the raw table the kernel exposes at
//! `/sys/firmware/dmi/tables/DMI` ([`raw`]). Placeholders are already `None` here.

pub mod raw;
pub mod text;

/// The subset of SMBIOS that feeds the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Smbios {
    /// Type 0.
    pub bios: Option<BiosInfo>,
    /// Type 1.
    pub system: Option<SystemInfo>,
    /// Type 2 (the first one).
    pub baseboard: Option<BoardInfo>,
    /// Type 3 (the first one).
    pub chassis: Option<ChassisInfo>,
    /// Type 4, all of them.
    pub processors: Vec<ProcessorInfo>,
    /// Type 17, all of them, empty slots included.
    pub memory_devices: Vec<MemoryDeviceInfo>,
}

/// SMBIOS type 0.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BiosInfo {
    /// Vendor.
    pub vendor: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Release date.
    pub release_date: Option<String>,
}

/// SMBIOS type 1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemInfo {
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// UUID, upper case.
    pub uuid: Option<String>,
    /// SKU.
    pub sku: Option<String>,
    /// Family.
    pub family: Option<String>,
}

/// SMBIOS type 2.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoardInfo {
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
}

/// SMBIOS type 3.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChassisInfo {
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Chassis type, as dmidecode names it.
    pub chassis_type: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
}

/// SMBIOS type 4.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessorInfo {
    /// Socket designation.
    pub socket: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Version string: the model name.
    pub version: Option<String>,
    /// False for an empty socket.
    pub populated: bool,
    /// False when the BIOS or the user disabled the CPU (VMware lists every possible vCPU
    /// socket as "Populated, Disabled By BIOS").
    pub enabled: bool,
    /// Cores in this socket.
    pub core_count: Option<u32>,
    /// Threads in this socket.
    pub thread_count: Option<u32>,
    /// Current (nominal) speed, MHz.
    pub current_speed_mhz: Option<u32>,
    /// Maximum speed, MHz (often a board limit, not the CPU's).
    pub max_speed_mhz: Option<u32>,
}

/// SMBIOS type 17.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryDeviceInfo {
    /// Locator, e.g. "DIMM_A1".
    pub locator: Option<String>,
    /// Bank locator.
    pub bank_locator: Option<String>,
    /// Size; `None` for an empty slot or unknown size.
    pub size_bytes: Option<u64>,
    /// True when a module sits in the slot.
    pub installed: bool,
    /// Memory type, e.g. "DDR4".
    pub memory_type: Option<String>,
    /// Rated speed, MT/s.
    pub speed_mts: Option<u32>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Part number.
    pub part_number: Option<String>,
}

/// Formats a 16-byte SMBIOS UUID field the way dmidecode does for SMBIOS >= 2.6 (the first
/// three fields little-endian), upper case. `None` for all-zero or all-FF ("not present").
pub fn format_uuid(bytes: &[u8; 16], little_endian_fields: bool) -> Option<String> {
    if bytes.iter().all(|&b| b == 0) || bytes.iter().all(|&b| b == 0xff) {
        return None;
    }
    let b = bytes;
    let s = if little_endian_fields {
        format!(
            "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
        )
    } else {
        format!(
            "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
        )
    };
    crate::placeholder::clean(&s)
}
