//! A real assetkitd on 127.0.0.1:0 with a temp SQLite file, and a signing client.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use assetkit_core::model::{
    Address, Agent, Baseboard, Bios, Cpu, Disk, Facts, Host, Memory, MemoryModule, Mode, Nic, Os, Report, System,
};
use assetkit_sign::Secret;
use assetkitd::ServerConfig;
use assetkitd::apply::Policy;
use serde_json::Value;

pub struct TestServer {
    pub base: String,
    pub db: PathBuf,
    pub agent: (String, Secret),
    pub admin: (String, Secret),
    pub client: reqwest::Client,
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
        let db = config.db.clone();
        let (agent, admin) = {
            let conn = assetkitd::store::open(&db).unwrap();
            let now = assetkitd::store::now();
            (
                assetkitd::inventory::create_key(&conn, "test agents", "agent", now).unwrap(),
                assetkitd::inventory::create_key(&conn, "test admin", "admin", now).unwrap(),
            )
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(assetkitd::serve(listener, config, async {
            let _ = rx.await;
        }));
        TestServer { base, db, agent, admin, client: client(), shutdown: Some(tx), task: Some(task), _dir: dir }
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

    pub async fn report(&self, report: &Report) -> (u16, Value) {
        let body = serde_json::to_vec(report).unwrap();
        self.send_as(&self.agent, "POST", "/api/v1/reports", &body).await
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
