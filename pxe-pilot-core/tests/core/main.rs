//! The core's tests, one binary: the deploy rules over a real TFTP root (`deploy`), the
//! per-bootloader entries (`bootloader_entries`), confinement to the root (`confinement`),
//! power management with stand-in tools (`power`), the configuration file (`settings`) and
//! property-based fuzzing of every parser (`fuzz`). Worlds come from the workspace's one
//! builder, `tests/common/world.rs`.
//!
//! Run: `cargo test -p pxe-pilot-core --test core` (a module: `-- deploy::`).

#[path = "../../../tests/common/world.rs"]
mod world;

mod bootloader_entries;
mod confinement;
mod deploy;
mod fuzz;
mod power;
mod settings;
