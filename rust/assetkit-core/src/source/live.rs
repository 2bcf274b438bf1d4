//! The running host: files are read directly; a command runs only where no file holds the fact
//! (see [`commands`] for which, and when), and custom plugins run side by side under a deadline.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::raw::{CustomOutput, Source, read_file_limited, sorted_names, valid_plugin_name};
use crate::command::{find_program, run_bounded};

pub mod commands;

pub use commands::LiveOptions;

/// The running host. Files are read directly; a command runs only when no file holds the fact.
#[derive(Debug, Default)]
pub struct LiveSource {
    options: LiveOptions,
}

impl LiveSource {
    /// A live source with the given options.
    pub fn new(options: LiveOptions) -> Self {
        LiveSource { options }
    }
}

impl Source for LiveSource {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn read_limited(&self, path: &str, max: u64) -> io::Result<Vec<u8>> {
        read_file_limited(Path::new(path), max)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        sorted_names(Path::new(dir))
    }

    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        match name {
            "uname-m" => Ok(format!("{}\n", sysinfo::System::cpu_arch()).into_bytes()),
            "ip-addr" => commands::live_ip_addr_json().map(String::into_bytes),
            "readlink-sys-block" => commands::readlink_sys_block(),
            "dmidecode" | "megacli-pdlist" | "nvme-list-json" | "nvidia-smi-q-x" => {
                commands::device_tool(&self.options, name)
            }
            "ipmitool-lan-print" | "ipmitool-fru-print" | "ipmitool-mc-info" | "lldpctl-json" | "lldpctl-keyvalue" => {
                commands::management_tool(&self.options, name)
            }
            "rpm-qa" => commands::rpm_qa(&self.options),
            other if commands::is_raid_tool(other) => commands::raid_tool(&self.options, other),
            other if other.starts_with("smartctl-") => commands::smartctl(&self.options, &other["smartctl-".len()..]),
            other => Err(commands::not_found(other)),
        }
    }

    fn custom_plugins(&self) -> BTreeMap<String, CustomOutput> {
        let dir = &self.options.plugins_dir;
        let Ok(entries) = std::fs::read_dir(dir) else {
            return BTreeMap::new();
        };
        let mut programs: Vec<(String, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let valid = valid_plugin_name(&name);
                valid.then(|| (name, e.path()))
            })
            .collect();
        programs.sort();
        // A plugin runs with the agent's privileges (often root): one that another user could
        // have written, or that sits in a directory another user could write, is refused.
        let dir_trusted = crate::trust::check_ancestors(&dir.join("x"));
        let timeout = self.options.command_timeout;
        // Plugins run side by side so that N slow plugins cost one timeout, not N.
        std::thread::scope(|scope| {
            let handles: Vec<_> = programs
                .into_iter()
                .filter(|(_, path)| find_program(&[path.to_str().unwrap_or("")]).is_some())
                .map(|(name, path)| {
                    let trusted = match &dir_trusted {
                        Err(e) => Err(format!("refused: {e}")),
                        Ok(()) => trusted_plugin(&path),
                    };
                    scope.spawn(move || {
                        let result = trusted.and_then(|()| {
                            run_bounded(&path, &[], timeout, MAX_PLUGIN_OUTPUT).map_err(|e| e.to_string())
                        });
                        (name, result)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        })
    }
}

/// Most output a custom plugin may print: a fact, not a data dump.
pub const MAX_PLUGIN_OUTPUT: u64 = 1 << 20;

/// The plugin (after symlinks) is owned by root or the agent's user and not writable by others.
fn trusted_plugin(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    crate::trust::check_owner_and_mode(path, meta.uid(), meta.mode()).map_err(|e| format!("refused: {e}"))?;
    let target = std::fs::canonicalize(path).map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
    crate::trust::check_ancestors(&target).map_err(|e| format!("refused: {e}"))
}
