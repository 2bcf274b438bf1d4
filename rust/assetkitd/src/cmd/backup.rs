//! `assetkitd backup --to FILE`: a consistent copy of a live SQLite store, taken while the
//! server keeps serving (see [`crate::store::backup`]). PostgreSQL has its own tools; this says
//! which.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::DbArg;
use crate::out;
use crate::store::{self, Location, backup};

/// `assetkitd backup` arguments (their doc comments are the help text).
#[allow(missing_docs)]
#[derive(Args)]
#[command(after_help = "Example (as the service user, while the server runs):\n  \
    sudo -u assetkit assetkitd backup --db /var/lib/assetkit/assetkit.db \\\n      \
    --secret-key-file /etc/assetkit/assetkitd/server.key --to /var/backups/assetkit/assetkit-$(date +%F).db\n\n\
    Restore: stop the server, remove DB-wal and DB-shm, copy the backup to DB (owner assetkit,\n\
    mode 0600), put the key file back, start the server; `assetkitd store verify BACKUP DB`\n\
    proves they hold the same inventory.")]
pub struct BackupArgs {
    #[command(flatten)]
    db: DbArg,
    /// The backup file to write. It appears only once complete and checked (written beside it
    /// first, then renamed), replacing any file of that name; mode 0600.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// Pages copied per step; progress is shown on stderr after each step.
    #[arg(long, default_value_t = 4096, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pages_per_step: u32,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `backup`.
pub fn run(args: BackupArgs) -> anyhow::Result<()> {
    let path = match &args.db.db {
        Location::Sqlite(path) => path.clone(),
        Location::Postgres(_) => anyhow::bail!(
            "assetkitd backup copies a SQLite database; a PostgreSQL store is backed up with PostgreSQL's own tools: \
             pg_dump (a consistent logical dump while the servers run, restored with pg_restore) or pg_basebackup \
             (a physical copy of the cluster, with WAL archiving for point-in-time recovery). Back up the \
             --secret-key-file apart from either: the dump alone opens no sealed secret"
        ),
    };
    let key_file = store::key_file(&args.db.db, args.db.secret_key_file.as_deref())?;
    refuse_overwriting(&path, &key_file, &args.to)?;
    let mut shown = None;
    let summary = backup::backup(&path, &args.to, args.pages_per_step, |p| {
        if args.quiet {
            return;
        }
        let percent = (p.copied * 100).checked_div(p.total).unwrap_or(100);
        if shown != Some(percent) || p.copied == p.total {
            shown = Some(percent);
            // stderr may be closed or full: progress is not worth failing the backup for.
            let _ = writeln!(std::io::stderr(), "backup: {percent:>3}% ({}/{} pages)", p.copied, p.total);
        }
    })
    .with_context(|| format!("backing up {} (nothing was written to {})", path.display(), args.to.display()))?;
    out!(
        "backed up {} to {}: {} pages, {:.1} MiB, schema version {}, in {:.1}s",
        path.display(),
        args.to.display(),
        summary.pages,
        summary.bytes as f64 / (1024.0 * 1024.0),
        summary.schema_version,
        summary.elapsed.as_secs_f64()
    );
    out!(
        "the server key file {} is not in the backup: keep a copy of it apart from the backups (a restore needs both)",
        key_file.display()
    );
    Ok(())
}

/// A backup written over the live database, its WAL or the key file would destroy what it
/// means to save.
fn refuse_overwriting(db: &std::path::Path, key_file: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    let absolute = |p: &std::path::Path| {
        let parent = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        match (std::fs::canonicalize(parent), p.file_name()) {
            (Ok(dir), Some(name)) => dir.join(name),
            _ => p.to_path_buf(),
        }
    };
    let target = absolute(to);
    for protected in backup::protected_paths(db, key_file) {
        anyhow::ensure!(
            absolute(&protected) != target,
            "--to {} is the live database or its server key file; write the backup to another file",
            to.display()
        );
    }
    anyhow::ensure!(!to.is_dir(), "--to {} is a directory; give the backup file's name", to.display());
    Ok(())
}
