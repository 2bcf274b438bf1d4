//! `nic`: interfaces from /sys/class/net, addresses from the live host or `ip addr` output.
//!
//! Physical interfaces are always reported. Virtual ones (bonds, bridges, VLANs) only when they
//! carry a routable address and are not container plumbing (veth, docker0, cni0, ...), so a
//! Kubernetes node does not produce a change event for every pod.

use std::collections::BTreeMap;

use super::{CollectError, Collector, Ctx, Output};
use crate::model::{Address, Nic};
use crate::parse::ip::{self, IpLink};

/// NICs: name, MAC, state, MTU, speed, driver, addresses.
pub struct NicCollector;

const NET: &str = "/sys/class/net";
const CONTAINER_PLUMBING: &[&str] = &[
    "veth", "docker", "br-", "virbr", "cni", "flannel", "cali", "cilium", "vxlan", "tunl", "kube-", "lxcbr", "podman",
    "weave", "genev", "tap", "tun", "ifb", "dummy", "gre", "sit", "ip6tnl", "erspan",
];

impl Collector for NicCollector {
    fn name(&self) -> &'static str {
        "nic"
    }
    fn describe(&self) -> &'static str {
        "network interfaces: MAC, up, MTU, speed, driver, addresses (sysfs + ip)"
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
                        addresses,
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
                        addresses: reportable(&link.addresses),
                    });
                }
            }
        }
        let mut out = Output::default();
        out.facts.nics = Some(nics);
        Ok(out)
    }
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
