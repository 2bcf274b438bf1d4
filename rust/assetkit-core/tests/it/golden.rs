//! Golden tests: real captured outputs (tests/fixtures/raw) against expected facts written by
//! reading those files by hand (tests/fixtures/golden).

use crate::support::{Snap, assert_subset, fixtures};

#[test]
fn golden_machines() {
    let dir = fixtures().join("golden");
    let mut cases: Vec<_> =
        std::fs::read_dir(&dir).expect("tests/fixtures/golden").filter_map(|e| e.ok()).map(|e| e.path()).collect();
    cases.sort();
    assert!(cases.len() >= 25, "expected at least 25 golden machines, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(case).unwrap()).unwrap();
        let snap = Snap::new();
        let sources = spec["sources"].as_object().expect("sources");
        for (kind, rel) in sources {
            let data = std::fs::read(fixtures().join("raw").join(rel.as_str().unwrap())).unwrap();
            match kind.as_str() {
                "dmidecode" => snap.command("dmidecode", data),
                "megacli" => snap.command("megacli-pdlist", data),
                "cpuinfo" => snap.file("/proc/cpuinfo", data),
                "ip" => snap.command("ip-addr", data),
                "ipmitool-lan" => snap.command("ipmitool-lan-print", data),
                "ipmitool-fru" => snap.command("ipmitool-fru-print", data),
                "ipmitool-mc" => snap.command("ipmitool-mc-info", data),
                // RAID tools: the kind is the snapshot command name.
                name @ ("storcli-show-all-json"
                | "storcli-drives-json"
                | "perccli-show-all-json"
                | "perccli-drives-json"
                | "ssacli-config-detail") => snap.command(name, data),
                name if name.starts_with("arcconf-getconfig-") => snap.command(name, data),
                other => panic!("{}: unknown source kind {other}", case.display()),
            };
        }
        // Small sysfs files written inline (a SCSI host's driver name, say): path -> contents.
        for (path, contents) in spec.get("files").and_then(|f| f.as_object()).into_iter().flatten() {
            snap.file(path, contents.as_str().expect("inline file contents are text"));
        }
        let plugins: Vec<&str> = spec["plugins"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        let report = snap.collect(&plugins);
        let facts = serde_json::to_value(&report.facts).unwrap();
        let name = case.file_stem().unwrap().to_string_lossy();
        for problem in assert_subset(&spec["expect"], &facts, &name) {
            failures.push(problem);
        }
        // Plugins expected to report an error (e.g. a capture cut off mid-record); none by default.
        let expected_errors: Vec<&str> = spec
            .get("errors")
            .and_then(|e| e.as_array())
            .map(|a| a.iter().filter_map(|p| p.as_str()).collect())
            .unwrap_or_default();
        let got_errors: Vec<&str> = report.errors.iter().map(|e| e.plugin.as_str()).collect();
        if got_errors != expected_errors {
            let messages: Vec<_> = report.errors.iter().map(|e| format!("{}: {}", e.plugin, e.message)).collect();
            failures.push(format!("{name}: expected errors from {expected_errors:?}, got {messages:?}"));
        }
    }
    assert!(failures.is_empty(), "{} golden mismatches:\n{}", failures.len(), failures.join("\n"));
}
