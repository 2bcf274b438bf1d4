//! `assetkitd fields`: the custom fields an admin defines (text, integer, date, one of a list).
//! Values are set per asset with `assets set --field NAME=VALUE`, the API's PATCH, the console
//! and the purchase-list import (a `cf_NAME` column).

use clap::{Args, Subcommand};

use super::table::{Column, Table};
use super::{DbArg, cli_actor};
use crate::domain::fields;
use crate::out;
use crate::store::{self, now};

/// The `fields` subcommands.
#[derive(Subcommand)]
pub enum FieldsCommand {
    /// Define a field. Example: `assetkitd fields add cost_centre --type integer`,
    /// `assetkitd fields add tier --type choice --choices gold,silver,bronze`.
    Add(AddArgs),
    /// List the fields.
    List(ListArgs),
    /// Remove a field and every asset's value of it.
    Remove(RemoveArgs),
}

/// Define a field.
#[allow(missing_docs)]
#[derive(Args)]
pub struct AddArgs {
    #[command(flatten)]
    db: DbArg,
    /// Its name: lower-case letters, digits and _, starting with a letter (filters and import
    /// columns use it as `cf_NAME`).
    name: String,
    /// text, integer, date (YYYY-MM-DD) or choice.
    #[arg(long = "type", default_value = "text")]
    kind: String,
    /// For a choice: the values allowed, comma-separated.
    #[arg(long, value_delimiter = ',')]
    choices: Vec<String>,
    /// What people read in the console.
    #[arg(long)]
    label: Option<String>,
}

/// List the fields.
#[allow(missing_docs)]
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    db: DbArg,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Remove a field.
#[allow(missing_docs)]
#[derive(Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    db: DbArg,
    /// The field's name.
    name: String,
}

/// Runs `fields`.
pub fn run(cmd: FieldsCommand) -> anyhow::Result<()> {
    match cmd {
        FieldsCommand::Add(AddArgs { db, name, kind, choices, label }) => {
            let mut db = db.open()?;
            let new = fields::NewField { name: name.clone(), kind, choices, label };
            store::transaction(db.as_mut(), |db| fields::define(db, &new, &cli_actor(), now()))?;
            out!("field {name} defined");
        }
        FieldsCommand::List(ListArgs { db, json }) => {
            let mut db = db.open()?;
            let list = fields::list(db.as_mut())?;
            if json {
                let shown: Vec<_> = list.iter().map(fields::Field::json).collect();
                out!("{}", serde_json::to_string_pretty(&shown)?);
                return Ok(());
            }
            let mut table =
                Table::new(&[Column::text("NAME", 48), Column::text("TYPE", 8), Column::text("CHOICES / LABEL", 60)]);
            for f in &list {
                let extra =
                    if f.choices.is_empty() { f.label.clone().unwrap_or_default() } else { f.choices.join(",") };
                table.row(vec![f.name.clone(), f.kind.as_str().to_owned(), extra]);
            }
            if list.is_empty() {
                out!("no custom fields (define one with: assetkitd fields add NAME --type TYPE)");
            } else {
                table.print();
            }
        }
        FieldsCommand::Remove(RemoveArgs { db, name }) => {
            let mut db = db.open()?;
            if !store::transaction(db.as_mut(), |db| fields::remove(db, &name, &cli_actor(), now()))? {
                anyhow::bail!("no field {name} (assetkitd fields list)");
            }
            out!("field {name} removed, with every asset's value of it");
        }
    }
    Ok(())
}
