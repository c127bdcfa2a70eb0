//! Everything the service remembers, behind one seam: the [`Store`] trait (DESIGN §5).
//!
//! A store keeps four things: the per-MAC entries (what each host boots), the hosts deployed
//! `once` and not booted yet, the events, and with them each host's last boot. The service
//! holds one `Arc<dyn Store>`, chosen by the configuration file's `store:` ([`open`]):
//!
//! - `files` (the default): the entries as links in the TFTP root ([`SymlinkStore`]), the
//!   `once` list and the events in `state_dir` (in memory without one): [`FilesStore`];
//! - `memory`: everything in memory, for tests and embedders: [`MemoryStore`].
//!
//! A deployment is a set of per-MAC entries: a host's first MAC's entry leads to the
//! configuration, its other MACs' entries lead to the first MAC's entry, so that one write
//! switches every NIC. Bootloaders that read per-MAC files of their own (GRUB 2) have entries
//! of their own, by the same rule. A store owns the read-modify-write of a host
//! ([`Store::switch`] returns what the host's entries were, and compares before it writes),
//! so no rule of the service needs a lock of its own. The conformance suite
//! (`conformance.rs`) is the contract every store passes.

#[cfg(test)]
mod conformance;
mod etcd;
mod local;
mod memory;
mod symlink;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::catalogue::Configuration;
use crate::events::{Event, EventError, NewEvent};
use crate::lock::LockError;
use crate::mac::MacAddress;
use crate::names::{ConfigName, HostName};
use crate::once::OnceError;
use crate::settings::{Settings, StoreKind};

pub use etcd::{write_seed, EtcdStore, SeedHost};
pub use local::{FilesStore, LocalStore, MemoryStore};
pub use memory::MemoryEntries;
pub use symlink::{SymlinkStore, TEMP_PREFIX};

/// Opens the store the configuration file chooses (`store:`), and finishes what a crash
/// interrupted. Open it once per process: a `files` store locks `state_dir`. A reload hands
/// the new settings to [`Store::reconfigure`].
pub fn open(settings: &Settings) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match &settings.store {
        StoreKind::Files => Arc::new(FilesStore::open(settings)?),
        StoreKind::Memory => Arc::new(MemoryStore::new(settings)?),
        StoreKind::Etcd(etcd) => Arc::new(EtcdStore::open(settings, etcd)?),
    })
}

/// What [`Store::switch`] expects of a host's entries before it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Write whatever the entries are now.
    Anything,
    /// Write only if the host's entries are still these (as [`Store::entries_for`] read
    /// them): a compare-and-swap.
    Entries(Entries),
}

/// What [`Store::switch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap {
    /// The host was switched; its entries before the switch.
    Done(Entries),
    /// Nothing was written: the host's entries were not the expected ones; here they are.
    Changed(Entries),
}

/// Everything the service remembers (DESIGN §5). A backend implements these methods and
/// passes the conformance suite; the service holds nothing else.
///
/// - Entries: every read reflects the store as it is now (changes by hand, by another
///   process, by another server are seen by the next call); [`Store::switch`] switches
///   all of one host's entries at once, durably when it returns, and concurrent switches of
///   one host are ordered: each returns the entries the previous one left.
/// - `once`: at most one pending configuration per host; [`Store::take_once`] returns `true`
///   to exactly one of any number of concurrent takers.
/// - Events: numbered in the order they were recorded, ids growing; bounded (the oldest go
///   first); each host's last counted boot answers [`Store::last_boot`].
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Every per-MAC entry, the bootloaders' own entries included.
    fn entries(&self) -> Result<Entries, StoreError>;

    /// The entries of `macs` only (what one host's deployment needs).
    fn entries_for(&self, macs: &[MacAddress]) -> Result<Entries, StoreError>;

    /// Switches one host, whose MAC addresses are `macs` (first MAC first): to
    /// `configuration` (`macs[0]`'s entry leads to it, the others' to `macs[0]`'s, likewise
    /// for the configuration's bootloader's own entries, and the other bootloaders' entries of
    /// `macs` go), or with `None` removes every entry of `macs`. Only if the entries are as
    /// `expect` says; every entry switched atomically, durable when this returns.
    fn switch(
        &self,
        macs: &[MacAddress],
        configuration: Option<&Configuration>,
        expect: &Expect,
    ) -> Result<Swap, StoreError>;

    /// [`Store::switch`] whatever the entries are now, and the change's event recorded with
    /// it: `event` makes it from the entries before (it may be called again when another
    /// server changed the host meanwhile). The entries before, and the event recorded or why
    /// it was not. A shared store writes both in one transaction; by default this switches,
    /// then records.
    fn switch_recording(
        &self,
        macs: &[MacAddress],
        configuration: Option<&Configuration>,
        event: &dyn Fn(&Entries) -> NewEvent,
    ) -> Result<(Entries, Result<Event, StoreError>), StoreError> {
        let (Swap::Done(before) | Swap::Changed(before)) =
            self.switch(macs, configuration, &Expect::Anything)?;
        let recorded = self.record(event(&before));
        Ok((before, recorded))
    }

    /// The configuration `host` was deployed `once` with and has not booted yet.
    fn once(&self, host: &HostName) -> Option<ConfigName>;

    /// Sets (`Some`) or clears (`None`) the configuration `host` boots once.
    fn set_once(
        &self,
        host: &HostName,
        configuration: Option<&ConfigName>,
    ) -> Result<(), StoreError>;

    /// Takes `host`'s pending `once` if it is `configuration`: `true` to exactly one caller.
    fn take_once(&self, host: &HostName, configuration: &ConfigName) -> Result<bool, StoreError>;

    /// Records an event; returns it with its id and time. A store shared by several servers
    /// never makes a boot wait for it (DESIGN §9): it may publish a boot fetch's event after
    /// returning, with id 0 here; the event is numbered when published, before any change this
    /// server records after it, and [`Store::last_boot`] knows it at once.
    fn record(&self, event: NewEvent) -> Result<Event, StoreError>;

    /// The events after id `after`, oldest first, at most `limit`.
    fn events_since(&self, after: u64, limit: usize) -> Vec<Event>;

    /// The last `limit` events of `host`, newest first.
    fn events_for(&self, host: &HostName, limit: usize) -> Vec<Event>;

    /// The last boot of `host` that counted, if any is kept.
    fn last_boot(&self, host: &HostName) -> Option<Event>;

    /// How many events are kept: (changes, boot fetches).
    fn events_kept(&self) -> (usize, usize);

    /// Takes a new reading of the configuration file (new bootloaders, entry folders, hosts):
    /// what is remembered stays.
    fn reconfigure(&self, settings: &Settings) -> Result<(), StoreError>;

    /// How the store is doing, for `GET /v1/status` (never waits for a remote store).
    fn status(&self) -> StoreStatus;
}

/// How a store is doing: what `GET /v1/status` and `/metrics` show.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreStatus {
    /// The store's kind: `files`, `memory` or `etcd`.
    pub kind: &'static str,
    /// With a shared store: how it is reached and how far this server's mirror is.
    pub shared: Option<SharedStatus>,
}

/// How a shared store (etcd) is doing, as this server sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedStatus {
    /// Whether etcd answered this server lately (within a few seconds).
    pub reachable: bool,
    /// etcd's revision when it last answered.
    pub revision: i64,
    /// The revision this server's mirror (TFTP root, caches) has applied.
    pub mirror_revision: i64,
    /// How long the mirror has not been following etcd, in seconds: 0 while its watch is up.
    pub lag_seconds: f64,
    /// Boot events waiting for etcd.
    pub buffered_events: usize,
    /// Boot events dropped since the start: more came than etcd took while the line was full.
    pub dropped_events: u64,
    /// The servers sharing the store that announced themselves lately, this one included.
    pub servers: Vec<ServerSeen>,
}

/// A server of the fleet, as its presence key in the shared store says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServerSeen {
    /// Its `site`.
    pub site: String,
    /// The machine it runs on (its host name).
    pub machine: String,
    /// Its version.
    pub version: String,
    /// When it last announced itself.
    #[serde(with = "crate::events::rfc3339")]
    pub last_seen: std::time::SystemTime,
}

/// What a per-MAC entry leads to, as the store found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A configuration file, by its path relative to the catalogue folder (`grub/grml`);
    /// shared by the entries that lead to the same file.
    Configuration(Arc<Path>),
    /// Another MAC's entry (a host's other NICs lead to its first MAC's entry).
    Entry(MacAddress),
    /// Something the store holds that pxe-pilot did not write (a file, a link to elsewhere):
    /// the text says what.
    Foreign(String),
}

/// What a MAC's entry leads to once links between entries are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The MAC has no entry: the bootloader falls back to its default.
    NotDeployed,
    /// The entry leads to this catalogue path (shared with the entry's target).
    Configuration(Arc<Path>),
    /// The entry leads nowhere useful (a missing entry, a loop, a foreign entry); the text
    /// says what was found.
    Broken(String),
}

/// The entries of one folder (or of one bootloader), sorted by MAC address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets(Vec<(MacAddress, Target)>);

impl Targets {
    /// The entries of `targets`, in any order; of two targets for one MAC, the last stays.
    pub fn new(mut targets: Vec<(MacAddress, Target)>) -> Self {
        targets.reverse();
        targets.sort_by_key(|(mac, _)| *mac);
        targets.dedup_by_key(|(mac, _)| *mac);
        Targets(targets)
    }

    /// The target of `mac`'s entry.
    pub fn get(&self, mac: &MacAddress) -> Option<&Target> {
        self.0
            .binary_search_by_key(mac, |(m, _)| *m)
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Every entry, sorted by MAC address.
    pub fn iter(&self) -> impl Iterator<Item = &(MacAddress, Target)> {
        self.0.iter()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Follows `mac`'s entry through the other entries to what it finally leads to.
    pub fn resolve(&self, mac: &MacAddress) -> Resolved {
        let mut current = *mac;
        for hop in 0..MAX_HOPS {
            match self.get(&current) {
                None if hop == 0 => return Resolved::NotDeployed,
                None => {
                    return Resolved::Broken(format!(
                        "entry {} points at missing entry {}",
                        mac.entry_name(),
                        current.entry_name()
                    ))
                }
                Some(Target::Configuration(path)) => {
                    return Resolved::Configuration(Arc::clone(path))
                }
                Some(Target::Entry(next)) => current = *next,
                Some(Target::Foreign(what)) => return Resolved::Broken(what.clone()),
            }
        }
        Resolved::Broken(format!("entry {} is a loop of links", mac.entry_name()))
    }
}

/// How many links between entries are followed before giving up (a loop).
const MAX_HOPS: usize = 8;

/// The per-MAC entries read from a store at one moment: `pxelinux.cfg/01-<mac>`, and the
/// entries of each bootloader that keeps its own. Cheap to clone: the listings are shared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries {
    /// The `pxelinux.cfg/01-<mac>` entries.
    pub pxelinux: Arc<Targets>,
    /// Per bootloader name, its own entries. For them, [`Target::Entry`] names another MAC's
    /// entry of the same bootloader.
    pub bootloaders: Vec<(String, Arc<Targets>)>,
}

impl Entries {
    /// The entries of a bootloader, if it keeps its own.
    pub fn bootloader(&self, name: &str) -> Option<&Targets> {
        self.bootloaders
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| &**t)
    }

    /// True when an entry (of `pxelinux.cfg/` or of a bootloader) leads to the entry of a
    /// MAC address that is not one of `macs`: entries read for `macs` only
    /// ([`EntryFolders::entries_for`]) cannot resolve it, every entry must be read.
    pub fn leads_outside(&self, macs: &[MacAddress]) -> bool {
        let outside = |targets: &Targets| {
            targets
                .iter()
                .any(|(_, t)| matches!(t, Target::Entry(m) if !macs.contains(m)))
        };
        outside(&self.pxelinux) || self.bootloaders.iter().any(|(_, t)| outside(t))
    }
}

/// Why the store could not read or write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The event log cannot be read or written.
    #[error(transparent)]
    Events(#[from] EventError),
    /// The `once` list cannot be read or written.
    #[error(transparent)]
    Once(#[from] OnceError),
    /// Another server uses the state folder.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A file-system operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done (`read folder`, `create link`, ...).
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The store cannot be used as configured (an entry folder leading out of the TFTP
    /// root); the text says what to change.
    #[error("{0}")]
    Invalid(String),
    /// The shared store (etcd) did not answer or kept refusing: nothing was changed; the
    /// text names etcd and what it said. Answered 503, which clients send again.
    #[error("{0}")]
    Unavailable(String),
    /// A deploy named no MAC address.
    #[error("a deploy needs at least one MAC address")]
    NoMacAddress,
}

/// Where a store on this machine keeps the per-MAC entries: the TFTP root's links
/// ([`SymlinkStore`]) or memory ([`MemoryEntries`]). [`LocalStore`] puts one under the
/// [`Store`] seam, with the host-level compare-and-swap, the `once` list and the events.
///
/// Every read reflects the folders as they are now: changes made by hand or by another
/// process are seen by the next call (a listing may be reused only when nothing changed).
pub trait EntryFolders: Send + Sync + std::fmt::Debug {
    /// The store's name in `GET /v1/status` (`files`, `memory`).
    const KIND: &'static str;

    /// Opens the entries of `settings` (their TFTP root, catalogue and bootloaders).
    fn open_for(settings: &Settings) -> Result<Self, StoreError>
    where
        Self: Sized;

    /// The same entries for a new reading of the configuration file (other bootloaders,
    /// other folders).
    fn reopen(&self, settings: &Settings) -> Result<Self, StoreError>
    where
        Self: Sized;

    /// Every per-MAC entry, the bootloaders' own entries included.
    fn entries(&self) -> Result<Entries, StoreError>;

    /// The entries of `macs` only (what one host's deployment needs).
    fn entries_for(&self, macs: &[MacAddress]) -> Result<Entries, StoreError>;

    /// Points `macs[0]`'s entry at `configuration` and every other MAC's entry at `macs[0]`'s
    /// entry, likewise for the configuration's bootloader's own entries, and removes the
    /// entries of the other bootloaders. Each entry is replaced atomically; the change is
    /// durable when this returns.
    fn deploy(&self, macs: &[MacAddress], configuration: &Configuration) -> Result<(), StoreError>;

    /// Removes every entry of `macs` (of every bootloader), so the bootloaders fall back to
    /// their defaults.
    fn undeploy(&self, macs: &[MacAddress]) -> Result<(), StoreError>;

    /// Removes the `pxelinux.cfg/01-<mac>` entries of `macs` only; the bootloaders' own
    /// entries stay (recovery removes what an interrupted deploy left there, nothing more).
    fn remove_entries(&self, macs: &[MacAddress]) -> Result<(), StoreError>;

    /// Removes what an interrupted write of this store left behind; returns how many
    /// leftovers were removed.
    fn recover(&self) -> Result<usize, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(last: u8) -> MacAddress {
        MacAddress::new([0, 0, 0, 0, 0, last])
    }

    #[test]
    fn resolving_follows_entries_and_reports_what_is_broken() {
        let targets = Targets::new(vec![
            (mac(1), Target::Configuration(Path::new("local").into())),
            (mac(2), Target::Entry(mac(1))),
            (mac(3), Target::Entry(mac(9))),
            (mac(4), Target::Entry(mac(5))),
            (mac(5), Target::Entry(mac(4))),
            (mac(6), Target::Foreign("a file".into())),
        ]);
        assert_eq!(
            targets.resolve(&mac(2)),
            Resolved::Configuration(Path::new("local").into())
        );
        assert_eq!(targets.resolve(&mac(7)), Resolved::NotDeployed);
        assert!(matches!(targets.resolve(&mac(3)), Resolved::Broken(t) if t.contains("missing")));
        assert!(matches!(targets.resolve(&mac(4)), Resolved::Broken(t) if t.contains("loop")));
        assert_eq!(targets.resolve(&mac(6)), Resolved::Broken("a file".into()));
    }
}
