//! Receiver throughput: closed-loop phases, open-loop rates, SQLite and PostgreSQL, a baseline build.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support::{machine, release_bin, save, stats};
use assetkit_core::model::Report;
use serde_json::json;

/// A host's own credential, once the receiver issued one (each host signs with it, as agents do).
pub(crate) type Credentials = std::collections::HashMap<String, (String, assetkit_sign::Secret)>;

use crate::receiver::{RATES, Receiver, Store, WRITERS, cpu_now, post, start_receiver_of};
use crate::reports::host_report;

#[derive(serde::Serialize)]
pub(crate) struct Phase {
    pub(crate) reports: u64,
    pub(crate) seconds: f64,
    pub(crate) reports_per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// CPU time per report, in microseconds: the receivers, the database server, the client.
    pub(crate) cpu_us: CpuPerReport,
}

#[derive(serde::Serialize, Clone, Copy, Default)]
pub(crate) struct CpuPerReport {
    pub(crate) receiver: f64,
    pub(crate) database: f64,
    pub(crate) client: f64,
}

pub(crate) async fn phase(
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
pub(crate) async fn phase_at_rate(
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
pub(crate) struct ApplyRun {
    pub(crate) unchanged: Phase,
    pub(crate) changing: Phase,
    /// The open-loop phases at the fixed rates.
    pub(crate) at_rate: (Phase, Phase),
    pub(crate) applied: i64,
    pub(crate) acknowledged: u64,
}

pub(crate) fn measure_apply(
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

pub(crate) fn apply_bench(
    hosts: usize,
    connections: usize,
    duration: Duration,
    baseline: Option<&Path>,
    pg: Option<&str>,
    replicas: &[usize],
) -> anyhow::Result<()> {
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
    println!(
        "\n- durability: SQLite in WAL mode, each commit's log synced before it is answered; PostgreSQL fsync and synchronous_commit on"
    );
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
pub(crate) fn compare_apply(
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
    // Each round too: on a shared machine the spread between rounds is part of the answer.
    for (i, (name, r)) in runs.iter().enumerate() {
        println!(
            "| {name}, round {} | {:.0} | {:.0} | {:.1} ms | {:.1} ms |",
            i / 2 + 1,
            unchanged(r),
            changing(r),
            p99u(r),
            p99c(r)
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
