//! `assetkitd generate man|completions --out DIR` (hidden): the manual pages and the shell
//! completions, made from the same clap definitions that parse the command line, so they never
//! drift from `--help`. `make packages` runs it and the packages install what it writes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, CommandFactory, ValueEnum};

/// What to generate.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Artifact {
    /// One page per command and subcommand (assetkitd.1, assetkitd-serve.1, ...), in roff.
    Man,
    /// bash (assetkitd.bash), zsh (_assetkitd) and fish (assetkitd.fish) completions.
    Completions,
}

/// `assetkitd generate` arguments.
#[derive(Args)]
pub struct GenerateArgs {
    /// man or completions.
    #[arg(value_enum)]
    pub what: Artifact,
    /// The directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs `generate`.
pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let written = write(super::Cli::command(), args.what, &args.out)?;
    crate::out!("wrote {} files to {}", written.len(), args.out.display());
    Ok(())
}

/// Writes `what` for the command `cmd` into `out`; returns the files written.
pub fn write(cmd: clap::Command, what: Artifact, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let name = cmd.get_name().to_owned();
    match what {
        Artifact::Man => {
            clap_mangen::generate_to(cmd, out).with_context(|| format!("writing pages to {}", out.display()))?;
            let mut pages: Vec<PathBuf> = std::fs::read_dir(out)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "1"))
                .filter(|p| p.file_name().is_some_and(|f| f.to_string_lossy().starts_with(name.as_str())))
                .collect();
            pages.sort();
            Ok(pages)
        }
        Artifact::Completions => {
            let mut cmd = cmd;
            [clap_complete::Shell::Bash, clap_complete::Shell::Zsh, clap_complete::Shell::Fish]
                .into_iter()
                .map(|shell| {
                    clap_complete::generate_to(shell, &mut cmd, &name, out)
                        .with_context(|| format!("writing {shell} completions to {}", out.display()))
                })
                .collect()
        }
    }
}
