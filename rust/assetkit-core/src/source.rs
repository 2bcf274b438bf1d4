//! Where raw facts come from: the live host, a snapshot directory, or the live host while
//! recording into a snapshot directory.
//!
//! A snapshot is the contract between gathering and parsing:
//!
//! ```text
//! SNAP/files/<absolute path without the leading slash>   e.g. SNAP/files/proc/cpuinfo
//! SNAP/commands/dmidecode            stdout of `dmidecode`
//! SNAP/commands/megacli-pdlist       stdout of `MegaCli -PDList -aALL`
//! SNAP/commands/ip-addr              stdout of `ip -j addr` (or plain `ip addr`)
//! SNAP/commands/uname-m              stdout of `uname -m`
//! SNAP/commands/readlink-sys-block   "<name> <readlink -f /sys/block/name>" per line
//! SNAP/commands/smartctl-<disk>      stdout of `smartctl -j -i /dev/<disk>` (or text `-i`)
//! SNAP/commands/storcli-show-all-json  stdout of `storcli /call show all J`
//! SNAP/commands/storcli-drives-json    stdout of `storcli /call/eall/sall show all J`
//! SNAP/commands/perccli-show-all-json  the same from perccli or perccli2
//! SNAP/commands/perccli-drives-json    the same from perccli or perccli2
//! SNAP/commands/ssacli-config-detail   stdout of `ssacli ctrl all show config detail` (or hpssacli, hpacucli)
//! SNAP/commands/arcconf-getconfig-<n>  stdout of `arcconf GETCONFIG <n> AL`, one per controller
//! SNAP/commands/ipmitool-lan-print   stdout of `ipmitool lan print 1` (`lan print 2` when 1 says nothing)
//! SNAP/commands/ipmitool-fru-print   stdout of `ipmitool fru print`
//! SNAP/commands/ipmitool-mc-info     stdout of `ipmitool mc info`
//! SNAP/commands/lldpctl-json         stdout of `lldpctl -f json`
//! SNAP/commands/lldpctl-keyvalue     stdout of `lldpctl -f keyvalue` (where json is not built in)
//! SNAP/commands/ethtool-i-<if>       stdout of `ethtool -i <if>` (snapshots only; never run live)
//! SNAP/commands/nvme-list-json       stdout of `nvme list -o json`
//! SNAP/commands/nvidia-smi-q-x       stdout of `nvidia-smi -q -x`
//! SNAP/commands/custom/<name>        stdout of custom plugin <name>
//! SNAP/commands/custom/<name>.error  why custom plugin <name> failed
//! ```
//!
//! Absent means unknown. Nothing here parses; the plugins do. (One check borrows a parser's
//! predicate: whether ipmitool's channel 1 answered with an address, else channel 2 is asked.)

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::command::{CommandError, find_program, run_bounded, run_with_timeout};

/// The output of one custom plugin: its stdout, or why it has none.
pub type CustomOutput = Result<Vec<u8>, String>;

/// Raw sources of one host.
pub trait Source: Send + Sync {
    /// Contents of the file at absolute `path`.
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// Names in directory `dir`, sorted.
    fn list(&self, dir: &str) -> io::Result<Vec<String>>;
    /// Output of the named command (see the module docs); `NotFound` when unavailable.
    fn command(&self, name: &str) -> io::Result<Vec<u8>>;
    /// Outputs of the custom plugins, by name.
    fn custom_plugins(&self) -> BTreeMap<String, CustomOutput>;

    /// `read` as text, lossily decoded; `None` when unreadable.
    fn text(&self, path: &str) -> Option<String> {
        self.read(path).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
    }
    /// `text`, trimmed, `None` when empty.
    fn value(&self, path: &str) -> Option<String> {
        self.text(path).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
    }
}

/// Options for reading the live host.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Directory of custom plugin executables.
    pub plugins_dir: PathBuf,
    /// Deadline for each external command and custom plugin.
    pub command_timeout: Duration,
    /// Run `smartctl -j -i` per disk (needs root; off by default, sysfs usually suffices).
    pub smartctl: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            plugins_dir: PathBuf::from(crate::DEFAULT_PLUGINS_DIR),
            command_timeout: Duration::from_secs(10),
            smartctl: false,
        }
    }
}

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

    fn spawn(&self, program: &Path, args: &[&str]) -> io::Result<Vec<u8>> {
        run_with_timeout(program, args, self.options.command_timeout).map_err(|e| match e {
            CommandError::Spawn { source, .. } => source,
            other => io::Error::other(other.to_string()),
        })
    }
}

/// The entry names of a directory, sorted (reports must not depend on readdir order).
fn sorted_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    Ok(names)
}

fn not_found(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{what} not available"))
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

impl Source for LiveSource {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        sorted_names(Path::new(dir))
    }

    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        match name {
            "uname-m" => Ok(format!("{}\n", sysinfo::System::cpu_arch()).into_bytes()),
            "ip-addr" => live_ip_addr_json().map(String::into_bytes),
            "readlink-sys-block" => {
                let mut out = String::new();
                for name in self.list("/sys/block")? {
                    if let Ok(target) = std::fs::canonicalize(format!("/sys/block/{name}")) {
                        out.push_str(&format!("{name} {}\n", target.display()));
                    }
                }
                Ok(out.into_bytes())
            }
            // Only where the kernel does not expose the SMBIOS table (pre-4.2 kernels, some
            // containers): dmidecode then reads /dev/mem, which needs root.
            "dmidecode" => {
                if !is_root() {
                    return Err(not_found("dmidecode (needs root)"));
                }
                let program = find_program(&["/usr/sbin/dmidecode", "/sbin/dmidecode", "/usr/bin/dmidecode"])
                    .ok_or_else(|| not_found("dmidecode"))?;
                self.spawn(&program, &[])
            }
            "megacli-pdlist" => {
                if !megaraid_present() {
                    return Err(not_found("MegaRAID controller"));
                }
                let program = find_program(&[
                    "/opt/MegaRAID/MegaCli/MegaCli64",
                    "/opt/MegaRAID/MegaCli/MegaCli",
                    "/usr/sbin/MegaCli64",
                    "/usr/sbin/MegaCli",
                    "/usr/sbin/megacli",
                    "/usr/bin/MegaCli64",
                    "/usr/bin/megacli",
                ])
                .ok_or_else(|| not_found("MegaCli"))?;
                self.spawn(&program, &["-PDList", "-aALL", "-NoLog"])
            }
            // The BMC, only where an IPMI device node exists and ipmitool is installed.
            "ipmitool-lan-print" => {
                let program = ipmitool()?;
                // Channel 1 is the LAN channel of most BMCs; HP iLO answers on channel 2.
                let first = self.spawn(&program, &["lan", "print", "1"]);
                match first {
                    Ok(out) if crate::parse::ipmitool::lan_is_useful(&out) => Ok(out),
                    first => self.spawn(&program, &["lan", "print", "2"]).or(first),
                }
            }
            "ipmitool-fru-print" => self.spawn(&ipmitool()?, &["fru", "print"]),
            "ipmitool-mc-info" => self.spawn(&ipmitool()?, &["mc", "info"]),
            // LLDP neighbours, only while lldpd runs (its control socket exists).
            "lldpctl-json" | "lldpctl-keyvalue" => {
                if !["/run/lldpd.socket", "/var/run/lldpd.socket"].iter().any(|p| Path::new(p).exists()) {
                    return Err(not_found("lldpd"));
                }
                let program = find_program(&["/usr/sbin/lldpctl", "/usr/bin/lldpctl", "/sbin/lldpctl"])
                    .ok_or_else(|| not_found("lldpctl"))?;
                let format = if name == "lldpctl-json" { "json" } else { "keyvalue" };
                self.spawn(&program, &["-f", format])
            }
            // Only asked for when sysfs lacks an NVMe disk's model, serial or firmware.
            "nvme-list-json" => {
                if !Path::new("/sys/class/nvme").is_dir() {
                    return Err(not_found("NVMe controller"));
                }
                let program = find_program(&["/usr/sbin/nvme", "/usr/bin/nvme", "/sbin/nvme"])
                    .ok_or_else(|| not_found("nvme-cli"))?;
                self.spawn(&program, &["list", "-o", "json"])
            }
            // GPU serials and UUIDs, only where the NVIDIA driver is loaded and nvidia-smi installed.
            "nvidia-smi-q-x" => {
                if !Path::new("/proc/driver/nvidia/version").exists() {
                    return Err(not_found("NVIDIA driver"));
                }
                let program = find_program(&["/usr/bin/nvidia-smi", "/usr/sbin/nvidia-smi", "/bin/nvidia-smi"])
                    .ok_or_else(|| not_found("nvidia-smi"))?;
                self.spawn(&program, &["-q", "-x"])
            }
            // RAID controller tools, each only where its controller's driver is bound and the
            // tool is installed.
            "storcli-show-all-json" | "storcli-drives-json" | "perccli-show-all-json" | "perccli-drives-json" => {
                if !pci_driver_bound(&["megaraid_sas", "mpi3mr"]) {
                    return Err(not_found("MegaRAID or PERC controller"));
                }
                let program = if name.starts_with("storcli") {
                    find_program(STORCLI).ok_or_else(|| not_found("storcli"))?
                } else {
                    find_program(PERCCLI).ok_or_else(|| not_found("perccli"))?
                };
                let target = if name.ends_with("-drives-json") { "/call/eall/sall" } else { "/call" };
                self.spawn(&program, &[target, "show", "all", "J"])
            }
            "ssacli-config-detail" => {
                if !pci_driver_bound(&["hpsa", "smartpqi", "cciss"]) {
                    return Err(not_found("Smart Array controller"));
                }
                let program = find_program(SSACLI).ok_or_else(|| not_found("ssacli, hpssacli or hpacucli"))?;
                self.spawn(&program, &["ctrl", "all", "show", "config", "detail"])
            }
            other if other.starts_with("arcconf-getconfig-") => {
                let number = other["arcconf-getconfig-".len()..]
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or_else(|| not_found(other))?;
                if !pci_driver_bound(&["aacraid", "smartpqi"]) {
                    return Err(not_found("Adaptec controller"));
                }
                let program = find_program(ARCCONF).ok_or_else(|| not_found("arcconf"))?;
                self.spawn(&program, &["GETCONFIG", &number.to_string(), "AL"])
            }
            other if other.starts_with("smartctl-") => {
                let disk = &other["smartctl-".len()..];
                if !self.options.smartctl || !is_root() || disk.contains('/') {
                    return Err(not_found("smartctl"));
                }
                let program = find_program(&["/usr/sbin/smartctl", "/sbin/smartctl", "/usr/bin/smartctl"])
                    .ok_or_else(|| not_found("smartctl"))?;
                let dev = format!("/dev/{disk}");
                // smartctl's exit status is a bit mask of drive health; its JSON is valid anyway.
                match run_with_timeout(&program, &["-j", "-i", &dev], self.options.command_timeout) {
                    Ok(out) => Ok(out),
                    Err(CommandError::Failed { .. }) => Err(io::Error::other("smartctl failed")),
                    Err(e) => Err(io::Error::other(e.to_string())),
                }
            }
            other => Err(not_found(other)),
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
                let valid = crate::plugins::custom::valid_name(&name);
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

/// ipmitool, when an IPMI device node exists (the `ipmi_devintf` module is loaded) and ipmitool
/// is installed.
fn ipmitool() -> io::Result<PathBuf> {
    if !["/dev/ipmi0", "/dev/ipmi/0", "/dev/ipmidev/0"].iter().any(|p| Path::new(p).exists()) {
        return Err(not_found("IPMI device"));
    }
    find_program(&["/usr/bin/ipmitool", "/usr/sbin/ipmitool", "/bin/ipmitool", "/sbin/ipmitool"])
        .ok_or_else(|| not_found("ipmitool"))
}

const STORCLI: &[&str] = &[
    "/opt/MegaRAID/storcli/storcli64",
    "/opt/MegaRAID/storcli/storcli",
    "/usr/sbin/storcli64",
    "/usr/sbin/storcli",
    "/usr/bin/storcli64",
    "/usr/bin/storcli",
    "/usr/local/sbin/storcli64",
    // storcli2 (the 9600 series, mpi3mr) prints perccli2's layout.
    "/opt/MegaRAID/storcli2/storcli2",
    "/usr/sbin/storcli2",
    "/usr/bin/storcli2",
];
const PERCCLI: &[&str] = &[
    "/opt/MegaRAID/perccli/perccli64",
    "/opt/MegaRAID/perccli/perccli",
    "/opt/MegaRAID/perccli2/perccli2",
    "/usr/sbin/perccli64",
    "/usr/sbin/perccli",
    "/usr/sbin/perccli2",
    "/usr/bin/perccli64",
    "/usr/bin/perccli",
    "/usr/bin/perccli2",
];
const SSACLI: &[&str] = &[
    "/usr/sbin/ssacli",
    "/opt/smartstorageadmin/ssacli/bin/ssacli",
    "/usr/bin/ssacli",
    "/usr/sbin/hpssacli",
    "/opt/hp/hpssacli/bld/hpssacli",
    "/usr/sbin/hpacucli",
    "/opt/compaq/hpacucli/bld/hpacucli",
];
const ARCCONF: &[&str] =
    &["/usr/sbin/arcconf", "/usr/bin/arcconf", "/usr/Arcconf/arcconf", "/usr/StorMan/arcconf", "/opt/StorMan/arcconf"];

/// A PCI device is bound to one of `drivers` (the directory lists it by its address).
fn pci_driver_bound(drivers: &[&str]) -> bool {
    drivers.iter().any(|driver| {
        std::fs::read_dir(format!("/sys/bus/pci/drivers/{driver}"))
            .map(|d| d.filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().contains(':')))
            .unwrap_or(false)
    })
}

fn megaraid_present() -> bool {
    std::fs::read_dir("/sys/bus/pci/drivers/megaraid_sas")
        .map(|d| d.filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().contains(':')))
        .unwrap_or(false)
}

/// The live host's addresses in the shape of `ip -j addr`, so that a recorded snapshot holds
/// what `ip` would have printed and the same parser reads both.
fn live_ip_addr_json() -> io::Result<String> {
    let networks =
        sysinfo::Networks::new_with_refreshed_list().map_err(|e| io::Error::other(format!("interfaces: {e}")))?;
    let mut out: Vec<serde_json::Value> = Vec::new();
    let mut entries: Vec<_> = networks.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    for (name, data) in entries {
        let name = name.to_string_lossy();
        let mut addrs: Vec<(String, String, u8)> = data
            .ip_networks()
            .iter()
            .map(|n| {
                let family = if n.addr.is_ipv4() { "inet" } else { "inet6" };
                (family.to_owned(), n.addr.to_string(), n.prefix)
            })
            .collect();
        addrs.sort();
        addrs.dedup();
        let addr_info: Vec<serde_json::Value> = addrs
            .into_iter()
            .map(|(family, local, prefixlen)| serde_json::json!({"family": family, "local": local, "prefixlen": prefixlen}))
            .collect();
        out.push(
            serde_json::json!({"ifname": name, "address": data.mac_address().to_string(), "addr_info": addr_info}),
        );
    }
    Ok(serde_json::Value::Array(out).to_string())
}

/// A snapshot directory (see the module docs for the layout).
#[derive(Debug, Clone)]
pub struct SnapshotDir {
    root: PathBuf,
}

impl SnapshotDir {
    /// Reads the snapshot rooted at `root`. Fails when `root` is not a directory.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("snapshot {} is not a directory", root.display()),
            ));
        }
        Ok(SnapshotDir { root })
    }

    /// The snapshot's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn file_path(&self, path: &str) -> io::Result<PathBuf> {
        let rel = safe_relative(path)?;
        Ok(self.root.join("files").join(rel))
    }
}

/// `path` without its leading slash, refusing anything that would escape the snapshot.
pub fn safe_relative(path: &str) -> io::Result<&str> {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() || rel.split('/').any(|c| c == ".." || c == ".") {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("refusing path {path:?}")));
    }
    Ok(rel)
}

impl Source for SnapshotDir {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.file_path(path)?)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        sorted_names(&self.file_path(dir)?)
    }

    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        let rel = safe_relative(name)?;
        std::fs::read(self.root.join("commands").join(rel))
    }

    fn custom_plugins(&self) -> BTreeMap<String, CustomOutput> {
        let dir = self.root.join("commands").join("custom");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".error") {
                let message = std::fs::read_to_string(entry.path()).unwrap_or_default().trim().to_owned();
                out.insert(name.to_owned(), Err(message));
            } else if crate::plugins::custom::valid_name(&file) {
                out.entry(file).or_insert_with(|| std::fs::read(entry.path()).map_err(|e| e.to_string()));
            }
        }
        out
    }
}

/// The live host, recording every successful read into a snapshot directory.
pub struct Recorder<S> {
    inner: S,
    out: PathBuf,
}

impl<S: Source> Recorder<S> {
    /// Records into `out`, which must exist and should be empty.
    pub fn new(inner: S, out: impl Into<PathBuf>) -> Self {
        Recorder { inner, out: out.into() }
    }

    fn save(&self, rel: &Path, data: &[u8]) {
        let path = self.out.join(rel);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(error) = std::fs::write(&path, data) {
            tracing::warn!(path = %path.display(), %error, "cannot write snapshot file");
        }
    }
}

impl<S: Source> Source for Recorder<S> {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let data = self.inner.read(path)?;
        if let Ok(rel) = safe_relative(path) {
            self.save(&Path::new("files").join(rel), &data);
        }
        Ok(data)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }

    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        let data = self.inner.command(name)?;
        if let Ok(rel) = safe_relative(name) {
            self.save(&Path::new("commands").join(rel), &data);
        }
        Ok(data)
    }

    fn custom_plugins(&self) -> BTreeMap<String, CustomOutput> {
        let outputs = self.inner.custom_plugins();
        for (name, output) in &outputs {
            let dir = Path::new("commands").join("custom");
            match output {
                Ok(data) => self.save(&dir.join(name), data),
                Err(message) => self.save(&dir.join(format!("{name}.error")), message.as_bytes()),
            }
        }
        outputs
    }
}
