//! rpmdb.sqlite with its WAL, opened in memory by SQLite after assetkit applied the WAL's
//! committed frames: any pair of files is read or refused. The input is a 4-byte little-endian
//! length, that many bytes of database, and the WAL.
#![no_main]

use assetkit_core::plugins::packages::rpm::sqlite;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else { return };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (db, wal) = rest.split_at(len);
    let _ = sqlite::read(db.to_vec(), Some(wal));
});
