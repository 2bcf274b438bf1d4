//! Proxmox VE guest configs: `/etc/pve/qemu-server/VMID.conf` (virtual machines) and
//! `/etc/pve/lxc/VMID.conf` (containers), `key: value` lines.
//!
//! Only the current configuration is read: everything from the first `[section]` header on is
//! a snapshot (`[name]`), pending changes (`[PENDING]`) or cloud-init state, and says nothing
//! about the guest as it is. `#` lines are the guest's description. Lines Proxmox itself would
//! warn about are skipped, as it does.

/// What a guest config says, defaults not applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestConfig {
    /// `name:` (qemu) or `hostname:` (lxc).
    pub name: Option<String>,
    /// `smbios1: uuid=...`, lower-case and hyphenated (qemu only).
    pub uuid: Option<String>,
    /// `cores:`.
    pub cores: Option<u32>,
    /// `sockets:` (qemu only).
    pub sockets: Option<u32>,
    /// `vcpus:`: the vCPUs hot-plugged online, when fewer than sockets × cores (qemu only).
    pub vcpus: Option<u32>,
    /// `memory:` in MiB (`memory: 4096`, or `memory: current=4096,...` since PVE 8.1).
    pub memory_mib: Option<u64>,
}

/// Parses one config. `qemu` selects the virtual machine's key for the name (`name`, else the
/// container's `hostname`). `Err` when a value the report uses is malformed.
pub fn parse(text: &str, qemu: bool) -> Result<GuestConfig, String> {
    let mut config = GuestConfig::default();
    let count = |key: &str, value: &str| value.parse::<u32>().map_err(|_| format!("{key}: {value:?} is not a count"));
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            break;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match key.trim() {
            "name" if qemu => config.name = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "hostname" if !qemu => config.name = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "smbios1" if qemu => config.uuid = smbios1_uuid(value)?,
            "cores" => config.cores = Some(count("cores", value)?),
            "sockets" if qemu => config.sockets = Some(count("sockets", value)?),
            "vcpus" if qemu => config.vcpus = Some(count("vcpus", value)?),
            "memory" => config.memory_mib = Some(memory_mib(value)?),
            _ => {}
        }
    }
    Ok(config)
}

/// `uuid=` of the `smbios1` property string (`uuid=...,serial=...,base64=1`; only the string
/// fields are base64-encoded, never the UUID).
fn smbios1_uuid(value: &str) -> Result<Option<String>, String> {
    let Some(raw) = value.split(',').find_map(|part| part.trim().strip_prefix("uuid=")) else {
        return Ok(None);
    };
    uuid::Uuid::parse_str(raw)
        .map(|u| Some(u.hyphenated().to_string()))
        .map_err(|_| format!("smbios1: uuid {raw:?} is not a UUID"))
}

/// `4096` or `current=4096[,...]` (PVE 8.1's property string; `current` is its default key).
fn memory_mib(value: &str) -> Result<u64, String> {
    let current = value
        .split(',')
        .map(str::trim)
        .find_map(|part| match part.split_once('=') {
            Some(("current", n)) => Some(n),
            Some(_) => None,
            None => Some(part),
        })
        .unwrap_or("");
    current.parse::<u64>().map_err(|_| format!("memory: {value:?} is not a size in MiB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_in_both_notations() {
        assert_eq!(memory_mib("4096"), Ok(4096));
        assert_eq!(memory_mib("current=2048"), Ok(2048));
        assert!(memory_mib("lots").is_err());
    }

    #[test]
    fn smbios1_uuid_among_base64_fields() {
        // tests/fixtures/guests/proxmox/smbios1-base64.snippet, the UUID upper-cased.
        let line = "base64=1,serial=aD13ZWItMDJhO2k9MTIwMjA=,uuid=DE5B02B0-828A-4D1D-B135-2B812AA7D943";
        assert_eq!(smbios1_uuid(line), Ok(Some("de5b02b0-828a-4d1d-b135-2b812aa7d943".to_owned())));
        assert_eq!(smbios1_uuid("manufacturer=QUNNRQ=="), Ok(None));
        assert!(smbios1_uuid("uuid=nope").is_err());
    }

    #[test]
    fn names_by_kind_and_no_snapshot_values() {
        let text = "name: web\nhostname: nope\ncores: 2\n[snap]\ncores: 8\nname: old\n";
        let vm = parse(text, true).unwrap();
        assert_eq!((vm.name.as_deref(), vm.cores), (Some("web"), Some(2)));
        let ct = parse(text, false).unwrap();
        assert_eq!(ct.name.as_deref(), Some("nope"));
    }
}
