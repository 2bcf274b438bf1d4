//! The raw SMBIOS table (`/sys/firmware/dmi/tables/DMI`) -> [`Smbios`], without dmidecode.
//!
//! Only types 0-4, 16, 17 and 39 are decoded. Every field read is bounds-checked against the
//! structure's declared length, so a table from SMBIOS 2.1 (short structures) or a truncated
//! table yields the fields it has and nothing else; a type 39 shorter than its 2.3.1 layout is
//! no power supply at all, as dmidecode prints none of its fields. A string index past the
//! structure's strings (dmidecode's `<BAD INDEX>`) and a code the specification does not define
//! (`<OUT OF SPEC>`) are `None`. (The `dmidecode` crate was evaluated and not
//! used: it rejects 2.3-era type-17 structures shorter than 0x20 bytes and then stops iterating,
//! which loses every memory module on older servers.)

use super::{
    BiosInfo, BoardInfo, ChassisInfo, MemoryArrayInfo, MemoryDeviceInfo, PowerSupplyInfo, ProcessorInfo, Smbios,
    SystemInfo, format_uuid, memory_array_use_name, power_supply_status_name,
};
use crate::placeholder::{clean, clean_label, clean_part_number};

/// SMBIOS version from the entry point (`/sys/firmware/dmi/tables/smbios_entry_point`).
pub fn entry_point_version(entry: &[u8]) -> Option<(u8, u8)> {
    if entry.starts_with(b"_SM3_") && entry.len() >= 9 {
        Some((entry[7], entry[8]))
    } else if entry.starts_with(b"_SM_") && entry.len() >= 8 {
        Some((entry[6], entry[7]))
    } else {
        None
    }
}

struct Structure<'a> {
    kind: u8,
    handle: Option<u16>,
    formatted: &'a [u8],
    strings: Vec<&'a [u8]>,
}

impl Structure<'_> {
    fn byte(&self, offset: usize) -> Option<u8> {
        self.formatted.get(offset).copied()
    }
    fn word(&self, offset: usize) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte(offset)?, self.byte(offset + 1)?]))
    }
    fn dword(&self, offset: usize) -> Option<u32> {
        let b = self.formatted.get(offset..offset + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn raw_string(&self, offset: usize) -> Option<String> {
        let index = self.byte(offset)? as usize;
        let raw = self.strings.get(index.checked_sub(1)?)?;
        Some(String::from_utf8_lossy(raw).into_owned())
    }
    /// An identifier (serial, vendor, model): placeholders are `None`.
    fn string(&self, offset: usize) -> Option<String> {
        self.raw_string(offset).as_deref().and_then(clean)
    }
    /// A name or locator: "0" is a name.
    fn label(&self, offset: usize) -> Option<String> {
        self.raw_string(offset).as_deref().and_then(clean_label)
    }
    fn part_number(&self, offset: usize) -> Option<String> {
        self.raw_string(offset).as_deref().and_then(clean_part_number)
    }
}

/// The structures of a table, and the offset of one cut off by the table's end, if any.
fn structures(table: &[u8]) -> (Vec<Structure<'_>>, Option<usize>) {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut cut = None;
    while pos + 4 <= table.len() {
        let kind = table[pos];
        let len = table[pos + 1] as usize;
        if len < 4 {
            break;
        }
        if pos + len > table.len() {
            cut = Some(pos);
            break;
        }
        let formatted = &table[pos..pos + len];
        // The string set ends with two NULs; a structure without strings has just "\0\0".
        let mut end = pos + len;
        let mut strings = Vec::new();
        let mut start = end;
        loop {
            if end + 1 >= table.len() {
                // Strings cut off mid-way would be garbage: the structure is dropped whole.
                return (out, Some(pos));
            }
            if table[end] == 0 {
                if end > start {
                    strings.push(&table[start..end]);
                }
                if table[end + 1] == 0 {
                    end += 2;
                    break;
                }
                start = end + 1;
            }
            end += 1;
        }
        let handle = Some(u16::from_le_bytes([table[pos + 2], table[pos + 3]]));
        out.push(Structure { kind, handle, formatted, strings });
        if kind == 127 {
            break;
        }
        pos = end;
    }
    (out, cut)
}

/// A decoded table, with what is needed to tell whether it was whole.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// The decoded facts: every structure before the cut, if there is one.
    pub smbios: Smbios,
    /// Offset of a structure the table's end cuts off (its formatted part or its strings).
    pub truncated_at: Option<usize>,
}

/// Decodes the table. `version` comes from the entry point; `None` assumes SMBIOS >= 2.6.
pub fn parse(table: &[u8], version: Option<(u8, u8)>) -> Smbios {
    parse_detailed(table, version).smbios
}

/// [`parse`], plus where the table was cut off, if it was.
pub fn parse_detailed(table: &[u8], version: Option<(u8, u8)>) -> Decoded {
    let little_endian_uuid = version.is_none_or(|v| v >= (2, 6));
    let mut smbios = Smbios::default();
    let (structures, truncated_at) = structures(table);
    for s in structures {
        match s.kind {
            0 if smbios.bios.is_none() => {
                smbios.bios =
                    Some(BiosInfo { vendor: s.string(0x04), version: s.string(0x05), release_date: s.string(0x08) });
            }
            1 if smbios.system.is_none() => {
                let uuid = s
                    .formatted
                    .get(0x08..0x18)
                    .and_then(|b| <[u8; 16]>::try_from(b).ok())
                    .and_then(|b| format_uuid(&b, little_endian_uuid));
                smbios.system = Some(SystemInfo {
                    manufacturer: s.string(0x04),
                    product_name: s.string(0x05),
                    version: s.string(0x06),
                    serial_number: s.string(0x07),
                    uuid,
                    sku: s.string(0x19),
                    family: s.string(0x1A),
                });
            }
            2 if smbios.baseboard.is_none() => {
                smbios.baseboard = Some(BoardInfo {
                    manufacturer: s.string(0x04),
                    product_name: s.string(0x05),
                    serial_number: s.string(0x07),
                    asset_tag: s.string(0x08),
                });
            }
            3 if smbios.chassis.is_none() => {
                smbios.chassis = Some(ChassisInfo {
                    manufacturer: s.string(0x04),
                    chassis_type: s.byte(0x05).and_then(|t| chassis_type_name(t & 0x7f)).map(str::to_owned),
                    serial_number: s.string(0x07),
                    asset_tag: s.string(0x08),
                });
            }
            4 => smbios.processors.push(processor(&s)),
            16 => smbios.memory_arrays.push(MemoryArrayInfo {
                handle: s.handle,
                usage: s.byte(0x05).and_then(memory_array_use_name).map(str::to_owned),
            }),
            17 => smbios.memory_devices.push(memory_device(&s)),
            39 => smbios.power_supplies.extend(power_supply(&s)),
            _ => {}
        }
    }
    Decoded { smbios, truncated_at }
}

fn processor(s: &Structure<'_>) -> ProcessorInfo {
    let nonzero = |v: Option<u16>| v.filter(|n| *n != 0 && *n != 0xffff).map(u32::from);
    let count = |short: usize, long: usize| match s.byte(short) {
        Some(0xff) => nonzero(s.word(long)),
        Some(0) | None => None,
        Some(n) => Some(u32::from(n)),
    };
    ProcessorInfo {
        socket: s.string(0x04),
        manufacturer: s.string(0x07),
        version: s.string(0x10),
        populated: s.byte(0x18).is_some_and(|st| st & 0x40 != 0),
        enabled: s.byte(0x18).is_none_or(|st| !matches!(st & 0x07, 2 | 3)),
        core_count: count(0x23, 0x2A),
        thread_count: count(0x25, 0x2E),
        current_speed_mhz: nonzero(s.word(0x16)),
        max_speed_mhz: nonzero(s.word(0x14)),
    }
}

fn memory_device(s: &Structure<'_>) -> MemoryDeviceInfo {
    let size_bytes = match s.word(0x0C) {
        None | Some(0) | Some(0xffff) => None,
        Some(0x7fff) => s.dword(0x1C).map(|mb| u64::from(mb & 0x7fff_ffff) << 20).filter(|b| *b > 0),
        Some(v) if v & 0x8000 != 0 => Some(u64::from(v & 0x7fff) << 10).filter(|b| *b > 0),
        Some(v) => Some(u64::from(v) << 20),
    };
    let speed_mts = match s.word(0x15) {
        None | Some(0) => None,
        Some(0xffff) => s.dword(0x54).filter(|v| *v != 0),
        Some(v) => Some(u32::from(v)),
    };
    MemoryDeviceInfo {
        array_handle: s.word(0x04),
        locator: s.label(0x10),
        bank_locator: s.label(0x11),
        size_bytes,
        installed: size_bytes.is_some(),
        memory_type: s.byte(0x12).and_then(memory_type_name).map(str::to_owned),
        speed_mts,
        manufacturer: s.string(0x17),
        serial_number: s.string(0x18),
        part_number: s.part_number(0x1A),
    }
    .with_type_from_part_number()
}

/// Type 39. `None` when the structure is shorter than the SMBIOS 2.3.1 layout (0x10 bytes):
/// its characteristics word, which says whether a unit is there at all, is missing.
fn power_supply(s: &Structure<'_>) -> Option<PowerSupplyInfo> {
    let characteristics = s.word(0x0E)?;
    let present = characteristics & 0x0002 != 0;
    Some(PowerSupplyInfo {
        location: s.label(0x05),
        name: s.label(0x06),
        manufacturer: s.string(0x07),
        serial_number: s.string(0x08),
        part_number: s.part_number(0x0A),
        revision: s.string(0x0B),
        max_power_w: s.word(0x0C).filter(|w| *w != 0x8000 && *w != 0).map(u32::from),
        present: Some(present),
        status: present.then(|| power_supply_status_name((characteristics >> 7) & 0x07)).flatten().map(str::to_owned),
        hot_replaceable: Some(characteristics & 0x0001 != 0),
    })
}

/// dmidecode's names for SMBIOS memory types; `None` for Other/Unknown/reserved.
pub fn memory_type_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x03 => "DRAM",
        0x04 => "EDRAM",
        0x05 => "VRAM",
        0x06 => "SRAM",
        0x07 => "RAM",
        0x08 => "ROM",
        0x09 => "Flash",
        0x0A => "EEPROM",
        0x0B => "FEPROM",
        0x0C => "EPROM",
        0x0D => "CDRAM",
        0x0E => "3DRAM",
        0x0F => "SDRAM",
        0x10 => "SGRAM",
        0x11 => "RDRAM",
        0x12 => "DDR",
        0x13 => "DDR2",
        0x14 => "DDR2 FB-DIMM",
        0x18 => "DDR3",
        0x19 => "FBD2",
        0x1A => "DDR4",
        0x1B => "LPDDR",
        0x1C => "LPDDR2",
        0x1D => "LPDDR3",
        0x1E => "LPDDR4",
        0x1F => "Logical non-volatile device",
        0x20 => "HBM",
        0x21 => "HBM2",
        0x22 => "DDR5",
        0x23 => "LPDDR5",
        0x24 => "HBM3",
        _ => return None,
    })
}

/// dmidecode's names for SMBIOS chassis types (also what sysfs `chassis_type` numbers mean).
pub fn chassis_type_name(code: u8) -> Option<&'static str> {
    const NAMES: [&str; 36] = [
        "Other",
        "Unknown",
        "Desktop",
        "Low Profile Desktop",
        "Pizza Box",
        "Mini Tower",
        "Tower",
        "Portable",
        "Laptop",
        "Notebook",
        "Hand Held",
        "Docking Station",
        "All In One",
        "Sub Notebook",
        "Space-saving",
        "Lunch Box",
        "Main Server Chassis",
        "Expansion Chassis",
        "Sub Chassis",
        "Bus Expansion Chassis",
        "Peripheral Chassis",
        "RAID Chassis",
        "Rack Mount Chassis",
        "Sealed-case PC",
        "Multi-system",
        "CompactPCI",
        "AdvancedTCA",
        "Blade",
        "Blade Enclosing",
        "Tablet",
        "Convertible",
        "Detachable",
        "IoT Gateway",
        "Embedded PC",
        "Mini PC",
        "Stick PC",
    ];
    let name = NAMES.get((code as usize).checked_sub(1)?)?;
    (*name != "Unknown").then_some(*name)
}
