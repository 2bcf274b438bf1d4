//! What every bench shares: paths, timing statistics, results files, the machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// A binary of the build under test: target/release, or `ASSETKIT_BENCH_BIN_DIR` (a smoke run of
/// a bench against debug binaries, whose figures mean nothing).
pub(crate) fn release_bin(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("ASSETKIT_BENCH_BIN_DIR").map_or_else(|| repo().join("target/release"), PathBuf::from);
    let p = dir.join(name);
    if !p.exists() {
        bail!("{} missing: run `make bench` (it builds the release binaries)", p.display());
    }
    Ok(p)
}

/// `ansible -m setup` as it runs on a host without Puppet's facter or Chef's ohai. With either
/// tool installed (the Puppet module's tests install facter on this machine), setup runs it on
/// every target as well: here that tripled Ansible's time per host (1.6 s to 4.4 s locally).
/// Excluding both is what setup does by default where neither is installed.
pub(crate) const ANSIBLE_SETUP: [&str; 4] = ["-m", "setup", "-a", "gather_subset=all,!facter,!ohai"];

pub(crate) fn venv_bin(name: &str) -> Option<PathBuf> {
    let p = repo().join(".venv/bin").join(name);
    p.exists().then_some(p)
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Stats {
    pub(crate) runs: usize,
    pub(crate) median_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) min_ms: f64,
}

pub(crate) fn stats(mut d: Vec<Duration>) -> Stats {
    d.sort();
    let at = |q: f64| {
        if d.is_empty() {
            return f64::NAN;
        }
        d[((d.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
    };
    Stats { runs: d.len(), median_ms: at(0.5), p95_ms: at(0.95), p99_ms: at(0.99), min_ms: at(0.0) }
}

pub(crate) fn time_runs(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Stats> {
    f()?; // warm-up: page cache, dynamic loader
    let mut d = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        d.push(t.elapsed());
    }
    Ok(stats(d))
}

pub(crate) fn run_quiet(cmd: &mut Command) -> anyhow::Result<()> {
    let status =
        cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

pub(crate) fn save(name: &str, value: &serde_json::Value) -> anyhow::Result<()> {
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{name}.json")), serde_json::to_vec_pretty(value)?)?;
    Ok(())
}

pub(crate) fn machine() -> String {
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

/// Runs `f` on a thread of its own: the PostgreSQL driver starts its own runtime, which cannot
/// start inside this one.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
}
