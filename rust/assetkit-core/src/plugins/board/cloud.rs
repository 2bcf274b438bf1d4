//! Which cloud an instance runs in, from its SMBIOS values alone: no metadata service, no
//! network. The rules are cloud-init's `ds-identify` and the providers' own tools (sources in
//! `docs/src/guests-and-cloud.md`); each matches a whole value, never a substring of a free
//! text, so a bare-metal server or a private hypervisor is never called a cloud.
//!
//! Only what the table carries is reported: AWS Nitro's instance ID (board asset tag) and type
//! (product name), Azure's VM ID (system UUID), OpenStack's instance UUID (system UUID), and
//! DigitalOcean's and Hetzner's server numbers (system serial). Everything else (the region,
//! the other providers' instance IDs and types) needs the metadata service.

use crate::model::Cloud;

/// The SMBIOS (or `/sys/class/dmi/id`) values the rules read, placeholders already removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DmiValues {
    /// System manufacturer (`sys_vendor`).
    pub sys_vendor: Option<String>,
    /// System product name.
    pub product_name: Option<String>,
    /// System serial number.
    pub product_serial: Option<String>,
    /// System UUID, as decoded (lower case).
    pub product_uuid: Option<String>,
    /// Baseboard manufacturer.
    pub board_vendor: Option<String>,
    /// Baseboard asset tag.
    pub board_asset_tag: Option<String>,
    /// Chassis asset tag.
    pub chassis_asset_tag: Option<String>,
    /// BIOS vendor.
    pub bios_vendor: Option<String>,
    /// BIOS version.
    pub bios_version: Option<String>,
    /// `/sys/hypervisor/uuid` (Xen guests only).
    pub hypervisor_uuid: Option<String>,
    /// The table's SMBIOS version, when known.
    pub smbios_version: Option<(u8, u8)>,
}

/// Azure's chassis asset tag, on every Azure VM (cloud-init's `ChassisAssetTag.AZURE_CLOUD`).
pub const AZURE_CHASSIS_ASSET_TAG: &str = "7783-7084-3265-9085-8269-3286-77";
/// Oracle Cloud's chassis asset tag.
pub const ORACLE_CHASSIS_ASSET_TAG: &str = "OracleCloud.com";
/// Product names OpenStack Nova (and RDO) give their instances.
const OPENSTACK_PRODUCTS: &[&str] = &["OpenStack Nova", "OpenStack Compute"];
/// Chassis asset tags of OpenStack clouds (cloud-init's `VALID_DMI_ASSET_TAGS`).
const OPENSTACK_ASSET_TAGS: &[&str] =
    &["OpenStack Nova", "OpenStack Compute", "OpenTelekomCloud", "SAP CCloud VM", "HUAWEICLOUD"];

/// The cloud instance these values describe, if a rule recognises one.
pub fn detect(dmi: &DmiValues) -> Option<Cloud> {
    let is = |value: &Option<String>, expected: &str| value.as_deref() == Some(expected);
    // The schema's bound: a value longer than any provider's ID is not one.
    let fits = |v: Option<String>| v.filter(|v| v.len() <= 128);
    let cloud = |provider: &str, instance_id: Option<String>, instance_type: Option<String>| {
        Some(Cloud {
            provider: provider.to_owned(),
            instance_id: fits(instance_id),
            instance_type: fits(instance_type),
        })
    };
    // An asset tag alone is not enough: a VM migrated off Azure keeps its tag (the oVirt guest
    // of insights-core's tests, ohai#1050), while Azure's vendor is always Microsoft's.
    if is(&dmi.chassis_asset_tag, AZURE_CHASSIS_ASSET_TAG) && is(&dmi.sys_vendor, "Microsoft Corporation") {
        return cloud("azure", azure_vm_id(dmi), None);
    }
    if is(&dmi.chassis_asset_tag, ORACLE_CHASSIS_ASSET_TAG) {
        return cloud("oracle", None, None);
    }
    if [&dmi.sys_vendor, &dmi.bios_vendor, &dmi.board_vendor].into_iter().any(|v| is(v, "Amazon EC2")) {
        // Nitro (bare metal included): the instance ID is the board's asset tag, the type the
        // product name.
        let instance_id = dmi.board_asset_tag.clone().filter(|t| t.starts_with("i-"));
        let instance_type = dmi.product_name.clone().filter(|p| p.contains('.'));
        return cloud("aws", instance_id, instance_type);
    }
    if aws_xen(dmi) {
        return cloud("aws", None, None);
    }
    if is(&dmi.product_name, "Google Compute Engine")
        || dmi.product_serial.as_deref().is_some_and(|s| s.starts_with("GoogleCloud-"))
    {
        return cloud("gce", None, None);
    }
    if OPENSTACK_PRODUCTS.iter().any(|p| is(&dmi.product_name, p))
        || OPENSTACK_ASSET_TAGS.iter().any(|t| is(&dmi.chassis_asset_tag, t))
    {
        return cloud("openstack", dmi.product_uuid.clone(), None);
    }
    if is(&dmi.product_name, "Alibaba Cloud ECS") {
        return cloud("alibaba", None, None);
    }
    if is(&dmi.sys_vendor, "DigitalOcean") {
        return cloud("digitalocean", dmi.product_serial.clone(), None);
    }
    if is(&dmi.sys_vendor, "Hetzner") {
        return cloud("hetzner", dmi.product_serial.clone(), None);
    }
    None
}

/// Xen-era EC2: the BIOS version names Amazon ("4.2.amazon"), or the hypervisor UUID, or the
/// system UUID and serial alike, begin with "ec2".
fn aws_xen(dmi: &DmiValues) -> bool {
    let ec2 = |v: &str| v.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("ec2"));
    dmi.bios_version.as_deref().is_some_and(|v| v.to_ascii_lowercase().contains("amazon"))
        || dmi.hypervisor_uuid.as_deref().is_some_and(ec2)
        || matches!((&dmi.product_uuid, &dmi.product_serial),
            (Some(u), Some(s)) if ec2(u) && u.eq_ignore_ascii_case(s))
}

/// Azure's VM ID is the system UUID read with its first three fields little-endian. Tables
/// from SMBIOS 2.6 on (Generation 2 VMs) are decoded that way already; older ones (Generation
/// 1, SMBIOS 2.3) print them in stored order, so they are swapped back. Unknown version: no ID
/// rather than a wrong one.
fn azure_vm_id(dmi: &DmiValues) -> Option<String> {
    let uuid = uuid::Uuid::parse_str(dmi.product_uuid.as_deref()?).ok()?;
    let id = if dmi.smbios_version? >= (2, 6) {
        uuid
    } else {
        let b = uuid.as_bytes();
        uuid::Uuid::from_bytes([
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15],
        ])
    };
    Some(id.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn azure(uuid: &str, version: (u8, u8)) -> DmiValues {
        DmiValues {
            sys_vendor: Some("Microsoft Corporation".into()),
            product_uuid: Some(uuid.into()),
            chassis_asset_tag: Some(AZURE_CHASSIS_ASSET_TAG.into()),
            smbios_version: Some(version),
            ..DmiValues::default()
        }
    }

    #[test]
    fn azure_generation_1_uuid_is_swapped_back() {
        // The first three fields, each reversed byte by byte.
        let gen1 = detect(&azure("544cdfe0-9a4a-4c3b-9a6a-d1d0b4aa4537", (2, 3))).unwrap();
        assert_eq!(gen1.instance_id.as_deref(), Some("e0df4c54-4a9a-3b4c-9a6a-d1d0b4aa4537"));
        let gen2 = detect(&azure("544cdfe0-9a4a-4c3b-9a6a-d1d0b4aa4537", (3, 1))).unwrap();
        assert_eq!(gen2.instance_id.as_deref(), Some("544cdfe0-9a4a-4c3b-9a6a-d1d0b4aa4537"));
    }

    #[test]
    fn plain_hyper_v_is_no_cloud() {
        let mut hyperv = azure("544cdfe0-9a4a-4c3b-9a6a-d1d0b4aa4537", (2, 3));
        hyperv.chassis_asset_tag = Some("4568-2345-6432-9324-3433-2346-47".into());
        assert_eq!(detect(&hyperv), None);
    }
}
