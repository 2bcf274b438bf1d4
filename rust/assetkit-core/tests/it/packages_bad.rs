//! Bad package databases: truncated, empty, corrupt, being rewritten, of an unknown format, or
//! over the report's limits. Each is an error entry for `packages` and no `packages` section at
//! all, even when another manager's database on the same host was fine: never a shorter list
//! that the receiver would take for removals.

use assetkit_core::plugins::packages::rpm;

use crate::packages::{read, snap_of};
use crate::support::Snap;

/// Collects `packages` with a good dpkg status next to the bad file; returns the error.
fn refused(path: &str, bytes: &[u8]) -> String {
    let snap = snap_of(&[("dpkg/status.excerpt", "/var/lib/dpkg/status")]);
    snap.file(path, bytes);
    refused_snap(&snap, path)
}

fn refused_snap(snap: &Snap, what: &str) -> String {
    let report = snap.collect(&["packages"]);
    assert!(report.facts.packages.is_none(), "{what}: a packages section despite the bad database");
    assert!(report.facts.packages_digest.is_none(), "{what}: a digest despite the bad database");
    let errors: Vec<_> = report.errors.iter().filter(|e| e.plugin == "packages").collect();
    assert_eq!(errors.len(), 1, "{what}: {:?}", report.errors);
    errors[0].message.clone()
}

fn expect(message: &str, words: &[&str]) {
    assert!(words.iter().any(|w| message.contains(w)), "{message:?} says none of {words:?}");
}

/// Flips every byte of `bytes[from..to]`.
fn flip(bytes: &[u8], from: usize, to: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[from..to].iter_mut().for_each(|b| *b = !*b);
    out
}

#[test]
fn dpkg_status_bad() {
    let status = read("dpkg/status.debian12-dev");
    let snap_alone = |bytes: &[u8]| {
        let snap = Snap::new();
        snap.file("/var/lib/dpkg/status", bytes);
        snap.file("/lib/apk/db/installed", read("apk/syft-multiple.installed"));
        refused_snap(&snap, "dpkg")
    };
    expect(&snap_alone(b""), &["empty"]);
    expect(&snap_alone(b"\n\n"), &["empty"]);
    // Cut in the middle of a line.
    let cut = status.len() / 2;
    let cut = cut + status[cut..].iter().position(|&c| c == b'\n').unwrap() - 3;
    expect(&snap_alone(&status[..cut]), &["truncated"]);
    // Binary garbage.
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).chain([b'\n']).collect();
    expect(&snap_alone(&garbage), &["not a field", "continuation"]);
    // An installed package without its Version line (cut out).
    let text = String::from_utf8(read("dpkg/status.excerpt")).unwrap();
    let without = text.replacen("Version: 2.36-9+deb12u14\n", "", 1);
    expect(&snap_alone(without.as_bytes()), &["no Version"]);
    // A stanza cut before its Status.
    expect(&snap_alone(b"Package: bash\nPriority: required\n\n"), &["no Status"]);
}

#[test]
fn apk_installed_bad() {
    let db = read("apk/trivy-apk-valid.installed");
    expect(&refused("/lib/apk/db/installed", b""), &["empty"]);
    expect(&refused("/lib/apk/db/installed", &db[..db.len() / 2]), &["truncated"]);
    expect(&refused("/lib/apk/db/installed", &read("apk/trivy-apk.installed")), &["no version"]);
    expect(&refused("/lib/apk/db/installed", b"P:musl\nthis is not apk\n\n"), &["not an apk database line"]);
}

#[test]
fn rpm_sqlite_bad() {
    let db = read("rpm-sqlite/rpmdb.sqlite");
    let path = "/var/lib/rpm/rpmdb.sqlite";
    expect(&refused(path, b""), &["empty"]);
    expect(&refused(path, &db[..50]), &["truncated"]);
    expect(&refused(path, &db[..db.len() / 2]), &["truncated"]);
    expect(&refused(path, &db[..db.len() - 100]), &["truncated"]);
    // The fixture's layout (SQLite's dbstat): Packages' root is page 2, its rows' overflow
    // pages 53 to 62, its leaves 67 to 69; 4 KiB pages.
    let page = |n: usize| (n - 1) * 4096;
    expect(&refused(path, &flip(&db, page(2), page(2) + 8)), &["SQLite"]);
    expect(&refused(path, &flip(&db, page(68) + 8, page(68) + 12)), &["SQLite", "corrupt"]);
    // Bytes inside a header blob (an overflow page): the structure still holds, the package's
    // own header digest does not.
    expect(&refused(path, &flip(&db, page(57) + 1000, page(57) + 1016)), &["digest does not match"]);
    // Every page damaged at one place.
    let damaged = (1..db.len() / 4096).fold(db.clone(), |d, n| flip(&d, n * 4096 + 2000, n * 4096 + 2016));
    expect(&refused(path, &damaged), &["SQLite", "corrupt"]);
    // A rollback journal left beside it: a write is in progress (or died).
    let snap = snap_of(&[("dpkg/status.excerpt", "/var/lib/dpkg/status"), ("rpm-sqlite/rpmdb.sqlite", path)]);
    snap.file("/var/lib/rpm/rpmdb.sqlite-journal", b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7 half a journal");
    expect(&refused_snap(&snap, "journal"), &["write is in progress"]);
    // Not SQLite at all, and no rpm -qa: unknown format.
    expect(&refused(path, &[b'x'; 8192]), &["not an SQLite 3 database"]);
}

#[test]
fn rpm_sqlite_wal_bad() {
    let wal = read("rpm-sqlite-wal-pending/rpmdb.sqlite-wal");
    let snap = snap_of(&[
        ("dpkg/status.excerpt", "/var/lib/dpkg/status"),
        ("rpm-sqlite-wal-pending/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite"),
    ]);
    snap.file("/var/lib/rpm/rpmdb.sqlite-wal", &wal[..20]);
    expect(&refused_snap(&snap, "WAL cut in its header"), &["WAL is truncated"]);
    snap.file("/var/lib/rpm/rpmdb.sqlite-wal", flip(&wal, 0, 4));
    expect(&refused_snap(&snap, "not a WAL"), &["not an SQLite WAL"]);
}

#[test]
fn rpm_berkeley_db_bad() {
    let path = "/var/lib/rpm/Packages";
    for fixture in ["rpm-bdb/Packages", "rpm-bdb-pagesize-65536/Packages", "rpm-bdb-bigendian/Packages"] {
        let db = read(fixture);
        expect(&refused(path, b""), &["empty"]);
        expect(&refused(path, &db[..100]), &["truncated"]);
        expect(&refused(path, &db[..db.len() - 4096]), &["truncated"]);
        // Every page after the metadata overwritten with noise.
        let noise: Vec<u8> = db
            .iter()
            .enumerate()
            .map(|(i, &b)| if i < 512 { b } else { (i as u32).wrapping_mul(2654435761).to_be_bytes()[1] })
            .collect();
        expect(&refused(path, &noise), &["page", "corrupt"]);
    }
    // An overflow chain that points back at itself.
    let mut db = read("rpm-bdb/Packages");
    let page_size = 4096;
    let overflow = (1..db.len() / page_size).find(|&p| db[p * page_size + 25] == 7).unwrap();
    let at = overflow * page_size;
    db[at + 16..at + 20].copy_from_slice(&(overflow as u32).to_le_bytes());
    db[at + 22..at + 24].copy_from_slice(&16u16.to_le_bytes());
    expect(&refused(path, &db), &["overflow", "corrupt"]);
    // A header blob inside the database damaged: rpm's own header checks refuse it.
    let mut db = read("rpm-bdb/Packages");
    let data = at + 26;
    db[data..data + 8].copy_from_slice(&[0xff; 8]);
    expect(&refused(path, &db), &["corrupt package header", "overflow"]);
    // An encrypted database: a format assetkit does not read, and no rpm -qa.
    let mut db = read("rpm-bdb/Packages");
    db[24] = 1;
    expect(&refused(path, &db), &["encrypted"]);
}

#[test]
fn rpm_ndb_bad() {
    let db = read("rpm-ndb/Packages.db");
    let path = "/usr/lib/sysimage/rpm/Packages.db";
    expect(&refused(path, b""), &["empty"]);
    expect(&refused(path, &db[..20]), &["truncated"]);
    expect(&refused(path, &db[..db.len() - 16]), &["truncated", "past the end"]);
    expect(&refused(path, &db[..db.len() - 3]), &["truncated"]);
    // One byte of a blob changed: its adler32 no longer matches.
    let blob = db.windows(4).rposition(|w| w == b"BlbS").unwrap();
    let mut damaged = db.clone();
    damaged[blob + 200] ^= 0x01;
    expect(&refused(path, &damaged), &["checksum"]);
    // A slot magic overwritten.
    expect(&refused(path, &flip(&db, 32, 36)), &["slot magic"]);
}

#[test]
fn rpm_qa_output_bad() {
    let out = read("rpm-qa/rpm-qa");
    let bad = |bytes: &[u8]| {
        let snap = snap_of(&[("dpkg/status.excerpt", "/var/lib/dpkg/status")]);
        snap.command(rpm::QA_COMMAND, bytes);
        refused_snap(&snap, "rpm-qa")
    };
    expect(&bad(&out[..out.len() - 5]), &["truncated"]);
    expect(&bad(b"bash-5.1.8-6.el9.x86_64\n"), &["fields"]);
    // The sweep's script could not run rpm -qa: said so, not "no rpm packages".
    let snap = snap_of(&[("dpkg/status.excerpt", "/var/lib/dpkg/status")]);
    snap.command(
        assetkit_core::plugins::packages::ERROR_COMMAND,
        "rpm -qa: exited with status 124 (timed out after 10s)\n",
    );
    expect(&refused_snap(&snap, "rpm-qa error"), &["timed out"]);
}

#[test]
fn over_the_reports_limits() {
    // 32,769 installed packages: one more than a report carries.
    let mut status = String::new();
    for i in 0..32_769 {
        status.push_str(&format!("Package: p{i}\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0\n\n"));
    }
    let message = refused("/var/lib/dpkg/status", status.as_bytes());
    expect(&message, &["32769 installed packages, more than a report carries (32768)"]);
    // A name longer than the schema allows.
    let long =
        format!("Package: {}\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0\n\n", "n".repeat(300));
    expect(&refused("/var/lib/dpkg/status", long.as_bytes()), &["name is longer than 256 bytes"]);
}

#[test]
fn a_stanza_with_an_empty_package_name_is_refused() {
    // Found by the packages_dpkg fuzz target: "Package: " with nothing after it.
    let status = b"Package: \nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n";
    expect(&refused("/var/lib/dpkg/status", status), &["no Package"]);
}

/// A snapshot whose `rpmdb.sqlite-wal` reads differently each time, as when rpm writes while
/// the plugin reads: the n-th read of the WAL gives `wal(n)`.
struct RewritingWal<F: Fn(usize) -> Vec<u8> + Send + Sync> {
    inner: assetkit_core::SnapshotDir,
    reads: std::sync::atomic::AtomicUsize,
    wal: F,
}

impl<F: Fn(usize) -> Vec<u8> + Send + Sync> assetkit_core::Source for RewritingWal<F> {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        if path.ends_with("rpmdb.sqlite-wal") {
            return Ok((self.wal)(self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst)));
        }
        self.inner.read(path)
    }
    fn list(&self, dir: &str) -> std::io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn command(&self, name: &str) -> std::io::Result<Vec<u8>> {
        self.inner.command(name)
    }
    fn custom_plugins(&self) -> std::collections::BTreeMap<String, assetkit_core::source::CustomOutput> {
        self.inner.custom_plugins()
    }
}

fn collect_rewriting(wal: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static) -> assetkit_core::Report {
    let snap = snap_of(&[("rpm-sqlite-wal-pending/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite")]);
    let source =
        RewritingWal { inner: assetkit_core::SnapshotDir::open(snap.path()).unwrap(), reads: Default::default(), wal };
    let options = assetkit_core::CollectOptions {
        selection: assetkit_core::Selection::from_names(&["packages"]).unwrap(),
        timeout: std::time::Duration::from_secs(10),
        mode: assetkit_core::Mode::Cli,
    };
    let report = assetkit_core::collect(std::sync::Arc::new(source), &options);
    drop(snap);
    report
}

#[test]
fn rpm_writing_while_the_database_is_read() {
    let wal = read("rpm-sqlite-wal-pending/rpmdb.sqlite-wal");
    // The WAL began while the database was read (empty, then rpm's frames): read again, and the
    // second reading is consistent.
    let (full, reads) = (wal.clone(), std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)));
    let counted = std::sync::Arc::clone(&reads);
    let report = collect_rewriting(move |n| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == 0 { Vec::new() } else { full.clone() }
    });
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.facts.packages.map(|p| p.len()), Some(3), "the state after the WAL's commits");
    assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 4, "the WAL before and after, twice");
    // A WAL that restarts on every read: refused, after three tries.
    let restarted = flip(&wal, 16, 24);
    let report = collect_rewriting(move |n| if n % 2 == 0 { wal.clone() } else { restarted.clone() });
    assert!(report.facts.packages.is_none());
    expect(&report.errors[0].message, &["being rewritten"]);
}
