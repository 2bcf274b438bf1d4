//! A snapshot stream read into memory reads as the same stream unpacked into a directory: the
//! SSH sweep parses from memory, `assetkit snapshot --unpack` writes the directory.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use assetkit_core::script::{self, SNAPSHOT_SCRIPT};
use assetkit_core::{CollectOptions, Mode, Selection, SnapshotDir, SnapshotMemory, Source};

/// Every file (relative to `root`) and every directory below it.
fn walk(root: &Path) -> (Vec<String>, Vec<String>) {
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
                dirs.push(rel);
            } else {
                files.push(rel);
            }
        }
    }
    (files, dirs)
}

fn report_of(source: Arc<dyn Source>) -> serde_json::Value {
    let options = CollectOptions { selection: Selection::all(), timeout: Duration::from_secs(10), mode: Mode::Ssh };
    let mut report = serde_json::to_value(assetkit_core::collect(source, &options)).unwrap();
    let o = report.as_object_mut().unwrap();
    o.remove("report_id");
    o.remove("collected_at");
    report
}

/// Both ways of reading `stream`: every file and directory reads and lists the same, and the
/// whole report is the same.
fn assert_same(stream: &[u8]) -> (SnapshotDir, SnapshotMemory, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let unpacked = script::unpack(stream, dir.path()).unwrap();
    let on_disk = SnapshotDir::open(dir.path()).unwrap();
    let in_memory = script::read(stream).unwrap();
    let (files, dirs) = walk(dir.path());
    assert!(unpacked.records > 0 && !files.is_empty());
    for f in &files {
        let (got, want) = match f.split_once('/').unwrap() {
            ("files", path) => {
                (in_memory.read(&format!("/{path}")).unwrap(), on_disk.read(&format!("/{path}")).unwrap())
            }
            ("commands", name) if !name.contains('/') => {
                (in_memory.command(name).unwrap(), on_disk.command(name).unwrap())
            }
            _ => continue, // custom plugins: compared whole below
        };
        assert_eq!(got, want, "{f} reads differently from memory");
    }
    for d in dirs.iter().filter_map(|d| d.strip_prefix("files/")) {
        let path = format!("/{d}");
        assert_eq!(in_memory.list(&path).unwrap(), on_disk.list(&path).unwrap(), "{path} lists differently");
        assert!(in_memory.read(&path).is_err(), "{path} is a directory, not a file");
    }
    assert_eq!(in_memory.custom_plugins(), on_disk.custom_plugins());
    // What is not a readable file fails the same way (plugins tell NotFound from the rest).
    let kind = |r: std::io::Result<Vec<u8>>| r.map(|_| ()).map_err(|e| e.kind());
    let listed = |r: std::io::Result<Vec<String>>| r.map_err(|e| e.kind());
    let some_file = files.iter().find_map(|f| f.strip_prefix("files/")).unwrap();
    let probes = [
        "/no/such/file".to_owned(),
        format!("/{some_file}/inside"),
        format!("/{some_file}/"),
        format!("/{some_file}"),
        format!("/{}", some_file.rsplit_once('/').map_or("", |(d, _)| d)),
    ];
    for path in &probes {
        assert_eq!(kind(in_memory.read(path)), kind(on_disk.read(path)), "reading {path}");
        assert_eq!(listed(in_memory.list(path)), listed(on_disk.list(path)), "listing {path}");
    }
    assert_eq!(in_memory.command("no-such-command").unwrap_err().kind(), std::io::ErrorKind::NotFound);
    assert_eq!(
        report_of(Arc::new(in_memory.clone())),
        report_of(Arc::new(on_disk.clone())),
        "the report from memory differs from the report from the directory"
    );
    (on_disk, in_memory, dir)
}

#[test]
fn this_machines_stream_reads_the_same_from_memory_as_from_its_directory() {
    let mut sh = Command::new("sh").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    sh.stdin.take().unwrap().write_all(SNAPSHOT_SCRIPT.as_bytes()).unwrap();
    let stream = sh.wait_with_output().unwrap();
    assert!(stream.status.success());
    let (_, in_memory, _dir) = assert_same(&stream.stdout);
    assert!(!in_memory.list("/sys/class/net").unwrap().is_empty(), "this machine's NICs are in the stream");
}

#[test]
fn custom_plugins_empty_directories_and_doubled_slashes_read_the_same_from_memory() {
    let stream = b"ASSETKIT-SNAPSHOT 1\n\
        F 6 /etc/hostname\nweb-1\n\
        F 2 //sys//class/net/eth0/mtu\n9\n\
        D 0 /etc/pve/lxc\n\
        C 7 uname-m\nx86_64\n\
        X 8 rack\n{\"u\":4}\n\
        Y 9 broken\ntimed out\
        X 2 broken\n{}\
        END\n";
    let (_, in_memory, _dir) = assert_same(stream);
    assert_eq!(in_memory.list("/etc/pve/lxc").unwrap(), Vec::<String>::new(), "an empty directory reads as empty");
    assert_eq!(in_memory.list("/etc/pve").unwrap(), ["lxc"]);
    assert_eq!(in_memory.read("/sys/class/net/eth0/mtu").unwrap(), b"9\n");
    let plugins = in_memory.custom_plugins();
    assert_eq!(plugins["rack"], Ok(b"{\"u\":4}\n".to_vec()));
    assert_eq!(plugins["broken"], Err("timed out".to_owned()), "a plugin's failure outranks its output");
    assert!(in_memory.read("/etc/../etc/hostname").is_err(), "no traversal when reading either");
}

#[test]
fn a_stream_refused_on_disk_is_refused_in_memory() {
    let evils = [
        "F 1 /../../etc/passwd\nx",
        "C 1 ../x\nx",
        "X 1 ../x\nx",
        "Z 1 a\nx",
        "F 99999999999 /a\n",
        "D 1 /a\nx",
        // What a file system cannot hold: a file below a file, a file where a directory is (and
        // the reverse), a file named as a directory.
        "F 1 /a\nxF 1 /a/b\ny",
        "F 1 /a/b\nxF 1 /a\ny",
        "D 0 /a\nF 1 /a\nx",
        "F 1 /a\nxD 0 /a\n",
        "F 1 /a\nxD 0 /a/b\n",
        "F 1 /etc/x/\nx",
    ];
    for evil in evils {
        let stream = format!("ASSETKIT-SNAPSHOT 1\n{evil}END\n");
        let dir = tempfile::tempdir().unwrap();
        assert!(script::unpack(stream.as_bytes(), dir.path()).is_err(), "{evil:?} unpacked to disk");
        assert!(script::read(stream.as_bytes()).is_err(), "{evil:?} accepted into memory");
    }
    // A path as deep as a record header allows costs its own bytes, not a copy per parent.
    let deep = format!("/x{}", "/a".repeat(2000));
    let stream = format!("ASSETKIT-SNAPSHOT 1\nF 1 {deep}\nzEND\n");
    let snapshot = script::read(stream.as_bytes()).unwrap();
    assert_eq!(snapshot.list("/x").unwrap(), ["a"]);
    assert_eq!(snapshot.read(&deep).unwrap(), b"z");
    assert!(matches!(script::read(&b"ASSETKIT-SNAPSHOT 1\nF 10 /a\nabc"[..]), Err(script::StreamError::Truncated)));
    assert!(matches!(script::read(&b"not a stream\n"[..]), Err(script::StreamError::BadHeader(_))));
}
