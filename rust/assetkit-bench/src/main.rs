//! `assetkit-bench`: the numbers in the README, measured side by side with the tools assetkit
//! replaces, on whatever machine runs it. Wall time throughout; every figure is a median and a
//! tail (p95 or p99) over repeated runs, never a single run.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod apply;
mod collect;
mod console;
mod export;
mod flood;
mod import;
mod receiver;
mod reports;
mod seed;
mod software;
mod support;
mod sweep;
mod webhooks;

use crate::apply::apply_bench;
use crate::collect::collect_bench;
use crate::console::console_bench;
use crate::export::export_bench;
use crate::import::import_bench;
use crate::receiver::{RATES, Store, WRITERS};
use crate::sweep::sweep_bench;
use crate::webhooks::webhook_bench;

#[derive(Parser)]
#[command(
    name = "assetkit-bench",
    about = "Benchmarks for assetkit; results also go to target/bench/<name>.json",
    after_help = "Environment: ASSETKIT_BENCH_BIN_DIR runs the binaries of another build directory; \
                  ASSETKIT_BENCH_KEEP_DB=1 keeps the PostgreSQL databases a run makes (their names are \
                  printed), to look at plans afterwards; ASSETKIT_BENCH_REUSE_DB=NAME measures `software`'s \
                  PostgreSQL fleet queries on such a kept database instead of seeding one (--pg-fleet \
                  must give its size)."
)]
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
    /// The packages plugin live, next to `dpkg-query -W`, `ansible -m package_facts` and
    /// `salt-call pkg.list_pkgs` (also part of `collect`).
    Packages {
        /// Runs of each assetkit measurement.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Runs of each peer.
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
        /// Target counts; each is swept twice: first (every host new), then again (hosts known).
        #[arg(long, value_delimiter = ',', default_value = "50,200")]
        targets: Vec<usize>,
        /// Parallel hosts, for both tools.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// A directory holding another build's `assetkit` and `assetkitd` (its target/release):
        /// each sweep is also made by that build, against a receiver of its own, and the rates
        /// compared.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Let the targets' ssh sessions source the invoking user's ~/.bashrc, as a login on this
        /// machine does. By default the bench's sshd starts plain shells (`tests/sshd/up
        /// --plain-shell`), as a fleet's servers have them.
        #[arg(long)]
        shell_rc: bool,
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
        /// A directory holding another build's `assetkitd` (its target/release), schema version
        /// 12 or later; needs --pg. That build serves the seeded database first; then this build
        /// opens the same database, migrates it (timed) and serves it, and the pages are compared.
        #[arg(long, requires = "pg")]
        baseline: Option<PathBuf>,
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
    /// The one-host flood: a host credential at its limits, then a fleet key minting assets,
    /// each for `--duration`, beside enrolled hosts reporting at a fleet's pace; their p99 and the
    /// database's growth under the default budgets.
    Flood {
        /// Length of each flood.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// On PostgreSQL: the URL of a cluster's admin database (a fresh database is made).
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
    },
    /// Installed software: bytes per report, apply throughput with package lists against the
    /// same hosts without, and the fleet queries over a seeded fleet (SQLite, and PostgreSQL
    /// with --pg).
    Software {
        /// Hosts in each apply phase (with packages, and as many without); 0 skips the phases.
        #[arg(long, default_value_t = 500)]
        hosts: usize,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Length of each apply phase.
        #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Hosts in the SQLite fleet for the queries; 0 skips it.
        #[arg(long, default_value_t = 10_000)]
        fleet: usize,
        /// Also the fleet on PostgreSQL: the URL of a cluster's admin database.
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
        /// Hosts in the PostgreSQL fleet.
        #[arg(long, default_value_t = 100_000)]
        pg_fleet: usize,
    },
    /// Everything above with default settings.
    All,
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        What::Collect { runs, peer_runs } => collect_bench(runs, peer_runs),
        What::Packages { runs, peer_runs } => collect::packages_bench(runs, peer_runs),
        What::Apply { hosts, connections, duration, baseline, pg, replicas, rates, writers } => {
            WRITERS.store(writers, Ordering::SeqCst);
            anyhow::ensure!(rates.len() == 2, "--rates takes two numbers: unchanged,changing");
            *RATES.lock().unwrap() = (rates[0], rates[1]);
            apply_bench(hosts, connections, duration, baseline.as_deref(), pg.as_deref(), &replicas)
        }
        What::Sweep { targets, concurrency, baseline, shell_rc } => {
            sweep_bench(&targets, concurrency, baseline.as_deref(), shell_rc)
        }
        What::Console { assets, requests, pg, baseline } => {
            console_bench(assets, requests, &pg.map_or(Store::Sqlite, Store::Postgres), baseline.as_deref())
        }
        What::Export { assets, pg } => export_bench(assets, &pg.map_or(Store::Sqlite, Store::Postgres)),
        What::Import { rows, runs } => import_bench(rows, runs),
        What::Webhooks { reports, connections, pg } => {
            webhook_bench(reports, connections, &pg.map_or(Store::Sqlite, Store::Postgres))
        }
        What::Software { hosts, connections, duration, fleet, pg, pg_fleet } => {
            software::software_bench(hosts, connections, duration, fleet, pg.as_deref(), pg_fleet)
        }
        What::Flood { duration, pg } => flood::flood_bench(duration, &pg.map_or(Store::Sqlite, Store::Postgres)),
        What::All => {
            collect_bench(200, 10)?;
            apply_bench(500, 64, Duration::from_secs(20), None, None, &[])?;
            sweep_bench(&[50, 200], 32, None, false)?;
            console_bench(100_000, 200, &Store::Sqlite, None)?;
            export_bench(100_000, &Store::Sqlite)?;
            import_bench(10_000, 5)?;
            webhook_bench(5000, 32, &Store::Sqlite)?;
            flood::flood_bench(Duration::from_secs(60), &Store::Sqlite)
        }
    }
}
