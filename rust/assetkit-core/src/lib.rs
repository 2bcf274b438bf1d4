//! assetkit-core: the facts model, snapshots, parsers and collector plugins.
//!
//! Data flows one way: raw sources ([`source`]) -> parsers ([`parse`], [`smbios`]) -> facts
//! ([`plugins`]) -> [`model::Report`] ([`collect`]). A snapshot directory is the seam: the live
//! host, an SSH sweep ([`script`]) and every test produce one, and the same parsers read it.
//!
//! Invariants:
//! - no network, no database of its own (rpm's SQLite database is only read, in memory), no
//!   global state; the only processes spawned are dmidecode and MegaCli where no file holds the
//!   fact, storcli, perccli, ssacli and arcconf where their controller's driver is bound,
//!   ipmitool where an IPMI device exists, lldpctl while lldpd runs, nvme-cli where sysfs lacks
//!   an NVMe field, nvidia-smi where the NVIDIA driver is loaded, `rpm -qa` where an rpm
//!   database is in a format no reader here knows, and custom plugins, always under a deadline;
//! - package databases are read as files, whole, in memory: no dpkg or rpm lock, nothing
//!   written; a database that is damaged or being rewritten fails the plugin, never shortens
//!   the list;
//! - parsers never do I/O and never panic on any input;
//! - a failing collector is an entry in `report.errors`, never a failed report.
//!
//! Modules: [`model`] (report types), [`source`] (live / snapshot / recording sources),
//! [`names`] (the host-name rule the receiver and the agent share), [`script`] (the remote
//! snapshot script and its stream), [`smbios`] (raw table and dmidecode
//! text decoders), [`parse`] (cpuinfo, ip, MegaCli, smartctl, os-release, ipmitool, lldpctl,
//! nvme-cli, nvidia-smi, pci.ids, storcli/perccli, ssacli, arcconf, libvirt domain XML, Proxmox
//! guest configs), [`placeholder`]
//! (vendor junk strings), [`plugins`] (the collectors; [`plugins::packages`] reads the dpkg,
//! rpm and apk databases, [`plugins::guests`] a hypervisor's guest files), [`versions`] (each package manager's version order), [`collect`]
//! (running them),
//! [`command`] (subprocesses with a deadline and an output bound), [`trust`] (ownership and mode
//! checks on files others could have written).

pub mod collect;
pub mod command;
pub mod model;
pub mod names;
pub mod parse;
pub mod placeholder;
pub mod plugins;
pub mod script;
pub mod smbios;
pub mod source;
pub mod trust;
pub mod versions;

pub use collect::{CollectOptions, Selection, UnknownPlugin, collect};
pub use model::{Facts, Mode, Report, VERSION};
pub use source::{DEFAULT_PLUGINS_DIR, LiveOptions, LiveSource, Recorder, SnapshotDir, SnapshotMemory, Source};
