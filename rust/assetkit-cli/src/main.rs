//! `assetkit`: collect this host's facts, capture snapshots, report to the receiver (agent
//! mode) and sweep hosts over SSH.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

mod generate;
mod sweep;
mod targets;
use assetkit_agent::Config;
use assetkit_core::{CollectOptions, LiveSource, Mode, Recorder, Selection, SnapshotDir, Source};
use clap::{Args, CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "assetkit",
    version,
    about = "Server asset inventory: collect a host's hardware facts in milliseconds and report them to assetkitd",
    long_about = None,
    after_help = "Config: /etc/assetkit/agent.toml unless --config or ASSETKIT_CONFIG says otherwise.\n\
                  Logs go to stderr (ASSETKIT_LOG=debug for more); reports go to stdout.\n\n\
                  Examples:\n  \
                  assetkit collect --pretty                      this host's report\n  \
                  assetkit collect --only os,cpu,memory          just some plugins\n  \
                  assetkit snapshot --out /tmp/snap              capture raw sources for a bug report\n  \
                  assetkit collect --snapshot /tmp/snap          parse a captured snapshot\n  \
                  ssh host sh -s < <(assetkit snapshot --script) | assetkit snapshot --unpack --out /tmp/remote\n  \
                  assetkit report                                agent mode (what the timer runs)\n  \
                  assetkit sweep --pending                       SSH mode: hosts entered on the receiver\n  \
                  assetkit sweep --inventory hosts.ini -l root   SSH mode: an Ansible inventory"
)]
struct Cli {
    /// Config file (TOML).
    #[arg(long, global = true, env = "ASSETKIT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print this host's report (or a snapshot's) as JSON on stdout.
    Collect(CollectArgs),
    /// Capture the raw sources of this host into a snapshot directory, print the capture
    /// script, or unpack a script's stream.
    Snapshot(SnapshotArgs),
    /// Agent mode: collect, send the spool then this report to the receiver, update the cert file.
    /// Exits 1 when the report could not be delivered (it is then spooled).
    Report(ReportArgs),
    /// SSH mode: collect hosts over ssh (nothing installed on them) and send their reports.
    /// Exits 1 when any host failed.
    Sweep(SweepArgs),
    /// List the plugins and what each collects.
    Plugins,
    /// Manual pages or shell completions from these definitions (for packaging).
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

#[derive(Args)]
struct ReportArgs {
    /// Skip the configured random start delay (splay).
    #[arg(long)]
    no_splay: bool,
    /// Print the outcome as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Value of agent.mode in the report.
    #[arg(long, default_value = "agent", value_name = "MODE")]
    mode: Mode,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("targets").required(true).args(["pending", "hosts", "inventory"]))]
struct SweepArgs {
    /// Targets: the hosts an admin entered on the receiver that have not reported today (read
    /// with the read key of read_key_id/read_key_file).
    #[arg(long)]
    pending: bool,
    /// Targets: a file with one host a line ([user@]host[:port]).
    #[arg(long, value_name = "FILE")]
    hosts: Option<PathBuf>,
    /// Targets: an Ansible inventory (INI or YAML); ansible_host/port/user are honoured.
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// Hosts swept at the same time.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Per-host deadline: connect, run, parse and send.
    #[arg(long, default_value = "60s", value_parser = humantime_duration, value_name = "DURATION")]
    timeout: Duration,
    /// Default SSH user (an inventory's ansible_user wins).
    #[arg(long, short = 'l')]
    user: Option<String>,
    /// Extra ssh -o option, repeatable (e.g. -o StrictHostKeyChecking=accept-new).
    #[arg(short = 'o', long = "ssh-option", value_name = "OPTION")]
    ssh_options: Vec<String>,
    /// The ssh client to run.
    #[arg(long, default_value = "ssh", value_name = "PATH")]
    ssh: PathBuf,
    /// An ssh_config file for the sweep (ssh -F), instead of ~/.ssh/config.
    #[arg(short = 'F', long, value_name = "FILE")]
    ssh_config: Option<PathBuf>,
    /// Collect only: print each host's report as a JSON line instead of sending it.
    #[arg(long)]
    no_send: bool,
    /// Print the results as JSON instead of the summary table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CollectArgs {
    /// Parse this snapshot directory instead of the live host.
    #[arg(long, value_name = "DIR")]
    snapshot: Option<PathBuf>,
    /// Only these plugins (comma-separated): os, board, cpu, memory, disk, nic, bmc, gpu, packages, guests,
    /// custom, custom.<name>.
    #[arg(long, value_delimiter = ',', value_name = "PLUGINS")]
    only: Option<Vec<String>>,
    /// Indent the JSON.
    #[arg(long)]
    pretty: bool,
    /// Deadline for each plugin (overrides plugin_timeout + 5s).
    #[arg(long, value_parser = humantime_duration, value_name = "DURATION")]
    timeout: Option<Duration>,
    /// Value of agent.mode in the report.
    #[arg(long, default_value = "cli", value_name = "MODE")]
    mode: Mode,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["out", "script"]))]
struct SnapshotArgs {
    /// Directory to write the snapshot into (created; must be empty if it exists).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the POSIX sh script that captures a snapshot as one stream on stdout.
    #[arg(long)]
    script: bool,
    /// With --out: read a script stream from stdin instead of capturing this host.
    #[arg(long, requires = "out")]
    unpack: bool,
}

fn humantime_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (try \"10s\")"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("assetkit: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ASSETKIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Packaging runs `generate` on a build machine that has no agent.toml.
    let config = || Config::load(cli.config.as_deref()).map(|(config, _)| config);
    match cli.command {
        Command::Collect(args) => collect(&config()?, args),
        Command::Snapshot(args) => snapshot(&config()?, args),
        Command::Report(args) => report(&config()?, args),
        Command::Sweep(args) => sweep_cmd(&config()?, args),
        Command::Plugins => {
            let config = config()?;
            for c in assetkit_core::plugins::BUILTIN {
                println!("{:<8} {}", c.name(), c.describe());
            }
            println!(
                "{:<8} executables in {} printing JSON, as facts.custom.<name>",
                "custom",
                config.plugins_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate(args) => {
            let written = generate::write(Cli::command(), args.what, &args.out)?;
            println!("wrote {} files to {}", written.len(), args.out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn collect(config: &Config, args: CollectArgs) -> anyhow::Result<ExitCode> {
    let selection = match &args.only {
        Some(names) => Selection::from_names(names)?,
        None => config.selection()?,
    };
    let source: Arc<dyn Source> = match &args.snapshot {
        Some(dir) => Arc::new(SnapshotDir::open(dir)?),
        None => Arc::new(LiveSource::new(config.live_options())),
    };
    let options = CollectOptions {
        selection,
        timeout: args.timeout.unwrap_or(config.plugin_timeout + Duration::from_secs(5)),
        mode: args.mode,
    };
    let report = assetkit_core::collect(source, &options);
    let json = if args.pretty { serde_json::to_string_pretty(&report)? } else { serde_json::to_string(&report)? };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{json}").context("writing the report to stdout")?;
    Ok(ExitCode::SUCCESS)
}

fn snapshot(config: &Config, args: SnapshotArgs) -> anyhow::Result<ExitCode> {
    if args.script {
        print!("{}", assetkit_core::script::SNAPSHOT_SCRIPT);
        return Ok(ExitCode::SUCCESS);
    }
    let out = args.out.expect("clap requires --out or --script");
    if out.exists() && std::fs::read_dir(&out)?.next().is_some() {
        bail!("{} is not empty; choose a new directory", out.display());
    }
    if args.unpack {
        let stats = assetkit_core::script::unpack(std::io::stdin().lock(), &out)?;
        eprintln!("unpacked {} records ({} bytes) into {}", stats.records, stats.bytes, out.display());
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let recorder: Arc<dyn Source> = Arc::new(Recorder::new(LiveSource::new(config.live_options()), &out));
    let options = CollectOptions {
        selection: Selection::all(),
        timeout: config.plugin_timeout + Duration::from_secs(5),
        mode: Mode::Cli,
    };
    let report = assetkit_core::collect(recorder, &options);
    for e in &report.errors {
        eprintln!("warning: {}: {}", e.plugin, e.message);
    }
    eprintln!("snapshot written to {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn report(config: &Config, args: ReportArgs) -> anyhow::Result<ExitCode> {
    use assetkit_agent::run::{RunError, RunOptions};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let options = RunOptions { mode: args.mode, splay: !args.no_splay };
    match runtime.block_on(assetkit_agent::run::report(config, &options)) {
        Ok(outcome) => {
            if args.json {
                println!("{}", serde_json::to_string(&outcome)?);
            }
            eprintln!(
                "assetkit: reported as {} (asset {}, {}{})",
                outcome.cert_hostname.as_deref().unwrap_or("?"),
                outcome.answer.asset_id,
                outcome.answer.action,
                if outcome.spool_sent > 0 {
                    format!(", {} spooled reports delivered", outcome.spool_sent)
                } else {
                    String::new()
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (RunError::Config(_) | RunError::Key(_))) => Err(e.into()),
        Err(e) => {
            eprintln!("assetkit: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn sweep_cmd(config: &Config, args: SweepArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let needs_client = !args.no_send;
        let client = if needs_client {
            let server = config
                .server
                .as_deref()
                .with_context(|| format!("{} (needed to send reports)", config.missing("server")))?;
            let key_id = config.key_id.as_deref().with_context(|| config.missing("key_id"))?;
            let secret = assetkit_agent::key::load(&config.key_file)?;
            Some(assetkit_agent::Client::new(
                server,
                key_id,
                secret,
                config.ca_file.as_deref(),
                Duration::from_secs(30),
            )?)
        } else {
            None
        };
        let targets = if args.pending {
            let server = config.server.as_deref().with_context(|| config.missing("server"))?;
            let (Some(read_id), Some(read_file)) = (config.read_key_id.as_deref(), config.read_key_file.as_deref())
            else {
                anyhow::bail!(
                    "--pending reads the hosts entered by hand with a read key (the fleet key may not list them): \
                     set read_key_id and read_key_file in the config (assetkitd keys create --scope read)"
                );
            };
            let reader = assetkit_agent::Client::new(
                server,
                read_id,
                assetkit_agent::key::load(read_file)?,
                config.ca_file.as_deref(),
                Duration::from_secs(30),
            )?;
            reader
                .pending_hosts()
                .await?
                .into_iter()
                .map(|h| targets::Target { name: h.clone(), inventory_name: Some(h), ..Default::default() })
                .collect()
        } else if let Some(file) = &args.hosts {
            targets::parse_hosts_file(
                &std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
            )
        } else {
            let file = args.inventory.as_ref().expect("clap requires a target source");
            targets::parse_inventory(
                &std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
            )?
        };
        if targets.is_empty() {
            eprintln!("assetkit: no targets");
            return Ok(ExitCode::SUCCESS);
        }
        let sweep = std::sync::Arc::new(sweep::Sweep {
            ssh: args.ssh.clone(),
            ssh_options: args.ssh_options.clone(),
            ssh_config: args.ssh_config.clone(),
            user: args.user.clone(),
            timeout: args.timeout,
            concurrency: args.concurrency,
            selection: config.selection()?,
            client: if args.no_send { None } else { client },
            server: config.server.clone().unwrap_or_default(),
            ca_file: config.ca_file.clone(),
            credentials: assetkit_agent::credential::CredentialStore::new(&config.credentials_dir),
        });
        let started = std::time::Instant::now();
        let results = sweep::run(sweep, targets, args.no_send).await;
        let elapsed = started.elapsed();
        if args.json {
            println!("{}", serde_json::json!({"elapsed_ms": elapsed.as_millis() as u64, "hosts": results}));
        } else {
            let table = sweep::summary(&results);
            let rate = results.len() as f64 / elapsed.as_secs_f64().max(1e-9) * 60.0;
            let footer = format!("{} hosts in {:.1}s ({rate:.0} hosts/minute)", results.len(), elapsed.as_secs_f64());
            if args.no_send {
                eprint!("{table}");
                eprintln!("{footer}");
            } else {
                print!("{table}");
                println!("{footer}");
            }
        }
        let all_ok = results.iter().all(|r| r.status == sweep::Status::Ok);
        Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
    })
}
