//! The SMBIOS facts assetkit uses, decoded from either of two sources:
//! `dmidecode` text output ([`text`]) or the raw table the kernel exposes at
//! `/sys/firmware/dmi/tables/DMI` ([`raw`]). Placeholders and dmidecode's `<BAD INDEX>`-style
//! markers are already `None` here, and both decoders give the same [`Smbios`] for one table
//! (tested field by field). [`part_number`] reads the DDR generation from a module's part
//! number where the firmware does not say it.

pub mod part_number;
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
    /// Type 16, all of them.
    pub memory_arrays: Vec<MemoryArrayInfo>,
    /// Type 17, all of them, empty slots and non-RAM devices included.
    pub memory_devices: Vec<MemoryDeviceInfo>,
    /// Type 39, all of them, in table order.
    pub power_supplies: Vec<PowerSupplyInfo>,
}

/// What a Physical Memory Array holds, for the uses that are not RAM.
const NOT_RAM: &[&str] = &["Video Memory", "Flash Memory", "Non-volatile RAM", "Cache Memory"];

impl Smbios {
    /// The Memory Devices that are RAM. A device of an array whose Use is known and is not
    /// "System Memory" (the BIOS flash chip, video or cache memory) is left out. A device whose
    /// array is not in the table, or says "Other" or "Unknown", is kept: SMBIOS 2.1 tables and
    /// some hypervisors link nothing, and dropping their DIMMs would report no memory at all.
    pub fn system_memory_devices(&self) -> impl Iterator<Item = &MemoryDeviceInfo> {
        self.memory_devices.iter().filter(|d| {
            let array = d.array_handle.and_then(|h| self.memory_arrays.iter().find(|a| a.handle == Some(h)));
            !array.and_then(|a| a.usage.as_deref()).is_some_and(|u| NOT_RAM.contains(&u))
        })
    }
}

/// SMBIOS type 16.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryArrayInfo {
    /// The structure's handle, which type 17 refers to.
    pub handle: Option<u16>,
    /// Use, as dmidecode names it: "System Memory", "Flash Memory", "Other"...
    pub usage: Option<String>,
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
    /// UUID, lower case (as the kernel and dmidecode print it, RFC 4122's output form).
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
    /// Asset tag (AWS Nitro puts the instance ID here).
    pub asset_tag: Option<String>,
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
    /// Asset tag (Azure, Oracle Cloud and some OpenStack clouds mark their instances here).
    pub asset_tag: Option<String>,
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
    /// Handle of the Physical Memory Array (type 16) the device belongs to.
    pub array_handle: Option<u16>,
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
    /// Part number, padding removed.
    pub part_number: Option<String>,
}

impl MemoryDeviceInfo {
    /// Where the firmware gives no usable type (Other, Unknown, out of spec), the part number
    /// may tell the DDR generation.
    fn with_type_from_part_number(mut self) -> Self {
        if self.memory_type.is_none() {
            self.memory_type = self.part_number.as_deref().and_then(part_number::ddr_generation).map(str::to_owned);
        }
        self
    }
}

/// SMBIOS type 39 (System Power Supply).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PowerSupplyInfo {
    /// Location, e.g. "PSU1".
    pub location: Option<String>,
    /// Device name, e.g. "Power Supply 2" or "PWR SPLY,750W,RDNT,EMSN".
    pub name: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Model part number.
    pub part_number: Option<String>,
    /// Revision level.
    pub revision: Option<String>,
    /// Maximum sustained output in watts; `None` for the "unknown" value 0x8000.
    pub max_power_w: Option<u32>,
    /// The unit is present.
    pub present: Option<bool>,
    /// Status of a present unit: "OK", "Non-critical", "Critical" or "Other".
    pub status: Option<String>,
    /// The unit can be replaced while the system runs.
    pub hot_replaceable: Option<bool>,
}

/// dmidecode's names for the status bits of a type 39 structure; `None` for Unknown and
/// values the specification does not define.
pub fn power_supply_status_name(code: u16) -> Option<&'static str> {
    Some(match code {
        1 => "Other",
        3 => "OK",
        4 => "Non-critical",
        5 => "Critical",
        _ => return None,
    })
}

/// dmidecode's names for a type 16 Use; `None` for Unknown and undefined codes.
pub fn memory_array_use_name(code: u8) -> Option<&'static str> {
    Some(match code {
        1 => "Other",
        3 => "System Memory",
        4 => "Video Memory",
        5 => "Flash Memory",
        6 => "Non-volatile RAM",
        7 => "Cache Memory",
        _ => return None,
    })
}

/// Formats a 16-byte SMBIOS UUID field the way dmidecode does for SMBIOS >= 2.6 (the first
/// three fields little-endian), lower case as dmidecode and the kernel print it. `None` for
/// all-zero or all-FF ("not present").
pub fn format_uuid(bytes: &[u8; 16], little_endian_fields: bool) -> Option<String> {
    if bytes.iter().all(|&b| b == 0) || bytes.iter().all(|&b| b == 0xff) {
        return None;
    }
    let b = bytes;
    let s = if little_endian_fields {
        format!(
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
        )
    } else {
        format!(
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
        )
    };
    crate::placeholder::clean(&s)
}
