//! The fleet's events as this server's watch shows them: every server's changes and boot
//! fetches, each class bounded on its own, answered from memory (never a range of etcd per
//! read), with each host's last counted boot among them. What goes past the bound is
//! remembered for the next transaction to delete.
//!
//! A key holds the events of one class that one transaction published (a JSON array: one
//! key for up to [`ID_SPAN`] of them, not one each; a key of an earlier version holds one
//! event, not in an array). An event's
//! id is `mod_revision × ID_SPAN + place`, its place in the transaction that published it
//! (the `id` its stored JSON holds): increasing in commit order, fleet-wide, with no counter
//! in etcd for the servers to contend on.

use std::collections::{BTreeMap, HashMap};

use crate::events::{Event, EventKind};
use crate::names::HostName;

/// How many events one transaction may publish: an id is `revision × ID_SPAN + place`.
pub(super) const ID_SPAN: u64 = 128;

/// The id of the event stored with place `place` in a transaction committed at `revision`.
pub(super) fn event_id(revision: i64, place: u64) -> u64 {
    u64::try_from(revision).unwrap_or(0) * ID_SPAN + place.min(ID_SPAN - 1)
}

/// The first id past every event committed at `revision` or before.
fn past(revision: i64) -> u64 {
    event_id(revision.saturating_add(1), 0)
}

/// The events a key's value holds: an array of them (one of an earlier version: one event),
/// each with its id; none when it is not events.
pub(super) fn events_of(value: &[u8], revision: i64) -> Vec<Event> {
    let mut events = match value.first() {
        Some(b'[') => serde_json::from_slice::<Vec<Event>>(value).unwrap_or_default(),
        _ => serde_json::from_slice::<Event>(value)
            .map(|event| vec![event])
            .unwrap_or_default(),
    };
    for event in &mut events {
        event.id = event_id(revision, event.id);
    }
    events
}

/// One class of events (changes, or boot fetches): by id, and the ids each key holds.
#[derive(Default)]
struct Class {
    by_id: BTreeMap<u64, (String, Event)>,
    ids: HashMap<String, Vec<u64>>,
}

impl Class {
    fn remove(&mut self, key: &str) {
        for id in self.ids.remove(key).unwrap_or_default() {
            self.by_id.remove(&id);
        }
    }

    /// The id of the oldest event kept (`u64::MAX` when none is).
    fn oldest(&self) -> u64 {
        self.by_id.keys().next().copied().unwrap_or(u64::MAX)
    }
}

/// The events of both classes, each host's last counted boot, and the keys dropped past
/// the bound that etcd still holds.
pub(super) struct History {
    classes: [Class; 2],
    keep: usize,
    /// Each host's newest counted boot seen; one older than the oldest boot kept is not
    /// answered (at most one per host).
    last_boots: HashMap<HostName, Event>,
    /// The keys past the bound, for a next transaction to delete: by stem (a key up to its
    /// last `-`, one server process's keys of a class), the highest key dropped. The keys of
    /// one stem are dropped in key order (one server's places follow its commits), so one
    /// range deletes them all.
    dropped: BTreeMap<String, String>,
}

/// A range of keys to delete: from (included) to (excluded).
pub(super) type Range = (String, String);

/// The class (0: changes, 1: boot fetches) of an event key's rest (`c/...`, `b/...`).
fn class_of(rest: &str) -> Option<usize> {
    match rest.split_once('/') {
        Some(("c", _)) => Some(0),
        Some(("b", _)) => Some(1),
        _ => None,
    }
}

impl History {
    /// An empty history keeping `keep` events of each class.
    pub(super) fn new(keep: usize) -> History {
        History {
            classes: Default::default(),
            keep: keep.max(1),
            last_boots: HashMap::new(),
            dropped: BTreeMap::new(),
        }
    }

    /// Forgets every event (before a full read puts them back).
    pub(super) fn clear(&mut self) {
        self.classes = Default::default();
        self.last_boots.clear();
        self.dropped.clear();
    }

    /// Takes in the events stored at `key` (`rest`: the key past `events/`), written at
    /// `revision`; a key written again replaces its events. Ignores what is not events.
    pub(super) fn put(&mut self, key: &str, rest: &str, value: &[u8], revision: i64) {
        let Some(index) = class_of(rest) else {
            return;
        };
        let events = events_of(value, revision);
        let class = &mut self.classes[index];
        class.remove(key);
        if events.is_empty() {
            return;
        }
        for event in &events {
            if let (EventKind::Boot, true, Some(host)) = (event.kind, event.counted, &event.host) {
                let newest = self.last_boots.get(host).is_none_or(|e| e.id < event.id);
                if newest {
                    self.last_boots.insert(host.clone(), event.clone());
                }
            }
        }
        class
            .ids
            .insert(key.to_owned(), events.iter().map(|e| e.id).collect());
        for event in events {
            class.by_id.insert(event.id, (key.to_owned(), event));
        }
        // Past the bound the oldest events go; a key goes once none of its events is kept.
        while class.by_id.len() > self.keep {
            let Some((id, (oldest, _))) = class.by_id.pop_first() else {
                break;
            };
            let ids = class.ids.entry(oldest.clone()).or_default();
            ids.retain(|kept| *kept != id);
            if !ids.is_empty() {
                continue;
            }
            class.ids.remove(&oldest);
            let stem = match oldest.rfind('-') {
                Some(at) => oldest[..=at].to_owned(),
                None => oldest.clone(),
            };
            let highest = self.dropped.entry(stem).or_default();
            if *highest < oldest {
                *highest = oldest;
            }
        }
    }

    /// Forgets the events at `key` (deleted in etcd).
    pub(super) fn delete(&mut self, key: &str, rest: &str) {
        if let Some(index) = class_of(rest) {
            self.classes[index].remove(key);
        }
    }

    /// Up to `most` ranges holding the keys dropped past the bound, for a transaction to
    /// delete (given back with [`History::keep_dropped`] when it does not).
    pub(super) fn take_dropped(&mut self, most: usize) -> Vec<Range> {
        let mut ranges = Vec::new();
        while ranges.len() < most {
            let Some((stem, highest)) = self.dropped.pop_first() else {
                break;
            };
            ranges.push((stem, format!("{highest}\u{0}")));
        }
        ranges
    }

    /// Gives back ranges [`History::take_dropped`] took, that were not deleted.
    pub(super) fn keep_dropped(&mut self, ranges: Vec<Range>) {
        for (stem, mut to) in ranges {
            to.pop();
            let highest = self.dropped.entry(stem).or_default();
            if *highest < to {
                *highest = to;
            }
        }
    }

    /// Whether keys past the bound wait to be deleted.
    pub(super) fn has_dropped(&self) -> bool {
        !self.dropped.is_empty()
    }

    /// The events with ids after `after`, committed at `revision` or before, oldest first,
    /// at most `limit`.
    pub(super) fn since(&self, after: u64, revision: i64, limit: usize) -> Vec<Event> {
        let (from, to) = (after.saturating_add(1), past(revision));
        if from >= to {
            return Vec::new();
        }
        let mut found = self.gather(|class| Box::new(class.by_id.range(from..to)), limit);
        found.sort_unstable_by_key(|e| e.id);
        found.truncate(limit);
        found
    }

    /// The newest `limit` events of `host` committed at `revision` or before, newest first.
    pub(super) fn of_host(&self, host: &HostName, revision: i64, limit: usize) -> Vec<Event> {
        let to = past(revision);
        let mut found = self.gather(
            |class| {
                Box::new(
                    class
                        .by_id
                        .range(..to)
                        .rev()
                        .filter(|(_, (_, e))| e.host.as_ref() == Some(host)),
                )
            },
            limit,
        );
        found.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
        found.truncate(limit);
        found
    }

    /// Up to `limit` events of each class, as `pick` walks it.
    fn gather<'a>(
        &'a self,
        pick: impl Fn(&'a Class) -> Box<dyn Iterator<Item = (&'a u64, &'a (String, Event))> + 'a>,
        limit: usize,
    ) -> Vec<Event> {
        self.classes
            .iter()
            .flat_map(|class| pick(class).take(limit).map(|(_, (_, e))| e.clone()))
            .collect()
    }

    /// The newest counted boot of `host` among the boot fetches kept, or `served`, this
    /// server's last one of the host, when it is newer: waiting to be published (id 0), or
    /// published and not yet seen here.
    pub(super) fn last_boot(&self, host: &HostName, served: Option<Event>) -> Option<Event> {
        let boots = &self.classes[1];
        let newest = boots.by_id.keys().next_back().copied().unwrap_or(0);
        // One the history saw is in `last_boots` already, or older than it.
        match served {
            Some(served) if served.id == 0 || served.id > newest => Some(served),
            _ => {
                let oldest = boots.oldest();
                let known = self.last_boots.get(host);
                known.filter(|event| event.id >= oldest).cloned()
            }
        }
    }

    /// How many changes and boot fetches are kept.
    pub(super) fn kept(&self) -> (usize, usize) {
        (self.classes[0].by_id.len(), self.classes[1].by_id.len())
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::events::{EventKind, NewEvent, Who};

    fn line(kind: EventKind, host: &str, place: u64) -> Vec<u8> {
        let event = NewEvent {
            host: Some(HostName::parse(host).unwrap()),
            ..NewEvent::new(kind, Who::Open)
        }
        .stamped(place, SystemTime::now());
        serde_json::to_vec(&event).unwrap()
    }

    #[test]
    fn ids_follow_commit_order_and_reads_stop_at_the_revision_reached() {
        let mut history = History::new(10);
        history.put(
            "p/events/c/a-1",
            "c/a-1",
            &line(EventKind::Deploy, "h1", 0),
            7,
        );
        history.put(
            "p/events/b/a-2",
            "b/a-2",
            &line(EventKind::Boot, "h1", 1),
            7,
        );
        history.put(
            "p/events/c/b-1",
            "c/b-1",
            &line(EventKind::Deploy, "h2", 0),
            9,
        );
        let ids: Vec<u64> = history.since(0, 9, 10).iter().map(|e| e.id).collect();
        assert_eq!(ids, [7 * ID_SPAN, 7 * ID_SPAN + 1, 9 * ID_SPAN]);
        assert_eq!(
            history.since(0, 8, 10).len(),
            2,
            "revision 9 is not reached"
        );
        assert_eq!(history.since(7 * ID_SPAN, 9, 10).len(), 2);
        let of_h1: Vec<u64> = history
            .of_host(&HostName::parse("h1").unwrap(), 9, 10)
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(of_h1, [7 * ID_SPAN + 1, 7 * ID_SPAN]);
    }

    #[test]
    fn each_class_is_bounded_on_its_own_and_a_key_written_again_is_one_event() {
        let mut history = History::new(2);
        history.put("k/c/1", "c/1", &line(EventKind::Deploy, "h1", 0), 1);
        for revision in 2..10 {
            let key = format!("b/s-{revision:012}");
            history.put(&key, &key, &line(EventKind::Boot, "h1", 0), revision);
        }
        assert_eq!(history.kept(), (1, 2), "boots never push a change out");
        history.put("k/c/1", "c/1", &line(EventKind::Deploy, "h1", 0), 11);
        assert_eq!(history.kept(), (1, 2));
        // Places 2 to 7 dropped: one range of the stem `b/s-`.
        let dropped = history.take_dropped(100);
        let range = ("b/s-".to_owned(), "b/s-000000000007\u{0}".to_owned());
        assert_eq!(dropped, [range]);
        assert!(!history.has_dropped());
        history.keep_dropped(dropped.clone());
        assert_eq!(history.take_dropped(100), dropped);
        history.delete("b/s-000000000009", "b/s-000000000009");
        assert_eq!(history.kept(), (1, 1));
    }

    /// The boot fetches `hosts` as one transaction publishes them: one array.
    fn pack(hosts: &[(&str, bool)]) -> Vec<u8> {
        let events: Vec<Event> = hosts
            .iter()
            .enumerate()
            .map(|(place, (host, counted))| {
                NewEvent {
                    host: Some(HostName::parse(host).unwrap()),
                    counted: *counted,
                    ..NewEvent::new(EventKind::Boot, Who::Open)
                }
                .stamped(place as u64, SystemTime::now())
            })
            .collect();
        serde_json::to_vec(&events).unwrap()
    }

    #[test]
    fn a_key_of_boot_fetches_holds_many_and_goes_once_none_of_them_is_kept() {
        let mut history = History::new(4);
        let one = pack(&[("h1", true), ("h2", true), ("h1", false)]);
        history.put("b/s-000000000001", "b/s-000000000001", &one, 5);
        let ids: Vec<u64> = history.since(0, 5, 10).iter().map(|e| e.id).collect();
        assert_eq!(ids, [5 * ID_SPAN, 5 * ID_SPAN + 1, 5 * ID_SPAN + 2]);
        let h1 = HostName::parse("h1").unwrap();
        let last = history.last_boot(&h1, None).unwrap();
        assert_eq!(last.id, 5 * ID_SPAN, "the counted one, not the newest");

        // Two more: the oldest event goes from memory, its key stays in etcd (two are kept).
        let two = pack(&[("h3", true), ("h3", true)]);
        history.put("b/s-000000000004", "b/s-000000000004", &two, 6);
        assert_eq!(history.kept(), (0, 4));
        assert!(!history.has_dropped());
        assert_eq!(
            history.last_boot(&h1, None),
            None,
            "h1's counted boot is gone"
        );

        // Past the two others, the first key holds none kept: it goes.
        history.put("b/t-000000000001", "b/t-000000000001", &two, 7);
        assert_eq!(history.kept(), (0, 4));
        let range = ("b/s-".to_owned(), "b/s-000000000001\u{0}".to_owned());
        assert_eq!(history.take_dropped(10), [range]);
        // A key deleted takes its events with it.
        history.delete("b/s-000000000004", "b/s-000000000004");
        assert_eq!(history.kept(), (0, 2));
    }

    #[test]
    fn this_server_s_last_boot_of_a_host_is_answered_until_the_history_has_a_newer_one() {
        let mut history = History::new(10);
        let h1 = HostName::parse("h1").unwrap();
        let served = |id: u64| {
            let mut event = NewEvent {
                host: Some(h1.clone()),
                ..NewEvent::new(EventKind::Boot, Who::Open)
            }
            .stamped(0, SystemTime::now());
            event.id = id;
            event
        };
        // Waiting to be published.
        assert_eq!(history.last_boot(&h1, Some(served(0))).unwrap().id, 0);
        // Published, not yet watched.
        let published = event_id(3, 0);
        let last = history.last_boot(&h1, Some(served(published)));
        assert_eq!(last.unwrap().id, published);
        // Watched, then a newer one of another server.
        history.put("b/s-1", "b/s-1", &pack(&[("h1", true)]), 3);
        history.put("b/t-1", "b/t-1", &pack(&[("h1", true)]), 4);
        let last = history.last_boot(&h1, Some(served(published)));
        assert_eq!(last.unwrap().id, event_id(4, 0));
    }

    #[test]
    fn what_is_not_an_event_is_ignored() {
        let mut history = History::new(2);
        history.put("x", "seq", b"12", 1);
        history.put("y", "c/1", b"not json", 1);
        history.put("z", "b/1", b"[1, 2]", 1);
        assert_eq!(history.kept(), (0, 0));
    }
}
