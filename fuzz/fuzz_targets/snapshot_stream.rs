//! The snapshot-stream unpacker (what an SSH sweep receives from a host it does not trust):
//! any stream unpacks or fails cleanly, and nothing is ever written outside the target folder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().join("out");
    let _ = assetkit_core::script::unpack(data, &out);
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("the temp dir").filter_map(|e| e.ok()).collect();
    assert!(
        entries.iter().all(|e| e.file_name() == "out"),
        "unpack wrote outside its folder: {:?}",
        entries.iter().map(|e| e.file_name()).collect::<Vec<_>>()
    );
});
