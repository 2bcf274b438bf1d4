//! `bmc`: the baseboard management controller from ipmitool: its LAN address (`lan print`),
//! firmware (`mc info`), the builtin FRU's board and product serials, and every other FRU
//! record (`fru print`): power supplies into `power_supplies` (merged with SMBIOS type 39 by
//! serial when the facts are put together, `collect`), the rest under `bmc.frus`.
//!
//! The live source runs ipmitool only when an IPMI device node exists and ipmitool is
//! installed, so a host without a BMC spawns nothing and has no `bmc` section. An output that
//! is there but unreadable (cut off, an error answer), or an ipmitool that failed or timed out,
//! fails the plugin: a BMC with half an address would read as an address change.

use super::{CollectError, Collector, Ctx, Output, optional_command};
use crate::model::Bmc;
use crate::parse::ipmitool;

/// BMC: IP, MAC, IP source, gateway, VLAN, firmware, FRU serials (ipmitool).
pub struct BmcCollector;

impl Collector for BmcCollector {
    fn name(&self) -> &'static str {
        "bmc"
    }
    fn describe(&self) -> &'static str {
        "BMC: address, MAC, gateway, VLAN, firmware, FRU serials (ipmitool, when /dev/ipmi0 exists)"
    }
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError> {
        let src = ctx.source.as_ref();
        let text = |name: &str| -> Result<Option<String>, CollectError> {
            Ok(optional_command(src, name)?.map(|out| String::from_utf8_lossy(&out).into_owned()))
        };
        let lan = text("ipmitool-lan-print")?;
        let mc = text("ipmitool-mc-info")?;
        let fru = text("ipmitool-fru-print")?;
        let mut out = Output::default();
        if lan.is_none() && mc.is_none() && fru.is_none() {
            return Ok(out);
        }
        let mut bmc = Bmc::default();
        if let Some(lan) = lan {
            let lan = ipmitool::parse_lan(&lan).map_err(CollectError::Invalid)?;
            bmc.ip_address = lan.ip_address;
            bmc.ip_source = lan.ip_source;
            bmc.netmask = lan.netmask;
            bmc.gateway = lan.gateway;
            bmc.mac = lan.mac;
            bmc.vlan_id = lan.vlan_id;
        }
        if let Some(mc) = mc {
            let mc = ipmitool::parse_mc_info(&mc).map_err(CollectError::Invalid)?;
            bmc.firmware = mc.firmware;
            bmc.manufacturer = mc.manufacturer;
        }
        if let Some(fru_text) = fru {
            let fru = ipmitool::parse_fru(&fru_text).map_err(CollectError::Invalid)?;
            bmc.board_serial = fru.board_serial;
            bmc.product_serial = fru.product_serial;
            let records = crate::parse::fru::parse(&fru_text);
            bmc.frus = Some(records.devices);
            if !records.power_supplies.is_empty() {
                out.facts.power_supplies = Some(records.power_supplies);
            }
        }
        out.facts.bmc = Some(bmc);
        Ok(out)
    }
}
