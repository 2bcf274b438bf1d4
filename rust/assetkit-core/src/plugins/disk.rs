//! `disk`: block devices from /sys/block, RAID controllers with their logical and physical
//! drives (storcli, perccli, ssacli, arcconf: see `disk/raid.rs`; MegaCli), and smartctl where
//! a snapshot or the config provides it. Firmware from sysfs
//! (`device/firmware_rev`, `device/rev`); `nvme list -o json` only where sysfs lacks an NVMe field.

use std::collections::{BTreeMap, HashSet};

use super::{CollectError, Collector, Ctx, Output};
use crate::model::Disk;
use crate::parse::{megacli, nvme, smartctl};
use crate::placeholder::{clean, clean_opt};
use crate::source::Source;

mod raid;

/// Physical disks: name/slot, model, serial, size, rotational, interface; RAID controllers and
/// their logical drives.
pub struct DiskCollector;

/// Kernel devices that are never physical disks.
const VIRTUAL_PREFIXES: &[&str] =
    &["loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd", "zd", "rbd", "drbd", "bcache"];

impl Collector for DiskCollector {
    fn name(&self) -> &'static str {
        "disk"
    }
    fn describe(&self) -> &'static str {
        "disks from /sys/block, RAID controllers and their drives (storcli, perccli, ssacli, arcconf, MegaCli), smartctl identity"
    }
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError> {
        let src = ctx.source.as_ref();
        let mut out = Output::default();
        let listing = src.list("/sys/block");
        let paths = block_paths(src);
        let mut disks: Vec<Disk> = match &listing {
            Ok(names) => names
                .iter()
                .filter(|n| !VIRTUAL_PREFIXES.iter().any(|p| n.starts_with(p)))
                .filter_map(|name| sysfs_disk(src, name, paths.get(name.as_str()).map(String::as_str)))
                .collect(),
            Err(_) => Vec::new(),
        };
        for disk in &mut disks {
            let Some(name) = disk.name.clone() else {
                continue;
            };
            if let Some(info) = src
                .command(&format!("smartctl-{name}"))
                .ok()
                .and_then(|b| smartctl::parse(&String::from_utf8_lossy(&b)))
            {
                enrich(disk, info);
            }
        }
        fill_from_nvme_cli(src, &mut disks)?;
        if listing.is_err() {
            // A snapshot without /sys/block (a capture attached to a bug report): nvme-cli's
            // list is then the NVMe disks. A live host always has /sys/block.
            disks.extend(nvme_cli_disks(src)?);
        }
        let megaraid = src.command("megacli-pdlist").ok().map(|b| megacli::parse(&String::from_utf8_lossy(&b)));
        if let Some(drives) = &megaraid
            && drives.is_empty()
        {
            out.warnings.push("MegaCli output lists no physical drive".to_owned());
        }
        let controllers = raid::read(src)?;
        if listing.is_err() && disks.is_empty() && megaraid.is_none() && controllers.is_none() {
            return Err(CollectError::Missing(
                "/sys/block is unreadable and no RAID controller output is available".to_owned(),
            ));
        }
        disks.extend(megaraid.unwrap_or_default());
        if let Some(found) = controllers {
            // A drive the kernel sees directly (an HBA, a JBOD, a pass-through disk) and its
            // controller lists is one drive: the controller's record wins, as it has the slot.
            let listed: HashSet<&str> = found.disks.iter().filter_map(|d| d.serial_number.as_deref()).collect();
            disks.retain(|d| d.serial_number.as_deref().is_none_or(|sn| !listed.contains(sn)));
            disks.extend(found.disks);
            out.facts.raid_controllers = Some(found.controllers);
        }
        out.facts.disks = Some(disks);
        Ok(out)
    }
}

/// `readlink -f /sys/block/<name>` per disk: the bus path tells the interface.
fn block_paths(src: &dyn Source) -> BTreeMap<String, String> {
    let Ok(out) = src.command("readlink-sys-block") else {
        return BTreeMap::new();
    };
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(n, p)| (n.to_owned(), p.trim().to_owned())))
        .collect()
}

fn sysfs_disk(src: &dyn Source, name: &str, path: Option<&str>) -> Option<Disk> {
    let base = format!("/sys/block/{name}");
    // Only devices backed by hardware (or a hypervisor's virtual hardware) have a device node.
    let uevent = src.text(&format!("{base}/device/uevent"))?;
    let attr = |rel: &str| src.value(&format!("{base}/{rel}"));
    let size_bytes = attr("size").and_then(|s| s.parse::<u64>().ok()).map(|sectors| sectors * 512);
    if size_bytes == Some(0) && attr("removable").as_deref() == Some("1") {
        return None; // an empty card reader or optical drive
    }
    let interface = interface_of(name, path, &uevent);
    let vpd_serial = src.read(&format!("{base}/device/vpd_pg80")).ok().and_then(|b| vpd_serial(&b));
    let serial = attr("device/serial").or_else(|| attr("serial")).or(vpd_serial).and_then(|s| clean(&s));
    let vendor = clean_opt(attr("device/vendor").as_deref()).filter(|v| v != "ATA" && !v.starts_with("0x"));
    Some(Disk {
        name: Some(name.to_owned()),
        slot: None,
        model: clean_opt(attr("device/model").or_else(|| attr("device/name")).as_deref()),
        vendor,
        serial_number: serial,
        size_bytes,
        rotational: attr("queue/rotational").map(|r| r == "1"),
        interface,
        firmware: clean_opt(attr("device/firmware_rev").or_else(|| attr("device/rev")).as_deref()),
        state: None,
        // SCSI disks: `device/wwid` ("naa.5000c500..."); NVMe namespaces: `wwid` ("eui....").
        wwn: attr("device/wwid").or_else(|| attr("wwid")).and_then(|w| crate::parse::wwn::normalize(&w)),
        sas_address: attr("device/sas_address").and_then(|a| crate::parse::wwn::sas_address(&a)),
        source: "sysfs".to_owned(),
    })
}

/// SCSI VPD page 0x80 (Unit Serial Number): 4-byte header, then the serial.
fn vpd_serial(page: &[u8]) -> Option<String> {
    if page.len() < 4 || page[1] != 0x80 {
        return None;
    }
    let len = page[3] as usize;
    let body = page.get(4..(4 + len).min(page.len()))?;
    clean(&String::from_utf8_lossy(body))
}

fn interface_of(name: &str, path: Option<&str>, uevent: &str) -> Option<String> {
    let p = path.unwrap_or("");
    let driver = uevent.lines().find_map(|l| l.strip_prefix("DRIVER=")).unwrap_or("");
    let kind = if name.starts_with("nvme") || p.contains("/nvme") {
        "nvme"
    } else if name.starts_with("vd") || p.contains("/virtio") || driver.starts_with("virtio") {
        "virtio"
    } else if name.starts_with("xvd") || p.contains("/xen") {
        "xen"
    } else if name.starts_with("mmcblk") || p.contains("/mmc") {
        "mmc"
    } else if p.contains("/usb") {
        "usb"
    } else if p.contains("/ata") {
        "sata"
    } else if p.contains("/end_device-") || p.contains("/expander-") || p.contains("/port-") {
        "sas"
    } else if name.starts_with("sd") {
        "scsi"
    } else {
        return None;
    };
    Some(kind.to_owned())
}

/// NVMe model, serial and firmware come from sysfs (`device/model`, `device/serial`,
/// `device/firmware_rev`); `nvme list -o json` is asked for only when an NVMe disk lacks one.
/// nvme-cli failing or cut off fails the plugin: a serial that comes and goes would re-key
/// the disk at the receiver.
fn fill_from_nvme_cli(src: &dyn Source, disks: &mut [Disk]) -> Result<(), CollectError> {
    let lacking = |d: &Disk| {
        d.interface.as_deref() == Some("nvme")
            && (d.model.is_none() || d.serial_number.is_none() || d.firmware.is_none())
    };
    if !disks.iter().any(lacking) {
        return Ok(());
    }
    let Some(out) = super::optional_command(src, "nvme-list-json")? else { return Ok(()) };
    let listed = nvme::parse(&String::from_utf8_lossy(&out)).map_err(CollectError::Invalid)?;
    for disk in disks.iter_mut().filter(|d| lacking(d)) {
        let Some(info) = disk.name.as_ref().and_then(|n| listed.get(n)) else { continue };
        disk.model = disk.model.take().or_else(|| info.model.clone());
        disk.serial_number = disk.serial_number.take().or_else(|| info.serial_number.clone());
        disk.firmware = disk.firmware.take().or_else(|| info.firmware.clone());
        disk.size_bytes = disk.size_bytes.or(info.size_bytes);
    }
    Ok(())
}

/// The disks `nvme list -o json` lists, for a snapshot that holds no /sys/block.
fn nvme_cli_disks(src: &dyn Source) -> Result<Vec<Disk>, CollectError> {
    let Some(out) = super::optional_command(src, "nvme-list-json")? else { return Ok(Vec::new()) };
    let listed = nvme::parse(&String::from_utf8_lossy(&out)).map_err(CollectError::Invalid)?;
    Ok(listed
        .into_iter()
        .map(|(name, info)| Disk {
            name: Some(name),
            model: info.model,
            serial_number: info.serial_number,
            size_bytes: info.size_bytes,
            interface: Some("nvme".to_owned()),
            firmware: info.firmware,
            source: "nvme".to_owned(),
            ..Disk::default()
        })
        .collect())
}

fn enrich(disk: &mut Disk, info: smartctl::SmartInfo) {
    disk.serial_number = disk.serial_number.take().or(info.serial_number);
    disk.wwn = disk.wwn.take().or(info.wwn);
    disk.model = info.model.or(disk.model.take());
    disk.vendor = disk.vendor.take().or(info.vendor);
    disk.firmware = disk.firmware.take().or(info.firmware);
    disk.size_bytes = disk.size_bytes.or(info.size_bytes);
    disk.rotational = info.rotational.or(disk.rotational);
    if matches!(disk.interface.as_deref(), None | Some("scsi")) {
        disk.interface = info.interface.or(disk.interface.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpd_page() {
        let mut page = vec![0x00, 0x80, 0x00, 0x0c];
        page.extend_from_slice(b"  Z1X2BTVZ  ");
        assert_eq!(vpd_serial(&page).as_deref(), Some("Z1X2BTVZ"));
        assert_eq!(vpd_serial(&[0, 0x83, 0, 1, 1]), None);
    }

    #[test]
    fn interfaces() {
        assert_eq!(
            interface_of(
                "sda",
                Some("/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda"),
                ""
            )
            .as_deref(),
            Some("sata")
        );
        assert_eq!(interface_of("nvme0n1", None, "").as_deref(), Some("nvme"));
        assert_eq!(
            interface_of("vda", Some("/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda"), "").as_deref(),
            Some("virtio")
        );
    }
}
