//! `pxe-pilot`: the command-line client.
fn main() {}
