//! World Wide Names and SAS addresses of drives, as each tool spells them, in one form:
//! NAA names (storcli `WWN`, arcconf `World-wide name`, ssacli `WWID`, smartctl's `wwn` object,
//! sysfs `naa.` ids) as lower-case hex without a prefix, so that one drive seen by two tools has
//! one name; NVMe ids (`eui.`, `nvme.`, `uuid.`) keep their prefix, lower case.
//!
//! A value of zeros (an empty bay's, or a tool that had none) or anything that is not hex is no
//! name at all: `None`.

/// The WWN in `raw` ("5000C500A1B2C3D4", "0x5000c500a1b2c3d4", "naa.5000c500a1b2c3d4",
/// "eui.0025388b91b2c3d4"), or `None`.
pub fn normalize(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    for prefix in ["eui.", "nvme.", "uuid."] {
        if let Some(id) = lower.strip_prefix(prefix) {
            let significant = id.chars().any(|c| c.is_ascii_hexdigit() && c != '0');
            let ok = !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            return (ok && significant).then_some(lower);
        }
    }
    let hex = lower.strip_prefix("naa.").or_else(|| lower.strip_prefix("0x")).unwrap_or(&lower);
    hex_id(hex)
}

/// A SAS address ("0x5000c500a1b2c3d5", "5000C500A1B2C3D5") as 16 lower-case hex digits.
pub fn sas_address(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let hex = lower.strip_prefix("0x").unwrap_or(&lower);
    hex_id(hex).filter(|h| h.len() == 16)
}

/// smartctl's `wwn` object: NAA (one hex digit), OUI (six) and the vendor id (nine).
pub fn from_parts(naa: u64, oui: u64, id: u64) -> Option<String> {
    if naa > 0xf || oui > 0xff_ffff || id > 0xf_ffff_ffff {
        return None;
    }
    hex_id(&format!("{naa:x}{oui:06x}{id:09x}"))
}

/// 16 or 32 hex digits, not all zeros.
fn hex_id(hex: &str) -> Option<String> {
    let ok = matches!(hex.len(), 16 | 32) && hex.chars().all(|c| c.is_ascii_hexdigit());
    (ok && hex.chars().any(|c| c != '0')).then(|| hex.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_drive_one_name() {
        let expected = Some("5000c500a1b2c3d4".to_owned());
        for raw in ["5000C500A1B2C3D4", " 0x5000c500a1b2c3d4 ", "naa.5000C500A1B2C3D4"] {
            assert_eq!(normalize(raw), expected, "{raw}");
        }
        assert_eq!(from_parts(5, 0x000c50, 0x0a1b2c3d4), expected);
        assert_eq!(normalize("eui.0025388B91B2C3D4").as_deref(), Some("eui.0025388b91b2c3d4"));
        for junk in ["0000000000000000", "REDACTED", "5000", "", "t10.ATA     INTEL", "eui.0000000000000000"] {
            assert_eq!(normalize(junk), None, "{junk}");
        }
        assert_eq!(sas_address("0x5000C500A1B2C3D5").as_deref(), Some("5000c500a1b2c3d5"));
        assert_eq!(sas_address("0000000000000000"), None);
        assert_eq!(sas_address("5000"), None);
    }
}
