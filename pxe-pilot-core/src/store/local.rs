//! [`LocalStore`]: a store on this machine, for one server: the entries in some
//! [`EntryFolders`] (the TFTP root's links, or memory), the `once` list and the events in
//! `state_dir` (or memory). [`FilesStore`] and [`MemoryStore`] are its two kinds.
//!
//! The read-modify-write of a host ([`Store::switch`]) runs under a lock of this store, one
//! per shard of MAC addresses: concurrent switches of one host are ordered, others run in
//! parallel (and share the folder's `fsync`). Two servers on one TFTP root each see the
//! other's entries, but only one process orders a host's switches: several servers share a
//! state through a store made for it, not through one folder.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::catalogue::Configuration;
use crate::events::{Event, EventLog, NewEvent, DEFAULT_KEEP};
use crate::inventory::Inventory;
use crate::lock::StateDirLock;
use crate::mac::MacAddress;
use crate::names::{ConfigName, HostName};
use crate::once::OnceList;
use crate::settings::Settings;

use super::{
    Entries, EntryFolders, Expect, MemoryEntries, Store, StoreError, Swap, SymlinkStore, Target,
};

/// How many locks order the switches of hosts (a host's lock is its first MAC's shard).
const SHARDS: usize = 64;

/// A store on this machine: entries in `E`, the `once` list and the events beside them.
pub struct LocalStore<E> {
    entries: RwLock<Arc<E>>,
    shards: Vec<Mutex<()>>,
    once: OnceList,
    events: EventLog,
    _lock: Option<StateDirLock>,
}

/// The `files` store (the default): links in the TFTP root, `once.json` and the event
/// journals in `state_dir` (in memory without one), which it locks for this process.
pub type FilesStore = LocalStore<SymlinkStore>;

/// The `memory` store: everything in memory, lost at exit; for tests and embedders.
pub type MemoryStore = LocalStore<MemoryEntries>;

impl FilesStore {
    /// Locks `state_dir` (when set), opens the entry folders of the TFTP root (checking each),
    /// the `once` list and the events, and finishes what a crash interrupted.
    pub fn open(settings: &Settings) -> Result<Self, StoreError> {
        LocalStore::open_in(settings, settings.state_dir.as_deref())
    }
}

impl MemoryStore {
    /// An empty store in memory for the hosts and bootloaders of `settings`.
    pub fn new(settings: &Settings) -> Result<Self, StoreError> {
        LocalStore::open_in(settings, None)
    }

    /// Sets `mac`'s `pxelinux.cfg/` entry by hand, as an operator's `ln -s` would.
    pub fn set(&self, mac: MacAddress, target: Target) {
        self.folders().set(mac, target);
    }
}

impl<E: EntryFolders> LocalStore<E> {
    fn open_in(settings: &Settings, state_dir: Option<&Path>) -> Result<Self, StoreError> {
        let lock = state_dir.map(StateDirLock::acquire).transpose()?;
        let entries = E::open_for(settings)?;
        recover(&entries, &settings.inventory)?;
        Ok(LocalStore {
            entries: RwLock::new(Arc::new(entries)),
            shards: (0..SHARDS).map(|_| Mutex::new(())).collect(),
            once: OnceList::open(state_dir)?,
            events: EventLog::open(state_dir, DEFAULT_KEEP)?,
            _lock: lock,
        })
    }

    fn folders(&self) -> Arc<E> {
        Arc::clone(&self.entries.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn shard(&self, first: &MacAddress) -> MutexGuard<'_, ()> {
        let bytes = first.bytes();
        let index = usize::from(bytes[4]) << 8 | usize::from(bytes[5]);
        self.shards[index % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// Finishes what a crash interrupted, at open: removes the temporary entries an interrupted
/// write left, then, for a host whose first NIC has no `pxelinux.cfg/` entry while its other
/// NICs' entries are links to that entry (a first deploy stopped before its last rename, or
/// an undeploy stopped after its first removal), removes those links: the host boots the
/// default on every NIC already. Nothing else is touched: hosts whose other entries were made
/// by hand, and every bootloader's own entries, stay.
fn recover(entries: &impl EntryFolders, inventory: &Inventory) -> Result<(), StoreError> {
    let swept = entries.recover()?;
    if swept > 0 {
        tracing::warn!(
            swept,
            "removed temporary entries left by an interrupted write"
        );
    }
    for host in inventory.hosts() {
        let first = host.first_mac();
        let found = entries.entries_for(&host.mac_addresses)?.pxelinux;
        if found.get(&first).is_some() || found.is_empty() {
            continue;
        }
        if !found.iter().all(|(_, t)| *t == Target::Entry(first)) {
            continue;
        }
        let leftovers: Vec<MacAddress> = found.iter().map(|(mac, _)| *mac).collect();
        entries.remove_entries(&leftovers)?;
        tracing::warn!(
            host = %host.name,
            links = found.len(),
            "removed the links an interrupted deploy or undeploy left; the host boots the default"
        );
    }
    Ok(())
}

impl<E: EntryFolders> Store for LocalStore<E> {
    fn entries(&self) -> Result<Entries, StoreError> {
        self.folders().entries()
    }

    fn entries_for(&self, macs: &[MacAddress]) -> Result<Entries, StoreError> {
        self.folders().entries_for(macs)
    }

    fn switch(
        &self,
        macs: &[MacAddress],
        configuration: Option<&Configuration>,
        expect: &Expect,
    ) -> Result<Swap, StoreError> {
        let first = macs.first().ok_or(StoreError::NoMacAddress)?;
        let _ordered = self.shard(first);
        let folders = self.folders();
        let before = folders.entries_for(macs)?;
        if let Expect::Entries(expected) = expect {
            if *expected != before {
                return Ok(Swap::Changed(before));
            }
        }
        match configuration {
            Some(configuration) => folders.deploy(macs, configuration)?,
            None => folders.undeploy(macs)?,
        }
        Ok(Swap::Done(before))
    }

    fn once(&self, host: &HostName) -> Option<ConfigName> {
        self.once.get(host)
    }

    fn set_once(
        &self,
        host: &HostName,
        configuration: Option<&ConfigName>,
    ) -> Result<(), StoreError> {
        Ok(self.once.set(host, configuration)?)
    }

    fn take_once(&self, host: &HostName, configuration: &ConfigName) -> Result<bool, StoreError> {
        Ok(self.once.take(host, configuration)?)
    }

    fn record(&self, event: NewEvent) -> Result<Event, StoreError> {
        Ok(self.events.record(event)?)
    }

    fn events_since(&self, after: u64, limit: usize) -> Vec<Event> {
        self.events.since(after, limit)
    }

    fn events_for(&self, host: &HostName, limit: usize) -> Vec<Event> {
        self.events.for_host(host, limit)
    }

    fn last_boot(&self, host: &HostName) -> Option<Event> {
        self.events.last_boot(host)
    }

    fn events_kept(&self) -> (usize, usize) {
        self.events.kept()
    }

    fn status(&self) -> super::StoreStatus {
        super::StoreStatus {
            kind: E::KIND,
            shared: None,
        }
    }

    fn reconfigure(&self, settings: &Settings) -> Result<(), StoreError> {
        let reopened = Arc::new(self.folders().reopen(settings)?);
        *self.entries.write().unwrap_or_else(|p| p.into_inner()) = reopened;
        Ok(())
    }
}

impl<E: EntryFolders> std::fmt::Debug for LocalStore<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("entries", &self.folders())
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}
