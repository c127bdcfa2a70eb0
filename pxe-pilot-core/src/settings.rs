//! The configuration file (`/etc/pxe-pilot/pxe-pilot.yml`), compatible with the original's.
//!
//! [`Settings::load`] reads and validates the whole file at once: every error names the key and,
//! where known, the line, and unknown keys are reported as warnings instead of failing, so the
//! original PXE Pilot's files load unchanged.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::inventory::{
    Adapter, AdapterCommand, BmcAddress, Bootloader, Host, Inventory, Ipmi, Management, Paths,
};
use crate::mac::MacAddress;
use crate::names::{ConfigName, HostName};

/// The default path of the configuration file.
pub const DEFAULT_PATH: &str = "/etc/pxe-pilot/pxe-pilot.yml";
/// The default port of the server, the original's.
pub const DEFAULT_PORT: u16 = 3478;
/// The default refresh command; `{{.subnet}}` is each management subnet.
pub const DEFAULT_DISCOVERY_CMD: &str = "fping -c 1 -D -q -g {{.subnet}}";
/// The default ARP table.
pub const DEFAULT_ARP_TABLE: &str = "/proc/net/arp";
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
}

/// The `server:` block.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// The address to listen on (`0.0.0.0` by default).
    pub listen: IpAddr,
    /// The TCP port (3478 by default).
    pub port: u16,
    /// When set, requests that change something need `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

impl std::fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSettings")
            .field("listen", &self.listen)
            .field("port", &self.port)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

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

type Text = Spanned<String>;

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    hosts: Vec<RawHost>,
    #[serde(default)]
    host_management_adapters: Vec<RawAdapter>,
    tftp: Option<RawTftp>,
    configuration: Option<RawCatalogue>,
    #[serde(default)]
    server: RawServer,
    arp_table: Option<String>,
    discovery: Option<RawCmd>,
    arp: Option<RawCmd>,
    command_timeout: Option<u64>,
    client: Option<RawClient>,
}

#[derive(Deserialize)]
struct RawClient {
    binary: Option<Text>,
}

#[derive(Deserialize)]
struct RawHost {
    name: Text,
    #[serde(default)]
    mac_addresses: Vec<Text>,
    ipmi: Option<RawIpmi>,
    management: Option<RawManagement>,
}

#[derive(Deserialize)]
struct RawIpmi {
    mac_address: Option<Text>,
    hostname: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    interface: Option<String>,
    subnet: Option<String>,
    port: Option<u16>,
    cipher_suite: Option<u8>,
}

#[derive(Deserialize)]
struct RawManagement {
    mac_address: Option<Text>,
    #[serde(alias = "ip_address")]
    hostname: Option<String>,
    subnet: Option<String>,
    adapter: Text,
    #[serde(default)]
    vars: Vec<RawVar>,
}

#[derive(Deserialize)]
struct RawVar {
    name: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
struct RawAdapter {
    name: Text,
    #[serde(default)]
    vars: Vec<RawVar>,
    #[serde(default)]
    env: Vec<RawVar>,
    power_status: Option<RawCommand>,
    power_on: Option<RawCommand>,
    power_off: Option<RawCommand>,
    power_reset: Option<RawCommand>,
}

#[derive(Deserialize)]
struct RawCommand {
    cmd: String,
    pattern_on: Option<String>,
    pattern_off: Option<String>,
}

#[derive(Deserialize)]
struct RawTftp {
    root: Text,
}

#[derive(Deserialize)]
struct RawCatalogue {
    directory: Text,
    #[serde(default)]
    bootloaders: Vec<RawBootloader>,
}

#[derive(Deserialize)]
struct RawBootloader {
    name: Text,
    #[serde(default)]
    file: String,
    #[serde(default)]
    config_path: String,
    mac_entry: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawServer {
    port: Option<u16>,
    listen: Option<Text>,
    token: Option<String>,
}

#[derive(Deserialize)]
struct RawCmd {
    cmd: Option<String>,
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

struct Checker<'a> {
    origin: &'a Path,
}

impl Checker<'_> {
    fn invalid(&self, line: Option<usize>, key: String, message: String) -> SettingsError {
        SettingsError::Invalid {
            path: self.origin.to_owned(),
            line,
            key,
            message,
        }
    }

    fn validate(
        &self,
        raw: RawFile,
        base: &Path,
        warnings: &mut Vec<Warning>,
    ) -> Result<Settings, SettingsError> {
        let adapters = self.adapters(raw.host_management_adapters)?;
        let inventory = self.hosts(raw.hosts, &adapters)?;
        let paths = self.paths(raw.tftp, raw.configuration.as_ref(), base)?;
        let bootloaders = self.bootloaders(raw.configuration, &paths, warnings)?;
        let server = self.server(raw.server)?;
        if raw.arp.and_then(|a| a.cmd).is_some() {
            warnings.push(Warning(format!(
                "{}: key \"arp.cmd\" ignored: the ARP table is read from the file `arp_table` names ({DEFAULT_ARP_TABLE} by default)",
                self.origin.display()
            )));
        }
        let command_timeout = match raw.command_timeout {
            Some(0) => {
                return Err(self.invalid(
                    None,
                    "command_timeout".into(),
                    "must be at least 1 (seconds)".into(),
                ))
            }
            Some(seconds) => Duration::from_secs(seconds.min(3600)),
            None => Duration::from_secs(10),
        };
        Ok(Settings {
            inventory,
            paths,
            bootloaders,
            adapters,
            server,
            arp_table: raw
                .arp_table
                .map(|p| base.join(p))
                .unwrap_or_else(|| PathBuf::from(DEFAULT_ARP_TABLE)),
            discovery_cmd: raw
                .discovery
                .and_then(|d| d.cmd)
                .unwrap_or_else(|| DEFAULT_DISCOVERY_CMD.to_owned()),
            command_timeout,
            client_binary: self.client_binary(raw.client, base)?,
        })
    }

    /// `client.binary`: a file that exists (relative paths from the file's folder).
    fn client_binary(
        &self,
        raw: Option<RawClient>,
        base: &Path,
    ) -> Result<Option<PathBuf>, SettingsError> {
        let Some(text) = raw.and_then(|c| c.binary) else {
            return Ok(None);
        };
        let line = Some(text.referenced.line() as usize);
        if text.value.is_empty() {
            return Err(self.invalid(
                line,
                "client.binary".into(),
                "is empty: give the static pxe-pilot file, or remove the key".into(),
            ));
        }
        let path = base.join(&text.value);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some(path)),
            Ok(_) => Err(self.invalid(
                line,
                "client.binary".into(),
                format!("{} is not a file", path.display()),
            )),
            Err(e) => Err(self.invalid(
                line,
                "client.binary".into(),
                format!(
                    "{} cannot be used: {e} (build it with `cargo build -p pxe-pilot-cli --profile release-small --target x86_64-unknown-linux-musl`)",
                    path.display()
                ),
            )),
        }
    }

    fn adapters(&self, raw: Vec<RawAdapter>) -> Result<HashMap<String, Adapter>, SettingsError> {
        let mut adapters = HashMap::new();
        for (i, adapter) in raw.into_iter().enumerate() {
            let name = adapter.name.value.clone();
            let line = Some(adapter.name.referenced.line() as usize);
            if name.trim().is_empty() {
                return Err(self.invalid(
                    line,
                    format!("host_management_adapters[{i}].name"),
                    "an adapter needs a name".into(),
                ));
            }
            let command = |c: Option<RawCommand>| {
                c.map(|c| AdapterCommand {
                    cmd: c.cmd,
                    pattern_on: c.pattern_on,
                    pattern_off: c.pattern_off,
                })
            };
            let value = Adapter {
                name: name.clone(),
                vars: adapter
                    .vars
                    .into_iter()
                    .map(|v| (v.name, v.value))
                    .collect(),
                env: adapter.env.into_iter().map(|v| (v.name, v.value)).collect(),
                power_status: command(adapter.power_status),
                power_on: command(adapter.power_on),
                power_off: command(adapter.power_off),
                power_reset: command(adapter.power_reset),
            };
            if adapters.insert(name.clone(), value).is_some() {
                return Err(self.invalid(
                    line,
                    format!("host_management_adapters[{i}].name"),
                    format!("adapter {name:?} is declared twice: rename or remove one"),
                ));
            }
        }
        Ok(adapters)
    }

    fn mac(&self, text: &Text, key: String) -> Result<MacAddress, SettingsError> {
        MacAddress::parse(&text.value)
            .map_err(|e| self.invalid(Some(text.referenced.line() as usize), key, e.to_string()))
    }

    fn hosts(
        &self,
        raw: Vec<RawHost>,
        adapters: &HashMap<String, Adapter>,
    ) -> Result<Inventory, SettingsError> {
        let mut hosts = Vec::with_capacity(raw.len());
        let mut names: HashMap<HostName, usize> = HashMap::new();
        let mut macs: HashMap<MacAddress, (String, usize)> = HashMap::new();
        for (i, host) in raw.into_iter().enumerate() {
            let name_line = host.name.referenced.line() as usize;
            let line = Some(name_line);
            let name = HostName::parse(&host.name.value)
                .map_err(|e| self.invalid(line, format!("hosts[{i}].name"), e.to_string()))?;
            if let Some(first) = names.insert(name.clone(), name_line) {
                return Err(self.invalid(
                    line,
                    format!("hosts[{i}].name"),
                    format!("host {name:?} is declared twice (first at line {first}): host names must be unique"),
                ));
            }
            if host.mac_addresses.is_empty() {
                return Err(self.invalid(
                    line,
                    format!("hosts[{i}].mac_addresses"),
                    format!("host {name:?} has no MAC address: give at least one"),
                ));
            }
            let mut mac_addresses = Vec::with_capacity(host.mac_addresses.len());
            for (j, text) in host.mac_addresses.iter().enumerate() {
                let key = format!("hosts[{i}].mac_addresses[{j}]");
                let mac = self.mac(text, key.clone())?;
                let mac_line = text.referenced.line() as usize;
                if let Some((owner, first_line)) = macs.insert(mac, (name.to_string(), mac_line)) {
                    let whose = if owner == name.as_str() {
                        "this host already lists it".to_owned()
                    } else {
                        format!("host {owner:?} already has it")
                    };
                    return Err(self.invalid(
                        Some(mac_line),
                        key,
                        format!("MAC address {mac} is given twice ({whose}, line {first_line}): a MAC belongs to one host"),
                    ));
                }
                mac_addresses.push(mac);
            }
            let ipmi = match host.ipmi {
                Some(ipmi) => Some(Ipmi {
                    address: BmcAddress {
                        mac_address: ipmi
                            .mac_address
                            .as_ref()
                            .map(|m| self.mac(m, format!("hosts[{i}].ipmi.mac_address")))
                            .transpose()?,
                        hostname: ipmi.hostname.filter(|h| !h.is_empty()),
                        subnet: ipmi.subnet.filter(|s| !s.is_empty()),
                    },
                    username: ipmi.username,
                    password: ipmi.password,
                    interface: ipmi
                        .interface
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "lanplus".into()),
                    port: ipmi.port,
                    cipher_suite: ipmi.cipher_suite,
                }),
                None => None,
            };
            let management = match host.management {
                Some(m) => {
                    if !adapters.contains_key(&m.adapter.value) {
                        return Err(self.invalid(
                            Some(m.adapter.referenced.line() as usize),
                            format!("hosts[{i}].management.adapter"),
                            format!(
                                "adapter {:?} is not declared in host_management_adapters",
                                m.adapter.value
                            ),
                        ));
                    }
                    Some(Management {
                        address: BmcAddress {
                            mac_address: m
                                .mac_address
                                .as_ref()
                                .map(|t| self.mac(t, format!("hosts[{i}].management.mac_address")))
                                .transpose()?,
                            hostname: m.hostname.filter(|h| !h.is_empty()),
                            subnet: m.subnet.filter(|s| !s.is_empty()),
                        },
                        adapter: m.adapter.value,
                        vars: m.vars.into_iter().map(|v| (v.name, v.value)).collect(),
                    })
                }
                None => None,
            };
            hosts.push(Host {
                name,
                mac_addresses,
                ipmi: ipmi.map(Box::new),
                management: management.map(Box::new),
            });
        }
        Ok(Inventory::new(hosts))
    }

    fn existing_dir(&self, text: &Text, key: &str, base: &Path) -> Result<PathBuf, SettingsError> {
        let line = Some(text.referenced.line() as usize);
        if text.value.is_empty() {
            return Err(self.invalid(line, key.into(), "is empty: give a folder".into()));
        }
        let path = base.join(&text.value);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => Ok(path),
            Ok(_) => Err(self.invalid(
                line,
                key.into(),
                format!("{} is not a folder", path.display()),
            )),
            Err(e) => Err(self.invalid(
                line,
                key.into(),
                format!("folder {} cannot be used: {e}", path.display()),
            )),
        }
    }

    fn paths(
        &self,
        tftp: Option<RawTftp>,
        catalogue: Option<&RawCatalogue>,
        base: &Path,
    ) -> Result<Paths, SettingsError> {
        let tftp = tftp.ok_or_else(|| {
            self.invalid(
                None,
                "tftp.root".into(),
                "is missing: give the TFTP root folder".into(),
            )
        })?;
        let catalogue = catalogue.ok_or_else(|| {
            self.invalid(
                None,
                "configuration.directory".into(),
                "is missing: give the folder of PXE configurations".into(),
            )
        })?;
        let tftp_root = self.existing_dir(&tftp.root, "tftp.root", base)?;
        let directory = self.existing_dir(&catalogue.directory, "configuration.directory", base)?;
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
        if !canonical(&directory).starts_with(canonical(&tftp_root)) {
            return Err(self.invalid(
                Some(catalogue.directory.referenced.line() as usize),
                "configuration.directory".into(),
                format!(
                    "{} is outside the TFTP root {}: the bootloader could not read it",
                    directory.display(),
                    tftp_root.display()
                ),
            ));
        }
        Ok(Paths {
            tftp_root,
            catalogue: directory,
        })
    }

    fn bootloaders(
        &self,
        catalogue: Option<RawCatalogue>,
        paths: &Paths,
        warnings: &mut Vec<Warning>,
    ) -> Result<Vec<Bootloader>, SettingsError> {
        let raw = catalogue.map(|c| c.bootloaders).unwrap_or_default();
        let mut seen = HashSet::new();
        let mut bootloaders = Vec::with_capacity(raw.len());
        for (i, b) in raw.into_iter().enumerate() {
            let line = Some(b.name.referenced.line() as usize);
            let key = format!("configuration.bootloaders[{i}].name");
            // The name is a folder of the catalogue: one safe path component.
            ConfigName::parse(&b.name.value).map_err(|e| {
                self.invalid(
                    line,
                    key.clone(),
                    e.to_string()
                        .replace("configuration name", "bootloader name"),
                )
            })?;
            if !seen.insert(b.name.value.clone()) {
                return Err(self.invalid(
                    line,
                    key,
                    format!("bootloader {:?} is declared twice", b.name.value),
                ));
            }
            if let Some(pattern) = &b.mac_entry {
                crate::symlink_store::MacEntryPattern::parse(pattern).map_err(|reason| {
                    self.invalid(
                        line,
                        format!("configuration.bootloaders[{i}].mac_entry"),
                        format!("{pattern:?} {reason}"),
                    )
                })?;
            }
            if !paths.catalogue.join(&b.name.value).is_dir() {
                warnings.push(Warning(format!(
                    "{}: bootloader {:?} has no folder {} in the catalogue: it has no configurations",
                    self.origin.display(),
                    b.name.value,
                    paths.catalogue.join(&b.name.value).display()
                )));
            }
            bootloaders.push(Bootloader {
                name: b.name.value,
                file: b.file,
                config_path: b.config_path,
                mac_entry: b.mac_entry,
            });
        }
        Ok(bootloaders)
    }

    fn server(&self, raw: RawServer) -> Result<ServerSettings, SettingsError> {
        let listen = match raw.listen {
            Some(text) => text.value.parse().map_err(|_| {
                self.invalid(
                    Some(text.referenced.line() as usize),
                    "server.listen".into(),
                    format!(
                        "{:?} is not an IP address (e.g. 0.0.0.0 or 127.0.0.1)",
                        text.value
                    ),
                )
            })?,
            None => IpAddr::from([0, 0, 0, 0]),
        };
        Ok(ServerSettings {
            listen,
            port: raw.port.unwrap_or(DEFAULT_PORT),
            token: raw.token.filter(|t| !t.is_empty()),
        })
    }
}
