//! Validation: the file's shapes ([`super::raw`]) checked and turned into [`Settings`]. Every
//! problem is one [`SettingsError::Invalid`] naming the line (where known), the key, and what
//! to change.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bootloader::{Bootloader, HttpScript, MacEntryPattern};
use crate::inventory::Paths;
use crate::names::ConfigName;

use super::raw::{RawCatalogue, RawClient, RawEtcd, RawFile, RawPower, RawStore, RawTftp, Text};
use super::{
    EtcdSettings, PowerSettings, Settings, SettingsError, StoreKind, Warning, DEFAULT_ARP_TABLE,
    DEFAULT_DISCOVERY_CMD,
};

/// The checks of one file, named `origin` in every error.
pub(super) struct Checker<'a> {
    pub origin: &'a Path,
}

pub(super) fn line_of(text: &Text) -> Option<usize> {
    Some(text.referenced.line() as usize)
}

impl Checker<'_> {
    pub(super) fn invalid(
        &self,
        line: Option<usize>,
        key: String,
        message: String,
    ) -> SettingsError {
        SettingsError::Invalid {
            path: self.origin.to_owned(),
            line,
            key,
            message,
        }
    }

    pub(super) fn warn(&self, warnings: &mut Vec<Warning>, message: String) {
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
        let store = self.store(raw.store, base)?;
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
            site: raw.site.unwrap_or_else(machine_name),
        })
    }

    /// `store`: `files` (the default), `memory` or `{etcd: {...}}`.
    pub(super) fn store(
        &self,
        raw: Option<RawStore>,
        base: &Path,
    ) -> Result<StoreKind, SettingsError> {
        match raw {
            None => Ok(StoreKind::Files),
            Some(RawStore::Name(name)) => match name.as_str() {
                "files" => Ok(StoreKind::Files),
                "memory" => Ok(StoreKind::Memory),
                other => Err(self.invalid(
                    None,
                    "store".into(),
                    format!("{other:?} is not a store: use files (the TFTP root's links and state_dir, the default), memory (nothing kept on disk, for tests) or {{etcd: {{endpoints: [...]}}}} (a fleet's state)"),
                )),
            },
            Some(RawStore::Etcd { etcd }) => self.etcd(etcd, base).map(StoreKind::Etcd),
        }
    }

    /// `store.etcd`: endpoints as URLs, a prefix ending with `/`, files that exist.
    fn etcd(&self, raw: RawEtcd, base: &Path) -> Result<EtcdSettings, SettingsError> {
        let bad = |key: &str, why: String| self.invalid(None, format!("store.etcd.{key}"), why);
        if raw.endpoints.is_empty() {
            return Err(bad(
                "endpoints",
                "list at least one member's client URL, e.g. [http://10.0.0.5:2379]".into(),
            ));
        }
        for endpoint in &raw.endpoints {
            let scheme_ok = endpoint.starts_with("http://") || endpoint.starts_with("https://");
            if !scheme_ok || endpoint.trim_end_matches('/').contains(char::is_whitespace) {
                return Err(bad(
                    "endpoints",
                    format!("{endpoint:?} is not a client URL: write http://HOST:2379 or https://HOST:2379"),
                ));
            }
        }
        let prefix = raw.prefix.unwrap_or_else(|| "/pxe-pilot/".to_owned());
        if prefix.is_empty() || !prefix.ends_with('/') {
            return Err(bad(
                "prefix",
                format!("{prefix:?} must end with / (e.g. /pxe-pilot/)"),
            ));
        }
        let file = |key: &str, path: Option<String>| -> Result<Option<PathBuf>, SettingsError> {
            let Some(path) = path else { return Ok(None) };
            let path = base.join(path);
            if !path.is_file() {
                return Err(bad(key, format!("{} is not a file", path.display())));
            }
            Ok(Some(path))
        };
        let ca_file = file("ca_file", raw.ca_file)?;
        let client_cert = match (
            file("cert_file", raw.cert_file)?,
            file("key_file", raw.key_file)?,
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => {
                return Err(bad(
                    "cert_file",
                    "a client certificate needs both cert_file and key_file".into(),
                ))
            }
        };
        let credentials = match (raw.username, file("password_file", raw.password_file)?) {
            (Some(user), Some(path)) => {
                let password = std::fs::read_to_string(&path).map_err(|e| {
                    bad(
                        "password_file",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                Some((user, password.trim_end_matches(['\r', '\n']).to_owned()))
            }
            (None, None) => None,
            _ => {
                return Err(bad(
                    "username",
                    "etcd's authentication needs both username and password_file".into(),
                ))
            }
        };
        Ok(EtcdSettings {
            endpoints: raw
                .endpoints
                .iter()
                .map(|e| e.trim_end_matches('/').to_owned())
                .collect(),
            prefix,
            ca_file,
            client_cert,
            credentials,
        })
    }

    /// `client.binary`: a file that exists (relative paths from the file's folder).
    pub(super) fn client_binary(
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
    pub(super) fn state_dir(&self, text: &Text, base: &Path) -> Result<PathBuf, SettingsError> {
        self.existing_dir(text, "state_dir", base)
    }

    pub(super) fn power(&self, raw: Option<RawPower>) -> Result<PowerSettings, SettingsError> {
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

    pub(super) fn existing_dir(
        &self,
        text: &Text,
        key: &str,
        base: &Path,
    ) -> Result<PathBuf, SettingsError> {
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

    pub(super) fn paths(
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

    pub(super) fn bootloaders(
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
}

/// `local`, the original's name for "boot the local disk".
pub(super) fn default_local() -> ConfigName {
    ConfigName::parse("local").unwrap_or_else(|_| unreachable!("`local` is a valid name"))
}

/// This machine's host name, the default `site`.
pub fn machine_name() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy().into_owned();
    if name.is_empty() {
        "pxe-pilot".to_owned()
    } else {
        name
    }
}
