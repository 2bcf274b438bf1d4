//! `assetkitd keys`: API keys for hosts (agent) and for people and scripts (admin).

use anyhow::bail;
use clap::Subcommand;

use super::table::{Column, Table};
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
        name: String,
        /// agent: the fleet key (hosts enrol with it; sweeps read the pending hosts); admin:
        /// everything; read: GET the inventory and its changes.
        #[arg(long, value_parser = ["agent", "admin", "read"])]
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
        /// The key id (ak_... or hk_...).
        key_id: String,
    },
    /// Rotate the server key that seals secrets at rest: a new key is added to the key file,
    /// every secret is re-sealed with it in one transaction, then the old keys are dropped.
    /// Running servers pick the new key up by themselves.
    RotateMaster {
        #[command(flatten)]
        db: DbArg,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// What `assetkitd keys create` does: a key in the store at `location`, sealed under the key
/// file (the default one when `key_file` is `None`); the secret is returned once.
pub fn create_key(
    location: &crate::store::Location,
    key_file: Option<&std::path::Path>,
    name: &str,
    scope: &str,
) -> anyhow::Result<(String, assetkit_sign::Secret)> {
    let db = DbArg { db: location.clone(), secret_key_file: key_file.map(std::path::Path::to_path_buf) };
    let (mut db, ring) = db.open_with_keys()?;
    Ok(store::transaction(db.as_mut(), |db| {
        let (key_id, secret) = keys::create(db, &ring, name, scope, now())?;
        audit::record(db, &cli_actor(), "key.create", &key_id, &format!("{scope} key {name}"), now())?;
        Ok::<_, crate::domain::Error>((key_id, secret))
    })?)
}

/// Runs `keys`.
pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create { db, name, scope, json } => {
            let (key_id, secret) = create_key(&db.db, db.secret_key_file.as_deref(), &name, &scope)?;
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
                let mut table = Table::new(&[
                    Column::text("KEY_ID", 24),
                    Column::text("SCOPE", 6),
                    Column::text("CREATED", 25),
                    Column::text("REVOKED", 25),
                    Column::text("NAME", 60),
                ]);
                for k in keys {
                    let name = match k.asset_id {
                        Some(id) => format!("{} (asset {id})", k.name),
                        None => k.name,
                    };
                    table.row([k.key_id, k.scope, k.created_at, k.revoked_at.unwrap_or_else(|| "-".into()), name]);
                }
                table.print();
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
        KeysCommand::RotateMaster { db, json } => {
            let (mut db, ring) = db.open_with_keys()?;
            let version = ring.add_key()?;
            let resealed = store::transaction(db.as_mut(), |db| keys::reseal_all(db, &ring))?;
            ring.retire_old()?;
            audit_rotation(db.as_mut(), version, resealed)?;
            if json {
                out!("{}", serde_json::json!({"key_version": version, "resealed": resealed, "key_file": ring.path()}));
            } else {
                out!(
                    "server key rotated to version {version}: {resealed} secret(s) re-sealed; {} now holds only the new key",
                    ring.path().display()
                );
                out!("Back the key file up again (apart from the database).");
            }
            Ok(())
        }
    }
}

fn audit_rotation(db: &mut dyn crate::store::Db, version: u32, resealed: usize) -> anyhow::Result<()> {
    store::transaction(db, |db| {
        audit::record(
            db,
            &cli_actor(),
            "key.rotate_master",
            &format!("v{version}"),
            &format!("{resealed} secrets re-sealed"),
            now(),
        )
    })?;
    Ok(())
}
