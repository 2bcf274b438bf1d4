//! `nic`: interfaces from /sys/class/net, addresses from the live host or `ip addr` output,
//! firmware (sysfs where the driver exposes it, else `ethtool -i` output in a snapshot), the
//! switch port of each interface from lldpd (`lldpctl`, only when lldpd runs), and Fibre
//! Channel HBA ports from /sys/class/fc_host.
//!
//! Physical interfaces are always reported. Virtual ones (bonds, bridges, VLANs) only when they
//! carry a routable address and are not container plumbing (veth, docker0, cni0, ...), so a
//! Kubernetes node does not produce a change event for every pod.

use std::collections::BTreeMap;

use super::{CollectError, Collector, Ctx, Output, optional_command};
use crate::model::{Address, FcHba, Nic};
use crate::parse::ip::{self, IpLink};
use crate::parse::lldpctl::{self, Neighbors};
use crate::placeholder::clean_label;
use crate::source::Source;

/// NICs: name, MAC, state, MTU, speed, driver, addresses.
pub struct NicCollector;

const NET: &str = "/sys/class/net";
const FC_HOST: &str = "/sys/class/fc_host";
const CONTAINER_PLUMBING: &[&str] = &[
    "veth", "docker", "br-", "virbr", "cni", "flannel", "cali", "cilium", "vxlan", "tunl", "kube-", "lxcbr", "podman",
    "weave", "genev", "tap", "tun", "ifb", "dummy", "gre", "sit", "ip6tnl", "erspan",
];

impl Collector for NicCollector {
    fn name(&self) -> &'static str {
        "nic"
    }
    fn describe(&self) -> &'static str {
        "network interfaces: MAC, up, MTU, speed, driver, firmware, addresses, LLDP neighbour; FC HBA WWNs (sysfs, ip, lldpctl)"
    }
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError> {
        let src = ctx.source.as_ref();
        let sysfs = src.list(NET);
        let links: BTreeMap<String, IpLink> = src
            .command("ip-addr")
            .ok()
            .map(|b| ip::parse(&String::from_utf8_lossy(&b)).into_iter().map(|l| (l.name.clone(), l)).collect())
            .unwrap_or_default();
        if sysfs.is_err() && links.is_empty() {
            return Err(CollectError::Missing(format!("{NET} is unreadable and no `ip addr` output is available")));
        }
        let mut out = Output::default();
        // lldpctl failing or cut off fails the plugin: NICs without their neighbours would read
        // as "unplugged" at the receiver.
        let neighbors = lldp_neighbors(src)?;
        let mut nics = Vec::new();
        match &sysfs {
            Ok(names) => {
                for name in names.iter().filter(|n| n.as_str() != "lo") {
                    let base = format!("{NET}/{name}");
                    let link = links.get(name);
                    let addresses = link.map(|l| reportable(&l.addresses)).unwrap_or_default();
                    let uevent = src.text(&format!("{base}/device/uevent"));
                    let physical = uevent.is_some();
                    if !physical && (addresses.is_empty() || is_plumbing(name)) {
                        continue;
                    }
                    let attr = |f: &str| src.value(&format!("{base}/{f}"));
                    nics.push(Nic {
                        name: name.clone(),
                        mac: attr("address")
                            .map(|m| m.to_ascii_lowercase())
                            .filter(|m| m != "00:00:00:00:00:00")
                            .or_else(|| link.and_then(|l| l.mac.clone())),
                        up: attr("operstate").map(|s| s == "up").or_else(|| link.and_then(|l| l.up)),
                        mtu: attr("mtu").and_then(|m| m.parse().ok()).or_else(|| link.and_then(|l| l.mtu)),
                        speed_mbps: attr("speed")
                            .and_then(|s| s.parse::<i64>().ok())
                            .filter(|s| *s > 0)
                            .map(|s| s as u32),
                        driver: uevent
                            .as_deref()
                            .and_then(|u| u.lines().find_map(|l| l.strip_prefix("DRIVER=")))
                            .map(str::to_owned),
                        firmware: physical.then(|| firmware(src, name)).flatten(),
                        addresses,
                        lldp: neighbors.get(name).cloned(),
                    });
                }
            }
            // No sysfs (a snapshot made from `ip addr` alone): Ethernet links are the NICs.
            Err(_) => {
                for link in links.values().filter(|l| l.link_type.as_deref() == Some("ether") && !is_plumbing(&l.name))
                {
                    nics.push(Nic {
                        name: link.name.clone(),
                        mac: link.mac.clone(),
                        up: link.up,
                        mtu: link.mtu,
                        speed_mbps: None,
                        driver: None,
                        firmware: None,
                        addresses: reportable(&link.addresses),
                        lldp: neighbors.get(&link.name).cloned(),
                    });
                }
            }
        }
        out.facts.nics = Some(nics);
        out.facts.fc_hbas = Some(fc_hbas(src));
        Ok(out)
    }
}

/// LLDP neighbours from `lldpctl -f json`, else `-f keyvalue` (lldpd built without JSON);
/// none when lldpd is not running (the live source runs lldpctl only when lldpd's socket
/// exists).
fn lldp_neighbors(src: &dyn Source) -> Result<Neighbors, CollectError> {
    let parsed = match src.command("lldpctl-json") {
        Ok(out) => lldpctl::parse_json(&String::from_utf8_lossy(&out)),
        Err(_) => match optional_command(src, "lldpctl-keyvalue")? {
            Some(out) => lldpctl::parse_keyvalue(&String::from_utf8_lossy(&out)),
            None => Ok(Neighbors::new()),
        },
    };
    parsed.map_err(CollectError::Invalid)
}

/// Adapter firmware. Sysfs has it only for some drivers (Mellanox: `device/infiniband/*/fw_ver`);
/// else `ethtool -i` output, which a snapshot may hold. The live source never runs ethtool: it
/// would be a process per NIC on every run.
fn firmware(src: &dyn Source, name: &str) -> Option<String> {
    let ib = format!("{NET}/{name}/device/infiniband");
    let from_sysfs = src
        .list(&ib)
        .ok()
        .and_then(|devs| devs.first().and_then(|d| src.value(&format!("{ib}/{d}/fw_ver"))))
        .and_then(|v| clean_label(&v));
    from_sysfs.or_else(|| {
        let out = src.command(&format!("ethtool-i-{name}")).ok()?;
        lldpctl::ethtool_firmware(&String::from_utf8_lossy(&out))
    })
}

/// Fibre Channel HBA ports; none when /sys/class/fc_host is absent.
fn fc_hbas(src: &dyn Source) -> Vec<FcHba> {
    let Ok(hosts) = src.list(FC_HOST) else { return Vec::new() };
    hosts
        .into_iter()
        .map(|host| {
            let attr = |a: &str| src.value(&format!("{FC_HOST}/{host}/{a}"));
            let wwn = |a: &str| {
                attr(a)
                    .map(|w| w.to_ascii_lowercase())
                    .filter(|w| !w.trim_start_matches("0x").trim_matches('0').is_empty())
            };
            FcHba {
                port_wwn: wwn("port_name"),
                node_wwn: wwn("node_name"),
                port_state: attr("port_state").and_then(|s| clean_label(&s)),
                speed: attr("speed").filter(|s| !s.eq_ignore_ascii_case("unknown")),
                host,
            }
        })
        .collect()
}

fn is_plumbing(name: &str) -> bool {
    CONTAINER_PLUMBING.iter().any(|p| name.starts_with(p))
}

/// Addresses worth inventorying: IPv6 link-local addresses are derived from the MAC and say
/// nothing new, so they are left out.
fn reportable(addresses: &[Address]) -> Vec<Address> {
    let mut out: Vec<Address> = addresses
        .iter()
        .filter(|a| !(a.family == "inet6" && a.address.to_ascii_lowercase().starts_with("fe80:")))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}
