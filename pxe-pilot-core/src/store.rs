//! Where deployments live: the [`Store`] trait and what it reads back ([`Entries`]).
//!
//! A deployment is a set of per-MAC entries: a host's first MAC's entry points at the
//! configuration, its other MACs' entries point at the first MAC's entry. [`crate::SymlinkStore`]
//! keeps them as symbolic links in `pxelinux.cfg/`; another store (a database, a test double)
//! only has to implement this trait.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::catalogue::Configuration;

use crate::mac::MacAddress;

/// What a per-MAC entry points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file of the catalogue, by its path relative to the catalogue folder (`grub/grml`);
    /// shared by the entries that lead to the same file.
    Configuration(Arc<Path>),
    /// Another MAC's entry (a host's other NICs point at its first MAC's entry).
    Entry(MacAddress),
    /// Something outside the catalogue: the link target as written.
    Elsewhere(PathBuf),
    /// A regular file written by hand, not a link.
    File,
}

/// What a MAC's entry leads to once links between entries are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The MAC has no entry: the bootloader falls back to its default.
    NotDeployed,
    /// The entry leads to this catalogue path.
    Configuration(PathBuf),
    /// The entry leads nowhere useful (a missing entry, a loop, a foreign link or file);
    /// the text says what was found.
    Broken(String),
}

/// The per-MAC entries read from the store at one moment: `pxelinux.cfg/01-<mac>`, and the
/// entries of each bootloader that keeps its own (`mac_entry`, e.g. GRUB 2's
/// `grub/grub.cfg-01-<mac>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries {
    targets: Targets,
    /// Per bootloader name: its own entries. For them, [`Target::Entry`] names another MAC's
    /// entry of the same bootloader.
    bootloaders: HashMap<String, Targets>,
}

/// The entries of one folder, sorted by MAC address: a listing of 20,000 entries is one
/// allocation of 20,000 slots (binary search), not a hash table with room to spare.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Targets(Vec<(MacAddress, Target)>);

impl Targets {
    /// Sorts `targets`; of two targets for one MAC address, the last one stays.
    fn new(mut targets: Vec<(MacAddress, Target)>) -> Self {
        targets.reverse();
        targets.sort_by_key(|(mac, _)| *mac);
        targets.dedup_by_key(|(mac, _)| *mac);
        Targets(targets)
    }

    fn get(&self, mac: &MacAddress) -> Option<&Target> {
        self.0
            .binary_search_by_key(mac, |(m, _)| *m)
            .ok()
            .map(|i| &self.0[i].1)
    }

    fn only(&self, macs: &[MacAddress]) -> Targets {
        Targets::new(
            macs.iter()
                .filter_map(|m| self.get(m).map(|t| (*m, t.clone())))
                .collect(),
        )
    }
}

/// How many links between entries are followed before giving up (a loop).
const MAX_HOPS: usize = 8;

impl Entries {
    /// Wraps a map of MAC to target.
    pub fn new(targets: HashMap<MacAddress, Target>) -> Self {
        Entries::from_list(targets.into_iter().collect())
    }

    /// Wraps a list of (MAC, target), in any order; of two targets for one MAC address, the
    /// last one stays.
    pub fn from_list(targets: Vec<(MacAddress, Target)>) -> Self {
        Entries {
            targets: Targets::new(targets),
            bootloaders: HashMap::new(),
        }
    }

    /// Adds the entries of bootloader `name` (those its `mac_entry` names).
    pub fn with_bootloader(
        mut self,
        name: impl Into<String>,
        targets: HashMap<MacAddress, Target>,
    ) -> Self {
        self.bootloaders
            .insert(name.into(), Targets::new(targets.into_iter().collect()));
        self
    }

    /// The target of `mac`'s own entry of bootloader `name`, if it has one.
    pub fn get_bootloader(&self, name: &str, mac: &MacAddress) -> Option<&Target> {
        self.bootloaders.get(name).and_then(|t| t.get(mac))
    }

    /// Follows `mac`'s entry of bootloader `name` through that bootloader's other entries.
    pub fn resolve_bootloader(&self, name: &str, mac: &MacAddress) -> Resolved {
        match self.bootloaders.get(name) {
            Some(targets) => resolve_in(targets, mac),
            None => Resolved::NotDeployed,
        }
    }

    /// The same entries, only those of `macs` (in `pxelinux.cfg/` and for every bootloader).
    pub fn only(&self, macs: &[MacAddress]) -> Entries {
        Entries {
            targets: self.targets.only(macs),
            bootloaders: self
                .bootloaders
                .iter()
                .map(|(name, all)| (name.clone(), all.only(macs)))
                .collect(),
        }
    }

    /// The target of `mac`'s own entry, if it has one.
    pub fn get(&self, mac: &MacAddress) -> Option<&Target> {
        self.targets.get(mac)
    }

    /// Every entry, sorted by MAC address.
    pub fn iter(&self) -> impl Iterator<Item = (&MacAddress, &Target)> {
        self.targets.0.iter().map(|(mac, target)| (mac, target))
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.targets.0.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.targets.0.is_empty()
    }

    /// True when an entry (of `pxelinux.cfg/` or of a bootloader) leads to the entry of a
    /// MAC address that is not one of `macs`: entries read for `macs` only
    /// ([`Store::entries_for`]) cannot resolve it, every entry must be read.
    pub fn leads_outside(&self, macs: &[MacAddress]) -> bool {
        let outside = |targets: &Targets| {
            targets
                .0
                .iter()
                .any(|(_, t)| matches!(t, Target::Entry(m) if !macs.contains(m)))
        };
        outside(&self.targets) || self.bootloaders.values().any(outside)
    }

    /// Follows `mac`'s entry through other entries to what it finally leads to.
    pub fn resolve(&self, mac: &MacAddress) -> Resolved {
        resolve_in(&self.targets, mac)
    }
}

/// Follows `mac`'s entry through the other entries of `targets`.
fn resolve_in(targets: &Targets, mac: &MacAddress) -> Resolved {
    let mut current = *mac;
    for hop in 0..MAX_HOPS {
        match targets.get(&current) {
            None if hop == 0 => return Resolved::NotDeployed,
            None => {
                return Resolved::Broken(format!(
                    "entry {} points at missing entry {}",
                    mac.entry_name(),
                    current.entry_name()
                ))
            }
            Some(Target::Configuration(path)) => {
                return Resolved::Configuration(path.to_path_buf())
            }
            Some(Target::Entry(next)) => current = *next,
            Some(Target::Elsewhere(path)) => return Resolved::Broken(path.display().to_string()),
            Some(Target::File) => {
                return Resolved::Broken(format!("{} is a file", current.entry_name()))
            }
        }
    }
    Resolved::Broken(format!("entry {} is a loop of links", mac.entry_name()))
}

/// Why the store could not read or write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done (`read folder`, `create link`, ...).
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The store's configuration is unusable (a bootloader entry pattern leading outside).
    #[error("{0}")]
    Invalid(String),
    /// A deploy named no MAC address.
    #[error("a deploy needs at least one MAC address")]
    NoMacAddress,
}

/// The place per-MAC entries are read from and written to.
///
/// Implementations keep no copy of the entries between calls: every [`Store::entries`] reads
/// the current state, so changes made by hand or by another process are seen.
pub trait Store: Send + Sync {
    /// Reads every per-MAC entry as it is now, the bootloaders' own entries included.
    fn entries(&self) -> Result<Entries, StoreError>;

    /// Reads the entries of `macs` only (what one host's deployment needs).
    fn entries_for(&self, macs: &[MacAddress]) -> Result<Entries, StoreError> {
        Ok(self.entries()?.only(macs))
    }

    /// Points `macs[0]`'s entry at `configuration` and every other MAC's entry at `macs[0]`'s
    /// entry (and likewise for the configuration's bootloader's own entries, if it has some).
    /// Each entry is replaced atomically and the change is durable when this returns.
    fn deploy(&self, macs: &[MacAddress], configuration: &Configuration) -> Result<(), StoreError>;

    /// Removes the entries of `macs`, so the bootloader falls back to its default.
    fn undeploy(&self, macs: &[MacAddress]) -> Result<(), StoreError>;

    /// Removes what an interrupted write left behind; returns how many were removed.
    fn sweep(&self) -> Result<usize, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(last: u8) -> MacAddress {
        MacAddress::new([0, 0, 0, 0, 0, last])
    }

    #[test]
    fn resolving_follows_entries_and_reports_what_is_broken() {
        let entries = Entries::new(HashMap::from([
            (mac(1), Target::Configuration(Path::new("local").into())),
            (mac(2), Target::Entry(mac(1))),
            (mac(3), Target::Entry(mac(9))),
            (mac(4), Target::Entry(mac(5))),
            (mac(5), Target::Entry(mac(4))),
            (mac(6), Target::File),
        ]));
        assert_eq!(
            entries.resolve(&mac(2)),
            Resolved::Configuration("local".into())
        );
        assert_eq!(entries.resolve(&mac(7)), Resolved::NotDeployed);
        assert!(matches!(entries.resolve(&mac(3)), Resolved::Broken(t) if t.contains("missing")));
        assert!(matches!(entries.resolve(&mac(4)), Resolved::Broken(t) if t.contains("loop")));
        assert!(matches!(entries.resolve(&mac(6)), Resolved::Broken(_)));
    }
}
