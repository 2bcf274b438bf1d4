//! rpm's Berkeley DB hash `Packages` file, either byte order: any bytes are read or refused,
//! every page link, overflow chain and allocation bounded by the input.
#![no_main]

use assetkit_core::plugins::packages::rpm::bdb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(headers) = bdb::read(data) {
        // A header of the three entries a package needs (name, version, release) takes 62
        // bytes at the least, and its key 4 more.
        assert!(headers.len() <= data.len() / 66);
    }
});
