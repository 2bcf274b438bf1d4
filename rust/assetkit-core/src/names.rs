//! Host names as the inventory accepts them: RFC 1123 names, at most 253 bytes, labels of 1 to 63
//! ASCII letters, digits and inner hyphens. Internationalised names travel as IDNA A-labels
//! (`xn--...`), which are ASCII. One function for the receiver (reports, admin edits) and the
//! agent (what it writes into its cert file), so they can never disagree.

/// Longest name.
pub const MAX_HOSTNAME: usize = 253;
/// Longest label.
pub const MAX_LABEL: usize = 63;

/// What `/proc/sys/kernel/hostname` says when no name was ever set: no name at all.
pub const UNSET: &str = "(none)";

/// The kernel's host name, or `None` while it is unset (`(none)`).
pub fn configured(name: Option<String>) -> Option<String> {
    name.filter(|n| n != UNSET)
}

/// Names that every unconfigured host has: never an identity (compared without regard to case).
pub const PLACEHOLDER_HOSTNAMES: &[&str] =
    &["localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6", UNSET];

/// True for a name in [`PLACEHOLDER_HOSTNAMES`].
pub fn is_placeholder_hostname(name: &str) -> bool {
    PLACEHOLDER_HOSTNAMES.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// [`is_placeholder_hostname`] as a JSON Schema pattern (the report schema's
/// `#/$defs/placeholder_hostname`, tested to be this): so that a client validating against the
/// published schema knows which names identify nothing.
pub fn placeholder_hostname_pattern() -> String {
    let names: Vec<String> =
        PLACEHOLDER_HOSTNAMES.iter().map(|n| crate::placeholder::case_insensitive_literal(n)).collect();
    format!("^(?:{})$", names.join("|"))
}

/// Checks `name`; the error says what is wrong with it, in terms a person can act on.
pub fn check_hostname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > MAX_HOSTNAME {
        return Err(format!("is {} bytes long; the limit is {MAX_HOSTNAME}", name.len()));
    }
    if let Some(c) = name.chars().find(|c| !c.is_ascii()) {
        return Err(format!(
            "contains the non-ASCII character U+{:04X}; write internationalised names as IDNA A-labels (xn--...)",
            c as u32
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_ascii_control()) {
        return Err(format!("contains the control character {:?}", c));
    }
    for (i, label) in name.split('.').enumerate() {
        let n = i + 1;
        if label.is_empty() {
            return Err(format!("label {n} is empty (two dots in a row, or a leading or trailing dot)"));
        }
        if label.len() > MAX_LABEL {
            return Err(format!("label {n} is {} bytes long; the limit is {MAX_LABEL}", label.len()));
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(format!("label {n} contains {c:?}; only letters, digits and hyphens are allowed"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {n} starts or ends with a hyphen"));
        }
    }
    Ok(())
}

/// Checks a value that is about to be handed to ssh (or Ansible, or Salt) as a host to connect
/// to: an IP address or an RFC 1123 host name, nothing else. What hosts report is data, and a
/// leading `-` is an ssh option; this is checked where a value leaves, whatever was checked where
/// it came in.
pub fn check_destination(value: &str) -> Result<(), String> {
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    check_hostname(value).map_err(|why| format!("is neither an IP address nor a host name: it {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names() {
        for ok in ["web01", "web-01.dc1.example.com", "xn--bcher-kva.example", "3com.net", &"a".repeat(63)] {
            assert!(check_hostname(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn bad_names_say_why() {
        let cases = [
            ("", "empty"),
            ("a\0b", "control"),
            ("a\nb", "control"),
            ("web\u{200b}01", "U+200B"),
            ("wеb01", "U+0435"),
            ("a..b", "label 2 is empty"),
            ("a.", "label 2 is empty"),
            ("-a", "hyphen"),
            ("a_b", "'_'"),
        ];
        for (bad, why) in cases {
            let err = check_hostname(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        assert!(check_hostname(&"a".repeat(300)).unwrap_err().contains("300 bytes"));
        assert!(check_hostname(&format!("{}.x", "a".repeat(64))).unwrap_err().contains("label 1 is 64"));
    }

    #[test]
    fn destinations_are_addresses_or_names() {
        for ok in ["10.0.0.1", "::1", "fe80::1", "web01", "web01.dc1.example.com"] {
            assert!(check_destination(ok).is_ok(), "{ok}");
        }
        for bad in ["-oProxyCommand=touch${IFS}/tmp/pwned x", "-l", "web 01", "a;b", "", "10.0.0.1 -oX"] {
            assert!(check_destination(bad).unwrap_err().contains("neither an IP address"), "{bad}");
        }
    }
}
