//! Where a webhook delivery may go. An admin who can add an endpoint must not be able to make
//! the receiver reach what only it can reach: loopback, private and link-local networks, the
//! cloud metadata service. Such destinations are refused unless the operator allows their
//! network (`assetkitd serve --webhook-allow-network 10.20.0.0/16`, the same for `webhooks
//! add`; or `ASSETKIT_WEBHOOK_ALLOW_NETWORKS`). The check is made when an endpoint is added
//! (its name resolved) and again for every connection (DNS can change its answer).
//!
//! Pure: addresses in, a verdict out. The resolving is the caller's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The networks deliveries may reach beyond the public internet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    /// Networks the operator allowed (loopback, private, link-local addresses in them are
    /// reachable).
    pub allowed: Vec<IpNet>,
}

impl Destinations {
    /// Parses a comma- or space-separated list of networks (`10.0.0.0/8, 127.0.0.1/32`).
    pub fn parse(list: &str) -> Result<Destinations, String> {
        let allowed = list
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s:?} is not a network (write it as 10.0.0.0/8 or 127.0.0.1)"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Destinations { allowed })
    }

    /// Whether a delivery may connect to `ip`; the error says why not, coarsely.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        let ip = canonical(ip);
        if self.allowed.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        match internal(ip) {
            Some(what) => Err(format!("refused: {what} (see --webhook-allow-network)")),
            None => Ok(()),
        }
    }
}

/// An IPv4 address inside IPv6 (mapped `::ffff:a.b.c.d`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What kind of internal address `ip` is, if it is one.
fn internal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        Some("a cloud metadata service")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0 || a >= 240 {
        Some("not a unicast address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) || (a == 198 && (b == 18 || b == 19)) {
        Some("a private address")
    } else {
        None
    }
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        Some("a cloud metadata service")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("not a unicast address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a private address")
    } else if first == 0x64 && ip.segments()[1] == 0xff9b {
        // NAT64 (64:ff9b::/96) embeds an IPv4 address: judged as that address.
        let [.., c, d] = ip.segments();
        internal_v4(Ipv4Addr::new((c >> 8) as u8, c as u8, (d >> 8) as u8, d as u8))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(d: &Destinations, ip: &str) -> bool {
        d.check(ip.parse().unwrap()).is_err()
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_taken() {
        let d = Destinations::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "224.0.0.1",
        ] {
            assert!(refused(&d, ip), "{ip} was allowed");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"] {
            assert!(!refused(&d, ip), "{ip} was refused");
        }
        assert!(d.check("169.254.169.254".parse().unwrap()).unwrap_err().contains("metadata"));
    }

    #[test]
    fn the_operator_allows_networks() {
        let d = Destinations::parse("127.0.0.0/8, 10.20.0.0/16 192.168.1.5").unwrap();
        assert!(!refused(&d, "127.0.0.1") && !refused(&d, "10.20.3.4") && !refused(&d, "192.168.1.5"));
        assert!(refused(&d, "10.21.0.1") && refused(&d, "192.168.1.6") && refused(&d, "169.254.169.254"));
        assert!(!refused(&d, "::ffff:127.0.0.1"), "a mapped address is judged as its IPv4 address");
        assert!(Destinations::parse("10.0.0.0/33").unwrap_err().contains("not a network"));
    }
}
