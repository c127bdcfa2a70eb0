//! `pxe-pilot`: the command-line client of a pxe-pilot server. See the crate documentation.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use pxe_pilot_cli::{Cli, USAGE_EXIT_CODE};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are "errors" that print on stdout and succeed.
            let code = if e.use_stderr() { USAGE_EXIT_CODE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match pxe_pilot_cli::run(&cli, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pxe-pilot: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
