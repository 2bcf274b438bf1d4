//! `assetkitd`: serve the receiver, manage API keys and administer the inventory. The
//! subcommands live in `assetkitd::cmd`, one file each.

use std::io::Write;
use std::process::ExitCode;

use assetkitd::cmd::Cli;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse_from(assetkitd::cmd::named::legacy_args(std::env::args_os().collect()));
    assetkitd::log::init(cli.log_level());
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // stderr may be a full disk: a failed write must not turn an error into a panic.
            let _ = writeln!(std::io::stderr(), "assetkitd: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
