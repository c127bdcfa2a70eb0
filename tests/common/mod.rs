//! What every tier shares (`tests/<tier>/main.rs` says `#[path = "../common/mod.rs"] mod
//! common;`; the crates' tests and the benches take `world.rs` and `server.rs` the same way):
//! the one world builder (`world.rs`: TFTP root, catalogue, configuration file), the real
//! `pxe-pilot-server` process started over it (`server.rs`: [`TestServer`], the one way the
//! tests and benches start a server), and the harness of the tiers that need system tools
//! (`tier.rs`: needs checked first, a skip counted as `ignored`).
//!
//! ```ignore
//! use crate::common::{Fixture, World, SEED_MAC};
//!
//! let world = World::new(); // the default fixture
//! let server = world.serve(); // port 0, the URL read from its stdout
//! let url = server.url("/v1/hosts"); // http://127.0.0.1:PORT/v1/hosts
//! assert_eq!(world.link(SEED_MAC), None); // nothing deployed yet
//!
//! let custom = Fixture::new().token("s3cret").bootloaders().build();
//! let server = custom.server().env("RUST_LOG", "debug").start();
//! ```
//!
//! Each test owns its world (a temporary folder removed on drop) and its server (killed on
//! drop, and by the kernel when the test process dies); the world is declared first, so that
//! it outlives the server. The binaries are found next to the test executable
//! (`target/debug/deps/<tier>` -> `target/debug/<binary>`); `cargo test --workspace` builds
//! them first.
#![allow(dead_code)]

mod server;
pub mod tier;
mod world;

// Each test file uses a part of what is re-exported here.
#[allow(unused_imports)]
pub use server::{binary, TestServer, TestServerBuilder};
#[allow(unused_imports)]
pub use world::{
    entry_name, node_mac, node_name, Fixture, World, CONFIGURATIONS, H1, H2, H2_MAC, H3, H3_MACS,
    H4, H4_BMC_MAC, H4_MAC, IPMI_PASSWORD, SEED_MAC, UNKNOWN_MAC,
};

impl World {
    /// The debug `pxe-pilot-server` over this world, on `127.0.0.1:0`.
    pub fn serve(&self) -> TestServer {
        self.server().start()
    }

    /// A server over this world (`--config` its configuration file), to be given more
    /// arguments or environment before it starts.
    pub fn server(&self) -> TestServerBuilder {
        TestServer::builder().config(&self.config)
    }
}
