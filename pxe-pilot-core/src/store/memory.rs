//! [`MemoryEntries`]: the entries in memory, by the same rules as the TFTP root's links: the
//! entries of [`super::MemoryStore`], for tests that exercise the deploy rules without a disk
//! and for embedders that keep nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::bootloader::Bootloader;
use crate::catalogue::Configuration;
use crate::mac::MacAddress;

use crate::settings::Settings;

use super::{Entries, EntryFolders, StoreError, Target, Targets};

/// Entries in memory; they start empty.
#[derive(Debug, Default)]
pub struct MemoryEntries {
    /// The names of the bootloaders that keep entries of their own.
    own_entries: Vec<String>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    pxelinux: BTreeMap<MacAddress, Target>,
    bootloaders: BTreeMap<String, BTreeMap<MacAddress, Target>>,
}

impl MemoryEntries {
    /// An empty store; the bootloaders with a `mac_entry` get entries of their own.
    pub fn new(bootloaders: &[Bootloader]) -> Self {
        MemoryEntries {
            own_entries: bootloaders
                .iter()
                .filter(|b| b.mac_entry.is_some())
                .map(|b| b.name.clone())
                .collect(),
            state: Mutex::default(),
        }
    }

    /// Sets `mac`'s `pxelinux.cfg/` entry by hand, as an operator's `ln -s` would.
    pub fn set(&self, mac: MacAddress, target: Target) {
        self.lock().pxelinux.insert(mac, target);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Writes the rule's entries for `macs` into `folder`.
fn place(folder: &mut BTreeMap<MacAddress, Target>, macs: &[MacAddress], path: &Path) {
    if let Some((first, others)) = macs.split_first() {
        for mac in others {
            folder.insert(*mac, Target::Entry(*first));
        }
        folder.insert(*first, Target::Configuration(Arc::from(path)));
    }
}

fn targets(folder: &BTreeMap<MacAddress, Target>, macs: Option<&[MacAddress]>) -> Arc<Targets> {
    let list = match macs {
        None => folder.iter().map(|(m, t)| (*m, t.clone())).collect(),
        Some(macs) => macs
            .iter()
            .filter_map(|m| folder.get(m).map(|t| (*m, t.clone())))
            .collect(),
    };
    Arc::new(Targets::new(list))
}

impl MemoryEntries {
    fn read(&self, macs: Option<&[MacAddress]>) -> Entries {
        let state = self.lock();
        let empty = BTreeMap::new();
        Entries {
            pxelinux: targets(&state.pxelinux, macs),
            bootloaders: self
                .own_entries
                .iter()
                .map(|name| {
                    let folder = state.bootloaders.get(name).unwrap_or(&empty);
                    (name.clone(), targets(folder, macs))
                })
                .collect(),
        }
    }
}

impl EntryFolders for MemoryEntries {
    const KIND: &'static str = "memory";

    fn open_for(settings: &Settings) -> Result<Self, StoreError> {
        Ok(MemoryEntries::new(&settings.bootloaders))
    }

    fn reopen(&self, settings: &Settings) -> Result<Self, StoreError> {
        let reopened = MemoryEntries::new(&settings.bootloaders);
        let state = self.lock();
        *reopened.lock() = State {
            pxelinux: state.pxelinux.clone(),
            bootloaders: state.bootloaders.clone(),
        };
        drop(state);
        Ok(reopened)
    }

    fn entries(&self) -> Result<Entries, StoreError> {
        Ok(self.read(None))
    }

    fn entries_for(&self, macs: &[MacAddress]) -> Result<Entries, StoreError> {
        Ok(self.read(Some(macs)))
    }

    fn deploy(&self, macs: &[MacAddress], configuration: &Configuration) -> Result<(), StoreError> {
        if macs.is_empty() {
            return Err(StoreError::NoMacAddress);
        }
        let wanted = configuration.bootloader.as_ref().map(|b| b.name.as_str());
        let mut state = self.lock();
        for name in &self.own_entries {
            let folder = state.bootloaders.entry(name.clone()).or_default();
            if Some(name.as_str()) == wanted {
                place(folder, macs, &configuration.path);
            } else {
                macs.iter().for_each(|m| drop(folder.remove(m)));
            }
        }
        place(&mut state.pxelinux, macs, &configuration.path);
        Ok(())
    }

    fn undeploy(&self, macs: &[MacAddress]) -> Result<(), StoreError> {
        let mut state = self.lock();
        for mac in macs {
            state.pxelinux.remove(mac);
            for folder in state.bootloaders.values_mut() {
                folder.remove(mac);
            }
        }
        Ok(())
    }

    fn remove_entries(&self, macs: &[MacAddress]) -> Result<(), StoreError> {
        let mut state = self.lock();
        macs.iter().for_each(|m| drop(state.pxelinux.remove(m)));
        Ok(())
    }

    fn recover(&self) -> Result<usize, StoreError> {
        Ok(0)
    }
}
