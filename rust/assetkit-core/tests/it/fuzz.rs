//! Property tests: the parsers that read host output never panic, whatever the bytes.
//! Bounded by case count so CI time stays fixed (PROPTEST_CASES raises it for a longer run).

use assetkit_core::parse::{cpuinfo, ip, megacli, smartctl};
use assetkit_core::smbios::{raw, text};
use proptest::prelude::*;

use crate::support::fixtures;

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("raw").join(rel)).unwrap()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn dmidecode_text_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = text::parse_detailed(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn dmidecode_mutated_fixture_never_panics(cut in 0usize..40_000, flips in proptest::collection::vec((0usize..40_000, any::<u8>()), 0..32)) {
        let mut data = fixture("dmidecode/dell-r640");
        for (at, byte) in flips {
            let i = at % data.len();
            data[i] = byte;
        }
        data.truncate(cut.min(data.len()));
        let parsed = text::parse_detailed(&String::from_utf8_lossy(&data));
        let _ = parsed.problem();
    }

    #[test]
    fn raw_smbios_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048), major in 2u8..4, minor in 0u8..9) {
        let _ = raw::parse(&bytes, Some((major, minor)));
        let _ = raw::entry_point_version(&bytes);
    }

    /// A System Power Supply structure of any declared length, any body and any strings, cut
    /// anywhere: no panic, and never a power supply made of a structure the table cuts or of one
    /// shorter than the 2.3.1 layout.
    #[test]
    fn raw_power_supply_structures_never_panic(
        len in 4u8..=40,
        body in proptest::collection::vec(any::<u8>(), 0..40),
        strings in proptest::collection::vec("[ -~]{0,12}", 0..8),
        cut in 0usize..200,
    ) {
        let mut table = vec![39, len, 0x00, 0x39];
        table.extend(body.iter().copied().chain(std::iter::repeat(0)).take(usize::from(len) - 4));
        for s in &strings {
            table.extend_from_slice(s.as_bytes());
            table.push(0);
        }
        table.extend_from_slice(&[0, 0]);
        let whole = table.len();
        table.truncate(cut.min(whole));
        let decoded = raw::parse_detailed(&table, Some((3, 2)));
        let psus = decoded.smbios.power_supplies.len();
        prop_assert!(psus <= 1);
        if len < 0x10 || decoded.truncated_at == Some(0) {
            prop_assert_eq!(psus, 0);
        }
        let text = text::parse(&format!("Handle 0x3900, DMI type 39, {len} bytes\nSystem Power Supply\n{}", String::from_utf8_lossy(&table)));
        prop_assert!(text.power_supplies.len() <= 1);
    }

    #[test]
    fn megacli_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = megacli::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn megacli_mutated_fixture_never_panics(cut in 0usize..30_000, flips in proptest::collection::vec((0usize..30_000, any::<u8>()), 0..32)) {
        let mut data = fixture("megacli/set6_PDlist");
        for (at, byte) in flips {
            let i = at % data.len();
            data[i] = byte;
        }
        data.truncate(cut.min(data.len()));
        let _ = megacli::parse(&String::from_utf8_lossy(&data));
    }

    #[test]
    fn line_parsers_never_panic(s in "\\PC{0,2000}") {
        let _ = cpuinfo::parse(&s);
        let _ = ip::parse(&s);
        let _ = smartctl::parse(&s);
        let _ = megacli::parse(&s);
        let _ = text::parse(&s);
    }
}

/// A package database fixture with some bytes replaced and cut somewhere.
fn mutated(rel: &str, cut: usize, flips: &[(usize, u8)]) -> Vec<u8> {
    let mut data = std::fs::read(fixtures().join("packages").join(rel)).unwrap();
    for &(at, byte) in flips {
        let i = at % data.len();
        data[i] = byte;
    }
    data.truncate(cut.min(data.len()));
    data
}

proptest! {
    #![proptest_config(config())]

    /// Every package database reader, on any bytes and on its real fixture mutated: an answer
    /// or an error, never a panic (and never a package list longer than the input could hold).
    #[test]
    fn package_readers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        use assetkit_core::plugins::packages::{apk, dpkg, rpm};
        let _ = dpkg::parse(&bytes);
        let _ = dpkg::parse_with_updates(&bytes, std::slice::from_ref(&bytes));
        let _ = apk::parse(&bytes);
        let _ = rpm::header::parse(&bytes);
        let _ = rpm::bdb::read(&bytes);
        let _ = rpm::ndb::read(&bytes);
        let _ = rpm::qa::parse(&bytes);
        let _ = rpm::sqlite::read(bytes.clone(), Some(&bytes));
    }

    #[test]
    fn package_databases_mutated_never_panic(
        cut in 0usize..300_000,
        flips in proptest::collection::vec((0usize..300_000, any::<u8>()), 0..16),
    ) {
        use assetkit_core::plugins::packages::{apk, dpkg, rpm};
        let _ = dpkg::parse(&mutated("dpkg/status.excerpt", cut, &flips));
        let _ = apk::parse(&mutated("apk/trivy-apk-valid.installed", cut, &flips));
        let _ = rpm::bdb::read(&mutated("rpm-bdb/Packages", cut, &flips));
        let _ = rpm::bdb::read(&mutated("rpm-bdb-pagesize-65536/Packages", cut, &flips));
        let _ = rpm::ndb::read(&mutated("rpm-ndb/Packages.db", cut, &flips));
        let _ = rpm::qa::parse(&mutated("rpm-qa/rpm-qa", cut, &flips));
    }

    #[test]
    fn rpm_sqlite_and_wal_mutated_never_panic(
        cut in 0usize..300_000,
        flips in proptest::collection::vec((0usize..300_000, any::<u8>()), 0..8),
        wal_cut in 0usize..200_000,
    ) {
        use assetkit_core::plugins::packages::rpm;
        let db = mutated("rpm-sqlite-wal-pending/rpmdb.sqlite", cut, &flips);
        let wal = mutated("rpm-sqlite-wal-pending/rpmdb.sqlite-wal", wal_cut, &flips);
        let _ = rpm::sqlite::read(db, Some(&wal));
    }
}

fn guest_fixture(rel: &str, cut: usize, flips: &[(usize, u8)]) -> String {
    let mut data = std::fs::read(fixtures().join("guests").join(rel)).unwrap();
    for &(at, byte) in flips {
        let i = at % data.len();
        data[i] = byte;
    }
    data.truncate(cut.min(data.len()));
    String::from_utf8_lossy(&data).into_owned()
}

proptest! {
    #![proptest_config(config())]

    /// libvirt domain XML and Proxmox configs, arbitrary or mutated real ones: an answer or an
    /// error, never a panic; a UUID that comes out is lower-case and hyphenated.
    #[test]
    fn guest_parsers_never_panic(
        cut in 0usize..12_000,
        flips in proptest::collection::vec((0usize..12_000, any::<u8>()), 0..24),
        s in "\\PC{0,600}",
    ) {
        use assetkit_core::parse::{libvirt, proxmox};
        let lowered = |u: &Option<String>| u.as_ref().is_none_or(|u| u.len() == 36 && *u == u.to_ascii_lowercase());
        for rel in ["libvirt/status-running-vcpus-multi.xml", "libvirt/memory-hotplug-maxmemory.xml"] {
            if let Ok(d) = libvirt::parse(&guest_fixture(rel, cut, &flips)) {
                prop_assert!(lowered(&d.uuid));
            }
        }
        let _ = libvirt::parse(&s);
        for rel in ["proxmox/qemu-101-snapshot.conf", "proxmox/lxc-101-snapshot.conf"] {
            if let Ok(c) = proxmox::parse(&guest_fixture(rel, cut, &flips), rel.contains("qemu")) {
                prop_assert!(lowered(&c.uuid));
            }
        }
        let _ = proxmox::parse(&s, true);
    }
}
