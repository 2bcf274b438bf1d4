//! The `assetkitd` command line: one file per subcommand (`serve`, `keys`, `assets`, `import`,
//! `users`, `backup`; `generate`, hidden, for packaging). Each opens the store through
//! [`crate::store`], calls the domain layer, and prints for people or, with `--json`, for scripts.

pub mod assets;
pub mod backup;
pub mod fields;
pub mod generate;
pub mod hosts;
pub mod import;
pub mod keys;
pub mod named;
pub mod serve;
pub mod storage;
pub mod table;
pub mod tls;
pub mod users;
pub mod webhooks;

use std::io::Write as _;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::store::secrets::Keyring;
use crate::store::{self, Db, Location};

/// Writes a line to stdout; a closed pipe (`| head`) is not an error worth a panic.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The command line.
#[derive(Parser)]
#[command(
    name = "assetkitd",
    version,
    about = "The assetkit receiver: signed report API, inventory in SQLite, change log",
    after_help = "Every subcommand that touches the store takes --db (or ASSETKIT_DB) and migrates it itself.\n\n\
                  First steps:\n  \
                  export ASSETKIT_DB=/var/lib/assetkit/assetkit.db      the store every command below uses\n  \
                  assetkitd keys create agents --scope agent            a key for hosts (secret shown once)\n  \
                  assetkitd keys create ops --scope admin               a key for people and scripts\n  \
                  assetkitd users create alice                          a console admin (password from stdin)\n  \
                  assetkitd users create bob --role viewer              a console user who only reads\n  \
                  assetkitd webhooks add --url URL --secret-file F       change events to a chat or an alert manager\n  \
                  assetkitd tls self-signed --host NAME --out DIR        a trial CA and server certificate for HTTPS\n  \
                  assetkitd serve --listen 0.0.0.0:8600                  serve (add --tls-cert/--tls-key for HTTPS)"
)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug); ASSETKIT_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Where webhooks may deliver beyond the public internet, shared by `serve` (which delivers)
/// and `webhooks add` (which checks an endpoint before it is stored).
#[derive(Args, Clone, Debug)]
pub struct WebhookNetworks {
    /// A network webhook deliveries may reach although it is loopback, private or link-local
    /// (repeat it, or give a comma-separated list in the variable): 10.20.0.0/16, 127.0.0.1.
    /// Without it such destinations, and the cloud metadata address, are refused.
    #[arg(
        long = "webhook-allow-network",
        value_name = "CIDR",
        env = "ASSETKIT_WEBHOOK_ALLOW_NETWORKS",
        value_delimiter = ','
    )]
    pub allow: Vec<String>,
}

impl WebhookNetworks {
    /// The policy the flags give.
    pub fn destinations(&self) -> anyhow::Result<crate::domain::webhooks::destinations::Destinations> {
        crate::domain::webhooks::destinations::Destinations::parse(&self.allow.join(",")).map_err(anyhow::Error::msg)
    }
}

/// `--db` and `--secret-key-file`, shared by every subcommand that touches the store.
#[derive(Args, Clone)]
pub struct DbArg {
    /// The database: a SQLite file (created with mode 0600 if missing), sqlite:PATH, or
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require&sslrootcert=CA.pem] for
    /// several replicas on one PostgreSQL (a password is better given through ASSETKIT_DB than
    /// on the command line; it is never shown).
    #[arg(long, env = "ASSETKIT_DB", hide_env_values = true, default_value = "assetkit.db", value_name = "DB")]
    pub db: Location,
    /// The server key that seals API secrets and host credentials at rest (created 0600 on first
    /// use). Default: beside a SQLite database, DB.key; required with PostgreSQL (the same file
    /// on every replica). Back it up apart from the database.
    #[arg(long, env = "ASSETKIT_SECRET_KEY_FILE", value_name = "FILE")]
    pub secret_key_file: Option<std::path::PathBuf>,
}

impl DbArg {
    /// A SQLite store that does not exist yet.
    pub fn is_missing(&self) -> bool {
        matches!(&self.db, Location::Sqlite(path) if std::fs::symlink_metadata(path).is_err())
    }

    /// Opens and migrates the store. A SQLite store that did not exist is created with its key
    /// file, and a line on stderr says where: a store made by mistake in the wrong directory
    /// (no --db, no ASSETKIT_DB) is seen at once.
    pub fn open(&self) -> anyhow::Result<Box<dyn Db + Send>> {
        let new = self.is_missing();
        let db = store::connect(&self.db)?;
        if new && let Location::Sqlite(path) = &self.db {
            let key = store::key_file(&self.db, self.secret_key_file.as_deref())?;
            Keyring::open_or_create(&key)?;
            let shown =
                |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned()).display().to_string();
            let _ = writeln!(
                std::io::stderr(),
                "assetkitd: created store at {} (key file {}); set ASSETKIT_DB or pass --db to use another",
                shown(path),
                shown(&key)
            );
        }
        Ok(db)
    }

    /// Opens and migrates the store, loads (or creates) the server key, and seals any secret an
    /// older version stored in plain text.
    pub fn open_with_keys(&self) -> anyhow::Result<(Box<dyn Db + Send>, Keyring)> {
        let mut db = self.open()?;
        let path = store::key_file(&self.db, self.secret_key_file.as_deref())?;
        let ring = Keyring::open_or_create(&path)?;
        store::transaction(db.as_mut(), |db| crate::domain::keys::seal_plaintext(db, &ring))?;
        Ok((db, ring))
    }
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Serve the API and the console until SIGTERM or SIGINT.
    Serve(Box<serve::ServeArgs>),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// List, show, add and edit assets (every edit is a change event with you as the actor).
    #[command(subcommand)]
    Assets(assets::AssetsCommand),
    /// Custom fields an admin defines (text, integer, date, one of a list), set per asset.
    #[command(subcommand)]
    Fields(fields::FieldsCommand),
    /// Import a purchase list (xlsx or csv): rows become assets in stock, linked by serial when the
    /// hosts first report. Shows per-row errors; --dry-run writes nothing.
    Import(import::ImportArgs),
    /// Console users: create, list, change a password, disable.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Host credentials: pre-enrol a host, allow a re-enrolment, revoke a credential.
    #[command(subcommand)]
    Hosts(hosts::HostsCommand),
    /// Webhooks: endpoints that receive change events (signed POSTs), their dead deliveries.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
    /// Move the inventory to another store (SQLite to PostgreSQL), and compare two stores.
    #[command(subcommand)]
    Store(storage::StoreCommand),
    /// HTTPS for a trial: a CA and the server certificate it signs (`tls self-signed`).
    #[command(subcommand)]
    Tls(tls::TlsCommand),
    /// Copy a live SQLite store to a file while the server serves (consistent, with progress);
    /// the server key file stays out of it.
    Backup(backup::BackupArgs),
    /// Manual pages or shell completions from these definitions (for packaging).
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

impl Cli {
    /// The log level to use when `ASSETKIT_LOG` does not say.
    pub fn log_level(&self) -> &'static str {
        match self.verbose {
            0 if matches!(self.command, Command::Serve(_)) => "info",
            0 => "warn",
            1 => "debug",
            _ => "trace",
        }
    }

    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(args) => serve::run(*args),
            Command::Keys(cmd) => keys::run(cmd),
            Command::Assets(cmd) => assets::run(cmd),
            Command::Fields(cmd) => fields::run(cmd),
            Command::Import(args) => import::run(args),
            Command::Users(cmd) => users::run(cmd),
            Command::Hosts(cmd) => hosts::run(cmd),
            Command::Store(cmd) => storage::run(cmd),
            Command::Webhooks(cmd) => webhooks::run(cmd),
            Command::Tls(cmd) => tls::run(cmd),
            Command::Backup(args) => backup::run(args),
            Command::Generate(args) => generate::run(args),
        }
    }
}

/// A humantime duration for clap ("300s", "7d").
pub fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (try \"300s\" or \"7d\")"))
}

/// Prints `value` as JSON or `text` for people.
pub fn say(json: bool, value: serde_json::Value, text: &str) {
    if json {
        out!("{value}");
    } else {
        out!("{text}");
    }
}

/// Who is acting, for the change log: the login name of whoever runs the CLI.
pub fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".into())
    )
}
