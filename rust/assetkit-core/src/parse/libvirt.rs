//! libvirt domain XML: what `/etc/libvirt/qemu/NAME.xml` (a defined domain) and
//! `/run/libvirt/qemu/NAME.xml` (a running one: `<domstatus>` wrapping the `<domain>`) say
//! about a guest: its name, UUID, vCPUs and memory.
//!
//! Only the domain's own children are read (`/domain/name`, `/domain/vcpu`, ...): the status
//! file's `<vcpus><vcpu id= pid=/>` list and `<numatune><memory>` use the same element names
//! for other things. Parsed with roxmltree, which refuses a DTD (so no entity expansion).

/// One domain as its XML describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Domain {
    /// `<name>`.
    pub name: String,
    /// `<uuid>`, lower-case and hyphenated whatever form the file used.
    pub uuid: Option<String>,
    /// `<vcpu>`: its `current` attribute (the vCPUs online) when set, else its value (the
    /// maximum, which is then also the number online).
    pub vcpus: Option<u32>,
    /// `<memory>` (the memory at boot), in bytes.
    pub memory_bytes: Option<u64>,
    /// The file was a run-time status file (`<domstatus>`): the domain is running.
    pub status: bool,
}

/// Parses one domain file. `Err` says why the file is not a usable domain.
pub fn parse(text: &str) -> Result<Domain, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not well-formed XML: {e}"))?;
    let root = doc.root_element();
    let (domain, status) = match root.tag_name().name() {
        "domain" => (root, false),
        "domstatus" => {
            let domain = root
                .children()
                .find(|n| n.has_tag_name("domain"))
                .ok_or_else(|| "<domstatus> holds no <domain>".to_owned())?;
            (domain, true)
        }
        other => return Err(format!("not a libvirt domain (root element <{other}>)")),
    };
    let child = |name: &str| domain.children().find(|n| n.has_tag_name(name));
    let text_of = |name: &str| child(name).and_then(|n| n.text()).map(str::trim).filter(|t| !t.is_empty());
    let name = text_of("name").ok_or_else(|| "the domain has no <name>".to_owned())?.to_owned();
    let uuid = text_of("uuid")
        .map(|u| {
            uuid::Uuid::parse_str(u)
                .map(|u| u.hyphenated().to_string())
                .map_err(|_| format!("<uuid> {u:?} is not a UUID"))
        })
        .transpose()?;
    let vcpus = match child("vcpu") {
        Some(vcpu) => {
            let value = vcpu.attribute("current").or(vcpu.text()).unwrap_or("").trim();
            Some(value.parse::<u32>().map_err(|_| format!("<vcpu> {value:?} is not a count"))?)
        }
        None => None,
    };
    let memory_bytes = match child("memory") {
        Some(memory) => {
            let value = memory.text().unwrap_or("").trim();
            let unit = memory.attribute("unit").unwrap_or("KiB");
            Some(memory_bytes(value, unit).ok_or_else(|| format!("<memory unit={unit:?}> {value:?} is not a size"))?)
        }
        None => None,
    };
    Ok(Domain { name, uuid, vcpus, memory_bytes, status })
}

/// A libvirt scaled integer in bytes: `value` in `unit`, libvirt's list (case-sensitive where
/// libvirt is: "b"/"bytes", "KB" = 1000, "k"/"KiB" = 1024, and so on to exabytes; no unit is
/// KiB). `None` for an unknown unit, a bad number or an overflow.
pub fn memory_bytes(value: &str, unit: &str) -> Option<u64> {
    let n: u64 = value.parse().ok()?;
    let factor: u64 = match unit {
        "b" | "byte" | "bytes" => 1,
        "KB" => 1000,
        "k" | "K" | "KiB" => 1 << 10,
        "MB" => 1000u64.pow(2),
        "m" | "M" | "MiB" => 1 << 20,
        "GB" => 1000u64.pow(3),
        "g" | "G" | "GiB" => 1 << 30,
        "TB" => 1000u64.pow(4),
        "t" | "T" | "TiB" => 1 << 40,
        "PB" => 1000u64.pow(5),
        "p" | "P" | "PiB" => 1 << 50,
        "EB" => 1000u64.pow(6),
        "e" | "E" | "EiB" => 1 << 60,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_as_libvirt_documents_them() {
        assert_eq!(memory_bytes("219136", "KiB"), Some(219_136 * 1024));
        assert_eq!(memory_bytes("2", "GiB"), Some(2 << 30));
        assert_eq!(memory_bytes("2", "G"), Some(2 << 30));
        assert_eq!(memory_bytes("2", "GB"), Some(2_000_000_000));
        assert_eq!(memory_bytes("1024", "MiB"), Some(1 << 30));
        assert_eq!(memory_bytes("1000", "KB"), Some(1_000_000));
        assert_eq!(memory_bytes("4096", "b"), Some(4096));
        assert_eq!(memory_bytes("16", "EiB"), None, "overflow");
        assert_eq!(memory_bytes("1", "furlongs"), None);
        assert_eq!(memory_bytes("-1", "KiB"), None);
    }

    #[test]
    fn unit_less_memory_is_kib_and_current_vcpus_win() {
        let d = parse(
            "<domain type='kvm'><name>a</name><uuid>C7A5FDBD-EDAF-9455-926A-D65C16DB1809</uuid>\
             <memory>1024</memory><vcpu placement='static' current='2'>8</vcpu></domain>",
        )
        .unwrap();
        assert_eq!(d.uuid.as_deref(), Some("c7a5fdbd-edaf-9455-926a-d65c16db1809"));
        assert_eq!(d.memory_bytes, Some(1 << 20));
        assert_eq!(d.vcpus, Some(2));
        assert!(!d.status);
    }

    #[test]
    fn refuses_what_is_not_a_domain() {
        assert!(parse("<network><name>default</name></network>").unwrap_err().contains("<network>"));
        assert!(parse("<domain><uuid>x</uuid></domain>").is_err());
        assert!(parse("<domain><name>a").is_err());
        assert!(parse("<!DOCTYPE d [<!ENTITY e 'x'>]><domain><name>&e;</name></domain>").is_err());
        assert!(parse("<domain><name>a</name><memory unit='KiB'>lots</memory></domain>").is_err());
    }
}
