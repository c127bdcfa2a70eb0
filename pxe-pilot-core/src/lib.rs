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
//!
//! ## The parts, for an embedder
//!
//! - **Without the `service` feature** (`default-features = false`) the crate is [`api`] (the
//!   HTTP API's JSON types), [`MacAddress`], [`HostName`], [`ConfigName`] and [`PowerAction`]:
//!   what a client needs, without the YAML parser or the command runner.
//! - **Settings**: [`Settings::load`] reads and checks a configuration file; every error names
//!   the file, the line and what to change ([`SettingsError`]).
//! - **Deploys**: [`Pilot`] resolves [`HostSelector`]s, switches entries with
//!   [`Pilot::deploy`] and [`Pilot::undeploy`], and reads what hosts boot with
//!   [`Pilot::hosts`]. One host's deploys are serialized; a deploy of several hosts reports
//!   each host's outcome ([`HostOutcome`]).
//! - **Stores**: [`Pilot::open`] keeps entries as symbolic links of a TFTP root
//!   ([`SymlinkStore`]); [`Pilot::with_store`] takes any [`Store`], such as the in-memory
//!   [`MemoryStore`] for tests (below). A store answers in store-neutral types ([`Target`],
//!   [`Entries`]).
//! - **Power**: [`PowerService`] drives each host's BMC (IPMI through `ipmitool`, Redfish over
//!   HTTPS, or a command adapter), with a bound on concurrent BMC calls and a short cache
//!   of power states ([`PowerService::overview`]).
//! - **Events**: [`EventLog`] records what was done to which host and answers a host's
//!   history; with a state folder, in a file that survives restarts and crashes.
//! - **Boot over HTTP**: [`boot`] renders the catalogue's iPXE and GRUB scripts for the asking
//!   host.
//!
//! The same deploy over an in-memory store, and an event recorded for it:
//!
//! ```
//! use pxe_pilot_core::{EventKind, EventLog, HostSelector, MemoryStore, NewEvent, Pilot, Settings, Who};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # std::fs::create_dir_all(dir.path().join("pxelinux.cfg/conf"))?;
//! # std::fs::write(dir.path().join("pxelinux.cfg/conf/local"), "LOCALBOOT 0\n")?;
//! # let yaml = format!("hosts:\n  - name: h1\n    mac_addresses: [\"23:34:a3:e9:09:cc\"]\ntftp:\n  root: {0}\nconfiguration:\n  directory: {0}/pxelinux.cfg/conf\n", dir.path().display());
//! # std::fs::write(dir.path().join("pxe-pilot.yml"), yaml)?;
//! # let path = dir.path().join("pxe-pilot.yml");
//! let (settings, _) = Settings::load(&path)?;
//! let store = MemoryStore::new(&settings.bootloaders);
//! let pilot = Pilot::with_store(settings, Box::new(store))?;
//! let host = pxe_pilot_core::HostName::parse("h1")?;
//! let deployed = pilot.deploy("local", &[HostSelector::by_name(host.clone())])?;
//! assert_eq!(deployed.hosts.len(), 1);
//!
//! // Without a state folder, events are kept in memory only.
//! let events = EventLog::open(None, 1_000)?;
//! events.record(NewEvent {
//!     host: Some(host.clone()),
//!     to: Some("local".into()),
//!     ..NewEvent::new(EventKind::Deploy, Who::Token)
//! })?;
//! assert_eq!(events.for_host(&host, 10)[0].to.as_deref(), Some("local"));
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
pub mod lock;
#[cfg(feature = "service")]
pub mod once;
#[cfg(feature = "service")]
pub mod pilot;
#[cfg(feature = "service")]
pub mod power;
#[cfg(feature = "service")]
pub mod service;
#[cfg(feature = "service")]
pub mod settings;
#[cfg(feature = "service")]
pub mod store;
#[cfg(feature = "service")]
pub mod text;
#[cfg(feature = "service")]
pub mod unknown;

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
    service::{
        Asker, BootFetch, Caller, DeployHost, DeployReport, HostDeployed, Kept, KeptError,
        NetbootResult, NoObserver, Observer, RebootReport, Service, ServiceError, TftpRead,
    },
    settings::{BootTrust, Settings, SettingsError, Warning},
    store::{Entries, MemoryStore, Resolved, Store, StoreError, SymlinkStore, Target},
};
