//! The console's pages over a large inventory: server render time, and with `--baseline`, the
//! same pages served by another build over the same rows.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::receiver::{Receiver, Store, start_receiver, start_receiver_adopting, start_receiver_of};
use crate::seed::{seed_assets, seed_rows, settle, settle_status_counts};
use crate::support::{Stats, machine, release_bin, save, stats};
use anyhow::Context;
use serde_json::json;

/// The pages measured: list variants, then the dashboard.
const PAGES: [(&str, &str); 11] = [
    ("first page, sorted by hostname", "/assets"),
    ("status filter (online)", "/assets?status=online"),
    ("offline (derived from last_seen)", "/assets?status=offline"),
    ("business unit + IDC filter", "/assets?business_unit=payments&idc=dc1"),
    ("free-text search (IP fragment)", "/assets?q=10.7.12"),
    ("sorted by last seen", "/assets?sort=-last_seen"),
    ("page 1000 of the whole list", "/assets?page=1000"),
    ("tag filter (1% of assets)", "/assets?tag=pci"),
    ("custom field filter (0.1%)", "/assets?cf_cost_centre=42"),
    ("tag + custom field + status", "/assets?tag=team-7&cf_cost_centre=7&status=online"),
    ("dashboard (home page)", "/"),
];

/// Requests of each page before the timed ones.
const WARM_UP: usize = 5;

/// One page's render times: on the server (`Server-Timing`) and at the client.
struct Page {
    server: Stats,
    wall: Stats,
}

pub(crate) fn console_bench(
    assets: usize,
    requests: usize,
    store: &Store,
    baseline: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(dir) = baseline {
        return console_against(assets, requests, store, dir);
    }
    let receiver = start_receiver(store)?;
    println!("## Console asset list with {assets} assets on {} ({})\n", store.name(), machine());
    let seeded = Instant::now();
    seed_assets(&receiver, assets)?;
    println!("(seeded in {:.1} s)\n", seeded.elapsed().as_secs_f64());
    let pages = measure(&receiver, &release_bin("assetkitd")?, "bench", requests)?;
    println!("| list page | server render p50 | p95 | client wall p95 |");
    println!("| --- | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for ((name, path), p) in PAGES.iter().zip(&pages) {
        println!("| {name} | {:.1} ms | {:.1} ms | {:.1} ms |", p.server.median_ms, p.server.p95_ms, p.wall.p95_ms);
        rows.push(json!({"page": name, "path": path, "server": p.server, "wall": p.wall}));
    }
    let worst = pages.iter().map(|p| p.server.p95_ms).fold(0.0, f64::max);
    println!("\n- target: p95 < 100 ms ({})\n", if worst < 100.0 { "met" } else { "MISSED" });
    save(
        &format!("console-{}", store.name().to_lowercase()),
        &json!({"machine": machine(), "engine": store.name(), "assets": assets, "rows": rows}),
    )
}

/// The baseline build serves a database it made and that was seeded for it; then this build
/// opens the same database (migrating it, as an upgrade does: timed) and serves it.
fn console_against(assets: usize, requests: usize, store: &Store, dir: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        matches!(store, Store::Postgres(_)),
        "--baseline needs --pg: the two builds take turns on one PostgreSQL database"
    );
    let theirs = dir.join("assetkitd");
    println!(
        "## Console with {assets} assets on PostgreSQL ({}): {} then this build, on the same rows\n",
        machine(),
        theirs.display()
    );
    let before = start_receiver_of(&theirs, store, 1, &[])?;
    let seeded = Instant::now();
    seed_rows(&before, assets)?;
    // What the baseline's own minutely maintenance leaves: its status counts folded.
    settle_status_counts(&before)?;
    println!("(seeded in {:.1} s)\n", seeded.elapsed().as_secs_f64());
    let base = measure(&before, &theirs, "baseline", requests)?;
    let database = before.stop_keeping_database()?;
    let upgrading = Instant::now();
    let after = start_receiver_adopting(store, database)?;
    let upgrade_s = upgrading.elapsed().as_secs_f64();
    settle(&after)?;
    let ours = measure(&after, &release_bin("assetkitd")?, "bench", requests)?;
    println!("| page | baseline p50 | p95 | this build p50 | p95 | p95 ratio (baseline / this) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for (((name, path), b), o) in PAGES.iter().zip(&base).zip(&ours) {
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} |",
            b.server.median_ms,
            b.server.p95_ms,
            o.server.median_ms,
            o.server.p95_ms,
            b.server.p95_ms / o.server.p95_ms
        );
        rows.push(json!({"page": name, "path": path, "baseline": {"server": b.server, "wall": b.wall},
            "server": o.server, "wall": o.wall}));
    }
    let worst = ours.iter().map(|p| p.server.p95_ms).fold(0.0, f64::max);
    println!(
        "\n- this build took the baseline's database over in {upgrade_s:.1} s: its CLI made a key (migrating the \
         database, as every subcommand does), then serve started and answered /healthz\n\
         - target: p95 < 100 ms ({})\n",
        if worst < 100.0 { "met" } else { "MISSED" }
    );
    save(
        "console-postgresql-baseline",
        &json!({"machine": machine(), "engine": "PostgreSQL", "assets": assets, "baseline": theirs,
            "upgrade_s": upgrade_s, "rows": rows}),
    )
}

/// Logs in as `user`, a console user it makes with `assetkitd`'s CLI, and times `requests` of
/// each page.
fn measure(receiver: &Receiver, assetkitd: &Path, user: &str, requests: usize) -> anyhow::Result<Vec<Page>> {
    let pw = receiver._dir.path().join("pw");
    std::fs::write(&pw, "benchmark-password-1")?;
    let made = Command::new(assetkitd)
        .args(["users", "create", user, "--password-file"])
        .arg(&pw)
        .args(&receiver.db_args)
        .output()?;
    anyhow::ensure!(
        made.status.success(),
        "{} users create {user}: {}",
        assetkitd.display(),
        String::from_utf8_lossy(&made.stderr).trim()
    );
    let base = &receiver.bases[0];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        let session = login(&client, base, user).await?;
        let mut pages = Vec::new();
        for (_, path) in PAGES {
            // Untimed first: neither build is measured on a colder cache than the other.
            let page = || async {
                let resp = client.get(format!("{base}{path}")).header("cookie", &session).send().await?;
                anyhow::ensure!(resp.status().as_u16() == 200, "{path}: {}", resp.status());
                // The server's render time, in ms, from its Server-Timing header.
                let timing = resp
                    .headers()
                    .get("server-timing")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split("dur=").nth(1))
                    .and_then(|d| d.parse::<f64>().ok())
                    .unwrap_or(0.0);
                let _ = resp.bytes().await?;
                Ok(timing)
            };
            for _ in 0..WARM_UP {
                page().await?;
            }
            let mut server = Vec::new();
            let mut wall = Vec::new();
            for _ in 0..requests {
                let t = Instant::now();
                let timing = page().await?;
                wall.push(t.elapsed());
                server.push(Duration::from_secs_f64(timing / 1000.0));
            }
            pages.push(Page { server: stats(server), wall: stats(wall) });
        }
        Ok(pages)
    })
}

/// The session cookie of `user`.
async fn login(client: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let page = client.get(format!("{base}/login")).send().await?;
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .to_owned();
    let html = page.text().await?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("no csrf in the login page")?
        .to_owned();
    let resp = client
        .post(format!("{base}/login"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&next=%2Fassets&username={user}&password=benchmark-password-1"))
        .send()
        .await?;
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("assetkit_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .context("login failed")
}

/// A process's peak resident memory (VmHWM), in MiB.
pub(crate) fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM")?;
    Ok(kib / 1024.0)
}
