//! `nvme list -o json`: model, serial and firmware per namespace device, in both layouts
//! nvme-cli has printed: the flat `Devices` list (up to 2.3) and the nested
//! `Devices -> Subsystems -> Controllers -> Namespaces` (2.11).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::placeholder::clean;

/// What nvme-cli says about one namespace's controller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvmeDevice {
    /// Model number.
    pub model: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Firmware revision.
    pub firmware: Option<String>,
    /// Namespace size in bytes.
    pub size_bytes: Option<u64>,
}

/// Devices by block device name ("nvme0n1").
pub fn parse(text: &str) -> Result<BTreeMap<String, NvmeDevice>, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("nvme list JSON is invalid: {e}"))?;
    let devices = root.get("Devices").and_then(Value::as_array).ok_or("nvme list JSON has no \"Devices\" list")?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).and_then(clean);
    let mut out = BTreeMap::new();
    for device in devices {
        if let Some(path) = device.get("DevicePath").and_then(Value::as_str) {
            let name = path.rsplit('/').next().unwrap_or(path).to_owned();
            let info = NvmeDevice {
                model: s(device, "ModelNumber"),
                serial_number: s(device, "SerialNumber"),
                firmware: s(device, "Firmware"),
                size_bytes: device.get("PhysicalSize").and_then(Value::as_u64),
            };
            out.insert(name, info);
            continue;
        }
        let subsystems = device.get("Subsystems").and_then(Value::as_array).into_iter().flatten();
        for controller in subsystems.flat_map(|s| s.get("Controllers").and_then(Value::as_array).into_iter().flatten())
        {
            let namespaces = controller.get("Namespaces").and_then(Value::as_array).into_iter().flatten();
            for ns in namespaces {
                let Some(name) = ns.get("NameSpace").and_then(Value::as_str) else { continue };
                let info = NvmeDevice {
                    model: s(controller, "ModelNumber"),
                    serial_number: s(controller, "SerialNumber"),
                    firmware: s(controller, "Firmware"),
                    size_bytes: ns.get("PhysicalSize").and_then(Value::as_u64),
                };
                out.insert(name.to_owned(), info);
            }
        }
    }
    Ok(out)
}
