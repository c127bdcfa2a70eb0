//! Support of the reliability tiers (`tests/reliability_*.rs`), one idea a module:
//!
//! - [`random`]: the seed of a run (printed, replayed with `PXE_PILOT_SEED=N`) and its length
//!   (`PXE_PILOT_LONG=1` makes the storms longer);
//! - [`storm_world`]: many multi-NIC hosts, and what each boots, read from the disk as a TFTP
//!   server would or through the API;
//! - [`storm`]: concurrent clients deploying at random, each keeping a history of what was sent
//!   and what was acknowledged;
//! - [`observers`]: a reader of the per-MAC entries and a lister of the hosts that run beside a
//!   storm;
//! - [`durability`]: what a storm's history allows on disk and in the server's change log;
//! - [`raw_http`]: requests as bytes on a socket, for what an HTTP client refuses to send;
//! - [`snapshot`]: a folder tree before and after, to show that nothing else was written.
//!
//! The server itself is `common::TestServer`. Included with `mod reliability;` next to
//! `mod common;`. Every loop here is bounded both in count and in time.
#![allow(dead_code)]

pub mod durability;
pub mod observers;
pub mod random;
pub mod raw_http;
pub mod snapshot;
pub mod storm;
pub mod storm_world;
