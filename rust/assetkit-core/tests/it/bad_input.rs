//! Bad input never sinks a report: it becomes an error entry next to whatever else was found.

use std::time::{Duration, Instant};

use crate::support::{Snap, fixtures};

fn dmidecode(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("raw/dmidecode").join(name)).unwrap()
}

fn error_for<'a>(report: &'a assetkit_core::Report, plugin: &str) -> Option<&'a str> {
    report.errors.iter().find(|e| e.plugin == plugin).map(|e| e.message.as_str())
}

#[test]
fn truncated_dmidecode_keeps_what_it_has_and_says_so() {
    let full = dmidecode("dell-r640");
    let cut = &full[..full.len() / 3];
    let snap = Snap::new();
    snap.command("dmidecode", cut);
    let report = snap.collect(&["board", "memory"]);
    let message = error_for(&report, "board").expect("a truncation error entry");
    assert!(message.contains("truncated"), "{message}");
    // What came before the cut is still reported.
    let system = report.facts.system.as_ref().unwrap();
    assert_eq!(system.serial_number.as_deref(), Some("2RJF153"));
    assert_eq!(system.product_name.as_deref(), Some("PowerEdge R640"));
}

#[test]
fn binary_dmidecode_is_an_error_not_a_panic() {
    let snap = Snap::new();
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    snap.command("dmidecode", &garbage);
    let report = snap.collect(&["board", "cpu", "memory"]);
    let message = error_for(&report, "board").expect("an error entry for unusable dmidecode output");
    assert!(message.contains("binary") || message.contains("no SMBIOS records"), "{message}");
    assert_eq!(report.facts.system.as_ref().unwrap().serial_number, None);
}

#[test]
fn missing_proc_yields_error_entries_and_a_report() {
    let snap = Snap::new();
    snap.file("/etc/os-release", "NAME=\"Rocky Linux\"\nVERSION_ID=\"9.3\"\n");
    let report = snap.collect(&["os", "cpu", "memory", "disk", "nic"]);
    for plugin in ["os", "cpu", "memory"] {
        let message =
            error_for(&report, plugin).unwrap_or_else(|| panic!("no error entry for {plugin}: {:?}", report.errors));
        assert!(message.contains("/proc"), "{plugin}: {message}");
    }
    assert!(report.facts.cpu.is_none() && report.facts.memory.is_none());
    assert_eq!(report.host.hostname, None);
    assert_eq!(report.schema_version, 1);
}

#[test]
fn unset_kernel_hostname_is_no_name() {
    // A host booted without a name reads "(none)": the report carries no name rather than a
    // name the receiver would refuse, so identity falls to serial, UUID or cert file.
    let snap = Snap::new();
    snap.file("/proc/sys/kernel/hostname", "(none)\n");
    snap.file("/proc/sys/kernel/osrelease", "5.14.0\n");
    let report = snap.collect(&["os"]);
    assert_eq!(report.host.hostname, None);
    let os = report.facts.os.as_ref().expect("os facts from osrelease alone");
    assert_eq!((os.hostname.as_deref(), os.kernel.as_deref()), (None, Some("5.14.0")));
}

#[test]
fn hanging_source_hits_the_deadline() {
    let snap = Snap::new();
    snap.file("/proc/sys/kernel/hostname", "web01\n");
    snap.file("/proc/sys/kernel/osrelease", "5.14.0\n");
    // A FIFO nobody writes to: opening it blocks forever, like a hung NFS or a wedged driver.
    let fifo = snap.path().join("files/proc/cpuinfo");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let started = Instant::now();
    let report = snap.collect_with(&["os", "cpu"], Duration::from_millis(500));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "collect waited {elapsed:?} for a hung plugin");
    let message = error_for(&report, "cpu").expect("cpu timed out");
    assert!(message.contains("timed out"), "{message}");
    assert_eq!(report.facts.os.as_ref().unwrap().hostname.as_deref(), Some("web01"));
}

#[test]
fn custom_plugin_garbage_and_failures_become_errors() {
    let snap = Snap::new();
    snap.command("custom/rack", r#"{"row": "B", "unit": 12}"#);
    snap.command("custom/broken", "Traceback (most recent call last):\n  oops");
    snap.command("custom/slow.error", "timed out after 10s");
    let report = snap.collect(&["custom"]);
    assert_eq!(report.facts.custom["rack"]["unit"], 12);
    let broken = error_for(&report, "custom.broken").unwrap();
    assert!(broken.contains("invalid JSON") && broken.contains("Traceback"), "{broken}");
    assert_eq!(error_for(&report, "custom.slow"), Some("timed out after 10s"));
    // Only the selected custom plugin runs when one is named.
    let only = snap.collect(&["custom.rack"]);
    assert!(only.errors.is_empty(), "{:?}", only.errors);
    assert_eq!(only.facts.custom.len(), 1);
}

#[test]
fn live_custom_plugins_run_with_a_timeout() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    write("good", "#!/bin/sh\necho '{\"owner\": \"team-db\"}'\n");
    write("garbage", "#!/bin/sh\necho 'not json at all'\n");
    write("hang", "#!/bin/sh\nsleep 30\n");
    write("fails", "#!/bin/sh\necho 'no permission to read /dev/ipmi0' >&2\nexit 3\n");
    std::fs::write(dir.path().join("notes.txt"), "not executable").unwrap();
    let options = assetkit_core::LiveOptions {
        plugins_dir: dir.path().to_path_buf(),
        command_timeout: Duration::from_millis(700),
        smartctl: false,
    };
    let source = std::sync::Arc::new(assetkit_core::LiveSource::new(options));
    let started = Instant::now();
    let report = assetkit_core::collect(
        source,
        &assetkit_core::CollectOptions {
            selection: assetkit_core::Selection::from_names(&["custom"]).unwrap(),
            timeout: Duration::from_secs(10),
            mode: assetkit_core::Mode::Cli,
        },
    );
    assert!(started.elapsed() < Duration::from_secs(5), "plugins ran serially or the hang was not killed");
    assert_eq!(report.facts.custom["good"]["owner"], "team-db");
    assert!(error_for(&report, "custom.garbage").unwrap().contains("invalid JSON"));
    assert!(error_for(&report, "custom.hang").unwrap().contains("timed out"));
    let fails = error_for(&report, "custom.fails").unwrap();
    assert!(fails.contains("exit status: 3") && fails.contains("/dev/ipmi0"), "{fails}");
    assert!(!report.facts.custom.contains_key("notes.txt"));
    assert_eq!(report.errors.len(), 3, "{:?}", report.errors);
}
