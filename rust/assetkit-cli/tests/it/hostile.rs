//! The agent against a receiver that lies and a host where others planted files.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{AgentHost, Receiver, assetkit};

/// A fake receiver: answers every connection with `answer` (called with the stream after the
/// request head was read). Counts connections.
fn fake_receiver(answer: impl Fn(&mut std::net::TcpStream) + Send + Sync + 'static) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                answer(&mut stream);
            });
        }
    });
    (url, hits)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `assetkit report` under a 1 GiB address-space limit, so that reading a huge answer whole
/// aborts instead of succeeding slowly.
fn report_bounded(host: &AgentHost) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let script = format!(
        "ulimit -v 1048576; exec {} --config {} report --no-splay",
        env!("CARGO_BIN_EXE_assetkit"),
        host.config().display()
    );
    let out = std::process::Command::new("sh").args(["-c", &script]).env("ASSETKIT_LOG", "warn").output().unwrap();
    (out, started.elapsed())
}

#[test]
fn a_huge_answer_is_cut_off_and_never_quoted_whole() {
    // 4 GiB announced and streamed: more than the agent may hold.
    let (url, _) = fake_receiver(|s| {
        let _ = s.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4294967296\r\n\r\n");
        let chunk = vec![b'A'; 1 << 20];
        while s.write_all(&chunk).is_ok() {}
    });
    let host = AgentHost::new(&url, &("ak_x".into(), assetkit_sign::Secret::new("aks_x")));
    let (out, took) = report_bounded(&host);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("exceeds 1048576 bytes"), "{err}");
    assert!(err.len() < 4096, "the error quotes {} bytes", err.len());
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert_eq!(host.spooled(), 1, "the report is kept");
}

#[test]
fn an_answer_that_never_ends_is_cut_at_the_timeout() {
    // Headers, then one byte a second forever: the whole exchange is bounded by `timeout` (3 s).
    let (url, _) = fake_receiver(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n{");
        loop {
            std::thread::sleep(Duration::from_millis(500));
            if s.write_all(b" ").is_err() {
                return;
            }
        }
    });
    let host = AgentHost::new(&url, &("ak_x".into(), assetkit_sign::Secret::new("aks_x")));
    let (out, took) = report_bounded(&host);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(took < Duration::from_secs(10), "the run took {took:?} with a 3 s timeout");
    assert_eq!(host.spooled(), 1);
}

#[test]
fn a_redirect_is_refused_and_the_signed_report_stays_home() {
    let (elsewhere, hits) = fake_receiver(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    });
    let location = format!("{elsewhere}/api/v1/reports");
    let (url, _) = fake_receiver(move |s| {
        let _ = write!(s, "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
    });
    let host = AgentHost::new(&url, &("ak_x".into(), assetkit_sign::Secret::new("aks_x")));
    let (out, _) = report_bounded(&host);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not follow redirects"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the signed report went to another origin");
    assert_eq!(host.spooled(), 1);
}

#[test]
fn a_spool_others_can_write_is_not_read_or_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    receiver.start();
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    // Someone planted a report in a world-writable spool.
    let spool = host.dir.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o777)).unwrap();
    let planted = serde_json::json!({
        "schema_version": 1, "report_id": "planted", "collected_at": "2026-01-01T00:00:00Z",
        "agent": {"name": "assetkit", "version": "x", "mode": "agent"},
        "host": {"hostname": "victim", "cert_hostname": "victim"}, "facts": {}, "errors": []
    });
    std::fs::write(spool.join("0000-planted.json"), planted.to_string()).unwrap();
    let out = host.report(&["--no-splay"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("0777") && err.contains("chmod go-w"), "{err}");
    assert_eq!(receiver.query::<String>("SELECT report_id FROM applied_reports WHERE report_id = 'planted'").len(), 0);
    assert_eq!(receiver.query::<i64>("SELECT COUNT(*) FROM applied_reports"), [1], "this run's report still went out");
}

#[test]
fn a_fifo_key_file_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::new(dir.path());
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    let key = host.dir.path().join("key");
    std::fs::remove_file(&key).unwrap();
    rustix::fs::mkfifoat(rustix::fs::CWD, &key, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
    let started = Instant::now();
    let mut child = assetkit()
        .arg("--config")
        .arg(host.config())
        .args(["report", "--no-splay"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("the agent hangs on a FIFO key file");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(!status.success());
    assert!(err.contains("FIFO"), "{err}");
}

#[test]
fn a_cert_file_linked_to_a_large_file_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::new(dir.path());
    receiver.start();
    let host = AgentHost::new(&receiver.url(), &receiver.agent_key);
    let big = host.dir.path().join("big");
    std::fs::write(&big, vec![b'x'; 64 << 20]).unwrap();
    std::os::unix::fs::symlink(&big, host.dir.path().join("cert")).unwrap();
    let out = host.report(&["--no-splay"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(host.spooled(), 1, "the report waits until the cert file is fixed");
}

#[test]
fn custom_plugins_others_could_have_written_are_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins.d");
    std::fs::create_dir(&plugins).unwrap();
    let marker = dir.path().join("ran");
    let script = format!("#!/bin/sh\ntouch {}\necho '{{\"ok\": true}}'\n", marker.display());
    for name in ["trusted", "group_writable"] {
        std::fs::write(plugins.join(name), &script).unwrap();
    }
    std::fs::set_permissions(plugins.join("trusted"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(plugins.join("group_writable"), std::fs::Permissions::from_mode(0o775)).unwrap();
    let is_root = rustix::process::geteuid().is_root();
    if is_root {
        // Owned by another user (nobody), even if not writable by others.
        std::fs::write(plugins.join("foreign"), &script).unwrap();
        std::fs::set_permissions(plugins.join("foreign"), std::fs::Permissions::from_mode(0o755)).unwrap();
        rustix::fs::chown(plugins.join("foreign"), Some(rustix::fs::Uid::from_raw(65534)), None).unwrap();
    }
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, format!("plugins_dir = \"{}\"\n", plugins.display())).unwrap();
    let out = assetkit().arg("--config").arg(&config).args(["collect", "--only", "custom"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["facts"]["custom"]["trusted"]["ok"], true, "{report}");
    let errors = report["errors"].to_string();
    assert!(errors.contains("custom.group_writable") && errors.contains("chmod go-w"), "{errors}");
    assert!(report["facts"]["custom"].get("group_writable").is_none());
    if is_root {
        assert!(errors.contains("custom.foreign") && errors.contains("uid 65534"), "{errors}");
    }
}
