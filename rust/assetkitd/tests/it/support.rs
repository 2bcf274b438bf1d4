//! A real assetkitd on 127.0.0.1:0 and a signing client, on the engine the run asks for:
//! SQLite (a temp file, the default) or PostgreSQL (`ASSETKIT_TEST_DB=postgres`: a fresh
//! database per test on the throw-away cluster of `tests/pg/up`). One test body serves both.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use assetkit_core::model::{
    Address, Agent, Baseboard, Bios, Cpu, Disk, Facts, Host, Memory, MemoryModule, Mode, Nic, Os, Report, System,
};
use assetkit_sign::Secret;
use assetkitd::ServerConfig;
use assetkitd::domain::apply::Policy;
use assetkitd::store::{self, Db, DbExt, Engine, FromValue, Location, Value};
use serde_json::Value as Json;

/// The engine this run tests.
pub fn engine() -> Engine {
    match std::env::var("ASSETKIT_TEST_DB").as_deref() {
        Ok("postgres") => Engine::Postgres,
        Ok("sqlite") | Err(_) => Engine::Sqlite,
        Ok(other) => panic!("ASSETKIT_TEST_DB={other}: use sqlite or postgres"),
    }
}

/// Skips the rest of a test that is about one engine's own feature (a SQLite file cap, say)
/// when the run is on the other.
#[macro_export]
macro_rules! only_on {
    ($engine:expr, $why:expr) => {
        if $crate::support::engine() != $engine {
            eprintln!("skipped on {}: {}", $crate::support::engine(), $why);
            return;
        }
    };
}

/// The throw-away PostgreSQL cluster (started once by `tests/pg/up`, which is idempotent): the
/// URL of its `postgres` database.
pub fn pg_admin_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| pg_up(None).0).clone()
}

/// Starts (or finds) the cluster in `dir` (the shared one by default): its admin URL and its
/// directory, for `tests/pg/ctl`.
pub fn pg_up(dir: Option<&std::path::Path>) -> (String, PathBuf) {
    let up = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/pg/up");
    let out = std::process::Command::new(&up).args(dir).output().expect("running tests/pg/up");
    assert!(out.status.success(), "tests/pg/up failed: {}", String::from_utf8_lossy(&out.stderr));
    let env_file = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let env = std::fs::read_to_string(&env_file).unwrap();
    let url = env.lines().find_map(|l| l.strip_prefix("PG_URL=")).expect("PG_URL in the env file").to_owned();
    (url, env_file.parent().unwrap().to_path_buf())
}

/// `tests/pg/ctl COMMAND DIR`.
pub fn pg_ctl(command: &str, dir: &std::path::Path) {
    let ctl = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/pg/ctl");
    let out = std::process::Command::new(&ctl).arg(command).arg(dir).output().expect("running tests/pg/ctl");
    assert!(out.status.success(), "tests/pg/ctl {command}: {}", String::from_utf8_lossy(&out.stderr));
}

static DATABASES: AtomicU64 = AtomicU64::new(0);

/// Runs blocking database work on a thread of its own: the PostgreSQL driver runs its own event
/// loop, which cannot start inside the test's async runtime (the server does the same with
/// `spawn_blocking`).
pub fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
}

/// A fresh, empty database on the run's engine, with its own server key file; dropped after.
pub struct TestDb {
    pub location: Location,
    pub key_file: PathBuf,
    pub dir: tempfile::TempDir,
    /// The cluster's admin URL and the database's name, when this handle owns a PostgreSQL one.
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn new() -> TestDb {
        Self::on(engine())
    }

    pub fn on(engine: Engine) -> TestDb {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let key_file = dir.path().join("server.key");
                TestDb { location: dir.path().join("assetkit.db").into(), key_file, dir, pg: None }
            }
            Engine::Postgres => Self::on_cluster(&pg_admin_url()),
        }
    }

    /// A fresh database on the PostgreSQL cluster whose admin URL is `admin`.
    pub fn on_cluster(admin: &str) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("server.key");
        {
            {
                let name = format!("t_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
                let admin = admin.to_owned();
                blocking(|| {
                    // Not `store::connect`: that would migrate the cluster's admin database, which
                    // checkouts at other schema versions share.
                    let mut db = assetkitd::store::postgres::Target::parse(&admin).unwrap().connect().unwrap();
                    db.batch(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
                    db.batch(&format!("CREATE DATABASE {name}")).unwrap();
                });
                let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
                TestDb { location: Location::parse(&url).unwrap(), key_file, dir, pg: Some((admin, name)) }
            }
        }
    }

    pub fn engine(&self) -> Engine {
        self.location.engine()
    }

    /// Another handle on the same database (a second replica's view); the first one owns it.
    pub fn share(&self) -> TestDb {
        self.share_as(self.location.clone())
    }

    /// [`TestDb::share`] through another location (the same database over TLS, say).
    pub fn share_as(&self, location: Location) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        TestDb { location, key_file: self.key_file.clone(), dir, pg: None }
    }

    /// Runs `f` on a connection (migrating the database on first use), off the async runtime.
    pub fn with<T: Send>(&self, f: impl FnOnce(&mut dyn Db) -> T + Send) -> T {
        blocking(|| f(store::connect(&self.location).unwrap().as_mut()))
    }

    /// The first column of every row of `sql` (`?N` placeholders, either engine).
    pub fn column<T: FromValue + Send>(&self, sql: &str, params: &[Value]) -> Vec<T> {
        self.with(|db| db.column(sql, params).unwrap())
    }

    /// The first column of the first row.
    pub fn scalar<T: FromValue + Send>(&self, sql: &str, params: &[Value]) -> T {
        self.with(|db| db.scalar(sql, params).unwrap())
    }

    /// Every row of every table, as text: to show that nothing was written. (Not the status
    /// counts' deltas, which maintenance folds whenever it runs: derived, and tested apart.)
    pub fn dump(&self) -> String {
        self.with(|db| Self::dump_of(db, self.engine()))
    }

    fn dump_of(db: &mut dyn Db, engine: Engine) -> String {
        let tables: Vec<String> = match engine {
            Engine::Sqlite => db.column(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name NOT LIKE 'assets_fts%' AND name <> 'asset_counts' ORDER BY name",
                &[],
            ),
            Engine::Postgres => db.column(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
                 AND table_type = 'BASE TABLE' AND table_name <> 'asset_counts' ORDER BY 1",
                &[],
            ),
        }
        .unwrap();
        let mut out = String::new();
        for t in tables {
            let mut rows: Vec<String> = db
                .query(&format!("SELECT * FROM {t}"), &[])
                .unwrap()
                .into_iter()
                .map(|r| {
                    r.0.iter()
                        .map(|v| match v {
                            Value::Text(s) => s.clone(),
                            other => format!("{other:?}"),
                        })
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect();
            rows.sort();
            out.push_str(&format!("== {t}\n{}\n", rows.join("\n")));
        }
        out
    }

    /// The arguments that point the `assetkitd` binary at this database.
    pub fn cli_args(&self) -> Vec<String> {
        let db = match &self.location {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => url.clone(),
        };
        vec!["--db".into(), db, "--secret-key-file".into(), self.key_file.display().to_string()]
    }

    /// A key made as `assetkitd keys create` makes it.
    pub fn create_key(&self, name: &str, scope: &str) -> (String, Secret) {
        blocking(|| assetkitd::cmd::keys::create_key(&self.location, Some(&self.key_file), name, scope).unwrap())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            blocking(|| {
                if let Ok(mut db) = assetkitd::store::postgres::Target::parse(admin).unwrap().connect() {
                    let _ = db.batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            });
        }
    }
}

pub struct TestServer {
    pub base: String,
    pub db: TestDb,
    pub agent: (String, Secret),
    pub admin: (String, Secret),
    pub client: reqwest::Client,
    /// Host credentials the receiver issued, by the names of the host they belong to: `report`
    /// signs with them, as an agent would.
    pub credentials: std::sync::Mutex<std::collections::HashMap<String, (String, Secret)>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start(policy: Policy) -> Self {
        Self::start_with(|c| c.policy = policy).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::start_on(TestDb::new(), configure).await
    }

    /// A server on `db` (a second replica shares it).
    pub async fn start_on(db: TestDb, configure: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut config = ServerConfig::new(db.location.clone());
        config.secret_key_file = Some(db.key_file.clone());
        configure(&mut config);
        let (agent, admin) = (db.create_key("test agents", "agent"), db.create_key("test admin", "admin"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(assetkitd::serve(listener, config, async {
            let _ = rx.await;
        }));
        // Returned once it answers: its start-up writes (sealing secrets, the offline setting)
        // are then committed, and a test's first dump holds them. The listener is bound, so the
        // request waits in its backlog until the server accepts, or fails if it never will.
        let client = client();
        let _ = client.get(format!("{base}/healthz")).timeout(std::time::Duration::from_secs(60)).send().await;
        TestServer {
            base,
            db,
            agent,
            admin,
            client,
            credentials: Default::default(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server gracefully and waits for the writer to finish; the database stays.
    pub async fn stop_keeping_db(mut self) -> TestDb {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        let TestServer { db, .. } = self;
        db
    }

    /// Stops the server gracefully and waits for the writer to finish.
    pub async fn stop(self) {
        drop(self.stop_keeping_db().await);
    }

    /// A signed request with an explicit key.
    pub async fn send_as(&self, key: &(String, Secret), method: &str, path: &str, body: &[u8]) -> (u16, Json) {
        let headers = assetkit_sign::sign(&key.0, &key.1, method, path, body);
        self.send_with(method, path, body, &headers).await
    }

    /// A request with the given signature headers.
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        headers: &assetkit_sign::SignedHeaders,
    ) -> (u16, Json) {
        let mut req = self.client.request(method.parse().unwrap(), format!("{}{path}", self.base)).body(body.to_vec());
        for (name, value) in headers.pairs() {
            req = req.header(name, value);
        }
        if !body.is_empty() {
            req = req.header("content-type", "application/json");
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Json::String(text)))
    }

    /// Posts a report as the host's agent would: signed with the host's credential once the
    /// receiver issued one (looked up by the cert hostname, else the hostname), else with the
    /// fleet key; a credential in the answer is kept.
    pub async fn report(&self, report: &Report) -> (u16, Json) {
        let names: Vec<String> =
            [&report.host.cert_hostname, &report.host.hostname].into_iter().flatten().cloned().collect();
        let key = {
            let creds = self.credentials.lock().unwrap();
            names.iter().find_map(|n| creds.get(n).cloned()).unwrap_or_else(|| self.agent.clone())
        };
        let answer = self.report_as(&key, report).await;
        if let (Some(id), Some(secret)) = (answer.1["host_key_id"].as_str(), answer.1["host_secret"].as_str()) {
            let mut creds = self.credentials.lock().unwrap();
            let answered = answer.1["cert_hostname"].as_str().map(str::to_owned);
            for n in names.iter().cloned().chain(answered) {
                creds.insert(n, (id.to_owned(), Secret::new(secret)));
            }
        }
        answer
    }

    /// Posts a report signed with `key`.
    pub async fn report_as(&self, key: &(String, Secret), report: &Report) -> (u16, Json) {
        let body = serde_json::to_vec(report).unwrap();
        self.send_as(key, "POST", "/api/v1/reports", &body).await
    }

    /// The credential the receiver issued to the host called `name`.
    pub fn credential(&self, name: &str) -> (String, Secret) {
        self.credentials.lock().unwrap().get(name).cloned().unwrap_or_else(|| panic!("no credential for {name}"))
    }

    /// Posts and expects 200.
    pub async fn report_ok(&self, report: &Report) -> Json {
        let (status, body) = self.report(report).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn admin_get(&self, path: &str) -> Json {
        let (status, body) = self.send_as(&self.admin, "GET", path, b"").await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub async fn changes(&self, asset_id: i64) -> Vec<Json> {
        self.admin_get(&format!("/api/v1/assets/{asset_id}/changes")).await["changes"].as_array().unwrap().clone()
    }

    pub async fn assets(&self) -> Vec<Json> {
        self.admin_get("/api/v1/assets?per_page=500").await["assets"].as_array().unwrap().clone()
    }

    /// Every row of every table, as text: to show that nothing was written.
    pub fn dump(&self) -> String {
        self.db.dump()
    }
}

/// An HTTP client (rustls with the ring provider, as the agent uses).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

static SEQ: AtomicU64 = AtomicU64::new(1);

/// A physical Dell with two DIMMs, three RAID disks and one NIC.
pub fn physical(hostname: &str, serial: &str) -> Report {
    let module = |slot: &str, sn: &str| MemoryModule {
        slot: Some(slot.into()),
        bank: None,
        size_bytes: Some(32 << 30),
        r#type: Some("DDR4".into()),
        speed_mts: Some(2933),
        manufacturer: Some("Hynix".into()),
        serial_number: Some(sn.into()),
        part_number: Some("HMA84GR7CJR4N-WM".into()),
    };
    let disk = |slot: &str, sn: &str| Disk {
        slot: Some(slot.into()),
        model: Some("ST2000NM0023".into()),
        vendor: Some("SEAGATE".into()),
        serial_number: Some(sn.into()),
        size_bytes: Some(2_000_398_934_016),
        rotational: Some(true),
        interface: Some("sas".into()),
        source: "megacli".into(),
        ..Disk::default()
    };
    Report {
        schema_version: 1,
        report_id: uuid::Uuid::new_v4().to_string(),
        collected_at: "2026-11-26T12:00:00Z".into(),
        agent: Agent { name: "assetkit".into(), version: "test".into(), mode: Mode::Agent, enrol_key: None },
        host: Host { hostname: Some(hostname.into()), cert_hostname: None },
        facts: Facts {
            os: Some(Os {
                hostname: Some(hostname.into()),
                name: Some("Rocky Linux".into()),
                version: Some("9.3".into()),
                kernel: Some("5.14.0".into()),
                arch: Some("x86_64".into()),
                ..Os::default()
            }),
            system: Some(System {
                manufacturer: Some("Dell Inc.".into()),
                product_name: Some("PowerEdge R640".into()),
                serial_number: Some(serial.into()),
                uuid: Some(format!("4C4C4544-0000-0000-0000-{:012}", SEQ.fetch_add(1, Ordering::Relaxed))),
                ..System::default()
            }),
            baseboard: Some(Baseboard::default()),
            bios: Some(Bios { vendor: Some("Dell Inc.".into()), version: Some("2.6.4".into()), release_date: None }),
            cpu: Some(Cpu {
                model: Some("Intel(R) Xeon(R) Gold 6244 CPU @ 3.60GHz".into()),
                sockets: Some(2),
                physical_cores: Some(16),
                logical_cores: Some(32),
                mhz: Some(3600),
                vendor: None,
            }),
            memory: Some(Memory {
                total_bytes: Some(64 << 30),
                os_visible_bytes: Some(63 << 30),
                slots: Some(24),
                modules: Some(vec![module("A1", "M-0001"), module("A2", "M-0002")]),
            }),
            disks: Some(vec![disk("32:0", "Z1X2AAA1"), disk("32:1", "Z1X2AAA2"), disk("32:3", "Z1X2AAA3")]),
            raid_controllers: None,
            nics: Some(vec![Nic {
                name: "eno1".into(),
                mac: Some("e4:43:4b:00:00:01".into()),
                up: Some(true),
                mtu: Some(1500),
                speed_mbps: Some(10_000),
                driver: Some("ixgbe".into()),
                firmware: None,
                addresses: vec![Address { family: "inet".into(), address: "10.1.2.3".into(), prefix_len: 24 }],
                lldp: None,
            }]),
            power_supplies: None,
            bmc: None,
            fc_hbas: None,
            gpus: None,
            packages: None,
            packages_digest: None,
            packages_delta: None,
            guests: None,
            cloud: None,
            custom: Default::default(),
        },
        errors: vec![],
        warnings: vec![],
    }
}

/// A VM: virtual, with a serial that other VMs share.
pub fn vm(hostname: &str, serial: &str) -> Report {
    let mut r = physical(hostname, serial);
    let system = r.facts.system.as_mut().unwrap();
    system.manufacturer = Some("VMware, Inc.".into());
    system.product_name = Some("VMware Virtual Platform".into());
    system.r#virtual = true;
    system.hypervisor = Some("vmware".into());
    r.facts.disks = Some(vec![]);
    r.facts.memory.as_mut().unwrap().modules = Some(vec![]);
    r
}

/// The same report as a new collection (fresh report_id).
pub fn again(r: &Report) -> Report {
    let mut r = r.clone();
    r.report_id = uuid::Uuid::new_v4().to_string();
    r
}

/// `host:port` of a base URL.
pub fn addr_of(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// One request on a raw TCP connection: `head` (request line and headers, ending in a blank
/// line) is written, then `body` from a separate task (write errors ignored: the server may
/// answer and close before reading it). Returns the status and the response text, or `None`
/// when the server closed without answering within `wait`.
pub async fn raw_http(addr: &str, head: &str, body: Vec<u8>, wait: std::time::Duration) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(head.as_bytes()).await.unwrap();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&body).await;
        // Keep the write half open until the answer is read.
        std::future::pending::<()>().await;
        drop(wr);
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let read = tokio::time::timeout(wait, async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if response_complete(&out) {
                        break;
                    }
                }
            }
        }
    })
    .await;
    writer.abort();
    let text = String::from_utf8_lossy(&out).into_owned();
    if read.is_err() && text.is_empty() {
        return None;
    }
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text))
}

fn response_complete(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().ok()))
        .flatten();
    length.is_some_and(|n| body.len() >= n)
}

/// The four signature headers of a request, as header lines.
pub fn signed_head(key: &(String, Secret), method: &str, path: &str, body: &[u8]) -> String {
    let h = assetkit_sign::sign(&key.0, &key.1, method, path, body);
    h.pairs().iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect()
}

/// A logged-in console session (cookie and CSRF token), driven with plain HTTP.
pub struct Console {
    pub base: String,
    pub cookie: String,
    pub csrf: String,
    pub client: reqwest::Client,
}

fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The CSRF token of the session `cookie`, read from the import page.
pub async fn csrf_of(base: &str, cookie: &str) -> String {
    let page = client().get(format!("{base}/import")).header("cookie", cookie).send().await.unwrap();
    csrf_in(&page.text().await.unwrap())
}

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

impl Console {
    /// Logs in as `user` through the login form.
    pub async fn login(base: &str, user: &str, password: &str) -> Console {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let form = client.get(format!("{base}/login")).send().await.unwrap();
        let login_cookie = set_cookie(&form, "assetkit_login").unwrap();
        let token = csrf_in(&form.text().await.unwrap());
        let resp = client
            .post(format!("{base}/login"))
            .header("cookie", &login_cookie)
            .form(&[("csrf", token.as_str()), ("username", user), ("password", password), ("next", "/import")])
            .send()
            .await
            .unwrap();
        let cookie = set_cookie(&resp, "assetkit_session").unwrap_or_else(|| panic!("login failed: {}", resp.status()));
        let page = client.get(format!("{base}/import")).header("cookie", &cookie).send().await.unwrap();
        let csrf = csrf_in(&page.text().await.unwrap());
        Console { base: base.to_owned(), cookie, csrf, client }
    }

    /// A console page's HTML, fetched with this session.
    pub async fn page(&self, path: &str) -> String {
        let resp = self.client.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        resp.text().await.unwrap()
    }

    /// Posts a console form (the session's CSRF token added) and, as a browser does, follows
    /// the redirect after it with the flash message's cookie: (status, the page shown).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        fields.push(("csrf", &self.csrf));
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap();
        if resp.status() != reqwest::StatusCode::SEE_OTHER {
            return (resp.status().as_u16(), resp.text().await.unwrap());
        }
        let to = resp.headers()["location"].to_str().unwrap().to_owned();
        let mut cookie = self.cookie.clone();
        if let Some(flash) = set_cookie(&resp, "assetkit_flash") {
            cookie = format!("{cookie}; {flash}");
        }
        let page = self.client.get(format!("{}{to}", self.base)).header("cookie", cookie).send().await.unwrap();
        (page.status().as_u16(), page.text().await.unwrap())
    }

    /// Uploads a purchase list to the import preview.
    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> (u16, String) {
        let form = reqwest::multipart::Form::new()
            .text("csrf", self.csrf.clone())
            .text("encoding", "auto")
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
        let resp = self
            .client
            .post(format!("{}/import", self.base))
            .header("cookie", &self.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

/// An xlsx built from raw parts: `sheet` is the worksheet XML, `shared` the shared strings XML.
pub fn xlsx(sheet: &[u8], shared: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut part = |name: &str, data: &[u8]| {
        zip.start_file(name, options).unwrap();
        zip.write_all(data).unwrap();
    };
    part(
        "[Content_Types].xml",
        br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
    );
    part(
        "_rels/.rels",
        br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    );
    part(
        "xl/workbook.xml",
        br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    );
    let rels = if shared.is_some() {
        br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#.as_slice()
    } else {
        br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.as_slice()
    };
    part("xl/_rels/workbook.xml.rels", rels);
    part("xl/worksheets/sheet1.xml", sheet);
    if let Some(shared) = shared {
        part("xl/sharedStrings.xml", shared);
    }
    zip.finish().unwrap().into_inner()
}

/// A worksheet with inline-string cells at the given references.
pub fn sheet_with(cells: &[(&str, &str)]) -> Vec<u8> {
    let mut rows: std::collections::BTreeMap<u32, String> = std::collections::BTreeMap::new();
    for (r, v) in cells {
        let row: u32 = r.trim_start_matches(|c: char| c.is_ascii_alphabetic()).parse().unwrap();
        rows.entry(row).or_default().push_str(&format!(r#"<c r="{r}" t="inlineStr"><is><t>{v}</t></is></c>"#));
    }
    let body: String = rows.iter().map(|(n, c)| format!(r#"<row r="{n}">{c}</row>"#)).collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>"#
    )
    .into_bytes()
}

/// `assetkitd ARGS --db ... --secret-key-file ...`: (success, stdout, stderr).
pub fn cli(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    let mut all: Vec<&str> = args.to_vec();
    let db_args = db.cli_args();
    all.extend(db_args.iter().map(String::as_str));
    cli_raw(&all)
}

/// `assetkitd ARGS`: (success, stdout, stderr).
pub fn cli_raw(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_assetkitd")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The real binary serving `db` on 127.0.0.1:0.
pub struct Spawned {
    pub child: tokio::process::Child,
    pub base: String,
}

/// Starts `assetkitd serve` on `db` with `extra` arguments, logging at `log` to `stderr`; returns
/// once it is listening.
pub async fn spawn_binary(db: &TestDb, extra: &[&str], log: &str, stderr: std::process::Stdio) -> Spawned {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_assetkitd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--print-addr"])
        .args(db.cli_args())
        .args(extra)
        .env("ASSETKIT_LOG", log)
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().expect("assetkitd printed its address");
    let addr = line.strip_prefix("listening on ").unwrap().to_owned();
    Spawned { child, base: format!("http://{addr}") }
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadSeen {
    /// Report ids answered 200.
    pub acked: Vec<String>,
    /// Answers by status (0: the connection failed).
    pub statuses: std::collections::BTreeMap<u16, usize>,
    /// 503 answers without a Retry-After header.
    pub unavailable_without_retry_after: usize,
}

/// Sends changing reports of 40 hosts per worker, `workers` workers per base URL, as agents do
/// (each host signs with its own credential once issued), until `stop` says so or, for a
/// worker, until its server is gone. `progress` counts acknowledged reports as they come.
pub async fn load(
    bases: &[String],
    fleet: &(String, Secret),
    workers: usize,
    stop: tokio::sync::watch::Receiver<bool>,
    progress: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
) -> LoadSeen {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(LoadSeen::default()));
    let client = client();
    let mut tasks = Vec::new();
    for (b, base) in bases.iter().enumerate() {
        for w in 0..workers {
            let (client, base, fleet, seen, progress, stop) =
                (client.clone(), base.clone(), fleet.clone(), seen.clone(), progress.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut creds: std::collections::HashMap<String, (String, Secret)> = Default::default();
                // Each report carries an enrolment key, as the agent's do: a retry whose first
                // answer was lost gets its credential again only sealed to that key.
                let enrol = assetkit_sign::enrol::EnrolKey::generate();
                // A report answered 503 is sent again as it was (same report_id), as an agent's
                // spool does: if its batch did commit before the database went away, the retry
                // is answered as a duplicate, with the credential it issued.
                let mut pending: Option<(String, Report)> = None;
                for i in 0u32.. {
                    if *stop.borrow() {
                        return;
                    }
                    let (host, r) = pending.take().unwrap_or_else(|| {
                        let host = format!("load-{b}-{w}-{}", i % 40);
                        let mut r = physical(&host, &format!("LOAD-{b}-{w}-{}", i % 40));
                        r.facts.nics.as_mut().unwrap()[0].mtu = Some(1500 + i);
                        if !creds.contains_key(&host) {
                            r.agent.enrol_key = Some(enrol.public_hex());
                        }
                        (host, r)
                    });
                    let body = serde_json::to_vec(&r).unwrap();
                    let signer = creds.get(&host).cloned().unwrap_or_else(|| fleet.clone());
                    let h = assetkit_sign::sign(&signer.0, &signer.1, "POST", "/api/v1/reports", &body);
                    let mut req = client.post(format!("{base}/api/v1/reports")).body(body);
                    for (n, v) in h.pairs() {
                        req = req.header(n, v);
                    }
                    let Ok(resp) = req.send().await else {
                        *seen.lock().unwrap().statuses.entry(0).or_default() += 1;
                        return; // the server is gone
                    };
                    let status = resp.status().as_u16();
                    let retry_after = resp.headers().contains_key("retry-after");
                    let answer: Json = resp.json().await.unwrap_or_default();
                    {
                        let mut seen = seen.lock().unwrap();
                        *seen.statuses.entry(status).or_default() += 1;
                        match status {
                            200 => {
                                let opened = answer["host_secret_sealed"]
                                    .as_str()
                                    .and_then(|sealed| enrol.open(sealed).ok())
                                    .and_then(|b| String::from_utf8(b).ok());
                                if let (Some(id), Some(secret)) = (answer["host_key_id"].as_str(), opened) {
                                    creds.insert(host.clone(), (id.to_owned(), Secret::new(&secret)));
                                }
                                seen.acked.push(r.report_id.clone());
                                progress.send_modify(|n| *n += 1);
                            }
                            503 if !retry_after => seen.unavailable_without_retry_after += 1,
                            503 => {}
                            other => panic!("unexpected status {other}: {answer}"),
                        }
                    }
                    if status == 503 {
                        pending = Some((host, r));
                        // Pacing, as Retry-After asks (shortened: the outage is seconds long).
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    std::sync::Arc::try_unwrap(seen).unwrap().into_inner().unwrap()
}

/// Waits until `progress` reaches `n` (woken by each change; bounded by `limit`).
pub async fn until_count(progress: &tokio::sync::watch::Sender<u64>, n: u64, limit: std::time::Duration) {
    let mut rx = progress.subscribe();
    let reached = tokio::time::timeout(limit, rx.wait_for(|v| *v >= n)).await;
    assert!(reached.is_ok(), "only {} of {n} within {limit:?}", *progress.borrow());
}

/// A Debian package for amd64, with only its name and version.
pub fn deb(name: &str, version: &str) -> assetkit_core::model::Package {
    assetkit_core::model::Package {
        manager: assetkit_core::model::PackageManager::Deb,
        name: name.into(),
        version: version.into(),
        arch: Some("amd64".into()),
        source: None,
        source_version: None,
        vendor: None,
        installed_at: None,
    }
}

/// A server on `db` with `failpoint` set, served bare (no readiness wait: the failpoint may kill
/// it at its first request): its base URL and the task whose result is how `serve` ended.
pub fn serve_failing(
    db: &TestDb,
    failpoint: assetkitd::domain::apply::Failpoint,
) -> (String, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let mut config = ServerConfig::new(db.location.clone());
    config.secret_key_file = Some(db.key_file.clone());
    config.failpoint = Some(failpoint);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (base, tokio::spawn(assetkitd::serve(listener, config, std::future::pending())))
}
