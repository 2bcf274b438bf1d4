//! Where raw facts come from: the live host, a snapshot directory (or the same held in memory),
//! or the live host while recording into a snapshot directory.
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
//! SNAP/commands/rpm-qa               stdout of `rpm -qa --qf FORMAT`, FORMAT being
//!                                    `plugins::packages::rpm::qa::FORMAT`: one line per package,
//!                                    NAME EPOCH VERSION RELEASE ARCH SOURCERPM VENDOR INSTALLTIME,
//!                                    tab-separated, absent values empty. Run live only where an
//!                                    rpm database exists in a format no reader here knows; the
//!                                    SSH sweep's script sends it instead of the database.
//! SNAP/commands/packages.error       what the sweep's script could not capture of the package
//!                                    databases (`rpm -qa` failed, a file it could not read), one
//!                                    problem a line (`plugins::packages::ERROR_COMMAND`); the
//!                                    packages plugin then fails
//! SNAP/files/var/lib/dpkg/status     (and `updates/NNNN`, `/lib/apk/db/installed`) the package
//!                                    databases; from the sweep's script only the lines of the
//!                                    fields the plugin reads
//! SNAP/files/var/lib/rpm/rpmdb.sqlite  (and `-wal`, `Packages.db`, `Packages`, also under
//!                                    /usr/lib/sysimage/rpm) the rpm database as it is
//! SNAP/commands/custom/<name>        stdout of custom plugin <name>
//! SNAP/commands/custom/<name>.error  why custom plugin <name> failed
//! ```
//!
//! Absent means unknown. Nothing here parses; the plugins do. (One check borrows a parser's
//! predicate: whether ipmitool's channel 1 answered with an address, else channel 2 is asked.)
//!
//! Modules: [`live`] (the running host, and the tools it runs only where their hardware is),
//! [`snapshot`] (a snapshot directory), [`memory`] (one held in memory), [`recorder`] (the live
//! host, recording into one),
//! [`raw`] (the trait they share).

pub mod live;
pub mod memory;
pub mod raw;
pub mod recorder;
pub mod snapshot;

pub use live::{LiveOptions, LiveSource, MAX_PLUGIN_OUTPUT};
pub use memory::SnapshotMemory;
pub use raw::{CustomOutput, DEFAULT_PLUGINS_DIR, Source, valid_plugin_name};
pub use recorder::Recorder;
pub use snapshot::{SnapshotDir, safe_relative};
