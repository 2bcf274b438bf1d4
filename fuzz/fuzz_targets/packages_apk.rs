//! apk's installed database: any bytes parse or fail cleanly; a parsed package always has a
//! name and a version (apk refuses a database where one lacks either).
#![no_main]

use assetkit_core::plugins::packages::{apk, finish};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut packages) = apk::parse(data) {
        assert!(packages.iter().all(|p| !p.name.is_empty() && !p.version.is_empty()));
        let _ = finish(&mut packages);
    }
});
