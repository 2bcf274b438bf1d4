//! `ipmitool lan print`, `ipmitool mc info` and `ipmitool fru print`: `Key : value` blocks.
//!
//! Each parser answers `Err` with one line for people when the text is not what ipmitool prints
//! whole (an error answer such as "Invalid channel", binary data, or a capture cut off before
//! the lines ipmitool always prints), so a truncated output is an error entry, never a BMC with
//! half an address.

use crate::placeholder::clean;

/// What `ipmitool lan print [channel]` says about the BMC's LAN interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LanPrint {
    /// IPv4 address; `None` when unset (0.0.0.0).
    pub ip_address: Option<String>,
    /// "static", "dhcp", "bios" or "other".
    pub ip_source: Option<String>,
    /// Subnet mask; `None` when unset.
    pub netmask: Option<String>,
    /// Default gateway; `None` when unset.
    pub gateway: Option<String>,
    /// MAC address, lower case; `None` when all zeros.
    pub mac: Option<String>,
    /// 802.1q VLAN ID; `None` when disabled.
    pub vlan_id: Option<u16>,
}

/// What `ipmitool mc info` says about the controller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct McInfo {
    /// "Firmware Revision".
    pub firmware: Option<String>,
    /// "Manufacturer Name" (`None` for "Unknown").
    pub manufacturer: Option<String>,
}

/// The builtin FRU device (ID 0) of `ipmitool fru print`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fru {
    /// "Board Serial".
    pub board_serial: Option<String>,
    /// "Product Serial".
    pub product_serial: Option<String>,
}

/// `Key : value` lines; continuation lines (indented, or a bare ` : value`) are skipped.
fn fields(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let (k, v) = line.split_once(':')?;
        let k = k.trim();
        (!k.is_empty()).then_some((k, v.trim()))
    })
}

fn ipv4(value: &str) -> Option<String> {
    let addr: std::net::Ipv4Addr = value.trim().parse().ok()?;
    (!addr.is_unspecified()).then(|| addr.to_string())
}

fn mac(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_lowercase();
    let parts: Vec<&str> = v.split(':').collect();
    let valid = parts.len() == 6 && parts.iter().all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    (valid && v != "00:00:00:00:00:00").then_some(v)
}

const LAN_KEYS: &[&str] =
    &["IP Address", "IP Address Source", "Subnet Mask", "MAC Address", "Default Gateway IP", "802.1q VLAN ID"];

/// Parses `ipmitool lan print`. Needs the address, MAC and gateway lines ipmitool always prints.
pub fn parse_lan(text: &str) -> Result<LanPrint, String> {
    let mut out = LanPrint::default();
    let (mut saw_ip, mut saw_mac, mut saw_gateway) = (false, false, false);
    for (key, value) in fields(text) {
        match key {
            "IP Address" => {
                saw_ip = true;
                out.ip_address = ipv4(value);
            }
            "IP Address Source" => {
                let v = value.to_ascii_lowercase();
                out.ip_source = Some(
                    if v.starts_with("static") {
                        "static"
                    } else if v.starts_with("dhcp") {
                        "dhcp"
                    } else if v.starts_with("bios") {
                        "bios"
                    } else {
                        "other"
                    }
                    .to_owned(),
                )
                .filter(|_| !v.is_empty());
            }
            "Subnet Mask" => out.netmask = ipv4(value),
            "MAC Address" => {
                saw_mac = true;
                out.mac = mac(value);
            }
            "Default Gateway IP" => {
                saw_gateway = true;
                out.gateway = ipv4(value);
            }
            "802.1q VLAN ID" => out.vlan_id = value.parse::<u16>().ok().filter(|v| (1..4095).contains(v)),
            _ => {}
        }
    }
    if !saw_ip && !saw_mac {
        let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("empty output");
        return Err(format!("ipmitool lan print printed no LAN configuration: {}", clip(first)));
    }
    // A value cut off mid-line ("IP Address : 10.0.0") must not pass for an address.
    if let Some(line) = cut_line(text)
        && let Some((key, _)) = line.split_once(':')
        && LAN_KEYS.contains(&key.trim())
    {
        return Err(format!("ipmitool lan print output ends mid-line in {:?}: truncated?", key.trim()));
    }
    if !(saw_ip && saw_mac && saw_gateway) {
        return Err("ipmitool lan print output is incomplete (no IP address, MAC address or gateway line): \
                    truncated?"
            .to_owned());
    }
    Ok(out)
}

/// True when a `lan print` answer holds an address or a MAC: HP iLO answers on channel 2 and
/// prints nothing useful (or an error) on channel 1.
pub fn lan_is_useful(output: &[u8]) -> bool {
    parse_lan(&String::from_utf8_lossy(output)).is_ok_and(|lan| lan.ip_address.is_some() || lan.mac.is_some())
}

/// Parses `ipmitool mc info`. Needs the "Firmware Revision" line.
pub fn parse_mc_info(text: &str) -> Result<McInfo, String> {
    let mut out = McInfo::default();
    let mut saw_firmware = false;
    for (key, value) in fields(text) {
        match key {
            "Firmware Revision" => {
                saw_firmware = true;
                out.firmware = clean(value);
            }
            "Manufacturer Name" => out.manufacturer = clean(value).filter(|m| !m.starts_with("Unknown")),
            _ => {}
        }
    }
    if let Some(line) = cut_line(text)
        && let Some((key, _)) = line.split_once(':')
        && matches!(key.trim(), "Firmware Revision" | "Manufacturer Name")
    {
        return Err(format!("ipmitool mc info output ends mid-line in {:?}: truncated?", key.trim()));
    }
    if !saw_firmware {
        return Err("ipmitool mc info output has no Firmware Revision line: truncated or not mc info".to_owned());
    }
    Ok(out)
}

/// Parses `ipmitool fru print`: the serials of the builtin FRU device (ID 0). An output without
/// that device (some boards list only their power supplies) gives no serials, not an error.
pub fn parse_fru(text: &str) -> Result<Fru, String> {
    if !text.lines().any(|l| l.starts_with("FRU Device Description")) {
        return Err("ipmitool fru print output lists no FRU device".to_owned());
    }
    let mut out = Fru::default();
    let mut in_builtin = false;
    let mut last_in_builtin = false;
    let mut in_power_supply = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("FRU Device Description") {
            let name = rest.trim_start().trim_start_matches(':').trim();
            in_builtin = name.starts_with("Builtin FRU Device") || name.ends_with("(ID 0)");
            in_power_supply = crate::parse::fru::is_power_supply(name, "");
            last_in_builtin = false;
            continue;
        }
        if line.contains("PWR SPLY") || line.to_ascii_lowercase().contains("power supply") {
            in_power_supply = true;
        }
        last_in_builtin = in_builtin;
        if !in_builtin {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        match key.trim() {
            "Board Serial" => out.board_serial = clean(value),
            "Product Serial" => out.product_serial = clean(value),
            _ => {}
        }
    }
    // Cut off inside the builtin device's block or a power supply's: a serial could be half
    // there. (Other records lose their last line instead, `parse::fru`: some ipmitool builds
    // omit the final newline.)
    let cut = cut_line(text).is_some_and(|l| !l.trim().is_empty() && !l.starts_with("FRU Device Description"));
    if cut && (last_in_builtin || in_power_supply) {
        let which = if last_in_builtin { "the builtin FRU device" } else { "a power supply's FRU record" };
        return Err(format!("ipmitool fru print output ends mid-line in {which}: truncated?"));
    }
    Ok(out)
}

/// The last line when the text does not end with a newline: a capture cut off there, or a
/// tool that omits the final newline. Callers decide by what the line holds.
fn cut_line(text: &str) -> Option<&str> {
    (!text.is_empty() && !text.ends_with('\n')).then(|| text.rsplit('\n').next().unwrap_or(text))
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lan_fields() {
        let lan = parse_lan(
            "IP Address Source       : DHCP Address\nIP Address              : 10.0.0.5\n\
             Subnet Mask             : 255.255.255.0\nMAC Address             : AA:BB:CC:DD:EE:FF\n\
             Default Gateway IP      : 0.0.0.0\n802.1q VLAN ID          : 120\n",
        )
        .unwrap();
        assert_eq!(lan.ip_address.as_deref(), Some("10.0.0.5"));
        assert_eq!(lan.ip_source.as_deref(), Some("dhcp"));
        assert_eq!(lan.mac.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        assert_eq!((lan.gateway, lan.vlan_id), (None, Some(120)));
    }

    #[test]
    fn lan_errors() {
        let busy = parse_lan("Get Device ID command failed: 0xc0 Node busy\nInvalid channel: 0\n").unwrap_err();
        assert!(busy.contains("Node busy"), "{busy}");
        assert!(parse_lan("IP Address              : 10.0.0.5\n").unwrap_err().contains("incomplete"));
        assert!(!lan_is_useful(b"Invalid channel: 1\n"));
    }

    #[test]
    fn mc_info() {
        let mc = parse_mc_info("Device ID                 : 32\nFirmware Revision         : 2.41\nManufacturer Name         : Unknown (0x1234)\n").unwrap();
        assert_eq!((mc.firmware.as_deref(), mc.manufacturer), (Some("2.41"), None));
        assert!(parse_mc_info("Device ID                 : 32\n").is_err());
    }
}
