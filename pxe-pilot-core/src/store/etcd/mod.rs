//! [`EtcdStore`]: the state of a fleet of servers in etcd (DESIGN §9), this server's TFTP root
//! its mirror. `store: {etcd: {endpoints: [...]}}` chooses it.
//!
//! Keys, under the prefix (`/pxe-pilot/` by default):
//!
//! | key | value |
//! | --- | --- |
//! | `entries/<first MAC>` | what a host boots: `{"macs", "name", "bootloader", "path"}` |
//! | `once/<host>` | the configuration it boots once |
//! | `events/c/<server>-<n>` | the changes' events one transaction published, a JSON array of lines as in the journal |
//! | `events/b/<server>-<n>` | the boot fetches' events one transaction published, the same |
//! | `servers/<site>/<machine>:<pid>` | a server's presence, bound to its lease |
//!
//! An event's id is not stored: it is `mod_revision × 128 + place`, its place in the
//! transaction that published it (the `id` its stored JSON holds), so ids follow commit
//! order fleet-wide with no counter for the servers to contend on. Each server keeps the
//! fleet's events in memory from its watch and answers reads from there, a host's last boot
//! too (its newest counted boot among them, as with files); the events past the bound of a
//! class are deleted by the next transaction.
//!
//! Nothing secret: no BMC block, password or token is ever written. A deploy's switch and
//! its event are written together ([`Store::switch_recording`]), on the condition that the
//! host's key revision is the one the mirror holds (the entries before, which the event
//! names); when another server won the race the mirror reads the key and the deploy goes
//! again; it returns once etcd committed it and the mirror wrote the links. Every switch and
//! the boot events wait in one line, committed by the callers themselves, up to
//! [`IN_FLIGHT`] transactions at once, each with all that waits (a group commit): a
//! transaction whose condition fails is made by none of its deploys; those whose host
//! changed read it again, the others go again as they were. Boots read
//! the mirror and what the watch keeps (`once`, the events), never etcd: when etcd is
//! away, boots go on, and changes fail with [`StoreError::Unavailable`] (503).
//!
//! The watch applies the other servers' changes to the mirror; a watch whose revision was
//! compacted reads the prefix again. A link made by hand on such a server is put back at the
//! next full read (a restart, a compaction).

mod client;
mod grpc;
mod history;
mod presence;
mod seed;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::catalogue::Configuration;
use crate::events::{Event, EventKind, NewEvent, DEFAULT_KEEP};
use crate::mac::MacAddress;
use crate::names::{ConfigName, HostName};
use crate::settings::{EtcdSettings, Settings};

use super::symlink::DeferredSyncs;
use super::{Entries, EntryFolders, Expect, Store, StoreError, Swap, SymlinkStore};
use client::{delete, delete_range, delete_returning, holds, put, put_returning, unchanged_since};
use client::{Etcd, EtcdError, Kv, Watched};
use history::{event_id, History, Range, ID_SPAN};
use presence::Presence;
pub use seed::{write_seed, SeedHost};

/// How long a change may keep losing races to other servers before it gives up.
const CHANGE_DEADLINE: Duration = Duration::from_secs(8);
/// How many boot events wait for etcd while it is away, or slow: as many as the history
/// keeps (more would push each other out of it), a second of a flood of 10,000 fetches.
const BUFFERED: usize = DEFAULT_KEEP;
/// The most operations of one transaction (etcd's `--max-txn-ops` is 128 by default).
const MAX_OPS: usize = 120;
/// The most switches of one transaction (each its put and what it replaced).
const MAX_WRITES: usize = 32;
/// How often the log says that boot events were dropped, at most.
const DROPS_TOLD_EVERY: Duration = Duration::from_secs(10);
/// How often waiting boot events are published.
const PUBLISH_EVERY: Duration = Duration::from_millis(20);
/// How long a read of the events waits for the watch to show what this server published.
const READ_WAIT: Duration = Duration::from_secs(1);
/// How many transactions of one server may be in flight at once: one, and what comes
/// meanwhile is committed together in the next (a group commit; with 8 in flight, fewer
/// deploys per second went through two servers, BENCHMARKS.md).
const IN_FLIGHT: usize = 1;
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

/// A switch waiting in line: the host's entry key and its new value (`None`: deleted); a
/// deploy's has its condition and its event.
struct Write {
    key: String,
    value: Option<Vec<u8>>,
    recording: Option<Recording>,
}

/// A deploy's switch ([`Store::switch_recording`]): made only while the host's key is at
/// `revision` (0: absent), together with its event.
struct Recording {
    revision: i64,
    event: NewEvent,
}

/// What a caller waiting in line is answered.
enum Answer {
    /// Its switch is committed: the key as it was before, and the revision.
    Wrote(Option<Kv>, i64),
    /// Its deploy's switch and event are committed: the revision, the event with its id, and
    /// whether that was an earlier try's commit etcd made without confirming it.
    Recorded(i64, Event, bool),
    /// Its deploy's switch was not made: the host's key changed since; the key as it is,
    /// and the revision read.
    Stale(Option<Kv>, i64),
    /// Its switch failed: etcd did not confirm it.
    Failed(EtcdError),
    /// Its event is published, with its id.
    Published(Event),
}

/// What waits to be written to etcd: switches whose callers wait, and events (boot
/// fetches, and changes whose callers wait), each with its place in line; an event has the
/// time it was recorded, and its id (its place in a transaction) when it is published.
#[derive(Default)]
struct Line {
    writes: VecDeque<(u64, Write)>,
    events: VecDeque<(u64, Event)>,
    next: u64,
    /// The places whose callers wait, and their answer once given.
    answers: HashMap<u64, Option<Answer>>,
    /// How many callers are committing (at most [`IN_FLIGHT`]: the others wait for their
    /// answers).
    committing: usize,
    /// The places of the events that transactions in flight hold.
    in_flight: HashSet<u64>,
    /// How many commits failed, and the last failure: a caller waiting for its event sees
    /// whether one failed since it came.
    failures: u64,
    last_error: Option<EtcdError>,
    /// Boot events dropped since the start, the line holding [`BUFFERED`] already.
    dropped: u64,
    /// How many of them the log told of, and when it last did.
    told: (u64, Option<Instant>),
}

impl Line {
    /// The next place in line.
    fn place(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Adds `event`, recorded now, at the end of the line: it as it waits (id 0), its place,
    /// and the event dropped for it, with its place. Past [`BUFFERED`], the oldest event that
    /// no transaction in flight holds is dropped, and counted in `dropped`.
    fn push(&mut self, event: NewEvent) -> (Event, u64, Option<(u64, Event)>) {
        let mut dropped = None;
        if self.events.len() >= BUFFERED {
            let oldest = self
                .events
                .iter()
                .position(|(at, _)| !self.in_flight.contains(at))
                .unwrap_or(0);
            dropped = self.events.remove(oldest);
            self.dropped += 1;
        }
        let place = self.place();
        let event = event.stamped(0, SystemTime::now());
        self.events.push_back((place, event.clone()));
        (event, place, dropped)
    }
}

/// What one transaction did.
enum Committed {
    /// Everything made: each switch's answer ([`Answer::Wrote`] with the key as it was, or a
    /// deploy's [`Answer::Recorded`]; none for a plain switch of a transaction an earlier
    /// try made, which goes again), the events with their ids, and the revision.
    Made {
        switched: Vec<Option<Answer>>,
        events: Vec<Event>,
        revision: i64,
    },
    /// Nothing made, a deploy's host having changed: each deploy's entry key as it is, at
    /// the revision read.
    Refused { now: Vec<Option<Kv>>, revision: i64 },
}

/// One transaction's worth of the line.
struct Batch {
    writes: Vec<(u64, Write)>,
    events: Vec<(u64, Event)>,
    /// The key of its changes' events, named after a place of its own: every try of this
    /// transaction writes it, and no other transaction does.
    changes: String,
    /// Ranges of events past the bound.
    deletes: Vec<Range>,
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
    /// The revision each entry key's mirror was written at, and whether the key existed then.
    applied: Mutex<HashMap<String, (i64, bool)>>,
    shards: Vec<Mutex<()>>,
    once: RwLock<Versioned<ConfigName>>,
    /// Each host's last counted boot this server served, by its place in line: its id is 0
    /// until it is published, then the one etcd gave it.
    served_boots: Mutex<HashMap<HostName, (u64, Event)>>,
    /// The revision the mirror has reached.
    revision: AtomicI64,
    /// The switches and events waiting for etcd.
    line: Mutex<Line>,
    /// Told when callers in line are answered.
    answered: Condvar,
    /// The fleet's events as the watch shows them.
    history: Mutex<History>,
    /// The last revision this server committed: reads of the events wait for the watch to
    /// reach it.
    committed: AtomicI64,
    /// What names this process's event keys (`events/c/<server>-<n>`).
    server: String,
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

/// A name for this process's event keys, unique in the fleet: the time it started, to the
/// nanosecond, and its process id.
fn server_token() -> String {
    let started = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{:x}{:x}", started.as_nanos() as u64, std::process::id())
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
            served_boots: Mutex::new(HashMap::new()),
            revision: AtomicI64::new(0),
            line: Mutex::new(Line::default()),
            answered: Condvar::new(),
            history: Mutex::new(History::new(keep)),
            committed: AtomicI64::new(0),
            server: server_token(),
            stop: AtomicBool::new(false),
            presence: Presence::new(&etcd.prefix, &settings.site),
        });
        let revision = match inner.read_all(true) {
            Ok(revision) => Some(revision),
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
            if let Err(error) = inner.publish() {
                tracing::debug!(%error, "boot events wait for etcd");
            }
            inner.tell_dropped();
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

    fn history(&self) -> MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn served(&self) -> MutexGuard<'_, HashMap<HostName, (u64, Event)>> {
        self.served_boots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn line(&self) -> MutexGuard<'_, Line> {
        self.line.lock().unwrap_or_else(|p| p.into_inner())
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
        if known.is_some_and(|(known, _)| known >= revision) {
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
            .insert(key.to_owned(), (revision, desired.is_some()));
        Ok(())
    }

    /// Makes the mirror hold entry `key` as etcd answered it (`found`; `None`: absent at
    /// revision `read`), with `key`'s shard held by the caller; the key's revision (0:
    /// absent), for a compare.
    fn mirror_read(
        &self,
        key: &str,
        found: Option<&Kv>,
        read: i64,
        macs: &[MacAddress],
    ) -> Result<i64, StoreError> {
        let stored: Option<Desired> = found.and_then(|kv| serde_json::from_slice(&kv.value).ok());
        let seen = found.map_or(read, |kv| kv.mod_revision);
        self.mirror_held(key, seen, stored.as_ref(), macs)?;
        Ok(found.map_or(0, |kv| kv.mod_revision))
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
            let mut history = self.history();
            match deleted {
                true => history.delete(&kv.key, event),
                false => history.put(&kv.key, event, &kv.value, kv.mod_revision),
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
        }
        Ok(())
    }

    /// Reads the prefix and makes the mirror, the caches and the events hold it (hosts
    /// without a key boot the default); the revision it reached. `first`: at open, where an empty
    /// prefix over a TFTP root with entries is refused.
    fn read_all(&self, first: bool) -> Result<i64, StoreError> {
        // Everything, as of one revision.
        let (mut kvs, revision) = self
            .etcd
            .range_at(&self.key("entries/"), 0)
            .map_err(unavailable)?;
        for part in ["once/", "servers/", "events/"] {
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
        let mut present = HashSet::new();
        let mut rewritten = Vec::new();
        self.history().clear();
        // Every entry written, then each folder synced once (before the server answers).
        let syncs = DeferredSyncs::begin();
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
                    if written.is_some_and(|(at, _)| at >= kv.mod_revision) {
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
        syncs.finish()?;
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
                    // Nobody waits on these writes: one sync per folder for the batch.
                    let syncs = DeferredSyncs::begin();
                    for change in &changes {
                        if let Err(error) = self.apply(&change.kv, change.deleted) {
                            tracing::warn!(%error, key = %change.kv.key, "the mirror could not apply a change");
                        }
                    }
                    if let Err(error) = syncs.finish() {
                        tracing::warn!(%error, "the mirror could not sync its changes");
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

    /// Says in the log, at most every [`DROPS_TOLD_EVERY`], how many boot events were
    /// dropped since it last said so.
    fn tell_dropped(&self) {
        let mut line = self.line();
        let (count, at) = line.told;
        if line.dropped > count && at.is_none_or(|at| at.elapsed() >= DROPS_TOLD_EVERY) {
            tracing::warn!(
                dropped = line.dropped - count,
                total = line.dropped,
                "boot events dropped: more came than etcd took, and at most {BUFFERED} wait; the fetches were served, their events are lost"
            );
            line.told = (line.dropped, Some(Instant::now()));
        }
    }

    /// Publishes the events waiting in line now (and deletes the events past the bound),
    /// until none waits or etcd does not take them (they wait for the next call).
    fn publish(&self) -> Result<(), EtcdError> {
        let mut line = self.line();
        // What is in line now, not what keeps coming: a caller is answered in bounded time.
        let upto = line.next;
        let failures = line.failures;
        let mut trim = self.history().has_dropped();
        loop {
            let waiting = line.events.front().is_some_and(|(at, _)| *at <= upto);
            let free = line
                .events
                .iter()
                .take_while(|(at, _)| *at <= upto)
                .any(|(at, _)| !line.in_flight.contains(at));
            if !waiting && !trim {
                return Ok(());
            }
            if line.failures > failures {
                return Err(line.last_error.clone().unwrap_or_else(not_taken));
            }
            line = match (free || trim) && line.committing < IN_FLIGHT {
                true => {
                    trim = false;
                    self.commit_next(line)
                }
                false => self.wait(line),
            };
        }
    }

    /// Waits in line until the switch or event at `place` is answered: a caller commits
    /// what waits when fewer than [`IN_FLIGHT`] transactions are, else waits for its answer.
    /// An event is not answered when a commit failed since it came (it stays in line).
    fn answer(&self, place: u64) -> Result<Answer, EtcdError> {
        let mut line = self.line();
        let failures = line.failures;
        loop {
            if let Some(Some(_)) = line.answers.get(&place) {
                return line.answers.remove(&place).flatten().ok_or_else(not_taken);
            }
            let is_event = line.events.iter().any(|(at, _)| *at == place);
            let is_write = line.writes.iter().any(|(at, _)| *at == place);
            if (is_event && line.failures > failures)
                || (line.committing == 0 && !is_event && !is_write)
            {
                line.answers.remove(&place);
                return Err(line.last_error.clone().unwrap_or_else(not_taken));
            }
            let can_take = (is_write || (is_event && !line.in_flight.contains(&place)))
                && line.committing < IN_FLIGHT;
            line = match can_take {
                true => self.commit_next(line),
                false => self.wait(line),
            };
        }
    }

    /// Waits for the caller committing to be done (or a moment).
    fn wait<'a>(&'a self, line: MutexGuard<'a, Line>) -> MutexGuard<'a, Line> {
        self.answered
            .wait_timeout(line, Duration::from_millis(100))
            .unwrap_or_else(|p| p.into_inner())
            .0
    }

    /// Commits one transaction of what waits in line (the line is free meanwhile) and
    /// answers its callers.
    fn commit_next<'a>(&'a self, mut line: MutexGuard<'a, Line>) -> MutexGuard<'a, Line> {
        line.committing += 1;
        let batch = self.take_batch(&mut line);
        drop(line);
        let result = self.commit(&batch);
        let mut line = self.line();
        line.committing -= 1;
        for (place, _) in &batch.events {
            line.in_flight.remove(place);
        }
        match result {
            Ok(Committed::Made {
                switched,
                events,
                revision,
            }) => {
                self.committed.fetch_max(revision, Ordering::Relaxed);
                let mut again = Vec::new();
                for ((place, write), answer) in batch.writes.into_iter().zip(switched) {
                    match answer {
                        Some(answer) => {
                            if let Some(waiting) = line.answers.get_mut(&place) {
                                *waiting = Some(answer);
                            }
                        }
                        None => again.push((place, write)),
                    }
                }
                for write in again.into_iter().rev() {
                    line.writes.push_front(write);
                }
                if !batch.events.is_empty() {
                    let published: HashSet<u64> = batch.events.iter().map(|(at, _)| *at).collect();
                    line.events.retain(|(at, _)| !published.contains(at));
                }
                for ((place, _), event) in batch.events.iter().zip(events) {
                    if let Some(answer) = line.answers.get_mut(place) {
                        *answer = Some(Answer::Published(event));
                    }
                }
            }
            Ok(Committed::Refused { now, revision }) => {
                // A deploy whose host changed is answered with the key as it is; the others
                // go back to the front of the line, in order, and the events stay in line.
                self.history().keep_dropped(batch.deletes);
                let mut now = now.into_iter();
                let mut again = Vec::new();
                let mut answered = false;
                for (place, write) in batch.writes {
                    let Some(recording) = &write.recording else {
                        again.push((place, write, None));
                        continue;
                    };
                    let entry = now.next().flatten();
                    if entry.as_ref().map_or(0, |kv| kv.mod_revision) == recording.revision {
                        again.push((place, write, entry));
                        continue;
                    }
                    answered = true;
                    if let Some(waiting) = line.answers.get_mut(&place) {
                        *waiting = Some(Answer::Stale(entry, revision));
                    }
                }
                for (place, write, entry) in again.into_iter().rev() {
                    match (answered, &write.recording) {
                        // etcd refused what seems to hold: never loop on it, the deploy
                        // reads its key again.
                        (false, Some(_)) => {
                            if let Some(waiting) = line.answers.get_mut(&place) {
                                *waiting = Some(Answer::Stale(entry, revision));
                            }
                        }
                        _ => line.writes.push_front((place, write)),
                    }
                }
            }
            Err(error) => {
                // etcd is away: the switches waiting are answered now (none is written
                // later, behind its caller's back); the events stay in line.
                let waiting: Vec<u64> = line.writes.drain(..).map(|(place, _)| place).collect();
                for place in batch.writes.iter().map(|(place, _)| *place).chain(waiting) {
                    if let Some(answer) = line.answers.get_mut(&place) {
                        *answer = Some(Answer::Failed(error.clone()));
                    }
                }
                self.history().keep_dropped(batch.deletes);
                line.failures += 1;
                line.last_error = Some(error);
            }
        }
        self.answered.notify_all();
        line
    }

    /// The next transaction's worth of the line: switches first, then events in order, and
    /// deletes of events past the bound, within etcd's bound on a transaction.
    fn take_batch(&self, line: &mut Line) -> Batch {
        // An operation for each switch, one for the changes' events and one for the boot
        // fetches'; what is left deletes events past the bound.
        let mut budget = MAX_OPS - 2;
        // The deploys' events take places of the transaction first.
        let mut places = 0;
        let mut writes = Vec::new();
        while writes.len() < MAX_WRITES {
            let Some((place, write)) = line.writes.pop_front() else {
                break;
            };
            places += u64::from(write.recording.is_some());
            budget -= 1;
            writes.push((place, write));
        }
        let mut events = Vec::new();
        for (place, event) in &line.events {
            if places + events.len() as u64 >= ID_SPAN {
                break;
            }
            if !line.in_flight.contains(place) {
                events.push((*place, event.clone()));
            }
        }
        line.in_flight
            .extend(events.iter().map(|(place, _)| *place));
        let deletes = self.history().take_dropped(budget);
        let changes = self.event_key(false, line.place());
        Batch {
            writes,
            events,
            changes,
            deletes,
        }
    }

    /// The key of the events one transaction of this server publishes, named after `place`
    /// of its line: its changes' (`boots` false), or its boot fetches'.
    fn event_key(&self, boots: bool, place: u64) -> String {
        let class = if boots { "b" } else { "c" };
        self.key(&format!("events/{class}/{}-{place:012}", self.server))
    }

    /// Writes `batch` in one transaction, made only while every deploy's host is at the
    /// revision it was read at. The changes' events (the deploys' first) go in one key,
    /// [`Batch::changes`], the boot fetches' in another, named after the first one's place.
    /// When etcd refuses it and the changes' key is there, an earlier try of this very
    /// transaction was made without etcd confirming it (a leader lost, the call sent again
    /// to another member): that commit stands, for all it holds.
    fn commit(&self, batch: &Batch) -> Result<Committed, EtcdError> {
        let mut ops = Vec::with_capacity(MAX_OPS);
        let mut compares = Vec::new();
        let mut reads: Vec<&str> = Vec::new();
        let mut keys = HashSet::new();
        let now = SystemTime::now();
        // Each switch's op; a deploy's event takes the next of the first places.
        let mut switch_ops = Vec::with_capacity(batch.writes.len());
        // A deploy's event, by switch.
        let mut recorded = Vec::with_capacity(batch.writes.len());
        let mut first = 0;
        for (_, write) in &batch.writes {
            switch_ops.push(ops.len());
            let recording = write.recording.as_ref();
            ops.push(match (&write.value, recording) {
                (Some(value), None) => put_returning(&write.key, value),
                (None, None) => delete_returning(&write.key),
                (Some(value), Some(_)) => put(&write.key, value),
                (None, Some(_)) => delete(&write.key),
            });
            recorded.push(recording.map(|recording| {
                compares.push(unchanged_since(&write.key, recording.revision));
                reads.push(write.key.as_str());
                first += 1;
                recording.event.clone().stamped(first - 1, now)
            }));
        }
        let mut events = Vec::with_capacity(batch.events.len());
        for (index, (_, waiting)) in batch.events.iter().enumerate() {
            let mut event = waiting.clone();
            event.id = first + index as u64;
            events.push(event);
        }
        // The changes' events in one key, the boot fetches' in another.
        let changes: Vec<&Event> = (recorded.iter().flatten())
            .chain(events.iter().filter(|e| !e.kind.is_boot()))
            .collect();
        let boots: Vec<&Event> = events.iter().filter(|e| e.kind.is_boot()).collect();
        let first_boot = batch.events.iter().find(|(_, e)| e.kind.is_boot());
        let packs = [
            (!changes.is_empty()).then(|| (batch.changes.clone(), changes)),
            first_boot.map(|(place, _)| (self.event_key(true, *place), boots)),
        ];
        for (key, pack) in packs.into_iter().flatten() {
            let value = serde_json::to_vec(&pack).map_err(|e| EtcdError(e.to_string()))?;
            ops.push(put(&key, &value));
            keys.insert(key);
        }
        if !compares.is_empty() {
            reads.push(batch.changes.as_str());
        }
        // A key given twice fails the whole transaction: a range holding an event published
        // here again (its first commit unconfirmed) waits for another one.
        let mut later = Vec::new();
        for (from, to) in &batch.deletes {
            match keys.iter().any(|key| from <= key && key < to) {
                true => later.push((from.clone(), to.clone())),
                false => ops.push(delete_range(from, to)),
            }
        }
        self.history().keep_dropped(later);
        if ops.is_empty() {
            return Ok(Committed::Made {
                switched: Vec::new(),
                events,
                revision: self.revision.load(Ordering::Relaxed),
            });
        }
        let answer = self.etcd.transact(compares, ops, &reads)?;
        let (revision, landed) = match answer.succeeded {
            true => (answer.revision, false),
            false => {
                let entries = reads.len().saturating_sub(1);
                match answer.keys.get(entries).cloned().flatten() {
                    // An earlier try of this transaction, made.
                    Some(changes) => (changes.mod_revision, true),
                    None => {
                        let now = answer.keys.into_iter().take(entries).collect();
                        let revision = answer.revision;
                        return Ok(Committed::Refused { now, revision });
                    }
                }
            }
        };
        // A plain switch of a transaction made earlier goes again: what it replaced is not
        // known.
        let switched = switch_ops
            .iter()
            .zip(recorded)
            .map(|(at, event)| match event {
                Some(mut event) => {
                    event.id = event_id(revision, event.id);
                    Some(Answer::Recorded(revision, event, landed))
                }
                None if landed => None,
                None => Some(Answer::Wrote(
                    answer.keys.get(*at).cloned().flatten(),
                    revision,
                )),
            })
            .collect();
        for event in &mut events {
            event.id = event_id(revision, event.id);
        }
        let mut served = self.served();
        for ((place, _), event) in batch.events.iter().zip(&events) {
            if let Some(host) = &event.host {
                if let Some((at, known)) = served.get_mut(host) {
                    if at == place {
                        known.id = event.id;
                    }
                }
            }
        }
        drop(served);
        Ok(Committed::Made {
            switched,
            events,
            revision,
        })
    }

    /// Puts the change `event` in line and returns once it is published (by this caller, or
    /// by another one that committed the line meanwhile), with its id.
    fn publish_change(&self, event: NewEvent) -> Result<Event, EtcdError> {
        let place = {
            let mut line = self.line();
            let (_, place, _) = line.push(event);
            line.answers.insert(place, None);
            place
        };
        let error = match self.answer(place) {
            Ok(Answer::Published(event)) => return Ok(event),
            Ok(Answer::Failed(error)) | Err(error) => error,
            Ok(_) => not_taken(),
        };
        // The change itself is committed: its event stays in line, and the publisher sends
        // it when etcd takes it (numbered then, as a boot's is).
        let line = self.line();
        let waiting = line.events.iter().find(|(at, _)| *at == place);
        match waiting {
            Some((_, event)) => {
                tracing::warn!(%error, "a change's event waits for etcd; it is published when etcd answers");
                Ok(event.clone())
            }
            None => Err(EtcdError(format!(
                "{error} (the change's event was dropped from the line)"
            ))),
        }
    }

    /// Puts a host's entry `key` (`None`: deletes it) in line and returns once etcd committed
    /// it: the key as it was, and the revision.
    fn write(&self, key: &str, value: Option<Vec<u8>>) -> Result<(Option<Kv>, i64), EtcdError> {
        match self.switch_in_line(key, value, None)? {
            Answer::Wrote(was, revision) => Ok((was, revision)),
            Answer::Failed(error) => Err(error),
            _ => Err(not_taken()),
        }
    }

    /// Puts a switch in line (a deploy's with its `recording`) and returns its answer once
    /// etcd answered the transaction that carried it.
    fn switch_in_line(
        &self,
        key: &str,
        value: Option<Vec<u8>>,
        recording: Option<Recording>,
    ) -> Result<Answer, EtcdError> {
        let place = {
            let mut line = self.line();
            let place = line.place();
            let key = key.to_owned();
            let write = Write {
                key,
                value,
                recording,
            };
            line.writes.push_back((place, write));
            line.answers.insert(place, None);
            place
        };
        self.answer(place)
    }

    /// The revision up to which the events can be read: what this server saw is published
    /// when etcd answers, and the watch reached what this server published (waiting for it a
    /// moment), so a read finds this server's own events. While etcd is away, the events
    /// known so far.
    fn readable(&self) -> i64 {
        if self.presence.reachable() && self.publish().is_ok() {
            let published = self.committed.load(Ordering::Relaxed);
            let started = Instant::now();
            while self.revision.load(Ordering::Relaxed) < published && started.elapsed() < READ_WAIT
            {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.revision.load(Ordering::Relaxed)
    }
}

/// What a host whose MAC addresses are `macs` boots with `configuration`, as etcd keeps it,
/// and as its key's value (`None`: no key).
fn desired(
    macs: &[MacAddress],
    configuration: Option<&Configuration>,
) -> Result<(Option<Desired>, Option<Vec<u8>>), StoreError> {
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
    Ok((wanted, value))
}

/// Puts the boot fetch `event` in `line` and keeps `served` (each host's last boot this
/// server served and etcd may not hold yet) up to date: a counted boot is its host's last
/// one; a served boot the full line dropped unpublished is no host's last boot any more.
fn push_served(
    line: &mut Line,
    served: &mut HashMap<HostName, (u64, Event)>,
    event: NewEvent,
) -> Event {
    let (stamped, place, dropped) = line.push(event);
    if let Some((
        dropped,
        Event {
            host: Some(host), ..
        },
    )) = dropped
    {
        if served.get(&host).is_some_and(|(at, _)| *at == dropped) {
            served.remove(&host);
        }
    }
    if let (EventKind::Boot, true, Some(host)) = (stamped.kind, stamped.counted, &stamped.host) {
        served.insert(host.clone(), (place, stamped.clone()));
    }
    stamped
}

/// The error of a caller whose switch or event etcd did not take.
fn not_taken() -> EtcdError {
    EtcdError("etcd: not taken; try again".into())
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
        let (wanted, value) = desired(macs, configuration)?;
        if let Expect::Anything = expect {
            // One round trip: the write, and what it replaced. The key's mirror lock is held
            // so that the watch cannot show this write before `before` is read.
            let _ordered = inner.shard(&key);
            let (was, committed) = inner.write(&key, value).map_err(unavailable)?;
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

    fn switch_recording(
        &self,
        macs: &[MacAddress],
        configuration: Option<&Configuration>,
        event: &dyn Fn(&Entries) -> NewEvent,
    ) -> Result<(Entries, Result<Event, StoreError>), StoreError> {
        let inner = &self.inner;
        let first = macs.first().ok_or(StoreError::NoMacAddress)?;
        let key = inner.entry_key(first);
        let (wanted, value) = desired(macs, configuration)?;
        // The switch and its event in one transaction, comparing the key's revision with the
        // one the mirror holds (the entries before, that the event names); when another
        // server changed the host meanwhile, the mirror takes what etcd holds, and again.
        let _ordered = inner.shard(&key);
        let mut expected = inner
            .applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .map(|(revision, exists)| if *exists { *revision } else { 0 });
        let mut tried: Option<Entries> = None;
        let started = Instant::now();
        loop {
            let revision = match expected {
                Some(revision) => revision,
                None => {
                    let (found, read) = inner
                        .etcd
                        .range(&key, false, 1, false)
                        .map_err(unavailable)?;
                    inner.mirror_read(&key, found.first(), read, macs)?
                }
            };
            let before = inner.mirror().entries_for(macs)?;
            let new = event(&before);
            let recording = Recording {
                revision,
                event: new,
            };
            let answer = inner
                .switch_in_line(&key, value.clone(), Some(recording))
                .map_err(unavailable)?;
            let (now, read) = match answer {
                // Committed, by this try or (`landed`) by an earlier one whose commit etcd
                // made without confirming it (a leader lost): that commit stands.
                Answer::Recorded(at, recorded, landed) => {
                    inner.committed.fetch_max(at, Ordering::Relaxed);
                    inner.mirror_held(&key, at, wanted.as_ref(), macs)?;
                    let before = match landed {
                        true => tried.unwrap_or(before),
                        false => before,
                    };
                    return Ok((before, Ok(recorded)));
                }
                Answer::Stale(now, read) => (now, read),
                Answer::Failed(error) => return Err(unavailable(error)),
                Answer::Wrote(..) | Answer::Published(_) => return Err(unavailable(not_taken())),
            };
            tried = Some(before);
            expected = Some(inner.mirror_read(&key, now.as_ref(), read, macs)?);
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
            // wait for etcd), and this server knows the host's last boot at once (before the
            // batch that publishes it takes it: it finds it there).
            let mut line = inner.line();
            return Ok(push_served(&mut line, &mut inner.served(), event));
        }
        // A change goes into the same line, after the boots this server saw before it, and is
        // answered once published: concurrent changes share one transaction.
        inner.publish_change(event).map_err(unavailable)
    }

    fn events_since(&self, after: u64, limit: usize) -> Vec<Event> {
        let revision = self.inner.readable();
        self.inner.history().since(after, revision, limit)
    }

    fn events_for(&self, host: &HostName, limit: usize) -> Vec<Event> {
        let revision = self.inner.readable();
        self.inner.history().of_host(host, revision, limit)
    }

    fn last_boot(&self, host: &HostName) -> Option<Event> {
        let served = self
            .inner
            .served()
            .get(host)
            .map(|(_, event)| event.clone());
        self.inner.history().last_boot(host, served)
    }

    fn events_kept(&self) -> (usize, usize) {
        self.inner.readable();
        self.inner.history().kept()
    }

    fn status(&self) -> super::StoreStatus {
        let (buffered, dropped) = {
            let line = self.inner.line();
            (line.events.len(), line.dropped)
        };
        let revision = self.inner.revision.load(Ordering::Relaxed);
        super::StoreStatus {
            kind: "etcd",
            shared: Some(self.inner.presence.status(revision, buffered, dropped)),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::events::Who;
    use crate::store::conformance::test_etcd;

    const YAML: &str = "
hosts:
  - name: h1
    mac_addresses: ['52:54:00:c0:00:01']
tftp:
  root: tftp
configuration:
  directory: tftp/conf
";

    fn event(kind: EventKind) -> NewEvent {
        NewEvent {
            host: Some(HostName::parse("h1").unwrap()),
            ..NewEvent::new(kind, Who::Open)
        }
    }

    #[test]
    fn a_full_line_drops_its_oldest_waiting_boot_event_and_counts_it() {
        let mut line = Line::default();
        for _ in 0..BUFFERED + 3 {
            line.push(event(EventKind::Boot));
        }
        assert_eq!(line.events.len(), BUFFERED);
        assert_eq!(line.dropped, 3);
        assert_eq!(
            line.events.front().map(|(at, _)| *at),
            Some(4),
            "the oldest went"
        );

        // The events a transaction in flight holds stay (they are being published).
        line.in_flight.extend([4, 5]);
        line.push(event(EventKind::Boot));
        let front: Vec<u64> = line.events.iter().take(3).map(|(at, _)| *at).collect();
        assert_eq!(front, [4, 5, 7], "6, the oldest waiting, went");
        assert_eq!((line.events.len(), line.dropped), (BUFFERED, 4));
    }

    #[test]
    fn a_served_boot_the_full_line_drops_is_no_host_s_last_boot_any_more() {
        let (mut line, mut served) = (Line::default(), HashMap::new());
        let boot = |host: &str| NewEvent {
            host: Some(HostName::parse(host).unwrap()),
            ..NewEvent::new(EventKind::Boot, Who::Open)
        };
        let (web1, web2) = (
            HostName::parse("web1").unwrap(),
            HostName::parse("web2").unwrap(),
        );
        let first = push_served(&mut line, &mut served, boot("web1"));
        assert_eq!(served.get(&web1).map(|(_, e)| e), Some(&first));
        // A boot fetched from another machine is not counted: web1's last boot stays.
        push_served(
            &mut line,
            &mut served,
            NewEvent {
                counted: false,
                ..boot("web1")
            },
        );
        assert_eq!(served.get(&web1).map(|(_, e)| e), Some(&first));
        // web2's boots fill the line: web1's, the oldest, is dropped unpublished.
        for _ in 0..BUFFERED - 2 {
            push_served(&mut line, &mut served, boot("web2"));
        }
        assert!(
            served.contains_key(&web1),
            "the line is full, nothing dropped yet"
        );
        let last = push_served(&mut line, &mut served, boot("web2"));
        assert_eq!(line.dropped, 1);
        assert!(
            !served.contains_key(&web1),
            "web1's served boot is gone with it"
        );
        assert_eq!(served.get(&web2).map(|(_, e)| e), Some(&last));
    }

    /// How many keys etcd holds under `part` of the store's prefix, once it is at most
    /// `bound` (or after five seconds).
    fn held_within(store: &EtcdStore, part: &str, bound: usize) -> usize {
        let started = Instant::now();
        loop {
            let held = store.inner.etcd.count(&store.inner.key(part)).unwrap();
            if held <= bound || started.elapsed() > Duration::from_secs(5) {
                return held;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many boot fetches' events etcd holds, once fewer than `bound` (or after five
    /// seconds).
    fn boots_held_within(store: &EtcdStore, bound: usize) -> usize {
        let started = Instant::now();
        loop {
            let (kvs, _) = store
                .inner
                .etcd
                .range_at(&store.inner.key("events/b/"), 0)
                .unwrap();
            let held: usize = kvs
                .iter()
                .map(|kv| history::events_of(&kv.value, kv.mod_revision).len())
                .sum();
            if held < bound || started.elapsed() > Duration::from_secs(5) {
                return held;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A deploy's recording, for a host whose key is absent.
    fn new_host_deploy() -> Recording {
        Recording {
            revision: 0,
            event: event(EventKind::Deploy),
        }
    }

    /// A store over its own TFTP root (with the catalogue of `YAML`) on `etcd`'s prefix.
    fn server(etcd: &EtcdSettings) -> (tempfile::TempDir, Settings, EtcdStore) {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("tftp/conf/pxelinux");
        std::fs::create_dir_all(&conf).unwrap();
        for name in ["local", "installer"] {
            std::fs::write(conf.join(name), "DEFAULT x\n").unwrap();
        }
        let (settings, _) = Settings::from_yaml(YAML, Path::new("t.yml"), dir.path()).unwrap();
        let store = EtcdStore::open_keeping(&settings, etcd, 50).unwrap();
        (dir, settings, store)
    }

    fn configuration(name: &str) -> Configuration {
        Configuration {
            name: ConfigName::parse(name).unwrap(),
            bootloader: None,
            path: Path::new("pxelinux").join(name),
        }
    }

    #[test]
    fn a_switch_and_its_event_are_one_transaction_made_from_what_etcd_holds() {
        let Some(etcd) = test_etcd::fresh_prefix() else {
            return;
        };
        let (_a_dir, settings, a) = server(&etcd);
        let (_b_dir, _, b) = server(&etcd);
        let macs = settings.inventory.hosts()[0].mac_addresses.clone();
        let from = |before: &Entries| {
            let label = match before.pxelinux.resolve(&macs[0]) {
                super::super::Resolved::Configuration(path) => path.display().to_string(),
                _ => "nothing".to_owned(),
            };
            NewEvent {
                from: Some(label),
                ..event(EventKind::Deploy)
            }
        };
        let (_, first) = a
            .switch_recording(&macs, Some(&configuration("local")), &from)
            .unwrap();
        let first = first.unwrap();
        assert_eq!(first.from.as_deref(), Some("nothing"));
        // B at once, before its watch may have shown A's switch: its compare fails, it reads
        // etcd, and its event names what A deployed.
        let (before, second) = b
            .switch_recording(&macs, Some(&configuration("installer")), &from)
            .unwrap();
        let second = second.unwrap();
        assert_eq!(second.from.as_deref(), Some("pxelinux/local"), "{before:?}");
        assert!(first.id < second.id);
        for store in [&a, &b] {
            // A shows B's event once its watch did (within a second).
            let started = Instant::now();
            let seen = loop {
                let seen: Vec<(u64, Option<String>)> = store
                    .events_since(0, 10)
                    .into_iter()
                    .map(|e| (e.id, e.from))
                    .collect();
                if seen.len() >= 2 || started.elapsed() > Duration::from_secs(2) {
                    break seen;
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            assert_eq!(
                seen,
                [
                    (first.id, first.from.clone()),
                    (second.id, second.from.clone())
                ]
            );
        }
    }

    #[test]
    fn a_transaction_whose_condition_fails_answers_the_stale_deploy_and_makes_the_other_next() {
        let Some(etcd) = test_etcd::fresh_prefix() else {
            return;
        };
        let (_dir, _, store) = server(&etcd);
        let inner = &store.inner;
        let (fresh, changed) = (
            inner.key("entries/52:54:00:c0:00:0a"),
            inner.key("entries/52:54:00:c0:00:0b"),
        );
        // Another server wrote `changed` since this one read it (absent).
        let written = inner
            .etcd
            .transact(Vec::new(), vec![put(&changed, b"{}")], &[])
            .unwrap();
        let places = {
            let mut line = inner.line();
            [&fresh, &changed].map(|key| {
                let place = line.place();
                let write = Write {
                    key: key.clone(),
                    value: Some(b"{}".to_vec()),
                    recording: Some(new_host_deploy()),
                };
                line.writes.push_back((place, write));
                line.answers.insert(place, None);
                place
            })
        };
        // One transaction carries both and is refused: the stale deploy is answered with
        // the key as it is, the other goes again, alone, and is made.
        match inner.answer(places[1]).unwrap() {
            Answer::Stale(Some(kv), _) => {
                assert_eq!((kv.key, kv.mod_revision), (changed, written.revision))
            }
            _ => panic!("the deploy of a changed host is not answered stale"),
        }
        match inner.answer(places[0]).unwrap() {
            Answer::Recorded(revision, recorded, false) => {
                assert!(revision > written.revision);
                assert_eq!(recorded.id, event_id(revision, 0));
            }
            _ => panic!("the other deploy is not made"),
        }
        let (found, _) = inner.etcd.range(&fresh, false, 1, false).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            held_within(&store, "events/c/", 1),
            1,
            "one event, the made deploy's"
        );
    }

    #[test]
    fn a_transaction_whose_earlier_try_was_made_unconfirmed_is_that_commit_and_one_event() {
        let Some(etcd) = test_etcd::fresh_prefix() else {
            return;
        };
        let (_dir, _, store) = server(&etcd);
        let inner = &store.inner;
        let (deployed, plain) = (
            inner.key("entries/52:54:00:c0:00:0a"),
            inner.key("entries/52:54:00:c0:00:0b"),
        );
        let write = |key: &String, recording| Write {
            key: key.clone(),
            value: Some(b"{}".to_vec()),
            recording,
        };
        let mut line = inner.line();
        let batch = Batch {
            writes: vec![
                (line.place(), write(&deployed, Some(new_host_deploy()))),
                (line.place(), write(&plain, None)),
            ],
            events: Vec::new(),
            changes: inner.event_key(false, line.place()),
            deletes: Vec::new(),
        };
        drop(line);
        // The first try, made by etcd while its answer was lost (a leader lost, the call
        // sent again to another member).
        let Ok(Committed::Made {
            revision: first, ..
        }) = inner.commit(&batch)
        else {
            panic!("the first try is not made");
        };
        // The same transaction again: refused, its host having moved on, and its changes'
        // key there. The deploy is that commit; the plain switch goes again.
        match inner.commit(&batch) {
            Ok(Committed::Made {
                switched, revision, ..
            }) => {
                assert_eq!(revision, first);
                match &switched[..] {
                    [Some(Answer::Recorded(at, recorded, true)), None] => {
                        assert_eq!(*at, first);
                        assert_eq!(recorded.id, event_id(first, 0));
                    }
                    _ => panic!("the landed commit is not taken for this deploy's"),
                }
            }
            _ => panic!("the landed commit is not taken for this transaction's"),
        }
        assert_eq!(held_within(&store, "events/c/", 1), 1, "one key");
        let (kvs, _) = inner.etcd.range_at(&inner.key("events/c/"), 0).unwrap();
        let held = history::events_of(&kvs[0].value, kvs[0].mod_revision);
        assert_eq!(held.len(), 1, "one event, not two");
    }

    #[test]
    fn etcd_itself_holds_at_most_the_bound_and_a_boot_flood_pushes_no_change_out() {
        let Some(etcd) = test_etcd::fresh_prefix() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tftp/conf")).unwrap();
        let (settings, _) = Settings::from_yaml(YAML, Path::new("t.yml"), dir.path()).unwrap();
        let store = EtcdStore::open_keeping(&settings, &etcd, 5).unwrap();
        let first = store.record(event(EventKind::Deploy)).unwrap();
        store.record(event(EventKind::Undeploy)).unwrap();
        for _ in 0..300 {
            store.record(event(EventKind::Boot)).unwrap();
        }
        assert_eq!(store.events_kept(), (2, 5));
        // The boot fetches of one transaction share a key: etcd holds the bound and what
        // the oldest key kept holds besides.
        let held = boots_held_within(&store, 5 + ID_SPAN as usize);
        assert!(
            (5..5 + ID_SPAN as usize).contains(&held),
            "{held} boots past the bound"
        );
        assert_eq!(held_within(&store, "events/c/", 2), 2, "the changes stay");
        let ids: Vec<u64> = store.events_since(0, 10).iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), 7);
        assert_eq!(ids[0], first.id, "{ids:?}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }
}
