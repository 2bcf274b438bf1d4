//! `assetkitd users`: console users.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::table::{Column, Table};
use super::{DbArg, cli_actor, say};
use crate::domain::users::{self, Role};
use crate::out;
use crate::store::{self, now};

/// The `users` subcommands (their doc comments are the help text; `db` is the shared `--db`).
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a console user. The password is read from --password-file, else from stdin
    /// (not echoed when stdin is a terminal).
    Create {
        #[command(flatten)]
        db: DbArg,
        /// Login name.
        name: String,
        /// What the user may do in the console: viewer (reads the inventory), operator (also
        /// edits assets, assigns discovered hosts, imports) or admin (also users, keys,
        /// settings). The default is admin because every user was one before roles existed:
        /// scripts written then keep creating users who can do what they could. Pass --role
        /// viewer for people who only need to look.
        #[arg(long, default_value = "admin", value_parser = ["viewer", "operator", "admin"])]
        role: String,
        /// A file holding the password.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Give a user another role (viewer, operator or admin); it holds from their next request.
    SetRole {
        #[command(flatten)]
        db: DbArg,
        /// Login name.
        name: String,
        /// The new role.
        #[arg(value_parser = ["viewer", "operator", "admin"])]
        role: String,
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
        name: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
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

/// Runs `users`.
pub fn run(cmd: UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Create { db, name, role, password_file, json } => {
            let role: Role = role.parse()?;
            let password = read_password(password_file.as_deref())?;
            let mut db = db.open()?;
            store::transaction(db.as_mut(), |db| {
                users::create_user_as(db, &name, &password, role, &cli_actor(), now())
            })?;
            say(
                json,
                serde_json::json!({"user": name, "role": role, "created": true}),
                &format!("user {name} created ({role})"),
            );
        }
        UsersCommand::SetRole { db, name, role, json } => {
            let role: Role = role.parse()?;
            let mut db = db.open()?;
            let old = store::transaction(db.as_mut(), |db| users::set_role(db, &name, role, &cli_actor(), now()))?;
            say(
                json,
                serde_json::json!({"user": name, "role": role, "previous_role": old}),
                &format!("{name} is now {role} (was {old})"),
            );
        }
        UsersCommand::List { db, json } => {
            let list = users::list_users(db.open()?.as_mut())?;
            if json {
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let mut table = Table::new(&[
                    Column::text("NAME", 40),
                    Column::text("ROLE", 8),
                    Column::text("CREATED", 25),
                    Column::text("DISABLED", 25),
                ]);
                for u in list {
                    table.row([
                        u.name,
                        u.role.as_str().to_owned(),
                        u.created_at,
                        u.disabled_at.unwrap_or_else(|| "-".into()),
                    ]);
                }
                table.print();
            }
        }
        UsersCommand::Passwd { db, name, password_file, json } => {
            let password = read_password(password_file.as_deref())?;
            let mut db = db.open()?;
            store::transaction(db.as_mut(), |db| users::set_password(db, &name, &password, &cli_actor(), now()))?;
            say(
                json,
                serde_json::json!({"user": name, "password_changed": true}),
                &format!("password of {name} changed; their sessions ended"),
            );
        }
        UsersCommand::Disable { db, name, json } => {
            let mut db = db.open()?;
            store::transaction(db.as_mut(), |db| users::disable_user(db, &name, &cli_actor(), now()))?;
            say(json, serde_json::json!({"user": name, "disabled": true}), &format!("user {name} disabled"));
        }
    }
    Ok(())
}
