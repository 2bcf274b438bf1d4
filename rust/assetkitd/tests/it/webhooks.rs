//! Webhooks against a real local HTTP endpoint: the outbox written with the event, signed
//! POSTs, retries while the endpoint is down, a SIGKILL mid-delivery, dead letters redelivered
//! from the console, the offline sweep, and the three body formats.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use assetkit_core::model::Report;
use assetkit_sign::Secret;
use assetkitd::domain::users::{self, Role};
use assetkitd::domain::webhooks;
use assetkitd::http::state::WebhookSettings;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value as Json;

use crate::support::{Console, TestDb, TestServer, again, cli, client, physical, spawn_binary};

const SECRET: &str = "whsec-0123456789abcdef-test";

/// How an endpoint answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Ok,
    Fail(u16),
    /// Receives the request and never answers.
    Hold,
}

/// One POST the endpoint received.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Received {
    pub(crate) fn json(&self) -> Json {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    /// The signature checks with the secret, over the timestamp and the body.
    fn verified(&self) -> bool {
        let ts: i64 = self.header("x-assetkit-timestamp").parse().unwrap_or(0);
        assetkit_sign::verify_webhook(&Secret::new(SECRET), ts, &self.body, self.header("x-assetkit-signature")).is_ok()
    }
}

/// A local HTTP endpoint recording every request.
pub(crate) struct Endpoint {
    pub(crate) base: String,
    mode: Arc<Mutex<Mode>>,
    seen: tokio::sync::watch::Sender<Vec<Received>>,
    task: tokio::task::JoinHandle<()>,
}

impl Endpoint {
    pub(crate) async fn start() -> Endpoint {
        Self::on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    fn on(listener: tokio::net::TcpListener) -> Endpoint {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(Mutex::new(Mode::Ok));
        let seen = tokio::sync::watch::Sender::new(Vec::new());
        let app = {
            let (mode, seen) = (mode.clone(), seen.clone());
            axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let (mode, seen) = (mode.clone(), seen.clone());
                async move {
                    seen.send_modify(|v| {
                        v.push(Received { path: uri.path().to_owned(), headers, body: body.to_vec() })
                    });
                    let now = *mode.lock().unwrap();
                    match now {
                        Mode::Ok => StatusCode::NO_CONTENT,
                        Mode::Fail(code) => StatusCode::from_u16(code).unwrap(),
                        Mode::Hold => std::future::pending().await,
                    }
                }
            })
        };
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Endpoint { base, mode, seen, task }
    }

    pub(crate) fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Waits until `n` requests arrived; all of them.
    pub(crate) async fn until(&self, n: usize) -> Vec<Received> {
        let mut rx = self.seen.subscribe();
        let got = tokio::time::timeout(Duration::from_secs(60), rx.wait_for(|v| v.len() >= n)).await;
        let all = self.seen.borrow().clone();
        assert!(got.is_ok(), "waited for {n} deliveries, got {}: {all:?}", all.len());
        all
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.seen.borrow().clone()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `check` (a database read) until it holds, for at most a minute.
pub(crate) async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn fast() -> WebhookSettings {
    WebhookSettings {
        timeout: Duration::from_secs(5),
        retry_base: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        give_up_after: Duration::from_secs(86_400),
        poll: Duration::from_millis(25),
        sweep_every: Duration::from_secs(3600),
        worker: true,
    }
}

/// `settings`, and deliveries allowed to reach the loopback endpoints these tests run.
pub(crate) fn local(c: &mut assetkitd::ServerConfig, settings: WebhookSettings) {
    c.webhooks = settings;
    c.webhook_destinations = webhooks::destinations::Destinations::parse("127.0.0.0/8").unwrap();
}

pub(crate) fn secret_file() -> (tempfile::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hook.secret");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let shown = path.to_str().unwrap().to_owned();
    (dir, shown)
}

/// `assetkitd webhooks add` through the real CLI; the endpoint id.
pub(crate) fn add_webhook(db: &TestDb, url: &str, extra: &[&str]) -> i64 {
    let (_dir, secret) = secret_file();
    let mut args = vec![
        "webhooks",
        "add",
        "--url",
        url,
        "--secret-file",
        &secret,
        "--json",
        "--webhook-allow-network",
        "127.0.0.1",
    ];
    args.extend_from_slice(extra);
    let (ok, out, err) = cli(db, &args);
    assert!(ok, "webhooks add failed: {out}{err}");
    serde_json::from_str::<Json>(&out).unwrap()["id"].as_i64().unwrap()
}

pub(crate) fn outbox_states(db: &TestDb) -> Vec<String> {
    db.column("SELECT state FROM outbox ORDER BY id", &[])
}

fn replaced_disk(r: &Report) -> Report {
    let mut r2 = again(r);
    r2.facts.disks.as_mut().unwrap()[2].serial_number = Some("Z1X2NEW9".into());
    r2.facts.disks.as_mut().unwrap()[2].model = Some("ST4000NM0035".into());
    r2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_replacement_is_exactly_one_signed_post_with_the_event() {
    let hook = Endpoint::start().await;
    let s = TestServer::start_with(|c| local(c, fast())).await;
    let id = add_webhook(&s.db, &format!("{}/hooks/assetkit", hook.base), &["--events", "disk.*"]);
    let r = physical("db01", "SN-DB01");
    let asset = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    s.report_ok(&replaced_disk(&r)).await;
    // Two field changes (serial and model) are recorded; one replacement is one event.
    let fields: Vec<String> = s.db.column("SELECT field FROM changes WHERE component = 'disk' ORDER BY field", &[]);
    assert_eq!(fields, ["model", "serial_number"]);
    until("the delivery to be recorded", || outbox_states(&s.db) == ["delivered"]).await;
    let got = hook.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let post = &got[0];
    assert_eq!(post.path, "/hooks/assetkit");
    assert!(post.verified(), "the signature does not check: {:?}", post.headers);
    assert_eq!(post.header("content-type"), "application/json");
    let event = post.json();
    assert_eq!(event["type"], "disk.replaced");
    assert_eq!(post.header("x-assetkit-event-id"), event["id"].as_str().unwrap());
    assert_eq!(event["asset"]["id"], asset);
    assert_eq!(event["asset"]["hostname"], "db01");
    assert_eq!(event["key"], "32:3");
    assert!(event["summary"].as_str().unwrap().starts_with("disk in slot 32:3 replaced: serial_number"), "{event}");
    let changed: Vec<&str> =
        event["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(changed, ["model", "serial_number"]);
    // A tampered body or another secret does not verify.
    let mut forged = post.clone();
    forged.body = post.body.iter().map(|b| if *b == b'3' { b'4' } else { *b }).collect();
    assert!(!forged.verified());
    // The CLI lists the endpoint without its path (scheme, host and port: a path can be a
    // credential).
    let (ok, out, _) = cli(&s.db, &["webhooks", "list"]);
    assert!(ok && out.contains(&format!("{}/…", hook.base)) && !out.contains("/hooks"), "{out}");
    let (ok, out, _) = cli(&s.db, &["webhooks", "remove", &id.to_string()]);
    assert!(ok, "{out}");
    assert!(s.db.scalar::<i64>("SELECT COUNT(*) FROM webhooks", &[]) == 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_endpoint_down_delivery_retries_and_arrives_once_it_is_up() {
    // A port nobody listens on yet: connections are refused.
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let s = TestServer::start_with(|c| local(c, fast())).await;
    add_webhook(&s.db, &format!("http://{addr}/down"), &[]);
    let asset = s.report_ok(&physical("web01", "SN-WEB01")).await["asset_id"].as_i64().unwrap();
    until("three failed attempts", || {
        s.db.scalar::<i64>("SELECT attempts FROM outbox WHERE state = 'pending'", &[]) >= 3
    })
    .await;
    let error: String = s.db.scalar("SELECT last_error FROM outbox", &[]);
    assert!(error.contains("connect") || error.contains("refused"), "{error}");
    assert!(!error.contains("/down"), "the error shows the URL's path: {error}");
    let hook = Endpoint::on(tokio::net::TcpListener::bind(addr).await.unwrap());
    let got = hook.until(1).await;
    assert!(got[0].verified());
    assert_eq!(got[0].json()["type"], "asset.discovered");
    assert_eq!(got[0].json()["asset"]["id"], asset);
    until("the delivery to be recorded", || outbox_states(&s.db) == ["delivered"]).await;
    let metrics = s.client.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("assetkit_webhook_deliveries_total{outcome=\"delivered\"} 1"), "{metrics}");
    let failed = metrics
        .lines()
        .find_map(|l| l.strip_prefix("assetkit_webhook_deliveries_total{outcome=\"failed\"} "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(failed.is_some_and(|n| n >= 3), "{metrics}");
    for gauge in
        ["assetkit_webhook_queue_depth", "assetkit_webhook_oldest_undelivered_seconds", "assetkit_webhook_dead"]
    {
        assert!(metrics.contains(&format!("# TYPE {gauge} gauge")), "{gauge} missing: {metrics}");
    }
    assert_eq!(hook.received().len(), 1);
    s.stop().await;
}

/// Posts a report to a spawned server, signed with `key`.
async fn post_report(base: &str, key: &(String, Secret), report: &Report) -> u16 {
    let body = serde_json::to_vec(report).unwrap();
    let headers = assetkit_sign::sign(&key.0, &key.1, "POST", "/api/v1/reports", &body);
    let mut req = client().post(format!("{base}/api/v1/reports")).body(body);
    for (name, value) in headers.pairs() {
        req = req.header(name, value);
    }
    req.header("content-type", "application/json").send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_the_event_and_its_delivery_still_delivers_once_per_event_id() {
    let hook = Endpoint::start().await;
    hook.set(Mode::Hold);
    let db = TestDb::new();
    let key = db.create_key("agents", "agent");
    add_webhook(&db, &format!("{}/dedupe", hook.base), &[]);
    let flags = [
        "--webhook-poll",
        "20ms",
        "--webhook-timeout",
        "2s",
        "--webhook-retry-base",
        "50ms",
        "--webhook-allow-network",
        "127.0.0.1",
    ];
    let mut server = spawn_binary(&db, &flags, "warn", std::process::Stdio::inherit()).await;
    assert_eq!(post_report(&server.base, &key, &physical("kill01", "SN-KILL01")).await, 200);
    // Acknowledged: the event and its outbox row are committed together.
    let (changes, queued): (i64, i64) = (
        db.scalar("SELECT COUNT(*) FROM changes", &[]),
        db.scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'", &[]),
    );
    assert_eq!((changes, queued), (1, 1));
    // The endpoint has the request; the receiver dies before it learns the answer.
    let first = hook.until(1).await;
    server.child.kill().await.unwrap();
    hook.set(Mode::Ok);
    let server = spawn_binary(&db, &flags, "warn", std::process::Stdio::inherit()).await;
    let all = hook.until(2).await;
    until("the delivery to be recorded", || outbox_states(&db) == ["delivered"]).await;
    let event_id = first[0].header("x-assetkit-event-id").to_owned();
    assert!(!event_id.is_empty());
    // At least once, never lost: the same event again, with the same id and body; a receiver
    // de-duplicating by that id acts on it exactly once.
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1].header("x-assetkit-event-id"), event_id);
    assert_eq!(all[1].body, all[0].body);
    assert!(all.iter().all(Received::verified));
    let acted: std::collections::BTreeSet<&str> = all.iter().map(|r| r.header("x-assetkit-event-id")).collect();
    assert_eq!(acted.len(), 1);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_delivery_is_listed_in_the_console_and_redelivered_from_it() {
    let hook = Endpoint::start().await;
    hook.set(Mode::Fail(500));
    let s = TestServer::start_with(|c| {
        local(c, WebhookSettings { give_up_after: Duration::ZERO, ..fast() });
    })
    .await;
    add_webhook(&s.db, &format!("{}/dead", hook.base), &["--format", "slack"]);
    s.report_ok(&physical("dead01", "SN-DEAD01")).await;
    until("the delivery to die", || outbox_states(&s.db) == ["dead"]).await;
    let delivery: i64 = s.db.scalar("SELECT id FROM outbox", &[]);
    s.db.with(|db| users::create_user_as(db, "root", "correct horse battery", Role::Admin, "test", 0).unwrap());
    let console = Console::login(&s.base, "root", "correct horse battery").await;
    let settings = console.page("/settings").await;
    assert!(settings.contains("id=\"dead-list\""), "{settings}");
    assert!(settings.contains("the endpoint answered HTTP 500"), "{settings}");
    assert!(settings.contains("action=\"/settings/webhooks/redeliver\""));
    let (ok, out, _) = cli(&s.db, &["webhooks", "dead"]);
    assert!(ok && out.contains("asset.discovered"), "{out}");
    hook.set(Mode::Ok);
    let redeliver = console
        .client
        .post(format!("{}/settings/webhooks/redeliver", s.base))
        .header("cookie", &console.cookie)
        .form(&[("csrf", console.csrf.as_str()), ("id", &delivery.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(redeliver.status().as_u16(), 303);
    let got = hook.until(2).await;
    until("the redelivery to be recorded", || outbox_states(&s.db) == ["delivered"]).await;
    assert_eq!(got[1].header("x-assetkit-event-id"), got[0].header("x-assetkit-event-id"));
    let text = got[1].json()["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with("[assetkit] dead01: asset discovered: dead01"), "{text}");
    assert!(console.page("/settings").await.contains("id=\"no-dead\""));
    let audit: Vec<String> = s.db.column("SELECT actor || ' ' || action FROM admin_events ORDER BY id", &[]);
    assert!(audit.contains(&"console:root webhook.redeliver".to_owned()), "{audit:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_sweep_fires_once_per_silence_and_back_online_resolves_it() {
    let hook = Endpoint::start().await;
    let s = TestServer::start_with(|c| {
        c.offline_after = Duration::from_secs(1);
        local(c, WebhookSettings { sweep_every: Duration::from_millis(50), ..fast() });
    })
    .await;
    add_webhook(&s.db, &format!("{}/am", hook.base), &["--format", "alertmanager", "--events", "host.*"]);
    let r = physical("quiet01", "SN-QUIET01");
    let asset = s.report_ok(&r).await["asset_id"].as_i64().unwrap();
    let offline = hook.until(1).await;
    let alert = &offline[0].json()[0];
    assert_eq!(alert["labels"]["alertname"], "AssetkitHostOffline");
    assert_eq!(alert["labels"]["hostname"], "quiet01");
    let (starts, ends) = (alert["startsAt"].as_str().unwrap(), alert["endsAt"].as_str().unwrap());
    let lasts = humantime::parse_rfc3339(ends).unwrap().duration_since(humantime::parse_rfc3339(starts).unwrap());
    assert_eq!(lasts.unwrap().as_secs(), 30 * 86_400, "a silence lasts until the host reports: {alert}");
    // Once per silence: the asset is flagged, so a sweep now finds nothing more to say.
    let later = assetkitd::store::now() + 10 * 86_400;
    let again_now =
        s.db.with(|db| assetkitd::store::transaction(db, |db| webhooks::sweep_offline(db, later, later - 86_400)));
    assert_eq!(again_now.unwrap(), 0);
    s.report_ok(&again(&r)).await;
    let online = hook.until(2).await;
    let resolved = &online[1].json()[0];
    assert_eq!(resolved["labels"], alert["labels"], "the resolution names the same alert");
    assert!(resolved["endsAt"].is_string(), "{resolved}");
    // A second silence is a second alert.
    let third = hook.until(3).await;
    assert_eq!(third[2].json()[0]["labels"]["alertname"], "AssetkitHostOffline");
    let log: Vec<String> = s.db.column(
        "SELECT new FROM changes WHERE asset_id = ?1 AND field = 'online' ORDER BY id",
        assetkitd::args![asset],
    );
    assert_eq!(log[..3], ["offline", "online", "offline"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_format_and_filter_gets_the_body_it_documents() {
    let hook = Endpoint::start().await;
    let s = TestServer::start_with(|c| local(c, fast())).await;
    s.db.with(|db| {
        assetkitd::domain::inventory::add_name(db, assetkitd::domain::inventory::NameList::Idcs, "dc9", "t", 0).unwrap()
    });
    add_webhook(&s.db, &format!("{}/json", hook.base), &["--events", "asset.discovered,memory_module.removed"]);
    add_webhook(&s.db, &format!("{}/slack", hook.base), &["--format", "slack", "--events", "memory_module.*"]);
    add_webhook(&s.db, &format!("{}/am", hook.base), &["--format", "alertmanager", "--events", "memory_module.*"]);
    // Filters that select nothing here: another IDC, another status.
    add_webhook(&s.db, &format!("{}/other-idc", hook.base), &["--idc", "dc9"]);
    add_webhook(&s.db, &format!("{}/retired", hook.base), &["--status", "retired"]);
    let (ok, _, err) = cli(&s.db, &["webhooks", "add", "--url", "ftp://x/", "--secret-file", "/nonexistent"]);
    assert!(!ok && err.contains("/nonexistent"), "{err}");
    let r = physical("mem01", "SN-MEM01");
    s.report_ok(&r).await;
    let mut r2 = again(&r);
    let removed = r2.facts.memory.as_mut().unwrap().modules.as_mut().unwrap().pop().unwrap();
    s.report_ok(&r2).await;
    let got = hook.until(4).await;
    until("every delivery to be recorded", || outbox_states(&s.db).iter().all(|st| st == "delivered")).await;
    let mut by_path: Vec<(String, Json)> = hook.received().iter().map(|r| (r.path.clone(), r.json())).collect();
    by_path.sort_by(|a, b| a.0.cmp(&b.0));
    let paths: Vec<&str> = by_path.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/am", "/json", "/json", "/slack"], "{got:?}");
    let json: Vec<&Json> = by_path.iter().filter(|(p, _)| p == "/json").map(|(_, j)| j).collect();
    assert_eq!(json[0]["type"], "asset.discovered", "in order per asset");
    assert_eq!(json[1]["type"], "memory_module.removed");
    let slot = removed.slot.unwrap();
    let slack = &by_path[3].1;
    assert_eq!(slack.as_object().unwrap().keys().collect::<Vec<_>>(), ["text"]);
    let text = slack["text"].as_str().unwrap();
    assert!(text.starts_with("[assetkit] mem01: memory module ") && text.contains(&slot), "{text}");
    assert!(text.ends_with("(memory_module.removed)"), "{text}");
    let am = &by_path[0].1.as_array().unwrap()[0];
    assert_eq!(am["labels"]["alertname"], "AssetkitChange");
    assert_eq!(am["labels"]["event"], "memory_module.removed");
    assert_eq!(am["labels"]["severity"], "info");
    assert!(am["annotations"]["summary"].as_str().unwrap().contains(&slot));
    assert!(am["startsAt"].is_string() && am["endsAt"].is_string());
    s.stop().await;
}

#[test]
fn webhook_urls_and_secrets_are_sealed_and_survive_a_master_key_rotation() {
    let db = TestDb::new();
    add_webhook(&db, "https://203.0.113.7/services/T0/B0/SECRETPATH", &["--format", "slack"]);
    let sealed: String = db.scalar("SELECT url FROM webhooks", &[]);
    assert!(!sealed.contains("SECRETPATH"), "the URL is stored in the clear");
    let (ok, out, err) = cli(&db, &["keys", "rotate-master"]);
    assert!(ok, "{out}{err}");
    let ring = assetkitd::store::secrets::Keyring::open(&db.key_file).unwrap();
    let target = db.with(|conn| webhooks::target(conn, &ring, 1).unwrap().unwrap());
    assert_eq!(target.url, "https://203.0.113.7/services/T0/B0/SECRETPATH");
    assert_eq!(target.secret.expose(), SECRET);
    assert_eq!(target.format, webhooks::Format::Slack);
}

#[test]
fn a_webhook_with_an_unknown_filter_is_refused_with_the_reason() {
    let db = TestDb::new();
    let (_dir, secret) = secret_file();
    for (args, expected) in [
        (vec!["--events", "disk.exploded"], "unknown event"),
        (vec!["--idc", "nowhere"], "no idc named"),
        (vec!["--status", "offline"], "status filter must be one of"),
    ] {
        let mut all = vec!["webhooks", "add", "--url", "http://203.0.113.9:9/x", "--secret-file", &secret];
        all.extend(args);
        let (ok, _, err) = cli(&db, &all);
        assert!(!ok && err.contains(expected), "{err}");
    }
    assert_eq!(db.scalar::<i64>("SELECT COUNT(*) FROM webhooks", &[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assets_events_wait_behind_a_failing_one_and_arrive_in_order() {
    let hook = Endpoint::start().await;
    hook.set(Mode::Fail(503));
    let s = TestServer::start_with(|c| local(c, fast())).await;
    add_webhook(&s.db, &format!("{}/order", hook.base), &[]);
    let r = physical("order01", "SN-ORDER01");
    s.report_ok(&r).await;
    let mut r2 = again(&r);
    r2.facts.memory.as_mut().unwrap().modules.as_mut().unwrap().pop();
    s.report_ok(&r2).await;
    let mut r3 = again(&r2);
    r3.facts.disks.as_mut().unwrap()[2].serial_number = Some("Z1X2NEW9".into());
    s.report_ok(&r3).await;
    // The three events are queued; the first is retried, the two behind it wait.
    until("three queued", || outbox_states(&s.db).len() == 3).await;
    let tried = hook.until(hook.received().len() + 3).await;
    let first_id = tried[0].header("x-assetkit-event-id").to_owned();
    assert!(tried.iter().all(|t| t.header("x-assetkit-event-id") == first_id), "a later event overtook the first");
    hook.set(Mode::Ok);
    until("every delivery", || outbox_states(&s.db).iter().all(|st| st == "delivered")).await;
    let mut order: Vec<String> = Vec::new();
    for got in hook.received() {
        let t = got.json()["type"].as_str().unwrap().to_owned();
        if order.last() != Some(&t) {
            order.push(t);
        }
    }
    assert_eq!(order, ["asset.discovered", "memory_module.removed", "disk.replaced"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_event_once() {
    let hook = Endpoint::start().await;
    let a = TestServer::start_with(|c| local(c, fast())).await;
    add_webhook(&a.db, &format!("{}/replicas", hook.base), &[]);
    let b = TestServer::start_on(a.db.share(), |c| local(c, fast())).await;
    for i in 0..40 {
        let server = if i % 2 == 0 { &a } else { &b };
        server.report_ok(&physical(&format!("rep{i:02}"), &format!("SN-REP{i:02}"))).await;
    }
    hook.until(40).await;
    until("every delivery", || {
        let states = outbox_states(&a.db);
        states.len() == 40 && states.iter().all(|st| st == "delivered")
    })
    .await;
    let got = hook.received();
    let ids: std::collections::BTreeSet<&str> = got.iter().map(|r| r.header("x-assetkit-event-id")).collect();
    assert_eq!((ids.len(), got.len()), (40, 40), "an event was delivered twice without a crash");
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sweeps_at_once_flag_each_silent_host_once() {
    let s = TestServer::start_with(|c| local(c, fast())).await;
    add_webhook(&s.db, "http://127.0.0.1:9/never", &["--events", "host.offline"]);
    for i in 0..20 {
        s.report_ok(&physical(&format!("sil{i:02}"), &format!("SN-SIL{i:02}"))).await;
    }
    let later = assetkitd::store::now() + 10 * 86_400;
    let barrier = std::sync::Barrier::new(2);
    let location = s.db.location.clone();
    let flagged: usize = std::thread::scope(|scope| {
        let sweeps: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut db = assetkitd::store::connect(&location).unwrap();
                    barrier.wait();
                    assetkitd::store::transaction(db.as_mut(), |db| webhooks::sweep_offline(db, later, later - 86_400))
                        .unwrap()
                })
            })
            .collect();
        sweeps.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert_eq!(flagged, 20);
    let events: i64 = s.db.scalar("SELECT COUNT(*) FROM changes WHERE field = 'online'", &[]);
    let queued: i64 = s.db.scalar("SELECT COUNT(*) FROM outbox WHERE event = 'host.offline'", &[]);
    assert_eq!((events, queued), (20, 20));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_queues_an_alert_wakes_the_worker_without_waiting_for_the_poll() {
    let hook = Endpoint::start().await;
    // Polled once at the start, then once an hour: only the report's wake-up can send it.
    let s = TestServer::start_with(|c| local(c, WebhookSettings { poll: Duration::from_secs(3600), ..fast() })).await;
    add_webhook(&s.db, &format!("{}/wake", hook.base), &[]);
    let asset = s.report_ok(&physical("wake01", "SN-WAKE01")).await["asset_id"].as_i64().unwrap();
    let got = hook.until(1).await;
    assert_eq!(got[0].json()["asset"]["id"], asset);
    s.stop().await;
}
