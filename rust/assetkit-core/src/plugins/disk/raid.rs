//! The RAID controller half of the `disk` plugin: every controller tool's capture is asked
//! for, and the outputs are parsed into controllers and drives.
//!
//! Which tool may *run* is the live source's decision (`source/live/commands.rs`): only where
//! its controller's driver is bound (megaraid_sas or mpi3mr for storcli and perccli; hpsa,
//! smartpqi or cciss for ssacli; aacraid or smartpqi for arcconf), so a host without them
//! spawns nothing. A snapshot answers with what it holds: a capture is evidence that the tool
//! ran, and replays without the driver's sysfs files beside it.

use std::io;

use crate::model::{Disk, RaidController};
use crate::parse::raid::{Raid, RaidError};
use crate::parse::{arcconf, ssacli, storcli};
use crate::plugins::CollectError;
use crate::source::Source;

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
    let mut found: Option<Found> = None;
    for tool in ["storcli", "perccli"] {
        let Some(show_all) = command(src, &format!("{tool}-show-all-json"))? else {
            continue;
        };
        let drives = command(src, &format!("{tool}-drives-json"))?;
        let raid = storcli::parse(tool, Some(&show_all), drives.as_deref()).map_err(invalid)?;
        found.get_or_insert_with(Found::default).add(raid);
        break;
    }
    if let Some(out) = command(src, "ssacli-config-detail")? {
        let raid = ssacli::parse(&String::from_utf8_lossy(&out)).map_err(invalid)?;
        found.get_or_insert_with(Found::default).add(raid);
    }
    if let Some(first) = command(src, "arcconf-getconfig-1")? {
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
