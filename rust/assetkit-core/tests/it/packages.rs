//! The `packages` plugin on real databases of every format (tests/fixtures/packages, origins in
//! its ORIGIN.md): the list equals what the manager's own tool printed over the same files.

use std::path::{Path, PathBuf};

use assetkit_core::model::{Package, PackageManager, packages_digest};
use assetkit_core::plugins::packages::{finish, rpm};

use crate::support::{Snap, fixtures};

pub fn dir() -> PathBuf {
    fixtures().join("packages")
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn rows(rel: &str) -> Vec<Vec<String>> {
    String::from_utf8(read(rel))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn none(s: &str) -> Option<String> {
    (s != "(none)" && !s.is_empty()).then(|| s.to_owned())
}

fn base(manager: PackageManager, name: &str, version: String) -> Package {
    Package {
        manager,
        name: name.to_owned(),
        version,
        arch: None,
        source: None,
        source_version: None,
        vendor: None,
        installed_at: None,
    }
}

/// `rpm -qa --qf '%{DBINSTANCE}\t%{NAME}\t%{EPOCH}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}
/// \t%{VENDOR}\t%{SOURCERPM}\t%{INSTALLTIME}\t...'` as the report's packages.
pub fn rpm_expected(rel: &str) -> Vec<Package> {
    let mut out: Vec<Package> = rows(rel)
        .iter()
        .map(|r| {
            let version =
                if r[3] == "0" { format!("{}-{}", r[4], r[5]) } else { format!("{}:{}-{}", r[3], r[4], r[5]) };
            let mut p = base(PackageManager::Rpm, &r[1], version);
            p.arch = none(&r[6]);
            p.vendor = none(&r[7]);
            p.source = none(&r[8]);
            p.installed_at = Some(r[9].parse().unwrap());
            p
        })
        .collect();
    finish(&mut out).unwrap();
    out
}

/// `dpkg-query -W -f='${binary:Package}\t${Package}\t${Version}\t${Architecture}\t
/// ${source:Package}\t${source:Version}\t${db:Status-Abbrev}'`, the installed ones.
pub fn dpkg_expected(rel: &str) -> Vec<Package> {
    let mut out: Vec<Package> = rows(rel)
        .iter()
        .filter(|r| r[6].as_bytes().get(1) == Some(&b'i'))
        .map(|r| {
            let mut p = base(PackageManager::Deb, &r[1], r[2].clone());
            p.arch = none(&r[3]);
            p.source = none(&r[4]);
            p.source_version = (r[5] != r[2]).then(|| r[5].clone());
            p
        })
        .collect();
    finish(&mut out).unwrap();
    out
}

fn apk_expected(rel: &str) -> Vec<Package> {
    let mut out: Vec<Package> = rows(rel)
        .iter()
        .map(|r| {
            let mut p = base(PackageManager::Apk, &r[0], r[1].clone());
            p.arch = none(&r[2]);
            p.source = none(&r[3]);
            p
        })
        .collect();
    finish(&mut out).unwrap();
    out
}

/// Collects `packages` alone; the list, after checking the digest and that nothing failed.
pub fn packages(snap: &Snap) -> Vec<Package> {
    let report = snap.collect(&["packages"]);
    assert!(report.errors.is_empty(), "errors: {:?}", report.errors);
    let list = report.facts.packages.expect("a packages section");
    assert_eq!(report.facts.packages_digest.as_deref(), Some(packages_digest(&list).as_str()));
    list
}

/// Copies fixture files into a snapshot: (fixture path, host path).
pub fn snap_of(files: &[(&str, &str)]) -> Snap {
    let snap = Snap::new();
    for (from, to) in files {
        snap.file(to, read(from));
    }
    snap
}

fn assert_same(got: &[Package], expected: &[Package], what: &str) {
    assert!(!expected.is_empty(), "{what}: an empty expectation proves nothing");
    for (g, e) in got.iter().zip(expected) {
        assert_eq!(g, e, "{what}");
    }
    assert_eq!(got.len(), expected.len(), "{what}: {} packages, expected {}", got.len(), expected.len());
}

#[test]
fn dpkg_status_of_this_machine_matches_dpkg_query() {
    let snap = snap_of(&[("dpkg/status.debian12-dev", "/var/lib/dpkg/status")]);
    let got = packages(&snap);
    let expected = dpkg_expected("dpkg/status.debian12-dev.expected.tsv");
    assert!(expected.len() > 700, "the whole machine: {}", expected.len());
    assert_same(&got, &expected, "status.debian12-dev");
    // An epoch, a source with its own version, a multi-arch library: as dpkg prints them.
    let bsdutils = got.iter().find(|p| p.name == "bsdutils").unwrap();
    assert_eq!(bsdutils.version, "1:2.38.1-5+deb12u3");
    assert_eq!(
        (bsdutils.source.as_deref(), bsdutils.source_version.as_deref()),
        (Some("util-linux"), Some("2.38.1-5+deb12u3"))
    );
}

#[test]
fn dpkg_excerpt_matches_dpkg_query() {
    let snap = snap_of(&[("dpkg/status.excerpt", "/var/lib/dpkg/status")]);
    assert_same(&packages(&snap), &dpkg_expected("dpkg/status.excerpt.expected.tsv"), "excerpt");
}

#[test]
fn dpkg_only_installed_states_count_and_the_journal_applies() {
    let snap = snap_of(&[
        ("dpkg/states/status", "/var/lib/dpkg/status"),
        ("dpkg/states/updates/0000", "/var/lib/dpkg/updates/0000"),
        ("dpkg/states/updates/0001", "/var/lib/dpkg/updates/0001"),
    ]);
    let got = packages(&snap);
    assert_same(&got, &dpkg_expected("dpkg/states.expected.tsv"), "states");
    let names: Vec<(&str, &str)> = got.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
    // Held libc6 counts; half-installed automake and unpacked postgresql do not; the journal
    // upgraded bash, removed adduser and installed zstd.
    assert_eq!(names, [("bash", "5.2.15-2+b9"), ("libc6", "2.36-9+deb12u14"), ("zstd", "1.5.4+dfsg2-5")]);
    // Without the journal, the status file alone says something else.
    let alone = snap_of(&[("dpkg/states/status", "/var/lib/dpkg/status")]);
    let alone: Vec<String> = packages(&alone).into_iter().map(|p| format!("{} {}", p.name, p.version)).collect();
    assert_eq!(alone, ["adduser 3.134", "bash 5.2.15-2+b8", "libc6 2.36-9+deb12u14"]);
}

#[test]
fn rpm_every_backend_matches_rpm() {
    let expected = rpm_expected("rpm-expected.tsv");
    assert_eq!(expected.len(), 5);
    for (what, files) in [
        ("sqlite", &[("rpm-sqlite/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite")][..]),
        (
            "sqlite in WAL mode, as rpm leaves it",
            &[
                ("rpm-sqlite-wal/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite"),
                ("rpm-sqlite-wal/rpmdb.sqlite-wal", "/usr/lib/sysimage/rpm/rpmdb.sqlite-wal"),
                ("rpm-sqlite-wal/rpmdb.sqlite-shm", "/usr/lib/sysimage/rpm/rpmdb.sqlite-shm"),
            ][..],
        ),
        ("bdb, 4 KiB pages", &[("rpm-bdb/Packages", "/var/lib/rpm/Packages")][..]),
        ("bdb, 64 KiB pages", &[("rpm-bdb-pagesize-65536/Packages", "/var/lib/rpm/Packages")][..]),
        ("bdb from a big-endian host", &[("rpm-bdb-bigendian/Packages", "/var/lib/rpm/Packages")][..]),
        ("ndb", &[("rpm-ndb/Packages.db", "/usr/lib/sysimage/rpm/Packages.db")][..]),
    ] {
        assert_same(&packages(&snap_of(files)), &expected, what);
    }
    assert_same(
        &packages(&snap_of(&[("rpm-ndb/Packages.db", "/var/lib/rpm/Packages.db")])),
        &rpm_expected("rpm-ndb-expected.tsv"),
        "ndb expectation",
    );
    // The version as rpm prints it: the epoch only when it is not 0, tilde and caret kept.
    let versions: Vec<&str> = expected.iter().map(|p| p.version.as_str()).collect();
    assert_eq!(versions, ["1.0-1", "2:3.4.5-7.el9", "1.0^git20240101.abc-2.fc40", "1:10.0001-0.1.beta", "1.0~rc1-1"]);
}

#[test]
fn rpm_qa_output_alone_reads_like_the_database() {
    let snap = Snap::new();
    snap.command(rpm::QA_COMMAND, read("rpm-qa/rpm-qa"));
    assert_same(&packages(&snap), &rpm_expected("rpm-expected.tsv"), "rpm-qa");
}

#[test]
fn rpm_wal_frames_rpm_left_behind_are_applied() {
    let with_wal = snap_of(&[
        ("rpm-sqlite-wal-pending/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite"),
        ("rpm-sqlite-wal-pending/rpmdb.sqlite-wal", "/var/lib/rpm/rpmdb.sqlite-wal"),
    ]);
    let got = packages(&with_wal);
    assert_same(&got, &rpm_expected("rpm-sqlite-wal-pending/expected.tsv"), "WAL applied");
    assert_eq!(got.len(), 3, "gamma and delta were erased in the WAL");
    // The main file alone still lists them: reading it without the WAL would be wrong.
    let without = snap_of(&[("rpm-sqlite-wal-pending/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite")]);
    assert_eq!(packages(&without).len(), 5);
}

#[test]
fn rpm_wal_cut_inside_its_last_transaction_reads_as_before_it() {
    // SQLite's own recovery: frames after the last complete commit do not count.
    let wal = read("rpm-sqlite-wal-pending/rpmdb.sqlite-wal");
    let snap = snap_of(&[("rpm-sqlite-wal-pending/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite")]);
    snap.file("/var/lib/rpm/rpmdb.sqlite-wal", &wal[..wal.len() - 1000]);
    let names: Vec<String> = packages(&snap).into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["alpha", "beta", "delta", "epsilon"], "gamma's erase committed, delta's did not");
}

#[test]
fn rpm_gpg_pubkey_entries_are_not_packages() {
    let snap = snap_of(&[("rpm-sqlite-pubkey/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite")]);
    assert_same(&packages(&snap), &rpm_expected("rpm-expected.tsv"), "pubkey");
}

#[test]
fn rpm_sqlite_is_preferred_over_a_berkeley_db_left_behind() {
    let snap = snap_of(&[
        ("rpm-bdb/Packages", "/var/lib/rpm/Packages"),
        ("rpm-sqlite-wal-pending/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite"),
        ("rpm-sqlite-wal-pending/rpmdb.sqlite-wal", "/var/lib/rpm/rpmdb.sqlite-wal"),
    ]);
    assert_eq!(packages(&snap).len(), 3, "the SQLite database, not the old Packages");
}

#[test]
fn apk_matches_its_records() {
    for (db, expected) in [
        ("apk/syft-multiple.installed", "apk/syft-multiple.installed.expected.tsv"),
        ("apk/trivy-apk-valid.installed", "apk/trivy-apk-valid.installed.expected.tsv"),
    ] {
        let snap = snap_of(&[(db, "/lib/apk/db/installed")]);
        assert_same(&packages(&snap), &apk_expected(expected), db);
    }
    let usr = snap_of(&[("apk/syft-multiple.installed", "/usr/lib/apk/db/installed")]);
    assert_eq!(packages(&usr).len(), 2, "apk-tools 3 under /usr");
}

#[test]
fn several_managers_are_all_reported_each_tagged_and_sorted() {
    let snap = snap_of(&[
        ("dpkg/status.excerpt", "/var/lib/dpkg/status"),
        ("rpm-ndb/Packages.db", "/usr/lib/sysimage/rpm/Packages.db"),
        ("apk/syft-multiple.installed", "/lib/apk/db/installed"),
    ]);
    let got = packages(&snap);
    let managers: Vec<PackageManager> = got.iter().map(|p| p.manager).collect();
    let mut sorted = managers.clone();
    sorted.sort();
    assert_eq!(managers, sorted);
    let count = |m| got.iter().filter(|p| p.manager == m).count();
    assert_eq!((count(PackageManager::Deb), count(PackageManager::Rpm), count(PackageManager::Apk)), (5, 5, 2));
    // The digest does not depend on the order the databases were read in.
    let mut reversed = got.clone();
    reversed.reverse();
    assert_eq!(packages_digest(&reversed), packages_digest(&got));
}

#[test]
fn no_package_database_means_no_section_and_no_error() {
    let snap = Snap::new();
    snap.file("/proc/sys/kernel/hostname", "web01\n");
    let report = snap.collect(&["packages"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!((report.facts.packages, report.facts.packages_digest), (None, None));
}

#[test]
fn unknown_rpm_backend_falls_back_to_rpm_qa() {
    // A Berkeley DB hash of a version rpm's reader does not know either (7: libdb 3).
    let mut old = read("rpm-bdb/Packages");
    old[16] = 7;
    let snap = Snap::new();
    snap.file("/var/lib/rpm/Packages", &old);
    let report = snap.collect(&["packages"]);
    let message = &report.errors.first().expect("no rpm -qa to fall back on: an error").message;
    assert!(message.contains("hash version 7") && message.contains("rpm -qa"), "{message}");
    assert!(report.facts.packages.is_none());
    snap.command(rpm::QA_COMMAND, read("rpm-qa/rpm-qa"));
    assert_same(&packages(&snap), &rpm_expected("rpm-expected.tsv"), "fallback");
}

/// The format the plugin asks rpm for, run by the real rpm over copies of the fixtures it can
/// read, parses to what the native readers read (skipped where rpm is not installed).
#[test]
fn real_rpm_qa_in_our_format_agrees_with_the_native_readers() {
    if !Path::new("/usr/bin/rpm").exists() {
        eprintln!("rpm not installed: skipped");
        return;
    }
    for (fixture, backend) in [("rpm-sqlite/rpmdb.sqlite", "sqlite"), ("rpm-bdb/Packages", "bdb_ro")] {
        let db = tempfile::tempdir().unwrap();
        let file = Path::new(fixture).file_name().unwrap();
        std::fs::write(db.path().join(file), read(fixture)).unwrap();
        let out = std::process::Command::new("/usr/bin/rpm")
            .arg("--dbpath")
            .arg(db.path())
            .args(["--define", &format!("_db_backend {backend}"), "-qa", "--qf", rpm::qa::FORMAT])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut from_rpm = rpm::packages(rpm::qa::parse(&out.stdout).unwrap());
        finish(&mut from_rpm).unwrap();
        let native = packages(&snap_of(&[(fixture, &format!("/var/lib/rpm/{}", file.to_string_lossy()))]));
        assert_same(&from_rpm, &native, backend);
    }
}

/// This machine, live and through a recorded snapshot of it: the same list (the recorder keeps
/// every database file the plugin read).
#[test]
fn a_recorded_snapshot_replays_the_live_package_list() {
    use std::sync::Arc;

    use assetkit_core::{CollectOptions, LiveSource, Mode, Recorder, Selection, SnapshotDir, Source};
    let options = CollectOptions {
        selection: Selection::from_names(&["packages"]).unwrap(),
        timeout: std::time::Duration::from_secs(20),
        mode: Mode::Cli,
    };
    let out = tempfile::tempdir().unwrap();
    let recorder: Arc<dyn Source> = Arc::new(Recorder::new(LiveSource::default(), out.path()));
    let live = assetkit_core::collect(recorder, &options);
    assert!(live.errors.is_empty(), "{:?}", live.errors);
    let Some(live) = live.facts.packages else {
        eprintln!("no package database on this machine: skipped");
        return;
    };
    assert!(!live.is_empty());
    if Path::new(assetkit_core::plugins::packages::dpkg::STATUS).exists() {
        assert!(out.path().join("files/var/lib/dpkg/status").is_file(), "the status file is in the snapshot");
    }
    let source: Arc<dyn Source> = Arc::new(SnapshotDir::open(out.path()).unwrap());
    let replayed = assetkit_core::collect(source, &options);
    assert_eq!(replayed.facts.packages.as_ref(), Some(&live));
}

/// The live source runs `rpm -qa` only where an rpm database exists: a host with rpm installed
/// and no database (rpm on Debian) spawns nothing and has no rpm packages.
#[test]
fn live_rpm_qa_spawns_nothing_without_an_rpm_database() {
    use assetkit_core::{LiveSource, Source};
    let database = rpm::DIRS.iter().any(|d| rpm::FILES.iter().any(|f| Path::new(d).join(f).exists()));
    if database || !Path::new("/usr/bin/rpm").exists() {
        eprintln!("needs rpm installed and no rpm database: skipped");
        return;
    }
    let err = LiveSource::default().command(rpm::QA_COMMAND).expect_err("rpm must not run");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}
