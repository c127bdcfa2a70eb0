//! The fleet's events as this server's watch shows them: every server's changes and boot
//! fetches, each class bounded on its own, answered from memory (never a range of etcd per
//! read). What goes past the bound is remembered for the next transaction to delete.
//!
//! An event's id is `mod_revision × ID_SPAN + place`, its place in the transaction that
//! published it (the `id` its stored JSON holds): increasing in commit order, fleet-wide,
//! with no counter in etcd for the servers to contend on.

use std::collections::{BTreeMap, HashMap};

use crate::events::Event;
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

/// One class of events (changes, or boot fetches), by id and by key.
#[derive(Default)]
struct Class {
    by_id: BTreeMap<u64, (String, Event)>,
    ids: HashMap<String, u64>,
}

impl Class {
    fn remove(&mut self, key: &str) {
        if let Some(id) = self.ids.remove(key) {
            self.by_id.remove(&id);
        }
    }
}

/// The events of both classes, and the keys dropped past the bound that etcd still holds.
pub(super) struct History {
    classes: [Class; 2],
    keep: usize,
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
            dropped: BTreeMap::new(),
        }
    }

    /// Forgets every event (before a full read puts them back).
    pub(super) fn clear(&mut self) {
        self.classes = Default::default();
        self.dropped.clear();
    }

    /// Takes in the event stored at `key` (`rest`: the key past `events/`), written at
    /// `revision`; a key written again replaces its event. Ignores what is not an event.
    pub(super) fn put(&mut self, key: &str, rest: &str, value: &[u8], revision: i64) {
        let (Some(index), Ok(mut event)) = (class_of(rest), serde_json::from_slice::<Event>(value))
        else {
            return;
        };
        event.id = event_id(revision, event.id);
        let class = &mut self.classes[index];
        class.remove(key);
        class.ids.insert(key.to_owned(), event.id);
        class.by_id.insert(event.id, (key.to_owned(), event));
        while class.by_id.len() > self.keep {
            if let Some((_, (oldest, _))) = class.by_id.pop_first() {
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
    }

    /// Forgets the event at `key` (deleted in etcd).
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

    #[test]
    fn what_is_not_an_event_is_ignored() {
        let mut history = History::new(2);
        history.put("x", "seq", b"12", 1);
        history.put("y", "c/1", b"not json", 1);
        assert_eq!(history.kept(), (0, 0));
    }
}
