//! Validation: the file's shapes ([`super::raw`]) checked and turned into [`Settings`]. Every
//! problem is one [`SettingsError::Invalid`] naming the line (where known), the key, and what
//! to change.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bootloader::{Bootloader, HttpScript, MacEntryPattern};
use crate::inventory::{
    Adapter, AdapterCommand, Bmc, BmcAddress, BootMode, Host, Inventory, Ipmi, Management, Paths,
    Redfish,
};
use crate::mac::MacAddress;
use crate::names::{ConfigName, HostName};

use super::raw::{
    RawAdapter, RawCatalogue, RawClient, RawCommand, RawFile, RawHost, RawIpmi, RawManagement,
    RawPower, RawRedfish, RawServer, RawTftp, Text,
};
use super::{
    BootTrust, PowerSettings, ServerSettings, Settings, SettingsError, StoreKind, Warning,
    DEFAULT_ARP_TABLE, DEFAULT_DISCOVERY_CMD, DEFAULT_MAX_CONNECTIONS_PER_PEER, DEFAULT_PORT,
};

/// The checks of one file, named `origin` in every error.
pub(super) struct Checker<'a> {
    pub origin: &'a Path,
}

fn line_of(text: &Text) -> Option<usize> {
    Some(text.referenced.line() as usize)
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

    fn warn(&self, warnings: &mut Vec<Warning>, message: String) {
        warnings.push(Warning(format!("{}: {message}", self.origin.display())));
    }

    pub(super) fn validate(
        &self,
        raw: RawFile,
        base: &Path,
        warnings: &mut Vec<Warning>,
    ) -> Result<Settings, SettingsError> {
        let adapters = self.adapters(raw.host_management_adapters)?;
        let inventory = self.hosts(raw.hosts, &adapters, base, warnings)?;
        let paths = self.paths(raw.tftp, raw.configuration.as_ref(), base)?;
        let bootloaders = self.bootloaders(raw.configuration, &paths, warnings)?;
        let server = self.server(raw.server, base)?;
        if raw.arp.and_then(|a| a.cmd).is_some() {
            self.warn(warnings, format!(
                "key \"arp.cmd\" ignored: the ARP table is read from the file `arp_table` names ({DEFAULT_ARP_TABLE} by default)"
            ));
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
        let store = self.store(raw.store.as_ref())?;
        if store == StoreKind::Memory && raw.state_dir.is_some() {
            self.warn(
                warnings,
                "state_dir is not used with store: memory (nothing is kept on disk)".into(),
            );
        }
        Ok(Settings {
            store,
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
            power: self.power(raw.power)?,
            state_dir: raw
                .state_dir
                .map(|text| self.state_dir(&text, base))
                .transpose()?,
        })
    }

    /// `store`: `files` (the default) or `memory`.
    fn store(&self, text: Option<&Text>) -> Result<StoreKind, SettingsError> {
        match text.map(|t| t.value.as_str()) {
            None | Some("files") => Ok(StoreKind::Files),
            Some("memory") => Ok(StoreKind::Memory),
            Some(other) => Err(self.invalid(
                text.and_then(line_of),
                "store".into(),
                format!("{other:?} is not a store: use files (the TFTP root's links and state_dir, the default) or memory (nothing kept on disk, for tests)"),
            )),
        }
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
        let line = line_of(&text);
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

    /// `state_dir`: a folder that exists (the service's own; the Debian package makes
    /// `/var/lib/pxe-pilot`).
    fn state_dir(&self, text: &Text, base: &Path) -> Result<PathBuf, SettingsError> {
        self.existing_dir(text, "state_dir", base)
    }

    fn power(&self, raw: Option<RawPower>) -> Result<PowerSettings, SettingsError> {
        let mut power = PowerSettings::default();
        let Some(raw) = raw else {
            return Ok(power);
        };
        if let Some(max) = raw.max_parallel {
            if max.value == 0 {
                return Err(self.invalid(
                    Some(max.referenced.line() as usize),
                    "power.max_parallel".into(),
                    "must be at least 1".into(),
                ));
            }
            power.max_parallel = max.value.min(1024) as usize;
        }
        if let Some(ttl) = raw.status_ttl {
            power.status_ttl = Duration::from_secs(ttl.min(3600));
        }
        if let Some(wait) = raw.status_wait {
            if !(0.0..=600.0).contains(&wait) {
                return Err(self.invalid(
                    None,
                    "power.status_wait".into(),
                    "must be between 0 and 600 (seconds)".into(),
                ));
            }
            power.status_wait = Duration::from_secs_f64(wait);
        }
        Ok(power)
    }

    fn adapters(&self, raw: Vec<RawAdapter>) -> Result<HashMap<String, Adapter>, SettingsError> {
        let mut adapters = HashMap::new();
        for (i, adapter) in raw.into_iter().enumerate() {
            let name = adapter.name.value.clone();
            let line = line_of(&adapter.name);
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
            let pairs = |vars: Vec<super::raw::RawVar>| -> Vec<(String, String)> {
                vars.into_iter().map(|v| (v.name, v.value)).collect()
            };
            let value = Adapter {
                name: name.clone(),
                vars: pairs(adapter.vars),
                env: pairs(adapter.env),
                power_status: command(adapter.power_status),
                power_on: command(adapter.power_on),
                power_off: command(adapter.power_off),
                power_reset: command(adapter.power_reset),
                boot_pxe_once: command(adapter.boot_pxe_once),
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
        MacAddress::parse(&text.value).map_err(|e| self.invalid(line_of(text), key, e.to_string()))
    }

    fn optional_mac(
        &self,
        text: Option<&Text>,
        key: String,
    ) -> Result<Option<MacAddress>, SettingsError> {
        text.map(|t| self.mac(t, key)).transpose()
    }

    fn hosts(
        &self,
        raw: Vec<RawHost>,
        adapters: &HashMap<String, Adapter>,
        base: &Path,
        warnings: &mut Vec<Warning>,
    ) -> Result<Inventory, SettingsError> {
        let mut hosts = Vec::with_capacity(raw.len());
        let mut names: HashMap<HostName, usize> = HashMap::new();
        let mut macs: HashMap<MacAddress, (String, usize)> = HashMap::new();
        for (i, host) in raw.into_iter().enumerate() {
            let name_line = host.name.referenced.line() as usize;
            let name = HostName::parse(&host.name.value).map_err(|e| {
                self.invalid(Some(name_line), format!("hosts[{i}].name"), e.to_string())
            })?;
            if let Some(first) = names.insert(name.clone(), name_line) {
                return Err(self.invalid(
                    Some(name_line),
                    format!("hosts[{i}].name"),
                    format!("host {name:?} is declared twice (first at line {first}): host names must be unique"),
                ));
            }
            let mac_addresses =
                self.host_macs(i, &name, name_line, &host.mac_addresses, &mut macs)?;
            let bmc = self.bmc(i, &name, &host, adapters, base, warnings)?;
            let boot_mode = match &host.boot_mode {
                None => None,
                Some(text) => Some(match text.value.to_ascii_lowercase().as_str() {
                    "uefi" => BootMode::Uefi,
                    "bios" | "legacy" => BootMode::Bios,
                    other => {
                        return Err(self.invalid(
                            line_of(text),
                            format!("hosts[{i}].boot_mode"),
                            format!("{other:?} is not a boot mode: use uefi or bios"),
                        ))
                    }
                }),
            };
            hosts.push(Host {
                name,
                mac_addresses,
                bmc: bmc.map(Box::new),
                netboot_once: host.netboot_once.unwrap_or(true),
                boot_mode,
                vars: host.vars.into_iter().collect(),
            });
        }
        Ok(Inventory::new(hosts))
    }

    /// A host's MAC addresses: at least one, each parsed, none given twice in the file.
    fn host_macs(
        &self,
        i: usize,
        name: &HostName,
        line: usize,
        texts: &[Text],
        seen: &mut HashMap<MacAddress, (String, usize)>,
    ) -> Result<Vec<MacAddress>, SettingsError> {
        if texts.is_empty() {
            return Err(self.invalid(
                Some(line),
                format!("hosts[{i}].mac_addresses"),
                format!("host {name:?} has no MAC address: give at least one"),
            ));
        }
        let mut macs = Vec::with_capacity(texts.len());
        for (j, text) in texts.iter().enumerate() {
            let key = format!("hosts[{i}].mac_addresses[{j}]");
            let mac = self.mac(text, key.clone())?;
            let mac_line = text.referenced.line() as usize;
            if let Some((owner, first_line)) = seen.insert(mac, (name.to_string(), mac_line)) {
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
            macs.push(mac);
        }
        Ok(macs)
    }

    /// A host's power management: one of `ipmi`, `management`, `redfish` (the first given,
    /// in that order, with a warning when there are several).
    fn bmc(
        &self,
        i: usize,
        name: &HostName,
        host: &RawHost,
        adapters: &HashMap<String, Adapter>,
        base: &Path,
        warnings: &mut Vec<Warning>,
    ) -> Result<Option<Bmc>, SettingsError> {
        let given = [
            host.ipmi.is_some(),
            host.management.is_some(),
            host.redfish.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            self.warn(warnings, format!(
                "host {name:?} has several of ipmi, management and redfish: only the first of them in that order is used"
            ));
        }
        if let Some(ipmi) = &host.ipmi {
            return Ok(Some(Bmc::Ipmi(self.ipmi(i, ipmi)?)));
        }
        if let Some(management) = &host.management {
            return Ok(Some(Bmc::Adapter(
                self.management(i, management, adapters)?,
            )));
        }
        if let Some(redfish) = &host.redfish {
            return Ok(Some(Bmc::Redfish(self.redfish(i, redfish, base)?)));
        }
        Ok(None)
    }

    fn ipmi(&self, i: usize, ipmi: &RawIpmi) -> Result<Ipmi, SettingsError> {
        Ok(Ipmi {
            address: BmcAddress {
                mac_address: self.optional_mac(
                    ipmi.mac_address.as_ref(),
                    format!("hosts[{i}].ipmi.mac_address"),
                )?,
                hostname: ipmi.hostname.clone().filter(|h| !h.is_empty()),
                subnet: ipmi.subnet.clone().filter(|s| !s.is_empty()),
            },
            username: ipmi.username.clone(),
            password: ipmi.password.clone(),
            interface: ipmi
                .interface
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "lanplus".into()),
            port: ipmi.port,
            cipher_suite: ipmi.cipher_suite,
        })
    }

    fn management(
        &self,
        i: usize,
        m: &RawManagement,
        adapters: &HashMap<String, Adapter>,
    ) -> Result<Management, SettingsError> {
        if !adapters.contains_key(&m.adapter.value) {
            return Err(self.invalid(
                line_of(&m.adapter),
                format!("hosts[{i}].management.adapter"),
                format!(
                    "adapter {:?} is not declared in host_management_adapters",
                    m.adapter.value
                ),
            ));
        }
        Ok(Management {
            address: BmcAddress {
                mac_address: self.optional_mac(
                    m.mac_address.as_ref(),
                    format!("hosts[{i}].management.mac_address"),
                )?,
                hostname: m.hostname.clone().filter(|h| !h.is_empty()),
                subnet: m.subnet.clone().filter(|s| !s.is_empty()),
            },
            adapter: m.adapter.value.clone(),
            vars: m
                .vars
                .iter()
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect(),
        })
    }

    fn redfish(&self, i: usize, r: &RawRedfish, base: &Path) -> Result<Redfish, SettingsError> {
        let key = |k: &str| format!("hosts[{i}].redfish.{k}");
        let mac_address = self.optional_mac(r.mac_address.as_ref(), key("mac_address"))?;
        let hostname = match &r.address {
            Some(text) if !text.value.is_empty() => {
                let address = text.value.trim_end_matches('/');
                let host = address
                    .strip_prefix("https://")
                    .or_else(|| address.strip_prefix("http://"))
                    .unwrap_or(address);
                if host.is_empty() || host.contains('/') || host.chars().any(char::is_whitespace) {
                    return Err(self.invalid(
                        line_of(text),
                        key("address"),
                        format!(
                            "{:?} is not a BMC address: give https://HOST[:PORT] or HOST",
                            text.value
                        ),
                    ));
                }
                Some(address.to_owned())
            }
            _ => None,
        };
        if hostname.is_none() && mac_address.is_none() {
            return Err(self.invalid(
                None,
                key("address"),
                "is missing: give the BMC's address (https://10.0.0.21), or its mac_address and subnet".into(),
            ));
        }
        let system = r.system.clone().filter(|s| !s.is_empty());
        if let Some(system) = &system {
            if !system.starts_with("/redfish/v1/") {
                return Err(self.invalid(
                    None,
                    key("system"),
                    format!(
                        "{system:?} is not a Redfish system path: give /redfish/v1/Systems/<id>"
                    ),
                ));
            }
        }
        let ca_file = match &r.ca_file {
            Some(text) => {
                let path = base.join(&text.value);
                if !path.is_file() {
                    return Err(self.invalid(
                        line_of(text),
                        key("ca_file"),
                        format!(
                            "{} is not a readable file: give the PEM file of the BMC's CA",
                            path.display()
                        ),
                    ));
                }
                Some(path)
            }
            None => None,
        };
        Ok(Redfish {
            address: BmcAddress {
                mac_address,
                hostname,
                subnet: r.subnet.clone().filter(|s| !s.is_empty()),
            },
            username: r.username.clone(),
            password: r.password.clone(),
            system,
            tls_verify: r.tls_verify.unwrap_or(true),
            ca_file,
        })
    }

    fn existing_dir(&self, text: &Text, key: &str, base: &Path) -> Result<PathBuf, SettingsError> {
        let line = line_of(text);
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
                line_of(&catalogue.directory),
                "configuration.directory".into(),
                format!(
                    "{} is outside the TFTP root {}: the bootloader could not read it",
                    directory.display(),
                    tftp_root.display()
                ),
            ));
        }
        let tftp_serve = match &tftp.serve {
            None => None,
            Some(text) => Some(text.value.parse().map_err(|_| {
                self.invalid(
                    line_of(text),
                    "tftp.serve".into(),
                    format!(
                        "{:?} is not an address and port (e.g. 0.0.0.0:69 or 10.0.0.1:69)",
                        text.value
                    ),
                )
            })?),
        };
        Ok(Paths {
            tftp_root,
            catalogue: directory,
            cache_listings: tftp.cache_listings.unwrap_or(true),
            tftp_serve,
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
            let line = line_of(&b.name);
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
            let mac_entry = b
                .mac_entry
                .as_deref()
                .map(|pattern| {
                    MacEntryPattern::parse(pattern).map_err(|reason| {
                        self.invalid(
                            line,
                            format!("configuration.bootloaders[{i}].mac_entry"),
                            format!("{pattern:?} {reason}"),
                        )
                    })
                })
                .transpose()?;
            // A bootloader named after a language speaks it over HTTP unless `http:` says
            // otherwise (`http: none`).
            let http = match &b.http {
                None => HttpScript::parse(&b.name.value),
                Some(text) if matches!(text.value.as_str(), "none" | "off" | "false" | "no") => None,
                Some(text) => Some(HttpScript::parse(&text.value).ok_or_else(|| {
                    self.invalid(
                        line_of(text),
                        format!("configuration.bootloaders[{i}].http"),
                        format!(
                            "{:?} is not a script language pxe-pilot serves: use ipxe or grub (or none)",
                            text.value
                        ),
                    )
                })?),
            };
            if !paths.catalogue.join(&b.name.value).is_dir() {
                self.warn(
                    warnings,
                    format!(
                    "bootloader {:?} has no folder {} in the catalogue: it has no configurations",
                    b.name.value,
                    paths.catalogue.join(&b.name.value).display()
                ),
                );
            }
            bootloaders.push(Bootloader {
                name: b.name.value,
                file: b.file,
                config_path: b.config_path,
                mac_entry,
                http,
            });
        }
        Ok(bootloaders)
    }

    fn server(&self, raw: RawServer, base: &Path) -> Result<ServerSettings, SettingsError> {
        let listen = match raw.listen {
            Some(text) => text.value.parse().map_err(|_| {
                self.invalid(
                    line_of(&text),
                    "server.listen".into(),
                    format!(
                        "{:?} is not an IP address (e.g. 0.0.0.0 or 127.0.0.1)",
                        text.value
                    ),
                )
            })?,
            None => IpAddr::from([0, 0, 0, 0]),
        };
        let token = match (raw.token.filter(|t| !t.is_empty()), raw.token_file) {
            (Some(_), Some(file)) => {
                return Err(self.invalid(
                    line_of(&file),
                    "server.token_file".into(),
                    "server.token is set too: keep one of them".into(),
                ))
            }
            (Some(token), None) => Some(token),
            (None, Some(file)) => Some(self.token_file(&file, base)?),
            (None, None) => None,
        };
        let name = |text: &Text, key: &str| {
            ConfigName::parse(&text.value)
                .map_err(|e| self.invalid(line_of(text), key.to_owned(), e.to_string()))
        };
        let self_service = match &raw.self_service {
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, t)| name(t, &format!("server.self_service[{i}]")))
                .collect::<Result<_, _>>()?,
            None => vec![default_local()],
        };
        let once_fallback = match &raw.once_fallback {
            Some(text) => name(text, "server.once_fallback")?,
            None => default_local(),
        };
        let boot_trust = match &raw.boot_trust {
            None => BootTrust::Open,
            Some(text) => match text.value.as_str() {
                "open" => BootTrust::Open,
                "neighbour" | "neighbor" => BootTrust::Neighbour,
                other => {
                    return Err(self.invalid(
                        line_of(text),
                        "server.boot_trust".into(),
                        format!("{other:?} is not a trust rule: use open (a peer the neighbour table does not know counts) or neighbour (only a peer the table gives as the host counts)"),
                    ))
                }
            },
        };
        let origins = raw
            .origins
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, text)| {
                let origin = text.value.trim_end_matches('/');
                let valid = origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
                if valid {
                    Ok(origin.to_ascii_lowercase())
                } else {
                    Err(self.invalid(
                        line_of(text),
                        format!("server.origins[{i}]"),
                        format!("{:?} is not an origin: write scheme://host[:port], e.g. http://pxe.example.com:3478", text.value),
                    ))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let max_connections_per_peer = match &raw.max_connections_per_peer {
            None => DEFAULT_MAX_CONNECTIONS_PER_PEER,
            Some(n) if n.value >= 1 => n.value.min(65_536) as usize,
            Some(n) => {
                return Err(self.invalid(
                    Some(n.referenced.line() as usize),
                    "server.max_connections_per_peer".into(),
                    "must be at least 1".into(),
                ))
            }
        };
        Ok(ServerSettings {
            listen,
            port: raw.port.unwrap_or(DEFAULT_PORT),
            token,
            self_service,
            once_fallback,
            boot_trust,
            origins,
            max_connections_per_peer,
        })
    }

    /// The token in `server.token_file`: its first line, which must not be empty.
    fn token_file(&self, file: &Text, base: &Path) -> Result<String, SettingsError> {
        let path = base.join(&file.value);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            self.invalid(
                line_of(file),
                "server.token_file".into(),
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let token = text.lines().next().unwrap_or("").trim();
        if token.is_empty() {
            return Err(self.invalid(
                line_of(file),
                "server.token_file".into(),
                format!(
                    "{} is empty: write the token on its first line",
                    path.display()
                ),
            ));
        }
        Ok(token.to_owned())
    }
}

/// `local`, the original's name for "boot the local disk".
fn default_local() -> ConfigName {
    ConfigName::parse("local").unwrap_or_else(|_| unreachable!("`local` is a valid name"))
}
