//! dpkg's status file and its journal (what the packages plugin reads on every Debian host,
//! and what a swept host sends): any bytes parse or fail cleanly, and what parses is a list the
//! report can carry or a clear refusal.
#![no_main]

use assetkit_core::plugins::packages::{dpkg, finish};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The input as a status file, and split in two as a status file and one journal entry.
    let mut lists = vec![dpkg::parse(data)];
    if let Some(cut) = data.iter().position(|&c| c == 0) {
        lists.push(dpkg::parse_with_updates(&data[..cut], &[data[cut + 1..].to_vec()]));
    }
    for mut packages in lists.into_iter().flatten() {
        assert!(packages.iter().all(|p| !p.name.is_empty() && !p.version.is_empty()));
        let _ = finish(&mut packages);
    }
});
