//! The raw SMBIOS decoder against a table encoded here, and against the dmidecode text decoder.

use assetkit_core::smbios::{PowerSupplyInfo, raw, text};

/// Encodes one SMBIOS structure: formatted bytes (after the 4-byte header) and strings.
fn structure(kind: u8, handle: u16, body: &[u8], strings: &[&str]) -> Vec<u8> {
    let mut out = vec![kind, (body.len() + 4) as u8];
    out.extend_from_slice(&handle.to_le_bytes());
    out.extend_from_slice(body);
    for s in strings {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    if strings.is_empty() {
        out.push(0);
    }
    out.push(0);
    out
}

fn table() -> Vec<u8> {
    let mut t = Vec::new();
    // Type 0: vendor=1 version=2, start segment, release date=3, rom size, characteristics...
    t.extend(structure(0, 0, &[1, 2, 0, 0xF0, 3, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0], &["Dell Inc.", "2.6.4", "04/09/2020"]));
    // Type 1 (SMBIOS 2.8 layout): strings 1..5, UUID, wake-up, sku=5, family=6.
    let mut sys = vec![1, 2, 3, 4];
    sys.extend_from_slice(&[
        0x44, 0x45, 0x4C, 0x4C, 0x52, 0x00, 0x10, 0x4A, 0x80, 0x46, 0xB2, 0xC0, 0x4F, 0x31, 0x35, 0x33,
    ]);
    sys.extend_from_slice(&[6, 5, 6]);
    t.extend(structure(
        1,
        0x100,
        &sys,
        &[
            "Dell Inc.",
            "PowerEdge R640",
            "Not Specified",
            "2RJF153",
            "SKU=NotProvided;ModelName=PowerEdge R640",
            "PowerEdge",
        ],
    ));
    t.extend(structure(
        2,
        0x200,
        &[1, 2, 3, 4, 0, 0, 0, 0],
        &["Dell Inc.", "06NR82", "A03", ".2RJF153.CNIVC0005G0184."],
    ));
    t.extend(structure(3, 0x300, &[1, 0x17, 0, 2, 0, 0, 0, 0, 0], &["Dell Inc.", "2RJF153"]));
    // Type 4: populated, 8 cores, 16 threads, 3600 MHz.
    let mut cpu = vec![0u8; 0x2A - 4];
    cpu[0] = 1; // socket designation
    cpu[0x07 - 4] = 2; // manufacturer
    cpu[0x10 - 4] = 3; // version
    cpu[0x16 - 4..0x18 - 4].copy_from_slice(&3600u16.to_le_bytes());
    cpu[0x18 - 4] = 0x41; // populated, enabled
    cpu[0x23 - 4] = 8;
    cpu[0x25 - 4] = 16;
    t.extend(structure(4, 0x400, &cpu, &["CPU1", "Intel", "Intel(R) Xeon(R) Gold 6244 CPU @ 3.60GHz"]));
    // Type 4: empty socket.
    let mut empty_cpu = vec![0u8; 0x2A - 4];
    empty_cpu[0] = 1;
    t.extend(structure(4, 0x401, &empty_cpu, &["CPU2"]));
    // Type 16: the system memory array the DIMMs belong to (Use 0x03).
    t.extend(structure(16, 0x1000, &[0x03, 0x03, 0x06, 0, 0, 0, 0x18, 0xFE, 0xFF, 24, 0], &[]));
    // Type 17, SMBIOS 2.3 length (0x1B): 16 GB DDR4 2933, then an empty slot.
    let dimm = |size: u16, strings_present: bool| {
        let mut d = vec![0u8; 0x1B - 4];
        d[..2].copy_from_slice(&0x1000u16.to_le_bytes()); // array handle (offset 0x04)
        d[0x0C - 4..0x0E - 4].copy_from_slice(&size.to_le_bytes());
        d[0x10 - 4] = 1; // locator
        d[0x11 - 4] = 2; // bank
        d[0x12 - 4] = 0x1A; // DDR4
        d[0x15 - 4..0x17 - 4].copy_from_slice(&2933u16.to_le_bytes());
        if strings_present {
            d[0x17 - 4] = 3;
            d[0x18 - 4] = 4;
            d[0x1A - 4] = 5;
        }
        d
    };
    t.extend(structure(
        17,
        0x1100,
        &dimm(16384, true),
        &["A1", "Not Specified", "00AD00B300AD", "1234ABCD", "HMA82GR7CJR8N-WM"],
    ));
    t.extend(structure(17, 0x1101, &dimm(0, false), &["A2", "Not Specified"]));
    // Type 17 with extended size (64 GB) and the 2.8 length.
    let mut big = vec![0u8; 0x28 - 4];
    big[..2].copy_from_slice(&0x1000u16.to_le_bytes()); // array handle (offset 0x04)
    big[0x0C - 4..0x0E - 4].copy_from_slice(&0x7FFFu16.to_le_bytes());
    big[0x10 - 4] = 1;
    big[0x12 - 4] = 0x22; // DDR5
    big[0x1C - 4..0x20 - 4].copy_from_slice(&65536u32.to_le_bytes());
    t.extend(structure(17, 0x1102, &big, &["B1"]));
    t.extend(structure(127, 0x7F00, &[], &[]));
    t
}

#[test]
fn raw_table_decodes() {
    let s = raw::parse(&table(), Some((3, 2)));
    let sys = s.system.as_ref().unwrap();
    assert_eq!(sys.serial_number.as_deref(), Some("2RJF153"));
    assert_eq!(
        sys.uuid.as_deref(),
        Some("4c4c4544-0052-4a10-8046-b2c04f313533"),
        "lower case, as dmidecode and the kernel print it"
    );
    assert_eq!(sys.sku.as_deref(), Some("SKU=NotProvided;ModelName=PowerEdge R640"));
    assert_eq!(s.chassis.as_ref().unwrap().chassis_type.as_deref(), Some("Rack Mount Chassis"));
    assert_eq!(s.processors.len(), 2);
    assert!(s.processors[0].populated && !s.processors[1].populated);
    assert_eq!((s.processors[0].core_count, s.processors[0].thread_count), (Some(8), Some(16)));
    let dimms = &s.memory_devices;
    assert_eq!(dimms.len(), 3);
    assert_eq!(dimms[0].size_bytes, Some(16 << 30));
    assert_eq!(dimms[0].memory_type.as_deref(), Some("DDR4"));
    assert_eq!(dimms[0].speed_mts, Some(2933));
    assert_eq!(dimms[0].serial_number.as_deref(), Some("1234ABCD"));
    assert!(!dimms[1].installed);
    assert_eq!(dimms[2].size_bytes, Some(64 << 30));
    assert_eq!(dimms[2].memory_type.as_deref(), Some("DDR5"));
}

#[test]
fn raw_and_dmidecode_text_agree() {
    // What dmidecode 3.x prints for the same table (abridged to the fields both decode).
    let text_out = "\
Handle 0x0000, DMI type 0, 18 bytes
BIOS Information
\tVendor: Dell Inc.
\tVersion: 2.6.4
\tRelease Date: 04/09/2020

Handle 0x0100, DMI type 1, 27 bytes
System Information
\tManufacturer: Dell Inc.
\tProduct Name: PowerEdge R640
\tVersion: Not Specified
\tSerial Number: 2RJF153
\tUUID: 4c4c4544-0052-4a10-8046-b2c04f313533
\tSKU Number: SKU=NotProvided;ModelName=PowerEdge R640
\tFamily: PowerEdge

Handle 0x0200, DMI type 2, 12 bytes
Base Board Information
\tManufacturer: Dell Inc.
\tProduct Name: 06NR82
\tVersion: A03
\tSerial Number: .2RJF153.CNIVC0005G0184.

Handle 0x0300, DMI type 3, 13 bytes
Chassis Information
\tManufacturer: Dell Inc.
\tType: Rack Mount Chassis
\tSerial Number: 2RJF153

Handle 0x0400, DMI type 4, 42 bytes
Processor Information
\tSocket Designation: CPU1
\tManufacturer: Intel
\tVersion: Intel(R) Xeon(R) Gold 6244 CPU @ 3.60GHz
\tCurrent Speed: 3600 MHz
\tStatus: Populated, Enabled
\tCore Count: 8
\tThread Count: 16

Handle 0x0401, DMI type 4, 42 bytes
Processor Information
\tSocket Designation: CPU2
\tStatus: Unpopulated

Handle 0x1000, DMI type 16, 15 bytes
Physical Memory Array
\tLocation: System Board Or Motherboard
\tUse: System Memory
\tError Correction Type: Multi-bit ECC
\tMaximum Capacity: 384 GB
\tError Information Handle: Not Provided
\tNumber Of Devices: 24

Handle 0x1100, DMI type 17, 27 bytes
Memory Device
\tArray Handle: 0x1000
\tSize: 16384 MB
\tLocator: A1
\tBank Locator: Not Specified
\tType: DDR4
\tSpeed: 2933 MT/s
\tManufacturer: 00AD00B300AD
\tSerial Number: 1234ABCD
\tPart Number: HMA82GR7CJR8N-WM

Handle 0x1101, DMI type 17, 27 bytes
Memory Device
\tArray Handle: 0x1000
\tSize: No Module Installed
\tLocator: A2
\tBank Locator: Not Specified
\tType: DDR4
\tSpeed: 2933 MT/s

Handle 0x1102, DMI type 17, 40 bytes
Memory Device
\tArray Handle: 0x1000
\tSize: 64 GB
\tLocator: B1
\tType: DDR5

Handle 0x7F00, DMI type 127, 4 bytes
End Of Table
";
    let from_raw = raw::parse(&table(), Some((3, 2)));
    let from_text = text::parse(text_out);
    assert_eq!(from_raw.system, from_text.system);
    assert_eq!(from_raw.baseboard, from_text.baseboard);
    assert_eq!(from_raw.bios, from_text.bios);
    assert_eq!(from_raw.chassis, from_text.chassis);
    assert_eq!(from_raw.memory_arrays, from_text.memory_arrays);
    assert_eq!(from_raw.memory_arrays[0].usage.as_deref(), Some("System Memory"));
    assert_eq!(from_raw.processors[0], from_text.processors[0]);
    assert_eq!(from_raw.processors[1].populated, from_text.processors[1].populated);
    // Empty slots differ only in fields dmidecode prints for them anyway.
    assert_eq!(from_raw.memory_devices[0], from_text.memory_devices[0]);
    assert_eq!(from_raw.memory_devices[2], from_text.memory_devices[2]);
    assert_eq!(from_raw.memory_devices[1].installed, from_text.memory_devices[1].installed);
}

#[test]
fn truncated_raw_table_keeps_complete_structures() {
    let t = table();
    let s = raw::parse(&t[..t.len() / 2], None);
    assert!(s.system.is_some());
    assert!(s.memory_devices.len() < 3);
}

/// A table with what firmware gets wrong: string indexes past the strings, codes the
/// specification does not define, memory types left as Other or Unknown, padded part numbers,
/// numeric bank names, a BIOS flash chip in its own array, and power supplies (one of them
/// shorter than the 2.3.1 layout).
fn quirks_table() -> Vec<u8> {
    let mut t = Vec::new();
    // Type 0 whose version points at string 5 of 2: dmidecode prints <BAD INDEX>.
    t.extend(structure(0, 0, &[1, 5, 0, 0xF0, 2, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0], &["Dell Inc.", "04/09/2020"]));
    // Type 3: chassis type 0x7E is not in the specification; serial index 4 of 1.
    t.extend(structure(3, 0x300, &[1, 0x7E, 0, 4, 0, 0, 0, 0, 0], &["Dell Inc."]));
    // Type 16: system memory (Use 0x03), then the BIOS flash (Use 0x05).
    t.extend(structure(16, 0x1000, &[0x03, 0x03, 0x06, 0, 0, 0, 0x18, 0xFE, 0xFF, 2, 0], &[]));
    t.extend(structure(16, 0x1001, &[0x03, 0x05, 0x03, 0x00, 0x10, 0, 0, 0xFE, 0xFF, 1, 0], &[]));
    // Type 17 (2.8 layout): array, size in MB, locator 1, bank 2, type, speed, then strings
    // manufacturer 3, serial 4, part 6 (5 is the asset tag).
    let device = |array: u16, mb: u32, kind: u8, manufacturer: u8| {
        let mut d = vec![0u8; 0x28 - 4];
        d[..2].copy_from_slice(&array.to_le_bytes()); // array handle (offset 0x04)
        // 32 GB and more: 0x7FFF, and the size in the extended field.
        let word = if mb >= 0x7FFF { 0x7FFF } else { mb as u16 };
        d[0x0C - 4..0x0E - 4].copy_from_slice(&word.to_le_bytes());
        d[0x1C - 4..0x20 - 4].copy_from_slice(&mb.to_le_bytes());
        d[0x10 - 4] = 1;
        d[0x11 - 4] = 2;
        d[0x12 - 4] = kind;
        d[0x15 - 4..0x17 - 4].copy_from_slice(&2666u16.to_le_bytes());
        d[0x17 - 4] = manufacturer;
        d[0x18 - 4] = 4;
        d[0x19 - 4] = 5;
        d[0x1A - 4] = 6;
        d
    };
    // Memory type Other (0x01), a Samsung part padded with dashes.
    t.extend(structure(
        17,
        0x1100,
        &device(0x1000, 16384, 0x01, 3),
        &["D0", "0", "Samsung", "36A1B2C3", "Not Specified", "M393A2K40BB1-CRC----"],
    ));
    // Memory type Unknown (0x02), an SK Hynix part padded with spaces; the same locator in bank 1.
    t.extend(structure(
        17,
        0x1101,
        &device(0x1000, 16384, 0x02, 3),
        &["D0", "1", "SK Hynix", "72D0A1B2", "Not Specified", "HMA82GR7AFR8N-VK    "],
    ));
    // A type code past the specification (0x40); the manufacturer index 9 points at nothing.
    t.extend(structure(
        17,
        0x1102,
        &device(0x1000, 32768, 0x40, 9),
        &["D1", "1", "unused", "1A2B3C4D", "Not Specified", "MTC20F2085S1RC48BA1"],
    ));
    // The 4 MB BIOS flash chip of the flash array.
    t.extend(structure(
        17,
        0x1103,
        &device(0x1001, 4, 0x09, 3),
        &["SPI", "BIOS", "Winbond", "00000000", "Not Specified", "W25Q32"],
    ));
    // Type 39, full length: hot-replaceable, present, auto-switch, status OK, switching.
    let psu = |characteristics: u16, watts: u16| {
        let mut d = vec![1u8, 1, 2, 3, 4, 5, 6, 7];
        d.extend_from_slice(&watts.to_le_bytes());
        d.extend_from_slice(&characteristics.to_le_bytes());
        d.extend_from_slice(&[0x35, 0, 0x37, 0, 0x38, 0]);
        d
    };
    let ok = 0x0001 | 0x0002 | (4 << 3) | (3 << 7) | (4 << 10);
    t.extend(structure(
        39,
        0x3900,
        &psu(ok, 800),
        &["PSU1", "PWS-801P-1R", "SUPERMICRO", "P801PCH10A00001", "Not Specified", "PWS-801P-1R---", "1.2"],
    ));
    // Critical, capacity unknown (0x8000), a placeholder serial.
    let critical = 0x0001 | 0x0002 | (4 << 3) | (5 << 7) | (4 << 10);
    t.extend(structure(
        39,
        0x3901,
        &psu(critical, 0x8000),
        &["PSU2", "PWS-801P-1R", "SUPERMICRO", "To Be Filled By O.E.M.", "Not Specified", "PWS-801P-1R", "1.2"],
    ));
    // Not present (the present bit clear): no status, whatever the status bits say.
    let absent = 0x0001 | (2 << 7);
    t.extend(structure(39, 0x3902, &psu(absent, 0x8000), &["PSU3", "", "", "", "", "", ""]));
    // 12 bytes: ends before the characteristics word. dmidecode prints the title alone.
    t.extend(structure(39, 0x3903, &[1, 1, 2, 3, 4, 5, 6, 7], &["PSU4", "PWS-801P-1R"]));
    t.extend(structure(127, 0x7F00, &[], &[]));
    t
}

/// What dmidecode 3.x prints for [`quirks_table`].
const QUIRKS_TEXT: &str = "\
Handle 0x0000, DMI type 0, 18 bytes
BIOS Information
\tVendor: Dell Inc.
\tVersion: <BAD INDEX>
\tRelease Date: 04/09/2020

Handle 0x0300, DMI type 3, 13 bytes
Chassis Information
\tManufacturer: Dell Inc.
\tType: <OUT OF SPEC>
\tLock: Not Present
\tVersion: Not Specified
\tSerial Number: <BAD INDEX>

Handle 0x1000, DMI type 16, 15 bytes
Physical Memory Array
\tLocation: System Board Or Motherboard
\tUse: System Memory
\tError Correction Type: Multi-bit ECC
\tMaximum Capacity: 384 GB
\tError Information Handle: Not Provided
\tNumber Of Devices: 2

Handle 0x1001, DMI type 16, 15 bytes
Physical Memory Array
\tLocation: System Board Or Motherboard
\tUse: Flash Memory
\tError Correction Type: None
\tMaximum Capacity: 4 MB
\tError Information Handle: Not Provided
\tNumber Of Devices: 1

Handle 0x1100, DMI type 17, 40 bytes
Memory Device
\tArray Handle: 0x1000
\tSize: 16 GB
\tLocator: D0
\tBank Locator: 0
\tType: Other
\tSpeed: 2666 MT/s
\tManufacturer: Samsung
\tSerial Number: 36A1B2C3
\tAsset Tag: Not Specified
\tPart Number: M393A2K40BB1-CRC----

Handle 0x1101, DMI type 17, 40 bytes
Memory Device
\tArray Handle: 0x1000
\tSize: 16 GB
\tLocator: D0
\tBank Locator: 1
\tType: Unknown
\tSpeed: 2666 MT/s
\tManufacturer: SK Hynix
\tSerial Number: 72D0A1B2
\tAsset Tag: Not Specified
\tPart Number: HMA82GR7AFR8N-VK    

Handle 0x1102, DMI type 17, 40 bytes
Memory Device
\tArray Handle: 0x1000
\tSize: 32 GB
\tLocator: D1
\tBank Locator: 1
\tType: <OUT OF SPEC>
\tSpeed: 2666 MT/s
\tManufacturer: <BAD INDEX>
\tSerial Number: 1A2B3C4D
\tAsset Tag: Not Specified
\tPart Number: MTC20F2085S1RC48BA1

Handle 0x1103, DMI type 17, 40 bytes
Memory Device
\tArray Handle: 0x1001
\tSize: 4 MB
\tLocator: SPI
\tBank Locator: BIOS
\tType: Flash
\tSpeed: 2666 MT/s
\tManufacturer: Winbond
\tSerial Number: 00000000
\tAsset Tag: Not Specified
\tPart Number: W25Q32

Handle 0x3900, DMI type 39, 22 bytes
System Power Supply
\tPower Unit Group: 1
\tLocation: PSU1
\tName: PWS-801P-1R
\tManufacturer: SUPERMICRO
\tSerial Number: P801PCH10A00001
\tAsset Tag: Not Specified
\tModel Part Number: PWS-801P-1R---
\tRevision: 1.2
\tMax Power Capacity: 800 W
\tStatus: Present, OK
\tType: Switching
\tInput Voltage Range Switching: Auto-switch
\tPlugged: Yes
\tHot Replaceable: Yes
\tInput Voltage Probe Handle: 0x0035
\tCooling Device Handle: 0x0037
\tInput Current Probe Handle: 0x0038

Handle 0x3901, DMI type 39, 22 bytes
System Power Supply
\tPower Unit Group: 1
\tLocation: PSU2
\tName: PWS-801P-1R
\tManufacturer: SUPERMICRO
\tSerial Number: To Be Filled By O.E.M.
\tAsset Tag: Not Specified
\tModel Part Number: PWS-801P-1R
\tRevision: 1.2
\tMax Power Capacity: Unknown
\tStatus: Present, Critical
\tType: Switching
\tInput Voltage Range Switching: Auto-switch
\tPlugged: Yes
\tHot Replaceable: Yes
\tInput Voltage Probe Handle: 0x0035
\tCooling Device Handle: 0x0037
\tInput Current Probe Handle: 0x0038

Handle 0x3902, DMI type 39, 22 bytes
System Power Supply
\tPower Unit Group: 1
\tLocation: PSU3
\tName: Not Specified
\tManufacturer: Not Specified
\tSerial Number: Not Specified
\tAsset Tag: Not Specified
\tModel Part Number: Not Specified
\tRevision: Not Specified
\tMax Power Capacity: Unknown
\tStatus: Not Present
\tType: Unknown
\tInput Voltage Range Switching: Unknown
\tPlugged: Yes
\tHot Replaceable: Yes
\tInput Voltage Probe Handle: 0x0035
\tCooling Device Handle: 0x0037
\tInput Current Probe Handle: 0x0038

Handle 0x3903, DMI type 39, 12 bytes
System Power Supply

Handle 0x7F00, DMI type 127, 4 bytes
End Of Table
";

#[test]
fn quirks_decode_the_same_from_the_table_and_from_dmidecode() {
    let from_raw = raw::parse(&quirks_table(), Some((3, 2)));
    let from_text = text::parse(QUIRKS_TEXT);
    assert_eq!(from_raw.bios, from_text.bios);
    assert_eq!(from_raw.chassis, from_text.chassis);
    assert_eq!(from_raw.memory_arrays, from_text.memory_arrays);
    assert_eq!(from_raw.memory_devices, from_text.memory_devices);
    assert_eq!(from_raw.power_supplies, from_text.power_supplies);
}

#[test]
fn markers_and_bad_indexes_are_null() {
    for s in [raw::parse(&quirks_table(), Some((3, 2))), text::parse(QUIRKS_TEXT)] {
        let bios = s.bios.as_ref().unwrap();
        assert_eq!((bios.vendor.as_deref(), bios.version.as_deref()), (Some("Dell Inc."), None));
        let chassis = s.chassis.as_ref().unwrap();
        assert_eq!((chassis.chassis_type.as_deref(), chassis.serial_number.as_deref()), (None, None));
        assert_eq!(s.memory_devices[2].manufacturer, None);
    }
}

#[test]
fn banks_part_numbers_and_types_of_modules() {
    for s in [raw::parse(&quirks_table(), Some((3, 2))), text::parse(QUIRKS_TEXT)] {
        let d = &s.memory_devices;
        // A numeric bank is a name, not an all-zeros serial.
        let banks: Vec<_> = d.iter().map(|m| m.bank_locator.as_deref()).collect();
        assert_eq!(banks, [Some("0"), Some("1"), Some("1"), Some("BIOS")]);
        // Padding is not part of the part number.
        assert_eq!(d[0].part_number.as_deref(), Some("M393A2K40BB1-CRC"));
        assert_eq!(d[1].part_number.as_deref(), Some("HMA82GR7AFR8N-VK"));
        // Other, Unknown and out-of-spec types: the part number says DDR4, DDR4, DDR5.
        let types: Vec<_> = d.iter().map(|m| m.memory_type.as_deref()).collect();
        assert_eq!(types, [Some("DDR4"), Some("DDR4"), Some("DDR5"), Some("Flash")]);
        assert_eq!(
            d.iter().map(|m| m.array_handle).collect::<Vec<_>>(),
            [Some(0x1000); 3].into_iter().chain([Some(0x1001)]).collect::<Vec<_>>()
        );
        // The flash chip is a Memory Device, but not RAM.
        let ram: Vec<_> = s.system_memory_devices().map(|m| m.locator.as_deref()).collect();
        assert_eq!(ram, [Some("D0"), Some("D0"), Some("D1")]);
    }
}

#[test]
fn power_supplies_from_type_39() {
    for s in [raw::parse(&quirks_table(), Some((3, 2))), text::parse(QUIRKS_TEXT)] {
        let p = &s.power_supplies;
        assert_eq!(p.len(), 3, "the 12-byte structure is no power supply: {p:#?}");
        assert_eq!(
            p[0],
            PowerSupplyInfo {
                location: Some("PSU1".into()),
                name: Some("PWS-801P-1R".into()),
                manufacturer: Some("SUPERMICRO".into()),
                serial_number: Some("P801PCH10A00001".into()),
                part_number: Some("PWS-801P-1R".into()),
                revision: Some("1.2".into()),
                max_power_w: Some(800),
                present: Some(true),
                status: Some("OK".into()),
                hot_replaceable: Some(true),
            }
        );
        assert_eq!((p[1].serial_number.as_deref(), p[1].max_power_w), (None, None));
        assert_eq!(p[1].status.as_deref(), Some("Critical"));
        assert_eq!((p[2].location.as_deref(), p[2].present, p[2].status.as_deref()), (Some("PSU3"), Some(false), None));
        assert_eq!(p[2].name, None);
    }
}

#[test]
fn a_table_cut_inside_a_power_supply_says_so() {
    let t = quirks_table();
    // Cut in the middle of the first type 39's formatted part, then inside its strings.
    let start = t.windows(4).position(|w| w == [39, 22, 0x00, 0x39]).expect("the first type 39");
    for cut in [start + 10, start + 26] {
        let decoded = raw::parse_detailed(&t[..cut], Some((3, 2)));
        assert_eq!(decoded.truncated_at, Some(start), "cut at {cut}");
        assert!(decoded.smbios.power_supplies.is_empty());
        assert_eq!(decoded.smbios.memory_devices.len(), 4, "what came before the cut is kept");
    }
    assert_eq!(raw::parse_detailed(&t, Some((3, 2))).truncated_at, None);
}
