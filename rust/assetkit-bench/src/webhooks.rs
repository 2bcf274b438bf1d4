//! Webhooks: the outbox's cost on apply and how soon alerts arrive.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::receiver::{Receiver, Store, post, start_receiver, start_receiver_of};
use crate::reports::host_report;
use crate::support::{Stats, machine, off_runtime, release_bin, save, stats};
use anyhow::Context;
use serde_json::json;

/// Posts the first report of `reports` distinct hosts over `connections`; when each was
/// acknowledged, by hostname, and the whole time.
pub(crate) async fn discover_all(
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

pub(crate) fn webhook_bench(reports: usize, connections: usize, store: &Store) -> anyhow::Result<()> {
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
        let alone = one_at_a_time(&r, &mut rx, reports).await?;
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

/// At a fleet's pace: one report at a time, each alert awaited; report sent → alert arrived.
async fn one_at_a_time(
    r: &Receiver,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>,
    first_host: usize,
) -> anyhow::Result<Stats> {
    let client = reqwest::Client::new();
    let mut alone = Vec::new();
    for i in 0..200 {
        let mut report = host_report(first_host + i);
        report.report_id = format!("hook-alone-{i}");
        let sent = Instant::now();
        post(&client, &r.bases[0], &r.key, &report).await?;
        let (_, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .context("the alert did not arrive")?
            .context("endpoint gone")?;
        alone.push(at.saturating_duration_since(sent));
    }
    Ok(stats(alone))
}
