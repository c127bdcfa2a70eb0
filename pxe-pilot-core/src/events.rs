//! The event log: what was done to which host, when, by whom, from where, and how it ended.
//!
//! Every deploy, undeploy, power action, network-boot-once, self-service callback, `once`
//! fallback and boot fetch becomes an [`Event`]; operators read a host's history
//! ([`EventLog::for_host`]), follow all hosts from an id ([`EventLog::since`]), and see each
//! host's last boot ([`EventLog::last_boot`]). The server turns events into the API's
//! [`EventView`] with [`Event::view`].
//!
//! ## Where events live
//!
//! With a state folder, in `<state_dir>/events.jsonl`, one JSON object per line (see
//! [`Event`] for the format), read back by [`EventLog::open`]; without one, in memory only.
//! Queries are answered from memory, which holds the last `keep` events.
//!
//! ## Guarantees
//!
//! - **Written before the answer.** [`EventLog::record`] appends the event's line to the file
//!   (one `write` to a file opened with `O_APPEND`) before it returns: an event survives a
//!   crash or a `SIGKILL` of the server right after the answer that reports its change.
//! - **Synced within a second.** Lines are `fsync`ed in groups, by a background thread at
//!   most [`FLUSH_INTERVAL`] after the first unsynced one, or at once by [`EventLog::sync`]
//!   (and when the log is dropped): a power cut loses at most the last second of events.
//!   No record waits for the disk, so a mass reboot's boot fetches (many thousands per
//!   second, from many threads) are recorded at memory speed; the lock is held for the
//!   append only.
//! - **Crash-tolerant reading.** A line cut short by a crash, or any line that is not an
//!   event, is skipped with a warning at open, never an error: the server starts with the
//!   events that are whole. Ids go on from the highest one read, so they never repeat.
//! - **Bounded.** Memory holds the last `keep` events ([`DEFAULT_KEEP`] unless configured);
//!   when the file holds `2 × keep` lines it is rewritten to the last `keep` (written to
//!   `events.jsonl.tmp`, synced, renamed over, the folder synced: a crash leaves the old file
//!   or the new one, never a mix), off the recording path.
//! - **No secrets.** An event holds names, MAC addresses, configuration names, the peer's
//!   address and error texts. Callers never put a token, a password or a management
//!   variable in one, and error texts they record must not quote them either (the errors of
//!   this crate never do).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::api::EventView;
use crate::mac::MacAddress;
use crate::names::HostName;

/// How many events are kept when the configuration does not say.
pub const DEFAULT_KEEP: usize = 10_000;

/// The file of a state folder that holds the events.
pub const FILE_NAME: &str = "events.jsonl";

/// The name under which the file is rewritten before it is renamed over [`FILE_NAME`].
const TEMP_NAME: &str = "events.jsonl.tmp";

/// The longest time a recorded event waits for its `fsync`.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// What happened to a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A configuration was deployed to the host (`from` the old one, `to` the new one).
    Deploy,
    /// The host's entries were removed: it boots as if nothing were deployed (`from` the old
    /// configuration).
    Undeploy,
    /// A power action (`detail`: `on`, `off` or `reboot`).
    Power,
    /// The host's BMC was told to boot it from the network once (`detail`: how it went, when
    /// there is more to say).
    Netboot,
    /// A host deployed one of the self-service configurations to itself without the token
    /// (the installer's callback; `who` is `self`).
    SelfService,
    /// A `once` deployment was switched to the fallback configuration after the host's first
    /// boot fetch of it (`from` the once configuration, `to` the fallback).
    OnceFallback,
    /// A bootloader fetched a host's configuration over HTTP (`to` the configuration served,
    /// `detail` the bootloader); `host` is `None` when the MAC is no host's.
    Boot,
}

impl EventKind {
    /// Every kind, in the order of the declaration.
    pub const ALL: [EventKind; 7] = [
        EventKind::Deploy,
        EventKind::Undeploy,
        EventKind::Power,
        EventKind::Netboot,
        EventKind::SelfService,
        EventKind::OnceFallback,
        EventKind::Boot,
    ];

    /// The kind as the file and the API spell it: `deploy`, `undeploy`, `power`, `netboot`,
    /// `self_service`, `once_fallback`, `boot`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Deploy => "deploy",
            EventKind::Undeploy => "undeploy",
            EventKind::Power => "power",
            EventKind::Netboot => "netboot",
            EventKind::SelfService => "self_service",
            EventKind::OnceFallback => "once_fallback",
            EventKind::Boot => "boot",
        }
    }
}

/// Who asked for what an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    /// A request that carried the server's token (`token`).
    Token,
    /// A host, for itself, without the token: self-service (`self`).
    #[serde(rename = "self")]
    SelfService,
    /// Anyone: the server has no token, or the route needs none, as a boot fetch (`open`).
    Open,
}

impl Who {
    /// Every value, in the order of the declaration.
    pub const ALL: [Who; 3] = [Who::Token, Who::SelfService, Who::Open];

    /// The value as the file and the API spell it: `token`, `self`, `open`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Who::Token => "token",
            Who::SelfService => "self",
            Who::Open => "open",
        }
    }
}

/// `Display` of the kinds and the askers: their spelling in the file and the API.
macro_rules! display_as_spelt {
    ($($kind:ty),*) => {$(
        impl fmt::Display for $kind {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

display_as_spelt!(EventKind, Who);

/// How what an event records ended.
///
/// One text in the file and the API: `"ok"`, or the error's text prefixed with `"error: "`
/// (`Error("BMC unreachable")` is `"error: BMC unreachable"`), so each value reads back as
/// itself, `Error("ok")` included. A text of neither form (written by hand) reads as an error
/// with that text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It was done.
    Ok,
    /// It failed, for this reason (a message of the error, never a secret).
    Error(String),
}

impl Outcome {
    /// The prefix of an error's text in the file and the API.
    pub const ERROR_PREFIX: &'static str = "error: ";

    /// Reads `"ok"` or `"error: ..."` (any other text is an error with that text).
    pub fn parse(text: &str) -> Outcome {
        if text == "ok" {
            Outcome::Ok
        } else {
            Outcome::Error(
                text.strip_prefix(Self::ERROR_PREFIX)
                    .unwrap_or(text)
                    .to_owned(),
            )
        }
    }

    /// Whether it was done.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Error(text) => write!(f, "{}{text}", Self::ERROR_PREFIX),
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Outcome::parse(&text))
    }
}

/// One recorded event.
///
/// Its serde form is one line of `events.jsonl`: the fields in this order, absent ones
/// left out, `time` in RFC 3339 UTC with milliseconds (the precision events are recorded
/// with), for example
///
/// ```text
/// {"id":42,"time":"2026-11-29T11:15:29.123Z","host":"r1","mac":"52:54:00:00:00:01","kind":"boot","to":"ubuntu-24.04","who":"open","peer":"10.0.0.21","result":"ok","detail":"ipxe"}
/// ```
///
/// Unknown fields are ignored when it is read. The API shows an event as [`EventView`]
/// ([`Event::view`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Its number: increasing, never reused, also across restarts.
    pub id: u64,
    /// When it was recorded, to the millisecond.
    #[serde(with = "rfc3339")]
    pub time: SystemTime,
    /// The host concerned; `None` for a boot fetch from a MAC address of no host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostName>,
    /// The MAC address concerned, when there is one (a boot fetch's, a self-service caller's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddress>,
    /// What happened.
    pub kind: EventKind,
    /// The configuration before: a name, or a label such as `dangling:<target>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The configuration after (for a boot, the one served).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Who asked.
    pub who: Who,
    /// The address the request came from, as text, when there was a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// How it ended.
    pub result: Outcome,
    /// More about it: a boot's bootloader, a power action (`on`, `off`, `reboot`)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Event {
    /// The event as the API shows it.
    pub fn view(&self) -> EventView {
        EventView {
            id: self.id,
            time: humantime::format_rfc3339_millis(clamp(self.time)).to_string(),
            host: self.host.as_ref().map(|host| host.as_str().to_owned()),
            mac: self.mac,
            kind: self.kind.as_str().to_owned(),
            from: self.from.clone(),
            to: self.to.clone(),
            who: self.who.as_str().to_owned(),
            peer: self.peer.clone(),
            result: self.result.to_string(),
            detail: self.detail.clone(),
        }
    }
}

/// An event to record: an [`Event`] without the id and the time, which the log gives it.
///
/// Never put a secret in one (a token, a password, a management variable, an error text that
/// quotes one): events are kept on disk and shown to anyone holding the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The host concerned; `None` for a boot fetch from a MAC address of no host.
    pub host: Option<HostName>,
    /// The MAC address concerned, when there is one.
    pub mac: Option<MacAddress>,
    /// What happened.
    pub kind: EventKind,
    /// The configuration before: a name, or a label such as `dangling:<target>`.
    pub from: Option<String>,
    /// The configuration after (for a boot, the one served).
    pub to: Option<String>,
    /// Who asked.
    pub who: Who,
    /// The address the request came from, as text.
    pub peer: Option<String>,
    /// How it ended.
    pub result: Outcome,
    /// More about it: a boot's bootloader, a power action...
    pub detail: Option<String>,
}

impl NewEvent {
    /// An event of this kind, asked by `who`, that went well, with nothing else said yet:
    /// fill the rest with `NewEvent { host: Some(name), ..NewEvent::new(kind, who) }`.
    pub fn new(kind: EventKind, who: Who) -> NewEvent {
        NewEvent {
            host: None,
            mac: None,
            kind,
            from: None,
            to: None,
            who,
            peer: None,
            result: Outcome::Ok,
            detail: None,
        }
    }

    /// The event with its id and time.
    fn stamped(self, id: u64, time: SystemTime) -> Event {
        Event {
            id,
            time,
            host: self.host,
            mac: self.mac,
            kind: self.kind,
            from: self.from,
            to: self.to,
            who: self.who,
            peer: self.peer,
            result: self.result,
            detail: self.detail,
        }
    }
}

/// Why the event log could not be opened, written or synced; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// A file-system operation failed.
    #[error("cannot {action} {path}: {source}: {hint}")]
    Io {
        /// What was being done (`write events to`, `read events from`...).
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
        /// What to do about it.
        hint: &'static str,
    },
    /// The background thread that syncs the file could not be started.
    #[error("cannot start the thread that syncs the events: {0}: the system is out of threads or memory")]
    Thread(#[source] io::Error),
}

/// The hint of errors that a folder the service cannot write explains.
const HINT_ACCESS: &str = "give the service write access to state_dir";

/// The events: recorded by the server as things happen, queried from memory, kept in a file
/// of the state folder when there is one. See the [module](self) for the guarantees.
///
/// Share it between threads behind an `Arc` (every method takes `&self`). Dropping it syncs
/// the file and stops its background thread.
pub struct EventLog {
    inner: Arc<Inner>,
    flusher: Option<JoinHandle<()>>,
}

/// What the log's users and its flush thread share.
struct Inner {
    /// At most this many events are kept in memory (at least 1).
    keep: usize,
    /// The file's paths; `None` for a log in memory only.
    files: Option<Files>,
    /// The events and the file's handle; held for an append, never for an `fsync`.
    state: Mutex<State>,
    /// Taken by syncs and rewrites, so that one runs at a time.
    maintenance: Mutex<()>,
    /// Lines were written since the last `fsync` began.
    dirty: AtomicBool,
    /// What the flush thread is asked to do.
    signal: Mutex<Signal>,
    /// Wakes the flush thread.
    wake: Condvar,
}

struct Files {
    dir: PathBuf,
    path: PathBuf,
    temporary: PathBuf,
}

struct State {
    /// The id of the next event.
    next_id: u64,
    /// The last `keep` events, oldest first (ids increasing).
    events: VecDeque<Kept>,
    /// Each host's newest `boot` event; one older than the oldest of `events` is forgotten
    /// (the entry stays until the host boots again: at most one per host).
    last_boot: HashMap<HostName, Arc<Event>>,
    /// The file, opened for appending.
    file: Option<Arc<File>>,
    /// The file's length as this log wrote it (a failed append is cut back to it).
    len: u64,
    /// The file's lines, whole or not.
    lines: usize,
    /// When `lines` reaches this, the file is rewritten.
    rewrite_at: usize,
    /// The flush thread was asked to rewrite the file.
    rewrite_asked: bool,
    /// The file does not end with a line break: write one before the next line.
    needs_newline: bool,
    /// The line being written, kept to spare an allocation per event.
    line: Vec<u8>,
}

/// An event as memory keeps it: its id and its line of the file (JSON), read back when a
/// query returns it. Less than half the memory of an [`Event`] and its strings: 10,000 events
/// take about 2 MB.
struct Kept {
    id: u64,
    line: Box<str>,
}

impl Kept {
    /// `event` and its `line` (as [`encode`] wrote it, line breaks around it allowed).
    fn new(event: &Event, line: &[u8]) -> Kept {
        let line = String::from_utf8_lossy(line.trim_ascii());
        Kept {
            id: event.id,
            line: line.into(),
        }
    }
}

/// The event of a kept line (`None` cannot happen: the line is one this log wrote).
fn decode(line: &str) -> Option<Event> {
    serde_json::from_str(line).ok()
}

#[derive(Default)]
struct Signal {
    /// Lines wait for their `fsync`.
    sync: bool,
    /// The file has reached the size at which it is rewritten.
    rewrite: bool,
    /// The log is being dropped: sync one last time and stop.
    stop: bool,
}

impl EventLog {
    /// Opens the log of `state_dir` (its `events.jsonl`, created with the folder when
    /// missing), reading the events it holds; without a folder, a log in memory only.
    ///
    /// Keeps the last `keep` events ([`DEFAULT_KEEP`] is the usual value; 0 counts as 1).
    /// Lines that are not events (a last line cut short by a crash, a line edited by hand)
    /// are skipped with a warning. Fails only when the folder or the file cannot be read or
    /// written, with a message that says what to do.
    pub fn open(state_dir: Option<&Path>, keep: usize) -> Result<EventLog, EventError> {
        let keep = keep.max(1);
        let mut state = State {
            next_id: 1,
            events: VecDeque::with_capacity(keep.min(DEFAULT_KEEP)),
            last_boot: HashMap::new(),
            file: None,
            len: 0,
            lines: 0,
            rewrite_at: 2 * keep,
            rewrite_asked: false,
            needs_newline: false,
            line: Vec::with_capacity(256),
        };
        let files = match state_dir {
            None => None,
            Some(dir) => {
                let files = Files {
                    dir: dir.to_owned(),
                    path: dir.join(FILE_NAME),
                    temporary: dir.join(TEMP_NAME),
                };
                load(&files, keep, &mut state)?;
                Some(files)
            }
        };
        let rewrite_now = state.lines >= state.rewrite_at;
        let inner = Arc::new(Inner {
            keep,
            files,
            state: Mutex::new(state),
            maintenance: Mutex::new(()),
            dirty: AtomicBool::new(false),
            signal: Mutex::new(Signal {
                rewrite: rewrite_now,
                ..Signal::default()
            }),
            wake: Condvar::new(),
        });
        let flusher = match inner.files {
            None => None,
            Some(_) => {
                let shared = Arc::clone(&inner);
                let handle = std::thread::Builder::new()
                    .name("pxe-pilot-events".into())
                    .spawn(move || flush_loop(&shared))
                    .map_err(EventError::Thread)?;
                Some(handle)
            }
        };
        Ok(EventLog { inner, flusher })
    }

    /// Records an event: gives it the next id and the current time, writes its line to the
    /// file before returning (see the [module](self) for what that guarantees), and keeps it
    /// in memory. On an error nothing is recorded and the id is not used.
    pub fn record(&self, new: NewEvent) -> Result<Event, EventError> {
        let inner = &*self.inner;
        let mut state = inner.lock_state();
        let event = new.stamped(state.next_id, now());
        let mut line = std::mem::take(&mut state.line);
        let encoded = encode(&mut line, &event, state.needs_newline);
        let mut wrote = false;
        if let (Some(files), Some(file)) = (&inner.files, state.file.clone()) {
            let written = encoded.and_then(|()| (&*file).write_all(&line));
            if let Err(source) = written {
                // Cut what part of the line was written, so that the next line starts whole.
                if file.set_len(state.len).is_err() {
                    state.needs_newline = true;
                }
                state.line = line;
                return Err(files.write_error(source));
            }
            state.len += line.len() as u64;
            state.lines += 1;
            state.needs_newline = false;
            wrote = true;
        }
        state.next_id += 1;
        let kept = Kept::new(&event, &line);
        state.line = line;
        let event = Arc::new(event);
        state.push(kept, &event, inner.keep);
        let rewrite = wrote && !state.rewrite_asked && state.lines >= state.rewrite_at;
        if rewrite {
            state.rewrite_asked = true;
        }
        drop(state);
        if wrote {
            let first = !inner.dirty.swap(true, Ordering::AcqRel);
            if first || rewrite {
                let mut signal = inner.lock_signal();
                signal.sync |= first;
                signal.rewrite |= rewrite;
                inner.wake.notify_one();
            }
        }
        Ok(Arc::unwrap_or_clone(event))
    }

    /// Makes every event recorded before the call durable (`fsync`), and rewrites the file
    /// first if it is due. Not needed for correctness: a background thread does it within
    /// [`FLUSH_INTERVAL`]; for a log in memory only it does nothing.
    pub fn sync(&self) -> Result<(), EventError> {
        self.inner.sync_now()
    }

    /// The newest events of `host`, newest first, at most `limit`.
    pub fn for_host(&self, host: &HostName, limit: usize) -> Vec<Event> {
        // A line of the host holds its name as JSON writes it: the lines without it are
        // skipped unread, the others read and checked. The lines are copied under the lock
        // and read outside it: recording never waits for a query's decoding.
        let Ok(name) = serde_json::to_string(host) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut start = u64::MAX;
        while found.len() < limit {
            let lines: Vec<(u64, Box<str>)> = {
                let state = self.inner.lock_state();
                let end = state.events.partition_point(|kept| kept.id < start);
                let older = state.events.range(..end).rev();
                let mine = older.filter(|kept| kept.line.contains(&name));
                let lines = mine.take(limit - found.len());
                lines.map(|kept| (kept.id, kept.line.clone())).collect()
            };
            let Some(&(oldest, _)) = lines.last() else {
                break;
            };
            let events = lines.iter().filter_map(|(_, line)| decode(line));
            found.extend(events.filter(|event| event.host.as_ref() == Some(host)));
            start = oldest;
        }
        found
    }

    /// The events after the one numbered `id` (all kept events for 0), oldest first, at most
    /// `limit`: a reader that passes the last id it saw gets each event once.
    pub fn since(&self, id: u64, limit: usize) -> Vec<Event> {
        let lines: Vec<Box<str>> = {
            let state = self.inner.lock_state();
            let start = state.events.partition_point(|kept| kept.id <= id);
            let newer = state.events.range(start..).take(limit);
            newer.map(|kept| kept.line.clone()).collect()
        };
        lines.iter().filter_map(|line| decode(line)).collect()
    }

    /// The newest `boot` event of `host` among the kept events, if any.
    pub fn last_boot(&self, host: &HostName) -> Option<Event> {
        let found = {
            let state = self.inner.lock_state();
            let oldest = state.events.front().map_or(u64::MAX, |kept| kept.id);
            let last = state.last_boot.get(host).filter(|event| event.id >= oldest);
            last.cloned()
        };
        found.map(Arc::unwrap_or_clone)
    }

    /// The file the events are kept in; `None` for a log in memory only.
    pub fn path(&self) -> Option<&Path> {
        self.inner.files.as_ref().map(|files| files.path.as_path())
    }
}

impl fmt::Debug for EventLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLog")
            .field("path", &self.path())
            .field("keep", &self.inner.keep)
            .finish_non_exhaustive()
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        if let Some(flusher) = self.flusher.take() {
            self.inner.lock_signal().stop = true;
            self.inner.wake.notify_one();
            let _ = flusher.join();
        }
    }
}

impl State {
    /// Keeps `event` (the newest, as `kept`) in memory, forgetting the oldest beyond `keep`.
    fn push(&mut self, kept: Kept, event: &Arc<Event>, keep: usize) {
        if event.kind == EventKind::Boot {
            if let Some(host) = &event.host {
                match self.last_boot.get_mut(host) {
                    Some(last) => *last = Arc::clone(event),
                    None => {
                        self.last_boot.insert(host.clone(), Arc::clone(event));
                    }
                }
            }
        }
        self.events.push_back(kept);
        while self.events.len() > keep {
            self.events.pop_front();
        }
    }
}

impl Inner {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_signal(&self) -> MutexGuard<'_, Signal> {
        self.signal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Rewrites the file if it is due, then `fsync`s what was written since the last sync.
    fn sync_now(&self) -> Result<(), EventError> {
        let Some(files) = &self.files else {
            return Ok(());
        };
        let _one_at_a_time = self
            .maintenance
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let due = {
            let state = self.lock_state();
            state.lines >= state.rewrite_at
        };
        if due {
            self.rewrite(files)?;
        }
        if self.dirty.swap(false, Ordering::AcqRel) {
            let file = self.lock_state().file.clone();
            if let Some(file) = file {
                if let Err(source) = file.sync_data() {
                    self.dirty.store(true, Ordering::Release);
                    return Err(files.error(
                        "sync events to",
                        &files.path,
                        source,
                        "check the disk: the events are written but may not survive a power cut",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Rewrites the file to the kept events: a temporary file written and synced without
    /// the lock, completed with the events recorded meanwhile and renamed over the file
    /// under the lock (so no event is lost between the two), then the folder synced.
    fn rewrite(&self, files: &Files) -> Result<(), EventError> {
        let snapshot: Vec<(u64, Box<str>)> = self
            .lock_state()
            .events
            .iter()
            .map(|kept| (kept.id, kept.line.clone()))
            .collect();
        let result = self.write_rewrite(files, &snapshot);
        let mut state = self.lock_state();
        state.rewrite_asked = false;
        match result {
            Ok(()) => {
                state.rewrite_at = 2 * self.keep;
                drop(state);
                fs::File::open(&files.dir)
                    .and_then(|dir| dir.sync_all())
                    .map_err(|source| {
                        files.error("sync the folder", &files.dir, source, "check the disk")
                    })
            }
            Err(e) => {
                // Try again after `keep` more lines rather than at each one.
                state.rewrite_at = state.lines + self.keep;
                drop(state);
                let _ = fs::remove_file(&files.temporary);
                Err(e)
            }
        }
    }

    fn write_rewrite(&self, files: &Files, snapshot: &[(u64, Box<str>)]) -> Result<(), EventError> {
        let temp_error = |source| {
            files.error(
                "rewrite the events to",
                &files.temporary,
                source,
                "give the service write access to state_dir and free space on its disk",
            )
        };
        let _ = fs::remove_file(&files.temporary);
        let temporary = Arc::new(open_append(&files.temporary, true).map_err(temp_error)?);
        let mut len = 0u64;
        let mut writer = BufWriter::with_capacity(1 << 16, &*temporary);
        for (_, line) in snapshot {
            writer.write_all(line.as_bytes()).map_err(temp_error)?;
            writer.write_all(b"\n").map_err(temp_error)?;
            len += line.len() as u64 + 1;
        }
        writer.flush().map_err(temp_error)?;
        drop(writer);
        temporary.sync_data().map_err(temp_error)?;
        let last = snapshot.last().map_or(0, |(id, _)| *id);

        let mut state = self.lock_state();
        let start = state.events.partition_point(|kept| kept.id <= last);
        let mut newer = 0;
        let mut writer = BufWriter::new(&*temporary);
        for kept in state.events.range(start..) {
            writer.write_all(kept.line.as_bytes()).map_err(temp_error)?;
            writer.write_all(b"\n").map_err(temp_error)?;
            len += kept.line.len() as u64 + 1;
            newer += 1;
        }
        writer.flush().map_err(temp_error)?;
        drop(writer);
        fs::rename(&files.temporary, &files.path).map_err(temp_error)?;
        state.file = Some(temporary);
        state.len = len;
        state.lines = snapshot.len() + newer;
        state.needs_newline = false;
        if newer > 0 {
            // Written to the new file after its sync.
            self.dirty.store(true, Ordering::Release);
        }
        Ok(())
    }
}

impl Files {
    fn error(
        &self,
        action: &'static str,
        path: &Path,
        source: io::Error,
        hint: &'static str,
    ) -> EventError {
        EventError::Io {
            action,
            path: path.to_owned(),
            source,
            hint,
        }
    }

    fn write_error(&self, source: io::Error) -> EventError {
        let hint = if source.kind() == io::ErrorKind::PermissionDenied {
            HINT_ACCESS
        } else {
            "free space on its disk, or give the service write access to state_dir"
        };
        self.error("write events to", &self.path, source, hint)
    }
}

/// The flush thread: syncs at most [`FLUSH_INTERVAL`] after the first unsynced line,
/// rewrites the file when asked, and syncs one last time when the log is dropped.
fn flush_loop(inner: &Inner) {
    loop {
        let stop = {
            let mut signal = inner.lock_signal();
            while !signal.sync && !signal.rewrite && !signal.stop {
                signal = inner
                    .wake
                    .wait(signal)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            // Let the lines of the next second join this sync.
            let deadline = Instant::now() + FLUSH_INTERVAL;
            while !signal.rewrite && !signal.stop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                signal = inner
                    .wake
                    .wait_timeout(signal, left)
                    .map_or_else(|poisoned| poisoned.into_inner().0, |(signal, _)| signal);
            }
            signal.sync = false;
            signal.rewrite = false;
            signal.stop
        };
        if let Err(error) = inner.sync_now() {
            tracing::warn!(%error, "events not synced");
        }
        if stop {
            return;
        }
    }
}

/// Opens (creating it if `create`) a file for appending, and reading.
fn open_append(path: &Path, create: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(create)
        .open(path)
}

/// Opens the file of `files`, reads its events into `state` and checks that the folder can
/// be written (for the rewrites).
fn load(files: &Files, keep: usize, state: &mut State) -> Result<(), EventError> {
    fs::create_dir_all(&files.dir).map_err(|source| {
        files.error(
            "create the events folder",
            &files.dir,
            source,
            "create it, or give the service write access to its parent (state_dir)",
        )
    })?;
    let file = open_append(&files.path, true)
        .map_err(|source| files.error("write events to", &files.path, source, HINT_ACCESS))?;
    // What a rewrite cut short by a crash left; it also proves the folder can be written.
    let _ = fs::remove_file(&files.temporary);
    File::create(&files.temporary)
        .and_then(|_| fs::remove_file(&files.temporary))
        .map_err(|source| files.error("write events to", &files.temporary, source, HINT_ACCESS))?;

    let read_error = |source| {
        files.error(
            "read events from",
            &files.path,
            source,
            "check the file, or move it aside to start a new log",
        )
    };
    let mut reader = BufReader::with_capacity(1 << 16, &file);
    let mut line = Vec::with_capacity(256);
    let mut number = 0usize;
    let mut len = 0u64;
    let mut highest = 0u64;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(read_error)?;
        if read == 0 {
            break;
        }
        number += 1;
        let whole = line.last() == Some(&b'\n');
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.iter().all(u8::is_ascii_whitespace) {
            len += read as u64;
            state.needs_newline = !whole;
            continue;
        }
        match serde_json::from_slice::<Event>(text) {
            Ok(event) if event.id > highest => {
                highest = event.id;
                // Kept as this log writes it (a line edited by hand may differ in form).
                let mut written = Vec::with_capacity(text.len());
                serde_json::to_writer(&mut written, &event).map_err(|e| read_error(e.into()))?;
                state.push(Kept::new(&event, &written), &Arc::new(event), keep);
            }
            Ok(event) => tracing::warn!(
                path = %files.path.display(),
                line = number,
                "event {} skipped: its id is not above the one before ({highest})",
                event.id
            ),
            Err(error) if !whole => {
                // A write cut short by a crash: its event was never reported. Cut it off, so
                // that the next line starts whole.
                tracing::warn!(
                    path = %files.path.display(),
                    line = number,
                    %error,
                    "last line skipped: it was cut short (the server stopped while writing it)"
                );
                if file.set_len(len).is_ok() {
                    break;
                }
            }
            Err(error) => tracing::warn!(
                path = %files.path.display(),
                line = number,
                %error,
                "line skipped: it is not an event"
            ),
        }
        len += read as u64;
        state.lines += 1;
        state.needs_newline = !whole;
    }
    state.next_id = highest.saturating_add(1);
    state.len = len;
    state.file = Some(Arc::new(file));
    // Make the file's name durable if it was just created.
    let _ = File::open(&files.dir).and_then(|dir| dir.sync_all());
    Ok(())
}

/// Writes `event`'s line (with its line break) into `line`, after a line break first when
/// the file does not end with one.
fn encode(line: &mut Vec<u8>, event: &Event, newline_first: bool) -> io::Result<()> {
    line.clear();
    if newline_first {
        line.push(b'\n');
    }
    serde_json::to_writer(&mut *line, event).map_err(io::Error::other)?;
    line.push(b'\n');
    Ok(())
}

/// The latest time RFC 3339 can write (9999-12-31T23:59:59.999Z).
const LATEST: Duration = Duration::from_millis(253_402_300_799_999);

/// `time` within what RFC 3339 can write (1970 to 9999).
fn clamp(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) if since <= LATEST => time,
        Ok(_) => UNIX_EPOCH + LATEST,
        Err(_) => UNIX_EPOCH,
    }
}

/// Now, to the millisecond (what the file keeps, so an event reads back equal).
fn now() -> SystemTime {
    let since = clamp(SystemTime::now())
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    UNIX_EPOCH + Duration::new(since.as_secs(), since.subsec_millis() * 1_000_000)
}

/// The serde form of a time: RFC 3339, UTC, milliseconds.
mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        time: &SystemTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_rfc3339_millis(super::clamp(*time)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str) -> HostName {
        HostName::parse(name).unwrap()
    }

    fn deploy(name: &str, to: &str) -> NewEvent {
        NewEvent {
            host: Some(host(name)),
            from: Some("local".into()),
            to: Some(to.into()),
            peer: Some("10.0.0.1".into()),
            ..NewEvent::new(EventKind::Deploy, Who::Token)
        }
    }

    fn boot(name: Option<&str>, to: &str) -> NewEvent {
        NewEvent {
            host: name.map(host),
            mac: Some(MacAddress::parse("52:54:00:00:00:01").unwrap()),
            to: Some(to.into()),
            detail: Some("ipxe".into()),
            ..NewEvent::new(EventKind::Boot, Who::Open)
        }
    }

    fn file_lines(dir: &Path) -> Vec<String> {
        fs::read_to_string(dir.join(FILE_NAME))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn ids(events: &[Event]) -> Vec<u64> {
        events.iter().map(|event| event.id).collect()
    }

    #[test]
    fn ids_increase_and_go_on_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        let first = log.record(deploy("h1", "ubuntu")).unwrap();
        let second = log.record(boot(Some("h1"), "ubuntu")).unwrap();
        assert_eq!((first.id, second.id), (1, 2));
        assert!(first.time <= second.time);
        drop(log);

        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        assert_eq!(log.since(0, 10), vec![first.clone(), second]);
        assert_eq!(log.record(deploy("h2", "local")).unwrap().id, 3);
        // A line is written before `record` returns, synced or not.
        assert_eq!(file_lines(dir.path()).len(), 3);
        let read: Event = serde_json::from_str(&file_lines(dir.path())[0]).unwrap();
        assert_eq!(read, first);
    }

    #[test]
    fn a_line_is_the_documented_format() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        let mut event = log
            .record(NewEvent {
                peer: Some("10.0.0.21".into()),
                ..boot(Some("r1"), "ubuntu-24.04")
            })
            .unwrap();
        event.time = humantime::parse_rfc3339("2026-11-29T11:15:29.123Z").unwrap();
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"id":1,"time":"2026-11-29T11:15:29.123Z","host":"r1","mac":"52:54:00:00:00:01","kind":"boot","to":"ubuntu-24.04","who":"open","peer":"10.0.0.21","result":"ok","detail":"ipxe"}"#
        );
        let line = &file_lines(dir.path())[0];
        assert!(line.starts_with(r#"{"id":1,"time":""#), "{line}");
        assert!(line.ends_with(r#"Z","host":"r1","mac":"52:54:00:00:00:01","kind":"boot","to":"ubuntu-24.04","who":"open","peer":"10.0.0.21","result":"ok","detail":"ipxe"}"#), "{line}");
    }

    #[test]
    fn every_kind_who_and_outcome_reads_back() {
        for kind in EventKind::ALL {
            for who in Who::ALL {
                for result in [
                    Outcome::Ok,
                    Outcome::Error("BMC unreachable".into()),
                    Outcome::Error("ok".into()),
                    Outcome::Error(String::new()),
                ] {
                    let time = UNIX_EPOCH + Duration::from_millis(1_790_000_000_123);
                    let event = NewEvent {
                        result,
                        ..NewEvent::new(kind, who)
                    }
                    .stamped(7, time);
                    let line = serde_json::to_string(&event).unwrap();
                    assert!(line.contains(&format!(r#""kind":"{kind}""#)), "{line}");
                    assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), event);
                }
            }
        }
        assert_eq!(
            serde_json::to_string(&EventKind::SelfService).unwrap(),
            r#""self_service""#
        );
        assert_eq!(
            serde_json::to_string(&EventKind::OnceFallback).unwrap(),
            r#""once_fallback""#
        );
        assert_eq!(
            serde_json::to_string(&Who::SelfService).unwrap(),
            r#""self""#
        );
        assert_eq!(
            Outcome::parse("disk on fire"),
            Outcome::Error("disk on fire".into())
        );
    }

    #[test]
    fn the_view_is_the_api_s_json() {
        let event = Event {
            id: 3,
            time: humantime::parse_rfc3339("2026-11-29T11:15:29.123Z").unwrap(),
            host: None,
            mac: Some(MacAddress::parse("52-54-00-00-00-02").unwrap()),
            kind: EventKind::Power,
            from: None,
            to: None,
            who: Who::Token,
            peer: Some("192.0.2.7".into()),
            result: Outcome::Error("BMC unreachable".into()),
            detail: Some("reboot".into()),
        };
        assert_eq!(
            serde_json::to_value(event.view()).unwrap(),
            serde_json::json!({
                "id": 3,
                "time": "2026-11-29T11:15:29.123Z",
                "host": null,
                "mac": "52:54:00:00:00:02",
                "kind": "power",
                "who": "token",
                "peer": "192.0.2.7",
                "result": "error: BMC unreachable",
                "detail": "reboot",
            })
        );
        // Times RFC 3339 cannot write are shown at its bounds, never a panic.
        let early = Event {
            time: UNIX_EPOCH - Duration::from_secs(5),
            ..event.clone()
        };
        assert_eq!(early.view().time, "1970-01-01T00:00:00.000Z");
        let late = Event {
            time: UNIX_EPOCH + Duration::from_secs(400_000_000_000),
            ..event
        };
        assert_eq!(late.view().time, "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn for_host_is_newest_first_with_a_limit() {
        let log = EventLog::open(None, DEFAULT_KEEP).unwrap();
        for i in 0..10 {
            log.record(deploy("h1", &format!("c{i}"))).unwrap();
            log.record(deploy("h2", &format!("c{i}"))).unwrap();
        }
        let h1 = log.for_host(&host("h1"), 3);
        assert_eq!(ids(&h1), vec![19, 17, 15]);
        assert!(h1.iter().all(|event| event.host == Some(host("h1"))));
        assert_eq!(h1[0].to.as_deref(), Some("c9"));
        assert_eq!(log.for_host(&host("h2"), 100).len(), 10);
        assert!(log.for_host(&host("h3"), 100).is_empty());
        assert!(log.for_host(&host("h1"), 0).is_empty());
    }

    #[test]
    fn for_host_skips_other_hosts_that_name_it() {
        // Host `local` also names a configuration and a host named by a quote; the lines
        // that only mention the name are read but not returned.
        let log = EventLog::open(None, DEFAULT_KEEP).unwrap();
        log.record(deploy("local", "rescue")).unwrap();
        for _ in 0..5 {
            log.record(deploy("h1", "local")).unwrap();
        }
        log.record(deploy("a\"b", "local")).unwrap();
        assert_eq!(ids(&log.for_host(&host("local"), 1)), vec![1]);
        assert_eq!(ids(&log.for_host(&host("a\"b"), 10)), vec![7]);
        assert!(log.for_host(&host("rescue"), 10).is_empty());
    }

    #[test]
    fn since_is_oldest_first_after_the_id() {
        let log = EventLog::open(None, DEFAULT_KEEP).unwrap();
        for i in 0..10 {
            log.record(deploy(&format!("h{i}"), "local")).unwrap();
        }
        assert_eq!(ids(&log.since(0, 3)), vec![1, 2, 3]);
        assert_eq!(ids(&log.since(7, 100)), vec![8, 9, 10]);
        assert!(log.since(10, 100).is_empty());
        assert!(log.since(u64::MAX, 100).is_empty());
    }

    #[test]
    fn last_boot_is_the_newest_boot_of_the_host() {
        let log = EventLog::open(None, 5).unwrap();
        assert_eq!(log.last_boot(&host("h1")), None);
        log.record(boot(Some("h1"), "ubuntu")).unwrap();
        let newest = log.record(boot(Some("h1"), "local")).unwrap();
        log.record(deploy("h1", "rescue")).unwrap();
        log.record(boot(None, "unknown")).unwrap();
        log.record(boot(Some("h2"), "local")).unwrap();
        assert_eq!(log.last_boot(&host("h1")), Some(newest));
        assert_eq!(log.last_boot(&host("h2")).map(|e| e.id), Some(5));
        // Once h1's boots are older than the last 5 events, it has none.
        for _ in 0..4 {
            log.record(deploy("h2", "local")).unwrap();
        }
        assert_eq!(log.last_boot(&host("h1")), None);
        assert_eq!(log.last_boot(&host("h2")).map(|e| e.id), Some(5));
    }

    #[test]
    fn memory_and_file_stay_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let keep = 10;
        let log = EventLog::open(Some(dir.path()), keep).unwrap();
        for _ in 0..2 * keep - 1 {
            log.record(deploy("h1", "local")).unwrap();
        }
        log.sync().unwrap();
        assert_eq!(file_lines(dir.path()).len(), 2 * keep - 1);
        assert_eq!(log.since(0, 100).len(), keep);

        // The line that makes 2 x keep has the file rewritten to the last `keep`.
        log.record(deploy("h1", "local")).unwrap();
        log.sync().unwrap();
        let lines = file_lines(dir.path());
        assert_eq!(lines.len(), keep);
        let first: Event = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first.id, 11);
        assert!(!dir.path().join(TEMP_NAME).exists());

        for _ in 0..10 * keep {
            log.record(deploy("h1", "local")).unwrap();
            log.sync().unwrap();
            assert!(file_lines(dir.path()).len() < 2 * keep);
        }
        assert_eq!(ids(&log.since(0, 100)), (111..=120).collect::<Vec<_>>());
        drop(log);

        let log = EventLog::open(Some(dir.path()), keep).unwrap();
        assert_eq!(ids(&log.since(0, 100)), (111..=120).collect::<Vec<_>>());
        assert_eq!(log.record(deploy("h1", "local")).unwrap().id, 121);
    }

    #[test]
    fn a_smaller_keep_at_open_rewrites_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(Some(dir.path()), 100).unwrap();
        for _ in 0..50 {
            log.record(deploy("h1", "local")).unwrap();
        }
        drop(log);
        let log = EventLog::open(Some(dir.path()), 10).unwrap();
        assert_eq!(ids(&log.since(0, 100)), (41..=50).collect::<Vec<_>>());
        log.sync().unwrap();
        assert_eq!(file_lines(dir.path()).len(), 10);
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_ids_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        for i in 0..5 {
            log.record(deploy("h1", &format!("c{i}"))).unwrap();
        }
        drop(log);
        // A crash in the middle of the sixth write.
        let full = fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        let sixth = full
            .lines()
            .last()
            .unwrap()
            .replace(r#""id":5"#, r#""id":6"#);
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.path().join(FILE_NAME))
            .unwrap();
        file.write_all(&sixth.as_bytes()[..sixth.len() / 2])
            .unwrap();
        drop(file);

        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        assert_eq!(ids(&log.since(0, 100)), vec![1, 2, 3, 4, 5]);
        assert_eq!(log.record(deploy("h1", "local")).unwrap().id, 6);
        drop(log);
        let lines = file_lines(dir.path());
        assert_eq!(lines.len(), 6);
        for line in &lines {
            serde_json::from_str::<Event>(line).unwrap();
        }
    }

    #[test]
    fn lines_that_are_not_events_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        log.record(deploy("h1", "local")).unwrap();
        drop(log);
        let path = dir.path().join(FILE_NAME);
        let mut text = fs::read(&path).unwrap();
        let first_line = text.clone();
        // Not JSON, blank, an unknown kind, not UTF-8, and the first event again (its id is
        // not above the one before): all skipped.
        text.extend_from_slice(b"not json\n\n{\"id\":9,\"kind\":\"unknown\"}\n\xff\xfe\n");
        text.extend_from_slice(&first_line);
        fs::write(&path, &text).unwrap();
        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        assert_eq!(ids(&log.since(0, 100)), vec![1]);
        assert_eq!(log.record(deploy("h1", "local")).unwrap().id, 2);
        drop(log);

        // A whole last line without its line break is kept, and the next one starts anew.
        let mut text = fs::read(&path).unwrap();
        assert_eq!(text.pop(), Some(b'\n'));
        fs::write(&path, &text).unwrap();
        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        assert_eq!(ids(&log.since(0, 100)), vec![1, 2]);
        assert_eq!(log.record(deploy("h1", "local")).unwrap().id, 3);
        drop(log);
        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        assert_eq!(ids(&log.since(0, 100)), vec![1, 2, 3]);
    }

    #[test]
    fn eight_threads_record_every_event_once() {
        let dir = tempfile::tempdir().unwrap();
        let (threads, each) = (8, 5_000);
        let log = EventLog::open(Some(dir.path()), threads * each).unwrap();
        std::thread::scope(|scope| {
            for t in 0..threads {
                let log = &log;
                scope.spawn(move || {
                    let name = format!("h{t}");
                    for _ in 0..each {
                        log.record(boot(Some(&name), "local")).unwrap();
                    }
                });
            }
        });
        let all = log.since(0, usize::MAX);
        let expected: Vec<u64> = (1..=(threads * each) as u64).collect();
        assert_eq!(ids(&all), expected);
        for t in 0..threads {
            let name = host(&format!("h{t}"));
            assert_eq!(log.for_host(&name, usize::MAX).len(), each);
            let newest = log.for_host(&name, 1).pop();
            assert_eq!(log.last_boot(&name), newest);
        }
        drop(log);
        assert_eq!(file_lines(dir.path()).len(), threads * each);
        let log = EventLog::open(Some(dir.path()), threads * each).unwrap();
        assert_eq!(log.since(0, usize::MAX), all);
    }

    #[test]
    fn a_log_in_memory_only_works() {
        let log = EventLog::open(None, 3).unwrap();
        assert_eq!(log.path(), None);
        for i in 1..=5 {
            assert_eq!(log.record(deploy("h1", "local")).unwrap().id, i);
        }
        assert_eq!(ids(&log.since(0, 10)), vec![3, 4, 5]);
        assert_eq!(ids(&log.for_host(&host("h1"), 10)), vec![5, 4, 3]);
        log.sync().unwrap();
    }

    #[test]
    fn a_folder_that_cannot_be_written_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let error = EventLog::open(Some(&file.join("state")), DEFAULT_KEEP)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!(
                "cannot create the events folder {}/state: ",
                file.display()
            )),
            "{error}"
        );
        assert!(
            error.ends_with("give the service write access to its parent (state_dir)"),
            "{error}"
        );

        // Permissions say nothing to root: only another user sees them refuse.
        if !rustix::process::geteuid().is_root() {
            use std::os::unix::fs::PermissionsExt;
            let locked = dir.path().join("locked");
            fs::create_dir(&locked).unwrap();
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
            let error = EventLog::open(Some(&locked), DEFAULT_KEEP)
                .unwrap_err()
                .to_string();
            assert_eq!(
                error,
                format!(
                    "cannot write events to {}/events.jsonl: Permission denied (os error 13): \
                     give the service write access to state_dir",
                    locked.display()
                )
            );
        }
    }
}
