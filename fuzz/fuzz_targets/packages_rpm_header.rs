//! The rpm header blob every rpm backend stores: any bytes are checked as rpm checks them
//! (lengths, region, entries, digests) before a field is read, without panicking.
#![no_main]

use assetkit_core::plugins::packages::rpm::{self, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = header::parse(data) {
        assert!(!h.name.is_empty() && !h.version.is_empty() && !h.release.is_empty());
        let _ = rpm::packages(vec![h]);
    }
});
