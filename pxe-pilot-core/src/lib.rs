//! # pxe-pilot-core
//!
//! The library behind pxe-pilot: which PXE boot configuration each host of a network gets.
//! It reads the configuration file ([`Settings`]), the catalogue of configuration files
//! ([`Catalogue`]), and keeps each host's per-MAC entries in a [`Store`] — by default the
//! `pxelinux.cfg/01-<mac>` symbolic links of a TFTP root ([`SymlinkStore`]). [`Pilot`] ties
//! them together with the deploy rules; the server and the CLI share the JSON types of [`api`].
//!
//! ## Embedding
//!
//! ```
//! use pxe_pilot_core::{Deployment, HostSelector, MacAddress, Pilot, Settings};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # std::fs::create_dir_all(dir.path().join("pxelinux.cfg/conf"))?;
//! # std::fs::write(dir.path().join("pxelinux.cfg/conf/local"), "LOCALBOOT 0\n")?;
//! # let yaml = format!("hosts:\n  - name: h1\n    mac_addresses: [\"23:34:a3:e9:09:cc\"]\ntftp:\n  root: {0}\nconfiguration:\n  directory: {0}/pxelinux.cfg/conf\n", dir.path().display());
//! # std::fs::write(dir.path().join("pxe-pilot.yml"), yaml)?;
//! # let path = dir.path().join("pxe-pilot.yml");
//! // Load and validate the configuration file; warnings are unknown keys and the like.
//! let (settings, warnings) = Settings::load(&path)?;
//! assert!(warnings.is_empty());
//!
//! // Open the TFTP root's store (this also removes what an interrupted write left).
//! let pilot = Pilot::open(settings)?;
//!
//! // Switch the host that owns this MAC to `local`, as an installer's last step does.
//! let mac = MacAddress::parse("23:34:a3:e9:09:cc")?;
//! let deployed = pilot.deploy("local", &[HostSelector::by_mac(mac)])?;
//! assert_eq!(deployed.configuration.name.as_str(), "local");
//! assert_eq!(deployed.hosts[0].host.name.as_str(), "h1");
//!
//! // Read back what every host boots, straight from the disk.
//! for state in pilot.hosts()? {
//!     assert!(matches!(state.deployment, Deployment::Deployed(ref c) if c.name.as_str() == "local"));
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod action;
pub mod api;
pub mod mac;
pub mod names;

pub use action::PowerAction;
pub use mac::{MacAddress, MacAddressError};
pub use names::{ConfigName, HostName, NameError};

// The service (feature `service`, on by default).
#[cfg(feature = "service")]
pub mod arp;
#[cfg(feature = "service")]
mod beneath;
#[cfg(feature = "service")]
pub mod boot;
#[cfg(feature = "service")]
pub mod bootloader;
#[cfg(feature = "service")]
pub mod catalogue;
#[cfg(feature = "service")]
pub mod command;
#[cfg(feature = "service")]
pub mod events;
#[cfg(feature = "service")]
mod freshness;
#[cfg(feature = "service")]
mod group_sync;
#[cfg(feature = "service")]
pub mod inventory;
#[cfg(feature = "service")]
pub mod once;
#[cfg(feature = "service")]
pub mod pilot;
#[cfg(feature = "service")]
pub mod power;
#[cfg(feature = "service")]
pub mod settings;
#[cfg(feature = "service")]
pub mod store;

#[cfg(feature = "service")]
pub use {
    bootloader::{Bootloader, HttpScript, MacEntryPattern},
    catalogue::{Catalogue, CatalogueError, Configuration},
    events::{Event, EventError, EventKind, EventLog, NewEvent, Outcome, Who},
    inventory::{Bmc, BootMode, Host, Inventory},
    pilot::{
        Deployed, Deployment, ErrorKind, HostOutcome, HostSelector, HostState, Pilot, PilotError,
        Switched,
    },
    power::{Netboot, PowerError, PowerReport, PowerService, PowerState},
    settings::{Settings, SettingsError, Warning},
    store::{Entries, MemoryStore, Resolved, Store, StoreError, SymlinkStore, Target},
};
