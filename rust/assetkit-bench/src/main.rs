//! `assetkit-bench`: the numbers in the README, measured side by side with the tools assetkit
//! replaces, on whatever machine runs it. Wall time throughout; every figure is a median and a
//! tail (p95 or p99) over repeated runs, never a single run.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use assetkit_core::model::{Address, Agent, Disk, Facts, Host, Memory, MemoryModule, Mode, Nic, Os, Report, System};
use clap::{Parser, Subcommand};
use serde_json::json;

#[derive(Parser)]
#[command(name = "assetkit-bench", about = "Benchmarks for assetkit; results also go to target/bench/<name>.json")]
struct Cli {
    #[command(subcommand)]
    command: What,
}

#[derive(Subcommand)]
enum What {
    /// Live collection and snapshot parsing, next to `salt-call grains.items` and `ansible -m setup`.
    Collect {
        /// Runs of each assetkit measurement.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Runs of each peer (they take ~1 s each).
        #[arg(long, default_value_t = 10)]
        peer_runs: usize,
    },
    /// Receiver throughput: distinct hosts over concurrent connections, unchanged and changing reports.
    Apply {
        /// Distinct simulated hosts.
        #[arg(long, default_value_t = 500)]
        hosts: usize,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Length of each phase.
        #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Another assetkitd build to compare with: both are measured in turns (baseline,
        /// this build, baseline, this build) and the ratios printed.
        #[arg(long, value_name = "ASSETKITD")]
        baseline: Option<PathBuf>,
        /// Also measure PostgreSQL: the URL of a cluster's admin database (a fresh database is
        /// made per measurement), side by side with SQLite. `tests/pg/up` starts one.
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
        /// Receiver replicas to measure on PostgreSQL, each in its own process, the
        /// connections spread over them.
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        replicas: Vec<usize>,
        /// Fixed rates (reports/s, unchanged then changing) for an open-loop phase each: the
        /// latency a fleet sending at that pace sees, measured from when each report was due.
        #[arg(long, value_delimiter = ',', default_value = "1500,800")]
        rates: Vec<f64>,
        /// Writer connections per PostgreSQL replica (`assetkitd serve --writers`).
        #[arg(long, default_value_t = 4)]
        writers: usize,
    },
    /// SSH sweep through the loopback sshd, next to `ansible all -m setup` at the same concurrency.
    Sweep {
        /// Target counts.
        #[arg(long, value_delimiter = ',', default_value = "50,200")]
        targets: Vec<usize>,
        /// Parallel hosts, for both tools.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// The console's asset list with 100,000 assets: server render time (Server-Timing).
    Console {
        /// Assets in the database.
        #[arg(long, default_value_t = 100_000)]
        assets: usize,
        /// Requests per page variant.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// On PostgreSQL: the URL of a cluster's admin database (a fresh database is made).
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
    },
    /// CSV and xlsx exports of the whole asset list (`GET /api/v1/assets.csv` and `.xlsx`): time,
    /// rows per second, and the server's peak RSS before and after.
    Export {
        /// Assets in the database.
        #[arg(long, default_value_t = 100_000)]
        assets: usize,
        /// On PostgreSQL: the URL of a cluster's admin database (a fresh database is made).
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
    },
    /// Purchase-list import of a 10,000-row csv through `assetkitd import`.
    Import {
        /// Rows in the file.
        #[arg(long, default_value_t = 10_000)]
        rows: usize,
        /// Runs (each on a fresh database).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Webhooks: discovery reports applied with and without an endpoint configured (the cost of
    /// the outbox), then how fast and how soon their alerts reach a local endpoint.
    Webhooks {
        /// Distinct hosts reporting for the first time (one asset.discovered alert each).
        #[arg(long, default_value_t = 5000)]
        reports: usize,
        /// Concurrent connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// On PostgreSQL: the URL of a cluster's admin database (a fresh database is made).
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
    },
    /// Everything above with default settings.
    All,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn release_bin(name: &str) -> anyhow::Result<PathBuf> {
    let p = repo().join("target/release").join(name);
    if !p.exists() {
        bail!("{} missing: run `make bench` (it builds the release binaries)", p.display());
    }
    Ok(p)
}

fn venv_bin(name: &str) -> Option<PathBuf> {
    let p = repo().join(".venv/bin").join(name);
    p.exists().then_some(p)
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Stats {
    runs: usize,
    median_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    min_ms: f64,
}

fn stats(mut d: Vec<Duration>) -> Stats {
    d.sort();
    let at = |q: f64| d[((d.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    Stats { runs: d.len(), median_ms: at(0.5), p95_ms: at(0.95), p99_ms: at(0.99), min_ms: at(0.0) }
}

fn time_runs(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Stats> {
    f()?; // warm-up: page cache, dynamic loader
    let mut d = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        d.push(t.elapsed());
    }
    Ok(stats(d))
}

fn run_quiet(cmd: &mut Command) -> anyhow::Result<()> {
    let status =
        cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

fn save(name: &str, value: &serde_json::Value) -> anyhow::Result<()> {
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{name}.json")), serde_json::to_vec_pretty(value)?)?;
    Ok(())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpus} vCPU {model}, kernel {}", kernel.trim())
}

fn collect_bench(runs: usize, peer_runs: usize) -> anyhow::Result<()> {
    let assetkit = release_bin("assetkit")?;
    println!("## Collection ({})\n", machine());
    let live = time_runs(runs, || run_quiet(Command::new(&assetkit).arg("collect")))?;
    let live_lib = time_runs(runs, || {
        let source: Arc<dyn assetkit_core::Source> = Arc::new(assetkit_core::LiveSource::default());
        let r = assetkit_core::collect(source, &assetkit_core::CollectOptions::default());
        anyhow::ensure!(r.facts.cpu.is_some(), "no cpu facts");
        Ok(())
    })?;

    // The largest real capture: a VMware guest with 64 processor records and 130 KB of dmidecode,
    // plus the largest MegaCli output.
    let snap = tempfile::tempdir()?;
    let raw = repo().join("tests/fixtures/raw");
    for (from, to) in [
        ("dmidecode/rhel-6.2-vmware-2vcpus", "commands/dmidecode"),
        ("cpuinfo/rhel-6.2-vmware-2vcpus", "files/proc/cpuinfo"),
        ("megacli/set6_PDlist", "commands/megacli-pdlist"),
        ("ip/ip_addr-el8", "commands/ip-addr"),
    ] {
        let dest = snap.path().join(to);
        std::fs::create_dir_all(dest.parent().unwrap())?;
        std::fs::copy(raw.join(from), dest)?;
    }
    let snapshot_bytes: u64 =
        ["commands/dmidecode", "files/proc/cpuinfo", "commands/megacli-pdlist", "commands/ip-addr"]
            .iter()
            .map(|p| std::fs::metadata(snap.path().join(p)).map(|m| m.len()).unwrap_or(0))
            .sum();
    let parse = time_runs(runs * 5, || {
        let source: Arc<dyn assetkit_core::Source> = Arc::new(assetkit_core::SnapshotDir::open(snap.path())?);
        let r = assetkit_core::collect(source, &assetkit_core::CollectOptions::default());
        anyhow::ensure!(r.facts.disks.as_ref().is_some_and(|d| d.len() > 10), "megacli drives missing");
        Ok(())
    })?;
    let parse_cli =
        time_runs(runs, || run_quiet(Command::new(&assetkit).args(["collect", "--snapshot"]).arg(snap.path())))?;

    // The RAID tools' captures, each parser on the largest of its kind, in-process.
    let raid_parse = raid_parse_bench(&raw, runs * 5)?;

    let mut peers = serde_json::Map::new();
    let salt_conf = tempfile::tempdir()?;
    std::fs::write(
        salt_conf.path().join("minion"),
        format!("root_dir: {}\nfile_client: local\nid: bench\nlog_level: quiet\n", salt_conf.path().display()),
    )?;
    if let Some(salt_call) = venv_bin("salt-call") {
        let conf = salt_conf.path().to_path_buf();
        let grains = time_runs(peer_runs, || {
            run_quiet(Command::new(&salt_call).args(["--local", "-c"]).arg(&conf).args(["grains.items", "--out=json"]))
        })?;
        let module = repo().join("salt_module");
        let asset = time_runs(peer_runs, || {
            run_quiet(
                Command::new(&salt_call)
                    .args(["--local", "-c"])
                    .arg(&conf)
                    .arg("-m")
                    .arg(&module)
                    .args(["asset.collect", "--out=json"]),
            )
        });
        peers.insert("salt-call --local grains.items".into(), serde_json::to_value(&grains)?);
        match asset {
            Ok(a) => {
                peers.insert("salt-call --local asset.collect".into(), serde_json::to_value(&a)?);
            }
            Err(e) => println!("(salt-call asset.collect skipped: {e}; is the extension installed in .venv?)"),
        }
    } else {
        println!("(salt-call not found in .venv: run `make deps`)");
    }
    if let Some(ansible) = venv_bin("ansible") {
        let setup = time_runs(peer_runs, || {
            run_quiet(
                Command::new(&ansible)
                    .args(["localhost", "-c", "local", "-m", "setup"])
                    .env("ANSIBLE_LOCALHOST_WARNING", "False")
                    .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "False"),
            )
        })?;
        peers.insert("ansible localhost -c local -m setup".into(), serde_json::to_value(&setup)?);
    }

    println!("| measurement | runs | median | p95 |");
    println!("| --- | ---: | ---: | ---: |");
    let row = |name: &str, s: &Stats| println!("| {name} | {} | {:.2} ms | {:.2} ms |", s.runs, s.median_ms, s.p95_ms);
    row("`assetkit collect` (live, whole process)", &live);
    row("collect, in-process (library call)", &live_lib);
    row(&format!("`--snapshot` parse of the largest fixture ({} KB), in-process", snapshot_bytes / 1024), &parse);
    row("`assetkit collect --snapshot` (largest fixture, whole process)", &parse_cli);
    for (name, s) in &raid_parse {
        row(name, s);
    }
    for (name, s) in &peers {
        let s: Stats = serde_json::from_value(s.clone())?;
        row(&format!("`{name}`"), &s);
    }
    println!();
    for (name, s) in &peers {
        let s: Stats = serde_json::from_value(s.clone())?;
        println!("- `assetkit collect` is **{:.0}x** faster than `{name}` (median)", s.median_ms / live.median_ms);
    }
    println!(
        "- targets: live collect < 10 ms median ({}), snapshot parse < 2 ms ({})\n",
        if live.median_ms < 10.0 { "met" } else { "MISSED" },
        if parse.median_ms < 2.0 { "met" } else { "MISSED" }
    );
    let slowest_raid = raid_parse.iter().map(|(_, s)| s.median_ms).fold(0.0, f64::max);
    println!(
        "- target: each RAID capture parses in < 2 ms median ({})\n",
        if slowest_raid < 2.0 { "met" } else { "MISSED" }
    );
    let raid_json: serde_json::Map<String, serde_json::Value> = raid_parse
        .iter()
        .map(|(name, s)| Ok((name.clone(), serde_json::to_value(s)?)))
        .collect::<anyhow::Result<_>>()?;
    save(
        "collect",
        &json!({"machine": machine(), "live_cli": live, "live_lib": live_lib, "snapshot_parse": parse, "snapshot_cli": parse_cli, "snapshot_bytes": snapshot_bytes, "raid_parse": raid_json, "peers": peers}),
    )
}

/// Each RAID tool's parser over the largest capture of its kind (`tests/fixtures/raw`).
fn raid_parse_bench(raw: &std::path::Path, runs: usize) -> anyhow::Result<Vec<(String, Stats)>> {
    use assetkit_core::parse::{arcconf, ssacli, storcli};
    let read = |rel: &str| std::fs::read(raw.join(rel)).with_context(|| format!("reading {rel}"));
    let kb = |bytes: &[&[u8]]| bytes.iter().map(|b| b.len()).sum::<usize>() / 1024;
    let mut out = Vec::new();
    let hba = read("storcli/netdata__mpt3sas-controllers-info.json")?;
    let stats = time_runs(runs, || {
        let raid = storcli::parse("storcli", Some(&hba), None)?;
        anyhow::ensure!(raid.disks.len() == 29, "storcli: {} drives", raid.disks.len());
        Ok(())
    })?;
    out.push((format!("RAID parse: `storcli /call show all J`, HBA, 29 drives ({} KB)", kb(&[&hba])), stats));
    let (show, drives) = (
        read("perccli/bodik__output_7.2313_controllers_ok.json")?,
        read("perccli/bodik__output_7.2313_pdisks_ok.json")?,
    );
    let stats = time_runs(runs, || {
        let raid = storcli::parse("perccli", Some(&show), Some(&drives))?;
        anyhow::ensure!(raid.disks.len() == 12, "perccli: {} drives", raid.disks.len());
        Ok(())
    })?;
    out.push((
        format!("RAID parse: perccli show all + drives, PERC H740P, 12 drives ({} KB)", kb(&[&show, &drives])),
        stats,
    ));
    let text = String::from_utf8(read("ssacli/netdata__ssacli-P400ar.txt")?)?;
    let stats = time_runs(runs, || {
        anyhow::ensure!(ssacli::parse(&text)?.disks.len() == 8, "ssacli drives");
        Ok(())
    })?;
    out.push((
        format!("RAID parse: `ssacli ctrl all show config detail`, P440ar ({} KB)", kb(&[text.as_bytes()])),
        stats,
    ));
    let text = String::from_utf8_lossy(&read("arcconf/checkraid__issue128-getconfig")?).into_owned();
    let stats = time_runs(runs, || {
        anyhow::ensure!(arcconf::parse(1, &text)?.disks.len() == 16, "arcconf drives");
        Ok(())
    })?;
    out.push((
        format!("RAID parse: `arcconf GETCONFIG 1 AL`, ASR71605, 16 drives ({} KB)", kb(&[text.as_bytes()])),
        stats,
    ));
    // The largest BMC, LLDP and NVMe captures.
    {
        use assetkit_core::parse::{ipmitool, lldpctl, nvme};
        let fru = String::from_utf8_lossy(&read("ipmitool-fru/glpi__hp-dl360-gen7")?).into_owned();
        let lan =
            String::from_utf8_lossy(&read("ipmitool-lan/horsefishbmc__dell_ipmitool_lan_print.txt")?).into_owned();
        let stats = time_runs(runs, || {
            anyhow::ensure!(ipmitool::parse_fru(&fru).map_err(anyhow::Error::msg)?.product_serial.is_some(), "fru");
            anyhow::ensure!(ipmitool::parse_lan(&lan).map_err(anyhow::Error::msg)?.ip_address.is_some(), "lan");
            Ok(())
        })?;
        out.push((
            format!("BMC parse: `ipmitool fru print` + `lan print` ({} KB)", kb(&[fru.as_bytes(), lan.as_bytes()])),
            stats,
        ));
        let lldp = String::from_utf8_lossy(&read("lldpctl/netboxagent__cumulus.txt")?).into_owned();
        let list = String::from_utf8_lossy(&read("nvme/netdata__v2.11-nvme-list.json")?).into_owned();
        let stats = time_runs(runs, || {
            anyhow::ensure!(lldpctl::parse_keyvalue(&lldp).map_err(anyhow::Error::msg)?.len() == 2, "lldp");
            anyhow::ensure!(nvme::parse(&list).map_err(anyhow::Error::msg)?.len() == 3, "nvme");
            Ok(())
        })?;
        out.push((
            format!(
                "LLDP + NVMe parse: `lldpctl -f keyvalue`, `nvme list -o json` ({} KB)",
                kb(&[lldp.as_bytes(), list.as_bytes()])
            ),
            stats,
        ));
    }
    Ok(out)
}

/// A realistic physical host report: 8 DIMMs, 6 RAID disks, 2 NICs.
fn host_report(i: usize) -> Report {
    let modules = (0..8)
        .map(|d| MemoryModule {
            slot: Some(format!("DIMM_{}{}", (b'A' + (d / 4) as u8) as char, d % 4 + 1)),
            bank: None,
            size_bytes: Some(32 << 30),
            r#type: Some("DDR4".into()),
            speed_mts: Some(2933),
            manufacturer: Some("Hynix".into()),
            serial_number: Some(format!("M{i:05}{d:02}")),
            part_number: Some("HMA84GR7CJR4N-WM".into()),
        })
        .collect();
    let disks = (0..6)
        .map(|d| Disk {
            slot: Some(format!("32:{d}")),
            model: Some("ST2000NM0023".into()),
            vendor: Some("SEAGATE".into()),
            serial_number: Some(format!("Z1X{i:05}{d}")),
            size_bytes: Some(2_000_398_934_016),
            rotational: Some(true),
            interface: Some("sas".into()),
            firmware: Some("GS0D".into()),
            state: Some("Online, Spun Up".into()),
            source: "megacli".into(),
            ..Disk::default()
        })
        .collect();
    let nics = (0..2)
        .map(|n| Nic {
            name: format!("eno{}", n + 1),
            mac: Some(format!("e4:43:4b:{:02x}:{:02x}:{n:02x}", i / 256, i % 256)),
            up: Some(true),
            mtu: Some(1500),
            speed_mbps: Some(10_000),
            driver: Some("ixgbe".into()),
            firmware: None,
            addresses: vec![Address {
                family: "inet".into(),
                address: format!("10.{}.{}.{}", n, i / 250, i % 250 + 1),
                prefix_len: 24,
            }],
            lldp: None,
        })
        .collect();
    Report {
        schema_version: 1,
        report_id: String::new(),
        collected_at: "2026-11-26T00:00:00Z".into(),
        agent: Agent { name: "assetkit".into(), version: "bench".into(), mode: Mode::Agent, enrol_key: None },
        host: Host { hostname: Some(format!("bench-{i:05}")), cert_hostname: Some(format!("bench-{i:05}")) },
        facts: Facts {
            os: Some(Os {
                hostname: Some(format!("bench-{i:05}")),
                name: Some("Rocky Linux".into()),
                version: Some("9.3".into()),
                kernel: Some("5.14.0-362".into()),
                arch: Some("x86_64".into()),
                ..Os::default()
            }),
            system: Some(System {
                manufacturer: Some("Dell Inc.".into()),
                product_name: Some("PowerEdge R640".into()),
                serial_number: Some(format!("BENCH{i:05}")),
                ..System::default()
            }),
            memory: Some(Memory {
                total_bytes: Some(256 << 30),
                os_visible_bytes: Some(251 << 30),
                slots: Some(24),
                modules: Some(modules),
            }),
            disks: Some(disks),
            nics: Some(nics),
            ..Facts::default()
        },
        errors: vec![],
        warnings: vec![],
    }
}

/// Where a benchmark's receivers keep the inventory.
#[derive(Clone)]
enum Store {
    /// A SQLite file in a temp directory.
    Sqlite,
    /// A fresh database on the cluster whose admin database this URL names.
    Postgres(String),
}

impl Store {
    fn name(&self) -> &'static str {
        match self {
            Store::Sqlite => "SQLite",
            Store::Postgres(_) => "PostgreSQL",
        }
    }
}

static DATABASES: AtomicU64 = AtomicU64::new(0);

/// The open-loop rates (unchanged, changing), reports/s.
static RATES: std::sync::Mutex<(f64, f64)> = std::sync::Mutex::new((1500.0, 800.0));

/// `serve --writers` for PostgreSQL receivers.
static WRITERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(4);

/// `replicas` assetkitd processes on one database.
struct Receiver {
    children: Vec<std::process::Child>,
    bases: Vec<String>,
    key: (String, assetkit_sign::Secret),
    location: assetkitd::store::Location,
    /// `--db` and `--secret-key-file`, for the admin CLI.
    db_args: Vec<String>,
    /// The cluster's admin URL and the database made for this run.
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Receiver {
    /// The database, for counting what it holds.
    fn db(&self) -> anyhow::Result<Box<dyn assetkitd::store::Db + Send>> {
        Ok(assetkitd::store::connect(&self.location)?)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
        if let Some((admin, name)) = &self.pg
            && let Ok(target) = assetkitd::store::postgres::Target::parse(admin)
            && let Ok(mut db) = target.connect()
        {
            let _ = assetkitd::store::Db::batch(&mut db, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn start_receiver(store: &Store) -> anyhow::Result<Receiver> {
    start_receiver_of(&release_bin("assetkitd")?, store, 1, &[])
}

fn start_receiver_of(assetkitd: &Path, store: &Store, replicas: usize, serve: &[&str]) -> anyhow::Result<Receiver> {
    let dir = tempfile::tempdir()?;
    let (db, pg) = match store {
        Store::Sqlite => (dir.path().join("bench.db").display().to_string(), None),
        Store::Postgres(admin) => {
            let name = format!("bench_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
            let mut conn = assetkitd::store::postgres::Target::parse(admin)?.connect()?;
            assetkitd::store::Db::batch(&mut conn, &format!("CREATE DATABASE {name}"))?;
            (
                format!("{}/{name}", admin.rsplit_once('/').context("a URL with a database")?.0),
                Some((admin.clone(), name)),
            )
        }
    };
    let key_file = dir.path().join("server.key");
    let db_args = vec!["--db".to_owned(), db.clone(), "--secret-key-file".to_owned(), key_file.display().to_string()];
    let out = Command::new(assetkitd)
        .args(["keys", "create", "bench", "--scope", "agent", "--json"])
        .args(&db_args)
        .output()?;
    anyhow::ensure!(out.status.success(), "keys create failed: {}", String::from_utf8_lossy(&out.stderr));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let mut receiver = Receiver {
        children: Vec::new(),
        bases: Vec::new(),
        key: (key["key_id"].as_str().unwrap().to_owned(), assetkit_sign::Secret::new(key["secret"].as_str().unwrap())),
        location: assetkitd::store::Location::parse(&db)?,
        db_args,
        pg,
        _dir: dir,
    };
    for _ in 0..replicas.max(1) {
        let mut child = Command::new(assetkitd)
            .args(["serve", "--listen", "127.0.0.1:0", "--print-addr", "--identity", "hostname"])
            .args(&receiver.db_args)
            .args(["--writers", &WRITERS.load(Ordering::SeqCst).to_string()])
            .args(serve)
            .env("ASSETKIT_LOG", "warn")
            .env("ASSETKIT_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line)?;
        receiver.children.push(child);
        let addr = line.trim().strip_prefix("listening on ").context("assetkitd did not start")?.to_owned();
        receiver.bases.push(format!("http://{addr}"));
    }
    Ok(receiver)
}

/// A host's own credential, once the receiver issued one (each host signs with it, as agents do).
type Credentials = std::collections::HashMap<String, (String, assetkit_sign::Secret)>;

/// Posts `report` signed with `key`; the host credential the answer carries, if any.
async fn post(
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

#[derive(serde::Serialize)]
struct Phase {
    reports: u64,
    seconds: f64,
    reports_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU time per report, in microseconds: the receivers, the database server, the client.
    cpu_us: CpuPerReport,
}

#[derive(serde::Serialize, Clone, Copy, Default)]
struct CpuPerReport {
    receiver: f64,
    database: f64,
    client: f64,
}

/// CPU seconds (user + system) of a process from /proc, with its reaped children's if asked.
fn cpu_of(pid: &str, with_children: bool) -> f64 {
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
fn postgres_cpu() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0.0 };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(|e| cpu_of(&e.file_name().to_string_lossy(), true))
        .sum()
}

/// (receivers, database, this process) CPU seconds so far.
fn cpu_now(r: &Receiver) -> (f64, f64, f64) {
    let receivers = r.children.iter().map(|c| cpu_of(&c.id().to_string(), false)).sum();
    let database = if r.pg.is_some() { postgres_cpu() } else { 0.0 };
    (receivers, database, cpu_of("self", false))
}

async fn phase(
    r: Arc<Receiver>,
    hosts: Arc<Vec<Report>>,
    credentials: Arc<Credentials>,
    connections: usize,
    duration: Duration,
    changing: bool,
) -> anyhow::Result<Phase> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let cpu_before = cpu_now(&r);
    let mut tasks = Vec::new();
    for w in 0..connections {
        let (client, r, hosts, stop, counter, credentials) =
            (client.clone(), r.clone(), hosts.clone(), stop.clone(), counter.clone(), credentials.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let mut report = hosts[i % hosts.len()].clone();
                report.report_id = format!("bench-{changing}-{n}");
                if changing {
                    // Every report changes one component: the first NIC's MTU alternates.
                    report.facts.nics.as_mut().unwrap()[0].mtu = Some(if n % 2 == 0 { 9000 } else { 1500 });
                    report.facts.os.as_mut().unwrap().kernel = Some(format!("5.14.0-{}", n));
                }
                let hostname = report.host.hostname.clone().unwrap_or_default();
                let key = credentials.get(&hostname).unwrap_or(&r.key);
                let t = Instant::now();
                post(&client, &r.bases[w % r.bases.len()], key, &report).await?;
                latencies.push(t.elapsed());
                i += connections;
            }
            anyhow::Ok(latencies)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu_now(&r);
    let s = stats(all.clone());
    let per = |a: f64, b: f64| (b - a) * 1e6 / all.len().max(1) as f64;
    Ok(Phase {
        reports: all.len() as u64,
        seconds,
        reports_per_second: all.len() as f64 / seconds,
        p50_ms: s.median_ms,
        p99_ms: s.p99_ms,
        cpu_us: CpuPerReport {
            receiver: per(cpu_before.0, cpu_after.0),
            database: per(cpu_before.1, cpu_after.1),
            client: per(cpu_before.2, cpu_after.2),
        },
    })
}

/// An open-loop phase: reports sent at `rate` per second whatever the answers (as a fleet's
/// timers do), each one's latency counted from when it was due, so a stall is not hidden by
/// the sender waiting for it.
async fn phase_at_rate(
    r: Arc<Receiver>,
    hosts: Arc<Vec<Report>>,
    credentials: Arc<Credentials>,
    rate: f64,
    duration: Duration,
    changing: bool,
) -> anyhow::Result<Phase> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(512).build()?;
    let total = (rate * duration.as_secs_f64()) as u64;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let cpu_before = cpu_now(&r);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = ticks.tick().await.into_std();
        let (client, r, hosts, credentials) = (client.clone(), r.clone(), hosts.clone(), credentials.clone());
        tasks.spawn(async move {
            let i = n as usize % hosts.len();
            let mut report = hosts[i].clone();
            report.report_id = format!("rate-{changing}-{n}");
            if changing {
                report.facts.nics.as_mut().unwrap()[0].mtu = Some(if n % 2 == 0 { 9000 } else { 1500 });
                report.facts.os.as_mut().unwrap().kernel = Some(format!("5.14.0-rate-{n}"));
            }
            let hostname = report.host.hostname.clone().unwrap_or_default();
            let key = credentials.get(&hostname).unwrap_or(&r.key);
            post(&client, &r.bases[i % r.bases.len()], key, &report).await?;
            anyhow::Ok(due.elapsed())
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.push(done??);
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu_now(&r);
    let s = stats(all.clone());
    let per = |a: f64, b: f64| (b - a) * 1e6 / all.len().max(1) as f64;
    Ok(Phase {
        reports: all.len() as u64,
        seconds,
        reports_per_second: all.len() as f64 / seconds,
        p50_ms: s.median_ms,
        p99_ms: s.p99_ms,
        cpu_us: CpuPerReport {
            receiver: per(cpu_before.0, cpu_after.0),
            database: per(cpu_before.1, cpu_after.1),
            client: per(cpu_before.2, cpu_after.2),
        },
    })
}

/// One apply measurement of one build: seed, then the unchanged and the changing phase.
struct ApplyRun {
    unchanged: Phase,
    changing: Phase,
    /// The open-loop phases at the fixed rates.
    at_rate: (Phase, Phase),
    applied: i64,
    acknowledged: u64,
}

fn measure_apply(
    runtime: &tokio::runtime::Runtime,
    assetkitd: &Path,
    store: &Store,
    replicas: usize,
    reports: &Arc<Vec<Report>>,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<ApplyRun> {
    let receiver = Arc::new(start_receiver_of(assetkitd, store, replicas, &[])?);
    let outcome = runtime.block_on(async {
        // Seed: every host reports once (created, and enrolled: the fleet key's answer carries
        // the host's own credential, which signs everything after).
        let client = reqwest::Client::new();
        let mut credentials = Credentials::new();
        for (i, r) in reports.iter().enumerate() {
            let mut r = r.clone();
            r.report_id = format!("seed-{i}");
            let base = &receiver.bases[i % receiver.bases.len()];
            if let Some(credential) = post(&client, base, &receiver.key, &r).await? {
                credentials.insert(r.host.hostname.clone().unwrap_or_default(), credential);
            }
        }
        let credentials = Arc::new(credentials);
        let unchanged =
            phase(receiver.clone(), reports.clone(), credentials.clone(), connections, duration, false).await?;
        let changing =
            phase(receiver.clone(), reports.clone(), credentials.clone(), connections, duration, true).await?;
        let (u, c) = *RATES.lock().unwrap();
        let u = phase_at_rate(receiver.clone(), reports.clone(), credentials.clone(), u, duration, false).await?;
        let c = phase_at_rate(receiver.clone(), reports.clone(), credentials.clone(), c, duration, true).await?;
        anyhow::Ok((unchanged, changing, (u, c)))
    })?;
    let (unchanged, changing, at_rate) = outcome;
    let applied: i64 =
        assetkitd::store::DbExt::scalar(receiver.db()?.as_mut(), "SELECT COUNT(*) FROM applied_reports", &[])?;
    let acknowledged =
        unchanged.reports + changing.reports + at_rate.0.reports + at_rate.1.reports + reports.len() as u64;
    Ok(ApplyRun { unchanged, changing, at_rate, applied, acknowledged })
}

fn apply_bench(
    hosts: usize,
    connections: usize,
    duration: Duration,
    baseline: Option<&Path>,
    pg: Option<&str>,
    replicas: &[usize],
) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let current = release_bin("assetkitd")?;
    let reports: Arc<Vec<Report>> = Arc::new((0..hosts).map(host_report).collect());
    println!(
        "## Receiver apply ({}; {hosts} hosts, {connections} connections, client on the same machine)\n",
        machine()
    );
    if let Some(baseline) = baseline {
        return compare_apply(&runtime, baseline, &current, &reports, connections, duration);
    }
    let mut setups: Vec<(String, Store, usize)> =
        vec![("SQLite, 1 process (single writer, group commit)".into(), Store::Sqlite, 1)];
    if let Some(url) = pg {
        for &n in replicas {
            let label = format!(
                "PostgreSQL, {n} replica{} ({} writer connections each)",
                if n == 1 { "" } else { "s" },
                WRITERS.load(Ordering::SeqCst)
            );
            setups.push((label, Store::Postgres(url.to_owned()), n));
        }
    }
    println!("| store | unchanged/s | p50 | p99 | changing/s | p50 | p99 | stored / acknowledged |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    let mut results = Vec::new();
    for (label, store, n) in &setups {
        eprintln!("apply: {label}");
        let run = measure_apply(&runtime, &current, store, *n, &reports, connections, duration)?;
        println!(
            "| {label} | {:.0} | {:.2} ms | {:.2} ms | {:.0} | {:.2} ms | {:.2} ms | {} / {} ({}) |",
            run.unchanged.reports_per_second,
            run.unchanged.p50_ms,
            run.unchanged.p99_ms,
            run.changing.reports_per_second,
            run.changing.p50_ms,
            run.changing.p99_ms,
            run.applied,
            run.acknowledged,
            if run.applied as u64 == run.acknowledged { "none lost" } else { "MISMATCH" }
        );
        results.push((label.clone(), store.name(), *n, run));
    }
    let (ru, rc) = *RATES.lock().unwrap();
    println!(
        "\nAt a fixed pace (open loop: {ru:.0} unchanged/s, then {rc:.0} changing/s; latency from when each report was due):\n"
    );
    println!("| store | unchanged p50 | p99 | changing p50 | p99 |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (label, _, _, run) in &results {
        let (u, c) = &run.at_rate;
        println!("| {label} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |", u.p50_ms, u.p99_ms, c.p50_ms, c.p99_ms);
    }
    println!("\nCPU time per report (receiver processes / database server / benchmark client):\n");
    println!("| store | unchanged | changing |");
    println!("| --- | --- | --- |");
    for (label, _, _, run) in &results {
        let show = |c: CpuPerReport| format!("{:.0} / {:.0} / {:.0} µs", c.receiver, c.database, c.client);
        println!("| {label} | {} | {} |", show(run.unchanged.cpu_us), show(run.changing.cpu_us));
    }
    println!("\n- durability: SQLite synchronous=FULL in WAL mode; PostgreSQL fsync and synchronous_commit on");
    for (label, engine, n, run) in &results {
        let (u, c) = match (*engine, *n) {
            ("SQLite", _) => (3000.0, 1000.0),
            ("PostgreSQL", 1) => (1500.0, 800.0),
            _ => continue,
        };
        let (at_u, at_c) = &run.at_rate;
        println!(
            "- targets for {label}: >= {u:.0} unchanged/s ({}), >= {c:.0} changing/s ({}), p99 < 50 ms at that pace ({}; at saturation {:.0} / {:.0} ms)",
            if run.unchanged.reports_per_second >= u { "met" } else { "MISSED" },
            if run.changing.reports_per_second >= c { "met" } else { "MISSED" },
            if at_u.p99_ms < 50.0 && at_c.p99_ms < 50.0 { "met" } else { "MISSED" },
            run.unchanged.p99_ms,
            run.changing.p99_ms
        );
    }
    println!();
    save(
        "apply",
        &json!({"machine": machine(), "hosts": hosts, "connections": connections,
                "rates": [ru, rc],
                "runs": results.iter().map(|(label, engine, n, r)| json!({"store": label, "engine": engine, "replicas": n,
                    "unchanged": r.unchanged, "changing": r.changing, "unchanged_at_rate": r.at_rate.0, "changing_at_rate": r.at_rate.1,
                    "applied": r.applied, "acknowledged": r.acknowledged})).collect::<Vec<_>>()}),
    )
}

/// Two builds measured in turns on the same machine in the same run, so that drift in the
/// machine's speed hits both alike.
fn compare_apply(
    runtime: &tokio::runtime::Runtime,
    baseline: &Path,
    current: &Path,
    reports: &Arc<Vec<Report>>,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<()> {
    let mut runs: Vec<(&str, ApplyRun)> = Vec::new();
    for round in 0..2 {
        for (name, bin) in [("baseline", baseline), ("this build", current)] {
            eprintln!("apply: round {} of 2, {name}", round + 1);
            runs.push((name, measure_apply(runtime, bin, &Store::Sqlite, 1, reports, connections, duration)?));
        }
    }
    let mean = |name: &str, f: &dyn Fn(&ApplyRun) -> f64| {
        let v: Vec<f64> = runs.iter().filter(|(n, _)| *n == name).map(|(_, r)| f(r)).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let unchanged = |r: &ApplyRun| r.unchanged.reports_per_second;
    let changing = |r: &ApplyRun| r.changing.reports_per_second;
    let p99u = |r: &ApplyRun| r.unchanged.p99_ms;
    let p99c = |r: &ApplyRun| r.changing.p99_ms;
    println!("| build | unchanged/s | changing/s | unchanged p99 | changing p99 |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for name in ["baseline", "this build"] {
        println!(
            "| {name} (mean of 2) | {:.0} | {:.0} | {:.1} ms | {:.1} ms |",
            mean(name, &unchanged),
            mean(name, &changing),
            mean(name, &p99u),
            mean(name, &p99c)
        );
    }
    let ratio_u = mean("this build", &unchanged) / mean("baseline", &unchanged);
    let ratio_c = mean("this build", &changing) / mean("baseline", &changing);
    println!("\n- this build / baseline: unchanged {ratio_u:.3}, changing {ratio_c:.3}");
    for (name, r) in &runs {
        anyhow::ensure!(
            r.applied as u64 == r.acknowledged,
            "{name}: {} stored of {} acknowledged",
            r.applied,
            r.acknowledged
        );
    }
    save(
        "apply-compare",
        &json!({"machine": machine(), "baseline": baseline, "ratio_unchanged": ratio_u, "ratio_changing": ratio_c,
                "runs": runs.iter().map(|(n, r)| json!({"build": n, "unchanged": r.unchanged, "changing": r.changing})).collect::<Vec<_>>()}),
    )
}

fn sweep_bench(targets: &[usize], concurrency: usize) -> anyhow::Result<()> {
    let assetkit = release_bin("assetkit")?;
    let out = Command::new(repo().join("tests/sshd/up")).output()?;
    anyhow::ensure!(out.status.success(), "tests/sshd/up failed: {}", String::from_utf8_lossy(&out.stderr));
    let env_text = std::fs::read_to_string(String::from_utf8_lossy(&out.stdout).trim())?;
    let env: std::collections::BTreeMap<&str, &str> = env_text.lines().filter_map(|l| l.split_once('=')).collect();
    let ssh_config = env["SSH_CONFIG"];
    let receiver = start_receiver(&Store::Sqlite)?;
    let work = tempfile::tempdir()?;
    let key_file = work.path().join("key");
    std::fs::write(&key_file, receiver.key.1.expose())?;
    std::process::Command::new("chmod").arg("600").arg(&key_file).status()?;
    let config = work.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "server = \"{}\"\nkey_id = \"{}\"\nkey_file = \"{}\"\ncredentials_dir = \"{}\"\n",
            receiver.bases[0],
            receiver.key.0,
            key_file.display(),
            work.path().join("credentials").display()
        ),
    )?;
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .map(str::to_owned)
        .unwrap_or_else(|| "python3".into());
    println!("## SSH sweep ({}; loopback sshd, concurrency {concurrency})\n", machine());
    println!("| targets | assetkit sweep | hosts/min | ansible -m setup | hosts/min | ratio |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for &n in targets {
        let hosts = work.path().join(format!("hosts-{n}"));
        std::fs::write(&hosts, (1..=n).map(|i| format!("node-{i}\n")).collect::<String>())?;
        let t = Instant::now();
        let status = Command::new(&assetkit)
            .arg("--config")
            .arg(&config)
            .args(["sweep", "--concurrency", &concurrency.to_string(), "-F", ssh_config, "--hosts"])
            .arg(&hosts)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        let ours = t.elapsed();
        anyhow::ensure!(status.success(), "assetkit sweep of {n} hosts failed");
        let inventory = work.path().join(format!("inventory-{n}.ini"));
        std::fs::write(
            &inventory,
            format!(
                "[all]\n{}\n[all:vars]\nansible_ssh_common_args='-F {ssh_config}'\nansible_python_interpreter={python}\n",
                (1..=n).map(|i| format!("node-{i}")).collect::<Vec<_>>().join("\n")
            ),
        )?;
        let ansible = venv_bin("ansible").context("ansible not in .venv: run `make deps`")?;
        let t = Instant::now();
        let status = Command::new(&ansible)
            .args(["all", "-i"])
            .arg(&inventory)
            .args(["-m", "setup", "-f", &concurrency.to_string()])
            .env("ANSIBLE_HOST_KEY_CHECKING", "False")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        let theirs = t.elapsed();
        anyhow::ensure!(status.success(), "ansible setup of {n} hosts failed");
        let (a, b) = (n as f64 / ours.as_secs_f64() * 60.0, n as f64 / theirs.as_secs_f64() * 60.0);
        println!(
            "| {n} | {:.1} s | {a:.0} | {:.1} s | {b:.0} | **{:.1}x** |",
            ours.as_secs_f64(),
            theirs.as_secs_f64(),
            a / b
        );
        rows.push(json!({"targets": n, "assetkit_s": ours.as_secs_f64(), "assetkit_hosts_per_min": a, "ansible_s": theirs.as_secs_f64(), "ansible_hosts_per_min": b, "ratio": a / b}));
    }
    println!(
        "\n- assetkit sweep includes parsing, signing and sending every report to a real assetkitd; target >= 5x Ansible\n"
    );
    save("sweep", &json!({"machine": machine(), "concurrency": concurrency, "rows": rows}))
}

/// Fills the receiver's database with `n` realistic assets in one transaction, straight
/// through SQL: the same rows on either engine.
fn seed_assets(r: &Receiver, n: usize) -> anyhow::Result<()> {
    match &r.location {
        assetkitd::store::Location::Sqlite(path) => seed_sqlite(path, n)?,
        assetkitd::store::Location::Postgres(_) => seed_postgres(r.db()?.as_mut(), n)?,
    }
    // What the receiver's minutely maintenance does after a bulk write: one row per status.
    assetkitd::domain::maintenance::fold_counts(r.db()?.as_mut())?;
    Ok(())
}

/// [`seed_assets`] on PostgreSQL, generated in the server (a million rows in seconds).
fn seed_postgres(db: &mut dyn assetkitd::store::Db, n: usize) -> anyhow::Result<()> {
    let now = assetkit_sign::unix_now();
    db.batch(
        "BEGIN; \
         INSERT INTO business_units (id, name) VALUES (1, 'payments'), (2, 'search'), (3, 'storage'), (4, 'ml'), (5, 'web'), (6, 'infra'); \
         INSERT INTO idcs (id, name) SELECT i, 'dc' || i FROM generate_series(1, 8) i",
    )?;
    db.execute(
        "INSERT INTO assets (hostname, reported_hostname, serial_number, status, manufacturer, model, os, cpu_model, cpu_cores, \
         memory_bytes, ips, macs, business_unit_id, idc_id, rack, position, source, first_seen, last_seen, created_at, updated_at) \
         SELECT h, h, 'SN' || upper(lpad(to_hex((i * 2654435761) % 4294967291), 8, '0')), \
           CASE i % 20 WHEN 0 THEN 'discovered' WHEN 1 THEN 'in_stock' WHEN 2 THEN 'retired' ELSE 'online' END, \
           'Dell Inc.', 'PowerEdge R640', 'Rocky Linux 9.3', 'Intel(R) Xeon(R) Gold 6244 CPU @ 3.60GHz', 16, 274877906944, \
           format('10.%s.%s.%s 10.200.%s.%s', i / 65536 % 256, i / 256 % 256, i % 256, i / 256 % 256, i % 256), \
           format('e4:43:4b:%s:%s:%s', lpad(to_hex(i / 65536 % 256), 2, '0'), lpad(to_hex(i / 256 % 256), 2, '0'), lpad(to_hex(i % 256), 2, '0')), \
           i % 6 + 1, i % 8 + 1, 'R' || lpad((i % 48)::text, 2, '0'), 'U' || (i % 42 + 1), 'report', ?2 - 86400 * 90, \
           CASE WHEN i % 17 = 0 THEN ?2 - 30 * 86400 ELSE ?2 - i % 3600 END, ?2 - 86400 * 90, \
           CASE WHEN i % 17 = 0 THEN ?2 - 30 * 86400 ELSE ?2 - i % 3600 END \
         FROM (SELECT i, (ARRAY['web', 'db', 'cache', 'batch', 'gpu'])[i % 5 + 1] || '-' || lpad(i::text, 6, '0') || '.dc' || (i % 8 + 1) || '.example.com' AS h \
               FROM generate_series(0::bigint, ?1 - 1) i) s",
        &[assetkitd::store::Value::from(n), assetkitd::store::Value::from(now)],
    )?;
    db.execute(SEED_CHANGES, &[assetkitd::store::Value::from(now)])?;
    db.batch(
        "SELECT setval(pg_get_serial_sequence('business_units', 'id'), 7, false); \
         SELECT setval(pg_get_serial_sequence('idcs', 'id'), 9, false); COMMIT",
    )?;
    // What autovacuum does within a minute of a bulk load (statistics, the visibility map that
    // index-only counts rely on); measured after it, not during.
    db.batch("VACUUM ANALYZE assets")?;
    db.batch("VACUUM ANALYZE changes")?;
    Ok(())
}

/// [`seed_assets`] on SQLite.
fn seed_sqlite(db: &Path, n: usize) -> anyhow::Result<()> {
    let mut conn = rusqlite::Connection::open(db)?;
    let tx = conn.transaction()?;
    for (i, bu) in ["payments", "search", "storage", "ml", "web", "infra"].iter().enumerate() {
        tx.execute("INSERT INTO business_units (id, name) VALUES (?1, ?2)", rusqlite::params![i as i64 + 1, bu])?;
    }
    for i in 1..=8 {
        tx.execute("INSERT INTO idcs (id, name) VALUES (?1, ?2)", rusqlite::params![i, format!("dc{i}")])?;
    }
    let now = assetkit_sign::unix_now();
    {
        let mut insert = tx.prepare(
            "INSERT INTO assets (hostname, reported_hostname, serial_number, status, manufacturer, model, os, cpu_model, cpu_cores, \
             memory_bytes, ips, macs, business_unit_id, idc_id, rack, position, source, first_seen, last_seen, created_at, updated_at) \
             VALUES (?1, ?1, ?2, ?3, 'Dell Inc.', 'PowerEdge R640', 'Rocky Linux 9.3', 'Intel(R) Xeon(R) Gold 6244 CPU @ 3.60GHz', 16, \
             274877906944, ?4, ?5, ?6, ?7, ?8, ?9, 'report', ?10, ?11, ?10, ?11)",
        )?;
        for i in 0..n {
            let status = match i % 20 {
                0 => "discovered",
                1 => "in_stock",
                2 => "retired",
                _ => "online",
            };
            let last_seen = if i % 17 == 0 { now - 30 * 86_400 } else { now - (i % 3600) as i64 };
            insert.execute(rusqlite::params![
                format!("{}-{:06}.dc{}.example.com", ["web", "db", "cache", "batch", "gpu"][i % 5], i, i % 8 + 1),
                format!("SN{:08X}", i * 2_654_435_761 % 4_294_967_291),
                status,
                format!("10.{}.{}.{} 10.200.{}.{}", i / 65_536 % 256, i / 256 % 256, i % 256, i / 256 % 256, i % 256),
                format!("e4:43:4b:{:02x}:{:02x}:{:02x}", i / 65_536 % 256, i / 256 % 256, i % 256),
                (i % 6 + 1) as i64,
                (i % 8 + 1) as i64,
                format!("R{:02}", i % 48),
                format!("U{}", i % 42 + 1),
                now - 86_400 * 90,
                last_seen,
            ])?;
        }
    }
    tx.execute(SEED_CHANGES, rusqlite::params![now])?;
    tx.commit()?;
    Ok(())
}

/// Change events for the dashboard's 30-day chart and hardware list: one for every tenth asset,
/// spread over 30 days and over disks, DIMMs, NICs, the OS and admin edits.
const SEED_CHANGES: &str = "INSERT INTO changes (asset_id, at, component, key, kind, field, old, new, actor, summary) \
     SELECT id, ?1 - (id / 10 % 30) * 86400 - id % 3600, \
       CASE id / 10 % 7 WHEN 0 THEN 'disk' WHEN 1 THEN 'memory_module' WHEN 2 THEN 'nic' WHEN 3 THEN 'psu' \
         WHEN 4 THEN 'os' WHEN 5 THEN 'bios' ELSE 'asset' END, \
       'slot-1', 'changed', 'serial_number', 'OLD', 'NEW', NULL, 'bench: part replaced' \
     FROM assets WHERE id % 10 = 0";

fn console_bench(assets: usize, requests: usize, store: &Store) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let assetkitd = release_bin("assetkitd")?;
    let receiver = start_receiver(store)?;
    println!("## Console asset list with {assets} assets on {} ({})\n", store.name(), machine());
    let seeded = Instant::now();
    seed_assets(&receiver, assets)?;
    let seed_s = seeded.elapsed().as_secs_f64();
    let pw = receiver._dir.path().join("pw");
    std::fs::write(&pw, "benchmark-password-1")?;
    run_quiet(
        Command::new(&assetkitd)
            .args(["users", "create", "--name", "bench", "--password-file"])
            .arg(&pw)
            .args(&receiver.db_args),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        let login = client.get(format!("{}/login", receiver.bases[0])).send().await?;
        let cookie = login
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .unwrap_or("")
            .to_owned();
        let html = login.text().await?;
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .context("no csrf in the login page")?
            .to_owned();
        let resp = client
            .post(format!("{}/login", receiver.bases[0]))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&next=%2Fassets&username=bench&password=benchmark-password-1"))
            .send()
            .await?;
        let session = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("assetkit_session="))
            .and_then(|c| c.split(';').next())
            .context("login failed")?
            .to_owned();
        let variants = [
            ("first page, sorted by hostname", "/assets".to_owned()),
            ("status filter (online)", "/assets?status=online".to_owned()),
            ("offline (derived from last_seen)", "/assets?status=offline".to_owned()),
            ("business unit + IDC filter", "/assets?business_unit=payments&idc=dc1".to_owned()),
            ("free-text search (IP fragment)", "/assets?q=10.7.12".to_owned()),
            ("sorted by last seen", "/assets?sort=-last_seen".to_owned()),
            ("page 1000 of the whole list", "/assets?page=1000".to_owned()),
            ("dashboard (home page)", "/".to_owned()),
        ];
        println!("(seeded in {seed_s:.1} s)\n");
        println!("| list page | server render p50 | p95 | client wall p95 |");
        println!("| --- | ---: | ---: | ---: |");
        let mut rows = Vec::new();
        let mut worst: f64 = 0.0;
        for (name, path) in &variants {
            let mut server = Vec::new();
            let mut wall = Vec::new();
            for _ in 0..requests {
                let t = Instant::now();
                let resp = client.get(format!("{}{path}", receiver.bases[0])).header("cookie", &session).send().await?;
                anyhow::ensure!(resp.status().as_u16() == 200, "{path}: {}", resp.status());
                let timing = resp
                    .headers()
                    .get("server-timing")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split("dur=").nth(1))
                    .and_then(|d| d.parse::<f64>().ok())
                    .unwrap_or(0.0);
                let _ = resp.bytes().await?;
                wall.push(t.elapsed());
                server.push(Duration::from_secs_f64(timing / 1000.0));
            }
            let (s, w) = (stats(server), stats(wall));
            worst = worst.max(s.p95_ms);
            println!("| {name} | {:.1} ms | {:.1} ms | {:.1} ms |", s.median_ms, s.p95_ms, w.p95_ms);
            rows.push(json!({"page": name, "path": path, "server": s, "wall": w}));
        }
        println!("\n- target: p95 < 100 ms ({})\n", if worst < 100.0 { "met" } else { "MISSED" });
        save(
            &format!("console-{}", store.name().to_lowercase()),
            &json!({"machine": machine(), "engine": store.name(), "assets": assets, "rows": rows}),
        )
    })
}

/// A process's peak resident memory (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM")?;
    Ok(kib / 1024.0)
}

fn export_bench(assets: usize, store: &Store) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let assetkitd = release_bin("assetkitd")?;
    let receiver = start_receiver(store)?;
    seed_assets(&receiver, assets)?;
    let out = Command::new(&assetkitd)
        .args(["keys", "create", "bench-export", "--scope", "read", "--json"])
        .args(&receiver.db_args)
        .output()?;
    anyhow::ensure!(out.status.success(), "keys create: {}", String::from_utf8_lossy(&out.stderr));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let key = (
        key["key_id"].as_str().context("key_id")?.to_owned(),
        assetkit_sign::Secret::new(key["secret"].as_str().context("secret")?),
    );
    let pid = receiver.children[0].id();
    println!("## Exports of {assets} assets on {} ({})\n", store.name(), machine());
    println!("| export | time | rows/s | size | server peak RSS before → after |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut rows = Vec::new();
    for path in ["/api/v1/assets.csv", "/api/v1/assets.xlsx"] {
        let before = peak_rss_mib(pid)?;
        let started = Instant::now();
        let bytes = runtime.block_on(async {
            let h = assetkit_sign::sign(&key.0, &key.1, "GET", path, b"");
            let mut req = reqwest::Client::new().get(format!("{}{path}", receiver.bases[0]));
            for (n, v) in h.pairs() {
                req = req.header(n, v);
            }
            let mut resp = req.send().await?;
            anyhow::ensure!(resp.status().as_u16() == 200, "{path}: {}", resp.status());
            let mut n = 0usize;
            while let Some(chunk) = resp.chunk().await? {
                n += chunk.len();
            }
            Ok(n)
        })?;
        let secs = started.elapsed().as_secs_f64();
        let after = peak_rss_mib(pid)?;
        println!(
            "| {path} | {secs:.2} s | {:.0} | {:.1} MiB | {before:.0} → {after:.0} MiB |",
            assets as f64 / secs,
            bytes as f64 / (1 << 20) as f64
        );
        rows.push(json!({"path": path, "seconds": secs, "bytes": bytes, "peak_rss_mib_before": before,
                         "peak_rss_mib_after": after}));
    }
    println!();
    save(
        &format!("export-{}", store.name().to_lowercase()),
        &json!({"machine": machine(), "engine": store.name(), "assets": assets, "rows": rows}),
    )
}

fn import_bench(rows: usize, runs: usize) -> anyhow::Result<()> {
    let assetkitd = release_bin("assetkitd")?;
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("purchase.csv");
    let mut text = String::from("SN,Vendor,Model,CPU,Memory,Disks,IDC,Rack,Position,Purchase Date,Warranty End\n");
    for i in 0..rows {
        text.push_str(&format!(
            "IMP{i:07},Dell,PowerEdge R650,Gold 6342,512GB,8x3.84TB,dc{},R{:02},U{},2025-01-15,2030-01-15\n",
            i % 8,
            i % 48,
            i % 42
        ));
    }
    std::fs::write(&csv, text)?;
    let mut n = 0;
    let s = time_runs(runs, || {
        n += 1;
        let db = dir.path().join(format!("import-{n}.db"));
        run_quiet(Command::new(&assetkitd).arg("import").arg(&csv).arg("--db").arg(&db))
    })?;
    println!("## Purchase-list import ({})\n", machine());
    println!(
        "- `assetkitd import` of a {rows}-row csv into a fresh database: median {:.0} ms, p95 {:.0} ms over {} runs (parse, check, one transaction)\n",
        s.median_ms, s.p95_ms, s.runs
    );
    save("import", &json!({"machine": machine(), "rows": rows, "stats": s}))
}

/// Runs `f` on a thread of its own: the PostgreSQL driver starts its own runtime, which cannot
/// start inside this one.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
}

/// Posts the first report of `reports` distinct hosts over `connections`; when each was
/// acknowledged, by hostname, and the whole time.
async fn discover_all(
    r: &Receiver,
    reports: usize,
    connections: usize,
) -> anyhow::Result<(HashMap<String, Instant>, Duration)> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build()?;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..connections {
        let (client, next, base, key) = (client.clone(), next.clone(), r.bases[0].clone(), r.key.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= reports {
                    break;
                }
                let mut report = host_report(i);
                report.report_id = format!("hook-{w}-{i}");
                post(&client, &base, &key, &report).await?;
                acked.push((report.host.hostname.clone().unwrap_or_default(), Instant::now()));
            }
            anyhow::Ok(acked)
        }));
    }
    let mut acked = HashMap::new();
    for t in tasks {
        acked.extend(t.await??);
    }
    Ok((acked, started.elapsed()))
}

fn webhook_bench(reports: usize, connections: usize, store: &Store) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let assetkitd = release_bin("assetkitd")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        // The endpoint: notes when each host's alert arrived.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
        let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let host = event["asset"]["hostname"].as_str().unwrap_or_default().to_owned();
                let _ = tx.send((host, Instant::now()));
                axum::http::StatusCode::NO_CONTENT
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let sink = tokio::spawn(async move { axum::serve(listener, app).await });

        let plain = off_runtime(|| start_receiver(store))?;
        let (_, without) = discover_all(&plain, reports, connections).await?;
        off_runtime(move || drop(plain));

        let dir = tempfile::tempdir()?;
        let secret = dir.path().join("hook.secret");
        std::fs::write(&secret, "bench-webhook-secret-0123456789")?;
        std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let with_webhook = |serve: &[&str]| -> anyhow::Result<Receiver> {
            let r = off_runtime(|| start_receiver_of(&assetkitd, store, 1, serve))?;
            let out = Command::new(&assetkitd)
                .args(["webhooks", "add", "--url", &url, "--secret-file", &secret.display().to_string()])
                .args(&r.db_args)
                .env("ASSETKIT_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
                .output()?;
            anyhow::ensure!(out.status.success(), "webhooks add: {}", String::from_utf8_lossy(&out.stderr));
            Ok(r)
        };
        // The outbox alone: no worker in this receiver, nothing sent meanwhile.
        let parked = with_webhook(&["--no-webhook-worker"])?;
        let (_, queued) = discover_all(&parked, reports, connections).await?;
        off_runtime(move || drop(parked));

        // Everything at once on this machine: reports, deliveries and the endpoint.
        let r = with_webhook(&[])?;
        let first = Instant::now();
        let (acked, with) = discover_all(&r, reports, connections).await?;
        let mut arrived: HashMap<String, Instant> = HashMap::new();
        while arrived.len() < reports {
            let (host, at) = tokio::time::timeout(Duration::from_secs(120), rx.recv())
                .await
                .context("alerts stopped arriving")?
                .context("endpoint gone")?;
            arrived.entry(host).or_insert(at);
        }
        let last = arrived.values().max().copied().unwrap_or(first);
        let delays: Vec<Duration> =
            acked.iter().filter_map(|(h, at)| arrived.get(h).map(|a| a.saturating_duration_since(*at))).collect();
        let lag = stats(delays);
        // At a fleet's pace: one report at a time, each alert awaited.
        let client = reqwest::Client::new();
        let mut alone = Vec::new();
        for i in 0..200 {
            let mut report = host_report(reports + i);
            report.report_id = format!("hook-alone-{i}");
            let sent = Instant::now();
            post(&client, &r.bases[0], &r.key, &report).await?;
            let (_, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .context("the alert did not arrive")?
                .context("endpoint gone")?;
            alone.push(at.saturating_duration_since(sent));
        }
        let alone = stats(alone);
        sink.abort();
        off_runtime(move || drop(r));
        let rate = |d: Duration| reports as f64 / d.as_secs_f64();
        println!("## Webhooks on {} ({})\n", store.name(), machine());
        println!("| measurement | value |");
        println!("| --- | ---: |");
        println!("| {reports} discovery reports applied, no webhook | {:.0} reports/s |", rate(without));
        println!(
            "| the same with one webhook, deliveries parked (the outbox row alone) | {:.0} reports/s ({:.2}x) |",
            rate(queued),
            rate(queued) / rate(without)
        );
        println!(
            "| the same while delivering to a local endpoint (same 2 cores) | {:.0} reports/s ({:.2}x) |",
            rate(with),
            rate(with) / rate(without)
        );
        println!("| alerts delivered, first report to last alert | {:.0} alerts/s |", rate(last - first));
        println!(
            "| during the burst: report acknowledged → alert at the endpoint | p50 {:.0} ms, p99 {:.0} ms |",
            lag.median_ms, lag.p99_ms
        );
        println!(
            "| one report at a time: report sent → alert at the endpoint | p50 {:.1} ms, p99 {:.1} ms |\n",
            alone.median_ms, alone.p99_ms
        );
        save(
            &format!("webhooks-{}", store.name().to_lowercase()),
            &json!({"machine": machine(), "engine": store.name(), "reports": reports, "connections": connections,
                    "apply_without_per_s": rate(without), "apply_queued_per_s": rate(queued),
                    "apply_while_delivering_per_s": rate(with),
                    "delivered_per_s": rate(last - first), "lag_p50_ms": lag.median_ms, "lag_p99_ms": lag.p99_ms,
                    "alone_p50_ms": alone.median_ms, "alone_p99_ms": alone.p99_ms}),
        )
    })
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        What::Collect { runs, peer_runs } => collect_bench(runs, peer_runs),
        What::Apply { hosts, connections, duration, baseline, pg, replicas, rates, writers } => {
            WRITERS.store(writers, Ordering::SeqCst);
            anyhow::ensure!(rates.len() == 2, "--rates takes two numbers: unchanged,changing");
            *RATES.lock().unwrap() = (rates[0], rates[1]);
            apply_bench(hosts, connections, duration, baseline.as_deref(), pg.as_deref(), &replicas)
        }
        What::Sweep { targets, concurrency } => sweep_bench(&targets, concurrency),
        What::Console { assets, requests, pg } => {
            console_bench(assets, requests, &pg.map_or(Store::Sqlite, Store::Postgres))
        }
        What::Export { assets, pg } => export_bench(assets, &pg.map_or(Store::Sqlite, Store::Postgres)),
        What::Import { rows, runs } => import_bench(rows, runs),
        What::Webhooks { reports, connections, pg } => {
            webhook_bench(reports, connections, &pg.map_or(Store::Sqlite, Store::Postgres))
        }
        What::All => {
            collect_bench(200, 10)?;
            apply_bench(500, 64, Duration::from_secs(20), None, None, &[])?;
            sweep_bench(&[50, 200], 32)?;
            console_bench(100_000, 200, &Store::Sqlite)?;
            export_bench(100_000, &Store::Sqlite)?;
            import_bench(10_000, 5)?;
            webhook_bench(5000, 32, &Store::Sqlite)
        }
    }
}
