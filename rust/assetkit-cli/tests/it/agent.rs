//! Agent mode against a real assetkitd on 127.0.0.1: spool, exactly-once, cert file, key file.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::{AgentHost, Receiver, assetkit};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `assetkit` in its own UTS namespace with another hostname: a temporary rename that
/// does not touch the machine running the tests.
fn report_with_hostname(host: &AgentHost, hostname: &str) -> std::process::Output {
    let script = format!(
        "hostname {hostname} && exec {} --config {} report --json",
        env!("CARGO_BIN_EXE_assetkit"),
        host.config().display()
    );
    let out = Command::new("unshare")
        .args(["--uts", "--map-root-user", "sh", "-c", &script])
        .env("ASSETKIT_LOG", "info")
        .output()
        .unwrap();
    assert!(out.status.success(), "report as {hostname}: {}", stderr(&out));
    out
}

#[test]
fn receiver_down_spools_then_delivers_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    for n in 1..=2 {
        let out = host.report(&[]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("spooled"), "{}", stderr(&out));
        assert_eq!(host.spooled(), n);
    }
    assert_eq!(host.cert(), None, "no answer, no cert");
    receiver.start();
    let out = host.report(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["spool_sent"], 2);
    assert_eq!(outcome["spool_waiting"], 0);
    assert_eq!(host.spooled(), 0);
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_owned();
    assert_eq!(host.cert().as_deref(), Some(hostname.as_str()));
    // Three distinct reports applied once each, onto one asset, created once.
    let applied: Vec<String> = receiver.query("SELECT report_id FROM applied_reports");
    assert_eq!(applied.len(), 3);
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM assets"), [1]);
    assert_eq!(
        receiver.query::<String>("SELECT action FROM applied_reports ORDER BY at, action"),
        ["created", "unchanged", "unchanged"]
    );
    // Running again sends one more report and nothing twice.
    assert!(host.report(&[]).status.success());
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM applied_reports"), [4]);
}

#[test]
fn temporary_hostname_change_keeps_one_asset_and_the_cert_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    receiver.start();
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);

    report_with_hostname(&host, "web-07");
    assert_eq!(host.cert().as_deref(), Some("web-07"));
    // Renamed by hand (a rescue shell, a mistake): the cert keeps the inventory name.
    report_with_hostname(&host, "rescue-7");
    assert_eq!(host.cert().as_deref(), Some("web-07"));
    report_with_hostname(&host, "web-07");
    assert_eq!(host.cert().as_deref(), Some("web-07"));
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM assets"), [1]);
    let drift: Vec<String> = receiver.query("SELECT summary FROM changes WHERE component = 'host'");
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].contains("rescue-7"));

    // An admin renames the asset: the next report stores the new name in the cert file.
    let mut conn = assetkitd::store::sqlite::open(&receiver.db).unwrap();
    let patch = assetkitd::domain::inventory::AssetPatch { hostname: Some("web-07.dc2".into()), ..Default::default() };
    assetkitd::domain::inventory::update_asset(&mut conn, 1, &patch, "admin:test", assetkitd::store::now()).unwrap();
    drop(conn);
    report_with_hostname(&host, "web-07");
    assert_eq!(host.cert().as_deref(), Some("web-07.dc2"));
    report_with_hostname(&host, "web-07.dc2");
    assert_eq!(host.cert().as_deref(), Some("web-07.dc2"));
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM assets"), [1]);
}

#[test]
fn key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    receiver.start();
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    let key = host.dir.path().join("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = host.report(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("mode 0644") && err.contains("chmod 600"), "{err}");
    assert!(!err.contains(receiver.agent_key.1.expose()), "the secret leaked into the error");
    assert_eq!(host.spooled(), 0);
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM applied_reports"), [0]);
}

#[test]
fn corrupt_spool_entry_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    assert_eq!(host.report(&[]).status.code(), Some(1));
    let spool = host.dir.path().join("spool");
    let bad = spool.join("00000000000000000000000-torn.json");
    std::fs::write(&bad, b"{\"schema_version\": 1, \"repo").unwrap();
    receiver.start();
    let out = host.report(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("corrupt spool file moved aside"), "{}", stderr(&out));
    assert!(!bad.exists());
    assert_eq!(
        std::fs::read(spool.join("corrupt/00000000000000000000000-torn.json")).unwrap(),
        b"{\"schema_version\": 1, \"repo"
    );
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM applied_reports"), [2]);
}

#[test]
fn full_spool_drops_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::new(dir.path());
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    let mut created: Vec<std::path::PathBuf> = Vec::new();
    for run_no in 0..7 {
        let before: std::collections::BTreeSet<_> = std::fs::read_dir(host.dir.path().join("spool"))
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        let out = host.report(&[]);
        assert_eq!(out.status.code(), Some(1));
        let after: std::collections::BTreeSet<_> = std::fs::read_dir(host.dir.path().join("spool"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        created.extend(after.difference(&before).cloned());
        if run_no >= 5 {
            assert!(stderr(&out).contains("spool full: dropped the oldest spooled report"), "{}", stderr(&out));
        }
    }
    assert_eq!(host.spooled(), 5, "spool_max_reports = 5");
    for (i, path) in created.iter().enumerate() {
        assert_eq!(path.exists(), i >= 2, "{} (run {i})", path.display());
    }
}

#[test]
fn full_disk_is_a_clear_error_and_keeps_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::new(dir.path());
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    assert_eq!(host.report(&[]).status.code(), Some(1));
    let spool = host.dir.path().join("spool");
    let kept: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    // A small tmpfs over the spool (room for the spooled report, with its package list), filled
    // up, in a private mount namespace.
    let script = format!(
        "set -e; mkdir -p {s}.full; mount -t tmpfs -o size=1m,mode=0700 tmpfs {s}.full; cp {s}/*.json {s}.full/; \
         head -c 2000000 /dev/zero > {s}.full/filler 2>/dev/null || true; mount --bind {s}.full {s}; \
         exec {bin} --config {cfg} report --no-splay",
        s = spool.display(),
        bin = env!("CARGO_BIN_EXE_assetkit"),
        cfg = host.config().display()
    );
    let out = Command::new("unshare").args(["--mount", "--map-root-user", "sh", "-c", &script]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("could not be spooled") && err.contains("No space left on device"), "{err}");
    // Outside the namespace the spool is untouched: nothing torn, nothing lost.
    let now: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    assert_eq!(kept, now);
}

#[test]
fn killed_while_sending_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    // Two reports wait in the spool while the receiver is down.
    for _ in 0..2 {
        assert_eq!(host.report(&[]).status.code(), Some(1));
    }
    let spool = host.dir.path().join("spool");
    let files = |dir: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
            .collect();
        v.sort();
        v
    };
    let before = files(&spool);
    assert_eq!(before.len(), 2);
    // A receiver that accepts the connection and never answers: the agent is mid-request,
    // sending its oldest spooled report, when it is killed.
    let blackhole = std::net::TcpListener::bind(receiver.addr).unwrap();
    let mut child = assetkit().arg("--config").arg(host.config()).args(["report", "--no-splay"]).spawn().unwrap();
    let (_connection, _) = blackhole.accept().unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(blackhole);
    assert_eq!(files(&spool), before, "the spool changed under a killed agent");
    assert!(files(host.dir.path()).iter().all(|(name, _)| !name.contains(".tmp")), "a temp file was left behind");
    assert_eq!(host.cert(), None);
    // Back up: everything is delivered, each report once.
    receiver.start();
    let out = host.report(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["spool_sent"], 2);
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM applied_reports"), [3]);
}

/// An internal CA and a server certificate for 127.0.0.1 signed by it, as a site would have.
fn ca_and_server(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let p = |f: &str| dir.join(format!("{name}-{f}"));
    let run = |args: &[&str]| {
        let status = Command::new("openssl").args(args).stderr(std::process::Stdio::null()).status().unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-days",
            "2",
            "-subj",
            "/CN=assetkit test CA",
            "-keyout",
            p("ca.key").to_str().unwrap(),
            "-out",
            p("ca.pem").to_str().unwrap(),
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            p("server.key").to_str().unwrap(),
            "-out",
            p("server.csr").to_str().unwrap(),
        ],
    ]
    .concat());
    std::fs::write(p("ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        .unwrap();
    run(&[
        "x509",
        "-req",
        "-days",
        "2",
        "-in",
        p("server.csr").to_str().unwrap(),
        "-CA",
        p("ca.pem").to_str().unwrap(),
        "-CAkey",
        p("ca.key").to_str().unwrap(),
        "-CAcreateserial",
        "-extfile",
        p("ext").to_str().unwrap(),
        "-out",
        p("server.pem").to_str().unwrap(),
    ]);
    (p("ca.pem"), p("server.pem"), p("server.key"))
}

#[test]
fn reports_over_tls_with_the_configured_ca_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    let (ca, cert, key) = ca_and_server(dir.path(), "site");
    receiver.start_tls(&cert, &key);
    let url = format!("https://{}", receiver.addr);
    let host = AgentHost::new(&url, &receiver.agent_key);
    // Without ca_file the internal CA is not trusted: nothing is sent, the report is spooled.
    let out = host.report(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("spooled"));
    // With the receiver's CA it goes through (the spooled report first).
    let config = std::fs::read_to_string(host.config()).unwrap();
    std::fs::write(host.config(), format!("{config}ca_file = \"{}\"\n", ca.display())).unwrap();
    let out = host.report(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["spool_sent"], 1);
    // A different CA is refused again.
    let (other, _, _) = ca_and_server(dir.path(), "other");
    std::fs::write(host.config(), format!("{config}ca_file = \"{}\"\n", other.display())).unwrap();
    let out = host.report(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM applied_reports"), [2]);
}

#[test]
fn the_agent_enrols_once_then_signs_with_its_own_credential() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    receiver.start();
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    let out = host.report(&["--no-splay"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("aks_"), "a secret was printed");
    let credential_file = host.dir.path().join("host.key");
    assert_eq!(std::fs::metadata(&credential_file).unwrap().permissions().mode() & 0o777, 0o600);
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&credential_file).unwrap()).unwrap();
    let host_key = stored["key_id"].as_str().unwrap().to_owned();
    assert!(host_key.starts_with("hk_"));
    // From now on the host signs with its own credential; the fleet key file is not even needed.
    std::fs::remove_file(host.dir.path().join("key")).unwrap();
    let out = host.report(&["--no-splay"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        receiver.query::<String>("SELECT key_id FROM applied_reports ORDER BY at, action"),
        [receiver.agent_key.0.clone(), host_key]
    );
}

#[test]
fn an_invalid_cert_hostname_in_an_answer_is_never_written() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = vec![0u8; 1 << 20];
            let _ = s.read(&mut buf);
            let body =
                r#"{"asset_id":1,"action":"created","cert_hostname":"web\n01 evil","changes":1,"duplicate":false}"#;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let host = AgentHost::new(&url, &("ak_x".into(), assetkit_sign::Secret::new("aks_x")));
    std::fs::write(host.dir.path().join("cert"), "web01\n").unwrap();
    let out = host.report(&["--no-splay"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cert hostname") && err.contains("control character"), "{err}");
    assert_eq!(host.cert().as_deref(), Some("web01"), "the old cert is kept");
    assert_eq!(host.spooled(), 0, "the report was acknowledged, not spooled");
}

/// A proxy to `upstream` that forwards every request, and throws away the answer to the first
/// one (the connection is closed instead): an enrolment whose answer was lost on the way back.
fn answer_losing_proxy(upstream: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut client) = stream else { continue };
            // One request per connection: read its head and its Content-Length body.
            let mut request = Vec::new();
            let mut buf = [0u8; 65536];
            let body_len = loop {
                let Ok(read) = client.read(&mut buf) else { break None };
                if read == 0 {
                    break None;
                }
                request.extend_from_slice(&buf[..read]);
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while request.len() < end + 4 + len {
                        let read = client.read(&mut buf).unwrap();
                        request.extend_from_slice(&buf[..read]);
                    }
                    break Some(len);
                }
            };
            if body_len.is_none() {
                continue;
            }
            // The upstream closes after answering, so its answer is read to the end.
            let head_end = request.windows(2).position(|w| w == b"\r\n").unwrap();
            request.splice(head_end..head_end, b"\r\nConnection: close".iter().copied());
            let mut server = std::net::TcpStream::connect(upstream).unwrap();
            server.write_all(&request).unwrap();
            let mut answer = Vec::new();
            server.read_to_end(&mut answer).unwrap();
            if n > 0 {
                let _ = client.write_all(&answer);
            }
            // The first answer is lost: the client sees the connection close.
        }
    });
    url
}

#[test]
fn an_enrolment_whose_answer_was_lost_enrols_on_the_retry() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    receiver.start();
    let host = AgentHost::new(&answer_losing_proxy(receiver.addr), &receiver.agent_key);
    let out = host.report(&["--no-splay"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The receiver applied the report once and issued one credential; the retry was answered
    // with that credential, sealed to the host's enrolment key, and the host kept it.
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM applied_reports"), [1]);
    let issued = receiver.query::<String>("SELECT key_id FROM api_keys WHERE scope = 'host' AND revoked_at IS NULL");
    assert_eq!(issued.len(), 1);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(host.dir.path().join("host.key")).unwrap()).unwrap();
    assert_eq!(stored["key_id"], issued[0]);
    assert!(!host.dir.path().join("host.key.enrol").exists(), "the used enrolment key is left behind");
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["answer"]["duplicate"], true, "{outcome}");
    // And it works: the next report is signed with it.
    std::fs::remove_file(host.dir.path().join("key")).unwrap();
    let out = host.report(&["--no-splay"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // `at` has whole seconds, so the two reports can tie on it; the first created the asset.
    assert_eq!(
        receiver.query::<String>("SELECT key_id FROM applied_reports ORDER BY at, action"),
        [receiver.agent_key.0.clone(), issued[0].clone()]
    );
}

#[test]
fn a_missing_server_setting_names_the_config_file_read_or_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "key_id = \"ak_0123\"\n").unwrap();
    let out = assetkit().arg("--config").arg(&config).arg("report").output().unwrap();
    let said = stderr(&out);
    assert!(
        !out.status.success()
            && said.contains(&format!("`server` is not set in the agent config {}", config.display())),
        "{said}"
    );
    // No --config, no ASSETKIT_CONFIG: the default path, which this machine does not have.
    if std::path::Path::new("/etc/assetkit/agent.toml").exists() {
        eprintln!("skipped the default-path half: /etc/assetkit/agent.toml exists here");
        return;
    }
    let out = assetkit().arg("report").output().unwrap();
    let said = stderr(&out);
    assert!(!out.status.success() && said.contains("there is no agent config at /etc/assetkit/agent.toml"), "{said}");
    assert!(said.contains("contrib/agent.toml.example"), "{said}");
}
