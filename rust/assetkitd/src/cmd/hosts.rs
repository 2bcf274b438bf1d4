//! `assetkitd hosts`: host credentials. A fleet key only enrols; each host then writes its asset
//! with its own credential. These commands are the admin's side of that: let a reinstalled host
//! enrol again, revoke a credential, or bind one before the host is installed.

use clap::Subcommand;

use super::{DbArg, cli_actor, say};
use crate::domain::enrolment;
use crate::domain::inventory::NewAsset;
use crate::store::{self, Db, DbExt, now};

/// The `hosts` subcommands (their doc comments are the help text; `db` is the shared `--db`).
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum HostsCommand {
    /// Let the next report signed with the fleet key bind a new credential to this asset (a
    /// reinstalled host, a lost credential). Until then the old credential keeps working.
    Reenrol {
        #[command(flatten)]
        db: DbArg,
        /// Asset id or hostname.
        asset: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Approve the claim on a host entered by hand: the next report signed with the fleet key
    /// that names it binds it. (Until then such reports are refused, 403 approval_required, and
    /// the latest waits on the console's Discovered page.)
    Approve {
        #[command(flatten)]
        db: DbArg,
        /// Asset id or hostname.
        asset: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Revoke this asset's credential: its reports get 401 at once (within 5 s on other
    /// servers), and the fleet key cannot bind it again until `hosts reenrol`.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        /// Asset id or hostname.
        asset: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Bind a credential to a host before it is installed (the install system hands it to the
    /// host): prints {"asset_id", "host_key_id", "host_secret"}; the secret is shown once.
    Enrol {
        #[command(flatten)]
        db: DbArg,
        /// The host's name (found, or entered by hand).
        hostname: String,
        /// Its serial number, if known.
        #[arg(long)]
        serial_number: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Where an asset's credential stands.
    Show {
        #[command(flatten)]
        db: DbArg,
        /// Asset id or hostname.
        asset: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn resolve(db: &mut dyn Db, asset: &str) -> anyhow::Result<i64> {
    if let Ok(id) = asset.parse::<i64>() {
        return Ok(id);
    }
    let id: Option<i64> = db.scalar_opt(
        "SELECT id FROM assets WHERE lower(hostname) = lower(?1) ORDER BY status = 'retired', id LIMIT 1",
        crate::args![asset],
    )?;
    id.ok_or_else(|| anyhow::anyhow!("no asset with hostname {asset}"))
}

/// Runs `hosts`.
pub fn run(cmd: HostsCommand) -> anyhow::Result<()> {
    match cmd {
        HostsCommand::Reenrol { db, asset, json } => {
            let mut db = db.open()?;
            let id = resolve(db.as_mut(), &asset)?;
            store::transaction(db.as_mut(), |db| enrolment::allow_reenrolment(db, id, &cli_actor(), now()))?;
            say(
                json,
                serde_json::json!({"asset_id": id, "enrolment": "reenrol"}),
                &format!("asset {id}: the next report signed with the fleet key binds a new credential"),
            );
        }
        HostsCommand::Approve { db, asset, json } => {
            let mut db = db.open()?;
            let id = resolve(db.as_mut(), &asset)?;
            let waited = store::transaction(db.as_mut(), |db| enrolment::approve(db, id, &cli_actor(), now()))?;
            let text = if waited {
                format!("asset {id}: approved; the next report signed with the fleet key that names it binds it")
            } else {
                format!("asset {id} waited for no approval: nothing changed")
            };
            say(json, serde_json::json!({"asset_id": id, "claim": if waited { "approved" } else { "none" }}), &text);
        }
        HostsCommand::Revoke { db, asset, json } => {
            let mut db = db.open()?;
            let id = resolve(db.as_mut(), &asset)?;
            let n = store::transaction(db.as_mut(), |db| enrolment::revoke(db, id, &cli_actor(), now()))?;
            say(
                json,
                serde_json::json!({"asset_id": id, "enrolment": "revoked", "revoked": n}),
                &format!(
                    "asset {id}: {n} credential(s) revoked; its reports are refused until `assetkitd hosts reenrol {id}`"
                ),
            );
        }
        HostsCommand::Enrol { db, hostname, serial_number, json } => {
            let (mut db, ring) = db.open_with_keys()?;
            let input = NewAsset { hostname: hostname.clone(), serial_number, ..NewAsset::default() };
            let (id, credential) =
                store::transaction(db.as_mut(), |db| enrolment::preenrol(db, &ring, &input, &cli_actor(), now()))?;
            say(
                json,
                serde_json::json!({"asset_id": id, "cert_hostname": hostname.trim(), "host_key_id": credential.key_id,
                                   "host_secret": credential.secret.expose()}),
                &format!(
                    "asset {id} ({}) enrolled with credential {}\n\nThe secret is shown once. Put this line in the host's credential file \
                     (host_key_file in agent.toml, default /etc/assetkit/host.key), mode 0600:\n{}",
                    hostname.trim(),
                    credential.key_id,
                    serde_json::json!({"key_id": credential.key_id, "secret": credential.secret.expose()})
                ),
            );
        }
        HostsCommand::Show { db, asset, json } => {
            let mut db = db.open()?;
            let id = resolve(db.as_mut(), &asset)?;
            let standing = enrolment::standing(db.as_mut(), id)?.ok_or_else(|| anyhow::anyhow!("no asset {id}"))?;
            say(
                json,
                serde_json::to_value(&standing)?,
                &format!(
                    "asset {id}: {}{}",
                    standing.enrolment,
                    standing
                        .key_id
                        .map(|k| format!(", credential {k} issued {}", standing.issued_at.unwrap_or_default()))
                        .unwrap_or_default()
                ),
            );
        }
    }
    Ok(())
}
