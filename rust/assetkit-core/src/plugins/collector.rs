//! What every collector shares: the [`Collector`] trait, its [`Output`] and [`CollectError`],
//! and the [`Ctx`] of one collection (the source, and SMBIOS decoded once for all of them).

use std::sync::{Arc, OnceLock};

use crate::smbios::{self, Smbios};
use crate::source::Source;

/// A collector failed; the message goes into `report.errors`.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The source this collector needs is absent or unreadable.
    #[error("{0}")]
    Missing(String),
    /// The source is there but holds nothing usable.
    #[error("{0}")]
    Invalid(String),
}

/// What a collector found.
#[derive(Debug, Default)]
pub struct Output {
    /// Only this collector's sections are set.
    pub facts: crate::model::Facts,
    /// Degraded collection worth telling the operator about.
    pub warnings: Vec<String>,
}

/// A built-in collector.
pub trait Collector: Sync + Send {
    /// The name used in config files and `--only`.
    fn name(&self) -> &'static str;
    /// One line for `--help` and `assetkit plugins`.
    fn describe(&self) -> &'static str;
    /// Reads the sources and returns facts.
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError>;
}

/// The output of an optional tool: `None` when the host lacks it (`NotFound`: no device, not
/// installed, not in the snapshot), an error when it ran and failed. A tool that timed out must
/// fail its plugin, not read as "this host has no such hardware" (which the receiver would
/// record as a change).
pub(crate) fn optional_command(source: &dyn Source, name: &str) -> Result<Option<Vec<u8>>, CollectError> {
    match source.command(name) {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectError::Invalid(format!("{name}: {e}"))),
    }
}

/// Shared state of one collection: the source, and SMBIOS decoded once for all collectors.
pub struct Ctx {
    /// Where raw facts come from.
    pub source: Arc<dyn Source>,
    smbios: OnceLock<SmbiosState>,
}

/// SMBIOS as decoded for this collection, with where it came from and what went wrong.
#[derive(Debug, Default)]
pub struct SmbiosState {
    /// The decoded table, if any source held one.
    pub smbios: Option<Smbios>,
    /// "smbios" (raw sysfs table) or "dmidecode".
    pub origin: Option<&'static str>,
    /// Unusable or incomplete data: reported as an error.
    pub error: Option<String>,
    /// No data at all, and why: reported as a warning.
    pub absent: Option<String>,
    /// The table's SMBIOS version (from the entry point, or dmidecode's header), when known:
    /// tables before 2.6 store the UUID's first three fields in the other byte order.
    pub version: Option<(u8, u8)>,
}

impl Ctx {
    /// A context over `source`.
    pub fn new(source: Arc<dyn Source>) -> Self {
        Ctx { source, smbios: OnceLock::new() }
    }

    /// SMBIOS, from the raw sysfs table when readable, else from `dmidecode` output.
    pub fn smbios(&self) -> &SmbiosState {
        self.smbios.get_or_init(|| load_smbios(self.source.as_ref()))
    }

    /// True once some collector asked for SMBIOS.
    pub fn smbios_used(&self) -> Option<&SmbiosState> {
        self.smbios.get()
    }
}

const DMI_TABLE: &str = "/sys/firmware/dmi/tables/DMI";
const DMI_ENTRY: &str = "/sys/firmware/dmi/tables/smbios_entry_point";

fn load_smbios(source: &dyn Source) -> SmbiosState {
    let raw_error = match source.read(DMI_TABLE) {
        Ok(table) => {
            let version = source.read(DMI_ENTRY).ok().and_then(|e| smbios::raw::entry_point_version(&e));
            let decoded = smbios::raw::parse_detailed(&table, version);
            let error = if decoded.smbios == Smbios::default() {
                Some(format!("{DMI_TABLE} holds no usable SMBIOS structures"))
            } else {
                decoded.truncated_at.map(|at| {
                    format!("{DMI_TABLE} is truncated: the structure at byte {at} runs past the end of the table")
                })
            };
            return SmbiosState { smbios: Some(decoded.smbios), origin: Some("smbios"), error, absent: None, version };
        }
        Err(e) => e,
    };
    match source.command("dmidecode") {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out);
            let parsed = smbios::text::parse_detailed(&text);
            let error = if out.contains(&0) {
                Some("dmidecode output is binary, not text".to_owned())
            } else {
                parsed.problem()
            };
            SmbiosState {
                smbios: (parsed.records > 0).then_some(parsed.smbios),
                origin: Some("dmidecode"),
                error,
                absent: None,
                version: parsed.version,
            }
        }
        Err(dmidecode_error) => {
            // The message names what is missing, not how each source failed, so that a live
            // collection and a collection from its snapshot say the same thing.
            tracing::debug!(%raw_error, %dmidecode_error, "no SMBIOS source");
            let why = match raw_error.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    format!("{DMI_TABLE} is not readable (run as root for serial numbers and memory modules)")
                }
                _ => format!("no SMBIOS data: {DMI_TABLE} is absent and no dmidecode output is available"),
            };
            SmbiosState { absent: Some(why), ..SmbiosState::default() }
        }
    }
}
