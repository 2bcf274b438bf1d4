//! What the RAID tool parsers ([`super::storcli`], [`super::ssacli`], [`super::arcconf`]) share:
//! their result, their error, and the size and slot notations the tools print.

use crate::model::{Disk, RaidController};

/// Controllers and the physical drives behind them, as one tool lists them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Raid {
    /// Controllers, each with its logical drives.
    pub controllers: Vec<RaidController>,
    /// Physical drives, `slot` set, `name` null.
    pub disks: Vec<Disk>,
}

/// A tool's output that cannot be trusted as a whole: reported as the plugin's error rather than
/// read as "these are all the drives".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaidError {
    /// Not the output of the command at all (bad JSON, no controller header).
    #[error("{0}")]
    Invalid(String),
    /// The output stops before its end.
    #[error("{0}")]
    Truncated(String),
    /// The tool ran and said it failed.
    #[error("{0}")]
    Failed(String),
}

/// "10.691 TB", "446.625 GiB", "93.1  GB", "69889 MB" -> bytes, with `binary` saying whether a
/// unit without an `i` counts in powers of 1024 (storcli, arcconf, Smart Array logical drives)
/// or of 1000 (Smart Array physical drives, sold by the decimal terabyte).
pub fn size_bytes(text: &str, binary: bool) -> Option<u64> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    // "69889MB" and "69889 MB" alike.
    let split = first.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(first.len());
    let (number, glued) = first.split_at(split);
    let unit = if glued.is_empty() { words.next().unwrap_or("B") } else { glued };
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let unit = unit.trim_end_matches([',', ')']).to_ascii_uppercase();
    let (power, explicit_binary) = match unit.as_str() {
        "B" | "BYTES" => (0, false),
        "KB" => (1, false),
        "KIB" => (1, true),
        "MB" => (2, false),
        "MIB" => (2, true),
        "GB" => (3, false),
        "GIB" => (3, true),
        "TB" => (4, false),
        "TIB" => (4, true),
        "PB" => (5, false),
        "PIB" => (5, true),
        _ => return None,
    };
    let base: f64 = if binary || explicit_binary { 1024.0 } else { 1000.0 };
    let bytes = (value * base.powi(power)).round();
    (bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// "10.692 TB [0x558a00000 Sectors]" -> the sector count.
pub fn sectors(text: &str) -> Option<u64> {
    let hex = text.split_once("[0x")?.1.split(|c: char| !c.is_ascii_hexdigit()).next()?;
    u64::from_str_radix(hex, 16).ok()
}

/// "512B", "4 KB", "4 KiB" -> bytes per sector.
pub fn sector_size(text: &str) -> Option<u64> {
    size_bytes(text, true).filter(|s| (512..=65536).contains(s))
}

/// A field as the tool printed it, trimmed and with inner runs of spaces collapsed; `None` for
/// the tools' "no value" marks. Unlike [`crate::placeholder::clean`], masked serials (`xxx`,
/// `REDACTED`) and states such as "Not Installed" are data here and pass through.
pub fn field(raw: &str) -> Option<String> {
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.to_ascii_lowercase().as_str() {
        "" | "-" | "n/a" | "na" | "unavailable" | "unknown" | "none" => None,
        _ => Some(collapsed),
    }
}

/// The slot of a drive: the drive's own notation alone on the first controller, prefixed by the
/// controller beyond it (as MegaCli slots are), so that two controllers' "1I:1:1" stay apart.
pub fn slot(prefix: Option<&str>, local: &str) -> String {
    match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size_bytes("69889 MB", true), Some(69889 << 20));
        assert_eq!(size_bytes("2861588MB", true), Some(2861588 << 20));
        assert_eq!(size_bytes("446.625 GiB", false), Some(479_559_942_144));
        assert_eq!(size_bytes("1.9 TB", false), Some(1_900_000_000_000));
        assert_eq!(size_bytes("93.1  GB", true), Some(99_965_363_814));
        assert_eq!(size_bytes("garbage", true), None);
        assert_eq!(size_bytes("1e400 TB", true), None);
        assert_eq!(sectors("10.692 TB [0x558a00000 Sectors]"), Some(0x558a00000));
        assert_eq!(sector_size("4 KB"), Some(4096));
        assert_eq!(sector_size("512B"), Some(512));
    }
}
