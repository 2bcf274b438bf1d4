//! Vendor placeholder strings ("To Be Filled By O.E.M.", "SerNum0", all zeros) become `None`.
//!
//! Firmware fills unset SMBIOS strings with junk, and junk serials are the first cause of
//! duplicate or merged assets in every CMDB. One function decides, so that the collectors and the
//! receiver agree on what a real serial is.
//!
//! Names are not serials: a slot called "0" is a slot, while a serial "0" is junk. [`clean`] is
//! for identifiers (serials, part numbers, vendors, models); [`clean_label`] is for locators and
//! bank names, and drops only the phrases that mean "no value".

/// Trims `raw` and returns it, or `None` when it is empty or a known placeholder.
pub fn clean(raw: &str) -> Option<String> {
    let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    if trimmed.is_empty() || is_placeholder(trimmed) { None } else { Some(collapse_spaces(trimmed)) }
}

/// [`clean`] for names and locators ("DIMM 0", bank "0", "PSU1"): only empty values, "no
/// value" phrases and dmidecode's markers are dropped; digits alone are kept.
pub fn clean_label(raw: &str) -> Option<String> {
    let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let lower = trimmed.to_ascii_lowercase();
    if trimmed.is_empty() || is_no_value_phrase(&lower) || has_dmidecode_marker(&lower) {
        None
    } else {
        Some(collapse_spaces(trimmed))
    }
}

/// [`clean`] for part numbers, which SPD pads to 18 or 20 bytes with spaces and, on some
/// modules, with dashes ("M393A2K40BB1-CRC----").
pub fn clean_part_number(raw: &str) -> Option<String> {
    clean(raw.trim_end_matches(|c: char| c == '-' || c.is_whitespace() || c == '\0'))
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
    if is_no_value_phrase(&v) || has_dmidecode_marker(&v) {
        return true;
    }
    // Memory SPD placeholders: SerNum0, PartNum3, Manufacturer01, AssetTagNum2, Module0SerNum...
    let stem = v.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() < v.len() && SPD_STEMS.contains(&stem) {
        return true;
    }
    if v.starts_with("module") && v.ends_with("sernum") {
        return true;
    }
    // All zeros, all Fs, only separators: "0", "00000000", "FFFFFFFF-FFFF-...", "........".
    let significant: Vec<char> = v.chars().filter(|c| !SEPARATORS.contains(c)).collect();
    if significant.is_empty() {
        return true;
    }
    let first = significant[0];
    if (first == '0' || first == 'f' || first == 'x' || first == '*') && significant.iter().all(|&c| c == first) {
        return true;
    }
    false
}

/// The SPD stems that, followed by digits, are placeholders ("SerNum0", "PartNum3").
const SPD_STEMS: &[&str] = &[
    "sernum",
    "serial",
    "partnum",
    "modulepartnumber",
    "moduleserialnumber",
    "manufacturer",
    "assettagnum",
    "assettag",
];

/// What separates the characters of "0000-0000" or "FF:FF": ignored by the repeated-character rule.
const SEPARATORS: &[char] = &[' ', '-', '.', ':', '_'];

/// dmidecode's markers, lower case.
const DMIDECODE_MARKERS: &[&str] = &["<bad index>", "<out of spec>", "<out of space>"];

/// [`is_placeholder`] (after the receiver's `trim`) as a JSON Schema pattern: the report
/// schema's `#/$defs/placeholder_serial`, tested to be exactly this and to agree with
/// [`is_placeholder`] on a corpus. The schema cannot call this function, so a client that
/// validates against it learns the rule from the pattern. Written for the subset that
/// ECMA-262, Python's `re` and Rust's `regex` read alike: no flags, ASCII case by classes,
/// white space spelled out as Rust's `char::is_whitespace` has it.
pub fn serial_pattern() -> String {
    const WS: &str = "[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]";
    let sep = "[ .:_-]";
    debug_assert!(SEPARATORS.iter().all(|c| sep.contains(*c)));
    let phrases: Vec<String> = NO_VALUE_PHRASES.iter().map(|p| case_insensitive_literal(p)).collect();
    let stems: Vec<String> = SPD_STEMS.iter().map(|p| case_insensitive_literal(p)).collect();
    let repeated: Vec<String> = ["0", "[Ff]", "[Xx]", "\\*"].iter().map(|c| format!("(?:{c}{sep}*)*")).collect();
    let markers: Vec<String> = DMIDECODE_MARKERS.iter().map(|m| case_insensitive_literal(m)).collect();
    let whole = [
        phrases.join("|"),
        format!("{}{WS}*[0-9]*", case_insensitive_literal("oem define")),
        format!("(?:{})[0-9]+", stems.join("|")),
        format!("{}[\\s\\S]*{}", case_insensitive_literal("module"), case_insensitive_literal("sernum")),
        format!("{sep}*(?:{})", repeated.join("|")),
    ];
    format!("^{WS}*(?:{}){WS}*$|{}", whole.join("|"), markers.join("|"))
}

/// `text` as a pattern that matches it regardless of ASCII case: letters as `[Xx]`, the
/// characters that are special in a pattern escaped.
pub(crate) fn case_insensitive_literal(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            out.push('[');
            out.push(c.to_ascii_uppercase());
            out.push(c.to_ascii_lowercase());
            out.push(']');
        } else {
            if "\\.+*?()|[]{}^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// Phrases firmware writes where a string is unset, lower case.
const NO_VALUE_PHRASES: &[&str] = &[
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
    "psu serial",
    "123456789",
    "1234567890",
    "0123456789",
    "01234567890",
    "xxxxxxxxxx",
    "03000200-0400-0500-0006-000700080009",
    "sku=notprovided;modelname=",
];

/// "No value" phrases firmware writes where a string is unset, lower case.
fn is_no_value_phrase(v: &str) -> bool {
    if NO_VALUE_PHRASES.contains(&v) {
        return true;
    }
    // "OEM Define 0".."OEM Define 6": AMI's template for unset strings (System Power Supply).
    v.strip_prefix("oem define").is_some_and(|n| n.trim().chars().all(|c| c.is_ascii_digit()))
}

/// dmidecode prints a marker where it could not decode a value: `<BAD INDEX>` (a string index
/// past the structure's strings), `<OUT OF SPEC>` (a code the specification does not define) and
/// `<OUT OF SPACE>`. None of them is data, and neither is a value holding one ("x16 <OUT OF
/// SPEC>").
fn has_dmidecode_marker(v: &str) -> bool {
    DMIDECODE_MARKERS.iter().any(|m| v.contains(m))
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
    fn dmidecode_markers_are_never_data() {
        for marker in
            ["<BAD INDEX>", "<OUT OF SPEC>", "<OUT OF SPACE>", "x16 <OUT OF SPEC>", "<OUT OF SPEC><OUT OF SPEC>"]
        {
            assert_eq!(clean(marker), None, "{marker}");
            assert_eq!(clean_label(marker), None, "{marker}");
            assert_eq!(clean_part_number(marker), None, "{marker}");
        }
        for junk in ["OEM Define 3", "PSU Serial", "XXXXX"] {
            assert_eq!(clean(junk), None, "{junk}");
        }
    }

    #[test]
    fn names_are_not_serials() {
        // A bank or slot called "0" is a name; a serial "0" is junk.
        assert_eq!(clean_label("0").as_deref(), Some("0"));
        assert_eq!(clean_label(" 00 ").as_deref(), Some("00"));
        assert_eq!(clean_label("PROC  1 DIMM  1 ").as_deref(), Some("PROC 1 DIMM 1"));
        assert_eq!(clean("0"), None);
        for no_value in ["Not Specified", "None", "To Be Filled By O.E.M.", "", "  ", "Unknown", "OEM Define 0"] {
            assert_eq!(clean_label(no_value), None, "{no_value:?}");
        }
    }

    #[test]
    fn part_numbers_lose_their_padding() {
        assert_eq!(clean_part_number("M393A2K40BB1-CRC----").as_deref(), Some("M393A2K40BB1-CRC"));
        assert_eq!(clean_part_number("647650-071          ").as_deref(), Some("647650-071"));
        assert_eq!(clean_part_number("HMA451R7AFR8N-UH  \0\0").as_deref(), Some("HMA451R7AFR8N-UH"));
        assert_eq!(clean_part_number("NT1GT64U88D0BY-AD").as_deref(), Some("NT1GT64U88D0BY-AD"));
        assert_eq!(clean_part_number("--------"), None);
        assert_eq!(clean_part_number("PartNum1"), None);
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
