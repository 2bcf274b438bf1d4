//! The collector plugins: one file each, one line each in [`BUILTIN`].
//!
//! A collector reads raw sources through [`Ctx`] and returns its slice of facts. It never
//! panics on bad input and never fails the report: an `Err` becomes an entry in
//! `report.errors` and the other collectors' facts still go out. [`collector`] holds what they
//! share; this file only lists them.

pub mod bmc;
pub mod board;
pub mod collector;
pub mod cpu;
pub mod custom;
pub mod disk;
pub mod gpu;
pub mod guests;
pub mod memory;
pub mod nic;
pub mod os;
pub mod packages;

pub(crate) use collector::optional_command;
pub use collector::{CollectError, Collector, Ctx, Output, SmbiosState};

/// Every built-in collector, in report order.
pub static BUILTIN: &[&dyn Collector] = &[
    &os::OsCollector,
    &board::BoardCollector,
    &cpu::CpuCollector,
    &memory::MemoryCollector,
    &disk::DiskCollector,
    &nic::NicCollector,
    &bmc::BmcCollector,
    &gpu::GpuCollector,
    &packages::PackagesCollector,
    &guests::GuestsCollector,
];

/// Name of the pseudo-plugin that runs the executables in the plugins directory.
pub const CUSTOM: &str = "custom";

/// All plugin names a config may enable: the built-ins plus `custom`.
pub fn known_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|c| c.name()).chain([CUSTOM]).collect()
}
