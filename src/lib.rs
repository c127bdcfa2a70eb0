//! The root package of the pxe-pilot workspace: it holds no product code, only the end-to-end
//! tests (`tests/`) that drive the real binaries, and the benchmarks (`benches/`).
//!
//! The product lives in `pxe-pilot-core` (the library), `pxe-pilot-server` (the HTTP service)
//! and `pxe-pilot-cli` (the `pxe-pilot` client).
