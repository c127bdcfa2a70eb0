//! From one server to several (DESIGN §9): what a TFTP root's links and its `state_dir` hold
//! now (each host's deployment, pending `once` and last boot) written into the empty etcd
//! prefix the configuration file's `store.etcd` names. `pxe-pilot-server --seed-etcd` runs it.

use std::sync::Arc;

use crate::names::HostName;
use crate::pilot::{Deployment, Pilot};
use crate::settings::{Settings, StoreKind};
use crate::store::{write_seed, FilesStore, SeedHost, Store, StoreError};

/// What a seed wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Hosts with a deployment written.
    pub deployed: usize,
    /// Hosts with a pending `once` written.
    pub once: usize,
    /// Hosts with a last boot written.
    pub last_boots: usize,
    /// Hosts whose entries lead to no configuration of the catalogue, left out (they boot
    /// the default once the fleet's servers mirror etcd), with what their entry leads to.
    pub skipped: Vec<(HostName, String)>,
}

/// Seeds the empty prefix of `settings.store.etcd` from `settings`' TFTP root and
/// `state_dir`. Refuses a configuration without `store.etcd`, a prefix that holds any key,
/// and a `state_dir` a running server holds (stop it first: its links must not change while
/// they are copied).
pub fn seed_etcd(settings: &Settings) -> Result<Seeded, StoreError> {
    let StoreKind::Etcd(etcd) = &settings.store else {
        return Err(StoreError::Invalid(
            "the configuration file has no store.etcd: add it (endpoints, prefix) to say which etcd to seed".into(),
        ));
    };
    let files = Arc::new(FilesStore::open(settings)?);
    let pilot = Pilot::with_store(settings.clone(), Arc::clone(&files) as Arc<dyn Store>);
    let mut seeded = Seeded::default();
    let mut hosts = Vec::new();
    let states = pilot
        .hosts()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    for state in states {
        let host = state.host;
        let configuration = match state.deployment {
            Deployment::Deployed(configuration) => Some((*configuration).clone()),
            Deployment::NotDeployed => None,
            Deployment::Dangling(what) => {
                seeded.skipped.push((host.name.clone(), what));
                None
            }
        };
        let once = files.once(&host.name);
        let last_boot = files.last_boot(&host.name);
        seeded.deployed += usize::from(configuration.is_some());
        seeded.once += usize::from(once.is_some());
        seeded.last_boots += usize::from(last_boot.is_some());
        hosts.push(SeedHost {
            name: host.name.clone(),
            macs: host.mac_addresses.clone(),
            configuration,
            once,
            last_boot,
        });
    }
    write_seed(etcd, &hosts)?;
    Ok(seeded)
}
