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
