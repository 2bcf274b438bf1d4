//! Installed software: bytes on the wire per report (full list, gzipped, digest, five upgrades
//! as a delta), apply throughput with package lists against the same reports without, and the
//! fleet queries ("hosts with openssl older than V", the software list) over a seeded fleet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use assetkit_core::model::{Package, PackageManager, PackagesDelta, Report, packages_digest};
use serde_json::json;

use crate::apply::Credentials;
use crate::receiver::{Receiver, Store, post, start_receiver};
use crate::reports::host_report;
use crate::support::{Stats, machine, off_runtime, save, stats};

/// Packages per host, as on a typical server.
const PER_HOST: usize = 1500;
/// The base set every host has (the rest are its role's).
const BASE: usize = 1200;
/// Roles, each with its own extras.
const ROLES: usize = 20;
/// The openssl versions of the fleet, oldest first (dpkg order is not string order).
const OPENSSL: [&str; 3] = ["3.0.9-1", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1"];

fn deb(name: String, version: &str) -> Package {
    Package {
        manager: PackageManager::Deb,
        source: Some(name.clone()),
        name,
        version: version.to_owned(),
        arch: Some("amd64".into()),
        source_version: None,
        vendor: None,
        installed_at: None,
    }
}

/// Which of a base package's three versions host `h` has: mostly the newest.
fn version_index(h: usize, n: usize) -> usize {
    match (h * 7 + n * 13) % 20 {
        0 => 0,
        1..=3 => 1,
        _ => 2,
    }
}

/// Host `h`'s packages: the base set (versions spread) and its role's extras.
fn packages_of(h: usize) -> Vec<Package> {
    let mut list = Vec::with_capacity(PER_HOST);
    list.push(deb("openssl".into(), OPENSSL[version_index(h, 0)]));
    for n in 1..BASE {
        let v = ["1.0-1", "1.0-2", "1.1-1"][version_index(h, n)];
        list.push(deb(format!("lib{n:04}-common"), v));
    }
    for e in 0..PER_HOST - BASE {
        list.push(deb(format!("role{}-tool{e:03}", h % ROLES), "2.4.1-3"));
    }
    list
}

fn report_with(h: usize, packages: Vec<Package>) -> Report {
    let mut r = host_report(h);
    r.facts.packages_digest = Some(packages_digest(&packages));
    r.facts.packages = Some(packages);
    r
}

/// Bytes on the wire for one host's report: without packages, with the full list (plain and
/// gzipped, as the agent sends it), with the digest alone, and with five upgrades as a delta.
fn wire_sizes() -> anyhow::Result<serde_json::Value> {
    let gz = |b: &[u8]| -> anyhow::Result<usize> {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b)?;
        Ok(e.finish()?.len())
    };
    let list = packages_of(7);
    let bare = serde_json::to_vec(&host_report(7))?.len();
    let full = serde_json::to_vec(&report_with(7, list.clone()))?;
    let digest = packages_digest(&list);
    let lean = assetkit_agent::packages::digest_only(&report_with(7, list.clone()), &digest);
    let mut upgraded = list.clone();
    for p in upgraded.iter_mut().skip(1).take(5) {
        p.version = "1.2-1".into();
    }
    let mut delta =
        assetkit_agent::packages::digest_only(&report_with(7, upgraded.clone()), &packages_digest(&upgraded));
    delta.facts.packages_delta = Some(PackagesDelta::between(&digest, &list, &upgraded));
    let sizes = json!({
        "report_without_packages": bare,
        "full_list": full.len(),
        "full_list_gzipped": gz(&full)?,
        "digest_only": serde_json::to_vec(&lean)?.len(),
        "five_upgrades_as_delta": serde_json::to_vec(&delta)?.len(),
    });
    println!("| report of a host with {PER_HOST} packages | bytes | packages' share |");
    println!("| --- | ---: | ---: |");
    for (what, key) in [
        ("without the packages plugin", "report_without_packages"),
        ("full list (a first report, or after a 409)", "full_list"),
        ("full list, gzipped as the agent sends it", "full_list_gzipped"),
        ("list unchanged: its digest alone", "digest_only"),
        ("five packages upgraded: the delta", "five_upgrades_as_delta"),
    ] {
        let n = sizes[key].as_u64().unwrap_or(0) as i64;
        println!("| {what} | {n} | {:+} |", n - bare as i64);
    }
    println!();
    Ok(sizes)
}

/// What one phase sends for host `h` on its `n`-th turn.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// The seeded report again (no packages plugin).
    Plain,
    /// The seeded report again, its list as the digest alone.
    Digest,
    /// Today's changing report: the first NIC's MTU alternates.
    NicChange,
    /// Five packages upgraded, then back, as deltas.
    FiveUpgrades,
}

/// A host's list in the two states the changing phase moves it between, computed once (the
/// client must not spend the cores the receiver is measured on).
struct Prepared {
    base: String,
    upgraded: String,
    up: PackagesDelta,
    down: PackagesDelta,
}

impl Prepared {
    fn of(packages: &[Package]) -> Prepared {
        let mut upgraded = packages.to_vec();
        for p in upgraded.iter_mut().skip(1).take(5) {
            p.version = "1.2-1".into();
        }
        let (base, up_digest) = (packages_digest(packages), packages_digest(&upgraded));
        Prepared {
            up: PackagesDelta::between(&base, packages, &upgraded),
            down: PackagesDelta::between(&up_digest, &upgraded, packages),
            base,
            upgraded: up_digest,
        }
    }
}

fn variant(h: usize, n: u64, kind: Kind, prepared: &Prepared) -> Report {
    let mut r = host_report(h);
    r.report_id = format!("sw-{h}-{n}-{}", kind as u8);
    match kind {
        Kind::Plain => {}
        Kind::NicChange => {
            r.facts.nics.as_mut().expect("nics")[0].mtu = Some(if n.is_multiple_of(2) { 9000 } else { 1500 })
        }
        Kind::Digest => r.facts.packages_digest = Some(prepared.base.clone()),
        // Even turns go to the upgraded list, odd ones back.
        Kind::FiveUpgrades if n.is_multiple_of(2) => {
            r.facts.packages_digest = Some(prepared.upgraded.clone());
            r.facts.packages_delta = Some(prepared.up.clone());
        }
        Kind::FiveUpgrades => {
            r.facts.packages_digest = Some(prepared.base.clone());
            r.facts.packages_delta = Some(prepared.down.clone());
        }
    }
    r
}

/// A closed-loop phase: each connection owns its hosts (so a host's deltas stay in order).
async fn phase(
    r: Arc<Receiver>,
    hosts: &[usize],
    credentials: Arc<Credentials>,
    lists: Arc<Vec<Prepared>>,
    connections: usize,
    duration: Duration,
    kind: Kind,
) -> anyhow::Result<(f64, Stats)> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let turns = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..connections {
        let mine: Vec<usize> = hosts.iter().copied().skip(w).step_by(connections).collect();
        let (client, r, stop, credentials, lists, turns) =
            (client.clone(), r.clone(), stop.clone(), credentials.clone(), lists.clone(), turns.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) && !mine.is_empty() {
                for &h in &mine {
                    let report = variant(h, round, kind, &lists[h]);
                    let key = credentials.get(&report.host.hostname.clone().unwrap_or_default()).unwrap_or(&r.key);
                    let t = Instant::now();
                    post(&client, &r.bases[0], key, &report).await?;
                    latencies.push(t.elapsed());
                    turns.fetch_add(1, Ordering::Relaxed);
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
                round += 1;
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
    Ok((all.len() as f64 / started.elapsed().as_secs_f64(), stats(all)))
}

/// Apply throughput: hosts with package lists against the same hosts without, unchanged and
/// changing, on one SQLite receiver.
fn apply_side_by_side(hosts: usize, connections: usize, duration: Duration) -> anyhow::Result<serde_json::Value> {
    let r = Arc::new(off_runtime(|| start_receiver(&Store::Sqlite))?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let full: Vec<Vec<Package>> = (0..2 * hosts).map(packages_of).collect();
    let lists: Arc<Vec<Prepared>> = Arc::new(full.iter().map(|l| Prepared::of(l)).collect());
    let (plain, listed): (Vec<usize>, Vec<usize>) = ((0..hosts).collect(), (hosts..2 * hosts).collect());
    let results = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut credentials = Credentials::new();
        for (h, list) in full.iter().enumerate() {
            let mut report = if h < hosts { host_report(h) } else { report_with(h, list.clone()) };
            report.report_id = format!("seed-{h}");
            if let Some(c) = post(&client, &r.bases[0], &r.key, &report).await? {
                credentials.insert(report.host.hostname.clone().unwrap_or_default(), c);
            }
        }
        let credentials = Arc::new(credentials);
        let mut out = Vec::new();
        for (label, set, kind) in [
            ("unchanged, no packages", &plain, Kind::Plain),
            ("unchanged, 1,500 packages (digest)", &listed, Kind::Digest),
            ("changing (a NIC's MTU), no packages", &plain, Kind::NicChange),
            ("changing: 5 packages upgraded (delta)", &listed, Kind::FiveUpgrades),
        ] {
            let (rate, s) =
                phase(r.clone(), set, credentials.clone(), lists.clone(), connections, duration, kind).await?;
            out.push((label, rate, s));
        }
        anyhow::Ok(out)
    })?;
    off_runtime(move || drop(r));
    println!("| apply ({hosts} hosts each, {connections} connections, SQLite) | reports/s | p50 | p99 | ratio |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (i, (label, rate, s)) in results.iter().enumerate() {
        let ratio = if i % 2 == 1 { format!("{:.2}x", rate / results[i - 1].1) } else { String::new() };
        println!("| {label} | {rate:.0} | {:.1} ms | {:.1} ms | {ratio} |", s.median_ms, s.p99_ms);
    }
    let unchanged = results[1].1 / results[0].1;
    let changing = results[3].1 / results[2].1;
    println!(
        "\n- targets: unchanged with packages >= 0.9x ({:.2}x, {}), five upgrades >= 0.8x of today's changing report ({:.2}x, {})\n",
        unchanged,
        if unchanged >= 0.9 { "met" } else { "MISSED" },
        changing,
        if changing >= 0.8 { "met" } else { "MISSED" }
    );
    Ok(json!(results.iter().map(|(l, rate, s)| json!({"phase": l, "per_s": rate, "latency": s})).collect::<Vec<_>>()))
}

/// Fills `r`'s store with `n` assets and their package sets straight through SQL (the same rows
/// on either engine), and the counts a receiver keeps.
fn seed_fleet(r: &Receiver, n: usize) -> anyhow::Result<()> {
    crate::seed::seed_assets(r, n)?;
    let mut db = r.db()?;
    let pg = matches!(r.location, assetkitd::store::Location::Postgres(_));
    let series = |to: usize| {
        if pg {
            format!("generate_series(0, {}) AS s(n)", to - 1)
        } else {
            format!(
                "(WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {}) SELECT n FROM s) s",
                to - 1
            )
        }
    };
    let (base, extras) = (series(BASE), series(PER_HOST - BASE));
    let mut sql = Vec::new();
    if pg {
        // 150 million rows load far faster into a bare table, indexed once afterwards.
        sql.push("ALTER TABLE asset_packages DROP CONSTRAINT asset_packages_pkey".to_owned());
        sql.push("DROP INDEX asset_packages_package_asset".to_owned());
    }
    sql.extend([
        format!(
            "INSERT INTO package_names (id, manager, name) SELECT n + 1, 'deb', \
             CASE WHEN n = 0 THEN 'openssl' ELSE 'lib' || substr('000' || n, -4) || '-common' END FROM {base}"
        ),
        format!(
            "INSERT INTO package_names (id, manager, name) SELECT {BASE} + 1 + n, 'deb', \
             'role' || (n / {x}) || '-tool' || substr('00' || (n % {x}), -3) FROM {}",
            series(ROLES * (PER_HOST - BASE)),
            x = PER_HOST - BASE
        ),
        format!(
            "INSERT INTO packages (id, name_id, arch, version) SELECT 3 * n + v.k + 1, n + 1, 'amd64', \
             CASE WHEN n = 0 THEN (CASE v.k WHEN 0 THEN '{}' WHEN 1 THEN '{}' ELSE '{}' END) \
             ELSE (CASE v.k WHEN 0 THEN '1.0-1' WHEN 1 THEN '1.0-2' ELSE '1.1-1' END) END \
             FROM {base}, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) v",
            OPENSSL[0], OPENSSL[1], OPENSSL[2]
        ),
        format!(
            "INSERT INTO packages (id, name_id, arch, version) SELECT {} + n + 1, {BASE} + 1 + n, 'amd64', '2.4.1-3' FROM {}",
            3 * BASE,
            series(ROLES * (PER_HOST - BASE))
        ),
        format!(
            "INSERT INTO asset_packages (asset_id, package_id) SELECT a.id, 3 * s.n + 1 + \
             CASE WHEN ((a.id - 1) * 7 + s.n * 13) % 20 = 0 THEN 0 WHEN ((a.id - 1) * 7 + s.n * 13) % 20 < 4 THEN 1 ELSE 2 END \
             FROM assets a, {base}"
        ),
        format!(
            "INSERT INTO asset_packages (asset_id, package_id) SELECT a.id, {} + ((a.id - 1) % {ROLES}) * {x} + s.n + 1 \
             FROM assets a, {extras}",
            3 * BASE,
            x = PER_HOST - BASE
        ),
    ]);
    if pg {
        sql.extend([
            "SET maintenance_work_mem = '1GB'".to_owned(),
            "ALTER TABLE asset_packages ADD PRIMARY KEY (asset_id, package_id)".to_owned(),
            "CREATE INDEX asset_packages_package_asset ON asset_packages (package_id, asset_id)".to_owned(),
            "UPDATE packages p SET hosts = c.n FROM (SELECT package_id, COUNT(*) AS n FROM asset_packages \
             GROUP BY package_id) c WHERE c.package_id = p.id"
                .to_owned(),
        ]);
    } else {
        sql.push(
            "UPDATE packages SET hosts = (SELECT COUNT(*) FROM asset_packages ap WHERE ap.package_id = packages.id)"
                .into(),
        );
    }
    sql.extend([
        // Each seeded host holds one version of each of its names, so a name's hosts are the sum
        // of its versions' hosts.
        "UPDATE package_names SET hosts = (SELECT COALESCE(SUM(p.hosts), 0) FROM packages p WHERE p.name_id = package_names.id)"
            .to_owned(),
        format!("UPDATE assets SET packages_digest = 'sha256:seeded', package_count = {PER_HOST}"),
    ]);
    if pg {
        // Every asset row was just rewritten: vacuum them too, as autovacuum would have by the
        // time anyone asks, so that index-only scans need no heap.
        sql.push("VACUUM ANALYZE assets".into());
        sql.push("VACUUM ANALYZE asset_packages".into());
        sql.push("VACUUM ANALYZE packages".into());
    } else {
        sql.push("ANALYZE".into());
    }
    for statement in sql {
        db.batch(&statement)?;
    }
    Ok(())
}

/// Bytes the package tables take.
fn package_bytes(r: &Receiver) -> anyhow::Result<i64> {
    let mut db = r.db()?;
    Ok(match r.location {
        assetkitd::store::Location::Postgres(_) => assetkitd::store::DbExt::scalar(
            db.as_mut(),
            "SELECT CAST(SUM(pg_total_relation_size(c)) AS BIGINT) FROM unnest(ARRAY['asset_packages', 'packages', 'package_names']::regclass[]) c",
            &[],
        )?,
        assetkitd::store::Location::Sqlite(_) => assetkitd::store::DbExt::scalar(
            db.as_mut(),
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('asset_packages', 'asset_packages_package', 'packages', 'package_names') \
             OR name LIKE 'sqlite_autoindex_package%'",
            &[],
        )?,
    })
}

/// The fleet queries at `n` hosts: p50/p95 over `requests` signed GETs each.
fn fleet_queries(store: &Store, n: usize, requests: usize) -> anyhow::Result<serde_json::Value> {
    let reuse = if matches!(store, Store::Postgres(_)) { crate::receiver::reused_db() } else { None };
    let reused = reuse.is_some();
    let r = crate::receiver::start_receiver_on(store, reuse)?;
    let seeded = Instant::now();
    if !reused {
        seed_fleet(&r, n)?;
    }
    let seed_s = seeded.elapsed().as_secs_f64();
    let bytes = package_bytes(&r)?;
    let key = r.create_key("bench-read", "read")?;
    let queries = [
        (
            "hosts with openssl older than 3.0.13-1~deb12u1",
            format!("/api/v1/assets?package=openssl&version_lt={}&per_page=50", "3.0.13-1~deb12u1".replace('~', "%7E")),
        ),
        (
            "the same, online hosts in one business unit",
            format!(
                "/api/v1/assets?package=openssl&version_lt={}&status=online&business_unit=storage&per_page=50",
                "3.0.13-1~deb12u1".replace('~', "%7E")
            ),
        ),
        ("software list, first page", "/api/v1/software?per_page=50".to_owned()),
        ("software list, search \"openssl\"", "/api/v1/software?q=openssl".to_owned()),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let rows = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut rows = Vec::new();
        for (label, path) in &queries {
            let mut times = Vec::new();
            let mut total = serde_json::Value::Null;
            for _ in 0..requests {
                let h = assetkit_sign::sign(&key.0, &key.1, "GET", path, b"");
                let mut req = client.get(format!("{}{path}", r.bases[0]));
                for (name, value) in h.pairs() {
                    req = req.header(name, value);
                }
                let t = Instant::now();
                let resp = req.send().await?;
                anyhow::ensure!(resp.status().as_u16() == 200, "{path}: {}", resp.status());
                let body: serde_json::Value = resp.json().await?;
                times.push(t.elapsed());
                total = body["total"].clone();
            }
            rows.push((*label, stats(times), total));
        }
        anyhow::Ok(rows)
    })?;
    println!(
        "{n} hosts × {PER_HOST} packages on {} ({}; package tables {:.0} MiB, {:.0} bytes per host-package):\n",
        store.name(),
        if reused { "a database seeded by an earlier run".to_owned() } else { format!("seeded in {seed_s:.0} s") },
        bytes as f64 / f64::from(1 << 20),
        bytes as f64 / (n * PER_HOST) as f64
    );
    println!("| query | p50 | p95 | total |");
    println!("| --- | ---: | ---: | ---: |");
    let target = if matches!(store, Store::Postgres(_)) { 100.0 } else { 50.0 };
    let mut worst: f64 = 0.0;
    for (label, s, total) in &rows {
        worst = worst.max(s.p95_ms);
        println!("| {label} | {:.1} ms | {:.1} ms | {total} |", s.median_ms, s.p95_ms);
    }
    println!("\n- target: p95 < {target:.0} ms ({})\n", if worst < target { "met" } else { "MISSED" });
    Ok(json!({"engine": store.name(), "hosts": n, "package_table_bytes": bytes, "seed_seconds": seed_s,
              "queries": rows.iter().map(|(l, s, t)| json!({"query": l, "latency": s, "total": t})).collect::<Vec<_>>()}))
}

/// `assetkit-bench software`.
pub(crate) fn software_bench(
    hosts: usize,
    connections: usize,
    duration: Duration,
    fleet: usize,
    pg: Option<&str>,
    pg_fleet: usize,
) -> anyhow::Result<()> {
    println!("## Installed software ({})\n", machine());
    let wire = wire_sizes()?;
    let apply = if hosts > 0 { apply_side_by_side(hosts, connections, duration)? } else { json!(null) };
    let mut fleets = Vec::new();
    if fleet > 0 {
        fleets.push(fleet_queries(&Store::Sqlite, fleet, 100)?);
    }
    if let Some(url) = pg {
        fleets.push(fleet_queries(&Store::Postgres(url.to_owned()), pg_fleet, 100)?);
    }
    save("software", &json!({"machine": machine(), "wire": wire, "apply": apply, "fleets": fleets}))
}
