//! A real assetkitd on 127.0.0.1:0 with a temp SQLite file, and a signing client.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use assetkit_core::model::{
    Address, Agent, Baseboard, Bios, Cpu, Disk, Facts, Host, Memory, MemoryModule, Mode, Nic, Os, Report, System,
};
use assetkit_sign::Secret;
use assetkitd::ServerConfig;
use assetkitd::domain::apply::Policy;
use serde_json::Value;

pub struct TestServer {
    pub base: String,
    pub db: PathBuf,
    pub agent: (String, Secret),
    pub admin: (String, Secret),
    pub client: reqwest::Client,
    /// Host credentials the receiver issued, by the names of the host they belong to: `report`
    /// signs with them, as an agent would.
    pub credentials: std::sync::Mutex<std::collections::HashMap<String, (String, Secret)>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(policy: Policy) -> Self {
        Self::start_with(|c| c.policy = policy).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().join("assetkit.db"));
        configure(&mut config);
        let assetkitd::store::Location::Sqlite(db) = config.db.clone();
        let key = |name, scope| assetkitd::cmd::keys::create_key(&config.db, None, name, scope).unwrap();
        let (agent, admin) = (key("test agents", "agent"), key("test admin", "admin"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(assetkitd::serve(listener, config, async {
            let _ = rx.await;
        }));
        TestServer {
            base,
            db,
            agent,
            admin,
            client: client(),
            credentials: Default::default(),
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops the server gracefully and waits for the writer to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// A signed request with an explicit key.
    pub async fn send_as(&self, key: &(String, Secret), method: &str, path: &str, body: &[u8]) -> (u16, Value) {
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
    ) -> (u16, Value) {
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
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Posts a report as the host's agent would: signed with the host's credential once the
    /// receiver issued one (looked up by the cert hostname, else the hostname), else with the
    /// fleet key; a credential in the answer is kept.
    pub async fn report(&self, report: &Report) -> (u16, Value) {
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
    pub async fn report_as(&self, key: &(String, Secret), report: &Report) -> (u16, Value) {
        let body = serde_json::to_vec(report).unwrap();
        self.send_as(key, "POST", "/api/v1/reports", &body).await
    }

    /// The credential the receiver issued to the host called `name`.
    pub fn credential(&self, name: &str) -> (String, Secret) {
        self.credentials.lock().unwrap().get(name).cloned().unwrap_or_else(|| panic!("no credential for {name}"))
    }

    /// Posts and expects 200.
    pub async fn report_ok(&self, report: &Report) -> Value {
        let (status, body) = self.report(report).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        let (status, body) = self.send_as(&self.admin, "GET", path, b"").await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub async fn changes(&self, asset_id: i64) -> Vec<Value> {
        self.admin_get(&format!("/api/v1/assets/{asset_id}/changes")).await["changes"].as_array().unwrap().clone()
    }

    pub async fn assets(&self) -> Vec<Value> {
        self.admin_get("/api/v1/assets?per_page=500").await["assets"].as_array().unwrap().clone()
    }

    /// Every row of every table, as text: to show that nothing was written.
    pub fn dump(&self) -> String {
        dump(&self.db)
    }
}

pub fn dump(db: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let cols = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..cols)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.push_str(&format!("== {t}\n{}\n", rows.join("\n")));
    }
    out
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
        agent: Agent { name: "assetkit".into(), version: "test".into(), mode: Mode::Agent },
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
            nics: Some(vec![Nic {
                name: "eno1".into(),
                mac: Some("e4:43:4b:00:00:01".into()),
                up: Some(true),
                mtu: Some(1500),
                speed_mbps: Some(10_000),
                driver: Some("ixgbe".into()),
                addresses: vec![Address { family: "inet".into(), address: "10.1.2.3".into(), prefix_len: 24 }],
            }]),
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
