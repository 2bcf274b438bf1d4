//! The purchase-list reader (xlsx and csv): any file is a preview or an error, never a panic,
//! and a preview stays within the limits it was read with.
#![no_main]

use libfuzzer_sys::fuzz_target;

const LIMITS: assetkitd::domain::import::Limits =
    assetkitd::domain::import::Limits { file_bytes: 1 << 20, unzipped_bytes: 8 << 20, rows: 2_000, columns: 40, cells: 20_000 };

fuzz_target!(|data: &[u8]| {
    for encoding in [None, Some("gbk")] {
        if let Ok(preview) = assetkitd::domain::import::parse_within("fuzz", data, encoding, LIMITS) {
            assert!(preview.rows.len() < LIMITS.rows);
            assert!(preview.header.len() <= LIMITS.columns);
        }
    }
});
