//! `board`: system, baseboard, BIOS and power supplies from SMBIOS (raw table or dmidecode),
//! else sysfs DMI (no power supplies there), plus virtual machine and container detection.
//!
//! The cloud instance the host is, if any, comes from the same values ([`cloud`]).
//!
//! Two vendor habits are undone here, for every source: an empty system serial falls back to
//! the chassis serial (where some vendors put the service tag), and Lenovo's machine type in
//! Product Name gives way to the model in Version.

pub mod cloud;

use super::{CollectError, Collector, Ctx, Output, SmbiosState};
use crate::model::{Baseboard, Bios, PowerSupply, System};
use crate::parse::cpuinfo;
use crate::placeholder::clean_opt;
use crate::smbios::PowerSupplyInfo;
use crate::smbios::raw::chassis_type_name;
use crate::source::Source;

/// System, baseboard, BIOS, power supplies and virtualisation.
pub struct BoardCollector;

const DMI_ID: &str = "/sys/class/dmi/id";

impl Collector for BoardCollector {
    fn name(&self) -> &'static str {
        "board"
    }
    fn describe(&self) -> &'static str {
        "system/baseboard/BIOS and power supplies (SMBIOS table, dmidecode or /sys/class/dmi/id) and VM/container detection"
    }
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError> {
        let src = ctx.source.as_ref();
        let state = ctx.smbios();
        let mut out = Output::default();
        let (mut system, version, baseboard, bios) = match (&state.smbios, state.origin) {
            (Some(s), Some(origin)) => {
                let sys = s.system.clone().unwrap_or_default();
                let chassis = s.chassis.clone().unwrap_or_default();
                let board = s.baseboard.clone().unwrap_or_default();
                let bios = s.bios.clone().unwrap_or_default();
                (
                    System {
                        manufacturer: sys.manufacturer,
                        product_name: sys.product_name,
                        serial_number: sys.serial_number,
                        uuid: sys.uuid,
                        sku: sys.sku,
                        family: sys.family,
                        chassis_type: chassis.chassis_type,
                        chassis_serial_number: chassis.serial_number,
                        source: Some(origin.to_owned()),
                        ..System::default()
                    },
                    sys.version,
                    Baseboard {
                        manufacturer: board.manufacturer,
                        product_name: board.product_name,
                        serial_number: board.serial_number,
                    },
                    Bios { vendor: bios.vendor, version: bios.version, release_date: bios.release_date },
                )
            }
            _ => from_sysfs(src),
        };
        if system.source.is_none()
            && let Some(why) = &state.absent
        {
            out.warnings.push(why.clone());
        }
        if system.serial_number.is_none() {
            system.serial_number = system.chassis_serial_number.clone();
        }
        lenovo_model(&mut system, version);
        // A table read in part (its error is in the report) does not say which units are gone.
        out.facts.power_supplies = match (&state.smbios, &state.error) {
            (Some(s), None) => Some(s.power_supplies.iter().filter_map(power_supply).collect()),
            _ => None,
        };
        let (hypervisor, container, virt_flag) = detect_virtualization(src, &system, &bios);
        system.hypervisor = hypervisor;
        system.container = container;
        system.r#virtual = virt_flag || system.hypervisor.is_some() || system.container.is_some();
        // A container sees its host's table: the host may be a cloud instance, the container is not.
        if system.container.is_none() {
            out.facts.cloud = cloud::detect(&dmi_values(src, state, &system, &baseboard, &bios));
        }
        out.facts.system = Some(system);
        out.facts.baseboard = Some(baseboard);
        out.facts.bios = Some(bios);
        Ok(out)
    }
}

/// What the cloud rules read: the decoded table's values, else sysfs's.
fn dmi_values(
    src: &dyn Source,
    state: &SmbiosState,
    system: &System,
    baseboard: &Baseboard,
    bios: &Bios,
) -> cloud::DmiValues {
    let (board_asset_tag, chassis_asset_tag, smbios_version) = match &state.smbios {
        Some(s) => (
            s.baseboard.as_ref().and_then(|b| b.asset_tag.clone()),
            s.chassis.as_ref().and_then(|c| c.asset_tag.clone()),
            state.version,
        ),
        None => {
            let get = |f: &str| clean_opt(src.value(&format!("{DMI_ID}/{f}")).as_deref());
            (get("board_asset_tag"), get("chassis_asset_tag"), None)
        }
    };
    cloud::DmiValues {
        sys_vendor: system.manufacturer.clone(),
        product_name: system.product_name.clone(),
        product_serial: system.serial_number.clone(),
        product_uuid: system.uuid.clone(),
        board_vendor: baseboard.manufacturer.clone(),
        board_asset_tag,
        chassis_asset_tag,
        bios_vendor: bios.vendor.clone(),
        bios_version: bios.version.clone(),
        hypervisor_uuid: src.value("/sys/hypervisor/uuid"),
        smbios_version,
    }
}

/// Lenovo's own model lines, as they begin the Version string.
const LENOVO_MODEL_LINES: &[&str] = &[
    "thinkpad",
    "thinksystem",
    "thinkcentre",
    "thinkstation",
    "thinkedge",
    "thinkagile",
    "thinkbook",
    "ideapad",
    "ideacentre",
    "yoga",
    "legion",
    "lenovo ",
];

/// Lenovo puts the machine type-model in Product Name ("20HRCTO1WW", "10A9004TFR") and the
/// model in Version ("ThinkPad X1 Carbon 5th", "ThinkCentre M93p"). The model becomes the product
/// name, and the machine type the SKU when the firmware gives none. A Version that names no
/// model line (ThinkSystem servers say "07" there, their model already in Product Name) changes
/// nothing.
fn lenovo_model(system: &mut System, version: Option<String>) {
    let is_lenovo = system.manufacturer.as_deref().is_some_and(|m| m.to_ascii_lowercase().contains("lenovo"));
    let Some(model) = version.filter(|v| {
        let lower = v.to_ascii_lowercase();
        is_lenovo
            && LENOVO_MODEL_LINES.iter().any(|line| lower.starts_with(line))
            && system.product_name.as_ref() != Some(v)
    }) else {
        return;
    };
    let machine_type = system.product_name.replace(model);
    if system.sku.is_none() {
        system.sku = machine_type;
    }
}

/// A unit worth reporting: anything but a template whose strings are all placeholders, or an
/// absent unit known by nothing but its bay.
fn power_supply(p: &PowerSupplyInfo) -> Option<PowerSupply> {
    let identified = p.manufacturer.is_some() || p.serial_number.is_some() || p.part_number.is_some();
    let named = p.location.is_some() || p.name.is_some();
    if !identified && (!named || p.present == Some(false)) {
        return None;
    }
    Some(PowerSupply {
        location: p.location.clone(),
        name: p.name.clone(),
        manufacturer: p.manufacturer.clone(),
        serial_number: p.serial_number.clone(),
        part_number: p.part_number.clone(),
        revision: p.revision.clone(),
        max_power_w: p.max_power_w,
        present: p.present,
        status: p.status.clone(),
        hot_replaceable: p.hot_replaceable,
    })
}

/// `/sys/class/dmi/id`: world-readable except the serials and UUID, which are root-only.
fn from_sysfs(src: &dyn Source) -> (System, Option<String>, Baseboard, Bios) {
    let get = |f: &str| clean_opt(src.value(&format!("{DMI_ID}/{f}")).as_deref());
    let vendor = get("sys_vendor");
    let source =
        vendor.as_ref().or(get("board_vendor").as_ref()).or(get("bios_vendor").as_ref()).map(|_| "sysfs".to_owned());
    let system = System {
        manufacturer: vendor,
        product_name: get("product_name"),
        serial_number: get("product_serial"),
        uuid: get("product_uuid").map(|u| u.to_ascii_lowercase()),
        sku: get("product_sku"),
        family: get("product_family"),
        chassis_type: get("chassis_type")
            .and_then(|t| t.parse::<u8>().ok())
            .and_then(chassis_type_name)
            .map(str::to_owned),
        chassis_serial_number: get("chassis_serial"),
        source,
        ..System::default()
    };
    let board = Baseboard {
        manufacturer: get("board_vendor"),
        product_name: get("board_name"),
        serial_number: get("board_serial"),
    };
    let bios = Bios { vendor: get("bios_vendor"), version: get("bios_version"), release_date: get("bios_date") };
    (system, get("product_version"), board, bios)
}

/// (hypervisor, container, "some VM evidence without a name").
fn detect_virtualization(src: &dyn Source, system: &System, bios: &Bios) -> (Option<String>, Option<String>, bool) {
    let hypervisor = hypervisor_from_dmi(system, bios)
        .map(str::to_owned)
        .or_else(|| src.value("/sys/hypervisor/type").filter(|t| t == "xen").map(|t| t.to_owned()));
    let cpu_flag = src.text("/proc/cpuinfo").map(|t| cpuinfo::parse(&t).hypervisor_flag).unwrap_or(false);
    (hypervisor, detect_container(src), cpu_flag)
}

fn hypervisor_from_dmi(system: &System, bios: &Bios) -> Option<&'static str> {
    let vendor = system.manufacturer.as_deref().unwrap_or("").to_ascii_lowercase();
    let product = system.product_name.as_deref().unwrap_or("").to_ascii_lowercase();
    let bios_vendor = bios.vendor.as_deref().unwrap_or("").to_ascii_lowercase();
    let serial = system.serial_number.as_deref().unwrap_or("").to_ascii_lowercase();
    Some(if vendor.contains("vmware") || product.contains("vmware") || serial.starts_with("vmware-") {
        "vmware"
    } else if vendor.contains("microsoft") && product.contains("virtual") {
        "hyperv"
    } else if vendor.contains("innotek") || product.contains("virtualbox") {
        "virtualbox"
    } else if vendor.contains("xen") || product.contains("hvm domu") {
        "xen"
    } else if vendor.contains("parallels") || product.contains("parallels") {
        "parallels"
    } else if vendor.contains("qemu")
        || product.contains("kvm")
        || vendor.contains("red hat") && product.contains("kvm")
        || product.contains("openstack")
        || vendor.contains("nutanix")
        || product.contains("droplet")
        || vendor.contains("alibaba cloud")
        || product.contains("standard pc (")
        || bios_vendor.contains("seabios") && vendor.is_empty()
    {
        "kvm"
    } else if vendor.contains("amazon ec2") && !ec2_bare_metal(&product) {
        "amazon"
    } else if vendor.contains("google") && product.contains("compute engine") {
        "google"
    } else if vendor.contains("bochs") {
        "bochs"
    } else if vendor.contains("bhyve") || product.contains("bhyve") {
        "bhyve"
    } else {
        return None;
    })
}

/// EC2's bare-metal instance types ("m5.metal", "m7i.metal-24xl") run on no hypervisor,
/// though their table says "Amazon EC2" throughout (systemd's `detect_vm_dmi` rule).
fn ec2_bare_metal(product: &str) -> bool {
    product.split_once(".metal").is_some_and(|(_, rest)| rest.is_empty() || rest.starts_with('-'))
}

fn detect_container(src: &dyn Source) -> Option<String> {
    if let Some(kind) = src.value("/run/systemd/container") {
        return Some(kind);
    }
    if src.read("/run/.containerenv").is_ok() {
        return Some("podman".to_owned());
    }
    if src.read("/.dockerenv").is_ok() {
        return Some("docker".to_owned());
    }
    let cgroup = src.text("/proc/1/cgroup").unwrap_or_default();
    for (needle, kind) in [
        ("/docker", "docker"),
        ("/kubepods", "kubernetes"),
        ("/lxc/", "lxc"),
        ("/libpod", "podman"),
        ("/machine.slice/", "systemd-nspawn"),
    ] {
        if cgroup.contains(needle) {
            return Some(kind.to_owned());
        }
    }
    None
}
