//! Whole-list CSV and xlsx exports: time, rows per second, peak RSS.

use std::time::Instant;

use crate::console::peak_rss_mib;
use crate::receiver::{Store, start_receiver};
use crate::seed::seed_assets;
use crate::support::{machine, save};
use serde_json::json;

pub(crate) fn export_bench(assets: usize, store: &Store) -> anyhow::Result<()> {
    let receiver = start_receiver(store)?;
    seed_assets(&receiver, assets)?;
    let key = receiver.create_key("bench-export", "read")?;
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
