//! `/etc/os-release` (and `/etc/redhat-release` on hosts that predate it).

/// The fields assetkit reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsRelease {
    /// `NAME`.
    pub name: Option<String>,
    /// `VERSION_ID`.
    pub version_id: Option<String>,
    /// `ID`.
    pub id: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
}

/// Parses os-release shell-style assignments: `KEY=value`, `KEY="value"`, `KEY='value'`.
pub fn parse(text: &str) -> OsRelease {
    let mut out = OsRelease::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        let value = (!value.is_empty()).then_some(value);
        match key.trim() {
            "NAME" => out.name = value,
            "VERSION_ID" => out.version_id = value,
            "ID" => out.id = value,
            "PRETTY_NAME" => out.pretty_name = value,
            _ => {}
        }
    }
    out
}

fn unquote(raw: &str) -> String {
    let inner = if raw.len() >= 2
        && ((raw.starts_with('"') && raw.ends_with('"')) || (raw.starts_with('\'') && raw.ends_with('\'')))
    {
        &raw[1..raw.len() - 1]
    } else {
        raw
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// "Red Hat Enterprise Linux Server release 6.2 (Santiago)" -> name, version, id.
pub fn parse_redhat_release(text: &str) -> OsRelease {
    let line = text.lines().next().unwrap_or("").trim();
    let Some((name, rest)) = line.split_once(" release ") else {
        return OsRelease { pretty_name: (!line.is_empty()).then(|| line.to_owned()), ..OsRelease::default() };
    };
    let version = rest.split_whitespace().next().map(str::to_owned);
    let id = if name.starts_with("Red Hat") {
        "rhel"
    } else if name.starts_with("CentOS") {
        "centos"
    } else if name.starts_with("Fedora") {
        "fedora"
    } else {
        ""
    };
    OsRelease {
        name: Some(name.to_owned()),
        version_id: version,
        id: (!id.is_empty()).then(|| id.to_owned()),
        pretty_name: Some(line.to_owned()),
    }
}

/// The fully qualified name for `hostname` from `/etc/hosts`, without any DNS lookup.
pub fn fqdn_from_hosts(hostname: &str, hosts: &str) -> Option<String> {
    if hostname.contains('.') {
        return Some(hostname.to_owned());
    }
    let prefix = format!("{hostname}.");
    hosts.lines().map(|l| l.split('#').next().unwrap_or("")).find_map(|line| {
        let names: Vec<&str> = line.split_whitespace().skip(1).collect();
        if !names.contains(&hostname) && !names.iter().any(|n| n.starts_with(&prefix)) {
            return None;
        }
        names.iter().find(|n| n.starts_with(&prefix)).map(|n| (*n).to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quotes() {
        let r = parse("NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\nPRETTY_NAME='Debian 12'\n");
        assert_eq!(r.name.as_deref(), Some("Debian GNU/Linux"));
        assert_eq!(r.version_id.as_deref(), Some("12"));
        assert_eq!(r.id.as_deref(), Some("debian"));
        assert_eq!(r.pretty_name.as_deref(), Some("Debian 12"));
    }

    #[test]
    fn redhat_release() {
        let r = parse_redhat_release("Red Hat Enterprise Linux Server release 6.2 (Santiago)\n");
        assert_eq!(r.version_id.as_deref(), Some("6.2"));
        assert_eq!(r.id.as_deref(), Some("rhel"));
    }

    #[test]
    fn fqdn_without_dns() {
        let hosts = "127.0.0.1 localhost\n10.0.0.5 web01.dc1.example.com web01\n";
        assert_eq!(fqdn_from_hosts("web01", hosts).as_deref(), Some("web01.dc1.example.com"));
        assert_eq!(fqdn_from_hosts("db01", hosts), None);
        assert_eq!(fqdn_from_hosts("a.b", hosts).as_deref(), Some("a.b"));
    }
}
