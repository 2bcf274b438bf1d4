//! `nvidia-smi -q -x`: per GPU its PCI bus id, product name, board serial, UUID and VBIOS.
//!
//! The XML is flat enough that the few elements needed are read by tag, without an XML crate:
//! each `<gpu id="...">` element, and inside it the first `<product_name>`, `<serial>`,
//! `<uuid>` and `<vbios_version>`.

use crate::placeholder::clean;

/// One GPU as nvidia-smi describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmiGpu {
    /// PCI address in sysfs form ("0000:3b:00.0").
    pub pci_address: String,
    /// Product name.
    pub model: Option<String>,
    /// Board serial number.
    pub serial_number: Option<String>,
    /// GPU UUID.
    pub uuid: Option<String>,
    /// VBIOS version.
    pub firmware: Option<String>,
}

/// Parses the XML; `Err` when it is not nvidia-smi's log or is cut off inside a `<gpu>`.
pub fn parse(text: &str) -> Result<Vec<SmiGpu>, String> {
    if !text.contains("<nvidia_smi_log>") {
        return Err("not nvidia-smi -q -x output (no <nvidia_smi_log>)".to_owned());
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<gpu id=\"") {
        let after = &rest[start + "<gpu id=\"".len()..];
        let Some(quote) = after.find('"') else { return Err(cut()) };
        let id = &after[..quote];
        let Some(end) = after[quote..].find("</gpu>").map(|e| e + quote) else { return Err(cut()) };
        let body = &after[quote..end];
        out.push(SmiGpu {
            pci_address: pci_address(id),
            model: element(body, "product_name"),
            serial_number: element(body, "serial"),
            uuid: element(body, "uuid"),
            firmware: element(body, "vbios_version"),
        });
        rest = &after[end..];
    }
    if !text.contains("</nvidia_smi_log>") {
        return Err(cut());
    }
    Ok(out)
}

fn cut() -> String {
    "nvidia-smi -q -x output is cut off: truncated?".to_owned()
}

/// "00000000:3B:00.0" -> "0000:3b:00.0".
fn pci_address(id: &str) -> String {
    let id = id.trim().to_ascii_lowercase();
    match id.split_once(':') {
        Some((domain, rest)) if domain.len() > 4 && domain.is_ascii() => {
            format!("{}:{rest}", &domain[domain.len() - 4..])
        }
        _ => id,
    }
}

fn element(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find("</")? + start;
    clean(&unescape(&body[start..end])).filter(|v| v != "N/A")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpus_by_bus_id() {
        let xml = "<?xml version=\"1.0\" ?>\n<nvidia_smi_log>\n<driver_version>535.104.05</driver_version>\n\
                   <attached_gpus>1</attached_gpus>\n<gpu id=\"00000000:3B:00.0\">\n\
                   <product_name>Tesla T4</product_name>\n<serial>1322120012345</serial>\n\
                   <uuid>GPU-1b2c3d4e-0000-1111-2222-333344445555</uuid>\n<vbios_version>90.04.96.00.02</vbios_version>\n\
                   <pci><pci_bus_id>00000000:3B:00.0</pci_bus_id></pci>\n</gpu>\n</nvidia_smi_log>\n";
        let gpus = parse(xml).unwrap();
        assert_eq!(gpus.len(), 1);
        assert_eq!(gpus[0].pci_address, "0000:3b:00.0");
        assert_eq!(gpus[0].serial_number.as_deref(), Some("1322120012345"));
        assert_eq!(gpus[0].firmware.as_deref(), Some("90.04.96.00.02"));
        assert!(parse(&xml[..xml.len() / 2]).is_err());
        assert!(parse("NVIDIA-SMI has failed").is_err());
    }
}
