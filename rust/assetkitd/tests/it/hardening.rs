//! Hostile and faulty input: each class from the hardening issue, against the real server.
//!
//! Every test ends the same way: the service still answers `/healthz` and a normal signed
//! report.

use std::time::{Duration, Instant};

use assetkitd::domain::apply::{Failpoint, Policy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Console, TestDb, TestServer, addr_of, physical, raw_http, sheet_with, signed_head, xlsx};

/// `/healthz` is 200 with the writer ok, and a fresh host's report lands.
async fn still_serving(s: &TestServer, host: &str) {
    let health = s.client.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["writer"], "ok", "{body}");
    let started = Instant::now();
    s.report_ok(&physical(host, &format!("SN-{host}"))).await;
    assert!(started.elapsed() < Duration::from_secs(2), "a normal report took {:?}", started.elapsed());
}

fn assetkitd(db: &TestDb, args: &[&str]) -> (bool, String) {
    let (ok, out, err) = crate::support::cli(db, args);
    (ok, err + &out)
}

/// The crafted workbooks: each ~2 KB, each would cost gigabytes to read naively.
fn bombs() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    // One cell at A1 and one at the last column and row: a naive reader allocates the grid.
    let corners = xlsx(&sheet_with(&[("A1", "SN"), ("XFD1048576", "x")]), None);
    // 200 MB of whitespace inside the sheet, compressed to a few hundred KB.
    let mut sheet = br#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#.to_vec();
    sheet.extend(std::iter::repeat_n(b' ', 200 << 20));
    sheet.extend_from_slice(b"</sheetData></worksheet>");
    let whitespace = xlsx(&sheet, None);
    // A shared-strings part that declares a trillion strings.
    let shared = xlsx(
        &sheet_with(&[("A1", "SN")]),
        Some(br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1000000000000"><si><t>a</t></si></sst>"#),
    );
    vec![
        ("corners.xlsx", corners, "the row count exceeds the limit of 100000"),
        ("whitespace.xlsx", whitespace, "the uncompressed size of the xlsx exceeds the limit"),
        ("shared.xlsx", shared, "shared string count (uniqueCount) exceeds the limit"),
    ]
}

#[test]
fn import_bombs_are_refused_by_the_cli_with_the_limit_named() {
    let db = TestDb::new();
    let dir = &db.dir;
    for (name, bytes, limit) in bombs() {
        assert!(bytes.len() < 1 << 20, "{name} is {} bytes", bytes.len());
        let file = dir.path().join(name);
        std::fs::write(&file, &bytes).unwrap();
        let started = Instant::now();
        let (ok, out) = assetkitd(&db, &["import", file.to_str().unwrap()]);
        assert!(!ok, "{name} was accepted: {out}");
        assert!(out.contains(limit), "{name}: {out}");
        assert!(started.elapsed() < Duration::from_secs(20), "{name} took {:?}", started.elapsed());
    }
    // A file over the size limit is refused before it is read.
    let big = dir.path().join("big.csv");
    std::fs::write(&big, vec![b'a'; (16 << 20) + 1]).unwrap();
    let (ok, out) = assetkitd(&db, &["import", big.to_str().unwrap()]);
    assert!(!ok && out.contains("the file size exceeds the limit of 16777216 bytes"), "{out}");
    // Too many columns in a csv.
    let wide = dir.path().join("wide.csv");
    std::fs::write(&wide, format!("SN{}\n", ",x".repeat(200))).unwrap();
    let (ok, out) = assetkitd(&db, &["import", wide.to_str().unwrap()]);
    assert!(!ok && out.contains("the column count on line 1 exceeds the limit of 100"), "{out}");
    // Nothing was written; a normal file still imports.
    let (_, list) = assetkitd(&db, &["assets", "list", "--json"]);
    assert!(list.contains("\"total\": 0"), "{list}");
    let fine = dir.path().join("fine.xlsx");
    std::fs::write(&fine, xlsx(&sheet_with(&[("A1", "SN"), ("B1", "IDC"), ("A2", "OK-1"), ("B2", "dc1")]), None))
        .unwrap();
    let (ok, out) = assetkitd(&db, &["import", fine.to_str().unwrap()]);
    assert!(ok && out.contains("imported 1 assets"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_bombs_and_floods_are_refused_by_the_console() {
    let s = TestServer::start(Policy::Auto).await;
    s.db.with(|db| assetkitd::domain::users::create_user(db, "alice", "correct horse battery", "test", 0).unwrap());
    let console = Console::login(&s.base, "alice", "correct horse battery").await;
    let before = s.dump();
    for (name, bytes, limit) in bombs() {
        let (status, page) = console.upload(name, bytes).await;
        assert_eq!(status, 422, "{name}: {page}");
        assert!(page.contains(limit), "{name}: {page}");
    }
    // An upload whose CSRF token is wrong is refused before the file is read.
    let forged = Console { csrf: "0".repeat(32), ..console };
    let (status, _) = forged.upload("x.csv", b"SN\nX-1\n".to_vec()).await;
    assert_eq!(status, 403);
    let console = Console { csrf: crate::support::csrf_of(&s.base, &forged.cookie).await, ..forged };
    // Previews are bounded per user: the oldest go, the metric stays small.
    for i in 0..10 {
        let (status, page) = console.upload("ok.csv", format!("SN\nOK-{i}\n").into_bytes()).await;
        assert_eq!(status, 200, "{page}");
    }
    let metrics = s.client.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("assetkit_import_previews 4\n"), "{metrics}");
    assert_eq!(before, s.dump(), "an upload wrote to the database");
    still_serving(&s, "after-import").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_panics_the_writer_fails_alone() {
    let s = TestServer::start_with(|c| {
        c.failpoint = Some(Failpoint { panic_on_hostname_prefix: true, ..Failpoint::default() })
    })
    .await;
    let before = s.dump();
    let (status, body) = s.report(&physical("panic-1", "SN-P1")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(before, s.dump(), "the panicked batch left writes behind");
    // The next batch runs after the writer counted the fault.
    still_serving(&s, "after-panic").await;
    let metrics = s.client.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("assetkit_writer_faults 1\n"), "{metrics}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_writer_stops_the_server_with_an_error() {
    let db = TestDb::new();
    let (base, server) =
        crate::support::serve_failing(&db, Failpoint { kill_writer_thread: true, ..Failpoint::default() });
    // The first batch (this health probe) kills the writer: the probe fails, then the server stops.
    let health = crate::support::client().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let result = tokio::time::timeout(Duration::from_secs(30), server).await.expect("the server stopped").unwrap();
    let err = result.expect_err("serve returns an error").to_string();
    assert!(err.contains("writer"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_to_a_full_disk_never_stops_the_service() {
    let db = TestDb::new();
    let key = db.create_key("t", "agent");
    let full = std::fs::File::options().write(true).open("/dev/full").unwrap();
    // Debug logging: a line for nearly everything the server does.
    let crate::support::Spawned { mut child, base } =
        crate::support::spawn_binary(&db, &[], "debug", full.into()).await;
    let client = crate::support::client();
    for i in 0..20 {
        let body = serde_json::to_vec(&physical(&format!("full{i}"), &format!("FULL-{i}"))).unwrap();
        let h = assetkit_sign::sign(&key.0, &key.1, "POST", "/api/v1/reports", &body);
        let mut req = client.post(format!("{base}/api/v1/reports")).body(body);
        for (n, v) in h.pairs() {
            req = req.header(n, v);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 200);
        // Rejections log too.
        let resp = client.post(format!("{base}/api/v1/reports")).body("x").send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
    }
    let health: serde_json::Value = client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["writer"], "ok");
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let dropped: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("assetkit_log_lines_dropped "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(dropped > 0, "{metrics}");
    assert!(child.try_wait().unwrap().is_none(), "assetkitd exited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_with_fifty_thousand_modules_is_refused_at_once() {
    let s = TestServer::start_with(|c| c.max_body = 64 << 20).await;
    let mut huge = physical("huge", "SN-HUGE");
    let module = huge.facts.memory.as_ref().unwrap().modules.as_ref().unwrap()[0].clone();
    let modules: Vec<_> = (0..50_000)
        .map(|i| {
            let mut m = module.clone();
            m.slot = Some(format!("DIMM{i}"));
            m
        })
        .collect();
    huge.facts.memory.as_mut().unwrap().modules = Some(modules);
    let huge_body = serde_json::to_vec(&huge).unwrap();
    let started = Instant::now();
    let (big, normal) = tokio::join!(s.send_as(&s.agent, "POST", "/api/v1/reports", &huge_body), async {
        let t = Instant::now();
        (s.report(&physical("normal", "SN-NORMAL")).await, t.elapsed())
    });
    assert_eq!(big.0, 422, "{}", big.1);
    assert_eq!(big.1["error"]["code"], "too_many_components");
    let message = big.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("facts.memory.modules") && message.contains("1024"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(5), "refusing took {:?}", started.elapsed());
    assert_eq!(normal.0.0, 200);
    assert!(normal.1 < Duration::from_secs(2), "the normal report waited {:?}", normal.1);

    // At the limits (1024 modules, 4096 disks), every one replaced: applied in well under a second.
    let mut full = physical("full", "SN-FULL");
    full.facts.memory.as_mut().unwrap().modules = Some(
        (0..assetkitd::domain::limits::MAX_MEMORY_MODULES)
            .map(|i| {
                let mut m = module.clone();
                m.slot = Some(format!("DIMM{i}"));
                m.serial_number = Some(format!("M{i}"));
                m
            })
            .collect(),
    );
    let disk = full.facts.disks.as_ref().unwrap()[0].clone();
    full.facts.disks = Some(
        (0..assetkitd::domain::limits::MAX_DISKS)
            .map(|i| {
                let mut d = disk.clone();
                d.slot = Some(format!("0:{i}"));
                d.serial_number = Some(format!("D{i}"));
                d
            })
            .collect(),
    );
    s.report_ok(&full).await;
    let mut replaced = crate::support::again(&full);
    for m in replaced.facts.memory.as_mut().unwrap().modules.as_mut().unwrap() {
        m.serial_number = Some(format!("{}-new", m.serial_number.as_deref().unwrap()));
    }
    for d in replaced.facts.disks.as_mut().unwrap() {
        d.serial_number = Some(format!("{}-new", d.serial_number.as_deref().unwrap()));
    }
    let started = Instant::now();
    let answer = s.report_ok(&replaced).await;
    assert_eq!(answer["changes"], 1024 + 4096);
    assert!(started.elapsed() < Duration::from_secs(3), "the diff took {:?}", started.elapsed());
    still_serving(&s, "after-huge").await;
    s.stop().await;
}

async fn spawn_with(
    args: &[&str],
) -> (tokio::process::Child, String, (String, assetkit_sign::Secret), tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let key = { assetkitd::cmd::keys::create_key(&db.clone().into(), None, "t", "agent").unwrap() };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_assetkitd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--print-addr", "--db"])
        .arg(&db)
        .args(args)
        .env("ASSETKIT_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut out, &mut line).await.unwrap();
    let addr = line.trim().strip_prefix("listening on ").expect("the address").to_owned();
    (child, addr, key, dir)
}

/// Posts a report on a fresh connection; the status.
async fn report_to(addr: &str, key: &(String, assetkit_sign::Secret), host: &str) -> u16 {
    let body = serde_json::to_vec(&physical(host, &format!("SN-{host}"))).unwrap();
    let h = assetkit_sign::sign(&key.0, &key.1, "POST", "/api/v1/reports", &body);
    let mut req = crate::support::client().post(format!("http://{addr}/api/v1/reports")).body(body);
    for (n, v) in h.pairs() {
        req = req.header(n, v);
    }
    req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_and_slow_clients_are_bounded_in_number_and_time() {
    let (_child, addr, key, _dir) =
        spawn_with(&["--max-connections", "20", "--header-timeout", "2s", "--body-timeout", "1s"]).await;
    // 20 idle connections (all the normal slots) and 10 that stall halfway through their headers.
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    for _ in 0..10 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        idle.push(s);
    }
    // The headroom still serves health checks and reports at once.
    let health = tokio::time::timeout(
        Duration::from_secs(5),
        crate::support::client().get(format!("http://{addr}/healthz")).send(),
    )
    .await
    .expect("healthz answered while every normal slot was held")
    .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    // The server closes the idle and stalled connections after the header timeout.
    let started = Instant::now();
    for mut s in idle {
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
        assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "a stalled connection was kept open: {n:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(6), "closing took {:?}", started.elapsed());
    assert_eq!(report_to(&addr, &key, "after-idle").await, 200);

    // A signed request whose body stalls: 408 after the body timeout.
    let body = serde_json::to_vec(&physical("stall", "SN-STALL")).unwrap();
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
        body.len(),
        signed_head(&key, "POST", "/api/v1/reports", &body)
    );
    let (status, text) = raw_http(&addr, &head, body[..10].to_vec(), Duration::from_secs(10)).await.unwrap();
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("body_timeout"), "{text}");

    // A large body without a valid signature is refused before it is sent.
    let head = "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
    let (status, text) = raw_http(&addr, head, Vec::new(), Duration::from_secs(5)).await.expect("an answer");
    assert_eq!(status, 401, "{text}");
    // ... and with a valid key but a declared length over the limit: 413, still unread.
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n{}\r\n",
        (2 << 20) + 1,
        signed_head(&key, "POST", "/api/v1/reports", b"")
    );
    let (status, text) = raw_http(&addr, &head, Vec::new(), Duration::from_secs(5)).await.expect("an answer");
    assert_eq!(status, 413, "{text}");

    // A malformed chunked body: 400, not 413.
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{}\r\n",
        signed_head(&key, "POST", "/api/v1/reports", b"{}")
    );
    let (status, text) =
        raw_http(&addr, &head, b"zz\r\n{}\r\n0\r\n\r\n".to_vec(), Duration::from_secs(5)).await.expect("an answer");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("malformed_body"), "{text}");
    assert_eq!(report_to(&addr, &key, "after-all").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_key_ids_are_neither_cached_nor_echoed() {
    let s = TestServer::start(Policy::Auto).await;
    let body = serde_json::to_vec(&physical("k1", "SN-K1")).unwrap();
    for i in 0..500 {
        let ghost = (format!("ak_{i:061}"), assetkit_sign::Secret::new("aks_ghost"));
        let (status, answer) = s.send_as(&ghost, "POST", "/api/v1/reports", &body).await;
        assert_eq!(status, 401);
        assert!(!answer.to_string().contains(&ghost.0), "the key id was echoed: {answer}");
    }
    // A key id of 10 KB is refused on its shape.
    let long = ("k".repeat(10_000), assetkit_sign::Secret::new("aks_ghost"));
    let (status, answer) = s.send_as(&long, "POST", "/api/v1/reports", &body).await;
    assert_eq!(status, 401);
    assert!(answer.to_string().len() < 500, "{answer}");
    s.report_ok(&physical("k2", "SN-K2")).await;
    let metrics = s.client.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("assetkit_key_cache_entries 1\n"), "only the real key is cached: {metrics}");
    still_serving(&s, "after-keys").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_forms_are_not_read_before_the_session() {
    let s = TestServer::start(Policy::Auto).await;
    let addr = addr_of(&s.base);
    // No session: the 32 MiB the old server buffered first are never read; the answer is the
    // redirect to the login page.
    let head = "POST /settings/keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 33554432\r\n\r\n";
    let (status, text) = raw_http(&addr, head, Vec::new(), Duration::from_secs(5)).await.expect("an answer");
    assert_eq!(status, 303, "{text}");
    // A login form over the form limit is refused, and a 100 KB user name never reaches a table.
    let form = format!("csrf=x&username={}&password=y", "a".repeat(100 << 10));
    let resp = s
        .client
        .post(format!("{}/login", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    still_serving(&s, "after-forms").await;
    s.stop().await;
}
