//! The SSH sweep next to `ansible all -m setup` at the same concurrency.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::receiver::{Store, start_receiver};
use crate::support::{machine, release_bin, repo, save, venv_bin};
use anyhow::Context;
use serde_json::json;

pub(crate) fn sweep_bench(targets: &[usize], concurrency: usize) -> anyhow::Result<()> {
    let assetkit = release_bin("assetkit")?;
    let out = Command::new(repo().join("tests/sshd/up")).output()?;
    anyhow::ensure!(out.status.success(), "tests/sshd/up failed: {}", String::from_utf8_lossy(&out.stderr));
    let env_text = std::fs::read_to_string(String::from_utf8_lossy(&out.stdout).trim())?;
    let env: std::collections::BTreeMap<&str, &str> = env_text.lines().filter_map(|l| l.split_once('=')).collect();
    let ssh_config = env["SSH_CONFIG"];
    let receiver = start_receiver(&Store::Sqlite)?;
    let work = tempfile::tempdir()?;
    let key_file = work.path().join("key");
    std::fs::write(&key_file, receiver.key.1.expose())?;
    std::process::Command::new("chmod").arg("600").arg(&key_file).status()?;
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
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .map(str::to_owned)
        .unwrap_or_else(|| "python3".into());
    println!("## SSH sweep ({}; loopback sshd, concurrency {concurrency})\n", machine());
    println!("| targets | assetkit sweep | hosts/min | ansible -m setup | hosts/min | ratio |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for &n in targets {
        let hosts = work.path().join(format!("hosts-{n}"));
        std::fs::write(&hosts, (1..=n).map(|i| format!("node-{i}\n")).collect::<String>())?;
        let t = Instant::now();
        let status = Command::new(&assetkit)
            .arg("--config")
            .arg(&config)
            .args(["sweep", "--concurrency", &concurrency.to_string(), "-F", ssh_config, "--hosts"])
            .arg(&hosts)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        let ours = t.elapsed();
        anyhow::ensure!(status.success(), "assetkit sweep of {n} hosts failed");
        let inventory = work.path().join(format!("inventory-{n}.ini"));
        std::fs::write(
            &inventory,
            format!(
                "[all]\n{}\n[all:vars]\nansible_ssh_common_args='-F {ssh_config}'\nansible_python_interpreter={python}\n",
                (1..=n).map(|i| format!("node-{i}")).collect::<Vec<_>>().join("\n")
            ),
        )?;
        let ansible = venv_bin("ansible").context("ansible not in .venv: run `make deps`")?;
        let t = Instant::now();
        let status = Command::new(&ansible)
            .args(["all", "-i"])
            .arg(&inventory)
            .args(["-m", "setup", "-f", &concurrency.to_string()])
            .env("ANSIBLE_HOST_KEY_CHECKING", "False")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        let theirs = t.elapsed();
        anyhow::ensure!(status.success(), "ansible setup of {n} hosts failed");
        let (a, b) = (n as f64 / ours.as_secs_f64() * 60.0, n as f64 / theirs.as_secs_f64() * 60.0);
        println!(
            "| {n} | {:.1} s | {a:.0} | {:.1} s | {b:.0} | **{:.1}x** |",
            ours.as_secs_f64(),
            theirs.as_secs_f64(),
            a / b
        );
        rows.push(json!({"targets": n, "assetkit_s": ours.as_secs_f64(), "assetkit_hosts_per_min": a, "ansible_s": theirs.as_secs_f64(), "ansible_hosts_per_min": b, "ratio": a / b}));
    }
    println!(
        "\n- assetkit sweep includes parsing, signing and sending every report to a real assetkitd; target >= 5x Ansible\n"
    );
    save("sweep", &json!({"machine": machine(), "concurrency": concurrency, "rows": rows}))
}
