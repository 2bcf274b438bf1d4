//! SUSE's ndb `Packages.db`: any bytes are read or refused; slots, blobs and their checksums
//! bounded by the input.
#![no_main]

use assetkit_core::plugins::packages::rpm::ndb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(headers) = ndb::read(data) {
        // Each package takes a 16-byte slot and a blob of at least two 16-byte blocks.
        assert!(headers.len() <= data.len() / 48);
    }
});
