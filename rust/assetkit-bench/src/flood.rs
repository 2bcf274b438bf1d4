//! The one-host flood: a host credential sending as fast as it can with the heaviest reports the
//! receiver accepts, then a fleet key minting new assets as fast as it can, each for a while,
//! against a receiver with the documented default budgets. Meanwhile an ordinary enrolled host
//! reports at a fleet's pace; its latency, and the database's growth, are what the budgets protect.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use assetkit_core::model::{Disk, Report};
use serde_json::json;

use crate::receiver::{Budgets, Receiver, Store, post, start_receiver_with};
use crate::reports::host_report;
use crate::support::{Stats, machine, off_runtime, release_bin, save, stats};

/// The body size limit of `assetkitd serve` (`--max-body`, 2 MiB): flood reports stay under it.
const MAX_BODY: usize = 2 << 20;
/// Concurrent connections of the flooding sender.
const FLOOD_CONNECTIONS: usize = 16;
/// Requests a second on each of them (16 × 10 = 160 a second, 320 times a host's budget).
const PER_CONNECTION_RATE: u32 = 10;
/// How often one of the bystanders reports.
const BYSTANDER_EVERY: Duration = Duration::from_millis(100);
/// Enrolled bystander hosts taking turns, so that each stays inside its own budget (30 reports a
/// minute): 25 hosts, one report every 100 ms, is one report per host every 2.5 s.
const BYSTANDERS: usize = 25;

/// What one flood phase did.
#[derive(serde::Serialize)]
struct Outcome {
    phase: &'static str,
    sent: u64,
    accepted: u64,
    over_budget: u64,
    /// The flood's own applied reports, sent to answered.
    flood_applied: Stats,
    bystander: Stats,
    bystander_failures: u64,
    db_growth_bytes: i64,
    assets_created: i64,
    changes_written: i64,
}

/// Status of a signed report post, without insisting on 200.
async fn send(client: &reqwest::Client, base: &str, key: &(String, assetkit_sign::Secret), body: &[u8]) -> u16 {
    let h = assetkit_sign::sign(&key.0, &key.1, "POST", "/api/v1/reports", body);
    let mut req = client.post(format!("{base}/api/v1/reports")).body(body.to_vec());
    for (n, v) in h.pairs() {
        req = req.header(n, v);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let _ = resp.bytes().await;
            status
        }
        Err(_) => 0,
    }
}

/// The heaviest report one host can send: as many disks as fit under the body limit, every
/// serial new in each report, so each one that is applied changes everything it can.
fn heavy_report(n: u64) -> anyhow::Result<Report> {
    static FITTING: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let build = |n: u64, disks: usize| {
        let mut report = host_report(0);
        report.host.hostname = Some("flood-01".into());
        report.facts.os.as_mut().expect("os facts").hostname = Some("flood-01".into());
        let template = report.facts.disks.as_ref().and_then(|d| d.first()).cloned().unwrap_or_default();
        report.facts.disks = Some(
            (0..disks)
                .map(|d| Disk {
                    slot: Some(format!("{}:{}", d / 64, d % 64)),
                    serial_number: Some(format!("F{n:08}{d:05}")),
                    ..template.clone()
                })
                .collect(),
        );
        report
    };
    let fitting = *FITTING.get_or_init(|| {
        let mut disks = 4096;
        while disks > 16 && serde_json::to_vec(&build(0, disks)).map_or(usize::MAX, |b| b.len()) > MAX_BODY - 4096 {
            disks = disks * 9 / 10;
        }
        disks
    });
    Ok(build(n, fitting))
}

/// Bytes the database takes on disk now.
fn db_bytes(r: &Receiver) -> anyhow::Result<i64> {
    match &r.location {
        assetkitd::store::Location::Sqlite(path) => Ok(["", "-wal"]
            .iter()
            .map(|s| std::fs::metadata(format!("{}{s}", path.display())).map_or(0, |m| m.len() as i64))
            .sum()),
        assetkitd::store::Location::Postgres(_) => {
            Ok(assetkitd::store::DbExt::scalar(r.db()?.as_mut(), "SELECT pg_database_size(current_database())", &[])?)
        }
    }
}

fn count(r: &Receiver, sql: &str) -> anyhow::Result<i64> {
    Ok(assetkitd::store::DbExt::scalar(r.db()?.as_mut(), sql, &[])?)
}

type Key = (String, assetkit_sign::Secret);
/// Builds the n-th flooding report and the key that signs it.
type Flooder = Arc<dyn Fn(u64) -> anyhow::Result<(Report, Key)> + Send + Sync>;

/// Enrolled hosts taking turns to report, one every `BYSTANDER_EVERY` until `stop`: latencies
/// and failures.
async fn bystander(
    r: Arc<Receiver>,
    keys: Arc<Vec<Key>>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let client = reqwest::Client::new();
    let (mut latencies, mut failures) = (Vec::new(), 0);
    let mut every = tokio::time::interval(BYSTANDER_EVERY);
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        every.tick().await;
        n += 1;
        let host = n as usize % keys.len();
        let mut report = host_report(1 + host);
        report.report_id = format!("bystander-{n}");
        report.facts.os.as_mut().expect("os facts").kernel = Some(format!("5.14.0-{n}"));
        let t = Instant::now();
        if send(&client, &r.bases[0], &keys[host], &serde_json::to_vec(&report)?).await == 200 {
            latencies.push(t.elapsed());
        } else {
            failures += 1;
        }
    }
    Ok((latencies, failures))
}

/// One phase: `make` builds the n-th flooding report and picks its key; the flood runs for
/// `duration` on `FLOOD_CONNECTIONS` connections beside the bystander.
async fn flood_phase(
    r: Arc<Receiver>,
    phase: &'static str,
    bystanders: Arc<Vec<Key>>,
    duration: Duration,
    make: Flooder,
) -> anyhow::Result<Outcome> {
    let (before, assets_before, changes_before) = {
        let r = r.clone();
        off_runtime(move || -> anyhow::Result<_> {
            Ok((db_bytes(&r)?, count(&r, "SELECT COUNT(*) FROM assets")?, count(&r, "SELECT COUNT(*) FROM changes")?))
        })?
    };
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(bystander(r.clone(), bystanders, stop.clone()));
    let (sent, accepted, refused) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let client = reqwest::Client::builder().pool_max_idle_per_host(FLOOD_CONNECTIONS).build()?;
    let mut tasks = Vec::new();
    for _ in 0..FLOOD_CONNECTIONS {
        let (client, r, stop, make) = (client.clone(), r.clone(), stop.clone(), make.clone());
        let (sent, accepted, refused) = (sent.clone(), accepted.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            // A refused report is sent again as it was (a new one is built only once one is
            // applied), at most `PER_CONNECTION_RATE` a second: the flood is the receiver's
            // load, not this process's on the same cores.
            let mut pace = tokio::time::interval(Duration::from_secs(1) / PER_CONNECTION_RATE);
            let mut pending: Option<(Vec<u8>, Key)> = None;
            let mut applied = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                pace.tick().await;
                let n = sent.fetch_add(1, Ordering::Relaxed);
                let (body, key) = match pending.take() {
                    Some(p) => p,
                    None => {
                        let (report, key) = make(n)?;
                        (serde_json::to_vec(&report)?, key)
                    }
                };
                let t = Instant::now();
                match send(&client, &r.bases[0], &key, &body).await {
                    200 => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                        applied.push(t.elapsed());
                    }
                    429 => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        pending = Some((body, key));
                    }
                    _ => pending = Some((body, key)),
                }
            }
            anyhow::Ok(applied)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut applied = Vec::new();
    for t in tasks {
        applied.extend(t.await??);
    }
    let (latencies, bystander_failures) = watcher.await??;
    let r2 = r.clone();
    let (after, assets_after, changes_after) = off_runtime(move || -> anyhow::Result<_> {
        Ok((db_bytes(&r2)?, count(&r2, "SELECT COUNT(*) FROM assets")?, count(&r2, "SELECT COUNT(*) FROM changes")?))
    })?;
    Ok(Outcome {
        phase,
        sent: sent.load(Ordering::Relaxed),
        accepted: accepted.load(Ordering::Relaxed),
        over_budget: refused.load(Ordering::Relaxed),
        flood_applied: stats(applied),
        bystander: stats(latencies),
        bystander_failures,
        db_growth_bytes: after - before,
        assets_created: assets_after - assets_before,
        changes_written: changes_after - changes_before,
    })
}

/// Enrols the flooder and the bystanders with the fleet key; their credentials.
async fn enrol(r: &Receiver) -> anyhow::Result<(Key, Vec<Key>)> {
    let client = reqwest::Client::new();
    let mut flooder = host_report(0);
    flooder.host.hostname = Some("flood-01".into());
    flooder.facts.os.as_mut().expect("os facts").hostname = Some("flood-01".into());
    flooder.report_id = "enrol-flood".into();
    let issued = |k: Option<Key>| k.ok_or_else(|| anyhow::anyhow!("the receiver issued no host credential"));
    let flooder = issued(post(&client, &r.bases[0], &r.key, &flooder).await?)?;
    let mut bystanders = Vec::new();
    for i in 1..=BYSTANDERS {
        let mut report = host_report(i);
        report.report_id = format!("enrol-{i}");
        bystanders.push(issued(post(&client, &r.bases[0], &r.key, &report).await?)?);
    }
    Ok((flooder, bystanders))
}

/// `assetkit-bench flood`: both phases on one store, with the default budgets.
pub(crate) fn flood_bench(duration: Duration, store: &Store) -> anyhow::Result<()> {
    let assetkitd = release_bin("assetkitd")?;
    let r = Arc::new(off_runtime(|| start_receiver_with(&assetkitd, store, 1, &[], Budgets::Default))?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcomes = runtime.block_on(async {
        let (flooder, bystanders) = enrol(&r).await?;
        let bystanders = Arc::new(bystanders);
        // The bystander alone first: the latency the flood is compared with.
        let quiet = {
            let stop = Arc::new(AtomicBool::new(false));
            let task = tokio::spawn(bystander(r.clone(), bystanders.clone(), stop.clone()));
            tokio::time::sleep(Duration::from_secs(10)).await;
            stop.store(true, Ordering::Relaxed);
            task.await??.0
        };
        let heavy: Flooder = {
            let flooder = flooder.clone();
            Arc::new(move |n| {
                let mut report = heavy_report(n)?;
                report.report_id = format!("flood-{n}");
                Ok((report, flooder.clone()))
            })
        };
        let host = flood_phase(r.clone(), "one host credential", bystanders.clone(), duration, heavy).await?;
        let fleet_key = r.key.clone();
        let mint: Flooder = Arc::new(move |n| {
            let mut report = host_report(10_000 + n as usize);
            report.report_id = format!("mint-{n}");
            Ok((report, fleet_key.clone()))
        });
        let fleet = flood_phase(r.clone(), "fleet key minting assets", bystanders, duration, mint).await?;
        anyhow::Ok((stats(quiet), host, fleet))
    })?;
    off_runtime(move || drop(r));
    let (quiet, host, fleet) = outcomes;
    print_flood(store, duration, &quiet, &[&host, &fleet]);
    save(
        &format!("flood-{}", store.name().to_lowercase()),
        &json!({"machine": machine(), "engine": store.name(), "seconds": duration.as_secs(),
                "bystander_alone": quiet, "phases": [host, fleet]}),
    )
}

fn print_flood(store: &Store, duration: Duration, quiet: &Stats, outcomes: &[&Outcome]) {
    println!("## The flood on {} for {} s each ({})\n", store.name(), duration.as_secs(), machine());
    println!("The flood: {FLOOD_CONNECTIONS} connections, each sending up to {PER_CONNECTION_RATE} requests a second.");
    println!(
        "{BYSTANDERS} enrolled bystanders take turns to report, one every {} ms, throughout.\n",
        BYSTANDER_EVERY.as_millis()
    );
    println!(
        "| phase | sent | applied | 429 over_budget | bystander p50 / p99 | bystander failures | assets created | change rows | database growth |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!("| bystander alone (10 s) | | | | {:.1} / {:.1} ms | | | | |", quiet.median_ms, quiet.p99_ms);
    for o in outcomes {
        println!(
            "| {} | {} | {} ({:.0} ms) | {} | {:.1} / {:.1} ms | {} | {} | {} | {:.1} MiB |",
            o.phase,
            o.sent,
            o.accepted,
            o.flood_applied.median_ms,
            o.over_budget,
            o.bystander.median_ms,
            o.bystander.p99_ms,
            o.bystander_failures,
            o.assets_created,
            o.changes_written,
            o.db_growth_bytes as f64 / f64::from(1 << 20)
        );
    }
    let worst = outcomes.iter().map(|o| o.bystander.p99_ms).fold(0.0, f64::max);
    println!(
        "\n- target: the bystander's p99 under 50 ms during each flood ({})\n",
        if worst < 50.0 { "met" } else { "MISSED" }
    );
}
