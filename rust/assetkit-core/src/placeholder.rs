//! Vendor placeholder strings ("To Be Filled By O.E.M.", "SerNum0", all zeros) become `None`.
//!
//! Firmware fills unset SMBIOS strings with junk, and junk serials are the first cause of
//! duplicate or merged assets in every CMDB. One function decides, so that the collectors and the
//! receiver agree on what a real serial is.

/// Trims `raw` and returns it, or `None` when it is empty or a known placeholder.
pub fn clean(raw: &str) -> Option<String> {
    let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    if trimmed.is_empty() || is_placeholder(trimmed) { None } else { Some(collapse_spaces(trimmed)) }
}

/// `clean` for optional input.
pub fn clean_opt(raw: Option<&str>) -> Option<String> {
    raw.and_then(clean)
}

/// True for values that carry no identity.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty() {
        return true;
    }
    const EXACT: &[&str] = &[
        "to be filled by o.e.m.",
        "to be filled by o.e.m",
        "to be filled by oem",
        "tbd by oem",
        "not specified",
        "not available",
        "not applicable",
        "not provided",
        "not settable",
        "not present",
        "not defined",
        "not installed",
        "no module installed",
        "unknown",
        "undefined",
        "none",
        "null",
        "n/a",
        "na",
        "default string",
        "default",
        "system serial number",
        "system product name",
        "system manufacturer",
        "system version",
        "system name",
        "base board serial number",
        "base board product name",
        "baseboard serial number",
        "chassis serial number",
        "chassis manufacture",
        "serial number",
        "serial",
        "invalid",
        "empty",
        "o.e.m.",
        "oem",
        "oem_serial",
        "123456789",
        "1234567890",
        "0123456789",
        "01234567890",
        "xxxxxxxxxx",
        "03000200-0400-0500-0006-000700080009",
        "sku=notprovided;modelname=",
    ];
    if EXACT.contains(&v.as_str()) {
        return true;
    }
    // Memory SPD placeholders: SerNum0, PartNum3, Manufacturer01, AssetTagNum2, Module0SerNum...
    let stem = v.trim_end_matches(|c: char| c.is_ascii_digit());
    const STEMS: &[&str] = &[
        "sernum",
        "serial",
        "partnum",
        "modulepartnumber",
        "moduleserialnumber",
        "manufacturer",
        "assettagnum",
        "assettag",
    ];
    if stem.len() < v.len() && STEMS.contains(&stem) {
        return true;
    }
    if v.starts_with("module") && v.ends_with("sernum") {
        return true;
    }
    // All zeros, all Fs, only separators: "0", "00000000", "FFFFFFFF-FFFF-...", "........".
    let significant: Vec<char> = v.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | ':' | '_')).collect();
    if significant.is_empty() {
        return true;
    }
    let first = significant[0];
    if (first == '0' || first == 'f' || first == 'x' || first == '*') && significant.iter().all(|&c| c == first) {
        return true;
    }
    false
}

fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_placeholders_are_removed() {
        for junk in [
            "To Be Filled By O.E.M.",
            "To be filled by O.E.M.",
            "Not Specified",
            "System Serial Number",
            "Default string",
            "0000000",
            "0",
            "SerNum0",
            "SerNum12",
            "PartNum3",
            "Manufacturer01",
            "Module3SerNum",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "00000000-0000-0000-0000-000000000000",
            "03000200-0400-0500-0006-000700080009",
            "  ",
            "........",
            "Not Settable",
        ] {
            assert_eq!(clean(junk), None, "{junk:?} should be a placeholder");
        }
    }

    #[test]
    fn real_values_survive_and_are_trimmed() {
        assert_eq!(clean(" 2RJF153 ").as_deref(), Some("2RJF153"));
        assert_eq!(clean("VMware-42 30 bf 6a").as_deref(), Some("VMware-42 30 bf 6a"));
        assert_eq!(clean("Intel(R)  Xeon(R)   CPU").as_deref(), Some("Intel(R) Xeon(R) CPU"));
        assert_eq!(clean("CZ3213").as_deref(), Some("CZ3213"));
        assert_eq!(clean("0x2C00").as_deref(), Some("0x2C00"));
        assert_eq!(clean("DIMM_A1").as_deref(), Some("DIMM_A1"));
        assert_eq!(clean("DIMM0").as_deref(), Some("DIMM0"));
        assert_eq!(clean("10000000").as_deref(), Some("10000000"));
    }
}
