//! The API tier, one binary: the real `pxe-pilot-server` on loopback over a temporary world,
//! asked over HTTP — the original's API and its answers (`server_api`), boot over HTTP
//! (`http_boot`), the OpenAPI document (`openapi`), and the reliability checks: the audit's
//! reproductions, hostile and mutated input, the security rules, storms with crashes
//! (`reliability_*`, their tools in `reliability/`).
//!
//! Run: `cargo test --test api`.

#[path = "../common/cli.rs"]
mod cli;
#[path = "../common/mod.rs"]
mod common;
mod reliability;

mod http_boot;
mod openapi;
mod reliability_audit;
mod reliability_input;
mod reliability_security;
mod reliability_storm;
mod server_api;
