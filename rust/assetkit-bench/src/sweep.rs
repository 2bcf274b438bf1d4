//! The SSH sweep next to `ansible all -m setup` at the same concurrency, with the CPU each
//! spends per host: on the control side (the tool and the ssh clients it waits for) and on the
//! whole machine (targets' sshd and scripts, and for assetkit the receiver, all on these cores).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::receiver::{Receiver, Store, cpu_of, start_receiver_of};
use crate::support::{machine, release_bin, repo, save, venv_bin};
use anyhow::Context;
use serde_json::json;

/// An `assetkit` build and a receiver of the same build, on a store of their own.
struct Sweeper {
    assetkit: PathBuf,
    config: PathBuf,
    _receiver: Receiver,
    _work: tempfile::TempDir,
}

impl Sweeper {
    fn start(assetkit: PathBuf, assetkitd: &Path) -> anyhow::Result<Sweeper> {
        let receiver = start_receiver_of(assetkitd, &Store::Sqlite, 1, &[])?;
        let work = tempfile::tempdir()?;
        let key_file = work.path().join("key");
        std::fs::write(&key_file, receiver.key.1.expose())?;
        std::fs::set_permissions(&key_file, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let config = work.path().join("agent.toml");
        std::fs::write(
            &config,
            format!(
                "server = \"{}\"\nkey_id = \"{}\"\nkey_file = \"{}\"\ncredentials_dir = \"{}\"\n",
                receiver.bases[0],
                receiver.key.0,
                key_file.display(),
                work.path().join("credentials").display()
            ),
        )?;
        Ok(Sweeper { assetkit, config, _receiver: receiver, _work: work })
    }

    /// One sweep of the targets listed in `hosts`.
    fn sweep(&self, n: usize, hosts: &Path, concurrency: usize, ssh_config: &str) -> anyhow::Result<Run> {
        measured(n, || {
            let status = Command::new(&self.assetkit)
                .arg("--config")
                .arg(&self.config)
                .args(["sweep", "--concurrency", &concurrency.to_string(), "-F", ssh_config, "--hosts"])
                .arg(hosts)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            anyhow::ensure!(status.success(), "{} sweep of {n} hosts failed", self.assetkit.display());
            Ok(())
        })
    }
}

/// `baseline`: a directory with another build's `assetkit` and `assetkitd`, swept the same way
/// in the same run (baseline first, then this build, for each target count). `shell_rc`: the
/// targets' sessions source the invoking user's ~/.bashrc (by default they start plain shells).
pub(crate) fn sweep_bench(
    targets: &[usize],
    concurrency: usize,
    baseline: Option<&Path>,
    shell_rc: bool,
) -> anyhow::Result<()> {
    let ours = Sweeper::start(release_bin("assetkit")?, &release_bin("assetkitd")?)?;
    let before = match baseline {
        Some(dir) => Some(Sweeper::start(dir.join("assetkit"), &dir.join("assetkitd"))?),
        None => None,
    };
    // An sshd of the bench's own, so that the tests' one keeps its setting.
    let (shell, sshd_dir) = match shell_rc {
        true => ("the invoking user's ~/.bashrc sourced in every session", "target/bench-sshd-rc"),
        false => ("plain shells: tests/sshd/up --plain-shell", "target/bench-sshd"),
    };
    let mut up = Command::new(repo().join("tests/sshd/up"));
    if !shell_rc {
        up.arg("--plain-shell");
    }
    let out = up.arg(repo().join(sshd_dir)).output()?;
    anyhow::ensure!(out.status.success(), "tests/sshd/up failed: {}", String::from_utf8_lossy(&out.stderr));
    let env_text = std::fs::read_to_string(String::from_utf8_lossy(&out.stdout).trim())?;
    let env: std::collections::BTreeMap<&str, &str> = env_text.lines().filter_map(|l| l.split_once('=')).collect();
    let ssh_config = env["SSH_CONFIG"];
    let work = tempfile::tempdir()?;
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .map(str::to_owned)
        .unwrap_or_else(|| "python3".into());
    println!("## SSH sweep ({}; loopback sshd, {shell}; concurrency {concurrency})\n", machine());
    println!(
        "| targets | assetkit sweep | hosts/min | CPU/host: control, machine | ansible -m setup | hosts/min | CPU/host: control, machine | ratio |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    let mut compared = Vec::new();
    // Each count twice: a first sweep (every host new to the receiver, which stores its first
    // package list), then again (hosts known, lists unchanged: what a periodic sweep does).
    let passes = targets.iter().flat_map(|&n| [(n, format!("{n}, first")), (n, format!("{n}, again"))]);
    for (n, label) in passes {
        let hosts = work.path().join(format!("hosts-{n}"));
        std::fs::write(&hosts, (1..=n).map(|i| format!("node-{i}\n")).collect::<String>())?;
        let base = match &before {
            Some(b) => Some(b.sweep(n, &hosts, concurrency, ssh_config)?),
            None => None,
        };
        let ours = ours.sweep(n, &hosts, concurrency, ssh_config)?;
        let theirs = ansible_setup(n, work.path(), concurrency, ssh_config, &python)?;
        let (a, b) = (ours.per_min(n), theirs.per_min(n));
        println!(
            "| {label} | {:.1} s | {a:.0} | {:.0} ms, {:.0} ms | {:.1} s | {b:.0} | {:.0} ms, {:.0} ms | **{:.1}x** |",
            ours.seconds,
            ours.control_ms,
            ours.machine_ms,
            theirs.seconds,
            theirs.control_ms,
            theirs.machine_ms,
            a / b
        );
        rows.push(json!({"targets": n, "pass": label, "assetkit_s": ours.seconds, "assetkit_hosts_per_min": a,
            "assetkit_cpu_ms_per_host": {"control": ours.control_ms, "machine": ours.machine_ms},
            "ansible_s": theirs.seconds, "ansible_hosts_per_min": b,
            "ansible_cpu_ms_per_host": {"control": theirs.control_ms, "machine": theirs.machine_ms}, "ratio": a / b,
            "baseline": base.as_ref().map(|r| json!({"s": r.seconds, "hosts_per_min": r.per_min(n),
                "cpu_ms_per_host": {"control": r.control_ms, "machine": r.machine_ms}}))}));
        if let Some(base) = base {
            compared.push((n, label, base, ours));
        }
    }
    if let Some(dir) = baseline {
        println!("\nThe same sweeps by the baseline build ({}), each just before this build's:\n", dir.display());
        println!(
            "| targets | baseline | hosts/min | CPU/host: control, machine | this build | hosts/min | CPU/host: control, machine | this / baseline |"
        );
        println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (n, label, b, o) in &compared {
            println!(
                "| {label} | {:.1} s | {:.0} | {:.0} ms, {:.0} ms | {:.1} s | {:.0} | {:.0} ms, {:.0} ms | {:.2} |",
                b.seconds,
                b.per_min(*n),
                b.control_ms,
                b.machine_ms,
                o.seconds,
                o.per_min(*n),
                o.control_ms,
                o.machine_ms,
                o.per_min(*n) / b.per_min(*n)
            );
        }
    }
    println!(
        "\n- assetkit sweep includes parsing, signing and sending every report to a real assetkitd (its CPU is in the \
         machine column); target >= 10x Ansible\n- control: the tool and the processes it waits for (ssh clients; \
         Ansible's forks; not a detached ControlPersist master); machine: every core's busy time over the run\n\
         - ansible -m setup with gather_subset=all,!facter,!ohai: as on a host without Puppet's or Chef's fact tools\n"
    );
    save("sweep", &json!({"machine": machine(), "concurrency": concurrency, "shells": shell, "rows": rows}))
}

/// `ansible all -m setup` over the first `n` targets.
fn ansible_setup(n: usize, work: &Path, concurrency: usize, ssh_config: &str, python: &str) -> anyhow::Result<Run> {
    let inventory = work.join(format!("inventory-{n}.ini"));
    std::fs::write(
        &inventory,
        format!(
            "[all]\n{}\n[all:vars]\nansible_ssh_common_args='-F {ssh_config}'\nansible_python_interpreter={python}\n",
            (1..=n).map(|i| format!("node-{i}")).collect::<Vec<_>>().join("\n")
        ),
    )?;
    let ansible = venv_bin("ansible").context("ansible not in .venv: run `make deps`")?;
    measured(n, || {
        let status = Command::new(&ansible)
            .args(["all", "-i"])
            .arg(&inventory)
            .args(crate::support::ANSIBLE_SETUP)
            .args(["-f", &concurrency.to_string()])
            .env("ANSIBLE_HOST_KEY_CHECKING", "False")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "ansible setup of {n} hosts failed");
        Ok(())
    })
}

/// One timed run: wall time, and CPU milliseconds per host.
struct Run {
    seconds: f64,
    control_ms: f64,
    machine_ms: f64,
}

impl Run {
    fn per_min(&self, hosts: usize) -> f64 {
        hosts as f64 / self.seconds * 60.0
    }
}

/// Runs `f` (which waits for its processes) over `hosts` targets, timing it.
fn measured(hosts: usize, f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<Run> {
    let (control, machine, t) = (cpu_of("self", true), busy_seconds(), Instant::now());
    f()?;
    let seconds = t.elapsed().as_secs_f64();
    let per_host = |s: f64| s * 1000.0 / hosts as f64;
    Ok(Run {
        seconds,
        control_ms: per_host(cpu_of("self", true) - control),
        machine_ms: per_host(busy_seconds() - machine),
    })
}

/// Seconds every core has spent busy since boot, from `/proc/stat`'s first line: user, nice,
/// system, irq and softirq (not idle, iowait, time stolen by the hypervisor, or guest time,
/// which user already holds).
fn busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0.0)).collect();
    [0, 1, 2, 5, 6].iter().map(|&i| ticks.get(i).unwrap_or(&0.0)).sum::<f64>() / 100.0
}
