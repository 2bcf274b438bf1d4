//! Where a host runs: the guests it defines as a hypervisor (`facts.guests`) and the cloud
//! instance it is (`facts.cloud`).

use serde::{Deserialize, Serialize};

/// A virtual machine or container a hypervisor defines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guest {
    /// Its name on the hypervisor (libvirt's domain name, Proxmox's `name`/`hostname`).
    pub name: String,
    /// The UUID the guest sees as its system UUID (libvirt's `<uuid>`, Proxmox's `smbios1:
    /// uuid=`), lower-case; absent for containers, which have none of their own.
    pub uuid: Option<String>,
    /// `vm` or `container`.
    pub kind: String,
    /// Where it was read: `libvirt` or `proxmox`.
    pub source: String,
    /// The hypervisor's own id for it where it has one: Proxmox's VMID, unique in its cluster.
    /// A container has no UUID: it is known by this id (with its hypervisor) and its name.
    pub id: Option<String>,
    /// Virtual CPUs.
    pub vcpus: Option<u32>,
    /// Memory, bytes.
    pub memory_bytes: Option<u64>,
    /// `running` (libvirt's run-time state file exists) or `defined` (configured, not known to
    /// be running: every Proxmox guest, whose config files do not say); absent where the files
    /// do not say.
    pub state: Option<String>,
}

/// A cloud instance, as its SMBIOS table describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cloud {
    /// `aws`, `gce`, `azure`, `openstack`, `alibaba`, `oracle`, `digitalocean`, `hetzner`
    /// (`plugins::board::cloud` has the rules).
    pub provider: String,
    /// The instance id, where the table carries it: AWS Nitro's board asset tag, Azure's VM ID
    /// and OpenStack's instance UUID (the system UUID), DigitalOcean's droplet ID and Hetzner's
    /// server ID (the system serial). `null` elsewhere: only the metadata service knows it.
    pub instance_id: Option<String>,
    /// The instance type, where the table carries it (AWS Nitro's product name).
    pub instance_type: Option<String>,
}
