//! Purchase-list import through `assetkitd import`.

use std::process::Command;

use crate::support::{machine, release_bin, run_quiet, save, time_runs};
use serde_json::json;

pub(crate) fn import_bench(rows: usize, runs: usize) -> anyhow::Result<()> {
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
