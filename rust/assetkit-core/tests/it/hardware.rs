//! BMC, LLDP, NIC firmware, Fibre Channel, GPU and NVMe sources through the collectors, over
//! real captures (tests/fixtures/raw) placed in snapshots beside a hand-built sysfs.

use std::collections::BTreeSet;
use std::io;
use std::sync::{Arc, Mutex};

use assetkit_core::model::{FcHba, LldpNeighbor};
use assetkit_core::{CollectOptions, Mode, Selection, SnapshotDir, Source};

use crate::support::{Snap, fixtures};

fn raw(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("raw").join(rel)).unwrap()
}

fn error_for<'a>(report: &'a assetkit_core::Report, plugin: &str) -> Option<&'a str> {
    report.errors.iter().find(|e| e.plugin == plugin).map(|e| e.message.as_str())
}

/// `ipmitool mc info` as ipmitool prints it (no shared capture holds one; this is the layout
/// of ipmitool 1.8's `ipmi_mc_get_deviceid`, values of an iDRAC).
const MC_INFO: &str = "Device ID                 : 32\nDevice Revision           : 1\n\
Firmware Revision         : 7.00\nIPMI Version              : 2.0\nManufacturer ID           : 674\n\
Manufacturer Name         : DELL Inc\nProduct ID                : 256 (0x0100)\n\
Product Name              : Unknown (0x100)\nDevice Available          : yes\n\
Provides Device SDRs      : yes\nAdditional Device Support :\n    Sensor Device\n    SDR Repository Device\n\
Aux Firmware Rev Info     : \n    0x00\n    0x17\n    0x00\n    0x00\n";

#[test]
fn bmc_from_all_three_ipmitool_outputs() {
    let snap = Snap::new();
    snap.command("ipmitool-lan-print", raw("ipmitool-lan/horsefishbmc__dell_ipmitool_lan_print.txt"));
    snap.command("ipmitool-fru-print", raw("ipmitool-fru/glpi__dell-r640"));
    snap.command("ipmitool-mc-info", MC_INFO);
    let report = snap.collect(&["bmc"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let bmc = report.facts.bmc.unwrap();
    assert_eq!(bmc.ip_address.as_deref(), Some("10.10.10.10"));
    assert_eq!((bmc.firmware.as_deref(), bmc.manufacturer.as_deref()), (Some("7.00"), Some("DELL Inc")));
    assert_eq!(bmc.product_serial.as_deref(), Some("2RJF153"));
}

#[test]
fn bmc_absent_without_ipmitool_output() {
    let report = Snap::new().collect(&["bmc"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.facts.bmc, None);
}

#[test]
fn truncated_ipmitool_outputs_are_errors_not_half_addresses() {
    let lan = raw("ipmitool-lan/horsefishbmc__dell_ipmitool_lan_print.txt");
    let text = String::from_utf8(lan.clone()).unwrap();
    // Cut inside the IP address value, inside the MAC line, and before the gateway line.
    for cut in [
        text.find("10.10.10.10").unwrap() + 5,
        text.find("MAC Address").unwrap() + 4,
        text.find("Default Gateway IP").unwrap(),
    ] {
        let snap = Snap::new();
        snap.command("ipmitool-lan-print", &lan[..cut]);
        let report = snap.collect(&["bmc"]);
        let message = error_for(&report, "bmc").unwrap_or_else(|| panic!("cut at {cut}: {:?}", report.facts.bmc));
        assert!(message.contains("truncated") || message.contains("incomplete"), "{message}");
        assert_eq!(report.facts.bmc, None);
    }
    let fru = raw("ipmitool-fru/glpi__dell-r630");
    let at = String::from_utf8_lossy(&fru).find("2WF88P2").unwrap() + 3;
    let snap = Snap::new();
    snap.command("ipmitool-fru-print", &fru[..at]);
    let message = error_for(&snap.collect(&["bmc"]), "bmc").map(str::to_owned).expect("an error entry");
    assert!(message.contains("truncated"), "{message}");
    let mc = &MC_INFO[..MC_INFO.find("7.00").unwrap() + 2];
    let snap = Snap::new();
    snap.command("ipmitool-mc-info", mc);
    assert!(error_for(&snap.collect(&["bmc"]), "bmc").is_some());
}

fn nic(snap: &Snap, name: &str, mac: &str, driver: &str) {
    snap.file(&format!("/sys/class/net/{name}/address"), format!("{mac}\n"));
    snap.file(&format!("/sys/class/net/{name}/operstate"), "up\n");
    snap.file(
        &format!("/sys/class/net/{name}/device/uevent"),
        format!("DRIVER={driver}\nPCI_SLOT_NAME=0000:18:00.0\n"),
    );
}

fn neighbor(
    chassis_name: Option<&str>,
    chassis_id: &str,
    port_id: &str,
    descr: Option<&str>,
    vlan: Option<u16>,
) -> LldpNeighbor {
    LldpNeighbor {
        chassis_name: chassis_name.map(str::to_owned),
        chassis_id: Some(chassis_id.to_owned()),
        port_id: Some(port_id.to_owned()),
        port_description: descr.map(str::to_owned),
        vlan_id: vlan,
    }
}

/// A capture, and the neighbour expected on each interface.
type LldpCase<'a> = (&'a str, &'a [(&'a str, Option<LldpNeighbor>)]);

#[test]
fn lldp_neighbours_attach_to_their_nics() {
    let cases: &[LldpCase] = &[
        (
            "netboxagent__cumulus.txt",
            &[
                (
                    "eno1",
                    Some(neighbor(Some("toto-chassis.dc42"), "e4:f0:04:b6:47:32", "swp46", Some("BXVWNR2:lom2"), None)),
                ),
                // The capture lists eno2d1's chassis name under eno1 (as netbox-agent's fixture
                // has it): eno2d1 has no name, eno1 keeps the one it had.
                ("eno2d1", Some(neighbor(None, "e4:f0:04:b6:4e:32", "swp46", Some("BXVWNR2:lom1"), None))),
                ("eno3", None),
            ],
        ),
        (
            "netboxagent__dedibox1.txt",
            &[("enp1s0f0", Some(neighbor(Some("s120-f3-2.itx4"), "00:07:cb:0b:6c:d7", "RJ-9", None, None)))],
        ),
        (
            "netboxagent__dedibox2.txt",
            &[(
                "eno1",
                Some(neighbor(
                    Some("s35-b12.dc3"),
                    "38:20:56:67:90:80",
                    "Gi1/0/29",
                    Some("GigabitEthernet1/0/29"),
                    Some(140),
                )),
            )],
        ),
    ];
    for (file, expected) in cases {
        let snap = Snap::new();
        for (i, (name, _)) in expected.iter().enumerate() {
            nic(&snap, name, &format!("52:54:00:00:00:0{i}"), "ixgbe");
        }
        snap.command("lldpctl-keyvalue", raw(&format!("lldpctl/{file}")));
        let report = snap.collect(&["nic"]);
        assert!(
            report.errors.is_empty() && report.warnings.is_empty(),
            "{file}: {:?} {:?}",
            report.errors,
            report.warnings
        );
        let nics = report.facts.nics.unwrap();
        for (name, lldp) in expected.iter() {
            let nic = nics.iter().find(|n| n.name == *name).unwrap();
            assert_eq!(&nic.lldp, lldp, "{file}: {name}");
        }
    }
}

#[test]
fn lldp_json_is_preferred_and_cut_lldp_output_is_an_error() {
    let snap = Snap::new();
    nic(&snap, "eth2", "52:54:00:00:00:02", "ixgbe");
    snap.command("lldpctl-keyvalue", raw("lldpctl/netboxagent__dedibox1.txt"));
    snap.command(
        "lldpctl-json",
        r#"{"lldp":{"interface":{"eth2":{"via":"LLDP","chassis":{"sw-b12":{"id":{"type":"mac","value":"00:11:22:33:44:55"}}},"port":{"id":{"type":"ifname","value":"Ethernet17"},"descr":"port 17"}}}}}"#,
    );
    let report = snap.collect(&["nic"]);
    let lldp = report.facts.nics.unwrap()[0].lldp.clone().unwrap();
    assert_eq!((lldp.chassis_name.as_deref(), lldp.port_id.as_deref()), (Some("sw-b12"), Some("Ethernet17")));

    let snap = Snap::new();
    nic(&snap, "eth2", "52:54:00:00:00:02", "ixgbe");
    let full = raw("lldpctl/netboxagent__dedibox2.txt");
    let cut = String::from_utf8_lossy(&full).find("port.ifname=Gi1").unwrap() + 14;
    snap.command("lldpctl-keyvalue", &full[..cut]);
    let report = snap.collect(&["nic"]);
    // An error entry, and no NIC section: NICs without their neighbours would read as unplugged.
    let message = error_for(&report, "nic").expect("an error entry");
    assert!(message.contains("truncated"), "{message}");
    assert_eq!(report.facts.nics, None);
}

#[test]
fn nic_firmware_from_sysfs_else_ethtool_and_fc_hba_ports() {
    let snap = Snap::new();
    nic(&snap, "ens1f0np0", "b8:59:9f:00:00:01", "mlx5_core");
    snap.file("/sys/class/net/ens1f0np0/device/infiniband/mlx5_0/fw_ver", "16.35.2000\n");
    nic(&snap, "eno1", "b8:59:9f:00:00:02", "ixgbe");
    snap.command(
        "ethtool-i-eno1",
        "driver: ixgbe\nversion: 6.1.0\nfirmware-version: 0x800003e7, 1.3089.0\nbus-info: 0000:18:00.0\n",
    );
    nic(&snap, "eno2", "b8:59:9f:00:00:03", "ixgbe");
    for (host, port, node, state, speed) in [
        ("host3", "0x21000024ff3dd1b0", "0x20000024ff3dd1b0", "Online", "16 Gbit"),
        ("host4", "0x21000024FF3DD1B1", "0x20000024ff3dd1b1", "Linkdown", "unknown"),
    ] {
        for (attr, value) in [("port_name", port), ("node_name", node), ("port_state", state), ("speed", speed)] {
            snap.file(&format!("/sys/class/fc_host/{host}/{attr}"), format!("{value}\n"));
        }
    }
    let report = snap.collect(&["nic"]);
    let nics = report.facts.nics.unwrap();
    let firmware = |n: &str| nics.iter().find(|x| x.name == n).unwrap().firmware.clone();
    assert_eq!(firmware("ens1f0np0").as_deref(), Some("16.35.2000"));
    assert_eq!(firmware("eno1").as_deref(), Some("0x800003e7, 1.3089.0"));
    assert_eq!(firmware("eno2"), None);
    assert_eq!(
        report.facts.fc_hbas.unwrap(),
        vec![
            FcHba {
                host: "host3".into(),
                port_wwn: Some("0x21000024ff3dd1b0".into()),
                node_wwn: Some("0x20000024ff3dd1b0".into()),
                port_state: Some("Online".into()),
                speed: Some("16 Gbit".into()),
            },
            FcHba {
                host: "host4".into(),
                port_wwn: Some("0x21000024ff3dd1b1".into()),
                node_wwn: Some("0x20000024ff3dd1b1".into()),
                port_state: Some("Linkdown".into()),
                speed: None,
            },
        ]
    );
}

fn pci(snap: &Snap, addr: &str, class: &str, vendor: &str, device: &str, driver: Option<&str>) {
    let base = format!("/sys/bus/pci/devices/{addr}");
    snap.file(&format!("{base}/class"), format!("{class}\n"));
    snap.file(&format!("{base}/vendor"), format!("{vendor}\n"));
    snap.file(&format!("{base}/device"), format!("{device}\n"));
    let driver = driver.map(|d| format!("DRIVER={d}\n")).unwrap_or_default();
    snap.file(&format!("{base}/uevent"), format!("{driver}PCI_SLOT_NAME={addr}\n"));
}

const NVIDIA_SMI: &str = "<?xml version=\"1.0\" ?>\n<!DOCTYPE nvidia_smi_log SYSTEM \"nvsmi_device_v12.dtd\">\n<nvidia_smi_log>\n\
\t<driver_version>535.104.05</driver_version>\n\t<attached_gpus>1</attached_gpus>\n\
\t<gpu id=\"00000000:3B:00.0\">\n\t\t<product_name>Tesla T4</product_name>\n\t\t<serial>1562720012345</serial>\n\
\t\t<uuid>GPU-9c1b7f0e-54d3-2a8b-1c6e-0f3d2b4a5c6d</uuid>\n\t\t<vbios_version>90.04.96.00.02</vbios_version>\n\
\t</gpu>\n</nvidia_smi_log>\n";

#[test]
fn gpus_from_sysfs_pci_ids_and_nvidia_smi() {
    let snap = Snap::new();
    // The Dell XPS of the lspci capture (lspci/glpi__linux-xps): "00:02.0 VGA compatible
    // controller [0300]: Intel Corporation Skylake GT2 [HD Graphics 520] [8086:1916]".
    pci(&snap, "0000:00:02.0", "0x030000", "0x8086", "0x1916", Some("i915"));
    pci(&snap, "0000:00:1f.0", "0x060100", "0x8086", "0x9d48", None);
    pci(&snap, "0000:3b:00.0", "0x030200", "0x10de", "0x1eb8", Some("nvidia"));
    pci(&snap, "0000:5e:00.0", "0x120000", "0x1d0f", "0xeffe", None);
    snap.file(
        "/usr/share/misc/pci.ids",
        "8086  Intel Corporation\n\t1916  Skylake GT2 [HD Graphics 520]\n\t9d48  Sunrise Point-LP LPC Controller\n\
         10de  NVIDIA Corporation\n\t1eb8  TU104GL [Tesla T4]\n",
    );
    snap.command("nvidia-smi-q-x", NVIDIA_SMI);
    let report = snap.collect(&["gpu"]);
    assert!(report.errors.is_empty() && report.warnings.is_empty(), "{:?} {:?}", report.errors, report.warnings);
    let gpus = report.facts.gpus.unwrap();
    let addrs: Vec<&str> = gpus.iter().map(|g| g.pci_address.as_str()).collect();
    assert_eq!(addrs, ["0000:00:02.0", "0000:3b:00.0", "0000:5e:00.0"]);
    assert_eq!(gpus[0].model.as_deref(), Some("Skylake GT2 [HD Graphics 520]"));
    assert_eq!((gpus[0].vendor.as_deref(), gpus[0].driver.as_deref()), (Some("Intel Corporation"), Some("i915")));
    assert_eq!(gpus[0].serial_number, None);
    assert_eq!(gpus[1].model.as_deref(), Some("TU104GL [Tesla T4]"));
    assert_eq!(gpus[1].serial_number.as_deref(), Some("1562720012345"));
    assert_eq!(gpus[1].uuid.as_deref(), Some("GPU-9c1b7f0e-54d3-2a8b-1c6e-0f3d2b4a5c6d"));
    assert_eq!(gpus[1].firmware.as_deref(), Some("90.04.96.00.02"));
    // No pci.ids entry: IDs only.
    assert_eq!(
        (gpus[2].vendor_id.as_deref(), gpus[2].model.as_deref(), gpus[2].class.as_deref()),
        (Some("0x1d0f"), None, Some("0x120000"))
    );

    // A cut-off nvidia-smi answer: an error entry and no GPU section (GPUs without their
    // serials would be re-keyed, and read as replaced).
    let cut = Snap::new();
    pci(&cut, "0000:3b:00.0", "0x030200", "0x10de", "0x1eb8", Some("nvidia"));
    cut.command("nvidia-smi-q-x", &NVIDIA_SMI[..NVIDIA_SMI.len() / 2]);
    let report = cut.collect(&["gpu"]);
    assert!(error_for(&report, "gpu").is_some_and(|m| m.contains("truncated")), "{:?}", report.errors);
    assert_eq!(report.facts.gpus, None);
}

fn nvme_disk(snap: &Snap, name: &str, firmware: Option<&str>) {
    let base = format!("/sys/block/{name}");
    snap.file(&format!("{base}/size"), "7814037168\n");
    snap.file(&format!("{base}/device/uevent"), "MAJOR=259\n");
    snap.file(&format!("{base}/device/model"), "Seagate FireCuda 530 ZP4000GM30023\n");
    if let Some(fw) = firmware {
        snap.file(&format!("{base}/device/firmware_rev"), format!("{fw}\n"));
        snap.file(&format!("{base}/device/serial"), "7VS00KNX\n");
    }
}

#[test]
fn nvme_firmware_from_sysfs_else_nvme_cli_in_both_layouts() {
    for (capture, expected) in [
        (
            "nvme/netdata__v2.11-nvme-list.json",
            [("nvme0n1", "XXX02YYY", "SU6SM005"), ("nvme1n1", "XXX00YYY", "SU6SM001")],
        ),
        (
            "nvme/netdata__v2.3-nvme-list.json",
            [("nvme0n1", "XXX00YYY", "SU6SM001"), ("nvme1n1", "XXX01YYY", "SU6SM001")],
        ),
    ] {
        let snap = Snap::new();
        nvme_disk(&snap, "nvme0n1", None);
        nvme_disk(&snap, "nvme1n1", None);
        nvme_disk(&snap, "nvme2n1", Some("SYSFS01"));
        snap.command("nvme-list-json", raw(capture));
        let report = snap.collect(&["disk"]);
        assert!(report.errors.is_empty() && report.warnings.is_empty(), "{:?} {:?}", report.errors, report.warnings);
        let disks = report.facts.disks.unwrap();
        for (name, serial, firmware) in expected {
            let d = disks.iter().find(|d| d.name.as_deref() == Some(name)).unwrap();
            assert_eq!(
                (d.serial_number.as_deref(), d.firmware.as_deref()),
                (Some(serial), Some(firmware)),
                "{capture}: {name}"
            );
            assert_eq!(d.interface.as_deref(), Some("nvme"));
        }
        // What sysfs has wins: nvme2n1 is in the 2.11 capture with firmware SU6SM001.
        let d = disks.iter().find(|d| d.name.as_deref() == Some("nvme2n1")).unwrap();
        assert_eq!((d.serial_number.as_deref(), d.firmware.as_deref()), (Some("7VS00KNX"), Some("SYSFS01")));
    }
    // The empty answer of a host without NVMe fills nothing; a cut-off one is an error entry.
    let snap = Snap::new();
    nvme_disk(&snap, "nvme0n1", None);
    snap.command("nvme-list-json", raw("nvme/netdata__nvme-list-empty.json"));
    let report = snap.collect(&["disk"]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.facts.disks.unwrap()[0].firmware, None);
    let full = raw("nvme/netdata__v2.11-nvme-list.json");
    let snap = Snap::new();
    nvme_disk(&snap, "nvme0n1", None);
    snap.command("nvme-list-json", &full[..full.len() / 2]);
    let report = snap.collect(&["disk"]);
    assert!(error_for(&report, "disk").is_some_and(|m| m.contains("invalid")), "{:?}", report.errors);
    assert_eq!(report.facts.disks, None);
}

/// A source that notes every command a collector asks for.
struct Asked<S> {
    inner: S,
    commands: Mutex<BTreeSet<String>>,
}

impl<S: Source> Source for Asked<S> {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.inner.read(path)
    }
    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        self.commands.lock().unwrap().insert(name.to_owned());
        self.inner.command(name)
    }
    fn custom_plugins(&self) -> std::collections::BTreeMap<String, assetkit_core::source::CustomOutput> {
        self.inner.custom_plugins()
    }
}

#[test]
fn a_host_without_gpus_or_incomplete_nvme_never_asks_for_nvidia_smi_or_nvme_cli() {
    let snap = Snap::new();
    nvme_disk(&snap, "nvme0n1", Some("SU6SM001"));
    pci(&snap, "0000:00:1f.0", "0x060100", "0x8086", "0x9d48", None);
    nic(&snap, "eth0", "52:54:00:00:00:01", "virtio_net");
    let source = Arc::new(Asked { inner: SnapshotDir::open(snap.path()).unwrap(), commands: Mutex::default() });
    let options =
        CollectOptions { selection: Selection::all(), timeout: std::time::Duration::from_secs(10), mode: Mode::Cli };
    let report = assetkit_core::collect(source.clone(), &options);
    assert_eq!(report.facts.gpus, Some(vec![]));
    let asked = source.commands.lock().unwrap().clone();
    for never in ["nvidia-smi-q-x", "nvme-list-json"] {
        assert!(!asked.contains(never), "{never} asked for: {asked:?}");
    }
}

#[test]
fn live_host_without_bmc_lldpd_gpu_or_nvidia_runs_none_of_their_tools() {
    // This machine (a CI VM or container) has no IPMI device, no lldpd, no GPU and no NVIDIA
    // driver: the recorder keeps every command that produced output, and none of these did.
    for absent in [
        "/dev/ipmi0",
        "/dev/ipmi/0",
        "/dev/ipmidev/0",
        "/run/lldpd.socket",
        "/var/run/lldpd.socket",
        "/proc/driver/nvidia/version",
    ] {
        if std::path::Path::new(absent).exists() {
            eprintln!("skipped: {absent} exists on this machine");
            return;
        }
    }
    let out = tempfile::tempdir().unwrap();
    let live = assetkit_core::LiveSource::new(assetkit_core::LiveOptions {
        plugins_dir: out.path().join("no-plugins"),
        ..assetkit_core::LiveOptions::default()
    });
    let recorder = Arc::new(assetkit_core::Recorder::new(live, out.path()));
    let options =
        CollectOptions { selection: Selection::all(), timeout: std::time::Duration::from_secs(10), mode: Mode::Cli };
    let report = assetkit_core::collect(recorder, &options);
    assert!(report.facts.bmc.is_none(), "{:?}", report.facts.bmc);
    let recorded: BTreeSet<String> = std::fs::read_dir(out.path().join("commands"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    for name in &recorded {
        assert!(
            ["uname-m", "ip-addr", "readlink-sys-block", "dmidecode"].contains(&name.as_str()),
            "live collection ran {name}: {recorded:?}"
        );
    }
}

mod never_panic {
    use assetkit_core::parse::{ipmitool, lldpctl, nvidia_smi, nvme, pci_ids};
    use proptest::prelude::*;

    fn all(text: &str) {
        let _ = ipmitool::parse_lan(text);
        let _ = ipmitool::lan_is_useful(text.as_bytes());
        let _ = ipmitool::parse_mc_info(text);
        let _ = ipmitool::parse_fru(text);
        let _ = lldpctl::parse_keyvalue(text);
        let _ = lldpctl::parse_json(text);
        let _ = lldpctl::ethtool_firmware(text);
        let _ = nvme::parse(text);
        let _ = nvidia_smi::parse(text);
        let _ = pci_ids::lookup(text, "10de", "1eb8");
    }

    fn mutate(data: &[u8], cut: usize, flips: &[(usize, u8)]) -> String {
        let mut bytes = data[..cut.min(data.len())].to_vec();
        for (at, b) in flips {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = *b;
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    const CAPTURES: &[&str] = &[
        "ipmitool-lan/glpi__sample1",
        "ipmitool-lan/horsefishbmc__hp_ipmitool_lan_print.txt",
        "ipmitool-fru/glpi__hp-dl360-gen7",
        "ipmitool-fru/rubyipmi__fru.txt",
        "lldpctl/netboxagent__cumulus.txt",
        "lldpctl/netboxagent__dedibox2.txt",
        "nvme/netdata__v2.11-nvme-list.json",
        "nvme/netdata__v2.3-nvme-list.json",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn new_parsers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            all(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn new_parsers_never_panic_on_mutated_captures(
            which in 0usize..8,
            cut in 0usize..6000,
            flips in proptest::collection::vec((0usize..6000, any::<u8>()), 0..16),
        ) {
            let data = super::raw(CAPTURES[which]);
            all(&mutate(&data, cut, &flips));
        }

        #[test]
        fn new_parsers_never_panic_on_key_value_soup(s in "((lldp\\.[a-z0-9.]{0,12}(chassis|port|vlan)\\.[a-z-]{0,8}=[ -~]{0,12})|([A-Za-z .]{0,20} *: *[ -~]{0,20})|(<gpu id=\"[0-9A-F:.]{0,16}\">)|(</gpu>)|(<nvidia_smi_log>)|(\t{0,2}[0-9a-f]{4}  [ -~]{0,10}))(\n|\r\n)?{0,40}") {
            all(&s);
        }
    }
}

#[test]
fn nvidia_smi_odd_ids_do_not_panic() {
    use assetkit_core::parse::nvidia_smi;
    for xml in [
        "<nvidia_smi_log><gpu id=\"</gpu>\"></nvidia_smi_log>",
        "<nvidia_smi_log><gpu id=\"ééééé:00.0\"><serial>1</serial></gpu></nvidia_smi_log>",
    ] {
        let _ = nvidia_smi::parse(xml);
    }
}

/// A snapshot whose named commands fail as a live tool does when it times out.
struct TimesOut<S> {
    inner: S,
    names: &'static [&'static str],
}

impl<S: Source> Source for TimesOut<S> {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.inner.read(path)
    }
    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        if self.names.contains(&name) {
            return Err(io::Error::other("timed out after 10s"));
        }
        self.inner.command(name)
    }
    fn custom_plugins(&self) -> std::collections::BTreeMap<String, assetkit_core::source::CustomOutput> {
        self.inner.custom_plugins()
    }
}

#[test]
fn a_tool_that_timed_out_fails_its_plugin_instead_of_reading_as_absent_hardware() {
    let snap = Snap::new();
    snap.command("ipmitool-fru-print", raw("ipmitool-fru/glpi__dell-r640"));
    nic(&snap, "eth2", "52:54:00:00:00:02", "ixgbe");
    pci(&snap, "0000:3b:00.0", "0x030200", "0x10de", "0x1eb8", Some("nvidia"));
    nvme_disk(&snap, "nvme0n1", None);
    let names: &'static [&'static str] =
        &["ipmitool-lan-print", "lldpctl-json", "lldpctl-keyvalue", "nvidia-smi-q-x", "nvme-list-json"];
    let source = Arc::new(TimesOut { inner: SnapshotDir::open(snap.path()).unwrap(), names });
    let options = CollectOptions {
        selection: Selection::from_names(&["bmc", "nic", "gpu", "disk"]).unwrap(),
        timeout: std::time::Duration::from_secs(10),
        mode: Mode::Cli,
    };
    let report = assetkit_core::collect(source, &options);
    for plugin in ["bmc", "nic", "gpu", "disk"] {
        let message = error_for(&report, plugin).unwrap_or_else(|| panic!("{plugin}: {:?}", report.errors));
        assert!(message.contains("timed out"), "{plugin}: {message}");
    }
    assert!(report.facts.bmc.is_none() && report.facts.nics.is_none() && report.facts.gpus.is_none());
}

/// Run by `live_collection_execs_no_new_tool_under_strace` in a traced child process.
#[test]
fn live_collection_child() {
    if std::env::var_os("ASSETKIT_LIVE_CHILD").is_none() {
        return;
    }
    let live = assetkit_core::LiveSource::new(assetkit_core::LiveOptions {
        plugins_dir: std::path::PathBuf::from("/nonexistent/assetkit-plugins"),
        ..assetkit_core::LiveOptions::default()
    });
    let options =
        CollectOptions { selection: Selection::all(), timeout: std::time::Duration::from_secs(10), mode: Mode::Cli };
    let report = assetkit_core::collect(Arc::new(live), &options);
    assert!(report.facts.os.is_some());
}

#[test]
fn live_collection_execs_no_new_tool_under_strace() {
    // The strongest form of "spawns nothing": every execve of a live collection on this machine
    // (no IPMI device, no lldpd, no GPU driver), traced. Skipped where strace or ptrace is absent.
    let traced = std::process::Command::new("strace").args(["-f", "-qq", "-o", "/dev/null", "true"]).status();
    if !traced.is_ok_and(|s| s.success()) {
        eprintln!("skipped: strace is not usable here");
        return;
    }
    let log = tempfile::NamedTempFile::new().unwrap();
    let status = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=execve", "-o"])
        .arg(log.path())
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "hardware::live_collection_child", "--test-threads", "1"])
        .env("ASSETKIT_LIVE_CHILD", "1")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let trace = std::fs::read_to_string(log.path()).unwrap();
    let execs: Vec<&str> = trace.lines().filter(|l| l.contains("execve(")).collect();
    assert!(!execs.is_empty(), "strace recorded nothing: {trace}");
    // The first is the test binary itself; dmidecode and MegaCli are the pre-existing tools
    // (kernels without an SMBIOS table, MegaRAID controllers).
    let tools: Vec<&&str> = execs[1..].iter().filter(|l| !l.contains("dmidecode") && !l.contains("MegaCli")).collect();
    assert!(tools.is_empty(), "a live collection ran: {tools:#?}");
}
