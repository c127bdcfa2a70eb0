//! The TFTP crate's tests, one binary: transfers with real clients (`clients`: tftp-hpa, curl)
//! and the protocol driven by a client written by hand (`protocol`); their server and files in
//! `common/`.
//!
//! Run: `cargo test -p pxe-pilot-tftp --test tftp`.

mod common;

mod clients;
mod protocol;
