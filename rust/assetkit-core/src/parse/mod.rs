//! Pure parsers: text or bytes in, plain data out. No I/O happens here, and no input makes any
//! of them panic (the dmidecode and MegaCli parsers are property-tested against arbitrary bytes).

pub mod arcconf;
pub mod cpuinfo;
pub mod fru;
pub mod ip;
pub mod ipmitool;
pub mod libvirt;
pub mod lldpctl;
pub mod megacli;
pub mod nvidia_smi;
pub mod nvme;
pub mod os_release;
pub mod pci_ids;
pub mod proxmox;
pub mod raid;
pub mod smartctl;
pub mod ssacli;
pub mod storcli;
pub mod wwn;

/// First run of ASCII digits in `s` (after leading spaces), as a number.
pub(crate) fn leading_u64(s: &str) -> Option<u64> {
    let digits: String = s.trim_start().chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// `Key: value` or `Key = value` lines as pairs, keys and values trimmed.
pub(crate) fn key_values(text: &str, sep: char) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(move |line| {
        let (k, v) = line.split_once(sep)?;
        Some((k.trim(), v.trim()))
    })
}
