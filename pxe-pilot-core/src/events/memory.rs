//! The last events of one class in memory, and the queries on them: [`Ring`].
//!
//! An event is kept as its id and its line of the file (JSON), read back when a query
//! returns it: less than half the memory of an [`Event`] and its strings (10,000 events take
//! about 2 MB). A host's events are found by its name in the lines, then read and checked.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::{Event, EventKind};
use crate::names::HostName;

/// An event as memory keeps it.
pub(super) struct Kept {
    /// Its id.
    pub(super) id: u64,
    /// Its line, without the line break.
    pub(super) line: Box<str>,
}

impl Kept {
    /// `event`'s id and its `line` (line breaks around it allowed).
    pub(super) fn new(event: &Event, line: &[u8]) -> Kept {
        let line = String::from_utf8_lossy(line.trim_ascii());
        Kept {
            id: event.id,
            line: line.into(),
        }
    }
}

/// The event of a kept line (`None` cannot happen: the line is one the log wrote).
pub(super) fn decode(line: &str) -> Option<Event> {
    serde_json::from_str(line).ok()
}

/// The last `keep` events of a class, oldest first (ids increasing), and each host's last
/// counted boot among them.
pub(super) struct Ring {
    keep: usize,
    events: VecDeque<Kept>,
    /// Each host's newest counted `boot` event; one older than the oldest kept is forgotten
    /// (the entry stays until the host boots again: at most one per host).
    last_boot: HashMap<HostName, Arc<Event>>,
}

impl Ring {
    /// An empty ring that keeps at most `keep` events (at least 1).
    pub(super) fn new(keep: usize) -> Ring {
        let keep = keep.max(1);
        Ring {
            keep,
            events: VecDeque::with_capacity(keep.min(super::DEFAULT_KEEP)),
            last_boot: HashMap::new(),
        }
    }

    /// The id of the newest event kept (0 when none).
    pub(super) fn newest(&self) -> u64 {
        self.events.back().map_or(0, |kept| kept.id)
    }

    /// How many events are kept.
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }

    /// Keeps `event` (as `kept`), forgetting the oldest beyond `keep`; an event whose id is
    /// not above the newest kept is refused (false).
    pub(super) fn push(&mut self, kept: Kept, event: &Event) -> bool {
        if kept.id <= self.newest() {
            return false;
        }
        if event.kind == EventKind::Boot && event.counted {
            if let Some(host) = &event.host {
                self.last_boot.insert(host.clone(), Arc::new(event.clone()));
            }
        }
        self.events.push_back(kept);
        while self.events.len() > self.keep {
            self.events.pop_front();
        }
        true
    }

    /// The lines of the events after `id`, oldest first, at most `limit`.
    pub(super) fn after(&self, id: u64, limit: usize) -> Vec<(u64, Box<str>)> {
        let start = self.events.partition_point(|kept| kept.id <= id);
        let newer = self.events.range(start..).take(limit);
        newer.map(|kept| (kept.id, kept.line.clone())).collect()
    }

    /// The lines that hold `needle` among the events before `id`, newest first, at most
    /// `limit`.
    pub(super) fn before_holding(
        &self,
        id: u64,
        needle: &str,
        limit: usize,
    ) -> Vec<(u64, Box<str>)> {
        let end = self.events.partition_point(|kept| kept.id < id);
        let older = self.events.range(..end).rev();
        let holding = older.filter(|kept| kept.line.contains(needle));
        holding
            .take(limit)
            .map(|kept| (kept.id, kept.line.clone()))
            .collect()
    }

    /// The newest counted boot of `host` among the kept events.
    pub(super) fn last_boot(&self, host: &HostName) -> Option<Arc<Event>> {
        let oldest = self.events.front().map_or(u64::MAX, |kept| kept.id);
        let last = self.last_boot.get(host).filter(|event| event.id >= oldest);
        last.cloned()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::events::{NewEvent, Who};

    fn event(id: u64, kind: EventKind, host: &str, counted: bool) -> (Kept, Event) {
        let event = NewEvent {
            host: Some(HostName::parse(host).unwrap()),
            counted,
            ..NewEvent::new(kind, Who::Open)
        }
        .stamped(id, SystemTime::now());
        let line = serde_json::to_vec(&event).unwrap();
        (Kept::new(&event, &line), event)
    }

    #[test]
    fn a_ring_keeps_the_newest_in_order() {
        let mut ring = Ring::new(3);
        for id in 1..=5 {
            let (kept, e) = event(id, EventKind::Deploy, "h1", true);
            assert!(ring.push(kept, &e));
        }
        let (kept, e) = event(4, EventKind::Deploy, "h1", true);
        assert!(!ring.push(kept, &e), "ids only grow");
        let ids: Vec<u64> = ring.after(0, 10).iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [3, 4, 5]);
        assert_eq!(ring.len(), 3);
        let ids: Vec<u64> = ring
            .before_holding(5, "h1", 10)
            .iter()
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(ids, [4, 3]);
    }

    #[test]
    fn only_counted_boots_are_a_host_s_last_boot() {
        let mut ring = Ring::new(10);
        let h1 = HostName::parse("h1").unwrap();
        let (kept, e) = event(1, EventKind::Boot, "h1", true);
        ring.push(kept, &e);
        let (kept, e) = event(2, EventKind::Boot, "h1", false);
        ring.push(kept, &e);
        assert_eq!(ring.last_boot(&h1).map(|e| e.id), Some(1));
    }
}
