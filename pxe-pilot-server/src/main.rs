//! `pxe-pilot-server`: serves the pxe-pilot API.
fn main() {}
