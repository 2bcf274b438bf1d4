//! What a newcomer hits in the first hour (issue 26): one style for naming the object a
//! subcommand acts on, and the rough edges around it.

use crate::support::{TestDb, cli};

fn password_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("password");
    std::fs::write(&path, "a long enough password\n").unwrap();
    path.display().to_string()
}

#[test]
fn every_subcommand_names_its_user_key_or_host_positionally_and_the_old_flags_still_work() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let pw = password_file(&dir);
    for (args, expect) in [
        (vec!["users", "create", "carol", "--password-file", &pw], "user carol created"),
        (vec!["users", "create", "--name", "dave", "--password-file", &pw], "user dave created"),
        (vec!["users", "passwd", "carol", "--password-file", &pw], "password of carol changed"),
        (vec!["users", "passwd", "--name", "dave", "--password-file", &pw], "password of dave changed"),
        (vec!["users", "set-role", "carol", "viewer"], "carol is now viewer"),
        (vec!["users", "disable", "carol"], "user carol disabled"),
        (vec!["users", "disable", "--name", "dave"], "user dave disabled"),
        (vec!["keys", "create", "agents", "--scope", "agent"], "key_id: ak_"),
        (vec!["keys", "create", "--name", "ops", "--scope", "admin"], "key_id: ak_"),
        (vec!["assets", "add", "web99"], "asset 1 created"),
        (vec!["assets", "add", "--hostname", "web98"], "asset 2 created"),
        (vec!["hosts", "enrol", "web97"], "asset 3 (web97) enrolled"),
        (vec!["hosts", "enrol", "--hostname", "web96"], "asset 4 (web96) enrolled"),
        (vec!["assets", "show", "web99"], "web99"),
    ] {
        let (ok, out, err) = cli(&db, &args);
        assert!(ok && out.contains(expect), "{args:?}: {out}{err}");
    }
    let names: Vec<String> = db.column("SELECT name FROM api_keys WHERE scope <> 'host' ORDER BY name", &[]);
    assert_eq!(names, ["agents", "ops"]);
    let disabled: i64 = db.scalar("SELECT count(*) FROM users WHERE disabled_at IS NOT NULL", &[]);
    assert_eq!(disabled, 2);

    // Both spellings at once, or none, is a usage error that names the positional form.
    let (ok, _, err) = cli(&db, &["users", "disable", "carol", "--name", "dave"]);
    assert!(!ok && err.contains("unexpected argument 'dave'"), "{err}");
    let (ok, _, err) = cli(&db, &["users", "passwd", "--password-file", &pw]);
    assert!(!ok && err.contains("required arguments were not provided") && err.contains("<NAME>"), "{err}");
    // The help teaches the positional form only.
    for (args, usage) in [
        (["users", "passwd", "--help"], "users passwd [OPTIONS] <NAME>"),
        (["keys", "create", "--help"], "keys create [OPTIONS] --scope <SCOPE> <NAME>"),
        (["assets", "add", "--help"], "assets add [OPTIONS] <HOSTNAME>"),
    ] {
        let (_, help, _) = crate::support::cli_raw(&args);
        assert!(help.contains(usage) && !help.contains("--name"), "{help}");
    }
}

fn secret_file_with(dir: &tempfile::TempDir, text: &str, mode: u32) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.path().join("hook.secret");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

fn add_hook(db: &TestDb, secret: &str, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec!["webhooks", "add", "--url", "http://203.0.113.9:9/hook", "--secret-file", secret];
    args.extend_from_slice(extra);
    cli(db, &args)
}

#[test]
fn a_webhook_secret_file_others_can_read_is_refused_and_the_secret_is_its_first_line_trimmed() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    // As `openssl rand -hex 32 > hook.secret` leaves it under a 022 umask.
    let secret = secret_file_with(&dir, "0123456789abcdef0123456789abcdef\n", 0o644);
    let (ok, out, err) = add_hook(&db, &secret, &[]);
    assert!(!ok && err.contains("mode 0644") && err.contains("chmod 600"), "{out}{err}");
    assert_eq!(db.scalar::<i64>("SELECT COUNT(*) FROM webhooks", &[]), 0);
    let secret = secret_file_with(&dir, "\n0123456789abcdef0123456789abcdef\n", 0o600);
    let (ok, _, err) = add_hook(&db, &secret, &[]);
    assert!(!ok && err.contains("first line, trimmed"), "{err}");
    let secret = secret_file_with(&dir, "  0123456789abcdef0123456789abcdef \t\nmade by openssl\n", 0o600);
    let (ok, out, err) = add_hook(&db, &secret, &["--json"]);
    assert!(ok, "{out}{err}");
    let ring = assetkitd::store::secrets::Keyring::open(&db.key_file).unwrap();
    let target = db.with(|conn| assetkitd::domain::webhooks::target(conn, &ring, 1).unwrap().unwrap());
    assert_eq!(target.secret.expose(), "0123456789abcdef0123456789abcdef");
}

#[test]
fn webhooks_add_confirms_every_filter_and_the_list_columns_line_up() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file_with(&dir, "0123456789abcdef0123456789abcdef\n", 0o600);
    let (ok, _, err) = cli(&db, &["assets", "add", "web1", "--business-unit", "web", "--idc", "dc1"]);
    assert!(ok, "{err}");
    let filters = ["--events", "disk.*,memory_module.*,host.offline", "--idc", "dc1", "--business-unit", "web"];
    let (ok, out, err) = add_hook(&db, &secret, &[&filters[..], &["--status", "online"]].concat());
    assert!(ok, "{err}");
    assert!(out.contains("disk.*,memory_module.*,host.offline bu=web idc=dc1 status=online"), "{out}");
    let (ok, _, err) = add_hook(&db, &secret, &[]);
    assert!(ok, "{err}");
    let (_, table, _) = cli(&db, &["webhooks", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].contains("WAITING") && !lines[0].contains("PENDING"), "{table}");
    // Numbers are right-aligned under right-aligned headers, so every line ends at one column.
    let widths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
    assert!(widths.iter().all(|w| *w == widths[0]), "{table}");
    assert_eq!(lines[1].find("http"), lines[2].find("http"), "{table}");

    let (_, table, _) = cli(&db, &["assets", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("ID  HOSTNAME") && lines[1].starts_with(" 1  web1"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_delivery_is_named_ids_are_never_reused_and_console_secrets_have_their_own_prefix() {
    let s = crate::support::TestServer::start_with(|c| {
        c.webhook_destinations = assetkitd::domain::webhooks::destinations::Destinations::parse("127.0.0.0/8").unwrap();
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file_with(&dir, "0123456789abcdef0123456789abcdef\n", 0o600);
    for _ in 0..2 {
        assert!(add_hook(&s.db, &secret, &[]).0);
    }
    let (ok, out, err) = cli(&s.db, &["webhooks", "remove", "2"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = add_hook(&s.db, &secret, &["--json"]);
    assert!(ok && out.contains(r#""id":3"#), "the removed webhook's id came back: {out}{err}");
    let (ok, _, err) = cli(&s.db, &["webhooks", "redeliver", "42"]);
    assert!(!ok && err.contains("no delivery 42"), "{err}");

    s.db.with(|db| {
        assetkitd::domain::users::create_user_as(db, "root", "a long enough password", Role::Admin, "test", 0).unwrap()
    });
    let console = crate::support::Console::login(&s.base, "root", "a long enough password").await;
    let (status, page) =
        console.post("/settings/webhooks", &[("url", "http://127.0.0.1:9/hook"), ("events", "host.offline")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("whs_") && !page.contains("aks_"), "the generated secret is not a webhook's");
    let (_, page) = console.post("/settings/webhooks/redeliver", &[("id", "42")]).await;
    assert!(page.contains("No delivery 42"), "{page}");
    s.stop().await;
}

use assetkitd::domain::users::Role;

fn run_in(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_assetkitd"))
        .args(args)
        .current_dir(dir)
        .env_remove("ASSETKIT_DB")
        .env_remove("ASSETKIT_SECRET_KEY_FILE")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_store_created_says_where_and_assetkit_db_picks_it_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let here = std::fs::canonicalize(dir.path()).unwrap();
    let (ok, _, err) = run_in(&here, &["keys", "create", "agents", "--scope", "agent"], &[]);
    let expected = format!("created store at {0}/assetkit.db (key file {0}/assetkit.db.key)", here.display());
    assert!(ok && err.contains(&expected), "{err}");
    let (ok, _, err) = run_in(&here, &["keys", "list"], &[]);
    assert!(ok && !err.contains("created store"), "said again for an existing store: {err}");

    let elsewhere = here.join("var");
    std::fs::create_dir(&elsewhere).unwrap();
    let db = elsewhere.join("assetkit.db").display().to_string();
    let pw = password_file(&dir);
    let (ok, _, err) = run_in(&here, &["users", "create", "alice", "--password-file", &pw], &[("ASSETKIT_DB", &db)]);
    assert!(ok && err.contains(&format!("created store at {db}")), "{err}");
    let (ok, out, _) = run_in(&here, &["users", "list"], &[("ASSETKIT_DB", &db)]);
    assert!(ok && out.contains("alice"), "{out}");
    // Every subcommand that takes --db says it reads ASSETKIT_DB.
    for sub in [
        &["serve"][..],
        &["keys", "list"],
        &["assets", "list"],
        &["import"],
        &["users", "passwd"],
        &["hosts", "enrol"],
        &["webhooks", "dead"],
    ] {
        let (_, help, _) = crate::support::cli_raw(&[sub, &["--help"]].concat());
        assert!(help.contains("[env: ASSETKIT_DB]"), "{sub:?}: {help}");
    }
}

#[test]
fn a_dry_run_in_which_every_row_fails_exits_non_zero_and_says_so() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    // A BOM, as the CSV export writes one, and rows that all lack a serial number.
    std::fs::write(&file, "\u{feff}SN,IDC\n,dc1\n,dc2\n").unwrap();
    let (ok, out, err) = cli(&db, &["import", file.to_str().unwrap(), "--dry-run"]);
    assert!(!ok && err.contains("every one of the 2 rows has errors: nothing would be imported"), "{out}{err}");
    let (ok, out, err) = cli(&db, &["import", file.to_str().unwrap(), "--dry-run", "--json"]);
    assert!(!ok && out.contains(r#""valid":0"#), "{out}{err}");
    std::fs::write(&file, "\u{feff}SN,IDC\nSN1,dc1\n,dc1\n").unwrap();
    let (ok, out, err) = cli(&db, &["import", file.to_str().unwrap(), "--dry-run"]);
    assert!(ok && out.contains("2 rows, 1 valid, 1 with errors"), "one valid row is a usable list: {out}{err}");
}

/// `assets list --status STATUS --json` through the real CLI: the hostnames.
fn cli_hostnames(db: &TestDb, status: &str) -> Vec<String> {
    let (ok, out, err) = cli(db, &["assets", "list", "--status", status, "--json"]);
    assert!(ok, "{err}");
    let page: serde_json::Value = serde_json::from_str(&out).unwrap();
    page["assets"].as_array().unwrap().iter().map(|a| a["hostname"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_is_one_line_for_the_cli_the_api_the_console_and_the_sweep() {
    use std::time::Duration;
    let s = crate::support::TestServer::start_with(|c| {
        c.offline_after = Duration::from_secs(600);
        c.webhooks.worker = false;
    })
    .await;
    // Entered by hand: not online before it ever reports, and never offline either.
    let (ok, _, err) = cli(&s.db, &["assets", "add", "web99"]);
    assert!(ok, "{err}");
    let (ok, _, err) = cli(
        &s.db,
        &["assets", "add", "web98", "--business-unit", "web", "--idc", "dc1", "--rack", "R1", "--open-enrolment"],
    );
    assert!(ok, "{err}");
    let quiet = s.report_ok(&crate::support::physical("quiet01", "SN-QUIET01")).await["asset_id"].as_i64().unwrap();
    let placed = s.report_ok(&crate::support::physical("web98", "SN-WEB98")).await["asset_id"].as_i64().unwrap();
    // quiet01 last reported 20 minutes ago: past the server's 10 minutes, not past the old 7 days.
    let then = assetkitd::store::now() - 1200;
    s.db.with(|db| {
        db.execute("UPDATE assets SET last_seen = ?2 WHERE id = ?1", assetkitd::args![quiet, then]).unwrap()
    });

    assert_eq!(cli_hostnames(&s.db, "offline"), ["quiet01"]);
    assert_eq!(cli_hostnames(&s.db, "discovered"), ["web99"]);
    assert_eq!(cli_hostnames(&s.db, "online"), ["web98"], "a host entered with its place is online once it reports");
    let api = s.admin_get("/api/v1/assets?status=offline").await;
    assert_eq!(api["assets"][0]["hostname"], "quiet01");
    assert_eq!(api["total"], 1);
    let (_, table, _) = cli(&s.db, &["assets", "list"]);
    let row = table.lines().find(|l| l.contains("quiet01")).unwrap().to_owned();
    assert!(row.contains("offline"), "{table}");
    s.db.with(|db| {
        assetkitd::domain::users::create_user_as(db, "root", "a long enough password", Role::Admin, "test", 0).unwrap()
    });
    let console = crate::support::Console::login(&s.base, "root", "a long enough password").await;
    let page = console.page("/assets?status=offline").await;
    assert!(page.contains("quiet01") && !page.contains("web99") && !page.contains("web98"), "{page}");

    // The sweep flags exactly what the lists call offline, and both events state one fact.
    let now = assetkitd::store::now();
    let flagged = s.db.with(|db| {
        assetkitd::store::transaction(db, |db| assetkitd::domain::webhooks::sweep_offline(db, now, now - 600))
    });
    assert_eq!(flagged.unwrap(), 1);
    s.report_ok(&crate::support::again(&crate::support::physical("quiet01", "SN-QUIET01"))).await;
    let fact = format!("last report at {}", assetkitd::store::rfc3339(then));
    let said: Vec<String> = s.db.column(
        "SELECT summary FROM changes WHERE asset_id = ?1 AND field = 'online' ORDER BY id",
        assetkitd::args![quiet],
    );
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].contains("gone offline") && said[0].contains(&fact), "{said:?}");
    assert!(said[1].contains("back online") && said[1].contains(&fact), "{said:?}");
    assert_eq!(s.db.scalar::<String>("SELECT status FROM assets WHERE id = ?1", assetkitd::args![placed]), "online");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_file_is_plain_text_and_a_rejection_says_who_and_the_whole_advice() {
    let db = TestDb::new();
    let key = db.create_key("t", "agent");
    let log = db.dir.path().join("assetkitd.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut server = crate::support::spawn_binary(&db, &[], "info", file.into()).await;
    // Signed an hour ago: the clock advice is longer than the 64 characters a client string gets.
    let body = b"{}";
    let mut head = assetkit_sign::sign(&key.0, &key.1, "POST", "/api/v1/reports", body).pairs().to_vec();
    head[1].1 = (assetkitd::store::now() - 3600).to_string();
    let mut req = crate::support::client().post(format!("{}/api/v1/reports", server.base)).body(&body[..]);
    for (n, v) in head {
        req = req.header(n, v);
    }
    assert_eq!(req.send().await.unwrap().status().as_u16(), 401);
    let pid = rustix::process::Pid::from_raw(server.child.id().unwrap() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(server.child.wait().await.unwrap().success());

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains('\u{1b}'), "colour escapes in a file: {text:?}");
    let line = text.lines().find(|l| l.contains("request rejected")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains(&format!("key_id={}", key.0)) && line.contains("client=127.0.0.1:"), "{line}");
    assert!(line.contains("check the host's clock (NTP)") && !line.contains('…'), "{line}");
}

/// The script that runs `assetkitd serve` in network and mount namespaces of its own, where the
/// only nameserver (127.0.0.1:53, a listener that never answers) holds every DNS lookup for 30 s.
const SILENT_DNS: &str = r#"
set -e
ip link set lo up
printf 'nameserver 127.0.0.1\noptions timeout:30 attempts:1\n' > "$DIR/resolv.conf"
mount --bind "$DIR/resolv.conf" /etc/resolv.conf
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
open(sys.argv[1], "w").write("ready")
while True:
    s.recvfrom(512)
    open(sys.argv[2], "a").write("query\n")
' "$DIR/dns.ready" "$DIR/dns.queries" &
echo $! > "$DIR/dns.pid"
while [ ! -s "$DIR/dns.ready" ]; do sleep 0.01; done
exec "$ASSETKITD" serve --listen 127.0.0.1:0 "$@"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_at_once_though_a_webhook_lookup_hangs_on_a_silent_nameserver() {
    use std::time::{Duration, Instant};
    // A host that went silent long ago, and a webhook for its host.offline event whose name
    // must be looked up. On SQLite whatever the run's engine: the server runs in a network
    // namespace of its own, where no PostgreSQL is reachable (and storage is not what is tested).
    let db = TestDb::on(assetkitd::store::Engine::Sqlite);
    let s = crate::support::TestServer::start_on(db, |_| {}).await;
    let asset = s.report_ok(&crate::support::physical("quiet02", "SN-QUIET02")).await["asset_id"].as_i64().unwrap();
    let db = s.stop_keeping_db().await;
    db.with(|conn| conn.execute("UPDATE assets SET last_seen = 1 WHERE id = ?1", assetkitd::args![asset]).unwrap());
    let ring = assetkitd::store::secrets::Keyring::open(&db.key_file).unwrap();
    let hook = assetkitd::domain::webhooks::NewEndpoint {
        url: "http://hooks.assetkit.test:9/offline".into(),
        secret: assetkit_sign::Secret::new("0123456789abcdef0123456789abcdef"),
        format: assetkitd::domain::webhooks::Format::Json,
        events: vec!["host.offline".into()],
        business_unit: None,
        idc: None,
        status: None,
    };
    db.with(|conn| assetkitd::domain::webhooks::add(conn, &ring, &hook, "test", 0).unwrap());

    let dir = db.dir.path();
    let mut args = vec!["--user", "--map-root-user", "--mount", "--net", "sh", "-c", SILENT_DNS, "serve"];
    let db_args = db.cli_args();
    args.extend(db_args.iter().map(String::as_str));
    args.extend(["--offline-after", "1s", "--offline-sweep-every", "50ms", "--webhook-allow-network", "0.0.0.0/0"]);
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let mut server = std::process::Command::new("unshare")
        .args(&args)
        .env("DIR", dir)
        .env("ASSETKITD", env!("CARGO_BIN_EXE_assetkitd"))
        .env("ASSETKIT_LOG", "info")
        .stderr(log)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The sweep flags the host, its delivery looks the name up, and the nameserver hears it.
    crate::webhooks::until("the webhook's DNS query", || {
        std::fs::read_to_string(dir.join("dns.queries")).is_ok_and(|q| !q.is_empty())
    })
    .await;
    let asked = Instant::now();
    let pid = rustix::process::Pid::from_raw(server.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = crate::support::blocking(|| server.wait().unwrap());
    let took = asked.elapsed();
    if let Some(dns) = std::fs::read_to_string(dir.join("dns.pid")).ok().and_then(|p| p.trim().parse().ok()) {
        let _ =
            rustix::process::kill_process(rustix::process::Pid::from_raw(dns).unwrap(), rustix::process::Signal::KILL);
    }
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap();
    assert!(status.success() && log.contains("stopped"), "{status}: {log}");
    // The lookup holds its thread for 30 s; the exit does not wait for it.
    assert!(took < Duration::from_secs(10), "exit took {took:?} after SIGTERM: {log}");
    let flagged: i64 = db.scalar("SELECT COUNT(*) FROM outbox WHERE event = 'host.offline'", &[]);
    assert_eq!(flagged, 1, "the sweep's write was lost");
}
