//! Live collection and snapshot parsing next to `salt-call grains.items` and `ansible -m setup`;
//! the installed packages next to `dpkg-query -W`, `ansible -m package_facts` and `salt-call
//! pkg.list_pkgs`.

use std::process::Command;
use std::sync::Arc;

use crate::support::{Stats, machine, release_bin, repo, run_quiet, save, time_runs, venv_bin};
use anyhow::Context;
use serde_json::json;

pub(crate) fn collect_bench(runs: usize, peer_runs: usize) -> anyhow::Result<()> {
    let assetkit = release_bin("assetkit")?;
    println!("## Collection ({})\n", machine());
    let live = time_runs(runs, || run_quiet(Command::new(&assetkit).arg("collect")))?;
    let live_lib = time_runs(runs, || {
        let source: Arc<dyn assetkit_core::Source> = Arc::new(assetkit_core::LiveSource::default());
        let r = assetkit_core::collect(source, &assetkit_core::CollectOptions::default());
        anyhow::ensure!(r.facts.cpu.is_some(), "no cpu facts");
        Ok(())
    })?;

    let raw = repo().join("tests/fixtures/raw");
    let (snap, snapshot_bytes) = largest_snapshot(&raw)?;
    let parse = time_runs(runs * 5, || {
        let source: Arc<dyn assetkit_core::Source> = Arc::new(assetkit_core::SnapshotDir::open(snap.path())?);
        let r = assetkit_core::collect(source, &assetkit_core::CollectOptions::default());
        anyhow::ensure!(r.facts.disks.as_ref().is_some_and(|d| d.len() > 10), "megacli drives missing");
        Ok(())
    })?;
    let parse_cli =
        time_runs(runs, || run_quiet(Command::new(&assetkit).args(["collect", "--snapshot"]).arg(snap.path())))?;

    // The RAID tools' captures, each parser on the largest of its kind, in-process.
    let raid_parse = raid_parse_bench(&raw, runs * 5)?;

    let peers = peer_collect(peer_runs)?;

    println!("| measurement | runs | median | p95 |");
    println!("| --- | ---: | ---: | ---: |");
    let row = |name: &str, s: &Stats| println!("| {name} | {} | {:.2} ms | {:.2} ms |", s.runs, s.median_ms, s.p95_ms);
    row("`assetkit collect` (live, whole process)", &live);
    row("collect, in-process (library call)", &live_lib);
    row(&format!("`--snapshot` parse of the largest fixture ({} KB), in-process", snapshot_bytes / 1024), &parse);
    row("`assetkit collect --snapshot` (largest fixture, whole process)", &parse_cli);
    for (name, s) in &raid_parse {
        row(name, s);
    }
    for (name, s) in &peers {
        let s: Stats = serde_json::from_value(s.clone())?;
        row(&format!("`{name}`"), &s);
    }
    println!();
    for (name, s) in &peers {
        let s: Stats = serde_json::from_value(s.clone())?;
        println!("- `assetkit collect` is **{:.0}x** faster than `{name}` (median)", s.median_ms / live.median_ms);
    }
    println!(
        "- targets: live collect < 10 ms median ({}), snapshot parse < 2 ms ({})\n",
        if live.median_ms < 10.0 { "met" } else { "MISSED" },
        if parse.median_ms < 2.0 { "met" } else { "MISSED" }
    );
    let slowest_raid = raid_parse.iter().map(|(_, s)| s.median_ms).fold(0.0, f64::max);
    println!(
        "- target: each RAID capture parses in < 2 ms median ({})\n",
        if slowest_raid < 2.0 { "met" } else { "MISSED" }
    );
    let raid_json: serde_json::Map<String, serde_json::Value> = raid_parse
        .iter()
        .map(|(name, s)| Ok((name.clone(), serde_json::to_value(s)?)))
        .collect::<anyhow::Result<_>>()?;
    save(
        "collect",
        &json!({"machine": machine(), "live_cli": live, "live_lib": live_lib, "snapshot_parse": parse, "snapshot_cli": parse_cli, "snapshot_bytes": snapshot_bytes, "raid_parse": raid_json, "peers": peers}),
    )?;
    packages_bench(runs, peer_runs)
}

/// The `packages` plugin live, whole process and in-process, next to the tools that list the
/// same packages; and the readers' own cost per database format.
pub(crate) fn packages_bench(runs: usize, peer_runs: usize) -> anyhow::Result<()> {
    use assetkit_core::plugins::packages;
    let assetkit = release_bin("assetkit")?;
    let count = {
        let out = Command::new(&assetkit).args(["collect", "--only", "packages"]).output()?;
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        anyhow::ensure!(report["errors"] == json!([]), "packages plugin failed: {}", report["errors"]);
        let list = report["facts"]["packages"].as_array().context("no packages section on this machine")?;
        list.len()
    };
    println!("## Installed packages ({}; {count} packages)\n", machine());
    let only = time_runs(runs, || run_quiet(Command::new(&assetkit).args(["collect", "--only", "packages"])))?;
    let all = time_runs(runs, || run_quiet(Command::new(&assetkit).arg("collect")))?;
    let lib = time_runs(runs, || {
        let source = assetkit_core::LiveSource::default();
        let list = packages::read_all(&source).map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::ensure!(list.is_some_and(|l| l.len() == count), "package count changed");
        Ok(())
    })?;
    let status = std::fs::read(packages::dpkg::STATUS).unwrap_or_default();
    let parse = time_runs(runs * 5, || {
        anyhow::ensure!(!packages::dpkg::parse(&status)?.is_empty(), "no dpkg packages");
        Ok(())
    })?;
    let fixtures = repo().join("tests/fixtures/packages");
    let epsilon = rpm_header(&fixtures.join("rpm-sqlite/rpmdb.sqlite"), "epsilon")?;
    let header = time_runs(runs * 5, || {
        packages::rpm::header::parse(&epsilon)?;
        Ok(())
    })?;
    let peers = package_peers(peer_runs)?;
    println!("| measurement | runs | median | p95 |");
    println!("| --- | ---: | ---: | ---: |");
    let row = |name: &str, s: &Stats| println!("| {name} | {} | {:.2} ms | {:.2} ms |", s.runs, s.median_ms, s.p95_ms);
    row("`assetkit collect --only packages` (live, whole process)", &only);
    row("`assetkit collect` (live, every plugin, packages on)", &all);
    row("packages plugin, in-process (read + parse + sort)", &lib);
    row(&format!("dpkg status parse alone ({} KB)", status.len() / 1024), &parse);
    row(&format!("rpm header check + decode, one {} KB header (structure and SHA-256)", epsilon.len() / 1024), &header);
    for (name, s) in &peers {
        row(&format!("`{name}`"), s);
    }
    println!();
    for (name, s) in &peers {
        println!(
            "- `{name}` takes **{:.1}x** the time of `assetkit collect --only packages` (median)",
            s.median_ms / only.median_ms
        );
    }
    let mb_per_s = epsilon.len() as f64 / 1e6 / (header.median_ms / 1000.0);
    println!(
        "- rpm headers are checked at {mb_per_s:.0} MB/s: a 100 MB rpmdb.sqlite costs about {:.0} ms of that",
        100.0 / mb_per_s * 1000.0
    );
    println!(
        "- target: live collect with packages < 5 ms median, whole process ({})\n",
        if only.median_ms < 5.0 { "met" } else { "MISSED" }
    );
    let peers_json: serde_json::Map<String, serde_json::Value> =
        peers.iter().map(|(n, s)| Ok((n.clone(), serde_json::to_value(s)?))).collect::<anyhow::Result<_>>()?;
    save(
        "packages",
        &json!({"machine": machine(), "packages": count, "only_packages_cli": only, "all_plugins_cli": all, "in_process": lib, "dpkg_parse": parse, "rpm_header": header, "rpm_header_bytes": epsilon.len(), "peers": peers_json}),
    )
}

/// One package's header blob from an rpmdb.sqlite.
fn rpm_header(db: &std::path::Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(conn.query_row("SELECT blob FROM Packages JOIN Name USING (hnum) WHERE key = ?1", [name], |r| r.get(0))?)
}

/// `dpkg-query -W`, `ansible localhost -m package_facts`, `salt-call --local pkg.list_pkgs`,
/// where they are installed.
fn package_peers(peer_runs: usize) -> anyhow::Result<Vec<(String, Stats)>> {
    let mut peers = Vec::new();
    if std::path::Path::new("/usr/bin/dpkg-query").exists() {
        peers.push((
            "dpkg-query -W".to_owned(),
            time_runs(peer_runs * 5, || run_quiet(Command::new("dpkg-query").arg("-W")))?,
        ));
    }
    if let Some(ansible) = venv_bin("ansible") {
        let facts = time_runs(peer_runs, || {
            run_quiet(
                Command::new(&ansible)
                    .args(["localhost", "-c", "local", "-m", "package_facts"])
                    .env("ANSIBLE_LOCALHOST_WARNING", "False")
                    .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "False"),
            )
        })?;
        peers.push(("ansible localhost -m package_facts".to_owned(), facts));
    }
    if let Some(salt_call) = venv_bin("salt-call") {
        let conf = tempfile::tempdir()?;
        std::fs::write(
            conf.path().join("minion"),
            format!("root_dir: {}\nfile_client: local\nid: bench\nlog_level: quiet\n", conf.path().display()),
        )?;
        let list = time_runs(peer_runs, || {
            run_quiet(
                Command::new(&salt_call).args(["--local", "-c"]).arg(conf.path()).args(["pkg.list_pkgs", "--out=json"]),
            )
        })?;
        peers.push(("salt-call --local pkg.list_pkgs".to_owned(), list));
    }
    Ok(peers)
}

/// Each RAID tool's parser over the largest capture of its kind (`tests/fixtures/raw`).
pub(crate) fn raid_parse_bench(raw: &std::path::Path, runs: usize) -> anyhow::Result<Vec<(String, Stats)>> {
    use assetkit_core::parse::{arcconf, ssacli, storcli};
    let read = |rel: &str| std::fs::read(raw.join(rel)).with_context(|| format!("reading {rel}"));
    let kb = |bytes: &[&[u8]]| bytes.iter().map(|b| b.len()).sum::<usize>() / 1024;
    let mut out = Vec::new();
    let hba = read("storcli/netdata__mpt3sas-controllers-info.json")?;
    let stats = time_runs(runs, || {
        let raid = storcli::parse("storcli", Some(&hba), None)?;
        anyhow::ensure!(raid.disks.len() == 29, "storcli: {} drives", raid.disks.len());
        Ok(())
    })?;
    out.push((format!("RAID parse: `storcli /call show all J`, HBA, 29 drives ({} KB)", kb(&[&hba])), stats));
    let (show, drives) = (
        read("perccli/bodik__output_7.2313_controllers_ok.json")?,
        read("perccli/bodik__output_7.2313_pdisks_ok.json")?,
    );
    let stats = time_runs(runs, || {
        let raid = storcli::parse("perccli", Some(&show), Some(&drives))?;
        anyhow::ensure!(raid.disks.len() == 12, "perccli: {} drives", raid.disks.len());
        Ok(())
    })?;
    out.push((
        format!("RAID parse: perccli show all + drives, PERC H740P, 12 drives ({} KB)", kb(&[&show, &drives])),
        stats,
    ));
    let text = String::from_utf8(read("ssacli/netdata__ssacli-P400ar.txt")?)?;
    let stats = time_runs(runs, || {
        anyhow::ensure!(ssacli::parse(&text)?.disks.len() == 8, "ssacli drives");
        Ok(())
    })?;
    out.push((
        format!("RAID parse: `ssacli ctrl all show config detail`, P440ar ({} KB)", kb(&[text.as_bytes()])),
        stats,
    ));
    let text = String::from_utf8_lossy(&read("arcconf/checkraid__issue128-getconfig")?).into_owned();
    let stats = time_runs(runs, || {
        anyhow::ensure!(arcconf::parse(1, &text)?.disks.len() == 16, "arcconf drives");
        Ok(())
    })?;
    out.push((
        format!("RAID parse: `arcconf GETCONFIG 1 AL`, ASR71605, 16 drives ({} KB)", kb(&[text.as_bytes()])),
        stats,
    ));
    // The largest BMC, LLDP and NVMe captures.
    {
        use assetkit_core::parse::{ipmitool, lldpctl, nvme};
        let fru = String::from_utf8_lossy(&read("ipmitool-fru/glpi__hp-dl360-gen7")?).into_owned();
        let lan =
            String::from_utf8_lossy(&read("ipmitool-lan/horsefishbmc__dell_ipmitool_lan_print.txt")?).into_owned();
        let stats = time_runs(runs, || {
            anyhow::ensure!(ipmitool::parse_fru(&fru).map_err(anyhow::Error::msg)?.product_serial.is_some(), "fru");
            anyhow::ensure!(ipmitool::parse_lan(&lan).map_err(anyhow::Error::msg)?.ip_address.is_some(), "lan");
            Ok(())
        })?;
        out.push((
            format!("BMC parse: `ipmitool fru print` + `lan print` ({} KB)", kb(&[fru.as_bytes(), lan.as_bytes()])),
            stats,
        ));
        let lldp = String::from_utf8_lossy(&read("lldpctl/netboxagent__cumulus.txt")?).into_owned();
        let list = String::from_utf8_lossy(&read("nvme/netdata__v2.11-nvme-list.json")?).into_owned();
        let stats = time_runs(runs, || {
            anyhow::ensure!(lldpctl::parse_keyvalue(&lldp).map_err(anyhow::Error::msg)?.len() == 2, "lldp");
            anyhow::ensure!(nvme::parse(&list).map_err(anyhow::Error::msg)?.len() == 3, "nvme");
            Ok(())
        })?;
        out.push((
            format!(
                "LLDP + NVMe parse: `lldpctl -f keyvalue`, `nvme list -o json` ({} KB)",
                kb(&[lldp.as_bytes(), list.as_bytes()])
            ),
            stats,
        ));
    }
    Ok(out)
}

/// The peers' own collection, where they are installed in .venv.
fn peer_collect(peer_runs: usize) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let mut peers = serde_json::Map::new();
    let salt_conf = tempfile::tempdir()?;
    std::fs::write(
        salt_conf.path().join("minion"),
        format!("root_dir: {}\nfile_client: local\nid: bench\nlog_level: quiet\n", salt_conf.path().display()),
    )?;
    if let Some(salt_call) = venv_bin("salt-call") {
        let conf = salt_conf.path().to_path_buf();
        let grains = time_runs(peer_runs, || {
            run_quiet(Command::new(&salt_call).args(["--local", "-c"]).arg(&conf).args(["grains.items", "--out=json"]))
        })?;
        let module = repo().join("salt_module");
        let asset = time_runs(peer_runs, || {
            run_quiet(
                Command::new(&salt_call)
                    .args(["--local", "-c"])
                    .arg(&conf)
                    .arg("-m")
                    .arg(&module)
                    .args(["asset.collect", "--out=json"]),
            )
        });
        peers.insert("salt-call --local grains.items".into(), serde_json::to_value(&grains)?);
        match asset {
            Ok(a) => {
                peers.insert("salt-call --local asset.collect".into(), serde_json::to_value(&a)?);
            }
            Err(e) => println!("(salt-call asset.collect skipped: {e}; is the extension installed in .venv?)"),
        }
    } else {
        println!("(salt-call not found in .venv: run `make deps`)");
    }
    if let Some(ansible) = venv_bin("ansible") {
        let setup = time_runs(peer_runs, || {
            run_quiet(
                Command::new(&ansible)
                    .args(["localhost", "-c", "local"])
                    .args(crate::support::ANSIBLE_SETUP)
                    .env("ANSIBLE_LOCALHOST_WARNING", "False")
                    .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "False"),
            )
        })?;
        peers.insert("ansible localhost -c local -m setup".into(), serde_json::to_value(&setup)?);
    }
    Ok(peers)
}

/// The largest real capture: a VMware guest with 64 processor records and 130 KB of dmidecode,
/// plus the largest MegaCli output, as a snapshot directory; and its size.
fn largest_snapshot(raw: &std::path::Path) -> anyhow::Result<(tempfile::TempDir, u64)> {
    let snap = tempfile::tempdir()?;
    for (from, to) in [
        ("dmidecode/rhel-6.2-vmware-2vcpus", "commands/dmidecode"),
        ("cpuinfo/rhel-6.2-vmware-2vcpus", "files/proc/cpuinfo"),
        ("megacli/set6_PDlist", "commands/megacli-pdlist"),
        ("ip/ip_addr-el8", "commands/ip-addr"),
    ] {
        let dest = snap.path().join(to);
        std::fs::create_dir_all(dest.parent().unwrap())?;
        std::fs::copy(raw.join(from), dest)?;
    }
    let snapshot_bytes: u64 =
        ["commands/dmidecode", "files/proc/cpuinfo", "commands/megacli-pdlist", "commands/ip-addr"]
            .iter()
            .map(|p| std::fs::metadata(snap.path().join(p)).map(|m| m.len()).unwrap_or(0))
            .sum();
    Ok((snap, snapshot_bytes))
}
