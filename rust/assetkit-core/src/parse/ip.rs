//! `ip -j addr` (iproute2 >= 4.13) or plain `ip addr` output -> links with their addresses.

use crate::model::Address;

/// One link as `ip` shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IpLink {
    /// Interface name, without the `@parent` suffix.
    pub name: String,
    /// MAC address, lower case; `None` for links without one.
    pub mac: Option<String>,
    /// The UP flag is set (or operstate says UP).
    pub up: Option<bool>,
    /// MTU.
    pub mtu: Option<u32>,
    /// "ether", "loopback", "none", ...
    pub link_type: Option<String>,
    /// Addresses in output order.
    pub addresses: Vec<Address>,
}

/// Parses either format. Garbage yields an empty list.
pub fn parse(text: &str) -> Vec<IpLink> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') { parse_json(trimmed) } else { parse_text(text) }
}

fn parse_json(text: &str) -> Vec<IpLink> {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let name = item.get("ifname")?.as_str()?.to_owned();
            let mac = item.get("address").and_then(|v| v.as_str()).map(str::to_ascii_lowercase);
            let flags: Vec<&str> = item
                .get("flags")
                .and_then(|f| f.as_array())
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            let up = if flags.is_empty() {
                item.get("operstate").and_then(|v| v.as_str()).map(|s| s == "UP")
            } else {
                Some(flags.contains(&"UP") && flags.contains(&"LOWER_UP"))
            };
            let addresses = item
                .get("addr_info")
                .and_then(|a| a.as_array())
                .map(|infos| {
                    infos
                        .iter()
                        .filter_map(|info| {
                            Some(Address {
                                family: info.get("family")?.as_str()?.to_owned(),
                                address: info.get("local")?.as_str()?.to_owned(),
                                prefix_len: info.get("prefixlen")?.as_u64()? as u8,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(IpLink {
                name,
                mac: mac.filter(|m| m.len() == 17 && m != "00:00:00:00:00:00"),
                up,
                mtu: item.get("mtu").and_then(|v| v.as_u64()).map(|m| m as u32),
                link_type: item.get("link_type").and_then(|v| v.as_str()).map(str::to_owned),
                addresses,
            })
        })
        .collect()
}

fn parse_text(text: &str) -> Vec<IpLink> {
    let mut links: Vec<IpLink> = Vec::new();
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) {
            // "2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc ... state UP"
            let mut parts = line.splitn(3, ": ");
            let (Some(index), Some(name), rest) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            if index.trim().parse::<u32>().is_err() {
                continue;
            }
            let rest = rest.unwrap_or("");
            let flags = rest.strip_prefix('<').and_then(|r| r.split_once('>')).map(|(f, _)| f).unwrap_or("");
            let flags: Vec<&str> = flags.split(',').collect();
            let words: Vec<&str> = rest.split_whitespace().collect();
            let mtu =
                words.iter().position(|w| *w == "mtu").and_then(|i| words.get(i + 1)).and_then(|m| m.parse().ok());
            links.push(IpLink {
                name: name.split('@').next().unwrap_or(name).trim().to_owned(),
                up: Some(flags.contains(&"UP") && flags.contains(&"LOWER_UP")),
                mtu,
                ..IpLink::default()
            });
            continue;
        }
        let Some(link) = links.last_mut() else {
            continue;
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some(kind) if kind.starts_with("link/") => {
                link.link_type = Some(kind["link/".len()..].to_owned());
                link.mac = words
                    .get(1)
                    .map(|m| m.to_ascii_lowercase())
                    .filter(|m| m.len() == 17 && m.matches(':').count() == 5 && m != "00:00:00:00:00:00");
            }
            Some(family @ ("inet" | "inet6")) => {
                let Some(local) = words.get(1) else { continue };
                // "inet 192.168.41.6 peer 192.168.41.5/32": the prefix belongs to the peer.
                let (address, prefix) = match local.split_once('/') {
                    Some((a, p)) => (a, p.parse().ok()),
                    None => {
                        let peer_prefix = words
                            .iter()
                            .position(|w| *w == "peer")
                            .and_then(|i| words.get(i + 1))
                            .and_then(|p| p.split_once('/'))
                            .and_then(|(_, p)| p.parse().ok());
                        (*local, peer_prefix.or(Some(if family == "inet" { 32 } else { 128 })))
                    }
                };
                if let Some(prefix_len) = prefix {
                    link.addresses.push(Address { family: family.to_owned(), address: address.to_owned(), prefix_len });
                }
            }
            _ => {}
        }
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_text_agree() {
        let json = r#"[{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","link_type":"ether","address":"52:54:00:12:34:56","addr_info":[{"family":"inet","local":"10.0.0.5","prefixlen":24,"scope":"global"}]}]"#;
        let text = "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP qlen 1000\n    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff\n    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\n";
        assert_eq!(parse(json), parse(text));
        assert_eq!(parse(json)[0].addresses[0].prefix_len, 24);
    }

    #[test]
    fn garbage_is_empty() {
        assert!(parse("\u{0}\u{1}binary").is_empty());
        assert!(parse("[{\"nope\":1}]").is_empty());
    }
}
