//! The configuration file (`/etc/pxe-pilot/pxe-pilot.yml`), compatible with the original's.
//!
//! [`Settings::load`] reads and validates the whole file at once: every error names the key and,
//! where known, the line, and unknown keys are reported as warnings instead of failing, so the
//! original PXE Pilot's files load unchanged. The module `raw` holds the file's shapes, `check` the
//! validation that turns them into [`Settings`].

mod check;
pub use check::machine_name;
mod hosts;
mod raw;
mod server;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bootloader::Bootloader;
use crate::inventory::{Adapter, Inventory, Paths};
use crate::names::ConfigName;

use check::Checker;
use raw::RawFile;

/// The default path of the configuration file.
pub const DEFAULT_PATH: &str = "/etc/pxe-pilot/pxe-pilot.yml";
/// The default port of the server, the original's.
pub const DEFAULT_PORT: u16 = 3478;
/// The default refresh command; `{{.subnet}}` is each management subnet.
pub const DEFAULT_DISCOVERY_CMD: &str = "fping -c 1 -D -q -g {{.subnet}}";
/// The default ARP table.
pub const DEFAULT_ARP_TABLE: &str = "/proc/self/net/arp";
/// The largest configuration file read, in bytes (room for well over 100,000 hosts).
pub const MAX_FILE_SIZE: u64 = 32 * 1024 * 1024;

/// Everything the configuration file says, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The hosts.
    pub inventory: Inventory,
    /// The TFTP root and the catalogue.
    pub paths: Paths,
    /// The declared bootloaders, in the file's order (empty: a flat catalogue).
    pub bootloaders: Vec<Bootloader>,
    /// The command adapters for power management, by name.
    pub adapters: HashMap<String, Adapter>,
    /// The server's listen address and port.
    pub server: ServerSettings,
    /// The file in `/proc/net/arp` format that maps BMC MACs to IP addresses.
    pub arp_table: PathBuf,
    /// The command `refresh` runs for each management subnet.
    pub discovery_cmd: String,
    /// How long any power or discovery command may run.
    pub command_timeout: Duration,
    /// The static `pxe-pilot` client the server hands to installers at
    /// `GET /v1/client/pxe-pilot` (`client.binary`), if any.
    pub client_binary: Option<PathBuf>,
    /// How power commands are shared and their answers kept (`power:`).
    pub power: PowerSettings,
    /// Where the server keeps what must survive a restart (the events), if anywhere
    /// (`state_dir`); without it, events are kept in memory only.
    pub state_dir: Option<PathBuf>,
    /// Which store keeps the entries, the `once` list and the events (`store:`).
    pub store: StoreKind,
    /// The name of this server's site in a fleet (`site:`, the machine's host name by
    /// default): events it records carry it.
    pub site: String,
}

/// Which store keeps what the service remembers (`store:`; see `store::open`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StoreKind {
    /// The TFTP root's links, and `state_dir` (`files`, the default).
    #[default]
    Files,
    /// Memory only: nothing survives a restart, nothing is written (`memory`).
    Memory,
    /// etcd keeps the state of a fleet; the TFTP root is this server's mirror of it
    /// (`{etcd: {...}}`, DESIGN §9).
    Etcd(EtcdSettings),
}

/// `store.etcd`: how to reach the cluster. No secret of it goes into etcd.
#[derive(Clone, PartialEq, Eq)]
pub struct EtcdSettings {
    /// The client URLs of the members (`http://` or `https://`), used as given.
    pub endpoints: Vec<String>,
    /// The prefix of every key (`/pxe-pilot/` by default; ends with `/`).
    pub prefix: String,
    /// The CA that signed the members' certificates (`ca_file`).
    pub ca_file: Option<PathBuf>,
    /// A client certificate and its key (`cert_file`, `key_file`).
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// etcd's user name and password (`username`, the password read from `password_file`).
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for EtcdSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdSettings")
            .field("endpoints", &self.endpoints)
            .field("prefix", &self.prefix)
            .field("ca_file", &self.ca_file)
            .field("client_cert", &self.client_cert)
            .field("username", &self.credentials.as_ref().map(|(u, _)| u))
            .finish()
    }
}

/// The `server:` block.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// The address to listen on (`0.0.0.0` by default).
    pub listen: IpAddr,
    /// The TCP port (3478 by default).
    pub port: u16,
    /// When set, requests that change something need `Authorization: Bearer <token>`
    /// (`server.token`, or the first line of the file `server.token_file` names).
    pub token: Option<String>,
    /// The configurations a host may deploy to itself without the token (`self_service`,
    /// `[local]` by default).
    pub self_service: Vec<ConfigName>,
    /// What a host deployed with `once` is switched to after its first boot of it
    /// (`once_fallback`, `local` by default).
    pub once_fallback: ConfigName,
    /// Which boot fetches count as a host's boot (`boot_trust`).
    pub boot_trust: BootTrust,
    /// Origins a browser may send changes from besides the server's own names
    /// (`origins`, e.g. `http://pxe.example.com:3478`); see DESIGN §8.
    pub origins: Vec<String>,
    /// The most connections one peer address may hold open at once
    /// (`max_connections_per_peer`, [`DEFAULT_MAX_CONNECTIONS_PER_PEER`] by default).
    pub max_connections_per_peer: usize,
}

/// The default of `server.max_connections_per_peer`.
pub const DEFAULT_MAX_CONNECTIONS_PER_PEER: usize = 128;

/// Which boot fetches count as a host's boot: set its `lastBoot` and consume its `once`
/// (`server.boot_trust`). A fetch whose peer the neighbour table gives as another machine
/// never counts; the setting says what to do with a peer the table does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BootTrust {
    /// A peer the neighbour table does not know (NAT, a routed host, loopback) counts
    /// (`open`, the default).
    #[default]
    Open,
    /// Only a peer the neighbour table gives as one of the host's MACs counts (`neighbour`).
    Neighbour,
}

impl std::fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSettings")
            .field("listen", &self.listen)
            .field("port", &self.port)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("self_service", &self.self_service)
            .field("once_fallback", &self.once_fallback)
            .field("boot_trust", &self.boot_trust)
            .field("origins", &self.origins)
            .field("max_connections_per_peer", &self.max_connections_per_peer)
            .finish()
    }
}

/// The `power:` block: how the server's power commands share the BMCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerSettings {
    /// The most power commands running at once, for the whole server (`max_parallel`).
    pub max_parallel: usize,
    /// How long a power state read from a BMC is reused (`status_ttl`, seconds); an older
    /// one is answered while it is read again in the background.
    pub status_ttl: Duration,
    /// How long a listing waits for power states never read (`status_wait`, seconds) before
    /// answering `Unknown` for them; the reads go on and fill the next listing.
    pub status_wait: Duration,
}

impl Default for PowerSettings {
    fn default() -> Self {
        PowerSettings {
            max_parallel: DEFAULT_MAX_PARALLEL,
            status_ttl: Duration::from_secs(5),
            status_wait: Duration::from_secs(1),
        }
    }
}

/// The default of `power.max_parallel`.
pub const DEFAULT_MAX_PARALLEL: usize = 32;

/// Why a configuration file cannot be used. Each message is one line that names the file,
/// the line when known, and the key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file cannot be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The file is too large to be a configuration file.
    #[error("configuration file {path} is larger than 32 MiB")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not UTF-8 text.
    #[error("{path}:{line}: not UTF-8 text (byte {offset}): save the configuration file as UTF-8")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the first invalid byte.
        line: usize,
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// The YAML does not parse or a value has the wrong type.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser says.
        message: String,
    },
    /// A value is wrong: a duplicate, a bad MAC, a missing folder, an undeclared adapter...
    #[error("{path}:{}{key}: {message}", line.map(|l| format!("{l}: ")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line, where known.
        line: Option<usize>,
        /// The key, as a path (`hosts[2].mac_addresses[0]`).
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
}

/// Something in the file that works but deserves the operator's attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning(pub String);

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Settings {
    /// Reads and validates the configuration file at `path`. Relative paths inside it are
    /// taken from the file's own folder. Returns the settings and the warnings to log.
    pub fn load(path: &Path) -> Result<(Settings, Vec<Warning>), SettingsError> {
        let read_error = |source| SettingsError::Read {
            path: path.to_owned(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > MAX_FILE_SIZE {
            return Err(SettingsError::TooLarge {
                path: path.to_owned(),
            });
        }
        let bytes = std::fs::read(path).map_err(read_error)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            SettingsError::NotUtf8 {
                path: path.to_owned(),
                line,
                offset,
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Settings::from_yaml(&text, path, base)
    }

    /// Validates configuration text; `origin` names it in errors, `base` anchors relative paths.
    pub fn from_yaml(
        text: &str,
        origin: &Path,
        base: &Path,
    ) -> Result<(Settings, Vec<Warning>), SettingsError> {
        let mut ignored = Vec::new();
        let raw: Result<RawFile, _> =
            serde_saphyr::with_deserializer_from_str_with_options(text, parser_options(), |de| {
                serde_ignored::deserialize(de, |key| ignored.push(key.to_string()))
            });
        let raw = raw.map_err(|e| syntax_error(origin, &e))?;
        let mut warnings: Vec<Warning> = ignored
            .into_iter()
            .filter(|key| !key.contains("__serde_saphyr_private"))
            .map(|key| {
                let key = readable_key(&key);
                Warning(format!("{}: unknown key {key:?} ignored", origin.display()))
            })
            .collect();
        let checker = Checker { origin };
        let settings = checker.validate(raw, base, &mut warnings)?;
        Ok((settings, warnings))
    }
}

/// The parser's limits: the defaults guard against alias bombs and deep nesting; the node and
/// event counts are raised so that an inventory of 100,000 hosts loads.
fn parser_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 8_000_000;
    budget.max_events = 16_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// `hosts.0.?.foo` (serde_ignored's spelling) as `hosts[0].foo`.
fn readable_key(raw: &str) -> String {
    let mut out = String::new();
    for part in raw.split('.').filter(|p| *p != "?") {
        if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

fn syntax_error(origin: &Path, error: &serde_saphyr::Error) -> SettingsError {
    let full = error.to_string();
    let first = full.lines().next().unwrap_or("invalid YAML");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // The parser's first line reads "line L column C: message"; keep only the message.
    let message = match first.split_once(": ") {
        Some((place, rest)) if place.starts_with("line ") => rest,
        _ => first,
    };
    let message = operator_message(message);
    let (line, column) = error
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .unwrap_or((1, 1));
    SettingsError::Syntax {
        path: origin.to_owned(),
        line,
        column,
        message,
    }
}

/// The parser's message for the operator: its advice to programmers (which parser option to
/// set) replaced by what to change in the file.
fn operator_message(message: &str) -> String {
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(", set ").next().unwrap_or(key);
        format!("key {key:?} is given twice in the same block: keep one")
    } else if message.starts_with("multiple YAML documents") {
        "a second YAML document (`---`) starts here: keep one document".into()
    } else if message.starts_with("budget breached") {
        "too many nodes or aliases (an alias bomb?): write the values out".into()
    } else if message.starts_with("!!binary scalar is not valid UTF-8") {
        "a !!binary value that is not UTF-8 text: write the value as text".into()
    } else {
        message.to_owned()
    }
}
