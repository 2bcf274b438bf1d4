//! `assetkitd`: serve the receiver, manage API keys and administer the inventory.
#![allow(clippy::print_stdout)]

use std::io::Write;
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
    /// List, show, add and edit assets (every edit is a change event with you as the actor).
    #[command(subcommand)]
    Assets(AssetsCommand),
    /// Import a purchase list (xlsx or csv): rows become assets in stock, linked by serial when the
    /// hosts first report. Shows per-row errors; --dry-run writes nothing.
    Import {
        #[command(flatten)]
        db: DbArg,
        /// The .xlsx or .csv file.
        file: PathBuf,
        /// Only show what would be imported.
        #[arg(long)]
        dry_run: bool,
        /// Encoding of a csv that is not UTF-8 (gbk, gb18030, windows-1252, shift_jis, ...).
        #[arg(long)]
        encoding: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Console users: create, list, change a password, disable.
    #[command(subcommand)]
    Users(UsersCommand),
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a console user. The password is read from --password-file, else from stdin
    /// (not echoed when stdin is a terminal).
    Create {
        #[command(flatten)]
        db: DbArg,
        /// Login name.
        #[arg(long)]
        name: String,
        /// A file holding the password.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        #[command(flatten)]
        db: DbArg,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password (ends their sessions).
    Passwd {
        #[command(flatten)]
        db: DbArg,
        /// Login name.
        #[arg(long)]
        name: String,
        /// A file holding the password.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user (ends their sessions).
    Disable {
        #[command(flatten)]
        db: DbArg,
        /// Login name.
        #[arg(long)]
        name: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AssetsCommand {
    /// List assets, filtered and paged.
    List {
        #[command(flatten)]
        db: DbArg,
        /// discovered, online, offline, in_stock, retired.
        #[arg(long)]
        status: Option<String>,
        /// Business unit name.
        #[arg(long)]
        business_unit: Option<String>,
        /// IDC name.
        #[arg(long)]
        idc: Option<String>,
        /// Free text over hostname, serial number, IPs and MACs.
        #[arg(short, long)]
        query: Option<String>,
        /// Page (1-based).
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Rows per page.
        #[arg(long, default_value_t = 50)]
        per_page: u32,
        /// hostname, -hostname, last_seen, -last_seen, serial_number, id, -id.
        #[arg(long)]
        sort: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Show one asset (by id or hostname): facts, components, plugin errors, recent changes.
    Show {
        #[command(flatten)]
        db: DbArg,
        /// Asset id or hostname.
        asset: String,
        /// JSON output (the full asset with its last report).
        #[arg(long)]
        json: bool,
    },
    /// Enter a host by hand (the name SSH and Salt sweeps will use).
    Add {
        #[command(flatten)]
        db: DbArg,
        /// Hostname.
        #[arg(long)]
        hostname: String,
        /// Serial number, if known.
        #[arg(long)]
        serial_number: Option<String>,
        /// Business unit (created if new).
        #[arg(long)]
        business_unit: Option<String>,
        /// IDC (created if new).
        #[arg(long)]
        idc: Option<String>,
        /// Rack.
        #[arg(long)]
        rack: Option<String>,
        /// Position in the rack.
        #[arg(long)]
        position: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Change an asset: rename (the rename hosts' cert files follow), assign, retire.
    Set {
        #[command(flatten)]
        db: DbArg,
        /// Asset id or hostname.
        asset: String,
        /// New hostname.
        #[arg(long)]
        hostname: Option<String>,
        /// Business unit ("" clears).
        #[arg(long)]
        business_unit: Option<String>,
        /// IDC ("" clears).
        #[arg(long)]
        idc: Option<String>,
        /// Rack ("" clears).
        #[arg(long)]
        rack: Option<String>,
        /// Position ("" clears).
        #[arg(long)]
        position: Option<String>,
        /// discovered, online, in_stock, retired.
        #[arg(long)]
        status: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
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
    /// Connections served at once; requests in flight beyond it get 503 (health checks aside).
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_connections: usize,
    /// Time a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    header_timeout: Duration,
    /// Longest pause while a request body arrives (408 beyond it).
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    body_timeout: Duration,
    /// Longest a whole request may take (408 beyond it).
    #[arg(long, default_value = "60s", value_parser = duration, value_name = "DURATION")]
    request_timeout: Duration,
    /// Largest purchase-list file accepted by the console upload (bytes).
    #[arg(long, default_value_t = 16 << 20, value_name = "BYTES")]
    max_import_bytes: u64,
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
    let serving = matches!(cli.command, Command::Serve(_));
    let default = match cli.verbose {
        0 if serving => "info",
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    assetkitd::log::init(default);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // stderr may be a full disk: a failed write must not turn an error into a panic.
            let _ = writeln!(std::io::stderr(), "assetkitd: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Keys(cmd) => keys(cmd),
        Command::Assets(cmd) => assets(cmd),
        Command::Import { db, file, dry_run, encoding, json } => {
            import(&db.db, &file, dry_run, encoding.as_deref(), json)
        }
        Command::Users(cmd) => users(cmd),
    }
}

fn read_password(file: Option<&std::path::Path>) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    if let Some(f) = file {
        return Ok(std::fs::read_to_string(f)
            .with_context(|| format!("reading {}", f.display()))?
            .trim_end_matches(['\n', '\r'])
            .to_owned());
    }
    let stdin = std::io::stdin();
    let mut line = String::new();
    if stdin.is_terminal() {
        eprint!("Password: ");
        std::io::stderr().flush()?;
        let old = rustix::termios::tcgetattr(&stdin)?;
        let mut quiet = old.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet)?;
        let read = stdin.lock().read_line(&mut line);
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &old)?;
        eprintln!();
        read?;
    } else {
        stdin.lock().read_line(&mut line)?;
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Prints `value` as JSON or `text` for people.
fn say(json: bool, value: serde_json::Value, text: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

fn users(cmd: UsersCommand) -> anyhow::Result<()> {
    use assetkitd::users;
    match cmd {
        UsersCommand::Create { db, name, password_file, json } => {
            let password = read_password(password_file.as_deref())?;
            let mut conn = store::open(&db.db)?;
            let tx = conn.transaction()?;
            users::create_user(&tx, &name, &password, &cli_actor(), store::now())?;
            tx.commit()?;
            say(json, serde_json::json!({"user": name, "created": true}), &format!("user {name} created"));
        }
        UsersCommand::List { db, json } => {
            let conn = store::open(&db.db)?;
            let list = users::list_users(&conn)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!("{:<24} {:<22} DISABLED", "NAME", "CREATED");
                for u in list {
                    println!("{:<24} {:<22} {}", u.name, u.created_at, u.disabled_at.as_deref().unwrap_or("-"));
                }
            }
        }
        UsersCommand::Passwd { db, name, password_file, json } => {
            let password = read_password(password_file.as_deref())?;
            let mut conn = store::open(&db.db)?;
            let tx = conn.transaction()?;
            users::set_password(&tx, &name, &password, &cli_actor(), store::now())?;
            tx.commit()?;
            say(
                json,
                serde_json::json!({"user": name, "password_changed": true}),
                &format!("password of {name} changed; their sessions ended"),
            );
        }
        UsersCommand::Disable { db, name, json } => {
            let mut conn = store::open(&db.db)?;
            let tx = conn.transaction()?;
            users::disable_user(&tx, &name, &cli_actor(), store::now())?;
            tx.commit()?;
            say(json, serde_json::json!({"user": name, "disabled": true}), &format!("user {name} disabled"));
        }
    }
    Ok(())
}

fn import(
    db: &std::path::Path,
    file: &std::path::Path,
    dry_run: bool,
    encoding: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let limit = assetkitd::import::Limits::default().file_bytes;
    let size = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?.len();
    if size > limit {
        bail!("{}: the file size exceeds the limit of {limit} bytes", file.display());
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?,
            limit + 1,
        ),
        &mut bytes,
    )?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut preview = assetkitd::import::parse(&name, &bytes, encoding)?;
    let mut conn = store::open(db)?;
    let tx = conn.transaction()?;
    assetkitd::import::check_against(&tx, &mut preview)?;
    let applied =
        if dry_run { None } else { Some(assetkitd::import::apply(&tx, &preview, &cli_actor(), store::now())?) };
    tx.commit()?;
    let elapsed = started.elapsed();
    if json {
        let rows: Vec<serde_json::Value> = preview
            .rows
            .iter()
            .filter(|r| !r.errors.is_empty())
            .map(|r| serde_json::json!({"line": r.line, "errors": r.errors}))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "file": name, "rows": preview.rows.len(), "valid": preview.valid().count(), "invalid": preview.invalid(),
                "empty_rows": preview.empty_rows, "ignored_columns": preview.ignored_columns, "errors": rows,
                "created": applied.as_ref().map(|a| a.created), "dry_run": dry_run, "elapsed_ms": elapsed.as_millis() as u64,
            })
        );
        return Ok(());
    }
    for r in preview.rows.iter().filter(|r| !r.errors.is_empty()) {
        println!("line {:>5}: {}", r.line, r.errors.join("; "));
    }
    if !preview.ignored_columns.is_empty() {
        println!("ignored columns: {}", preview.ignored_columns.join(", "));
    }
    println!(
        "{}: {} rows, {} valid, {} with errors, {} empty rows skipped",
        name,
        preview.rows.len(),
        preview.valid().count(),
        preview.invalid(),
        preview.empty_rows
    );
    match applied {
        Some(a) => println!("imported {} assets in stock in {:.0} ms", a.created, elapsed.as_secs_f64() * 1000.0),
        None => println!("dry run: nothing written ({:.0} ms)", elapsed.as_secs_f64() * 1000.0),
    }
    Ok(())
}

/// Who is acting, for the change log: the login name of whoever runs the CLI.
fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".into())
    )
}

fn resolve(conn: &rusqlite::Connection, asset: &str) -> anyhow::Result<i64> {
    if let Ok(id) = asset.parse::<i64>() {
        return Ok(id);
    }
    let id: Option<i64> = conn
        .query_row("SELECT id FROM assets WHERE hostname = ?1 ORDER BY status = 'retired', id LIMIT 1", [asset], |r| {
            r.get(0)
        })
        .ok();
    id.with_context(|| format!("no asset with hostname {asset}"))
}

fn offline_cutoff() -> i64 {
    store::now() - 7 * 86_400
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn assets(cmd: AssetsCommand) -> anyhow::Result<()> {
    match cmd {
        AssetsCommand::List { db, status, business_unit, idc, query, page, per_page, sort, json } => {
            let conn = store::open(&db.db)?;
            let filter = inventory::AssetFilter {
                status,
                business_unit,
                idc,
                q: query,
                page: Some(page),
                per_page: Some(per_page),
                sort,
            };
            let result = inventory::list_assets(&conn, &filter, offline_cutoff())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
                return Ok(());
            }
            println!(
                "{:>6}  {:<28} {:<11} {:<20} {:<24} {:<16} LAST SEEN",
                "ID", "HOSTNAME", "STATUS", "SERIAL", "MODEL", "IP"
            );
            for a in &result.assets {
                println!(
                    "{:>6}  {:<28} {:<11} {:<20} {:<24} {:<16} {}",
                    a["id"],
                    cell(&a["hostname"]),
                    cell(&a["status"]),
                    cell(&a["serial_number"]),
                    cell(&a["model"]),
                    a["ips"].as_array().and_then(|i| i.first()).map(cell).unwrap_or_else(|| "-".into()),
                    cell(&a["last_seen"])
                );
            }
            println!(
                "{} of {} assets (page {}, {} per page)",
                result.assets.len(),
                result.total,
                result.page,
                result.per_page
            );
            Ok(())
        }
        AssetsCommand::Show { db, asset, json } => {
            let conn = store::open(&db.db)?;
            let id = resolve(&conn, &asset)?;
            let detail =
                inventory::asset_detail(&conn, id, offline_cutoff())?.with_context(|| format!("no asset {id}"))?;
            let changes = inventory::asset_changes(&conn, id, 20, None)?;
            if json {
                let mut detail = detail;
                detail["changes"] = serde_json::Value::Array(changes);
                println!("{}", serde_json::to_string_pretty(&detail)?);
                return Ok(());
            }
            for key in [
                "id",
                "hostname",
                "status",
                "serial_number",
                "uuid",
                "manufacturer",
                "model",
                "os",
                "cpu_model",
                "cpu_cores",
                "memory_bytes",
                "ips",
                "macs",
                "business_unit",
                "idc",
                "rack",
                "position",
                "reported_hostname",
                "last_mode",
                "first_seen",
                "last_seen",
            ] {
                println!("{key:<18} {}", cell(&detail[key]));
            }
            if let Some(components) = detail["components"].as_object() {
                for kind in ["memory_module", "disk", "nic"] {
                    let Some(list) = components.get(kind).and_then(|l| l.as_array()) else { continue };
                    println!("\n{kind} ({})", list.len());
                    for c in list {
                        let summary: Vec<String> =
                            ["slot", "name", "model", "size_bytes", "serial_number", "mac", "addresses"]
                                .iter()
                                .filter_map(|k| {
                                    c.get(*k).filter(|v| !v.is_null()).map(|v| {
                                        format!("{k}={}", assetkitd::components::render(v).unwrap_or_default())
                                    })
                                })
                                .collect();
                        println!("  {}", summary.join("  "));
                    }
                }
            }
            if let Some(errors) = detail["errors"].as_array().filter(|e| !e.is_empty()) {
                println!("\nplugin errors");
                for e in errors {
                    println!("  {}: {}", cell(&e["plugin"]), cell(&e["message"]));
                }
            }
            println!("\nchanges (newest first, {} in all)", detail["change_count"]);
            for c in &changes {
                println!(
                    "  {}  {:<14} {}",
                    cell(&c["at"]),
                    cell(&c["actor"]).chars().take(14).collect::<String>(),
                    cell(&c["summary"])
                );
            }
            Ok(())
        }
        AssetsCommand::Add { db, hostname, serial_number, business_unit, idc, rack, position, json } => {
            let mut conn = store::open(&db.db)?;
            let input =
                inventory::NewAsset { hostname, serial_number, business_unit, idc, rack, position, status: None };
            let tx = conn.transaction()?;
            let id = inventory::create_asset(&tx, &input, &cli_actor(), store::now())?;
            tx.commit()?;
            if json {
                println!("{}", serde_json::json!({"asset_id": id}));
            } else {
                println!("asset {id} created");
            }
            Ok(())
        }
        AssetsCommand::Set { db, asset, hostname, business_unit, idc, rack, position, status, json } => {
            let mut conn = store::open(&db.db)?;
            let id = resolve(&conn, &asset)?;
            let patch = inventory::AssetPatch { hostname, business_unit, idc, rack, position, status };
            let tx = conn.transaction()?;
            let n = inventory::update_asset(&tx, id, &patch, &cli_actor(), store::now())?;
            tx.commit()?;
            if json {
                println!("{}", serde_json::json!({"asset_id": id, "changes": n}));
            } else {
                println!("asset {id}: {n} change(s) recorded");
            }
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = ServerConfig::new(&args.db.db);
    config.policy = args.identity;
    config.window_secs = args.window.as_secs() as i64;
    config.max_body = args.max_body;
    config.http.max_connections = args.max_connections.max(1);
    config.http.header_timeout = args.header_timeout;
    config.http.body_timeout = args.body_timeout;
    config.http.request_timeout = args.request_timeout;
    config.import.file_bytes = args.max_import_bytes;
    config.offline_after = args.offline_after;
    config.tls = args.tls_cert.zip(args.tls_key);
    config.max_db_bytes = args.max_db_size;
    // Every connection is a descriptor: make room for the cap (the unit also sets LimitNOFILE).
    let files = assetkitd::server::raise_open_files_limit();
    let reserve = 64 + u64::from(config.readers);
    let wanted = (config.http.max_connections + config.http.headroom) as u64 + reserve;
    if files < wanted {
        let fits = files.saturating_sub(reserve).max(16) as usize;
        let max = fits.saturating_sub(config.http.headroom).max(8);
        tracing::warn!(
            open_files = files,
            max_connections = max,
            "the open-files limit is low: max-connections lowered (raise LimitNOFILE)"
        );
        config.http.max_connections = max;
    }
    let listener = std::net::TcpListener::bind(args.listen).with_context(|| format!("binding {}", args.listen))?;
    if args.print_addr {
        let mut out = std::io::stdout();
        writeln!(out, "listening on {}", listener.local_addr()?)?;
        out.flush()?;
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
            let mut conn = store::open(&db.db)?;
            let tx = conn.transaction()?;
            let (key_id, secret) = inventory::create_key(&tx, &name, &scope, store::now())?;
            assetkitd::users::audit(
                &tx,
                &cli_actor(),
                "key.create",
                &key_id,
                &format!("{scope} key {name}"),
                store::now(),
            )?;
            tx.commit()?;
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
            let mut conn = store::open(&db.db)?;
            let tx = conn.transaction()?;
            if !inventory::revoke_key(&tx, &key_id, store::now())? {
                bail!("no active key {key_id} (see `assetkitd keys list`)");
            }
            assetkitd::users::audit(&tx, &cli_actor(), "key.revoke", &key_id, "", store::now())?;
            tx.commit()?;
            println!("revoked {key_id}");
            Ok(())
        }
    }
}
