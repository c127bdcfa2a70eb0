//! The event log: what was done to which host, when, by whom, from where, and how it ended.
//!
//! Every deploy, undeploy, power action, network-boot-once, self-service callback, `once`
//! fallback and boot fetch becomes an [`Event`]; operators read a host's history
//! ([`EventLog::for_host`]), follow all hosts from an id ([`EventLog::since`]), and see each
//! host's last boot ([`EventLog::last_boot`]).
//!
//! This module is the model (the kinds, who asked, how it ended, the bounds of a line);
//! `memory.rs` keeps the last events of a class in memory and answers the queries,
//! `journal.rs` keeps a class in a file, `log.rs` ties both classes together.
//!
//! ## Two classes, each bounded on its own
//!
//! What anyone can cause without the token (boot fetches, [`EventKind::is_boot`]) is kept
//! apart from what changes hosts (deploys, undeploys, power, network boots, self-service,
//! `once` fallbacks): each class keeps its own last `keep` events, in memory and in its own
//! file, so a flood of boot fetches never pushes a change out. Ids are shared: one sequence in
//! the order events are recorded, so [`EventLog::since`] reads both classes as one history.
//!
//! ## Where events live
//!
//! With a state folder, changes in `<state_dir>/events.jsonl` and boot fetches in
//! `<state_dir>/boots.jsonl`, one JSON object per line (see [`Event`] for the format), read
//! back by [`EventLog::open`]; without one, in memory only. Queries are answered from memory.
//! (Servers before the split kept boot fetches in `events.jsonl` too: they are read from
//! there and moved to `boots.jsonl` at the first open.)
//!
//! ## Guarantees
//!
//! - **Written before the answer.** [`EventLog::record`] appends the event's line to its file
//!   (one `write` to a file opened with `O_APPEND`) before it returns: an event survives a
//!   crash or a `SIGKILL` of the server right after the answer that reports its change.
//! - **Synced within a second.** Lines are `fsync`ed in groups, by a background thread at
//!   most `FLUSH_INTERVAL` after the first unsynced one, or at once by [`EventLog::sync`]
//!   (and when the log is dropped): a power cut loses at most the last second of events.
//!   No record waits for the disk; the lock is held for the append only.
//! - **Crash-tolerant reading.** A line cut short by a crash, or any line that is not an
//!   event, is skipped with a warning at open, never an error: the server starts with the
//!   events that are whole. Ids go on from the highest one read, so they never repeat.
//! - **Bounded in count and in bytes.** Each class keeps its last `keep` events
//!   ([`DEFAULT_KEEP`] unless configured); every text field is cut to [`MAX_FIELD`] bytes
//!   ([`MAX_RESULT`] for an error's text) and made printable, and a line to [`MAX_LINE`]
//!   bytes, whatever a client sent. When a file holds `2 × keep` lines it is rewritten to
//!   the last `keep` (written to a temporary file, synced, renamed over, the folder synced:
//!   a crash leaves the old file or the new one, never a mix), off the recording path.
//! - **Ids only grow.** An id above `MAX_ID` in a file is a corrupt line: it is reported
//!   and cut from the file, never used; recording stops with an error rather than wrap.
//! - **No secrets.** An event holds names, MAC addresses, configuration names, the peer's
//!   address and error texts. Callers never put a token, a password or a management
//!   variable in one, and error texts they record must not quote them either (the errors of
//!   this crate never do).

mod journal;
mod log;
mod memory;

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::mac::MacAddress;
use crate::names::HostName;
use crate::text;

pub use log::EventLog;

/// How many events of each class are kept when the configuration does not say.
pub const DEFAULT_KEEP: usize = 10_000;

/// The file of a state folder that holds the changes.
pub const FILE_NAME: &str = "events.jsonl";

/// The file of a state folder that holds the boot fetches.
pub const BOOTS_FILE_NAME: &str = "boots.jsonl";

/// The longest time a recorded event waits for its `fsync`.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The most bytes of a text field kept in an event (`from`, `to`, `peer`, `detail`).
pub const MAX_FIELD: usize = 128;

/// The most bytes of an error's text kept in an event's `result`.
pub const MAX_RESULT: usize = 384;

/// The longest line of an event, in bytes: longer fields are cut further.
pub const MAX_LINE: usize = 1024;

/// The highest id an event may have (2^53 - 1: exact in every JSON reader, JavaScript's
/// included). A file's line with a higher id is corrupt.
pub const MAX_ID: u64 = (1 << 53) - 1;

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
    /// A bootloader fetched a host's configuration (`to` the configuration served, `detail`
    /// the bootloader); `counted` false when the fetch came from another machine.
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

    /// True for what anyone may cause without the token (a boot fetch), kept apart from
    /// the changes.
    pub fn is_boot(&self) -> bool {
        matches!(self, EventKind::Boot)
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
/// Its serde form is one line of `events.jsonl` (or `boots.jsonl`): the fields in this
/// order, absent ones left out (`counted` only when false), `time` in RFC 3339 UTC with
/// milliseconds (the precision events are recorded with), for example
///
/// ```text
/// {"id":42,"time":"2026-11-29T11:15:29.123Z","host":"r1","mac":"52:54:00:00:00:01","kind":"boot","to":"ubuntu-24.04","who":"open","peer":"10.0.0.21","result":"ok","detail":"ipxe"}
/// ```
///
/// Unknown fields are ignored when it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Its number: increasing, never reused, also across restarts.
    pub id: u64,
    /// When it was recorded, to the millisecond.
    #[serde(with = "rfc3339")]
    pub time: SystemTime,
    /// The host concerned.
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
    /// For a boot fetch: false when it came from another machine than the host (it was
    /// answered, but set no `lastBoot` and consumed no `once`); true otherwise.
    #[serde(default = "counted", skip_serializing_if = "is_counted")]
    pub counted: bool,
    /// The site of the server that recorded it (`site:`), in a fleet sharing one store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

fn counted() -> bool {
    true
}

fn is_counted(counted: &bool) -> bool {
    *counted
}

/// An event to record: an [`Event`] without the id and the time, which the log gives it.
///
/// Never put a secret in one (a token, a password, a management variable, an error text that
/// quotes one): events are kept on disk and shown to anyone who can read the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The host concerned.
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
    /// For a boot fetch: whether it counts as the host's boot (see [`Event::counted`]).
    pub counted: bool,
    /// The site of the server that records it; the service fills it in.
    pub site: Option<String>,
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
            counted: true,
            site: None,
        }
    }

    /// The event with its id and time, every text field cut to its bound and printable.
    pub(crate) fn stamped(self, id: u64, time: SystemTime) -> Event {
        let field = |text: Option<String>| text.map(|t| bounded(&t, MAX_FIELD));
        Event {
            id,
            time,
            host: self.host,
            mac: self.mac,
            kind: self.kind,
            from: field(self.from),
            to: field(self.to),
            who: self.who,
            peer: field(self.peer),
            result: match self.result {
                Outcome::Ok => Outcome::Ok,
                Outcome::Error(text) => Outcome::Error(bounded(&text, MAX_RESULT)),
            },
            detail: field(self.detail),
            counted: self.counted,
            site: field(self.site),
        }
    }
}

/// `text` at most `max` bytes (marked `...` when cut), printable.
fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max && !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = text::for_log(text, max.saturating_sub(3));
    while out.len() > max {
        out = text::cut(&out, out.len() - 1).to_owned();
    }
    out
}

impl Event {
    /// Writes the event's line (with its line break) into `line`, after a line break first
    /// when `newline_first`; fields are cut further while the line is over [`MAX_LINE`].
    pub(crate) fn encode(&mut self, line: &mut Vec<u8>, newline_first: bool) -> io::Result<()> {
        loop {
            line.clear();
            if newline_first {
                line.push(b'\n');
            }
            serde_json::to_writer(&mut *line, self).map_err(io::Error::other)?;
            line.push(b'\n');
            if line.len() <= MAX_LINE + 2 || !self.cut_longest_field() {
                return Ok(());
            }
        }
    }

    /// Halves the longest text field; false when none is left to cut.
    fn cut_longest_field(&mut self) -> bool {
        let mut fields: Vec<&mut String> = [
            self.from.as_mut(),
            self.to.as_mut(),
            self.peer.as_mut(),
            self.detail.as_mut(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Outcome::Error(text) = &mut self.result {
            fields.push(text);
        }
        let Some(longest) = fields.into_iter().max_by_key(|f| f.len()) else {
            return false;
        };
        if longest.len() < 8 {
            return false;
        }
        let half = text::cut(longest, longest.len() / 2).to_owned();
        *longest = half;
        true
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
    /// Every id up to `MAX_ID` was used: the log records no more rather than wrap.
    #[error("the event ids are used up (the highest is {MAX_ID}): move the state_dir's event files aside to start anew")]
    IdsUsedUp,
}

/// The latest time RFC 3339 can write (9999-12-31T23:59:59.999Z).
const LATEST: Duration = Duration::from_millis(253_402_300_799_999);

/// `time` within what RFC 3339 can write (1970 to 9999).
pub fn clamp(time: SystemTime) -> SystemTime {
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

/// `time` as the file and the API write it: RFC 3339, UTC, milliseconds.
pub fn format_time(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(clamp(time)).to_string()
}

/// The serde form of a time: RFC 3339, UTC, milliseconds.
pub(crate) mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        time: &SystemTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&super::format_time(*time))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_boot_not_counted_says_so_and_reads_back() {
        let time = UNIX_EPOCH + Duration::from_millis(1_790_000_000_123);
        let event = NewEvent {
            counted: false,
            ..NewEvent::new(EventKind::Boot, Who::Open)
        }
        .stamped(1, time);
        let line = serde_json::to_string(&event).unwrap();
        assert!(line.ends_with(r#","counted":false}"#), "{line}");
        assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), event);
        let counted = serde_json::to_string(&Event {
            counted: true,
            ..event
        })
        .unwrap();
        assert!(!counted.contains("counted"), "{counted}");
    }

    #[test]
    fn whatever_a_client_sends_a_line_stays_small_and_printable() {
        let huge = "\u{1b}[31m\r\n".repeat(20_000) + &"é\"\\".repeat(30_000);
        let mut event = NewEvent {
            from: Some(huge.clone()),
            to: Some(huge.clone()),
            peer: Some(huge.clone()),
            detail: Some(huge.clone()),
            result: Outcome::Error(huge),
            ..NewEvent::new(EventKind::Boot, Who::Open)
        }
        .stamped(MAX_ID, now());
        let mut line = Vec::new();
        event.encode(&mut line, true).unwrap();
        assert!(line.len() <= MAX_LINE + 2, "{} bytes", line.len());
        let text = std::str::from_utf8(&line).unwrap().trim();
        let read: Event = serde_json::from_str(text).unwrap();
        assert_eq!(read, event);
        for field in [&read.from, &read.to, &read.peer, &read.detail] {
            let field = field.as_deref().unwrap();
            assert!(field.len() <= MAX_FIELD, "{field}");
            assert!(!field.chars().any(char::is_control), "{field:?}");
        }
    }
}
