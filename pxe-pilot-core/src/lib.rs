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
//! use pxe_pilot_core::{api::HostQuery, Deployment, Pilot, Settings};
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
//! let query = HostQuery { mac_address: Some("23:34:a3:e9:09:cc".into()), ..Default::default() };
//! let (configuration, switched) = pilot.deploy("local", &[query])?;
//! assert_eq!(configuration.name.as_str(), "local");
//! assert_eq!(switched[0].host.name.as_str(), "h1");
//!
//! // Read back what every host boots, straight from the disk.
//! for state in pilot.hosts()? {
//!     assert!(matches!(state.deployment, Deployment::Deployed(ref c) if c.name.as_str() == "local"));
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod arp;
pub mod catalogue;
pub mod command;
mod group_sync;
pub mod inventory;
pub mod mac;
pub mod names;
pub mod pilot;
pub mod power;
pub mod settings;
pub mod store;
pub mod symlink_store;

pub use catalogue::{Catalogue, CatalogueError, Configuration};
pub use inventory::{Bootloader, Host, Inventory};
pub use mac::{MacAddress, MacAddressError};
pub use names::{ConfigName, HostName, NameError};
pub use pilot::{Deployment, ErrorKind, HostState, Pilot, PilotError, Switched};
pub use power::{Power, PowerAction, PowerError};
pub use settings::{Settings, SettingsError, Warning};
pub use store::{Entries, Resolved, Store, StoreError, Target};
pub use symlink_store::SymlinkStore;
