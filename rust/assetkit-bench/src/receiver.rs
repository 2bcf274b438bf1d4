//! A receiver under test (SQLite or a fresh PostgreSQL database), signed posts, CPU accounting.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::support::release_bin;
use anyhow::Context;
use assetkit_core::model::Report;

/// Where a benchmark's receivers keep the inventory.
#[derive(Clone)]
pub(crate) enum Store {
    /// A SQLite file in a temp directory.
    Sqlite,
    /// A fresh database on the cluster whose admin database this URL names.
    Postgres(String),
}

impl Store {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Store::Sqlite => "SQLite",
            Store::Postgres(_) => "PostgreSQL",
        }
    }
}

pub(crate) static DATABASES: AtomicU64 = AtomicU64::new(0);

/// The open-loop rates (unchanged, changing), reports/s.
pub(crate) static RATES: std::sync::Mutex<(f64, f64)> = std::sync::Mutex::new((1500.0, 800.0));

/// `serve --writers` for PostgreSQL receivers.
pub(crate) static WRITERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(4);

/// `replicas` assetkitd processes on one database.
pub(crate) struct Receiver {
    pub(crate) children: Vec<std::process::Child>,
    pub(crate) bases: Vec<String>,
    pub(crate) key: (String, assetkit_sign::Secret),
    pub(crate) location: assetkitd::store::Location,
    /// `--db` and `--secret-key-file`, for the admin CLI.
    pub(crate) db_args: Vec<String>,
    /// The cluster's admin URL and the database made for this run.
    pub(crate) pg: Option<(String, String)>,
    /// The `assetkitd` it runs.
    assetkitd: PathBuf,
    /// Leave the PostgreSQL database when done (`ASSETKIT_BENCH_KEEP_DB`, or one that was reused).
    keep: bool,
    pub(crate) _dir: tempfile::TempDir,
}

impl Receiver {
    /// Stops the receiver and leaves its PostgreSQL database for another build to open (with
    /// [`start_receiver_adopting`]): the database's name and the server key its secrets are
    /// sealed with.
    pub(crate) fn stop_keeping_database(mut self) -> anyhow::Result<(String, Vec<u8>)> {
        let key = std::fs::read(self._dir.path().join("server.key"))?;
        let (_, name) = self.pg.take().context("only a PostgreSQL database outlives its receiver")?;
        Ok((name, key)) // dropped without a database: the children stop, nothing else
    }

    /// The PostgreSQL database as it is, not migrated to this build's schema: a baseline build's
    /// stays at its own version (SQLite: [`Receiver::db`]).
    pub(crate) fn db_as_is(&self) -> anyhow::Result<Box<dyn assetkitd::store::Db + Send>> {
        match &self.location {
            assetkitd::store::Location::Postgres(url) => {
                Ok(Box::new(assetkitd::store::postgres::Target::parse(url)?.connect()?))
            }
            assetkitd::store::Location::Sqlite(_) => self.db(),
        }
    }

    /// The database, for counting what it holds.
    pub(crate) fn db(&self) -> anyhow::Result<Box<dyn assetkitd::store::Db + Send>> {
        Ok(assetkitd::store::connect(&self.location)?)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
        if let Some((_, name)) = &self.pg
            && self.keep
        {
            eprintln!("kept PostgreSQL database {name}: drop it when done");
            return;
        }
        if let Some((admin, name)) = &self.pg {
            drop_database(admin, name);
        }
    }
}

/// A PostgreSQL database an earlier run kept (`ASSETKIT_BENCH_REUSE_DB`): the fleet queries of
/// `software` measure it as it is, without seeding again ([`start_receiver_on`]).
pub(crate) fn reused_db() -> Option<String> {
    std::env::var("ASSETKIT_BENCH_REUSE_DB")
        .ok()
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

pub(crate) fn start_receiver(store: &Store) -> anyhow::Result<Receiver> {
    start_receiver_of(&release_bin("assetkitd")?, store, 1, &[])
}

/// [`start_receiver`] on the PostgreSQL database `existing` of `store`'s cluster, used as it is
/// and kept, instead of a new one (`None`: a new one, as [`start_receiver`]).
pub(crate) fn start_receiver_on(store: &Store, existing: Option<String>) -> anyhow::Result<Receiver> {
    let existing = existing.map(|name| Existing { name, key: None, adopted: false });
    start(&release_bin("assetkitd")?, store, 1, &[], Budgets::Lifted, existing)
}

/// A PostgreSQL database a receiver opens as it is, and the server key to open its secrets with
/// (`None`: a new key).
struct Existing {
    name: String,
    key: Option<Vec<u8>>,
    /// Handed over by another receiver: dropped when done (else kept, as a reused one is).
    adopted: bool,
}

/// [`start_receiver`] on the PostgreSQL database `name` that another receiver left
/// ([`Receiver::stop_keeping_database`]), with its server key: this build migrates it, and
/// drops it when done.
pub(crate) fn start_receiver_adopting(store: &Store, (name, key): (String, Vec<u8>)) -> anyhow::Result<Receiver> {
    let existing = Existing { name: name.clone(), key: Some(key), adopted: true };
    let started = start(&release_bin("assetkitd")?, store, 1, &[], Budgets::Lifted, Some(existing));
    // A start that failed before it had a receiver to drop the database with.
    if started.is_err()
        && let Store::Postgres(admin) = store
    {
        drop_database(admin, &name);
    }
    started
}

/// Drops database `name` of the cluster whose admin database `admin` names, at best effort (a
/// bench's cleanup: what fails is left for the operator).
fn drop_database(admin: &str, name: &str) {
    if let Ok(target) = assetkitd::store::postgres::Target::parse(admin)
        && let Ok(mut db) = target.connect()
    {
        let _ = assetkitd::store::Db::batch(&mut db, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

/// The send budgets of the receivers a bench starts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budgets {
    /// Out of the way: throughput benches send far more per key than a host would.
    Lifted,
    /// The documented defaults (the flood bench measures them).
    Default,
}

/// `serve` arguments that lift the per-key budgets, for builds that have them.
fn lifted_budgets(assetkitd: &Path) -> Vec<&'static str> {
    let help = Command::new(assetkitd).args(["serve", "--help"]).output().map(|o| o.stdout).unwrap_or_default();
    if !String::from_utf8_lossy(&help).contains("--max-reports-per-minute") {
        return Vec::new();
    }
    vec![
        "--max-reports-per-minute=100000000",
        "--max-report-bytes-per-minute=1000000000000",
        "--max-fleet-reports-per-minute=100000000",
        "--max-fleet-report-bytes-per-minute=1000000000000",
        "--max-new-assets-per-minute=100000000",
        "--max-new-assets-per-day=1000000000",
    ]
}

pub(crate) fn start_receiver_of(
    assetkitd: &Path,
    store: &Store,
    replicas: usize,
    serve: &[&str],
) -> anyhow::Result<Receiver> {
    start_receiver_with(assetkitd, store, replicas, serve, Budgets::Lifted)
}

pub(crate) fn start_receiver_with(
    assetkitd: &Path,
    store: &Store,
    replicas: usize,
    serve: &[&str],
    budgets: Budgets,
) -> anyhow::Result<Receiver> {
    start(assetkitd, store, replicas, serve, budgets, None)
}

fn start(
    assetkitd: &Path,
    store: &Store,
    replicas: usize,
    serve: &[&str],
    budgets: Budgets,
    existing: Option<Existing>,
) -> anyhow::Result<Receiver> {
    let keep = existing.as_ref().is_some_and(|e| !e.adopted) || std::env::var_os("ASSETKIT_BENCH_KEEP_DB").is_some();
    let budget_args = if budgets == Budgets::Lifted { lifted_budgets(assetkitd) } else { Vec::new() };
    let dir = tempfile::tempdir()?;
    let key_file = dir.path().join("server.key");
    let (existing, server_key) = match existing {
        Some(e) => (Some(e.name), e.key),
        None => (None, None),
    };
    if let Some(key) = server_key {
        std::fs::write(&key_file, key)?;
        std::fs::set_permissions(&key_file, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    }
    let (db, pg) = match store {
        Store::Sqlite => (dir.path().join("bench.db").display().to_string(), None),
        Store::Postgres(admin) => {
            let name = match existing {
                Some(name) => name,
                None => {
                    let name = format!("bench_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
                    let mut conn = assetkitd::store::postgres::Target::parse(admin)?.connect()?;
                    assetkitd::store::Db::batch(&mut conn, &format!("CREATE DATABASE {name}"))?;
                    name
                }
            };
            (
                format!("{}/{name}", admin.rsplit_once('/').context("a URL with a database")?.0),
                Some((admin.clone(), name)),
            )
        }
    };
    let db_args = vec!["--db".to_owned(), db.clone(), "--secret-key-file".to_owned(), key_file.display().to_string()];
    let key = create_key(assetkitd, &db_args, "bench", "agent")?;
    let mut receiver = Receiver {
        children: Vec::new(),
        bases: Vec::new(),
        key,
        location: assetkitd::store::Location::parse(&db)?,
        db_args,
        pg,
        assetkitd: assetkitd.to_owned(),
        keep,
        _dir: dir,
    };
    for _ in 0..replicas.max(1) {
        let mut child = Command::new(assetkitd)
            .args(["serve", "--listen", "127.0.0.1:0", "--print-addr", "--identity", "hostname"])
            .args(&receiver.db_args)
            .args(["--writers", &WRITERS.load(Ordering::SeqCst).to_string()])
            .args(serve)
            .args(&budget_args)
            .env("ASSETKIT_LOG", "warn")
            .env("ASSETKIT_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line)?;
        receiver.children.push(child);
        let addr = line.trim().strip_prefix("listening on ").context("assetkitd did not start")?.to_owned();
        wait_ready(&addr)?;
        receiver.bases.push(format!("http://{addr}"));
    }
    Ok(receiver)
}

impl Receiver {
    /// A new API key of `scope` on this receiver's store, made with its admin CLI.
    pub(crate) fn create_key(&self, name: &str, scope: &str) -> anyhow::Result<(String, assetkit_sign::Secret)> {
        create_key(&self.assetkitd, &self.db_args, name, scope)
    }
}

/// `assetkitd keys create` on the store `db_args` name: the key's id and secret.
fn create_key(
    assetkitd: &Path,
    db_args: &[String],
    name: &str,
    scope: &str,
) -> anyhow::Result<(String, assetkit_sign::Secret)> {
    let out = Command::new(assetkitd).args(keys_create(assetkitd, name, scope)).args(db_args).output()?;
    anyhow::ensure!(out.status.success(), "keys create failed: {}", String::from_utf8_lossy(&out.stderr));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let field = |f: &str| key[f].as_str().map(str::to_owned).with_context(|| format!("keys create printed no {f}"));
    Ok((field("key_id")?, assetkit_sign::Secret::new(&field("secret")?)))
}

/// `keys create` arguments for `assetkitd`: the name is an argument now, `--name` in builds
/// before 2026-12 (a `--baseline`).
fn keys_create(assetkitd: &Path, name: &str, scope: &str) -> Vec<String> {
    let help =
        Command::new(assetkitd).args(["keys", "create", "--help"]).output().map(|o| o.stdout).unwrap_or_default();
    let mut args = vec!["keys".to_owned(), "create".to_owned()];
    if String::from_utf8_lossy(&help).contains("--name <NAME>") {
        args.push("--name".to_owned());
    }
    args.extend([name.to_owned(), "--scope".to_owned(), scope.to_owned(), "--json".to_owned()]);
    args
}

/// Waits until the receiver at `addr` answers `/healthz` with 200: it prints its address
/// before its store is open, and a bench that wrote to the store in between (a seed) could
/// hold the lock past the receiver's busy timeout.
fn wait_ready(addr: &str) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = std::net::TcpStream::connect(addr).and_then(|mut s| {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
            let mut head = [0u8; 12];
            s.read_exact(&mut head)?;
            Ok(head)
        });
        if status.is_ok_and(|h| h.ends_with(b" 200")) {
            return Ok(());
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "assetkitd at {addr} not ready after 60 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Posts `report` signed with `key`; the host credential the answer carries, if any.
pub(crate) async fn post(
    client: &reqwest::Client,
    base: &str,
    key: &(String, assetkit_sign::Secret),
    report: &Report,
) -> anyhow::Result<Option<(String, assetkit_sign::Secret)>> {
    let body = serde_json::to_vec(report)?;
    let h = assetkit_sign::sign(&key.0, &key.1, "POST", "/api/v1/reports", &body);
    let mut req = client.post(format!("{base}/api/v1/reports")).body(body);
    for (n, v) in h.pairs() {
        req = req.header(n, v);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    anyhow::ensure!(status == 200, "status {status}: {text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Ok(match (answer["host_key_id"].as_str(), answer["host_secret"].as_str()) {
        (Some(id), Some(secret)) => Some((id.to_owned(), assetkit_sign::Secret::new(secret))),
        _ => None,
    })
}

/// CPU seconds (user + system) of a process from /proc, with its reaped children's if asked.
pub(crate) fn cpu_of(pid: &str, with_children: bool) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // The fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // utime, stime, cutime, cstime are fields 14-17 of stat; 12-15 after the name and state.
    let ticks = f.get(11).unwrap_or(&0.0)
        + f.get(12).unwrap_or(&0.0)
        + if with_children { f.get(13).unwrap_or(&0.0) + f.get(14).unwrap_or(&0.0) } else { 0.0 };
    ticks / 100.0
}

/// CPU seconds of every PostgreSQL server process on the machine, exited backends included
/// (they are reaped by the postmaster, whose children's time grows by theirs).
pub(crate) fn postgres_cpu() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0.0 };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(|e| cpu_of(&e.file_name().to_string_lossy(), true))
        .sum()
}

/// (receivers, database, this process) CPU seconds so far.
pub(crate) fn cpu_now(r: &Receiver) -> (f64, f64, f64) {
    let receivers = r.children.iter().map(|c| cpu_of(&c.id().to_string(), false)).sum();
    let database = if r.pg.is_some() { postgres_cpu() } else { 0.0 };
    (receivers, database, cpu_of("self", false))
}
