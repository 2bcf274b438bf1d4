//! `assetkit collect` and `assetkit snapshot` on this machine.

use std::path::Path;

use crate::support::{assetkit, run, stable, stdout_json};

fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn snapshot_round_trips_and_the_script_stream_unpacks_to_the_same_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let recorded = dir.path().join("recorded");
    let streamed = dir.path().join("streamed");
    let out = run(assetkit().args(["snapshot", "--out"]).arg(&recorded));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let live = stable(stdout_json(&run(assetkit().arg("collect"))));
    let from_recorded = stable(stdout_json(&run(assetkit().arg("collect").arg("--snapshot").arg(&recorded))));
    assert_eq!(live, from_recorded, "live collect and collect --snapshot differ");

    // The script, run by sh exactly as a sweep runs it over ssh, then unpacked.
    let script = run(assetkit().args(["snapshot", "--script"]));
    assert!(script.status.success());
    let mut sh = std::process::Command::new("sh")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    sh.stdin.take().unwrap().write_all(&script.stdout).unwrap();
    let stream = sh.wait_with_output().unwrap();
    assert!(stream.status.success());
    let mut unpack = assetkit()
        .args(["snapshot", "--unpack", "--out"])
        .arg(&streamed)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    unpack.stdin.take().unwrap().write_all(&stream.stdout).unwrap();
    assert!(unpack.wait().unwrap().success());

    let from_stream = stable(stdout_json(&run(assetkit().arg("collect").arg("--snapshot").arg(&streamed))));
    assert_eq!(from_recorded, from_stream, "the script's snapshot parses differently");
    // Every file the collectors read is in the script's snapshot, byte for byte (except /proc
    // counters, which change between two reads, and the package databases, which the script
    // cuts down to the fields the packages plugin reads: the equal reports above show they
    // parse the same).
    let script_files = files_under(&streamed);
    for f in files_under(&recorded) {
        assert!(script_files.contains(&f), "{f} recorded but not captured by the script");
        let volatile =
            f.starts_with("files/proc/meminfo") || f.starts_with("files/proc/cpuinfo") || f.starts_with("commands/");
        let cut_down = f.starts_with("files/var/lib/dpkg/") || f.contains("/apk/db/installed");
        if !volatile && !cut_down {
            assert_eq!(
                std::fs::read(recorded.join(&f)).unwrap(),
                std::fs::read(streamed.join(&f)).unwrap(),
                "{f} differs"
            );
        }
    }
}

#[test]
fn this_machine_reports_validly_without_dmi() {
    let report = stdout_json(&run(assetkit().arg("collect")));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["agent"]["mode"], "cli");
    let facts = &report["facts"];
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(report["host"]["hostname"], hostname.trim());
    assert_eq!(facts["os"]["kernel"], std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap().trim());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    assert_eq!(facts["cpu"]["logical_cores"], cpuinfo.lines().filter(|l| l.starts_with("processor")).count());
    let dmi = Path::new("/sys/firmware/dmi/tables/DMI").exists() || Path::new("/sys/class/dmi/id").exists();
    if !dmi {
        // No DMI at all (this CI machine): system facts are unknown, not invented.
        for key in ["manufacturer", "product_name", "serial_number", "uuid"] {
            assert!(facts["system"][key].is_null(), "system.{key} = {}", facts["system"][key]);
        }
        assert!(
            report["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["message"].as_str().unwrap().contains("no SMBIOS data"))
        );
        assert!(facts["memory"]["modules"].is_null());
    }
    // Virtualisation and container detection agree with the evidence on this machine.
    let hypervisor_flag =
        cpuinfo.lines().any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor"));
    let dockerenv = Path::new("/.dockerenv").exists();
    if hypervisor_flag || dockerenv {
        assert_eq!(facts["system"]["virtual"], true);
    }
    if dockerenv && !Path::new("/run/systemd/container").exists() && !Path::new("/run/.containerenv").exists() {
        assert_eq!(facts["system"]["container"], "docker");
    }
    if !hypervisor_flag && !dockerenv && !dmi {
        assert_eq!(facts["system"]["virtual"], false);
    }
    // Every NIC with a device link is reported with its MAC from sysfs.
    for entry in std::fs::read_dir("/sys/class/net").unwrap().filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().join("device").exists() {
            let nic = facts["nics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["name"] == name.as_str())
                .unwrap_or_else(|| panic!("{name} missing"));
            let mac = std::fs::read_to_string(entry.path().join("address")).unwrap();
            assert_eq!(nic["mac"], mac.trim());
        }
    }
    assert_eq!(report["errors"], serde_json::json!([]));
}

#[test]
fn clear_errors_for_bad_invocations() {
    let out = run(assetkit().args(["collect", "--snapshot", "/nonexistent/snap"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/snap"));
    let out = run(assetkit().args(["collect", "--only", "cpu,flux_capacitor"]));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown plugin \"flux_capacitor\"") && err.contains("known plugins"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "plugns = [\"cpu\"]\n").unwrap();
    let out = run(assetkit().arg("--config").arg(&cfg).arg("collect"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plugns"));
    // --only limits the report to those sections.
    let only = stdout_json(&run(assetkit().args(["collect", "--only", "os,cpu"])));
    let keys: std::collections::BTreeSet<&str> =
        only["facts"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["cpu", "os"].into());
}
