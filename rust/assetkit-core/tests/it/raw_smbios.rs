//! The raw SMBIOS decoder against a table encoded here, and against the dmidecode text decoder.

use assetkit_core::smbios::{raw, text};

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
    // Type 17, SMBIOS 2.3 length (0x1B): 16 GB DDR4 2933, then an empty slot.
    let dimm = |size: u16, strings_present: bool| {
        let mut d = vec![0u8; 0x1B - 4];
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
    assert_eq!(sys.uuid.as_deref(), Some("4C4C4544-0052-4A10-8046-B2C04F313533"));
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

Handle 0x1100, DMI type 17, 27 bytes
Memory Device
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
\tSize: No Module Installed
\tLocator: A2
\tBank Locator: Not Specified
\tType: DDR4
\tSpeed: 2933 MT/s

Handle 0x1102, DMI type 17, 40 bytes
Memory Device
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
