//! SSH mode against a real OpenSSH sshd on 127.0.0.1 (started by tests/sshd/up).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::support::{AgentHost, Receiver, assetkit};

pub struct Sshd {
    pub env: BTreeMap<String, String>,
}

impl Sshd {
    pub fn up() -> Sshd {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/sshd/up");
        let out = Command::new(&script).output().expect("run tests/sshd/up");
        assert!(
            out.status.success(),
            "tests/sshd/up failed (is openssh-server installed?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env_file = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let env = std::fs::read_to_string(&env_file)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        Sshd { env }
    }
    pub fn config(&self) -> &str {
        &self.env["SSH_CONFIG"]
    }
}

/// The loopback sshd, a running receiver (its files in `dir`) and a control host set up to
/// send to it: what most sweeps below start from.
struct Swept {
    sshd: Sshd,
    dir: tempfile::TempDir,
    receiver: Receiver,
    host: AgentHost,
}

impl Swept {
    fn start() -> Swept {
        let sshd = Sshd::up();
        let dir = tempfile::tempdir().unwrap();
        let mut receiver = Receiver::new(dir.path());
        receiver.start();
        let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
        Swept { sshd, dir, receiver, host }
    }
}

fn sweep(host: &AgentHost, sshd: &Sshd, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = assetkit()
        .arg("--config")
        .arg(host.config())
        .args(["sweep", "--json", "--concurrency", "4", "-F", sshd.config()])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), json, stderr)
}

fn statuses(json: &serde_json::Value) -> BTreeMap<String, String> {
    json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["target"].as_str().unwrap().to_owned(), h["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn pending_hosts_are_swept_and_reported_in_ssh_mode() {
    let sshd = Sshd::up();
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    {
        let mut conn = assetkitd::store::sqlite::open(&receiver.db).unwrap();
        for name in ["node-1", "node-2", "node-3"] {
            // Entered open to the fleet key's first report (the sweep enrols them).
            let input = assetkitd::domain::inventory::NewAsset {
                hostname: name.into(),
                open_enrolment: true,
                ..Default::default()
            };
            assetkitd::domain::inventory::create_asset(&mut conn, &input, "admin:test", assetkitd::store::now())
                .unwrap();
        }
    }
    receiver.start();
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    let out = assetkit().arg("--config").arg(host.config()).args(["sweep", "--pending", "-F", sshd.config()]).output();
    let stderr = String::from_utf8_lossy(&out.unwrap().stderr).into_owned();
    assert!(stderr.contains("read_key_id"), "the fleet key alone does not list pending hosts: {stderr}");
    host.add_read_key(&assetkitd::cmd::keys::create_key(&receiver.db.clone().into(), None, "sweeps", "read").unwrap());
    let (code, json, stderr) = sweep(&host, &sshd, &["--pending"]);
    assert_eq!(code, Some(0), "{json}\n{stderr}");
    assert_eq!(
        statuses(&json),
        [("node-1", "ok"), ("node-2", "ok"), ("node-3", "ok")].map(|(a, b)| (a.to_owned(), b.to_owned())).into()
    );
    // Each manual entry got its report (found through the name it was entered under).
    assert_eq!(receiver.query::<String>("SELECT last_mode FROM assets ORDER BY hostname"), ["ssh", "ssh", "ssh"]);
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM assets"), [3]);
    // Reported today: nothing pending any more, a second sweep has no targets.
    let (code, _, stderr) = {
        let out = assetkit()
            .arg("--config")
            .arg(host.config())
            .args(["sweep", "--pending", "-F", sshd.config()])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(0));
    assert!(stderr.contains("no targets"), "{stderr}");
}

#[test]
fn failures_are_classified_and_set_the_exit_status() {
    let Swept { sshd, dir, receiver, host } = Swept::start();
    let inventory = dir.path().join("inventory.ini");
    std::fs::write(&inventory, "[web]\nnode-7\nnode-8\n[broken]\nbadkey\ndeadport\n").unwrap();
    let (code, json, stderr) = sweep(&host, &sshd, &["--inventory", inventory.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{json}\n{stderr}");
    let s = statuses(&json);
    assert_eq!(s["node-7"], "ok");
    assert_eq!(s["node-8"], "ok");
    assert_eq!(s["badkey"], "auth_failed", "{json}");
    assert_eq!(s["deadport"], "unreachable", "{json}");
    let detail = |t: &str| {
        json["hosts"].as_array().unwrap().iter().find(|h| h["target"] == t).unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(detail("badkey").contains("Permission denied"), "{}", detail("badkey"));
    assert!(detail("deadport").contains("Connection refused"), "{}", detail("deadport"));
    assert_eq!(receiver.query::<String>("SELECT DISTINCT last_mode FROM assets"), ["ssh"]);

    // A host that accepts TCP but never speaks SSH hits the per-host timeout.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blackhole.local_addr().unwrap().port();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, format!("127.0.0.1:{port}\n")).unwrap();
    let (code, json, _) = sweep(&host, &sshd, &["--hosts", hosts.to_str().unwrap(), "--timeout", "2s"]);
    assert_eq!(code, Some(1));
    assert_eq!(json["hosts"][0]["status"], "timed_out", "{json}");
    drop(blackhole);

    // Without --json: the summary table.
    let out = assetkit()
        .arg("--config")
        .arg(host.config())
        .args(["sweep", "-F", sshd.config(), "--inventory", inventory.to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    for line in ["ok                2", "unreachable       1", "auth failed       1", "total             4"] {
        assert!(table.contains(line), "{line:?} not in\n{table}");
    }
}

#[test]
fn each_swept_host_enrols_once_then_signs_with_its_own_credential() {
    use std::os::unix::fs::PermissionsExt;
    let Swept { sshd, dir, receiver, host } = Swept::start();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "node-1\nnode-2\n").unwrap();
    for _ in 0..2 {
        let (code, json, stderr) = sweep(&host, &sshd, &["--hosts", hosts.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{json}\n{stderr}");
    }
    let credentials = host.dir.path().join("credentials");
    assert_eq!(std::fs::metadata(&credentials).unwrap().permissions().mode() & 0o777, 0o700);
    let key_of = |target: &str| -> String {
        let path = credentials.join(format!("{target}.json"));
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(path).unwrap()).unwrap()["key_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (k1, k2) = (key_of("node-1"), key_of("node-2"));
    assert_ne!(k1, k2, "each host has its own credential");
    let mut used = receiver.query::<String>("SELECT key_id FROM applied_reports");
    used.sort();
    let mut expected = vec![receiver.agent_key.0.clone(), receiver.agent_key.0.clone(), k1, k2];
    expected.sort();
    assert_eq!(used, expected, "the fleet key enrolled each host once; then each signed for itself");
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM assets"), [2]);
}

#[test]
fn a_sweep_writes_nothing_per_host_so_a_temp_dir_it_cannot_write_stops_no_host() {
    // Each host's stream is parsed in memory. (It was unpacked into a temp directory first, and
    // every host failed with "temp dir: ..." when that could not be made: a full /tmp.)
    let Swept { sshd, dir, receiver, host } = Swept::start();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "node-1\nnode-2\n").unwrap();
    let out = assetkit()
        .arg("--config")
        .arg(host.config())
        .args(["sweep", "--json", "-F", sshd.config(), "--hosts"])
        .arg(&hosts)
        .env("TMPDIR", dir.path().join("no-such-dir"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(statuses(&json), [("node-1".into(), "ok".into()), ("node-2".into(), "ok".into())].into());
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM assets"), [2]);
}

#[test]
fn a_target_that_is_not_an_address_or_a_name_never_reaches_ssh() {
    let sshd = Sshd::up();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, format!("-oProxyCommand=touch${{IFS}}{}\n", marker.display())).unwrap();
    let host = AgentHost::new("http://127.0.0.1:9", &("ak_x".into(), assetkit_sign::Secret::new("aks_x")));
    let (code, json, stderr) = sweep(&host, &sshd, &["--no-send", "--hosts", hosts.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{json}\n{stderr}");
    let detail = json["hosts"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("not swept") && detail.contains("neither an IP address nor a host name"), "{json}");
    assert!(!marker.exists(), "the target ran a command on the control machine");
}

/// The packages of a host swept over SSH equal its live ones: the script sends dpkg's status cut
/// down to the plugin's fields, and the same parser reads it.
#[test]
fn a_swept_host_reports_the_packages_a_live_collect_finds() {
    let sshd = Sshd::up();
    let dir = tempfile::tempdir().unwrap();
    let host = AgentHost::new("http://127.0.0.1:9", &("ak_x".into(), assetkit_sign::Secret::new("aks_x")));
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "node-1\n").unwrap();
    let live_packages = || {
        let out = assetkit().args(["collect", "--only", "packages"]).output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["facts"]["packages"].clone()
    };
    // Other tests install packages on this machine: a reading taken while dpkg changed the
    // list is taken again.
    let mut last = None;
    for _ in 0..5 {
        let before = live_packages();
        let out = assetkit()
            .arg("--config")
            .arg(host.config())
            .args(["sweep", "--no-send", "--json", "-F", sshd.config(), "--hosts"])
            .arg(&hosts)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let first = out.stdout.split(|&c| c == b'\n').next().unwrap();
        let report: serde_json::Value = serde_json::from_slice(first).unwrap();
        assert_eq!(report["agent"]["mode"], "ssh");
        assert_eq!(report["errors"], serde_json::json!([]), "{report}");
        if live_packages() == before {
            last = Some((report, before));
            break;
        }
    }
    let (report, live) = last.expect("dpkg kept changing the package list");
    let swept = &report["facts"]["packages"];
    assert!(swept.as_array().is_some_and(|p| p.len() > 100), "this machine's packages: {swept}");
    assert_eq!(swept, &live);
    assert!(report["facts"]["packages_digest"].as_str().unwrap().starts_with("sha256:"));
}
