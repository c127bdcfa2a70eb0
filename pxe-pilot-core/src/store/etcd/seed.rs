//! Writing a seed into an empty prefix: one server's state becoming a fleet's (DESIGN §9).
//! [`crate::seed_etcd`] gathers what a TFTP root and its `state_dir` hold; this writes it.

use crate::catalogue::Configuration;
use crate::events::Event;
use crate::mac::MacAddress;
use crate::names::{ConfigName, HostName};
use crate::settings::EtcdSettings;
use crate::store::StoreError;

use super::client::{put, unchanged_since, Etcd};
use super::{unavailable, Desired};

/// How many keys one transaction writes (etcd's `--max-txn-ops` is 128 by default).
const PER_TRANSACTION: usize = 100;
/// How many last boots one key holds (the places of one transaction).
const BOOTS_PER_KEY: usize = super::ID_SPAN as usize;

/// What one host brings into the seed.
#[derive(Debug, Clone)]
pub struct SeedHost {
    /// The host.
    pub name: HostName,
    /// Its MAC addresses, first one first.
    pub macs: Vec<MacAddress>,
    /// What it boots now, when something is deployed.
    pub configuration: Option<Configuration>,
    /// Its pending `once`.
    pub once: Option<ConfigName>,
    /// Its last counted boot.
    pub last_boot: Option<Event>,
}

/// Writes `hosts` under the prefix of `settings`, which must hold no key at all; the number
/// of keys written. Each transaction writes a key only where none is, so a server that
/// started writing under the prefix meanwhile stops the seed with an error.
pub fn write_seed(settings: &EtcdSettings, hosts: &[SeedHost]) -> Result<usize, StoreError> {
    let etcd = Etcd::new(settings).map_err(|e| StoreError::Invalid(e.0))?;
    let prefix = &settings.prefix;
    let held = etcd.count(prefix).map_err(unavailable)?;
    if held > 0 {
        return Err(StoreError::Invalid(format!(
            "etcd already holds {held} key{} under {prefix}: a seed only fills an empty prefix (the fleet's state is there: start the server with store: etcd, or choose another prefix)",
            if held == 1 { "" } else { "s" }
        )));
    }
    let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
    for host in hosts {
        if let (Some(configuration), Some(first)) = (&host.configuration, host.macs.first()) {
            let desired = Desired {
                macs: host.macs.clone(),
                name: configuration.name.clone(),
                bootloader: configuration.bootloader.as_ref().map(|b| b.name.clone()),
                path: configuration.path.clone(),
            };
            let value =
                serde_json::to_vec(&desired).map_err(|e| StoreError::Invalid(e.to_string()))?;
            keys.push((format!("{prefix}entries/{first}"), value));
        }
        if let Some(once) = &host.once {
            keys.push((
                format!("{prefix}once/{}", host.name),
                once.as_str().as_bytes().to_vec(),
            ));
        }
    }
    // The last boots as boot fetches' events (their ids from the revision of their key and
    // their place in it), oldest first; each key its own transaction, as a server's are.
    let mut last_boots: Vec<&Event> = hosts.iter().filter_map(|h| h.last_boot.as_ref()).collect();
    last_boots.sort_by_key(|event| event.id);
    let mut packs = Vec::new();
    for (index, events) in last_boots.chunks(BOOTS_PER_KEY).enumerate() {
        let events: Vec<Event> = events
            .iter()
            .enumerate()
            .map(|(place, event)| Event {
                id: place as u64,
                ..(*event).clone()
            })
            .collect();
        let value = serde_json::to_vec(&events).map_err(|e| StoreError::Invalid(e.to_string()))?;
        packs.push(vec![(format!("{prefix}events/b/seed-{index:012}"), value)]);
    }
    let written = keys.len() + packs.len();
    for batch in keys
        .chunks(PER_TRANSACTION)
        .chain(packs.iter().map(Vec::as_slice))
    {
        let compare = batch.iter().map(|(k, _)| unchanged_since(k, 0)).collect();
        let ops = batch.iter().map(|(k, v)| put(k, v)).collect();
        let (done, _) = etcd.txn(compare, ops).map_err(unavailable)?;
        if !done {
            return Err(StoreError::Invalid(format!(
                "another writer filled {prefix} while the seed was written: stop every server of the fleet and look at what the prefix holds (etcdctl get --prefix {prefix} --keys-only)"
            )));
        }
    }
    Ok(written)
}
