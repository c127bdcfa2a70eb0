//! [`EtcdStore`]: the state of a fleet of servers in etcd (DESIGN §9), this server's TFTP root
//! its mirror. `store: {etcd: {endpoints: [...]}}` chooses it.
//!
//! Keys, under the prefix (`/pxe-pilot/` by default):
//!
//! | key | value |
//! | --- | --- |
//! | `entries/<first MAC>` | what a host boots: `{"macs", "name", "bootloader", "path"}` |
//! | `once/<host>` | the configuration it boots once |
//! | `events/seq` | the last event id given, fleet-wide |
//! | `events/c/<id>`, `events/b/<id>` | an event (a change, a boot fetch), as in the journal |
//! | `lastboot/<host>` | its last counted boot |
//!
//! Nothing secret: no BMC block, password or token is ever written. A switch is one
//! transaction that compares the host's key revision, retried inside when another server
//! won the race; it returns once etcd committed it and the mirror wrote the links. Boots read
//! the mirror and the caches a watch keeps (`once`, last boots), never etcd: when etcd is
//! away, boots go on, and changes fail with [`StoreError::Unavailable`] (503).
//!
//! The watch applies the other servers' changes to the mirror; a watch whose revision was
//! compacted reads the prefix again. A link made by hand on such a server is put back at the
//! next full read (a restart, a compaction).

mod client;
mod presence;
mod seed;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::catalogue::Configuration;
use crate::events::{Event, EventKind, NewEvent, DEFAULT_KEEP};
use crate::mac::MacAddress;
use crate::names::{ConfigName, HostName};
use crate::settings::{EtcdSettings, Settings};

use super::{Entries, EntryFolders, Expect, Store, StoreError, Swap, SymlinkStore};
use client::{delete, delete_range, holds, put, unchanged_since, Kv, Watched};
use client::{delete_returning, put_returning};
use client::{Etcd, EtcdError};
use presence::Presence;
pub use seed::{write_seed, SeedHost};

/// How long a change may keep losing races to other servers before it gives up.
const CHANGE_DEADLINE: Duration = Duration::from_secs(8);
/// How many boot events wait for etcd while it is away.
const BUFFERED: usize = 1_000;
/// How many events one transaction publishes (etcd's `--max-txn-ops` is 128 by default: two
/// puts per event at most, and the bookkeeping).
const BATCH: usize = 50;
/// How often waiting boot events are published.
const PUBLISH_EVERY: Duration = Duration::from_millis(20);
/// The shards of the mirror's writes (a host's is its key's).
const SHARDS: usize = 64;

/// What a host boots, as etcd keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Desired {
    macs: Vec<MacAddress>,
    name: ConfigName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bootloader: Option<String>,
    path: PathBuf,
}

/// The last event id that `events/seq` holds.
fn seq_value(value: &[u8]) -> u64 {
    std::str::from_utf8(value)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0)
}

/// The events waiting to be published (boot fetches, and changes whose callers wait), each
/// with its place in line.
#[derive(Default)]
struct Buffered {
    events: VecDeque<(u64, NewEvent)>,
    next: u64,
    /// The changes' callers waiting, by place: their event once published.
    waiting: HashMap<u64, Option<Event>>,
}

impl Buffered {
    /// Adds `event` at the end of the line (the oldest goes past [`BUFFERED`]); its place.
    fn push(&mut self, event: NewEvent) -> u64 {
        if self.events.len() >= BUFFERED {
            self.events.pop_front();
        }
        self.next += 1;
        self.events.push_back((self.next, event));
        self.next
    }
}

/// A value and the revision it was read or written at: a newer revision replaces it.
type Versioned<T> = HashMap<HostName, (i64, Option<T>)>;

fn newer<T>(map: &RwLock<Versioned<T>>, host: HostName, revision: i64, value: Option<T>) {
    let mut map = map.write().unwrap_or_else(|p| p.into_inner());
    match map.get(&host) {
        Some((known, _)) if *known >= revision => {}
        _ => {
            map.insert(host, (revision, value));
        }
    }
}

fn current<T: Clone>(map: &RwLock<Versioned<T>>, host: &HostName) -> Option<T> {
    let map = map.read().unwrap_or_else(|p| p.into_inner());
    map.get(host).and_then(|(_, value)| value.clone())
}

struct Inner {
    etcd: Etcd,
    prefix: String,
    settings: RwLock<Arc<Settings>>,
    mirror: RwLock<Arc<SymlinkStore>>,
    /// The revision each entry key's mirror was written at.
    applied: Mutex<HashMap<String, i64>>,
    shards: Vec<Mutex<()>>,
    once: RwLock<Versioned<ConfigName>>,
    last_boots: RwLock<Versioned<Event>>,
    /// The revision the mirror has reached.
    revision: AtomicI64,
    /// Boot events recorded while etcd was away, published when it is back.
    buffered: Mutex<Buffered>,
    /// Held while waiting boot events are published (one batch at a time, in order).
    publishing: Mutex<()>,
    /// The last event id given and the revision of `events/seq` then, as this server last
    /// knew them (`None`: read it).
    seq: Mutex<Option<(u64, i64)>>,
    /// How many events of each class (changes, boots) etcd holds at most, as far as this
    /// server can tell: trimming is needed only near the bound.
    estimate: [std::sync::atomic::AtomicUsize; 2],
    keep: usize,
    stop: AtomicBool,
    presence: Presence,
}

/// The `etcd` store: a fleet's state in etcd, this server's TFTP root its mirror.
pub struct EtcdStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("etcd", &self.inner.etcd)
            .field("prefix", &self.inner.prefix)
            .finish()
    }
}

fn unavailable(error: EtcdError) -> StoreError {
    StoreError::Unavailable(format!("{error}; nothing was changed, try again"))
}

impl EtcdStore {
    /// Connects to etcd, writes every host's entries from it into the TFTP root, then keeps
    /// the mirror in step with a watch. Refuses an empty prefix over a TFTP root that has
    /// entries (it would wipe them): seed the prefix first.
    pub fn open(settings: &Settings, etcd: &EtcdSettings) -> Result<EtcdStore, StoreError> {
        Self::open_keeping(settings, etcd, DEFAULT_KEEP)
    }

    /// [`EtcdStore::open`] keeping `keep` events of each class.
    pub fn open_keeping(
        settings: &Settings,
        etcd: &EtcdSettings,
        keep: usize,
    ) -> Result<EtcdStore, StoreError> {
        let client = Etcd::new(etcd).map_err(|e| StoreError::Invalid(e.0))?;
        let mirror = SymlinkStore::open_for(settings)?;
        let inner = Arc::new(Inner {
            etcd: client,
            prefix: etcd.prefix.clone(),
            settings: RwLock::new(Arc::new(settings.clone())),
            mirror: RwLock::new(Arc::new(mirror)),
            applied: Mutex::new(HashMap::new()),
            shards: (0..SHARDS).map(|_| Mutex::new(())).collect(),
            once: RwLock::new(HashMap::new()),
            last_boots: RwLock::new(HashMap::new()),
            revision: AtomicI64::new(0),
            buffered: Mutex::new(Buffered::default()),
            publishing: Mutex::new(()),
            seq: Mutex::new(None),
            estimate: Default::default(),
            keep: keep.max(1),
            stop: AtomicBool::new(false),
            presence: Presence::new(&etcd.prefix, &settings.site),
        });
        let revision = match inner.read_all(true) {
            Ok(revision) => {
                for (index, class) in ["c", "b"].into_iter().enumerate() {
                    let held = inner.etcd.count(&inner.key(&format!("events/{class}/")));
                    // Unknown: assume the bound, so that the first batches trim.
                    inner.estimate[index].store(held.unwrap_or(inner.keep), Ordering::Relaxed);
                }
                Some(revision)
            }
            Err(StoreError::Unavailable(why)) => {
                let why = why.trim_end_matches("; nothing was changed, try again");
                if inner.mirror().entries()?.pxelinux.is_empty() {
                    return Err(StoreError::Unavailable(format!(
                        "cannot start without etcd: {why} (and the TFTP root holds no entry to serve meanwhile)"
                    )));
                }
                tracing::warn!(
                    "etcd does not answer ({why}): serving the TFTP root's entries as they are until it does; changes answer 503 meanwhile"
                );
                for estimate in &inner.estimate {
                    estimate.store(inner.keep, Ordering::Relaxed);
                }
                None
            }
            Err(other) => return Err(other),
        };
        let watcher = Arc::clone(&inner);
        std::thread::Builder::new()
            .name("etcd-watch".into())
            .spawn(move || {
                let revision = revision.unwrap_or_else(|| watcher.first_read());
                watcher.watch_from(revision + 1)
            })
            .map_err(|e| StoreError::Invalid(format!("cannot start the etcd watch: {e}")))?;
        inner.presence.beat(&inner.etcd);
        inner.every("etcd-events", PUBLISH_EVERY, |inner| {
            if let Err(error) = inner.publish_buffered() {
                tracing::debug!(%error, "boot events wait for etcd");
            }
        })?;
        inner.every("etcd-presence", presence::BEAT, |inner| {
            inner.presence.beat(&inner.etcd)
        })?;
        Ok(EtcdStore { inner })
    }
}

impl Drop for EtcdStore {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Relaxed);
        self.inner.presence.leave(&self.inner.etcd);
    }
}

impl Inner {
    /// Runs `task` every `period` on a thread named `name` until the store is dropped.
    fn every(
        self: &Arc<Self>,
        name: &str,
        period: Duration,
        task: fn(&Inner),
    ) -> Result<(), StoreError> {
        let inner = Arc::clone(self);
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while !inner.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(period);
                    if !inner.stop.load(Ordering::Relaxed) {
                        task(&inner);
                    }
                }
            })
            .map(|_| ())
            .map_err(|e| StoreError::Invalid(format!("cannot start {name}: {e}")))
    }

    fn key(&self, part: &str) -> String {
        format!("{}{part}", self.prefix)
    }

    fn entry_key(&self, first: &MacAddress) -> String {
        self.key(&format!("entries/{first}"))
    }

    fn settings(&self) -> Arc<Settings> {
        Arc::clone(&self.settings.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn mirror(&self) -> Arc<SymlinkStore> {
        Arc::clone(&self.mirror.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The configuration `desired` names, as this server's catalogue has it.
    fn configuration(&self, desired: &Desired) -> Configuration {
        let settings = self.settings();
        Configuration {
            name: desired.name.clone(),
            bootloader: desired
                .bootloader
                .as_ref()
                .and_then(|name| settings.bootloaders.iter().find(|b| &b.name == name))
                .cloned(),
            path: desired.path.clone(),
        }
    }

    /// The MAC addresses of the host whose first MAC is `first` (the inventory's, else it).
    fn macs_of(&self, first: MacAddress) -> Vec<MacAddress> {
        let settings = self.settings();
        match settings.inventory.by_mac(&first) {
            Some(host) if host.first_mac() == first => host.mac_addresses.clone(),
            _ => vec![first],
        }
    }

    /// Makes the mirror hold `desired` for `key` (written at `revision`), unless it holds a
    /// newer state already.
    fn mirror_to(
        &self,
        key: &str,
        revision: i64,
        desired: Option<&Desired>,
        macs: &[MacAddress],
    ) -> Result<(), StoreError> {
        let _ordered = self.shard(key);
        self.mirror_held(key, revision, desired, macs)
    }

    /// The lock that orders the mirror's writes of `key`.
    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, ()> {
        let shard = key
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31) + usize::from(b));
        self.shards[shard % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// [`Inner::mirror_to`] with `key`'s [`Inner::shard`] held by the caller.
    fn mirror_held(
        &self,
        key: &str,
        revision: i64,
        desired: Option<&Desired>,
        macs: &[MacAddress],
    ) -> Result<(), StoreError> {
        let known = self
            .applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied();
        if known.is_some_and(|known| known >= revision) {
            return Ok(());
        }
        let mirror = self.mirror();
        match desired {
            Some(desired) => mirror.deploy(&desired.macs, &self.configuration(desired))?,
            None => mirror.undeploy(macs)?,
        }
        self.applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned(), revision);
        Ok(())
    }

    /// Applies one key of the prefix, as read or watched.
    fn apply(&self, kv: &Kv, deleted: bool) -> Result<(), StoreError> {
        let Some(rest) = kv.key.strip_prefix(&self.prefix) else {
            return Ok(());
        };
        if self.presence.apply(&kv.key, &kv.value, deleted) {
            return Ok(());
        }
        if let Some(event) = rest.strip_prefix("events/") {
            if event == "seq" && !deleted {
                let mut seq = self.seq.lock().unwrap_or_else(|p| p.into_inner());
                if seq.is_none_or(|(_, known)| known < kv.mod_revision) {
                    *seq = Some((seq_value(&kv.value), kv.mod_revision));
                }
            } else if !deleted {
                let index = usize::from(event.starts_with("b/"));
                self.estimate[index].fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }
        if let Some(mac) = rest.strip_prefix("entries/") {
            let Ok(first) = MacAddress::parse(mac) else {
                return Ok(());
            };
            let desired: Option<Desired> = match deleted {
                true => None,
                false => serde_json::from_slice(&kv.value).ok(),
            };
            let macs = desired
                .as_ref()
                .map(|d| d.macs.clone())
                .unwrap_or_else(|| self.macs_of(first));
            return self.mirror_to(&kv.key, kv.mod_revision, desired.as_ref(), &macs);
        }
        if let Some(host) = rest.strip_prefix("once/") {
            if let Ok(host) = HostName::parse(host) {
                let value = match deleted {
                    true => None,
                    false => std::str::from_utf8(&kv.value)
                        .ok()
                        .and_then(|t| ConfigName::parse(t).ok()),
                };
                newer(&self.once, host, kv.mod_revision, value);
            }
        } else if let Some(host) = rest.strip_prefix("lastboot/") {
            if let Ok(host) = HostName::parse(host) {
                let value = match deleted {
                    true => None,
                    false => serde_json::from_slice(&kv.value).ok(),
                };
                newer(&self.last_boots, host, kv.mod_revision, value);
            }
        }
        Ok(())
    }

    /// Reads the prefix (all but the events) and makes the mirror and the caches hold it (hosts without a
    /// key boot the default); the revision it reached. `first`: at open, where an empty
    /// prefix over a TFTP root with entries is refused.
    fn read_all(&self, first: bool) -> Result<i64, StoreError> {
        // Everything but the events, as of one revision.
        let (mut kvs, revision) = self
            .etcd
            .range_at(&self.key("entries/"), 0)
            .map_err(unavailable)?;
        for part in ["once/", "lastboot/", "servers/"] {
            let (more, _) = self
                .etcd
                .range_at(&self.key(part), revision)
                .map_err(unavailable)?;
            kvs.extend(more);
        }
        let entries_prefix = self.key("entries/");
        let has_entries = kvs.iter().any(|kv| kv.key.starts_with(&entries_prefix));
        if first && !has_entries && !self.mirror().entries()?.pxelinux.is_empty() {
            return Err(StoreError::Invalid(format!(
                "etcd holds no entry under {} while the TFTP root has some: seed the prefix from them first (`pxe-pilot-server --seed-etcd -c FILE`), or empty pxelinux.cfg/ to start from nothing",
                self.prefix
            )));
        }
        let mut present = std::collections::HashSet::new();
        let mut rewritten = Vec::new();
        for kv in &kvs {
            if !kv.key.starts_with(&entries_prefix) {
                self.apply(kv, false)?;
                continue;
            }
            present.insert(kv.key.clone());
            // A full read writes every entry again. One this process wrote at etcd's current
            // revision of the key, yet different on disk, was changed by hand: it is put back
            // and said; others changed in etcd while this server did not follow it.
            let macs = serde_json::from_slice::<Desired>(&kv.value).map(|d| d.macs);
            let before = macs
                .as_ref()
                .ok()
                .and_then(|m| self.mirror().entries_for(m).ok());
            let written = self
                .applied
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&kv.key);
            self.apply(kv, false)?;
            if let (Ok(macs), Some(before)) = (&macs, before) {
                let after = self.mirror().entries_for(macs)?;
                if before.pxelinux != after.pxelinux {
                    if written.is_some_and(|at| at >= kv.mod_revision) {
                        tracing::warn!(
                            key = %kv.key,
                            "an entry on this server's TFTP root was changed by hand: put back from etcd; deploy through any server instead"
                        );
                    } else {
                        rewritten.push(kv.key.clone());
                    }
                }
            }
        }
        if !rewritten.is_empty() {
            tracing::info!(
                count = rewritten.len(),
                first = %rewritten[0],
                "entries of the TFTP root written from etcd (changed while this server did not follow it, or by hand while it was stopped)"
            );
        }
        let settings = self.settings();
        for host in settings.inventory.hosts() {
            let key = self.entry_key(&host.first_mac());
            if !present.contains(&key) {
                self.mirror_to(&key, revision, None, &host.mac_addresses)?;
            }
        }
        self.revision.fetch_max(revision, Ordering::Relaxed);
        self.presence.answered(revision);
        Ok(revision)
    }

    /// Reads the prefix whole until etcd answers (a server started while etcd was away); the
    /// revision reached. An empty prefix over a TFTP root with entries is never applied.
    fn first_read(&self) -> i64 {
        let mut pause = Duration::from_millis(200);
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return 0;
            }
            std::thread::sleep(pause);
            match self.read_all(true) {
                Ok(revision) => {
                    tracing::info!(revision, "etcd answers: the TFTP root follows it again");
                    return revision;
                }
                Err(StoreError::Unavailable(_)) => pause = (pause * 2).min(Duration::from_secs(2)),
                Err(error) => {
                    tracing::error!(%error, "the TFTP root's entries stay as they are");
                    pause = Duration::from_secs(30);
                }
            }
        }
    }

    /// Follows the prefix from `revision` until the store is dropped: each change applied,
    /// a compacted watch read again whole, etcd away retried with a capped back-off.
    fn watch_from(self: Arc<Self>, mut revision: i64) {
        let mut pause = Duration::from_millis(100);
        let mut away = false;
        while !self.stop.load(Ordering::Relaxed) {
            let mut compacted = false;
            let watched = self.etcd.watch(&self.prefix, revision, |batch| match batch {
                Watched::Changes(changes, reached) => {
                    away = false;
                    self.presence.in_step();
                    for change in &changes {
                        if let Err(error) = self.apply(&change.kv, change.deleted) {
                            tracing::warn!(%error, key = %change.kv.key, "the mirror could not apply a change");
                        }
                    }
                    revision = revision.max(reached + 1);
                    self.revision.fetch_max(reached, Ordering::Relaxed);
                    !self.stop.load(Ordering::Relaxed)
                }
                Watched::Compacted => {
                    compacted = true;
                    false
                }
            });
            if compacted {
                match self.read_all(false) {
                    Ok(reached) => revision = reached + 1,
                    Err(error) => tracing::warn!(%error, "cannot read etcd again"),
                }
            }
            match watched {
                Ok(()) => pause = Duration::from_millis(100),
                Err(error) => {
                    self.presence.watch_down();
                    if !away {
                        tracing::warn!(%error, "the etcd watch stopped; boots go on from the mirror");
                    } else {
                        tracing::debug!(%error, "etcd is still away");
                    }
                    away = true;
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// Publishes the boot events waiting, oldest first, a batch per transaction, until none
    /// waits or etcd does not take them (they wait for the next call).
    fn publish_buffered(&self) -> Result<(), EtcdError> {
        let _one_at_a_time = self.publishing.lock().unwrap_or_else(|p| p.into_inner());
        // What is in line now, not what keeps coming: a caller is answered in bounded time.
        let upto = self.buffered.lock().unwrap_or_else(|p| p.into_inner()).next;
        loop {
            let (batch, places): (Vec<NewEvent>, Vec<u64>) = {
                let buffered = self.buffered.lock().unwrap_or_else(|p| p.into_inner());
                buffered
                    .events
                    .iter()
                    .take_while(|(place, _)| *place <= upto)
                    .take(BATCH)
                    .map(|(place, event)| (event.clone(), *place))
                    .unzip()
            };
            let Some(&last) = places.last() else {
                return Ok(());
            };
            let events = self.commit_events(&batch)?;
            for (index, class) in ["c", "b"].into_iter().enumerate() {
                let near = self.estimate[index].load(Ordering::Relaxed) + BATCH > self.keep;
                if near && events.iter().any(|e| (class == "b") == e.kind.is_boot()) {
                    if let Err(error) = self.trim(class) {
                        tracing::debug!(%error, "events not trimmed yet");
                    }
                }
            }
            let mut buffered = self.buffered.lock().unwrap_or_else(|p| p.into_inner());
            while buffered
                .events
                .front()
                .is_some_and(|(place, _)| *place <= last)
            {
                buffered.events.pop_front();
            }
            for (place, event) in places.into_iter().zip(events) {
                if let Some(waiting) = buffered.waiting.get_mut(&place) {
                    *waiting = Some(event);
                }
            }
        }
    }

    /// Drops the oldest events of `class` (`c` changes, `b` boot fetches) past the bound: each
    /// class is bounded on its own, so a flood of boots never pushes a change out.
    fn trim(&self, class: &str) -> Result<(), EtcdError> {
        let prefix = self.key(&format!("events/{class}/"));
        let estimate = &self.estimate[usize::from(class == "b")];
        let count = self.etcd.count(&prefix)?;
        if count <= self.keep {
            estimate.store(count, Ordering::Relaxed);
            return Ok(());
        }
        let end = client::prefix_end(&prefix);
        let (oldest, _) = self
            .etcd
            .range_between(&prefix, Some(end), count - self.keep, false)?;
        if let Some(last) = oldest.last() {
            let through = format!("{}\u{0}", last.key);
            self.etcd
                .txn(Vec::new(), vec![delete_range(&prefix, &through)])?;
        }
        estimate.store(self.keep, Ordering::Relaxed);
        Ok(())
    }

    /// Puts the change `event` in line and returns once it is published (by this caller, or
    /// by another one that published the line meanwhile), with its id.
    fn publish_change(&self, event: NewEvent) -> Result<Event, EtcdError> {
        let place = {
            let mut buffered = self.buffered.lock().unwrap_or_else(|p| p.into_inner());
            let place = buffered.push(event);
            buffered.waiting.insert(place, None);
            place
        };
        let published = self.publish_buffered();
        let mut buffered = self.buffered.lock().unwrap_or_else(|p| p.into_inner());
        match buffered.waiting.remove(&place).flatten() {
            Some(done) => Ok(done),
            None => {
                // The change itself is committed: its event stays in line, and the publisher
                // sends it when etcd takes it (numbered then, as a boot's is).
                if let Err(error) = published {
                    tracing::warn!(%error, "a change's event waits for etcd; it is published when etcd answers");
                }
                let waiting = buffered
                    .events
                    .iter()
                    .find(|(at, _)| *at == place)
                    .map(|(_, event)| event.clone());
                waiting
                    .map(|event| event.stamped(0, SystemTime::now()))
                    .ok_or_else(|| {
                        EtcdError("etcd: the change's event was dropped from the line".into())
                    })
            }
        }
    }

    /// Gives `batch` the next fleet-wide ids and writes them (and each counted boot as its
    /// host's last), dropping what is past the bound of each class, in one transaction.
    fn commit_events(&self, batch: &[NewEvent]) -> Result<Vec<Event>, EtcdError> {
        let seq = self.key("events/seq");
        let started = Instant::now();
        loop {
            let cached = *self.seq.lock().unwrap_or_else(|p| p.into_inner());
            let (last, revision) = match cached {
                Some(known) => known,
                None => match self.etcd.get(&seq)? {
                    Some(kv) => (seq_value(&kv.value), kv.mod_revision),
                    None => (0, 0),
                },
            };
            let now = SystemTime::now();
            let events: Vec<Event> = batch
                .iter()
                .zip(last + 1..)
                .map(|(new, id)| new.clone().stamped(id, now))
                .collect();
            let next = last + events.len() as u64;
            let mut ops = vec![put(&seq, next.to_string().as_bytes())];
            // A host's last counted boot of the batch only: its line, and the event.
            let mut last_boots: HashMap<HostName, (Vec<u8>, Event)> = HashMap::new();
            for event in &events {
                let class = if event.kind.is_boot() { "b" } else { "c" };
                let line = serde_json::to_vec(event).map_err(|e| EtcdError(e.to_string()))?;
                ops.push(put(
                    &self.key(&format!("events/{class}/{:020}", event.id)),
                    &line,
                ));
                if let (EventKind::Boot, true, Some(host)) =
                    (event.kind, event.counted, &event.host)
                {
                    last_boots.insert(host.clone(), (line, event.clone()));
                }
            }
            for (host, (line, _)) in &last_boots {
                ops.push(put(&self.key(&format!("lastboot/{host}")), line));
            }
            let (done, committed, now) =
                self.etcd
                    .txn_or_read(vec![unchanged_since(&seq, revision)], ops, &seq)?;
            // Lost the race to another server: its answer says where the ids are now.
            *self.seq.lock().unwrap_or_else(|p| p.into_inner()) = match (done, now) {
                (true, _) => Some((next, committed)),
                (false, Some(kv)) => Some((seq_value(&kv.value), kv.mod_revision)),
                (false, None) => Some((0, 0)),
            };
            if done {
                for event in &events {
                    self.estimate[usize::from(event.kind.is_boot())]
                        .fetch_add(1, Ordering::Relaxed);
                }
                for (host, (_, event)) in last_boots {
                    newer(&self.last_boots, host, committed, Some(event));
                }
                return Ok(events);
            }
            if started.elapsed() > CHANGE_DEADLINE {
                return Err(EtcdError(
                    "etcd: the event id kept changing under this server; try again".into(),
                ));
            }
        }
    }

    /// Whether the events can be read from etcd now: it answers, and what this server saw is
    /// published (so a read finds this server's own events). While etcd is away the event
    /// routes answer nothing at once rather than wait for it.
    fn readable(&self) -> bool {
        self.presence.reachable() && self.publish_buffered().is_ok()
    }

    /// The newest `limit` events of `class` of `host`, newest first, read backwards a page at
    /// a time (never the whole class at once).
    fn newest_of(&self, class: &str, host: &HostName, limit: usize) -> Vec<Event> {
        const PAGE: usize = 500;
        let start = self.key(&format!("events/{class}/"));
        let mut end = client::prefix_end(&start);
        let mut found = Vec::new();
        while found.len() < limit {
            let Ok((kvs, _)) = self
                .etcd
                .range_between(&start, Some(end.clone()), PAGE, true)
            else {
                break;
            };
            let Some(oldest) = kvs.last() else { break };
            end = oldest.key.as_bytes().to_vec();
            let full = kvs.len() == PAGE;
            found.extend(
                kvs.iter()
                    .filter_map(|kv| serde_json::from_slice::<Event>(&kv.value).ok())
                    .filter(|e| e.host.as_ref() == Some(host)),
            );
            if !full {
                break;
            }
        }
        found.truncate(limit);
        found
    }

    /// The events of both classes with ids from `from` (included), oldest first.
    fn events_from(&self, from: u64, limit: usize) -> Vec<Event> {
        let mut found = Vec::new();
        for class in ["c", "b"] {
            let start = self.key(&format!("events/{class}/{from:020}"));
            let end = client::prefix_end(&self.key(&format!("events/{class}/")));
            if let Ok((kvs, _)) = self.etcd.range_between(&start, Some(end), limit, false) {
                found.extend(
                    kvs.iter()
                        .filter_map(|kv| serde_json::from_slice(&kv.value).ok()),
                );
            }
        }
        found.sort_unstable_by_key(|e: &Event| e.id);
        found.truncate(limit);
        found
    }
}

impl Store for EtcdStore {
    fn entries(&self) -> Result<Entries, StoreError> {
        self.inner.mirror().entries()
    }

    fn entries_for(&self, macs: &[MacAddress]) -> Result<Entries, StoreError> {
        self.inner.mirror().entries_for(macs)
    }

    fn switch(
        &self,
        macs: &[MacAddress],
        configuration: Option<&Configuration>,
        expect: &Expect,
    ) -> Result<Swap, StoreError> {
        let inner = &self.inner;
        let first = macs.first().ok_or(StoreError::NoMacAddress)?;
        let key = inner.entry_key(first);
        let wanted = configuration.map(|c| Desired {
            macs: macs.to_vec(),
            name: c.name.clone(),
            bootloader: c.bootloader.as_ref().map(|b| b.name.clone()),
            path: c.path.clone(),
        });
        let value = wanted
            .as_ref()
            .map(|w| serde_json::to_vec(w).map_err(|e| StoreError::Invalid(e.to_string())))
            .transpose()?;
        if let Expect::Anything = expect {
            // One round trip: the write, and what it replaced. The key's mirror lock is held
            // so that the watch cannot show this write before `before` is read.
            let op = match &value {
                Some(value) => put_returning(&key, value),
                None => delete_returning(&key),
            };
            let _ordered = inner.shard(&key);
            let (was, committed) = inner.etcd.swap(op).map_err(unavailable)?;
            let stored: Option<Desired> = was
                .as_ref()
                .and_then(|kv| serde_json::from_slice(&kv.value).ok());
            let seen = was.as_ref().map_or(committed - 1, |kv| kv.mod_revision);
            inner.mirror_held(&key, seen, stored.as_ref(), macs)?;
            let before = inner.mirror().entries_for(macs)?;
            inner.mirror_held(&key, committed, wanted.as_ref(), macs)?;
            return Ok(Swap::Done(before));
        }
        let started = Instant::now();
        loop {
            let (found, revision) = inner
                .etcd
                .range(&key, false, 1, false)
                .map_err(unavailable)?;
            let now = found.first();
            let stored: Option<Desired> = now.and_then(|kv| serde_json::from_slice(&kv.value).ok());
            let seen = now.map_or(revision, |kv| kv.mod_revision);
            inner.mirror_to(&key, seen, stored.as_ref(), macs)?;
            let before = inner.mirror().entries_for(macs)?;
            if let Expect::Entries(expected) = expect {
                if *expected != before {
                    return Ok(Swap::Changed(before));
                }
            }
            let op = match &value {
                Some(value) => put(&key, value),
                None => delete(&key),
            };
            let compare = unchanged_since(&key, now.map_or(0, |kv| kv.mod_revision));
            let (done, committed) = inner
                .etcd
                .txn(vec![compare], vec![op])
                .map_err(unavailable)?;
            if done {
                inner.mirror_to(&key, committed, wanted.as_ref(), macs)?;
                return Ok(Swap::Done(before));
            }
            if started.elapsed() > CHANGE_DEADLINE {
                return Err(StoreError::Unavailable(format!(
                    "etcd: the host of {first} kept changing under this server for {}s; try again",
                    CHANGE_DEADLINE.as_secs()
                )));
            }
        }
    }

    fn once(&self, host: &HostName) -> Option<ConfigName> {
        current(&self.inner.once, host)
    }

    fn set_once(
        &self,
        host: &HostName,
        configuration: Option<&ConfigName>,
    ) -> Result<(), StoreError> {
        if configuration.is_none() && current(&self.inner.once, host).is_none() {
            // Nothing pending that this server's watch knows of: no write (a deploy clears
            // `once` every time; a `once` set elsewhere in the last milliseconds may stay).
            return Ok(());
        }
        let key = self.inner.key(&format!("once/{host}"));
        let op = match configuration {
            Some(name) => put(&key, name.as_str().as_bytes()),
            None => delete(&key),
        };
        let (_, committed) = self
            .inner
            .etcd
            .txn(Vec::new(), vec![op])
            .map_err(unavailable)?;
        newer(
            &self.inner.once,
            host.clone(),
            committed,
            configuration.cloned(),
        );
        Ok(())
    }

    fn take_once(&self, host: &HostName, configuration: &ConfigName) -> Result<bool, StoreError> {
        if current(&self.inner.once, host).as_ref() != Some(configuration) {
            // No such `once` pending as far as the watch knows: every boot fetch would else
            // ask etcd. One set elsewhere in the last milliseconds is taken at the next boot.
            return Ok(false);
        }
        let key = self.inner.key(&format!("once/{host}"));
        let (taken, committed) = self
            .inner
            .etcd
            .txn(
                vec![holds(&key, configuration.as_str().as_bytes())],
                vec![delete(&key)],
            )
            .map_err(unavailable)?;
        if taken {
            newer(&self.inner.once, host.clone(), committed, None);
        }
        Ok(taken)
    }

    fn record(&self, event: NewEvent) -> Result<Event, StoreError> {
        let inner = &self.inner;
        if event.kind.is_boot() {
            // The boot was served: its event goes with the next batch (never making a boot
            // wait for etcd), and this server knows the host's last boot at once.
            let stamped = event.clone().stamped(0, SystemTime::now());
            if let (EventKind::Boot, true, Some(host)) =
                (stamped.kind, stamped.counted, &stamped.host)
            {
                let mut last_boots = inner.last_boots.write().unwrap_or_else(|p| p.into_inner());
                let known = last_boots.get(host).map_or(0, |(revision, _)| *revision);
                let revision = known.max(inner.revision.load(Ordering::Relaxed));
                last_boots.insert(host.clone(), (revision, Some(stamped.clone())));
            }
            inner
                .buffered
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(event);
            return Ok(stamped);
        }
        // A change goes into the same line, after the boots this server saw before it, and is
        // answered once published: concurrent changes share one transaction.
        inner.publish_change(event).map_err(unavailable)
    }

    fn events_since(&self, after: u64, limit: usize) -> Vec<Event> {
        if !self.inner.readable() {
            return Vec::new();
        }
        self.inner.events_from(after.saturating_add(1), limit)
    }

    fn events_for(&self, host: &HostName, limit: usize) -> Vec<Event> {
        if !self.inner.readable() {
            return Vec::new();
        }
        let mut found = Vec::new();
        for class in ["c", "b"] {
            found.extend(self.inner.newest_of(class, host, limit));
        }
        found.sort_unstable_by_key(|e: &Event| std::cmp::Reverse(e.id));
        found.truncate(limit);
        found
    }

    fn last_boot(&self, host: &HostName) -> Option<Event> {
        current(&self.inner.last_boots, host)
    }

    fn events_kept(&self) -> (usize, usize) {
        let count = |class: &str| {
            self.inner
                .etcd
                .count(&self.inner.key(&format!("events/{class}/")))
                .unwrap_or(0)
        };
        (count("c"), count("b"))
    }

    fn status(&self) -> super::StoreStatus {
        let buffered = self
            .inner
            .buffered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .events
            .len();
        super::StoreStatus {
            kind: "etcd",
            shared: Some(
                self.inner
                    .presence
                    .status(self.inner.revision.load(Ordering::Relaxed), buffered),
            ),
        }
    }

    fn reconfigure(&self, settings: &Settings) -> Result<(), StoreError> {
        let mirror = self.inner.mirror().reopen(settings)?;
        *self.inner.mirror.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(mirror);
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(settings.clone());
        Ok(())
    }
}
