//! Synthetic reports: one plausible host per index.

use assetkit_core::model::{Address, Agent, Disk, Facts, Host, Memory, MemoryModule, Mode, Nic, Os, Report, System};

/// A realistic physical host report: 8 DIMMs, 6 RAID disks, 2 NICs.
pub(crate) fn host_report(i: usize) -> Report {
    let modules = (0..8)
        .map(|d| MemoryModule {
            slot: Some(format!("DIMM_{}{}", (b'A' + (d / 4) as u8) as char, d % 4 + 1)),
            bank: None,
            size_bytes: Some(32 << 30),
            r#type: Some("DDR4".into()),
            speed_mts: Some(2933),
            manufacturer: Some("Hynix".into()),
            serial_number: Some(format!("M{i:05}{d:02}")),
            part_number: Some("HMA84GR7CJR4N-WM".into()),
        })
        .collect();
    let disks = (0..6)
        .map(|d| Disk {
            slot: Some(format!("32:{d}")),
            model: Some("ST2000NM0023".into()),
            vendor: Some("SEAGATE".into()),
            serial_number: Some(format!("Z1X{i:05}{d}")),
            size_bytes: Some(2_000_398_934_016),
            rotational: Some(true),
            interface: Some("sas".into()),
            firmware: Some("GS0D".into()),
            state: Some("Online, Spun Up".into()),
            source: "megacli".into(),
            ..Disk::default()
        })
        .collect();
    let nics = (0..2)
        .map(|n| Nic {
            name: format!("eno{}", n + 1),
            mac: Some(format!("e4:43:4b:{:02x}:{:02x}:{n:02x}", i / 256, i % 256)),
            up: Some(true),
            mtu: Some(1500),
            speed_mbps: Some(10_000),
            driver: Some("ixgbe".into()),
            firmware: None,
            addresses: vec![Address {
                family: "inet".into(),
                address: format!("10.{}.{}.{}", n, i / 250, i % 250 + 1),
                prefix_len: 24,
            }],
            lldp: None,
        })
        .collect();
    Report {
        schema_version: 1,
        report_id: String::new(),
        collected_at: "2026-11-26T00:00:00Z".into(),
        agent: Agent { name: "assetkit".into(), version: "bench".into(), mode: Mode::Agent, enrol_key: None },
        host: Host { hostname: Some(format!("bench-{i:05}")), cert_hostname: Some(format!("bench-{i:05}")) },
        facts: Facts {
            os: Some(Os {
                hostname: Some(format!("bench-{i:05}")),
                name: Some("Rocky Linux".into()),
                version: Some("9.3".into()),
                kernel: Some("5.14.0-362".into()),
                arch: Some("x86_64".into()),
                ..Os::default()
            }),
            system: Some(System {
                manufacturer: Some("Dell Inc.".into()),
                product_name: Some("PowerEdge R640".into()),
                serial_number: Some(format!("BENCH{i:05}")),
                ..System::default()
            }),
            memory: Some(Memory {
                total_bytes: Some(256 << 30),
                os_visible_bytes: Some(251 << 30),
                slots: Some(24),
                modules: Some(modules),
            }),
            disks: Some(disks),
            nics: Some(nics),
            ..Facts::default()
        },
        errors: vec![],
        warnings: vec![],
    }
}
