//! Cloud detection's negatives: no machine outside a cloud is ever called a cloud instance.
//! (The positives are golden tests: tests/fixtures/golden/cloud-*.json over raw/cloud.)

use crate::support::{Snap, fixtures};

#[test]
fn no_bare_metal_or_private_vm_is_a_cloud_instance() {
    // Every capture in raw/dmidecode: physical servers and PCs, VMware, VirtualBox, KVM and a
    // Hyper-V guest whose vendor and product are Azure's but whose asset tag is not.
    let dir = fixtures().join("raw/dmidecode");
    let mut checked = 0;
    let mut clouds = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let snap = Snap::new();
        snap.command("dmidecode", std::fs::read(&path).unwrap());
        let report = snap.collect(&["board"]);
        if let Some(cloud) = report.facts.cloud {
            clouds.push(format!("{}: {cloud:?}", path.display()));
        }
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} captures");
    assert!(clouds.is_empty(), "called cloud instances:\n{}", clouds.join("\n"));
}

#[test]
fn a_vm_migrated_off_azure_keeps_the_tag_but_is_not_azure() {
    // insights-core's oVirt guest whose chassis asset tag is Azure's (ohai#1050's migrated VM).
    let snap = Snap::new();
    snap.command(
        "dmidecode",
        std::fs::read(fixtures().join("raw/cloud/edge-ovirt-with-azure-asset-tag.dmidecode")).unwrap(),
    );
    let report = snap.collect(&["board"]);
    assert_eq!(report.facts.cloud, None);
    assert_eq!(report.facts.system.unwrap().uuid.as_deref(), Some("a35ae32b-ed0a-49a4-9dbb-eecf21f88aab"));
}

#[test]
fn a_container_on_a_cloud_instance_is_not_the_instance() {
    let snap = Snap::new();
    snap.command("dmidecode", std::fs::read(fixtures().join("raw/cloud/hetzner-cloud-vserver.dmidecode")).unwrap());
    snap.file("/.dockerenv", b"");
    let report = snap.collect(&["board"]);
    assert_eq!(report.facts.cloud, None);
    assert_eq!(report.facts.system.unwrap().container.as_deref(), Some("docker"));
}

#[test]
fn sysfs_alone_lowers_the_uuid_and_finds_xen_era_ec2() {
    // The values of raw/cloud/aws-xen-hvm.dmidecode as a non-root reader sees them without the
    // table, plus the Xen hypervisor UUID EC2 sets (cloud-init's and AWS's own rule).
    let snap = Snap::new();
    for (field, value) in [
        ("sys_vendor", "Xen"),
        ("product_name", "HVM domU"),
        ("product_uuid", "EC2F58AF-2DAD-C57E-88C0-A81CB6084290"),
        ("bios_vendor", "Xen"),
        ("bios_version", "4.2.amazon"),
    ] {
        snap.file(&format!("/sys/class/dmi/id/{field}"), format!("{value}\n"));
    }
    let report = snap.collect(&["board"]);
    let system = report.facts.system.unwrap();
    assert_eq!(system.uuid.as_deref(), Some("ec2f58af-2dad-c57e-88c0-a81cb6084290"));
    assert_eq!(report.facts.cloud.map(|c| c.provider).as_deref(), Some("aws"));

    let by_hypervisor = Snap::new();
    by_hypervisor.file("/sys/class/dmi/id/sys_vendor", "Xen\n");
    by_hypervisor.file("/sys/hypervisor/uuid", "ec2f58af-2dad-c57e-88c0-a81cb6084290\n");
    assert_eq!(by_hypervisor.collect(&["board"]).facts.cloud.map(|c| c.provider).as_deref(), Some("aws"));
    let plain_xen = Snap::new();
    plain_xen.file("/sys/class/dmi/id/sys_vendor", "Xen\n");
    plain_xen.file("/sys/hypervisor/uuid", "5d6b7a2c-6c59-4c4f-a0d5-4b1b8c9b9e11\n");
    assert_eq!(plain_xen.collect(&["board"]).facts.cloud, None);
}
