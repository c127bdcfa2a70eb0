//! The deploy rules: which hosts a request names, which configuration they get, and what each
//! host boots now. [`Pilot`] ties the settings, the catalogue and a [`Store`] together; the
//! server and any embedding tool call it, never the store directly.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::api::HostQuery;
use crate::catalogue::{Catalogue, CatalogueError, Configuration};
use crate::inventory::{Bootloader, Host};
use crate::mac::{MacAddress, MacAddressError};
use crate::settings::Settings;
use crate::store::{Entries, Resolved, Store, StoreError, Target};
use crate::symlink_store::SymlinkStore;

/// What a host boots now, read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployment {
    /// No entry: the bootloader falls back to its default.
    NotDeployed,
    /// The host's first MAC's entry leads to this configuration (shared by every host that
    /// boots it: a listing does not copy it per host).
    Deployed(Arc<Configuration>),
    /// The entry leads to no configuration of the catalogue; the text says what it leads to.
    Dangling(String),
}

impl Deployment {
    /// The configuration's name, or `-` when there is none, for logs.
    pub fn label(&self) -> String {
        match self {
            Deployment::NotDeployed => "-".into(),
            Deployment::Deployed(c) => c.name.to_string(),
            Deployment::Dangling(target) => format!("dangling:{target}"),
        }
    }
}

/// A host and what it boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostState<'a> {
    /// The host, from the inventory.
    pub host: &'a Host,
    /// What its entries lead to.
    pub deployment: Deployment,
}

/// A host switched by [`Pilot::deploy`] or [`Pilot::undeploy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switched<'a> {
    /// The host.
    pub host: &'a Host,
    /// What it booted before.
    pub previous: Deployment,
    /// Whether the request asked for a reboot of this host.
    pub reboot: bool,
}

/// What an HTTP layer should answer for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed (400).
    BadRequest,
    /// A configuration or host does not exist (404).
    NotFound,
    /// The request contradicts itself or the state (409).
    Conflict,
    /// The server could not do it (500).
    Internal,
}

/// Why a request cannot be carried out; each message tells the reader what to do.
#[derive(Debug, thiserror::Error)]
pub enum PilotError {
    /// A catalogue error (unknown or unreadable configuration).
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// A store error (the disk refused a read or a write).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Power management is absent or failed.
    #[error(transparent)]
    Power(#[from] crate::power::PowerError),
    /// The refresh command could not run.
    #[error("refresh: {0}")]
    Refresh(#[from] crate::command::CommandError),
    /// A MAC address of the request does not parse.
    #[error(transparent)]
    InvalidMac(#[from] MacAddressError),
    /// No host has this name.
    #[error("no host is named {name:?}: `pxe-pilot host list` shows the hosts")]
    UnknownHost {
        /// The name asked for.
        name: String,
    },
    /// No host has this MAC address.
    #[error("no host has MAC address {mac}: add it to a host in the configuration file")]
    UnknownMac {
        /// The MAC asked for.
        mac: MacAddress,
    },
    /// None of these MAC addresses belongs to a host.
    #[error("no host has any of the MAC addresses {}", macs.join(", "))]
    NoHostForMacs {
        /// The MACs asked for.
        macs: Vec<String>,
    },
    /// An entry of the request names no host.
    #[error("host #{index} of the request has neither a name nor a macAddress: give one")]
    EmptyQuery {
        /// Its position, from 1.
        index: usize,
    },
    /// The request names no host at all.
    #[error("the request names no host: give {{\"hosts\": [{{\"name\": ...}}]}}")]
    NoHosts,
    /// The same host is named twice in one request.
    #[error("host {name:?} appears several times in the request: name each host once")]
    HostNamedTwice {
        /// The host.
        name: String,
    },
    /// A name and a MAC address that belong to different hosts.
    #[error("MAC address {mac} belongs to {owner}, not to host {name:?}")]
    NameMacMismatch {
        /// The name given.
        name: String,
        /// The MAC given.
        mac: MacAddress,
        /// Who owns the MAC (`host "h2"` or `no host`).
        owner: String,
    },
}

impl PilotError {
    /// The HTTP answer this error deserves.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PilotError::Catalogue(CatalogueError::NotFound { .. }) => ErrorKind::NotFound,
            PilotError::Catalogue(CatalogueError::Io { .. }) => ErrorKind::Internal,
            PilotError::Catalogue(_) => ErrorKind::Conflict,
            PilotError::Store(_) => ErrorKind::Internal,
            PilotError::InvalidMac(_) | PilotError::EmptyQuery { .. } | PilotError::NoHosts => {
                ErrorKind::BadRequest
            }
            PilotError::UnknownHost { .. }
            | PilotError::UnknownMac { .. }
            | PilotError::NoHostForMacs { .. } => ErrorKind::NotFound,
            PilotError::HostNamedTwice { .. }
            | PilotError::NameMacMismatch { .. }
            | PilotError::Power(_)
            | PilotError::Refresh(_) => ErrorKind::Conflict,
        }
    }
}

/// The service: settings, catalogue and store, with per-host ordering of writes.
#[derive(Debug)]
pub struct Pilot<S: Store = SymlinkStore> {
    settings: Settings,
    catalogue: Catalogue,
    store: S,
    /// One lock per host, by its position in the inventory: deploys of the same host are
    /// serialised, others run in parallel.
    host_locks: Vec<Mutex<()>>,
}

impl Pilot<SymlinkStore> {
    /// Opens the symlink store of the settings' TFTP root and removes what a crash left.
    pub fn open(settings: Settings) -> Result<Self, StoreError> {
        let store = SymlinkStore::open(&settings.paths.tftp_root, &settings.paths.catalogue)?
            .with_bootloaders(&settings.bootloaders)?;
        let swept = store.sweep()?;
        if swept > 0 {
            tracing::warn!(
                swept,
                "removed temporary entries left by an interrupted write"
            );
        }
        let pilot = Pilot::with_store(settings, store);
        pilot.finish_interrupted()?;
        Ok(pilot)
    }
}

impl<S: Store> Pilot<S> {
    /// A service over any store.
    pub fn with_store(settings: Settings, store: S) -> Self {
        let catalogue = Catalogue::new(&settings.paths.catalogue, settings.bootloaders.clone());
        let host_locks = settings
            .inventory
            .hosts()
            .iter()
            .map(|_| Mutex::new(()))
            .collect();
        Pilot {
            settings,
            catalogue,
            store,
            host_locks,
        }
    }

    /// The settings it was opened with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store it writes to.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Power management under the service's settings.
    pub fn power(&self) -> crate::power::Power<'_> {
        crate::power::Power::new(&self.settings)
    }

    /// The host named `name`, or the error that says no host has that name.
    fn named(&self, name: &str) -> Result<&Host, PilotError> {
        self.settings
            .inventory
            .by_name(name)
            .ok_or_else(|| PilotError::UnknownHost {
                name: name.chars().take(128).collect(),
            })
    }

    /// Switches the power of the host named `name`.
    pub fn power_action(
        &self,
        name: &str,
        action: crate::power::PowerAction,
    ) -> Result<&Host, PilotError> {
        let host = self.named(name)?;
        self.power().act(host, action)?;
        Ok(host)
    }

    /// Scans the management subnets so the ARP table learns the BMCs' addresses.
    pub fn refresh(&self) -> Result<Vec<String>, PilotError> {
        Ok(self.power().refresh()?)
    }

    /// The declared bootloaders.
    pub fn bootloaders(&self) -> &[Bootloader] {
        self.catalogue.bootloaders()
    }

    /// The configurations of the catalogue, sorted by bootloader then name.
    pub fn configurations(&self) -> Result<Vec<Configuration>, PilotError> {
        Ok(self.catalogue.list()?)
    }

    /// One configuration and its text.
    pub fn configuration(&self, name: &str) -> Result<(Configuration, String), PilotError> {
        Ok(self.catalogue.content(name)?)
    }

    /// Every host and what it boots, in the configuration file's order.
    pub fn hosts(&self) -> Result<Vec<HostState<'_>>, PilotError> {
        Ok(self.host_states()?.collect())
    }

    /// Every host and what it boots, in the configuration file's order, one at a time: the
    /// store and the catalogue are read now, each host's state is worked out when the
    /// iterator reaches it (a listing written as it goes holds no list of states).
    pub fn host_states(
        &self,
    ) -> Result<impl ExactSizeIterator<Item = HostState<'_>> + '_, PilotError> {
        let entries = self.store.entries()?;
        let by_path = self.configurations_by_path()?;
        let bootloaders = self.bootloaders();
        Ok(self
            .settings
            .inventory
            .hosts()
            .iter()
            .map(move |host| HostState {
                host,
                deployment: deployment_of(host, &entries, &by_path, bootloaders),
            }))
    }

    /// The host named `name` and what it boots.
    pub fn host(&self, name: &str) -> Result<HostState<'_>, PilotError> {
        let host = self.named(name)?;
        self.state_of(host)
    }

    /// The host that owns MAC address `mac` (any spelling) and what it boots.
    pub fn host_by_mac(&self, mac: &str) -> Result<HostState<'_>, PilotError> {
        let mac = MacAddress::parse(mac)?;
        let host = self
            .settings
            .inventory
            .by_mac(&mac)
            .ok_or(PilotError::UnknownMac { mac })?;
        self.state_of(host)
    }

    /// The host that owns any of `macs` (a machine's NICs, for `--self`).
    pub fn host_by_any_mac(&self, macs: &[MacAddress]) -> Option<&Host> {
        macs.iter().find_map(|m| self.settings.inventory.by_mac(m))
    }

    /// What one host boots: its own entries only, unless one of them leads to another MAC's
    /// entry (made by hand), which only the whole folder can resolve.
    fn state_of<'a>(&'a self, host: &'a Host) -> Result<HostState<'a>, PilotError> {
        let by_path = self.configurations_by_path()?;
        let mut entries = self.store.entries_for(&host.mac_addresses)?;
        if entries.leads_outside(&host.mac_addresses) {
            entries = self.store.entries()?;
        }
        Ok(HostState {
            host,
            deployment: deployment_of(host, &entries, &by_path, self.bootloaders()),
        })
    }

    fn configurations_by_path(&self) -> Result<ConfigurationsByPath, PilotError> {
        Ok(by_path(self.catalogue.list()?))
    }

    /// The hosts a request names, each once, in the request's order; checks everything
    /// and writes nothing.
    pub fn resolve(&self, queries: &[HostQuery]) -> Result<Vec<(&Host, bool)>, PilotError> {
        if queries.is_empty() {
            return Err(PilotError::NoHosts);
        }
        let inventory = &self.settings.inventory;
        let mut seen = HashSet::new();
        let mut hosts = Vec::with_capacity(queries.len());
        for (i, query) in queries.iter().enumerate() {
            let name = query.name.as_deref().filter(|n| !n.is_empty());
            let mac = query
                .mac_address
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(MacAddress::parse)
                .transpose()?;
            let host = match (name, mac) {
                (None, None) => return Err(PilotError::EmptyQuery { index: i + 1 }),
                (Some(name), None) => self.named(name)?,
                (None, Some(mac)) => inventory
                    .by_mac(&mac)
                    .ok_or(PilotError::UnknownMac { mac })?,
                (Some(name), Some(mac)) => {
                    let named = self.named(name)?;
                    match inventory.by_mac(&mac) {
                        Some(owner) if owner.name == named.name => named,
                        owner => {
                            return Err(PilotError::NameMacMismatch {
                                name: name.to_owned(),
                                mac,
                                owner: owner
                                    .map(|o| format!("host {:?}", o.name.as_str()))
                                    .unwrap_or_else(|| "no host".into()),
                            })
                        }
                    }
                }
            };
            if !seen.insert(&host.name) {
                return Err(PilotError::HostNamedTwice {
                    name: host.name.to_string(),
                });
            }
            hosts.push((host, query.reboot));
        }
        Ok(hosts)
    }

    /// Points every host the request names at configuration `name`. All hosts are checked
    /// before anything is written; each host is switched atomically.
    pub fn deploy(
        &self,
        name: &str,
        queries: &[HostQuery],
    ) -> Result<(Configuration, Vec<Switched<'_>>), PilotError> {
        // One listing of the catalogue for the configuration and the previous deployments.
        let all = self.catalogue.list()?;
        let configuration = Catalogue::pick(&all, name)?;
        let hosts = self.resolve(queries)?;
        let by_path = by_path(all);
        let mut switched = Vec::with_capacity(hosts.len());
        for (host, reboot) in hosts {
            let _guard = self.lock(host);
            let previous = deployment_of(
                host,
                &self.store.entries_for(&host.mac_addresses)?,
                &by_path,
                self.bootloaders(),
            );
            self.store.deploy(&host.mac_addresses, &configuration)?;
            switched.push(Switched {
                host,
                previous,
                reboot,
            });
        }
        Ok((configuration, switched))
    }

    /// Removes the host's entries: it falls back to the bootloader's default.
    pub fn undeploy(&self, name: &str) -> Result<Switched<'_>, PilotError> {
        let host = self.named(name)?;
        let by_path = self.configurations_by_path()?;
        let _guard = self.lock(host);
        let previous = deployment_of(
            host,
            &self.store.entries_for(&host.mac_addresses)?,
            &by_path,
            self.bootloaders(),
        );
        self.store.undeploy(&host.mac_addresses)?;
        Ok(Switched {
            host,
            previous,
            reboot: false,
        })
    }

    /// Finishes what a crash interrupted: a host whose first NIC has no entry while its other
    /// NICs' entries are links to that entry (a first deploy stopped before its last rename,
    /// or an undeploy stopped after its first removal) boots the default on every NIC already;
    /// its leftover links are removed so that every entry leads somewhere. Hosts whose other
    /// entries were made by hand are left alone. Returns how many hosts were cleaned.
    pub fn finish_interrupted(&self) -> Result<usize, StoreError> {
        let mut cleaned = 0;
        for host in self.settings.inventory.hosts() {
            let first = host.first_mac();
            let entries = self.store.entries_for(&host.mac_addresses)?;
            if entries.get(&first).is_some() || entries.is_empty() {
                continue;
            }
            let only_links_to_first = entries
                .iter()
                .all(|(_, target)| *target == Target::Entry(first));
            if !only_links_to_first {
                continue;
            }
            let _guard = self.lock(host);
            self.store.undeploy(&host.mac_addresses)?;
            tracing::warn!(
                host = %host.name,
                links = entries.len(),
                "removed the links an interrupted deploy or undeploy left; the host boots the default"
            );
            cleaned += 1;
        }
        Ok(cleaned)
    }

    fn lock(&self, host: &Host) -> Option<std::sync::MutexGuard<'_, ()>> {
        self.settings
            .inventory
            .position(host.name.as_str())
            .and_then(|i| self.host_locks.get(i))
            .map(|m| m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// The configurations of the catalogue by their path, each shared by the hosts that boot it.
type ConfigurationsByPath = HashMap<PathBuf, Arc<Configuration>>;

fn by_path(configurations: Vec<Configuration>) -> ConfigurationsByPath {
    configurations
        .into_iter()
        .map(|c| (c.path.clone(), Arc::new(c)))
        .collect()
}

/// What `host` boots, from the entries of every bootloader: its `pxelinux.cfg/01-<mac>`
/// entry says which configuration; when that configuration's bootloader keeps entries of its
/// own (`mac_entry`), that entry must lead to the same configuration, else the host would
/// boot something else (or its default) and the deployment is reported dangling. A host
/// without a `pxelinux.cfg/` entry but with a bootloader's own entry (made by hand) boots
/// what that entry leads to.
fn deployment_of(
    host: &Host,
    entries: &Entries,
    by_path: &ConfigurationsByPath,
    bootloaders: &[Bootloader],
) -> Deployment {
    let first = host.first_mac();
    let found = |resolved: Resolved| match resolved {
        Resolved::NotDeployed => Deployment::NotDeployed,
        Resolved::Configuration(path) => match by_path.get(&path) {
            Some(configuration) => Deployment::Deployed(Arc::clone(configuration)),
            None => Deployment::Dangling(path.display().to_string()),
        },
        Resolved::Broken(what) => Deployment::Dangling(what),
    };
    let own_entries = bootloaders.iter().filter_map(|b| {
        let pattern = b.mac_entry.as_deref()?;
        let pattern = crate::symlink_store::MacEntryPattern::parse(pattern).ok()?;
        Some((b.name.as_str(), pattern))
    });
    match found(entries.resolve(&first)) {
        Deployment::Deployed(configuration) => {
            let Some(bootloader) = configuration.bootloader.as_ref() else {
                return Deployment::Deployed(configuration);
            };
            let Some((name, pattern)) =
                own_entries.into_iter().find(|(n, _)| *n == bootloader.name)
            else {
                return Deployment::Deployed(configuration);
            };
            let problem = match entries.resolve_bootloader(name, &first) {
                Resolved::Configuration(path) if path == configuration.path => {
                    return Deployment::Deployed(configuration)
                }
                Resolved::Configuration(path) => format!("leads to {}", path.display()),
                Resolved::NotDeployed => "is missing".to_owned(),
                Resolved::Broken(what) => format!("is broken: {what}"),
            };
            Deployment::Dangling(format!(
                "{} ({name} entry {} {problem})",
                configuration.path.display(),
                pattern.entry(&first).display()
            ))
        }
        Deployment::NotDeployed => own_entries
            .map(|(name, _)| found(entries.resolve_bootloader(name, &first)))
            .find(|d| *d != Deployment::NotDeployed)
            .unwrap_or(Deployment::NotDeployed),
        dangling => dangling,
    }
}
