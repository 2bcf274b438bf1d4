//! Running the assetkit binary, and a real receiver on a port that can go down and come back.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn assetkit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_assetkit"));
    c.env_remove("ASSETKIT_CONFIG").env("ASSETKIT_LOG", "info");
    c
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run assetkit")
}

pub fn stdout_json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "exit {:?}\nstderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// A report without the fields that differ between two collections of the same host.
pub fn stable(mut v: serde_json::Value) -> serde_json::Value {
    let o = v.as_object_mut().unwrap();
    o.remove("report_id");
    o.remove("collected_at");
    v
}

/// A receiver that can be stopped and started again on the same address.
pub struct Receiver {
    pub addr: SocketAddr,
    pub db: PathBuf,
    pub agent_key: (String, assetkit_sign::Secret),
    runtime: tokio::runtime::Runtime,
    running: Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<anyhow::Result<()>>)>,
}

impl Receiver {
    /// Keys are created; the server is not running yet.
    pub fn new(dir: &Path) -> Self {
        let db = dir.join("receiver.db");
        let agent_key = assetkitd::cmd::keys::create_key(&db.clone().into(), None, "agents", "agent").unwrap();
        // Reserve a port, then free it: the receiver starts on it later, and until then
        // connections to it are refused, as with a receiver that is down.
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        Receiver { addr, db, agent_key, runtime, running: None }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn start(&mut self) {
        self.start_with(None);
    }

    /// Serves HTTPS with this certificate and key (PEM files).
    pub fn start_tls(&mut self, cert: &Path, key: &Path) {
        self.start_with(Some((cert.to_path_buf(), key.to_path_buf())));
    }

    fn start_with(&mut self, tls: Option<(PathBuf, PathBuf)>) {
        let listener = (0..50)
            .find_map(|_| {
                std::net::TcpListener::bind(self.addr).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                })
            })
            .expect("rebinding the receiver's port");
        let mut config = assetkitd::ServerConfig::new(self.db.clone());
        config.policy = assetkitd::domain::apply::Policy::Hostname;
        config.tls = tls;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let _guard = self.runtime.enter();
        let task = self.runtime.spawn(assetkitd::serve(listener, config, async {
            let _ = rx.await;
        }));
        self.running = Some((tx, task));
    }

    pub fn stop(&mut self) {
        if let Some((tx, task)) = self.running.take() {
            let _ = tx.send(());
            self.runtime.block_on(task).unwrap().unwrap();
        }
    }

    /// SELECT over the receiver's database.
    pub fn query<T: rusqlite::types::FromSql>(&self, sql: &str) -> Vec<T> {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An agent's files: config, key, cert, spool, under one temp dir.
pub struct AgentHost {
    pub dir: tempfile::TempDir,
}

impl AgentHost {
    pub fn new(server: &str, key: &(String, assetkit_sign::Secret)) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, format!("{}\n", key.1.expose())).unwrap();
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = format!(
            "server = \"{server}\"\nkey_id = \"{}\"\nkey_file = \"{}\"\ncert_file = \"{}\"\nspool_dir = \"{}\"\nplugins_dir = \"{}\"\nhost_key_file = \"{}\"\ncredentials_dir = \"{}\"\ntimeout = \"3s\"\nspool_max_reports = 5\n",
            key.0,
            key_file.display(),
            dir.path().join("cert").display(),
            dir.path().join("spool").display(),
            dir.path().join("plugins.d").display(),
            dir.path().join("host.key").display(),
            dir.path().join("credentials").display(),
        );
        std::fs::write(dir.path().join("agent.toml"), config).unwrap();
        AgentHost { dir }
    }
    /// Adds a read key (`sweep --pending` lists the hosts entered by hand with it).
    pub fn add_read_key(&self, key: &(String, assetkit_sign::Secret)) {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let file = self.dir.path().join("read.key");
        std::fs::write(&file, format!("{}\n", key.1.expose())).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut config = std::fs::OpenOptions::new().append(true).open(self.config()).unwrap();
        writeln!(config, "read_key_id = \"{}\"\nread_key_file = \"{}\"", key.0, file.display()).unwrap();
    }
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("agent.toml")
    }
    pub fn cert(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("cert")).ok().map(|s| s.trim().to_owned())
    }
    pub fn spooled(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("spool"))
            .map(|d| d.filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().ends_with(".json")).count())
            .unwrap_or(0)
    }
    pub fn report(&self, extra: &[&str]) -> Output {
        run(assetkit().arg("--config").arg(self.config()).arg("report").arg("--json").args(extra))
    }
}
