//! `smartctl -j -i` (smartmontools >= 7.0) or text `smartctl -i` -> one disk's identity.

use super::leading_u64;
use crate::placeholder::clean;

/// Identity fields smartctl reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SmartInfo {
    /// Model ("Device Model", "Model Number", or SCSI "Product").
    pub model: Option<String>,
    /// Vendor (SCSI only).
    pub vendor: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// World Wide Name (`wwn`: NAA, OUI and id; text: `LU WWN Device Id`), as `parse::wwn` spells it.
    pub wwn: Option<String>,
    /// Firmware version / revision.
    pub firmware: Option<String>,
    /// Capacity in bytes.
    pub size_bytes: Option<u64>,
    /// `Some(false)` for "Solid State Device", `Some(true)` for an rpm figure.
    pub rotational: Option<bool>,
    /// "sata", "sas", "nvme", "scsi".
    pub interface: Option<String>,
}

/// Parses either format; `None` when the input names no model or serial at all.
pub fn parse(text: &str) -> Option<SmartInfo> {
    let info = if text.trim_start().starts_with('{') { parse_json(text)? } else { parse_text(text) };
    (info.model.is_some() || info.serial_number.is_some()).then_some(info)
}

fn parse_json(text: &str) -> Option<SmartInfo> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let s = |key: &str| v.get(key).and_then(|x| x.as_str()).and_then(clean);
    let protocol = v.pointer("/device/protocol").and_then(|p| p.as_str()).unwrap_or("");
    let dev_type = v.pointer("/device/type").and_then(|p| p.as_str()).unwrap_or("");
    let interface = match (protocol, dev_type) {
        ("NVMe", _) | (_, "nvme") => Some("nvme"),
        ("ATA", _) => Some("sata"),
        ("SCSI", _) if v.get("scsi_transport_protocol").is_some_and(|t| t.to_string().contains("SAS")) => Some("sas"),
        ("SCSI", _) => Some("scsi"),
        _ => None,
    };
    let size = v
        .pointer("/user_capacity/bytes")
        .and_then(|b| b.as_u64())
        .or_else(|| v.get("nvme_total_capacity").and_then(|b| b.as_u64()));
    let rotational =
        v.get("rotation_rate").and_then(|r| r.as_u64()).map(|r| r > 0).or((interface == Some("nvme")).then_some(false));
    Some(SmartInfo {
        model: s("model_name").or_else(|| s("scsi_model_name")).or_else(|| s("product")),
        vendor: s("vendor").or_else(|| s("scsi_vendor")),
        serial_number: s("serial_number"),
        wwn: v.get("wwn").and_then(|w| {
            let part = |k: &str| w.get(k).and_then(serde_json::Value::as_u64);
            super::wwn::from_parts(part("naa")?, part("oui")?, part("id")?)
        }),
        firmware: s("firmware_version").or_else(|| s("scsi_revision")).or_else(|| s("revision")),
        size_bytes: size.filter(|b| *b > 0),
        rotational,
        interface: interface.map(str::to_owned),
    })
}

fn parse_text(text: &str) -> SmartInfo {
    let mut info = SmartInfo::default();
    for (key, value) in super::key_values(text, ':') {
        match key {
            "Device Model" | "Model Number" | "Product" => info.model = info.model.take().or_else(|| clean(value)),
            "Vendor" => info.vendor = clean(value),
            "Serial Number" | "Serial number" => info.serial_number = clean(value),
            // "5 000c50 0a1b2c3d4": NAA, OUI and id, spaced.
            "LU WWN Device Id" | "Logical Unit id" => {
                info.wwn = super::wwn::normalize(&value.split_whitespace().collect::<String>())
            }
            "Firmware Version" | "Revision" => info.firmware = info.firmware.take().or_else(|| clean(value)),
            "User Capacity" | "Total NVM Capacity" | "Namespace 1 Size/Capacity" if info.size_bytes.is_none() => {
                let before_bytes = value.split("bytes").next().unwrap_or("");
                let digits: String = before_bytes.chars().filter(|c| c.is_ascii_digit()).collect();
                info.size_bytes = digits.parse().ok().filter(|b| *b > 0);
            }
            "Rotation Rate" => {
                info.rotational =
                    if value.contains("Solid State") { Some(false) } else { leading_u64(value).map(|rpm| rpm > 0) };
            }
            "SATA Version is" => info.interface = Some("sata".to_owned()),
            "Transport protocol" if value.contains("SAS") => info.interface = Some("sas".to_owned()),
            "NVMe Version" | "PCI Vendor/Subsystem ID" => info.interface = Some("nvme".to_owned()),
            _ => {}
        }
    }
    if info.interface.as_deref() == Some("nvme") && info.rotational.is_none() {
        info.rotational = Some(false);
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_capacity_with_separators() {
        let t = "Device Model:     SAMSUNG SSD PM800 TM 128GB\nSerial Number:    DFW1W11002SE002B3117\nUser Capacity:    128 035 676 160 bytes\n";
        let i = parse(t).unwrap();
        assert_eq!(i.size_bytes, Some(128_035_676_160));
        assert_eq!(i.serial_number.as_deref(), Some("DFW1W11002SE002B3117"));
    }

    #[test]
    fn json_nvme() {
        let j = r#"{"device":{"name":"/dev/nvme0","type":"nvme","protocol":"NVMe"},"model_name":"Samsung SSD 980 PRO 1TB","serial_number":"S5GXNX0R123456","firmware_version":"5B2QGXA7","nvme_total_capacity":1000204886016}"#;
        let i = parse(j).unwrap();
        assert_eq!(i.interface.as_deref(), Some("nvme"));
        assert_eq!(i.rotational, Some(false));
        assert_eq!(i.size_bytes, Some(1000204886016));
    }
}
