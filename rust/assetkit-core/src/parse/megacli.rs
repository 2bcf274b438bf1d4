//! `MegaCli -PDList -aALL` -> the physical drives behind LSI/Avago/Broadcom MegaRAID controllers.
//!
//! The drive's vendor, model and serial only appear mashed together in `Inquiry Data`, in one of
//! two layouts: SCSI (`VENDOR__ PRODUCT_________ REV_SERIAL`, vendor 8 + product 16 + firmware
//! revision, then the serial) for SAS drives, and ATA (`SERIAL______________MODEL...FIRMWARE`,
//! serial 20 + model 40) for SATA drives attached directly.

use super::leading_u64;
use crate::model::Disk;
use crate::placeholder::clean;

/// One `Enclosure Device ID` ... block, raw.
#[derive(Debug, Clone, Default, PartialEq)]
struct Block {
    adapter: u32,
    enclosure: Option<String>,
    slot: Option<String>,
    pd_type: Option<String>,
    raw_size: Option<String>,
    firmware_state: Option<String>,
    firmware_level: Option<String>,
    inquiry: Option<String>,
    media_type: Option<String>,
}

/// Parses the whole output into disks, in output order.
pub fn parse(text: &str) -> Vec<Disk> {
    blocks(text).into_iter().filter(|b| b.slot.is_some()).map(|b| to_disk(&b)).collect()
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut adapter = 0;
    let mut current: Option<Block> = None;
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.trim().strip_prefix("Adapter #") {
            adapter = leading_u64(rest).unwrap_or(0) as u32;
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        let value = value.trim();
        if key == "Enclosure Device ID" {
            out.extend(current.take());
            current = Some(Block { adapter, enclosure: clean(value).filter(|v| v != "N/A"), ..Block::default() });
            continue;
        }
        if key == "Slot Number" && current.as_ref().is_none_or(|b| b.slot.is_some()) {
            // Some controllers omit the enclosure line: a new slot starts a new drive.
            out.extend(current.take());
            current = Some(Block { adapter, ..Block::default() });
        }
        let Some(block) = current.as_mut() else {
            continue;
        };
        let value = Some(value.to_owned()).filter(|v| !v.is_empty());
        match key {
            "Slot Number" => block.slot = value,
            "PD Type" => block.pd_type = value,
            "Raw Size" => block.raw_size = value,
            "Firmware state" => block.firmware_state = value,
            "Device Firmware Level" => block.firmware_level = value,
            "Media Type" => block.media_type = value,
            // Keep the inquiry's inner spacing: the layout is positional.
            "Inquiry Data" => {
                block.inquiry = line.split_once(':').map(|(_, v)| v.strip_prefix(' ').unwrap_or(v).to_owned())
            }
            _ => {}
        }
    }
    out.extend(current);
    out
}

fn to_disk(b: &Block) -> Disk {
    let (vendor, model, serial) = b
        .inquiry
        .as_deref()
        .map(|i| split_inquiry(i, b.pd_type.as_deref(), b.firmware_level.as_deref()))
        .unwrap_or_default();
    let slot = b.slot.as_deref().unwrap_or("?");
    let slot = match (&b.enclosure, b.adapter) {
        (Some(enc), 0) => format!("{enc}:{slot}"),
        (Some(enc), a) => format!("a{a}:{enc}:{slot}"),
        (None, 0) => slot.to_owned(),
        (None, a) => format!("a{a}:{slot}"),
    };
    Disk {
        name: None,
        slot: Some(slot),
        model,
        vendor,
        serial_number: serial,
        size_bytes: b.raw_size.as_deref().and_then(raw_size_bytes),
        rotational: b.media_type.as_deref().map(|m| !m.to_ascii_lowercase().contains("solid state")),
        interface: b.pd_type.as_deref().map(str::to_ascii_lowercase),
        firmware: b.firmware_level.as_deref().and_then(clean),
        state: b.firmware_state.as_deref().and_then(clean),
        source: "megacli".to_owned(),
        ..Disk::default()
    }
}

/// "223.570 GB [0x1bf244b0 Sectors]" -> 0x1bf244b0 * 512.
fn raw_size_bytes(value: &str) -> Option<u64> {
    let hex = value.split_once("[0x")?.1.split_whitespace().next()?;
    u64::from_str_radix(hex, 16).ok()?.checked_mul(512)
}

/// Splits the inquiry string into (vendor, model, serial).
fn split_inquiry(
    inquiry: &str,
    pd_type: Option<&str>,
    firmware: Option<&str>,
) -> (Option<String>, Option<String>, Option<String>) {
    let bytes = inquiry.as_bytes();
    let vendor_field = inquiry.get(..8).unwrap_or("").trim();
    let ata_layout =
        pd_type.is_some_and(|t| t.eq_ignore_ascii_case("SATA")) && vendor_field != "ATA" && bytes.len() > 20
            || (pd_type.is_none() && inquiry.get(..20).is_some_and(|s| s.ends_with("  ")));
    if ata_layout {
        let serial = clean(inquiry.get(..20).unwrap_or(""));
        let rest = inquiry.get(20..).unwrap_or("");
        let model_field = rest.get(..40.min(rest.len())).unwrap_or(rest);
        let (vendor, model) = match model_field.trim().split_once(' ') {
            Some((v, m)) if is_known_vendor(v) => (clean(v), clean(m)),
            _ => (None, clean(model_field)),
        };
        return (vendor, model, serial);
    }
    // SCSI layout: vendor (8), product (16), then firmware revision glued to the serial.
    let vendor = clean(vendor_field).filter(|v| v != "ATA");
    let model = clean(inquiry.get(8..24).unwrap_or(""));
    let tail = inquiry.get(24..).unwrap_or("").trim();
    let serial = match firmware.map(str::trim).filter(|f| !f.is_empty()) {
        Some(fw) if tail.starts_with(fw) && tail.len() > fw.len() => clean(&tail[fw.len()..]),
        Some(fw) if tail.ends_with(fw) && tail.len() > fw.len() => clean(&tail[..tail.len() - fw.len()]),
        _ => clean(tail.split_whitespace().last().unwrap_or("")),
    };
    (vendor, model, serial)
}

fn is_known_vendor(word: &str) -> bool {
    const VENDORS: &[&str] = &[
        "INTEL", "SAMSUNG", "MICRON", "KINGSTON", "TOSHIBA", "WDC", "SEAGATE", "HGST", "HITACHI", "CRUCIAL", "SANDISK",
        "LITEON", "ADATA", "SKHYNIX",
    ];
    VENDORS.contains(&word.to_ascii_uppercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scsi_inquiry_uses_firmware_level() {
        let (v, m, s) = split_inquiry("HGST    HUC101212CSS600 U5E0KZGLE2EE            ", Some("SAS"), Some("U5E0"));
        assert_eq!(
            (v.as_deref(), m.as_deref(), s.as_deref()),
            (Some("HGST"), Some("HUC101212CSS600"), Some("KZGLE2EE"))
        );
    }

    #[test]
    fn ata_inquiry_serial_first() {
        let (v, m, s) = split_inquiry(
            "CVCV31700005240FGN  INTEL SSDSC2CW240A3                     400i    ",
            Some("SATA"),
            Some("400i"),
        );
        assert_eq!(
            (v.as_deref(), m.as_deref(), s.as_deref()),
            (Some("INTEL"), Some("SSDSC2CW240A3"), Some("CVCV31700005240FGN"))
        );
        let (v, m, s) = split_inquiry(
            "BTYG95130FL3480BGN  SSDSC2KG480G8R                          XCV1DL65",
            Some("SATA"),
            Some("DL65"),
        );
        assert_eq!((v, m.as_deref(), s.as_deref()), (None, Some("SSDSC2KG480G8R"), Some("BTYG95130FL3480BGN")));
    }

    #[test]
    fn raw_size_from_sectors() {
        assert_eq!(raw_size_bytes("223.570 GB [0x1bf244b0 Sectors]"), Some(0x1bf244b0 * 512));
        assert_eq!(raw_size_bytes("garbage"), None);
    }
}
