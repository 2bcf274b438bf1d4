//! `assetkitd`: serve the receiver, manage API keys and administer the inventory.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use assetkitd::apply::Policy;
use assetkitd::{ServerConfig, inventory, store};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "assetkitd",
    version,
    about = "The assetkit receiver: signed report API, inventory in SQLite, change log",
    after_help = "Every subcommand that touches the store takes --db (or ASSETKIT_DB) and migrates the file itself.\n\n\
                  First steps:\n  \
                  assetkitd keys create --name agents --scope agent     a key for hosts (secret shown once)\n  \
                  assetkitd keys create --name ops --scope admin        a key for people and scripts\n  \
                  assetkitd serve --listen 0.0.0.0:8600                  serve (add --tls-cert/--tls-key for HTTPS)"
)]
struct Cli {
    /// More logging on stderr (-v info, -vv debug); ASSETKIT_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DbArg {
    /// The SQLite database file (created with mode 0600 if missing).
    #[arg(long, env = "ASSETKIT_DB", default_value = "assetkit.db", value_name = "FILE")]
    db: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArg,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8600", value_name = "ADDR")]
    listen: SocketAddr,
    /// How reports are matched to assets: sn (physical fleets), hostname (VMs sharing serials), auto.
    #[arg(long, value_enum, default_value = "auto")]
    identity: Policy,
    /// Accepted clock skew of signed requests, in either direction.
    #[arg(long, default_value = "300s", value_parser = duration, value_name = "DURATION")]
    window: Duration,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 2 << 20, value_name = "BYTES")]
    max_body: usize,
    /// An online asset with no report for this long is listed as offline.
    #[arg(long, default_value = "7d", value_parser = duration, value_name = "DURATION")]
    offline_after: Duration,
    /// TLS certificate chain (PEM); serve HTTPS with --tls-key.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Refuse reports once the database reaches this size (bytes); nothing is written then.
    #[arg(long, value_name = "BYTES")]
    max_db_size: Option<u64>,
    /// Print "listening on ADDR" on stdout once ready (for scripts that use port 0).
    #[arg(long)]
    print_addr: bool,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; the secret is printed once and cannot be shown again.
    Create {
        #[command(flatten)]
        db: DbArg,
        /// What uses the key (e.g. "agents-dc1", "salt-master").
        #[arg(long)]
        name: String,
        /// agent: send reports, read the pending hosts; admin: everything.
        #[arg(long, value_parser = ["agent", "admin"])]
        scope: String,
        /// Print {"key_id": ..., "secret": ...} for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        db: DbArg,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key; running servers refuse it within seconds.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        /// The key id (ak_...).
        key_id: String,
    },
}

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (try \"300s\" or \"7d\")"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = match cli.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ASSETKIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("assetkitd: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Keys(cmd) => keys(cmd),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = ServerConfig::new(&args.db.db);
    config.policy = args.identity;
    config.window_secs = args.window.as_secs() as i64;
    config.max_body = args.max_body;
    config.offline_after = args.offline_after;
    config.tls = args.tls_cert.zip(args.tls_key);
    config.max_db_bytes = args.max_db_size;
    let listener = std::net::TcpListener::bind(args.listen).with_context(|| format!("binding {}", args.listen))?;
    if args.print_addr {
        println!("listening on {}", listener.local_addr()?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(assetkitd::serve(listener, config, shutdown_signal()))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}

fn keys(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create { db, name, scope, json } => {
            let conn = store::open(&db.db)?;
            let (key_id, secret) = inventory::create_key(&conn, &name, &scope, store::now())?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"key_id": key_id, "secret": secret.expose(), "scope": scope, "name": name})
                );
            } else {
                println!("key_id: {key_id}\nsecret: {}\n", secret.expose());
                println!("The secret is shown once. Store it in a file of mode 0600, e.g.:");
                println!("  install -m 0600 /dev/null /etc/assetkit/key && printf '%s' '<secret>' > /etc/assetkit/key");
            }
            Ok(())
        }
        KeysCommand::List { db, json } => {
            let conn = store::open(&db.db)?;
            let keys = inventory::list_keys(&conn)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                println!("{:<20} {:<7} {:<22} {:<22} NAME", "KEY_ID", "SCOPE", "CREATED", "REVOKED");
                for k in keys {
                    println!(
                        "{:<20} {:<7} {:<22} {:<22} {}",
                        k.key_id,
                        k.scope,
                        k.created_at,
                        k.revoked_at.as_deref().unwrap_or("-"),
                        k.name
                    );
                }
            }
            Ok(())
        }
        KeysCommand::Revoke { db, key_id } => {
            let conn = store::open(&db.db)?;
            if !inventory::revoke_key(&conn, &key_id, store::now())? {
                bail!("no active key {key_id} (see `assetkitd keys list`)");
            }
            println!("revoked {key_id}");
            Ok(())
        }
    }
}
