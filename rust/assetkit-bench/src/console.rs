//! The console's pages over a large inventory: server render time.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::receiver::{Store, start_receiver};
use crate::seed::seed_assets;
use crate::support::{machine, release_bin, run_quiet, save, stats};
use anyhow::Context;
use serde_json::json;

pub(crate) fn console_bench(assets: usize, requests: usize, store: &Store) -> anyhow::Result<()> {
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
            ("tag filter (1% of assets)", "/assets?tag=pci".to_owned()),
            ("custom field filter (0.1%)", "/assets?cf_cost_centre=42".to_owned()),
            ("tag + custom field + status", "/assets?tag=team-7&cf_cost_centre=7&status=online".to_owned()),
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
pub(crate) fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM")?;
    Ok(kib / 1024.0)
}
