//! The RAID controller half of the `disk` plugin: which controller tools to ask, from the
//! drivers the kernel bound, and their outputs parsed into controllers and drives.
//!
//! A tool is asked for only when its controller's driver has a SCSI host
//! (`/sys/class/scsi_host/host*/proc_name`; `/proc/driver/cciss/cciss0` for cciss, which has
//! none) or a bound device under `/sys/bus/pci/drivers`:
//! megaraid_sas or mpi3mr for storcli and perccli, hpsa, smartpqi or cciss for ssacli, aacraid
//! or smartpqi for arcconf. A host without them asks for nothing, so nothing is spawned.

use std::collections::BTreeSet;
use std::io;

use crate::model::{Disk, RaidController};
use crate::parse::raid::{Raid, RaidError};
use crate::parse::{arcconf, ssacli, storcli};
use crate::plugins::CollectError;
use crate::source::Source;

/// Drivers whose controllers storcli or perccli manage (mpi3mr: PERC 12, 9600 series).
const MEGARAID: &[&str] = &["megaraid_sas", "mpi3mr"];
/// Drivers of HPE Smart Array controllers.
const SMART_ARRAY: &[&str] = &["hpsa", "smartpqi", "cciss"];
/// Drivers of Adaptec / Microchip controllers.
const ADAPTEC: &[&str] = &["aacraid", "smartpqi"];
/// Most controllers asked for through arcconf, whatever it says it found.
const MAX_ARCCONF_CONTROLLERS: u32 = 64;

/// What the controller tools listed.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub controllers: Vec<RaidController>,
    pub disks: Vec<Disk>,
}

impl Found {
    fn add(&mut self, raid: Raid) {
        self.controllers.extend(raid.controllers);
        self.disks.extend(raid.disks);
    }
}

/// The controllers and drives behind them; `None` when no controller tool ran. A tool that
/// failed, timed out or printed a truncated answer fails the plugin: reporting the other disks
/// without that controller's drives would read as drives removed.
pub(super) fn read(src: &dyn Source) -> Result<Option<Found>, CollectError> {
    let drivers = drivers(src);
    let has = |list: &[&str]| list.iter().any(|d| drivers.contains(*d));
    let mut found: Option<Found> = None;
    if has(MEGARAID) {
        for tool in ["storcli", "perccli"] {
            let Some(show_all) = command(src, &format!("{tool}-show-all-json"))? else {
                continue;
            };
            let drives = command(src, &format!("{tool}-drives-json"))?;
            let raid = storcli::parse(tool, Some(&show_all), drives.as_deref()).map_err(invalid)?;
            found.get_or_insert_with(Found::default).add(raid);
            break;
        }
    }
    if has(SMART_ARRAY)
        && let Some(out) = command(src, "ssacli-config-detail")?
    {
        let raid = ssacli::parse(&String::from_utf8_lossy(&out)).map_err(invalid)?;
        found.get_or_insert_with(Found::default).add(raid);
    }
    if has(ADAPTEC)
        && let Some(first) = command(src, "arcconf-getconfig-1")?
    {
        let text = String::from_utf8_lossy(&first);
        let count = arcconf::controllers_found(&text).unwrap_or(1).min(MAX_ARCCONF_CONTROLLERS);
        let all = found.get_or_insert_with(Found::default);
        if count > 0 {
            all.add(arcconf::parse(1, &text).map_err(invalid)?);
        }
        for n in 2..=count {
            let name = format!("arcconf-getconfig-{n}");
            let out = command(src, &name)?.ok_or_else(|| {
                CollectError::Missing(format!("arcconf found {count} controllers but {name} is missing"))
            })?;
            all.add(arcconf::parse(n, &String::from_utf8_lossy(&out)).map_err(invalid)?);
        }
    }
    Ok(found)
}

fn invalid(e: RaidError) -> CollectError {
    CollectError::Invalid(e.to_string())
}

/// A command's output; `None` when the tool is not there.
fn command(src: &dyn Source, name: &str) -> Result<Option<Vec<u8>>, CollectError> {
    match src.command(name) {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectError::Missing(format!("{name}: {e}"))),
    }
}

/// The drivers that bound a storage controller: each SCSI host's `proc_name`, cciss's proc
/// file, and the PCI drivers with a device bound.
fn drivers(src: &dyn Source) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = src
        .list("/sys/class/scsi_host")
        .unwrap_or_default()
        .iter()
        .filter_map(|host| src.value(&format!("/sys/class/scsi_host/{host}/proc_name")))
        .collect();
    // cciss has no SCSI host; its proc file is read (so a recorded snapshot replays it).
    if src.read("/proc/driver/cciss/cciss0").is_ok() {
        out.insert("cciss".to_owned());
    }
    for driver in MEGARAID.iter().chain(SMART_ARRAY).chain(ADAPTEC) {
        let bound = src
            .list(&format!("/sys/bus/pci/drivers/{driver}"))
            .is_ok_and(|entries| entries.iter().any(|e| e.contains(':')));
        if bound {
            out.insert((*driver).to_owned());
        }
    }
    out
}
