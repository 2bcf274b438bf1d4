//! `gpu`: GPUs and accelerators from sysfs PCI (class 0x03 display controllers, 0x12
//! processing accelerators): PCI address, vendor and device IDs, driver; names from pci.ids
//! when it is installed; serial, UUID and VBIOS from `nvidia-smi -q -x` where the NVIDIA driver
//! is loaded.
//!
//! A host without such a device reads one small file per PCI function and runs nothing.

use super::{CollectError, Collector, Ctx, Output, optional_command};
use crate::model::Gpu;
use crate::parse::{nvidia_smi, pci_ids};
use crate::source::Source;

/// GPUs and accelerators: PCI address, IDs, names, driver, serial/UUID (sysfs, pci.ids, nvidia-smi).
pub struct GpuCollector;

const PCI: &str = "/sys/bus/pci/devices";
const PCI_IDS: &[&str] = &["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"];
/// Most bytes of pci.ids read (it is about 1.4 MB).
const MAX_PCI_IDS: usize = 8 << 20;

impl Collector for GpuCollector {
    fn name(&self) -> &'static str {
        "gpu"
    }
    fn describe(&self) -> &'static str {
        "GPUs and accelerators: PCI address, vendor/device, driver, serial and UUID (sysfs, pci.ids, nvidia-smi)"
    }
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError> {
        let src = ctx.source.as_ref();
        let functions = match src.list(PCI) {
            Ok(functions) => functions,
            // No PCI bus (some ARM boards), or a snapshot made before GPUs were collected:
            // nothing is known, so the section is absent rather than an empty list.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Output::default()),
            Err(e) => return Err(CollectError::Missing(format!("{PCI} is unreadable: {e}"))),
        };
        let mut gpus: Vec<Gpu> = functions
            .into_iter()
            .filter_map(|addr| {
                let class = src.value(&format!("{PCI}/{addr}/class"))?.to_ascii_lowercase();
                let base = class.trim_start_matches("0x").get(..2)?.to_owned();
                (base == "03" || base == "12").then(|| function(src, addr, class))
            })
            .collect();
        let mut out = Output::default();
        if gpus.is_empty() {
            out.facts.gpus = Some(gpus);
            return Ok(out);
        }
        name_from_pci_ids(src, &mut gpus);
        // nvidia-smi failing or cut off fails the plugin: GPUs without their serials would be
        // keyed by PCI address and read as replaced at the receiver.
        if let Some(xml) = optional_command(src, "nvidia-smi-q-x")? {
            let list = nvidia_smi::parse(&String::from_utf8_lossy(&xml)).map_err(CollectError::Invalid)?;
            for smi in list {
                if let Some(gpu) = gpus.iter_mut().find(|g| g.pci_address == smi.pci_address) {
                    gpu.serial_number = smi.serial_number;
                    gpu.uuid = smi.uuid;
                    gpu.firmware = smi.firmware;
                    gpu.model = gpu.model.take().or(smi.model);
                }
            }
        }
        out.facts.gpus = Some(gpus);
        Ok(out)
    }
}

fn function(src: &dyn Source, addr: String, class: String) -> Gpu {
    let base = format!("{PCI}/{addr}");
    let id = |f: &str| src.value(&format!("{base}/{f}")).map(|v| v.to_ascii_lowercase());
    let driver = src
        .text(&format!("{base}/uevent"))
        .and_then(|u| u.lines().find_map(|l| l.strip_prefix("DRIVER=")).map(str::to_owned));
    Gpu {
        class: Some(class),
        vendor_id: id("vendor"),
        device_id: id("device"),
        driver,
        pci_address: addr,
        ..Gpu::default()
    }
}

fn name_from_pci_ids(src: &dyn Source, gpus: &mut [Gpu]) {
    let Some(ids) = PCI_IDS.iter().find_map(|p| src.read(p).ok()) else { return };
    if ids.len() > MAX_PCI_IDS {
        return;
    }
    let text = String::from_utf8_lossy(&ids); // borrowed, not copied, when valid UTF-8 (it is)
    for gpu in gpus {
        let (Some(v), Some(d)) = (&gpu.vendor_id, &gpu.device_id) else { continue };
        let (vendor, model) = pci_ids::lookup(&text, v.trim_start_matches("0x"), d.trim_start_matches("0x"));
        gpu.vendor = vendor;
        gpu.model = model;
    }
}
