//! `assetkitd store` (this file is `storage.rs` beside the `store` layer it drives): move a live
//! inventory to another store, and prove two stores agree.

use anyhow::Context;
use clap::Subcommand;

use crate::out;
use crate::store::{self, Location, copy};

/// The `store` subcommands (their doc comments are the help text).
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum StoreCommand {
    /// Copy everything (assets, components, change events, nonces in the window, keys, users,
    /// sessions, purchase rows, the audit log) into a new, empty store, in one transaction: for
    /// moving from SQLite to PostgreSQL (or back). Both are migrated to this version first.
    /// Secrets stay sealed: serve the new store with the same --secret-key-file. Stop the
    /// servers writing to the source first, or run `store verify` after and copy again.
    ///
    /// Example: assetkitd store copy --from sqlite:/var/lib/assetkit/assetkit.db --to postgres://assetkit@db1/assetkit
    Copy {
        /// The store to read.
        #[arg(long, value_name = "DB")]
        from: Location,
        /// The store to write (empty).
        #[arg(long, value_name = "DB")]
        to: Location,
    },
    /// Compare two stores table by table (row counts and an order-free digest of every row);
    /// exits 1 on any difference.
    Verify {
        /// One store.
        #[arg(value_name = "DB")]
        a: Location,
        /// The other.
        #[arg(value_name = "DB")]
        b: Location,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `store` subcommand.
pub fn run(cmd: StoreCommand) -> anyhow::Result<()> {
    match cmd {
        StoreCommand::Copy { from, to } => {
            anyhow::ensure!(from != to, "--from and --to are the same store");
            let mut source = store::connect(&from).with_context(|| format!("opening {}", from.shown()))?;
            let mut target = store::connect(&to).with_context(|| format!("opening {}", to.shown()))?;
            let started = std::time::Instant::now();
            eprintln!("copying {} to {}", from.shown(), to.shown());
            let copied = copy::copy(source.as_mut(), target.as_mut(), |table, rows| {
                eprintln!("  {table:<16} {rows:>10} rows");
            })
            .context("copy failed; nothing was written to the target")?;
            let total: u64 = copied.iter().map(|(_, n)| n).sum();
            out!("copied {total} rows in {} tables in {:.1}s", copied.len(), started.elapsed().as_secs_f64());
            Ok(())
        }
        StoreCommand::Verify { a, b, json } => {
            let mut left = store::connect(&a).with_context(|| format!("opening {}", a.shown()))?;
            let mut right = store::connect(&b).with_context(|| format!("opening {}", b.shown()))?;
            let left = copy::summarize(left.as_mut())?;
            let right = copy::summarize(right.as_mut())?;
            let mut differ = Vec::new();
            let mut rows = Vec::new();
            for (l, r) in left.iter().zip(&right) {
                let same = l == r;
                if !same {
                    differ.push(l.table);
                }
                rows.push(serde_json::json!({
                    "table": l.table, "rows_a": l.rows, "rows_b": r.rows,
                    "digest_a": l.digest, "digest_b": r.digest, "same": same,
                }));
            }
            if json {
                out!("{}", serde_json::json!({"same": differ.is_empty(), "tables": rows}));
            } else {
                out!("{:<16} {:>10} {:>10}  {}", "table", "rows A", "rows B", "");
                for (l, r) in left.iter().zip(&right) {
                    let verdict = if l == r {
                        "same"
                    } else if l.rows != r.rows {
                        "DIFFERENT (count)"
                    } else {
                        "DIFFERENT (content)"
                    };
                    out!("{:<16} {:>10} {:>10}  {verdict}", l.table, l.rows, r.rows);
                }
            }
            anyhow::ensure!(differ.is_empty(), "the stores differ in {}", differ.join(", "));
            if !json {
                out!("the stores hold the same inventory");
            }
            Ok(())
        }
    }
}
