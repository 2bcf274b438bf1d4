//! SSH mode (`assetkit sweep`): run the snapshot script on each target over one SSH connection,
//! parse the stream into a report here, sign and send it. Nothing is installed on the targets.
//!
//! The system `ssh` client is used (BatchMode=yes), so the operator's ssh config, agent, jump
//! hosts and known_hosts all apply exactly as they do for their own logins and for Ansible.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assetkit_agent::Client;
use assetkit_agent::credential::CredentialStore;
use assetkit_agent::signer::Signer;
use assetkit_core::{CollectOptions, Mode, Selection, Source};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::targets::Target;

/// How one host went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Reported (or collected, with --no-send).
    Ok,
    /// No SSH connection.
    Unreachable,
    /// SSH refused our key, or the host key did not verify.
    AuthFailed,
    /// The per-host timeout passed.
    TimedOut,
    /// The receiver refused the report, or could not be reached.
    Rejected,
    /// The remote script or the stream failed.
    Failed,
}

impl Status {
    const ALL: [Status; 6] =
        [Status::Ok, Status::Unreachable, Status::AuthFailed, Status::TimedOut, Status::Rejected, Status::Failed];
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unreachable => "unreachable",
            Status::AuthFailed => "auth failed",
            Status::TimedOut => "timed out",
            Status::Rejected => "rejected",
            Status::Failed => "failed",
        }
    }
}

/// One host's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct HostResult {
    /// Target name.
    pub target: String,
    /// Outcome class.
    pub status: Status,
    /// Details (error text, or the receiver's action).
    pub detail: String,
    /// Asset id when reported.
    pub asset_id: Option<i64>,
    /// Milliseconds spent on this host.
    pub elapsed_ms: u64,
}

/// Sweep settings.
pub struct Sweep {
    /// The ssh binary.
    pub ssh: PathBuf,
    /// Extra `-o` options.
    pub ssh_options: Vec<String>,
    /// `ssh -F` file.
    pub ssh_config: Option<PathBuf>,
    /// Default SSH user.
    pub user: Option<String>,
    /// Per-host deadline (connect, run, parse, send).
    pub timeout: Duration,
    /// Parallel hosts.
    pub concurrency: usize,
    /// Plugins.
    pub selection: Selection,
    /// Where to send; `None` prints reports instead.
    pub client: Option<Client>,
    /// The receiver, for the hosts' own credentials.
    pub server: String,
    /// The CA bundle for the receiver.
    pub ca_file: Option<PathBuf>,
    /// Each swept host's own credential, one file per target.
    pub credentials: CredentialStore,
}

/// Sweeps all targets; results come back in target order.
pub async fn run(sweep: Arc<Sweep>, targets: Vec<Target>, print_reports: bool) -> Vec<HostResult> {
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(targets.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let limit = Arc::new(tokio::sync::Semaphore::new(sweep.concurrency.max(1)));
    let mut tasks = Vec::new();
    for target in targets {
        let (sweep, limit, progress) = (Arc::clone(&sweep), Arc::clone(&limit), progress.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.expect("semaphore open");
            let started = Instant::now();
            let (status, detail, asset_id, report) =
                match tokio::time::timeout(sweep.timeout, one(&sweep, &target)).await {
                    Ok(r) => r,
                    Err(_) => (
                        Status::TimedOut,
                        format!("no result within {}", humantime::format_duration(sweep.timeout)),
                        None,
                        None,
                    ),
                };
            if let Some(report) = report.filter(|_| print_reports) {
                println!("{report}");
            }
            if let Some(bar) = &progress {
                bar.inc(1);
                bar.set_message(format!("{}: {}", target.name, status.label()));
            }
            HostResult {
                target: target.name,
                status,
                detail,
                asset_id,
                elapsed_ms: started.elapsed().as_millis() as u64,
            }
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        if let Ok(r) = t.await {
            results.push(r);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    results
}

type One = (Status, String, Option<i64>, Option<String>);

async fn one(sweep: &Sweep, target: &Target) -> One {
    let destination = target.address.as_deref().unwrap_or(&target.name);
    // Targets may come from the receiver (--pending) or an inventory: data, checked as it
    // leaves for ssh.
    if let Err(why) = assetkit_core::names::check_destination(destination) {
        let shown: String = destination.chars().take(80).flat_map(char::escape_debug).collect();
        return (Status::Failed, format!("not swept: the address \"{shown}\" {why}"), None, None);
    }
    if let Some(user) = target.user.as_ref().or(sweep.user.as_ref())
        && (user.is_empty() || user.starts_with('-') || user.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return (Status::Failed, "not swept: the ssh user name is not a user name".to_owned(), None, None);
    }
    let out = match snapshot_stream(sweep, target, destination).await {
        Ok(out) => out,
        Err(failed) => return failed,
    };
    let report = match parse_stream(sweep, target, out).await {
        Ok(report) => report,
        Err(e) => return (Status::Failed, e, None, None),
    };
    send(sweep, target, report).await
}

/// Runs the snapshot script on the target over one ssh connection; its stream, or how it
/// failed.
async fn snapshot_stream(sweep: &Sweep, target: &Target, destination: &str) -> Result<Vec<u8>, One> {
    let failed = |detail: String| (Status::Failed, detail, None, None);
    let mut cmd = tokio::process::Command::new(&sweep.ssh);
    if let Some(config) = &sweep.ssh_config {
        cmd.arg("-F").arg(config);
    }
    cmd.args(["-o", "BatchMode=yes", "-o"]).arg(format!("ConnectTimeout={}", sweep.timeout.as_secs().clamp(1, 30)));
    for o in &sweep.ssh_options {
        cmd.arg("-o").arg(o);
    }
    if let Some(port) = target.port {
        cmd.arg("-p").arg(port.to_string());
    }
    if let Some(user) = target.user.as_ref().or(sweep.user.as_ref()) {
        cmd.arg("-l").arg(user);
    }
    cmd.arg("--").arg(destination).arg("sh -s");
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Err(failed(format!("cannot run {}: {e}", sweep.ssh.display()))),
    };
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let script = assetkit_core::script::SNAPSHOT_SCRIPT.as_bytes();
    let writer = async move {
        // A host that never reads its stdin (auth failure) closes the pipe: not an error here.
        let _ = stdin.write_all(script).await;
        drop(stdin);
    };
    let mut out = Vec::new();
    let mut err = Vec::new();
    let reader = async { (&mut stdout).take(assetkit_core::script::MAX_STREAM).read_to_end(&mut out).await };
    let err_reader = async { (&mut stderr).take(64 * 1024).read_to_end(&mut err).await };
    let (_, read, _) = tokio::join!(writer, reader, err_reader);
    let status = match child.wait().await {
        Ok(s) => s,
        Err(e) => return Err(failed(format!("waiting for ssh: {e}"))),
    };
    let stderr_text = String::from_utf8_lossy(&err);
    if let Err(e) = read {
        return Err(failed(format!("reading from ssh: {e}")));
    }
    if !status.success() {
        return Err(classify(status.code(), &stderr_text));
    }
    Ok(out)
}

/// The report a target's stream makes, parsed off the async threads.
async fn parse_stream(sweep: &Sweep, target: &Target, out: Vec<u8>) -> Result<assetkit_core::Report, String> {
    let selection = sweep.selection.clone();
    // A target without a cert file is known by the name the operator sweeps it under (its
    // credential is kept under that name too): two inventory names are two hosts.
    let inventory_name = target
        .inventory_name
        .clone()
        .or_else(|| Some(target.name.clone()).filter(|n| assetkit_core::names::check_hostname(n).is_ok()));
    let parsed = tokio::task::spawn_blocking(move || -> Result<assetkit_core::Report, String> {
        // Held in memory: nothing written to disk per host (a full /tmp stops no sweep).
        let snap = assetkit_core::script::read(&out[..]).map_err(|e| e.to_string())?;
        drop(out);
        let cert = snap.value("/etc/assetkit/cert");
        let source: Arc<dyn Source> = Arc::new(snap);
        let mut report = assetkit_core::collect(
            source,
            &CollectOptions { selection, timeout: Duration::from_secs(10), mode: Mode::Ssh },
        );
        report.host.cert_hostname = cert.or(inventory_name);
        Ok(report)
    })
    .await;
    parsed.map_err(|e| format!("parser thread: {e}"))?
}

/// Sends a target's report, signed with its own credential once it has one (the fleet key
/// enrols it); with `--no-send`, the report itself.
async fn send(sweep: &Sweep, target: &Target, report: assetkit_core::Report) -> One {
    let plugin_errors = report.errors.len();
    let Some(client) = &sweep.client else {
        let json = serde_json::to_string(&report).unwrap_or_default();
        return (Status::Ok, format!("collected ({plugin_errors} plugin errors)"), None, Some(json));
    };
    // Each host's report is signed with that host's own credential once it has one; the fleet
    // key only enrols it.
    let credential = match sweep.credentials.file(&target.name) {
        Ok(file) => file,
        Err(e) => return (Status::Failed, e.to_string(), None, None),
    };
    let signer = Signer::with_fleet_client(
        &sweep.server,
        Some(client.clone()),
        credential,
        sweep.ca_file.as_deref(),
        Duration::from_secs(30),
    );
    match signer.post_report(&report, Instant::now() + Duration::from_secs(10)).await {
        Ok(answer) => {
            (Status::Ok, format!("{} ({plugin_errors} plugin errors)", answer.action), Some(answer.asset_id), None)
        }
        Err(e) => (Status::Rejected, e.to_string(), None, None),
    }
}

fn classify(code: Option<i32>, stderr: &str) -> One {
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned();
    let has = |s: &str| stderr.contains(s);
    // Our key refused, or the host's key not the one we trust: both are authentication.
    let auth = [
        "Permission denied",
        "Too many authentication failures",
        "Host key verification failed",
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
    ];
    let status = if auth.iter().any(|a| has(a)) {
        Status::AuthFailed
    } else if code == Some(255) {
        Status::Unreachable
    } else {
        Status::Failed
    };
    let detail = if last.is_empty() { format!("ssh exited with {code:?}") } else { last };
    (status, detail, None, None)
}

/// The end-of-sweep table, failures listed under it.
pub fn summary(results: &[HostResult]) -> String {
    let mut out = String::from("STATUS        HOSTS\n");
    for s in Status::ALL {
        out.push_str(&format!("{:<12} {:>6}\n", s.label(), results.iter().filter(|r| r.status == s).count()));
    }
    out.push_str(&format!("{:<12} {:>6}\n", "total", results.len()));
    let failed: Vec<&HostResult> = results.iter().filter(|r| r.status != Status::Ok).collect();
    if !failed.is_empty() {
        out.push_str("\nFAILED\n");
        for r in failed {
            out.push_str(&format!("{:<30} {:<12} {}\n", r.target, r.status.label(), r.detail));
        }
    }
    out
}
