//! `cpu`: model, topology and clock from /proc/cpuinfo, SMBIOS type 4 where cpuinfo is silent.

use super::{CollectError, Collector, Ctx, Output};
use crate::model::Cpu;
use crate::parse::cpuinfo;

/// Processor model, sockets, cores, threads, nominal MHz.
pub struct CpuCollector;

impl Collector for CpuCollector {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn describe(&self) -> &'static str {
        "model, sockets, physical and logical cores, nominal MHz (/proc/cpuinfo, SMBIOS type 4)"
    }
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError> {
        let text = ctx.source.text("/proc/cpuinfo");
        let info = text.as_deref().map(cpuinfo::parse).unwrap_or_default();
        let state = ctx.smbios();
        let procs: Vec<_> = state
            .smbios
            .as_ref()
            .map(|s| s.processors.iter().filter(|p| p.populated && p.enabled).collect())
            .unwrap_or_default();
        if text.is_none() && procs.is_empty() {
            return Err(CollectError::Missing("/proc/cpuinfo is unreadable and SMBIOS lists no processor".to_owned()));
        }
        let sum = |f: fn(&crate::smbios::ProcessorInfo) -> Option<u32>| -> Option<u32> {
            let values: Vec<u32> = procs.iter().filter_map(|p| f(p)).collect();
            (!values.is_empty()).then(|| values.iter().sum())
        };
        let smbios_sockets = (!procs.is_empty()).then_some(procs.len() as u32);
        let cpu = Cpu {
            model: info.model.clone().or_else(|| procs.iter().find_map(|p| p.version.clone())),
            vendor: info.vendor.clone().or_else(|| procs.iter().find_map(|p| p.manufacturer.clone())),
            sockets: info.sockets.or(smbios_sockets),
            physical_cores: info.physical_cores.or_else(|| sum(|p| p.core_count)),
            logical_cores: info.logical_cores.or_else(|| sum(|p| p.thread_count)),
            mhz: info.nominal_mhz.or_else(|| procs.iter().find_map(|p| p.current_speed_mhz)).or(info.current_mhz),
        };
        let mut out = Output::default();
        if text.is_none() {
            out.warnings.push("/proc/cpuinfo is unreadable; CPU facts come from SMBIOS only".to_owned());
        }
        out.facts.cpu = Some(cpu);
        Ok(out)
    }
}
