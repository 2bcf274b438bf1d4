//! SMBIOS cases found wrong on real machines, through the collectors: non-RAM memory arrays,
//! empty system serials, Lenovo's machine type, and power supplies from a table read in part.
//!
//! Where the shared captures hold the case, the test starts from one; the Lenovo layout and the
//! flash array are in none of them, so those records are written here as dmidecode prints them.

use crate::support::{Snap, fixtures};

fn dmidecode(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("raw/dmidecode").join(name)).unwrap()
}

fn error_for<'a>(report: &'a assetkit_core::Report, plugin: &str) -> Option<&'a str> {
    report.errors.iter().find(|e| e.plugin == plugin).map(|e| e.message.as_str())
}

/// A BIOS flash chip in its own "Flash Memory" array, as dmidecode prints it (the layout of
/// HP and Supermicro boards that list their SPI flash).
const FLASH_ARRAY: &str = "
Handle 0x1F00, DMI type 16, 23 bytes
Physical Memory Array
\tLocation: System Board Or Motherboard
\tUse: Flash Memory
\tError Correction Type: None
\tMaximum Capacity: 4 MB
\tError Information Handle: Not Provided
\tNumber Of Devices: 1

Handle 0x1F01, DMI type 17, 40 bytes
Memory Device
\tArray Handle: 0x1F00
\tError Information Handle: Not Provided
\tTotal Width: 8 bits
\tData Width: 8 bits
\tSize: 4 MB
\tForm Factor: Chip
\tSet: None
\tLocator: SPI FLASH
\tBank Locator: Not Specified
\tType: Flash
\tType Detail: Non-Volatile
\tSpeed: 33 MT/s
\tManufacturer: Winbond
\tSerial Number: Not Specified
\tAsset Tag: Not Specified
\tPart Number: W25Q32
";

#[test]
fn a_flash_chip_is_not_ram() {
    // dell-r640: 24 slots, 8 x 32 GiB. The same host with its BIOS flash listed as well.
    let capture = dmidecode("dell-r640");
    let at = capture.find("\nHandle 0xFEFF, DMI type 127").expect("End Of Table");
    let with_flash = format!("{}{FLASH_ARRAY}{}", &capture[..at], &capture[at..]);
    let snap = Snap::new();
    snap.command("dmidecode", with_flash);
    let report = snap.collect(&["memory"]);
    let memory = report.facts.memory.as_ref().unwrap();
    assert_eq!((memory.slots, memory.total_bytes), (Some(24), Some(256 << 30)), "{:?}", report.errors);
    let modules = memory.modules.as_ref().unwrap();
    assert_eq!(modules.len(), 8);
    assert!(modules.iter().all(|m| m.slot.as_deref() != Some("SPI FLASH")));
}

#[test]
fn an_empty_system_serial_falls_back_to_the_chassis_serial() {
    // dell-r640 with its type 1 serial left empty: the service tag is still on the chassis.
    let capture = dmidecode("dell-r640").replacen("\tSerial Number: 2RJF153\n", "\tSerial Number:  \n", 1);
    let snap = Snap::new();
    snap.command("dmidecode", capture);
    let system = snap.collect(&["board"]).facts.system.unwrap();
    assert_eq!(system.serial_number.as_deref(), Some("2RJF153"));
    assert_eq!(system.chassis_serial_number.as_deref(), Some("2RJF153"));
    // The same from /sys/class/dmi/id, where a placeholder is as good as empty.
    let snap = Snap::new();
    snap.file("/sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
    snap.file("/sys/class/dmi/id/product_serial", "To Be Filled By O.E.M.\n");
    snap.file("/sys/class/dmi/id/chassis_serial", "2RJF153\n");
    let system = snap.collect(&["board"]).facts.system.unwrap();
    assert_eq!(system.serial_number.as_deref(), Some("2RJF153"));
    // A real system serial wins over a different chassis serial (sun-x2200-m2).
    let snap = Snap::new();
    snap.command("dmidecode", dmidecode("sun-x2200-m2"));
    let system = snap.collect(&["board"]).facts.system.unwrap();
    assert_eq!(system.serial_number.as_deref(), Some("0732QBT057"));
    assert_eq!(system.chassis_serial_number.as_deref(), Some("QTFCKS717058B"));
}

/// Type 1 of a Lenovo desktop or laptop: machine type-model in Product Name, model in Version.
fn lenovo(product: &str, version: &str, sku: &str) -> String {
    format!(
        "# dmidecode 3.3\nGetting SMBIOS data from sysfs.\nSMBIOS 2.8 present.\n\n\
         Handle 0x0001, DMI type 1, 27 bytes\nSystem Information\n\tManufacturer: LENOVO\n\
         \tProduct Name: {product}\n\tVersion: {version}\n\tSerial Number: PC0ABCDE\n\
         \tUUID: 4a8e4f80-2c5e-11b2-a85c-8f2a1b3c4d5e\n\tWake-up Type: Power Switch\n\
         \tSKU Number: {sku}\n\tFamily: To be filled by O.E.M.\n\n\
         Handle 0x0003, DMI type 3, 22 bytes\nChassis Information\n\tManufacturer: LENOVO\n\
         \tType: Tower\n\tSerial Number: PC0ABCDE\n"
    )
}

#[test]
fn lenovo_model_is_the_product_name_and_the_machine_type_the_sku() {
    let board = |text: String| {
        let snap = Snap::new();
        snap.command("dmidecode", text);
        snap.collect(&["board"]).facts.system.unwrap()
    };
    // A ThinkCentre M93p, machine type 10A9 (psu-Workstation_Lenovo_10A9004TFR is one), no SKU.
    let s = board(lenovo("10A9004TFR", "ThinkCentre M93p", "To Be Filled By O.E.M."));
    assert_eq!((s.product_name.as_deref(), s.sku.as_deref()), (Some("ThinkCentre M93p"), Some("10A9004TFR")));
    // A ThinkPad whose SKU is filled keeps it.
    let s = board(lenovo("20HRCTO1WW", "ThinkPad X1 Carbon 5th", "LENOVO_MT_20HR_BU_Think_FM_ThinkPad X1 Carbon 5th"));
    assert_eq!(s.product_name.as_deref(), Some("ThinkPad X1 Carbon 5th"));
    assert_eq!(s.sku.as_deref(), Some("LENOVO_MT_20HR_BU_Think_FM_ThinkPad X1 Carbon 5th"));
    // IdeaPad and Yoga the same.
    assert_eq!(
        board(lenovo("81DE", "Lenovo ideapad 330-15IKB", "")).product_name.as_deref(),
        Some("Lenovo ideapad 330-15IKB")
    );
    assert_eq!(board(lenovo("80VF", "YOGA 920-13IKB", "")).product_name.as_deref(), Some("YOGA 920-13IKB"));
    // A ThinkSystem server names its model in Product Name and a revision in Version: unchanged.
    let s = board(lenovo("ThinkSystem SR650 -[7X06CTO1WW]-", "07", "7X06CTO1WW"));
    assert_eq!(
        (s.product_name.as_deref(), s.sku.as_deref()),
        (Some("ThinkSystem SR650 -[7X06CTO1WW]-"), Some("7X06CTO1WW"))
    );
    // From /sys/class/dmi/id as well.
    let snap = Snap::new();
    snap.file("/sys/class/dmi/id/sys_vendor", "LENOVO\n");
    snap.file("/sys/class/dmi/id/product_name", "20HRCTO1WW\n");
    snap.file("/sys/class/dmi/id/product_version", "ThinkPad X1 Carbon 5th\n");
    let s = snap.collect(&["board"]).facts.system.unwrap();
    assert_eq!((s.product_name.as_deref(), s.sku.as_deref()), (Some("ThinkPad X1 Carbon 5th"), Some("20HRCTO1WW")));
    // Firmware that already names the model in both fields: nothing to move.
    let s = board(lenovo("ThinkCentre M93p", "ThinkCentre M93p", ""));
    assert_eq!((s.product_name.as_deref(), s.sku.as_deref()), (Some("ThinkCentre M93p"), None));
    // Other vendors' Version is not a model.
    let s = board(lenovo("10A9004TFR", "ThinkCentre M93p", "").replace("LENOVO", "Dell Inc."));
    assert_eq!(s.product_name.as_deref(), Some("10A9004TFR"));
}

#[test]
fn power_supplies_of_a_table_read_in_part_are_unknown_not_gone() {
    // dmidecode cut off before its type 39 records: an error, and no power_supplies section
    // (the receiver then records no removal).
    let full = dmidecode("dell-r640");
    let cut = &full[..full.find("DMI type 39").unwrap()];
    let snap = Snap::new();
    snap.command("dmidecode", cut);
    let report = snap.collect(&["board"]);
    assert!(error_for(&report, "board").is_some_and(|m| m.contains("truncated")), "{:?}", report.errors);
    assert_eq!(report.facts.power_supplies, None);
    // Whole, it has two.
    let snap = Snap::new();
    snap.command("dmidecode", &full);
    assert_eq!(snap.collect(&["board"]).facts.power_supplies.map(|p| p.len()), Some(2));
    // A dmidecode header without a single record (a real capture): no section either.
    let snap = Snap::new();
    snap.command("dmidecode", dmidecode("powersupplies-dmidecode_1"));
    let report = snap.collect(&["board"]);
    assert!(error_for(&report, "board").is_some());
    assert_eq!(report.facts.power_supplies, None);
}

#[test]
fn a_raw_table_cut_inside_a_structure_is_an_error() {
    // A table whose last structure runs past its end: the structures before it are decoded,
    // the report says the table is truncated, and power supplies are unknown.
    let mut table = Vec::new();
    let strings: &[u8] = b"Dell Inc.\0PowerEdge R640\0SN2RJF153\0\0";
    let system = [&[1u8, 27, 0x00, 0x01, 1, 2, 0, 3][..], &[0u8; 16], &[6, 0, 0], strings].concat();
    table.extend_from_slice(&system);
    table.extend_from_slice(&[39, 22, 0x00, 0x39, 1, 1, 2, 3]);
    let snap = Snap::new();
    snap.file("/sys/firmware/dmi/tables/DMI", &table);
    let report = snap.collect(&["board"]);
    let message = error_for(&report, "board").expect("an error entry");
    assert!(message.contains("truncated"), "{message}");
    assert_eq!(report.facts.system.unwrap().product_name.as_deref(), Some("PowerEdge R640"));
    assert_eq!(report.facts.power_supplies, None);
}
