//! The client tier, one binary: the `pxe-pilot` binary against the real server — its commands
//! and tables (`commands`), its retries across a restart (`retry`), and the client the server
//! hands out (`download`).
//!
//! Run: `cargo test --test cli`.

#[path = "../common/cli.rs"]
mod cli;
#[path = "../common/mod.rs"]
mod common;

mod commands;
mod download;
mod retry;
