//! [`EventLog`]: the two classes of events (changes, boot fetches), each a [`Ring`] in
//! memory and, with a state folder, a [`Journal`] on disk, under one lock and one sequence of
//! ids; a background thread syncs and rewrites the files. See the [module](super) for the
//! guarantees.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use super::journal::{Journal, Paths};
use super::memory::{decode, Kept, Ring};
use super::{now, Event, EventError, NewEvent, BOOTS_FILE_NAME, FILE_NAME, FLUSH_INTERVAL, MAX_ID};
use crate::names::HostName;

/// The changes' index in [`State::parts`].
const CHANGES: usize = 0;
/// The boot fetches' index in [`State::parts`].
const BOOTS: usize = 1;

/// The events: recorded by the server as things happen, queried from memory, kept in two
/// files of the state folder when there is one. See the `events` module (`events/mod.rs`) for the guarantees.
///
/// Share it between threads behind an `Arc` (every method takes `&self`). Dropping it syncs
/// the files and stops its background thread.
pub struct EventLog {
    inner: Arc<Inner>,
    flusher: Option<JoinHandle<()>>,
}

/// What the log's users and its flush thread share.
struct Inner {
    /// The events and the files' handles; held for an append, never for an `fsync`.
    state: Mutex<State>,
    /// Taken by syncs and rewrites, so that one runs at a time.
    maintenance: Mutex<()>,
    /// Per class: lines were written since the last `fsync` began.
    dirty: [AtomicBool; 2],
    /// What the flush thread is asked to do.
    signal: Mutex<Signal>,
    /// Wakes the flush thread.
    wake: Condvar,
    /// The changes' file, for [`EventLog::path`].
    path: Option<std::path::PathBuf>,
}

struct State {
    /// The id of the next event.
    next_id: u64,
    /// Changes, then boot fetches.
    parts: [Part; 2],
    /// The line being written, kept to spare an allocation per event.
    line: Vec<u8>,
}

/// One class: its events in memory, and its file.
struct Part {
    ring: Ring,
    journal: Option<Journal>,
}

#[derive(Default)]
struct Signal {
    /// Lines wait for their `fsync`.
    sync: bool,
    /// A file has reached the size at which it is rewritten.
    rewrite: bool,
    /// The log is being dropped: sync one last time and stop.
    stop: bool,
}

fn class(event: &Event) -> usize {
    if event.kind.is_boot() {
        BOOTS
    } else {
        CHANGES
    }
}

impl EventLog {
    /// Opens the log of `state_dir` (its `events.jsonl` and `boots.jsonl`, created with the
    /// folder when missing), reading the events they hold; without a folder, a log in memory
    /// only.
    ///
    /// Keeps the last `keep` events of each class (`DEFAULT_KEEP` is the usual
    /// value; 0 counts as 1). Lines that are not events (a last line cut short by a crash, a
    /// line edited by hand) are skipped with a warning, lines with a corrupt id are cut.
    /// Fails only when the folder or a file cannot be read or written, with a message that
    /// says what to do.
    pub fn open(state_dir: Option<&Path>, keep: usize) -> Result<EventLog, EventError> {
        let keep = keep.max(1);
        let mut parts = [
            Part {
                ring: Ring::new(keep),
                journal: None,
            },
            Part {
                ring: Ring::new(keep),
                journal: None,
            },
        ];
        let mut highest = 0;
        let mut rewrite_now = false;
        if let Some(dir) = state_dir {
            for (index, name) in [(CHANGES, FILE_NAME), (BOOTS, BOOTS_FILE_NAME)] {
                let mut misplaced = false;
                let (mut journal, found) =
                    Journal::open(Paths::new(dir, name), keep, |event, line| {
                        let into = class(&event);
                        misplaced |= into != index;
                        parts[into].ring.push(Kept::new(&event, &line), &event);
                    })?;
                if found.rewrite_now || misplaced {
                    journal.force_rewrite();
                    rewrite_now = true;
                }
                highest = highest.max(found.highest);
                parts[index].journal = Some(journal);
            }
            for part in &mut parts {
                if let Some(journal) = &mut part.journal {
                    if rewrite_now {
                        // Moved lines and cut lines: both files are rewritten from memory.
                        journal.force_rewrite();
                    }
                    rewrite_now |= journal.due();
                }
            }
        }
        let path = state_dir.map(|dir| dir.join(FILE_NAME));
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                next_id: highest.saturating_add(1),
                parts,
                line: Vec::with_capacity(256),
            }),
            maintenance: Mutex::new(()),
            dirty: [AtomicBool::new(false), AtomicBool::new(false)],
            signal: Mutex::new(Signal {
                rewrite: rewrite_now,
                ..Signal::default()
            }),
            wake: Condvar::new(),
            path,
        });
        let flusher = match state_dir {
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

    /// Records an event: gives it the next id and the current time, cuts its fields to their
    /// bounds, writes its line to its class's file before returning (see the
    /// module `events`), and keeps it in memory. On an error nothing is recorded and the id
    /// is not used.
    pub fn record(&self, new: NewEvent) -> Result<Event, EventError> {
        let inner = &*self.inner;
        let mut guard = inner.lock_state();
        let state = &mut *guard;
        if state.next_id > MAX_ID {
            return Err(EventError::IdsUsedUp);
        }
        let mut event = new.stamped(state.next_id, now());
        let index = class(&event);
        let part = &mut state.parts[index];
        let mut line = std::mem::take(&mut state.line);
        let newline_first = part.journal.as_ref().is_some_and(|j| j.needs_newline);
        let encoded = event.encode(&mut line, newline_first);
        let mut rewrite = false;
        let wrote = match &mut part.journal {
            None => false,
            Some(journal) => {
                let appended = encoded
                    .map_err(|e| {
                        journal.paths.error(
                            "write events to",
                            &journal.paths.path,
                            e,
                            "report this: an event could not be written as JSON",
                        )
                    })
                    .and_then(|()| journal.append(&line));
                if let Err(error) = appended {
                    state.line = line;
                    return Err(error);
                }
                if !journal.rewrite_asked && journal.due() {
                    journal.rewrite_asked = true;
                    rewrite = true;
                }
                true
            }
        };
        state.next_id += 1;
        part.ring.push(Kept::new(&event, &line), &event);
        state.line = line;
        drop(guard);
        if wrote {
            let first = !inner.dirty[index].swap(true, Ordering::AcqRel);
            if first || rewrite {
                let mut signal = inner.lock_signal();
                signal.sync |= first;
                signal.rewrite |= rewrite;
                inner.wake.notify_one();
            }
        }
        Ok(event)
    }

    /// Makes every event recorded before the call durable (`fsync`), and rewrites a file
    /// first if it is due. Not needed for correctness: a background thread does it within
    /// `FLUSH_INTERVAL`; for a log in memory only it does nothing.
    pub fn sync(&self) -> Result<(), EventError> {
        self.inner.sync_now()
    }

    /// The newest events of `host` (changes and boot fetches), newest first, at most
    /// `limit`.
    pub fn for_host(&self, host: &HostName, limit: usize) -> Vec<Event> {
        // A line of the host holds its name as JSON writes it: the lines without it are
        // skipped unread, the others read and checked. The lines are copied under the lock
        // and read outside it: recording never waits for a query's decoding.
        let Ok(name) = serde_json::to_string(host) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for index in [CHANGES, BOOTS] {
            found.extend(self.class_for_host(index, host, &name, limit));
        }
        // Each class was read newest first; together they are sorted once more.
        found.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
        found.truncate(limit);
        found
    }

    /// The newest events of `host` in class `index`, newest first, at most `limit`; `name`
    /// is the host's name as JSON writes it.
    fn class_for_host(
        &self,
        index: usize,
        host: &HostName,
        name: &str,
        limit: usize,
    ) -> Vec<Event> {
        let mut found = Vec::new();
        let mut before = u64::MAX;
        while found.len() < limit {
            let lines = {
                let state = self.inner.lock_state();
                state.parts[index]
                    .ring
                    .before_holding(before, name, limit - found.len())
            };
            let Some(&(oldest, _)) = lines.last() else {
                break;
            };
            let events = lines.iter().filter_map(|(_, line)| decode(line));
            found.extend(events.filter(|event| event.host.as_ref() == Some(host)));
            before = oldest;
        }
        found
    }

    /// The events after the one numbered `id` (all kept events for 0), oldest first, at most
    /// `limit`: a reader that passes the last id it saw gets each event once.
    pub fn since(&self, id: u64, limit: usize) -> Vec<Event> {
        let mut lines: Vec<(u64, Box<str>)> = {
            let state = self.inner.lock_state();
            let mut lines = state.parts[CHANGES].ring.after(id, limit);
            lines.extend(state.parts[BOOTS].ring.after(id, limit));
            lines
        };
        lines.sort_unstable_by_key(|(id, _)| *id);
        lines.truncate(limit);
        lines.iter().filter_map(|(_, line)| decode(line)).collect()
    }

    /// The newest counted `boot` event of `host` among the kept events, if any.
    pub fn last_boot(&self, host: &HostName) -> Option<Event> {
        let found = self.inner.lock_state().parts[BOOTS].ring.last_boot(host);
        found.map(Arc::unwrap_or_clone)
    }

    /// How many events of each class are in memory now: (changes, boot fetches).
    pub fn kept(&self) -> (usize, usize) {
        let state = self.inner.lock_state();
        (
            state.parts[CHANGES].ring.len(),
            state.parts[BOOTS].ring.len(),
        )
    }

    /// The file the changes are kept in (the boot fetches are beside it, in
    /// `BOOTS_FILE_NAME`); `None` for a log in memory only.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }
}

impl fmt::Debug for EventLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLog")
            .field("path", &self.path())
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

    /// Rewrites the files that are due, then `fsync`s what was written since the last sync.
    fn sync_now(&self) -> Result<(), EventError> {
        let _one_at_a_time = self
            .maintenance
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut first_error = None;
        for index in [CHANGES, BOOTS] {
            if let Err(e) = self.sync_part(index) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn sync_part(&self, index: usize) -> Result<(), EventError> {
        let due = {
            let state = self.lock_state();
            match &state.parts[index].journal {
                None => return Ok(()),
                Some(journal) => journal.due(),
            }
        };
        if due {
            self.rewrite(index)?;
        }
        if self.dirty[index].swap(false, Ordering::AcqRel) {
            let file = {
                let state = self.lock_state();
                state.parts[index]
                    .journal
                    .as_ref()
                    .map(|j| (j.file(), j.paths.clone()))
            };
            if let Some((file, paths)) = file {
                if let Err(source) = file.sync_data() {
                    self.dirty[index].store(true, Ordering::Release);
                    return Err(paths.error(
                        "sync events to",
                        &paths.path,
                        source,
                        "check the disk: the events are written but may not survive a power cut",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Rewrites the file of class `index` to its kept events: a temporary file written and
    /// synced without the lock, completed with the events recorded meanwhile and renamed over
    /// the file under the lock (so no event is lost between the two), then the folder synced.
    fn rewrite(&self, index: usize) -> Result<(), EventError> {
        let (snapshot, paths) = {
            let state = self.lock_state();
            let part = &state.parts[index];
            let Some(journal) = &part.journal else {
                return Ok(());
            };
            (part.ring.after(0, usize::MAX), journal.paths.clone())
        };
        let written = paths.write_snapshot(&snapshot);
        let mut state = self.lock_state();
        let part = &mut state.parts[index];
        let last = snapshot.last().map_or(0, |(id, _)| *id);
        let newer = part.ring.after(last, usize::MAX);
        let Some(journal) = &mut part.journal else {
            return Ok(());
        };
        let installed =
            written.and_then(|(file, len)| journal.install(file, len, snapshot.len(), &newer));
        match installed {
            Ok(wrote_newer) => {
                drop(state);
                if wrote_newer {
                    // Written to the new file after its sync.
                    self.dirty[index].store(true, Ordering::Release);
                }
                paths.sync_folder()
            }
            Err(e) => {
                journal.rewrite_failed();
                drop(state);
                paths.discard_temporary();
                Err(e)
            }
        }
    }
}

/// The flush thread: syncs at most `FLUSH_INTERVAL` after the first unsynced line,
/// rewrites a file when asked, and syncs one last time when the log is dropped.
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

#[cfg(test)]
mod tests {
    use std::fs::{self, OpenOptions};
    use std::io::Write;

    use super::*;
    use crate::events::{EventKind, Who, DEFAULT_KEEP};
    use crate::mac::MacAddress;

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
        lines_of(dir, FILE_NAME)
    }

    fn lines_of(dir: &Path, name: &str) -> Vec<String> {
        fs::read_to_string(dir.join(name))
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
        // A line is written before `record` returns, synced or not; boots have their file.
        assert_eq!(file_lines(dir.path()).len(), 2);
        assert_eq!(lines_of(dir.path(), BOOTS_FILE_NAME).len(), 1);
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
        let line = &lines_of(dir.path(), BOOTS_FILE_NAME)[0];
        assert!(line.starts_with(r#"{"id":1,"time":""#), "{line}");
        assert!(line.ends_with(r#"Z","host":"r1","mac":"52:54:00:00:00:01","kind":"boot","to":"ubuntu-24.04","who":"open","peer":"10.0.0.21","result":"ok","detail":"ipxe"}"#), "{line}");
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
        // Changes do not push boots out; once h1's boots are older than the last 5 boot
        // fetches, it has none.
        for _ in 0..10 {
            log.record(deploy("h2", "local")).unwrap();
        }
        assert_eq!(log.last_boot(&host("h2")).map(|e| e.id), Some(5));
        for _ in 0..3 {
            log.record(boot(Some("h2"), "local")).unwrap();
        }
        assert_eq!(log.last_boot(&host("h1")), None);
        assert_eq!(log.last_boot(&host("h2")).map(|e| e.id), Some(18));
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
        assert!(!dir.path().join("events.jsonl.tmp").exists());

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
        assert_eq!(lines_of(dir.path(), BOOTS_FILE_NAME).len(), threads * each);
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

    #[test]
    fn a_flood_of_boot_fetches_never_pushes_a_change_out() {
        let dir = tempfile::tempdir().unwrap();
        let keep = 20;
        let log = EventLog::open(Some(dir.path()), keep).unwrap();
        let change = log.record(deploy("h1", "ubuntu")).unwrap();
        for _ in 0..50 * keep {
            log.record(boot(None, "local")).unwrap();
        }
        log.sync().unwrap();
        assert_eq!(log.for_host(&host("h1"), 10), vec![change.clone()]);
        assert_eq!(log.since(0, 1), vec![change.clone()]);
        assert_eq!(log.kept(), (1, keep));
        assert!(lines_of(dir.path(), BOOTS_FILE_NAME).len() < 2 * keep);
        drop(log);
        let log = EventLog::open(Some(dir.path()), keep).unwrap();
        assert_eq!(log.for_host(&host("h1"), 10), vec![change]);
    }

    #[test]
    fn since_reads_both_classes_as_one_history() {
        let log = EventLog::open(None, DEFAULT_KEEP).unwrap();
        for i in 0..6 {
            if i % 2 == 0 {
                log.record(deploy("h1", "local")).unwrap();
            } else {
                log.record(boot(Some("h1"), "local")).unwrap();
            }
        }
        assert_eq!(ids(&log.since(0, 4)), vec![1, 2, 3, 4]);
        assert_eq!(ids(&log.since(4, 100)), vec![5, 6]);
        assert_eq!(ids(&log.for_host(&host("h1"), 3)), vec![6, 5, 4]);
    }

    #[test]
    fn a_corrupt_huge_id_is_cut_and_ids_never_wrap() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        log.record(deploy("h1", "local")).unwrap();
        drop(log);
        let path = dir.path().join(FILE_NAME);
        let first = fs::read_to_string(&path).unwrap();
        let corrupt = first.replace(r#""id":1,"#, r#""id":18446744073709551614,"#);
        let second = first.replace(r#""id":1,"#, r#""id":2,"#);
        fs::write(&path, format!("{first}{corrupt}{second}")).unwrap();

        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        assert_eq!(ids(&log.since(0, 100)), vec![1, 2]);
        assert_eq!(log.record(deploy("h1", "local")).unwrap().id, 3);
        log.sync().unwrap();
        let lines = file_lines(dir.path());
        assert!(
            !lines.iter().any(|l| l.contains("18446744073709551614")),
            "{lines:?}"
        );
        assert_eq!(lines.len(), 3);

        // The last id an event may have is used; then the log refuses rather than wrap.
        let last = first.replace(r#""id":1,"#, &format!(r#""id":{MAX_ID},"#));
        drop(log);
        fs::write(&path, &last).unwrap();
        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        assert!(matches!(
            log.record(deploy("h1", "local")),
            Err(EventError::IdsUsedUp)
        ));
        assert_eq!(ids(&log.since(0, 100)), vec![MAX_ID]);
    }

    #[test]
    fn boot_fetches_of_an_older_file_move_to_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        log.record(deploy("h1", "local")).unwrap();
        log.record(boot(Some("h1"), "local")).unwrap();
        drop(log);
        // As a server before the split wrote them: one file.
        let boots = fs::read_to_string(dir.path().join(BOOTS_FILE_NAME)).unwrap();
        let mut events = fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(FILE_NAME))
            .unwrap();
        events.write_all(boots.as_bytes()).unwrap();
        drop(events);
        fs::remove_file(dir.path().join(BOOTS_FILE_NAME)).unwrap();

        let log = EventLog::open(Some(dir.path()), DEFAULT_KEEP).unwrap();
        log.sync().unwrap();
        assert_eq!(ids(&log.since(0, 100)), vec![1, 2]);
        assert_eq!(log.last_boot(&host("h1")).map(|e| e.id), Some(2));
        assert_eq!(file_lines(dir.path()).len(), 1);
        assert_eq!(lines_of(dir.path(), BOOTS_FILE_NAME).len(), 1);
    }
}
