//! # pxe-pilot-cli
//!
//! The `pxe-pilot` command: a client of the pxe-pilot server's HTTP API that prints the
//! original PXE Pilot's tables, or the server's JSON with `-o json`. It is built to run as
//! one static binary on a freshly installed host, where it is an installer's last step:
//! `pxe-pilot -s http://pxe:3478 config deploy local --self`.
//!
//! - [`args`]: the command line (clap);
//! - [`client`]: the typed API client, with retries of idempotent requests;
//! - [`commands`]: what each command asks and prints;
//! - [`table`]: the tables, from the API types of [`pxe_pilot_core::api`];
//! - [`local_macs`]: this machine's MAC addresses, for `--self`;
//! - [`docs`]: the manual page and the shell completions, generated from [`args`].
//!
//! ```no_run
//! use pxe_pilot_cli::client::{Client, ClientOptions};
//! # fn main() -> Result<(), pxe_pilot_cli::client::ClientError> {
//! let client = Client::new("http://pxe:3478", ClientOptions::default())?;
//! let hosts = client.hosts()?;
//! print!("{}", pxe_pilot_cli::table::hosts(&hosts.value));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod args;
pub mod client;
pub mod commands;
pub mod docs;
pub mod local_macs;
pub mod table;

use std::io;

pub use args::Cli;
pub use commands::run;

/// Why a command failed; [`Error::exit_code`] is the process' exit status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server refused, failed, or could not be reached.
    #[error(transparent)]
    Client(#[from] client::ClientError),
    /// `--self`: this machine's MAC addresses cannot be read.
    #[error(transparent)]
    LocalMacs(#[from] local_macs::LocalMacError),
    /// `--self`: the server knows none of this machine's MAC addresses.
    #[error("this machine is not a host of {server}: none of its MAC addresses ({macs}) is in the server's inventory")]
    NotAHost {
        /// The server asked.
        server: String,
        /// The addresses tried, with their interfaces.
        macs: String,
    },
    /// `--token-file` cannot be used.
    #[error("cannot read the token from {file}: {reason}")]
    TokenFile {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// The server switched some hosts of a deploy, not all (its answer was a 207).
    #[error("{message}")]
    Partial {
        /// The server's `message`.
        message: String,
    },
    /// The answer cannot be printed.
    #[error("cannot print the answer: {0}")]
    Output(#[source] io::Error),
}

impl Error {
    /// 2 when the server could not be reached or kept failing (a later try may work), 1 for
    /// every other failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Client(e) => e.exit_code(),
            Error::LocalMacs(_)
            | Error::NotAHost { .. }
            | Error::Partial { .. }
            | Error::TokenFile { .. }
            | Error::Output(_) => 1,
        }
    }
}

/// The exit status of a command line clap refused (sysexits' `EX_USAGE`): distinct from 2,
/// which says the server could not be reached.
pub const USAGE_EXIT_CODE: u8 = 64;
