//! The server crate's tests, one binary: the application in process (`app`: actix-web's test
//! service, the seams the binary cannot show) and the `pxe-pilot-server` binary as an operator
//! meets it (`binary`). Worlds come from the workspace's one builder,
//! `tests/common/world.rs`.
//!
//! Run: `cargo test -p pxe-pilot-server --test server`.

#[path = "../../../tests/common/world.rs"]
mod world;

mod app;
mod binary;
