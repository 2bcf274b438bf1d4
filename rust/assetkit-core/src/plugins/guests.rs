//! `guests`: the virtual machines and containers this host defines as a hypervisor, read from
//! the hypervisors' own files, spawning nothing: libvirt's domain XML (`/etc/libvirt/qemu`
//! defined, `/run/libvirt/qemu` running; [`crate::parse::libvirt`]) and Proxmox VE's guest
//! configs (`/etc/pve/qemu-server`, `/etc/pve/lxc`; [`crate::parse::proxmox`]).
//!
//! Bounded before anything is read: at most [`MAX_GUEST_FILES`] files a directory and
//! [`MAX_GUEST_FILE_BYTES`] a file. A file that cannot be read or parsed is skipped with a
//! warning naming it; only when every file is bad does the plugin fail. A directory that
//! exists but cannot be listed (not root) fails the plugin: a list without its guests would
//! read as guests removed. No hypervisor directory at all: no `guests` section.

use std::collections::BTreeMap;
use std::io;

use super::{CollectError, Collector, Ctx, Output};
use crate::model::Guest;
use crate::parse::{libvirt, proxmox};
use crate::source::Source;

/// Guests of libvirt and Proxmox VE, from their files.
pub struct GuestsCollector;

/// Most guest files read from one directory, and most guests in a report (the schema's limit).
pub const MAX_GUEST_FILES: usize = 4096;
/// Largest guest file read (a running domain's status XML with hundreds of vCPUs is ~100 KiB).
pub const MAX_GUEST_FILE_BYTES: u64 = 1 << 20;

const LIBVIRT_DEFINED: &str = "/etc/libvirt/qemu";
const LIBVIRT_RUNNING: &str = "/run/libvirt/qemu";
const PVE_QEMU: &str = "/etc/pve/qemu-server";
const PVE_LXC: &str = "/etc/pve/lxc";

impl Collector for GuestsCollector {
    fn name(&self) -> &'static str {
        "guests"
    }
    fn describe(&self) -> &'static str {
        "VMs and containers this hypervisor defines (libvirt domain XML, Proxmox VE configs), read as files"
    }
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError> {
        let src = ctx.source.as_ref();
        let mut scan = Scan::default();
        let defined = scan.read_dir(src, LIBVIRT_DEFINED, ".xml", libvirt::parse)?;
        let running = scan.read_dir(src, LIBVIRT_RUNNING, ".xml", libvirt::parse)?;
        let qemu = scan.read_dir(src, PVE_QEMU, ".conf", |t| proxmox::parse(t, true))?;
        let lxc = scan.read_dir(src, PVE_LXC, ".conf", |t| proxmox::parse(t, false))?;
        let mut out = Output::default();
        if !scan.any_dir {
            return Ok(out);
        }
        if scan.files > 0 && scan.bad == scan.files {
            return Err(CollectError::Invalid(format!(
                "no guest file could be read ({} bad): {}",
                scan.bad,
                scan.warnings.first().map(String::as_str).unwrap_or("")
            )));
        }
        let mut guests = libvirt_guests(defined, running);
        guests.extend(qemu.into_iter().filter_map(|(file, c)| proxmox_guest(&file, c, "vm", &mut scan.warnings)));
        guests.extend(lxc.into_iter().filter_map(|(file, c)| proxmox_guest(&file, c, "container", &mut scan.warnings)));
        guests.retain(|g| match check(g) {
            Ok(()) => true,
            Err(why) => {
                scan.warnings.push(why);
                false
            }
        });
        if guests.len() > MAX_GUEST_FILES {
            return Err(CollectError::Invalid(format!(
                "{} guests, more than a report carries ({MAX_GUEST_FILES})",
                guests.len()
            )));
        }
        guests.sort_by(|a, b| (&a.source, &a.name, &a.id).cmp(&(&b.source, &b.name, &b.id)));
        out.facts.guests = Some(guests);
        out.warnings = bounded(scan.warnings);
        Ok(out)
    }
}

/// Most warnings one collection carries (a report holds 256 of every plugin's together).
const MAX_WARNINGS: usize = 16;

/// The first warnings, and how many more there were.
fn bounded(mut warnings: Vec<String>) -> Vec<String> {
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - (MAX_WARNINGS - 1);
        warnings.truncate(MAX_WARNINGS - 1);
        warnings.push(format!("... and {more} more guest files skipped"));
    }
    warnings
}

/// The schema's bounds on one guest: a name of 1 to 256 bytes without NUL, at most 65536 vCPUs.
fn check(g: &Guest) -> Result<(), String> {
    let name: String = g.name.chars().take(64).collect();
    if g.name.is_empty() || g.name.len() > 256 || g.name.contains('\0') {
        Err(format!("{} guest {name:?} skipped: its name is empty, longer than 256 bytes or holds NUL", g.source))
    } else if g.vcpus.is_some_and(|v| v > 65536) {
        Err(format!("{} guest {name:?} skipped: more than 65536 vCPUs", g.source))
    } else {
        Ok(())
    }
}

/// What reading the directories found: whether any existed, and the files that were bad.
#[derive(Default)]
struct Scan {
    any_dir: bool,
    files: usize,
    bad: usize,
    warnings: Vec<String>,
}

impl Scan {
    /// Every `*suffix` file of `dir` parsed, by file name; bad ones become warnings.
    fn read_dir<T>(
        &mut self,
        src: &dyn Source,
        dir: &str,
        suffix: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Vec<(String, T)>, CollectError> {
        let names = match src.list(dir) {
            Ok(names) => names,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CollectError::Missing(format!("cannot list {dir}: {e} (run as root)"))),
        };
        self.any_dir = true;
        let names: Vec<String> = names.into_iter().filter(|n| n.ends_with(suffix) && n.len() > suffix.len()).collect();
        if names.len() > MAX_GUEST_FILES {
            return Err(CollectError::Invalid(format!(
                "{dir} holds {} {suffix} files, more than {MAX_GUEST_FILES}",
                names.len()
            )));
        }
        let mut parsed = Vec::with_capacity(names.len());
        for name in names {
            let path = format!("{dir}/{name}");
            let result = src
                .read_limited(&path, MAX_GUEST_FILE_BYTES)
                .map_err(|e| e.to_string())
                .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned()))
                .and_then(|text| parse(&text));
            self.files += 1;
            match result {
                Ok(value) => parsed.push((name, value)),
                Err(why) => {
                    self.bad += 1;
                    self.warnings.push(format!("{path} skipped: {why}"));
                }
            }
        }
        Ok(parsed)
    }
}

/// Defined and running domains together: a running one is the same guest as the defined one
/// of its UUID (else its name), and its live values win; one only in /run is transient.
fn libvirt_guests(defined: Vec<(String, libvirt::Domain)>, running: Vec<(String, libvirt::Domain)>) -> Vec<Guest> {
    let key = |d: &libvirt::Domain| d.uuid.clone().unwrap_or_else(|| format!("name:{}", d.name));
    let mut by_key: BTreeMap<String, (libvirt::Domain, bool)> = BTreeMap::new();
    for (_, d) in defined {
        by_key.insert(key(&d), (d, false));
    }
    for (_, d) in running {
        by_key.insert(key(&d), (d, true));
    }
    by_key
        .into_values()
        .map(|(d, running)| Guest {
            name: d.name,
            uuid: d.uuid,
            kind: "vm".to_owned(),
            source: "libvirt".to_owned(),
            id: None,
            vcpus: d.vcpus,
            memory_bytes: d.memory_bytes,
            state: Some(if running || d.status { "running" } else { "defined" }.to_owned()),
        })
        .collect()
}

/// A Proxmox guest from `VMID.conf`. Unnamed guests are called as Proxmox calls them ("VM
/// 100", "CT100"). vCPUs: sockets × cores for a VM (each 1 when unset), or its hot-plugged
/// `vcpus` when lower; a container's `cores` (unset: every host core, so unknown here).
fn proxmox_guest(file: &str, c: proxmox::GuestConfig, kind: &str, warnings: &mut Vec<String>) -> Option<Guest> {
    let vmid = file.strip_suffix(".conf").filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    let Some(vmid) = vmid else {
        warnings.push(format!("{file} skipped: not a VMID.conf file name"));
        return None;
    };
    let vm = kind == "vm";
    let vcpus = if vm {
        let all = c.sockets.unwrap_or(1).saturating_mul(c.cores.unwrap_or(1));
        Some(c.vcpus.filter(|v| *v > 0 && *v < all).unwrap_or(all))
    } else {
        c.cores
    };
    let fallback = if vm { format!("VM {vmid}") } else { format!("CT{vmid}") };
    Some(Guest {
        name: c.name.unwrap_or(fallback),
        uuid: c.uuid,
        kind: kind.to_owned(),
        source: "proxmox".to_owned(),
        id: Some(vmid.to_owned()),
        vcpus,
        memory_bytes: c.memory_mib.and_then(|m| m.checked_mul(1 << 20)),
        state: Some("defined".to_owned()),
    })
}
