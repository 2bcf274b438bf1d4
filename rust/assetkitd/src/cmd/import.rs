//! `assetkitd import`: a purchase list (xlsx or csv) into assets in stock.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use super::{DbArg, cli_actor};
use crate::domain::import;
use crate::out;
use crate::store::{self, now};

/// `assetkitd import` arguments.
#[derive(Args)]
pub struct ImportArgs {
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
}

/// Runs `import`.
pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let ImportArgs { db, file, dry_run, encoding, json } = args;
    import_file(&db, &file, dry_run, encoding.as_deref(), json)
}

fn import_file(db: &DbArg, file: &Path, dry_run: bool, encoding: Option<&str>, json: bool) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let limit = import::Limits::default().file_bytes;
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
    let mut preview = import::parse(&name, &bytes, encoding)?;
    let mut db = db.open()?;
    let (preview, applied) = store::transaction(db.as_mut(), |db| {
        import::check_against(db, &mut preview)?;
        let applied = if dry_run { None } else { Some(import::apply(db, &preview, &cli_actor(), now())?) };
        Ok::<_, crate::domain::Error>((preview, applied))
    })?;
    let elapsed = started.elapsed();
    if json {
        let rows: Vec<serde_json::Value> = preview
            .rows
            .iter()
            .filter(|r| !r.errors.is_empty())
            .map(|r| serde_json::json!({"line": r.line, "errors": r.errors}))
            .collect();
        out!(
            "{}",
            serde_json::json!({
                "file": name, "rows": preview.rows.len(), "valid": preview.valid().count(), "invalid": preview.invalid(),
                "empty_rows": preview.empty_rows, "ignored_columns": preview.ignored_columns, "errors": rows,
                "created": applied.as_ref().map(|a| a.created), "dry_run": dry_run, "elapsed_ms": elapsed.as_millis() as u64,
            })
        );
        return none_valid(&preview, dry_run);
    }
    for r in preview.rows.iter().filter(|r| !r.errors.is_empty()) {
        out!("line {:>5}: {}", r.line, r.errors.join("; "));
    }
    if !preview.ignored_columns.is_empty() {
        out!("ignored columns: {}", preview.ignored_columns.join(", "));
    }
    out!(
        "{}: {} rows, {} valid, {} with errors, {} empty rows skipped",
        name,
        preview.rows.len(),
        preview.valid().count(),
        preview.invalid(),
        preview.empty_rows
    );
    match applied {
        Some(a) => out!("imported {} assets in stock in {:.0} ms", a.created, elapsed.as_secs_f64() * 1000.0),
        None => out!("dry run: nothing written ({:.0} ms)", elapsed.as_secs_f64() * 1000.0),
    }
    none_valid(&preview, dry_run)
}

/// A file whose every row has errors is a failed import (exit status 2), dry run or not: a
/// script checking a list before importing it learns so from the status alone.
fn none_valid(preview: &import::Preview, dry_run: bool) -> anyhow::Result<()> {
    if preview.rows.is_empty() || preview.valid().count() > 0 {
        return Ok(());
    }
    let what = if dry_run { "nothing would be imported" } else { "nothing was imported" };
    bail!("every one of the {} rows has errors: {what} (see the errors above)", preview.rows.len())
}
