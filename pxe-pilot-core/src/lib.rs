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
//! - **The service**: [`Service`] holds every rule: who may do what without the token
//!   ([`Asker`], [`Caller`]), a deploy with its reboot and `once` ([`Service::deploy`]),
//!   undeploy, power actions, a boot fetch over HTTP or TFTP and its `once` fallback. Each
//!   step is recorded as an [`Event`]; counters watch it through an [`Observer`].
//! - **Deploys**: [`Pilot`], beneath the service, resolves [`HostSelector`]s, switches entries
//!   and reads what hosts boot with [`Pilot::hosts`]; a deploy of several hosts reports each
//!   host's outcome ([`HostOutcome`]).
//! - **The store**: everything the service remembers (per-MAC entries, pending `once`,
//!   events, last boots) is behind one trait, [`Store`], chosen by the file's `store:`
//!   ([`open_store`]): [`FilesStore`] (links in the TFTP root and files in
//!   `state_dir`, the default) or [`MemoryStore`]. A switch of a host is a compare and swap
//!   ([`Store::switch`], [`Expect`], [`Swap`]), so no rule depends on a lock of this process.
//! - **Power**: [`PowerService`] drives each host's BMC (IPMI through `ipmitool`, Redfish over
//!   HTTPS, or a command adapter), with a bound on concurrent BMC calls and a short cache
//!   of power states ([`PowerService::overview`]).
//! - **Boot over HTTP**: the boot module renders the catalogue's iPXE and GRUB scripts for the asking
//!   host.
//!
//! A deploy through the service over an in-memory store, and the event it recorded:
//!
//! ```
//! use std::sync::Arc;
//! use pxe_pilot_core::{
//!     Asker, Caller, DeployHost, EventKind, HostSelector, Kept, NoObserver, Pilot, Service,
//!     Settings,
//! };
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # std::fs::create_dir_all(dir.path().join("pxelinux.cfg/conf"))?;
//! # std::fs::write(dir.path().join("pxelinux.cfg/conf/local"), "LOCALBOOT 0\n")?;
//! # let yaml = format!("hosts:\n  - name: h1\n    mac_addresses: [\"23:34:a3:e9:09:cc\"]\ntftp:\n  root: {0}\nconfiguration:\n  directory: {0}/pxelinux.cfg/conf\n", dir.path().display());
//! # std::fs::write(dir.path().join("pxe-pilot.yml"), yaml)?;
//! # let path = dir.path().join("pxe-pilot.yml");
//! let (settings, _) = Settings::load(&path)?;
//! let service = Service::new(Pilot::in_memory(settings)?, Kept::new(Arc::new(NoObserver)));
//! let host = pxe_pilot_core::HostName::parse("h1")?;
//! let asked = DeployHost { selector: HostSelector::by_name(host.clone()), reboot: false, once: false };
//! let report = service.deploy("local", &[asked], &Asker::new(Caller::Open, None))?;
//! assert_eq!(report.hosts.len(), 1);
//!
//! // The store kept the deploy's event.
//! let events = service.store().events_for(&host, 10);
//! assert_eq!(events[0].kind, EventKind::Deploy);
//! assert_eq!(events[0].to.as_deref(), Some("local"));
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
mod arp;
#[cfg(feature = "service")]
mod beneath;
#[cfg(feature = "service")]
mod boot;
#[cfg(feature = "service")]
mod bootloader;
#[cfg(feature = "service")]
mod catalogue;
#[cfg(feature = "service")]
mod command;
#[cfg(feature = "service")]
mod events;
#[cfg(feature = "service")]
mod freshness;
#[cfg(feature = "service")]
mod group_sync;
#[cfg(feature = "service")]
mod inventory;
#[cfg(feature = "service")]
mod lock;
#[cfg(feature = "service")]
mod once;
#[cfg(feature = "service")]
mod pilot;
#[cfg(feature = "service")]
mod power;
#[cfg(feature = "service")]
mod seed;
#[cfg(feature = "service")]
mod service;
#[cfg(feature = "service")]
mod settings;
#[cfg(feature = "service")]
mod store;
#[cfg(feature = "service")]
mod text;
#[cfg(feature = "service")]
mod unknown;

#[cfg(feature = "service")]
pub use {
    arp::ArpTable,
    boot::{
        entry_script,
        render::{check as check_template, TemplateError},
        BootError,
    },
    bootloader::{Bootloader, HttpScript, MacEntryPattern},
    catalogue::{Catalogue, CatalogueError, Configuration},
    events::{format_time, Event, EventError, EventKind, EventLog, NewEvent, Outcome, Who},
    inventory::{Bmc, BootMode, Host, Inventory},
    pilot::{
        Deployed, Deployment, ErrorKind, HostOutcome, HostSelector, HostState, Pilot, PilotError,
        Switched,
    },
    power::{Netboot, PowerError, PowerReport, PowerService, PowerState},
    seed::{seed_etcd, Seeded},
    service::{
        Asker, BootFetch, Caller, DeployHost, DeployReport, HostDeployed, Kept, NetbootResult,
        NoObserver, Observer, RebootReport, Service, ServiceError, TftpRead,
    },
    settings::{
        machine_name, BootTrust, EtcdSettings, ServerSettings, Settings, SettingsError, StoreKind,
        Warning, DEFAULT_MAX_CONNECTIONS_PER_PEER, DEFAULT_PATH, MAX_FILE_SIZE,
    },
    store::{
        open as open_store, Entries, EntryFolders, EtcdStore, Expect, FilesStore, LocalStore,
        MemoryEntries, MemoryStore, Resolved, ServerSeen, SharedStatus, Store, StoreError,
        StoreStatus, Swap, SymlinkStore, Target, TEMP_PREFIX,
    },
    text::for_log,
    unknown::UnknownMachine,
};
