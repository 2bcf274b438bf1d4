//! Names from pci.ids (`/usr/share/misc/pci.ids`, `/usr/share/hwdata/pci.ids`): one vendor's
//! line and one device's line, found in a single bounded pass.
//!
//! The format: `vvvv  Vendor name` at the start of a line, `\tdddd  Device name` under it,
//! `\t\tssss ssss  Subsystem` under that, `#` comments, and the class list (`C xx  Class`) after
//! every vendor.

/// Lines read at most: pci.ids has about 40,000; a file ten times that is not pci.ids.
const MAX_LINES: usize = 400_000;

/// The vendor and device names of `vendor:device` (lower-case hex, no "0x").
pub fn lookup(text: &str, vendor: &str, device: &str) -> (Option<String>, Option<String>) {
    let mut vendor_name = None;
    for line in text.lines().take(MAX_LINES) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if line.starts_with("C ") {
            break; // the class list: no vendor follows
        }
        match (line.strip_prefix('\t'), &vendor_name) {
            // A vendor line.
            (None, Some(_)) => break,
            (None, None) => {
                if let Some(name) = entry(line, vendor) {
                    vendor_name = Some(name);
                }
            }
            (Some(sub), Some(_)) if !sub.starts_with('\t') => {
                if let Some(name) = entry(sub, device) {
                    return (vendor_name, Some(name));
                }
            }
            _ => {}
        }
    }
    (vendor_name, None)
}

/// "10de  NVIDIA Corporation" with id "10de" -> "NVIDIA Corporation".
fn entry(line: &str, id: &str) -> Option<String> {
    let (code, name) = line.split_once(char::is_whitespace)?;
    (code.eq_ignore_ascii_case(id)).then(|| name.trim().to_owned()).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &str = "# comment\n10de  NVIDIA Corporation\n\t1eb8  TU104GL [Tesla T4]\n\t\t10de 12a2  T4 16GB\n\
                       \t20b0  GA100 [A100 SXM4 40GB]\n1af4  Red Hat, Inc.\n\t1eb8  not this one\nC 03  Display controller\n";

    #[test]
    fn finds_vendor_and_device_under_it() {
        assert_eq!(
            lookup(IDS, "10de", "20b0"),
            (Some("NVIDIA Corporation".into()), Some("GA100 [A100 SXM4 40GB]".into()))
        );
        assert_eq!(lookup(IDS, "1af4", "1eb8"), (Some("Red Hat, Inc.".into()), Some("not this one".into())));
        assert_eq!(lookup(IDS, "10de", "ffff"), (Some("NVIDIA Corporation".into()), None));
        assert_eq!(lookup(IDS, "abcd", "1eb8"), (None, None));
    }
}
