//! The deploy rules: which hosts a request names, which configuration they get, and what each
//! host boots now. [`Pilot`] ties the settings, the catalogue and a [`Store`] together; the
//! server and any embedding tool call it, never the store directly.

use std::collections::HashSet;
use std::sync::Arc;

use crate::bootloader::Bootloader;
use crate::catalogue::{Catalogue, Configuration, Listing};
use crate::events::NewEvent;
use crate::inventory::Host;
use crate::mac::MacAddress;
use crate::names::HostName;
use crate::settings::Settings;
use crate::store::{Entries, Expect, Resolved, Store, StoreError, Swap};

mod error;

pub use error::{ErrorKind, PilotError};

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
}

/// A host a request names: by name, by any of its MAC addresses, or both (they must agree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSelector {
    /// The host's name.
    pub name: Option<HostName>,
    /// Any of its MAC addresses.
    pub mac: Option<MacAddress>,
}

impl HostSelector {
    /// The host named `name`.
    pub fn by_name(name: HostName) -> Self {
        HostSelector {
            name: Some(name),
            mac: None,
        }
    }

    /// The host that owns `mac`.
    pub fn by_mac(mac: MacAddress) -> Self {
        HostSelector {
            name: None,
            mac: Some(mac),
        }
    }

    /// Parses a request's name and MAC address (any spelling); an empty text counts as
    /// absent. A name no host can have is an unknown host; a MAC that does not parse is a
    /// bad request.
    pub fn parse(name: Option<&str>, mac: Option<&str>) -> Result<Self, PilotError> {
        let name = name
            .filter(|n| !n.is_empty())
            .map(|n| {
                HostName::parse(n).map_err(|_| PilotError::UnknownHost {
                    name: n.chars().take(128).collect(),
                })
            })
            .transpose()?;
        let mac = mac
            .filter(|m| !m.is_empty())
            .map(MacAddress::parse)
            .transpose()?;
        Ok(HostSelector { name, mac })
    }
}

/// What [`Pilot::deploy`] did, host by host, in the request's order.
#[derive(Debug)]
pub struct Deployed<'a> {
    /// The configuration deployed.
    pub configuration: Configuration,
    /// Each host named, and what became of it.
    pub hosts: Vec<HostOutcome<'a>>,
}

/// What a deploy did to one host.
#[derive(Debug)]
pub struct HostOutcome<'a> {
    /// The host.
    pub host: &'a Host,
    /// What it booted before.
    pub previous: Deployment,
    /// `Ok` when it was switched; the store's error when its write failed; `Err(None)` when it
    /// was not tried because an earlier host's write failed.
    pub result: Result<(), Option<StoreError>>,
    /// With [`Pilot::deploy_recording`], for a host switched: its event as recorded with the
    /// switch, or why it was not recorded.
    pub recorded: Option<Result<NewEvent, StoreError>>,
}

/// What makes a deploy's event for a host, from what it booted before and the configuration
/// deployed.
pub type MakeEvent<'e> = &'e dyn Fn(&Host, &Deployment, &Configuration) -> NewEvent;

impl Deployed<'_> {
    /// True when every host was switched.
    pub fn complete(&self) -> bool {
        self.hosts.iter().all(|h| h.result.is_ok())
    }
}

/// How often a compare-and-swap is tried again when the host changed between its read and
/// its write (each retry reads the host again, so a real change ends it at once).
const SWITCH_TRIES: usize = 4;

/// The entries' rules over one reading of the configuration file: settings, catalogue and
/// the store (which orders the switches of each host).
#[derive(Debug)]
pub struct Pilot {
    settings: Arc<Settings>,
    catalogue: Catalogue,
    store: Arc<dyn Store>,
}

impl Pilot {
    /// Opens the store the settings choose (`store:`, see [`crate::open_store`]): for a
    /// process that opens one reading of the configuration; a reload passes the store on
    /// ([`Pilot::with_store`]).
    pub fn open(settings: impl Into<Arc<Settings>>) -> Result<Self, StoreError> {
        let settings = settings.into();
        let store = crate::store::open(&settings)?;
        Ok(Pilot::with_store(settings, store))
    }

    /// The rules of `settings` over a new [`MemoryStore`](crate::MemoryStore), whatever its
    /// `store:` says: for tests and embedders that keep nothing.
    pub fn in_memory(settings: impl Into<Arc<Settings>>) -> Result<Self, StoreError> {
        let settings = settings.into();
        let store = Arc::new(crate::store::MemoryStore::new(&settings)?);
        Ok(Pilot::with_store(settings, store))
    }

    /// The rules of `settings` over `store` (opened already, or kept across a reload).
    pub fn with_store(settings: impl Into<Arc<Settings>>, store: Arc<dyn Store>) -> Self {
        let settings = settings.into();
        let mut catalogue = Catalogue::new(&settings.paths.catalogue, settings.bootloaders.clone());
        if settings.paths.cache_listings {
            catalogue = catalogue.cached();
        }
        Pilot {
            settings,
            catalogue,
            store,
        }
    }

    /// The settings it was opened with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The settings it was opened with, to share (with the power service).
    pub fn shared_settings(&self) -> Arc<Settings> {
        Arc::clone(&self.settings)
    }

    /// The store: everything the service remembers.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The host named `name`, or the error that says no host has that name.
    pub fn named(&self, name: &str) -> Result<&Host, PilotError> {
        self.settings
            .inventory
            .by_name(name)
            .ok_or_else(|| PilotError::UnknownHost {
                name: name.chars().take(128).collect(),
            })
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

    /// The configuration named `name` (unique across the bootloaders' folders).
    pub fn configuration_named(&self, name: &str) -> Result<Configuration, PilotError> {
        Ok(self.catalogue.find(name)?)
    }

    /// The bytes of a configuration's file (see [`Catalogue::read`]).
    pub fn read_configuration(&self, configuration: &Configuration) -> Result<Vec<u8>, PilotError> {
        Ok(self.catalogue.read(configuration)?)
    }

    /// Every host and what it boots, in the configuration file's order: the store and the
    /// catalogue are read now, each host's state is worked out when the iterator reaches it.
    pub fn hosts(&self) -> Result<impl ExactSizeIterator<Item = HostState<'_>> + '_, PilotError> {
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

    /// The host that owns MAC address `mac` and what it boots.
    pub fn host_by_mac(&self, mac: &MacAddress) -> Result<HostState<'_>, PilotError> {
        let host = self
            .settings
            .inventory
            .by_mac(mac)
            .ok_or(PilotError::UnknownMac { mac: *mac })?;
        self.state_of(host)
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

    fn configurations_by_path(&self) -> Result<Arc<Listing>, PilotError> {
        Ok(self.catalogue.listing()?)
    }

    /// The hosts a request names, each once, in the request's order; checks everything
    /// and writes nothing.
    pub fn select(&self, selectors: &[HostSelector]) -> Result<Vec<&Host>, PilotError> {
        if selectors.is_empty() {
            return Err(PilotError::NoHosts);
        }
        let inventory = &self.settings.inventory;
        let mut seen = HashSet::new();
        let mut hosts = Vec::with_capacity(selectors.len());
        for (i, selector) in selectors.iter().enumerate() {
            let host = match (&selector.name, selector.mac) {
                (None, None) => return Err(PilotError::EmptyQuery { index: i + 1 }),
                (Some(name), None) => self.named(name.as_str())?,
                (None, Some(mac)) => inventory
                    .by_mac(&mac)
                    .ok_or(PilotError::UnknownMac { mac })?,
                (Some(name), Some(mac)) => {
                    let named = self.named(name.as_str())?;
                    match inventory.by_mac(&mac) {
                        Some(owner) if owner.name == named.name => named,
                        owner => {
                            return Err(PilotError::NameMacMismatch {
                                name: name.to_string(),
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
            hosts.push(host);
        }
        Ok(hosts)
    }

    /// Points every host the request names at configuration `name`. All hosts are checked
    /// before anything is written; each host is switched atomically, one after the other. If
    /// a host's write fails, the hosts after it are not tried, and the answer says which
    /// hosts were switched (an error is returned only when no host was).
    pub fn deploy(
        &self,
        name: &str,
        selectors: &[HostSelector],
    ) -> Result<Deployed<'_>, PilotError> {
        self.deploy_with(name, selectors, None)
    }

    /// [`Pilot::deploy`], each host's event recorded with its switch (one transaction in a
    /// shared store): `event` makes it from what the host booted before.
    pub fn deploy_recording(
        &self,
        name: &str,
        selectors: &[HostSelector],
        event: MakeEvent<'_>,
    ) -> Result<Deployed<'_>, PilotError> {
        self.deploy_with(name, selectors, Some(event))
    }

    fn deploy_with(
        &self,
        name: &str,
        selectors: &[HostSelector],
        event: Option<MakeEvent<'_>>,
    ) -> Result<Deployed<'_>, PilotError> {
        // One listing of the catalogue for the configuration and the previous deployments.
        let by_path = self.catalogue.listing()?;
        let configuration = by_path.pick(name)?;
        let hosts = self.select(selectors)?;
        let mut outcomes: Vec<HostOutcome<'_>> = Vec::with_capacity(hosts.len());
        let mut failed = false;
        for host in hosts {
            if failed {
                outcomes.push(HostOutcome {
                    host,
                    previous: Deployment::NotDeployed,
                    result: Err(None),
                    recorded: None,
                });
                continue;
            }
            let previous_of =
                |before: &Entries| deployment_of(host, before, &by_path, self.bootloaders());
            let write = match event {
                None => self
                    .store
                    .switch(&host.mac_addresses, Some(&configuration), &Expect::Anything)
                    .map(|swap| {
                        let (Swap::Done(before) | Swap::Changed(before)) = swap;
                        (previous_of(&before), None)
                    }),
                Some(event) => self
                    .store
                    .switch_recording(&host.mac_addresses, Some(&configuration), &|before| {
                        event(host, &previous_of(before), &configuration)
                    })
                    .map(|(before, recorded)| {
                        let previous = previous_of(&before);
                        let recorded = recorded.map(|_| event(host, &previous, &configuration));
                        (previous, Some(recorded))
                    }),
            };
            match write {
                Ok((previous, recorded)) => outcomes.push(HostOutcome {
                    host,
                    previous,
                    result: Ok(()),
                    recorded,
                }),
                Err(error) if outcomes.is_empty() => return Err(error.into()),
                Err(error) => {
                    failed = true;
                    outcomes.push(HostOutcome {
                        host,
                        previous: Deployment::NotDeployed,
                        result: Err(Some(error)),
                        recorded: None,
                    });
                }
            }
        }
        Ok(Deployed {
            configuration,
            hosts: outcomes,
        })
    }

    /// Points `host` at configuration `to` only if it boots `expected` now, by a
    /// compare-and-swap of the store: a deploy made meanwhile (by an operator) is never
    /// overwritten. `Ok(None)` when the host boots something else.
    pub fn switch_if<'a>(
        &'a self,
        host: &'a Host,
        expected: &crate::names::ConfigName,
        to: &str,
    ) -> Result<Option<Switched<'a>>, PilotError> {
        let by_path = self.catalogue.listing()?;
        let configuration = by_path.pick(to)?;
        // Compare and swap: a deploy made between the read and the write wins.
        for _ in 0..SWITCH_TRIES {
            let entries = self.store.entries_for(&host.mac_addresses)?;
            let previous = deployment_of(host, &entries, &by_path, self.bootloaders());
            match &previous {
                Deployment::Deployed(current) if current.name == *expected => {}
                _ => return Ok(None),
            }
            let expect = Expect::Entries(entries);
            match self
                .store
                .switch(&host.mac_addresses, Some(&configuration), &expect)?
            {
                Swap::Done(_) => return Ok(Some(Switched { host, previous })),
                Swap::Changed(_) => continue,
            }
        }
        Ok(None)
    }

    /// Removes the host's entries: it falls back to the bootloader's default.
    pub fn undeploy(&self, name: &str) -> Result<Switched<'_>, PilotError> {
        let host = self.named(name)?;
        let by_path = self.configurations_by_path()?;
        let (Swap::Done(before) | Swap::Changed(before)) =
            self.store
                .switch(&host.mac_addresses, None, &Expect::Anything)?;
        let previous = deployment_of(host, &before, &by_path, self.bootloaders());
        Ok(Switched { host, previous })
    }
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
    by_path: &Listing,
    bootloaders: &[Bootloader],
) -> Deployment {
    let first = host.first_mac();
    let found = |resolved: Resolved| match resolved {
        Resolved::NotDeployed => Deployment::NotDeployed,
        Resolved::Configuration(path) => match by_path.at_path(&path) {
            Some(configuration) => Deployment::Deployed(Arc::clone(configuration)),
            None => Deployment::Dangling(path.display().to_string()),
        },
        Resolved::Broken(what) => Deployment::Dangling(what),
    };
    let own_entries = bootloaders
        .iter()
        .filter_map(|b| Some((b.name.as_str(), b.mac_entry.as_ref()?)));
    match found(entries.pxelinux.resolve(&first)) {
        Deployment::Deployed(configuration) => {
            let Some(bootloader) = configuration.bootloader.as_ref() else {
                return Deployment::Deployed(configuration);
            };
            let Some((name, pattern)) =
                own_entries.into_iter().find(|(n, _)| *n == bootloader.name)
            else {
                return Deployment::Deployed(configuration);
            };
            let resolved = entries
                .bootloader(name)
                .map_or(Resolved::NotDeployed, |t| t.resolve(&first));
            let problem = match resolved {
                Resolved::Configuration(path) if *path == *configuration.path => {
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
            .filter_map(|(name, _)| entries.bootloader(name))
            .map(|targets| found(targets.resolve(&first)))
            .find(|d| *d != Deployment::NotDeployed)
            .unwrap_or(Deployment::NotDeployed),
        dangling => dangling,
    }
}
