//! `assetkitd keys`: API keys for hosts (agent) and for people and scripts (admin).

use anyhow::bail;
use clap::Subcommand;

use super::{DbArg, cli_actor};
use crate::domain::{audit, keys};
use crate::out;
use crate::store::{self, now};

/// The `keys` subcommands (their doc comments are the help text; `db` is the shared `--db`).
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum KeysCommand {
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

/// Runs `keys`.
pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create { db, name, scope, json } => {
            let mut db = db.open()?;
            let (key_id, secret) = store::transaction(db.as_mut(), |db| {
                let (key_id, secret) = keys::create(db, &name, &scope, now())?;
                audit::record(db, &cli_actor(), "key.create", &key_id, &format!("{scope} key {name}"), now())?;
                Ok::<_, crate::domain::Error>((key_id, secret))
            })?;
            if json {
                out!(
                    "{}",
                    serde_json::json!({"key_id": key_id, "secret": secret.expose(), "scope": scope, "name": name})
                );
            } else {
                out!("key_id: {key_id}\nsecret: {}\n", secret.expose());
                out!("The secret is shown once. Store it in a file of mode 0600, e.g.:");
                out!("  install -m 0600 /dev/null /etc/assetkit/key && printf '%s' '<secret>' > /etc/assetkit/key");
            }
            Ok(())
        }
        KeysCommand::List { db, json } => {
            let keys = keys::list(db.open()?.as_mut())?;
            if json {
                out!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                out!("{:<20} {:<7} {:<22} {:<22} NAME", "KEY_ID", "SCOPE", "CREATED", "REVOKED");
                for k in keys {
                    out!(
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
            let mut db = db.open()?;
            let revoked = store::transaction(db.as_mut(), |db| {
                let done = keys::revoke(db, &key_id, now())?;
                if done {
                    audit::record(db, &cli_actor(), "key.revoke", &key_id, "", now())?;
                }
                Ok::<_, crate::domain::Error>(done)
            })?;
            if !revoked {
                bail!("no active key {key_id} (see `assetkitd keys list`)");
            }
            out!("revoked {key_id}");
            Ok(())
        }
    }
}
