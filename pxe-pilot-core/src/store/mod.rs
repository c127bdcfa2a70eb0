//! Where deployments live: the [`Store`] trait and what it reads back ([`Entries`]).
//!
//! A deployment is a set of per-MAC entries: a host's first MAC's entry leads to the
//! configuration, its other MACs' entries lead to the first MAC's entry, so that one write
//! switches every NIC. Bootloaders that read per-MAC files of their own (GRUB 2) have entries
//! of their own, by the same rule. [`SymlinkStore`] keeps them as symbolic links in the TFTP
//! root (what PXELINUX and GRUB read); [`MemoryStore`] keeps them in memory, for tests and
//! embedders. Another store is a file that implements [`Store`].

mod memory;
mod symlink;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::catalogue::Configuration;
use crate::mac::MacAddress;

pub use memory::MemoryStore;
pub use symlink::{SymlinkStore, TEMP_PREFIX};

/// What a per-MAC entry leads to, as the store found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A configuration file, by its path relative to the catalogue folder (`grub/grml`);
    /// shared by the entries that lead to the same file.
    Configuration(Arc<Path>),
    /// Another MAC's entry (a host's other NICs lead to its first MAC's entry).
    Entry(MacAddress),
    /// Something the store holds that pxe-pilot did not write (a file, a link to elsewhere):
    /// the text says what.
    Foreign(String),
}

/// What a MAC's entry leads to once links between entries are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The MAC has no entry: the bootloader falls back to its default.
    NotDeployed,
    /// The entry leads to this catalogue path (shared with the entry's target).
    Configuration(Arc<Path>),
    /// The entry leads nowhere useful (a missing entry, a loop, a foreign entry); the text
    /// says what was found.
    Broken(String),
}

/// The entries of one folder (or of one bootloader), sorted by MAC address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets(Vec<(MacAddress, Target)>);

impl Targets {
    /// The entries of `targets`, in any order; of two targets for one MAC, the last stays.
    pub fn new(mut targets: Vec<(MacAddress, Target)>) -> Self {
        targets.reverse();
        targets.sort_by_key(|(mac, _)| *mac);
        targets.dedup_by_key(|(mac, _)| *mac);
        Targets(targets)
    }

    /// The target of `mac`'s entry.
    pub fn get(&self, mac: &MacAddress) -> Option<&Target> {
        self.0
            .binary_search_by_key(mac, |(m, _)| *m)
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Every entry, sorted by MAC address.
    pub fn iter(&self) -> impl Iterator<Item = &(MacAddress, Target)> {
        self.0.iter()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Follows `mac`'s entry through the other entries to what it finally leads to.
    pub fn resolve(&self, mac: &MacAddress) -> Resolved {
        let mut current = *mac;
        for hop in 0..MAX_HOPS {
            match self.get(&current) {
                None if hop == 0 => return Resolved::NotDeployed,
                None => {
                    return Resolved::Broken(format!(
                        "entry {} points at missing entry {}",
                        mac.entry_name(),
                        current.entry_name()
                    ))
                }
                Some(Target::Configuration(path)) => {
                    return Resolved::Configuration(Arc::clone(path))
                }
                Some(Target::Entry(next)) => current = *next,
                Some(Target::Foreign(what)) => return Resolved::Broken(what.clone()),
            }
        }
        Resolved::Broken(format!("entry {} is a loop of links", mac.entry_name()))
    }
}

/// How many links between entries are followed before giving up (a loop).
const MAX_HOPS: usize = 8;

/// The per-MAC entries read from a store at one moment: `pxelinux.cfg/01-<mac>`, and the
/// entries of each bootloader that keeps its own. Cheap to clone: the listings are shared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries {
    /// The `pxelinux.cfg/01-<mac>` entries.
    pub pxelinux: Arc<Targets>,
    /// Per bootloader name, its own entries. For them, [`Target::Entry`] names another MAC's
    /// entry of the same bootloader.
    pub bootloaders: Vec<(String, Arc<Targets>)>,
}

impl Entries {
    /// The entries of a bootloader, if it keeps its own.
    pub fn bootloader(&self, name: &str) -> Option<&Targets> {
        self.bootloaders
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| &**t)
    }

    /// True when an entry (of `pxelinux.cfg/` or of a bootloader) leads to the entry of a
    /// MAC address that is not one of `macs`: entries read for `macs` only
    /// ([`Store::entries_for`]) cannot resolve it, every entry must be read.
    pub fn leads_outside(&self, macs: &[MacAddress]) -> bool {
        let outside = |targets: &Targets| {
            targets
                .iter()
                .any(|(_, t)| matches!(t, Target::Entry(m) if !macs.contains(m)))
        };
        outside(&self.pxelinux) || self.bootloaders.iter().any(|(_, t)| outside(t))
    }
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
    /// The store cannot be used as configured (an entry folder leading out of the TFTP
    /// root); the text says what to change.
    #[error("{0}")]
    Invalid(String),
    /// A deploy named no MAC address.
    #[error("a deploy needs at least one MAC address")]
    NoMacAddress,
}

/// The place per-MAC entries are read from and written to.
///
/// Every read reflects the store as it is now: changes made by hand or by another process
/// are seen by the next call (a store may reuse an earlier listing only when it can tell
/// nothing changed since).
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Every per-MAC entry, the bootloaders' own entries included.
    fn entries(&self) -> Result<Entries, StoreError>;

    /// The entries of `macs` only (what one host's deployment needs).
    fn entries_for(&self, macs: &[MacAddress]) -> Result<Entries, StoreError>;

    /// Points `macs[0]`'s entry at `configuration` and every other MAC's entry at `macs[0]`'s
    /// entry, likewise for the configuration's bootloader's own entries, and removes the
    /// entries of the other bootloaders. Each entry is replaced atomically; the change is
    /// durable when this returns.
    fn deploy(&self, macs: &[MacAddress], configuration: &Configuration) -> Result<(), StoreError>;

    /// Removes every entry of `macs` (of every bootloader), so the bootloaders fall back to
    /// their defaults.
    fn undeploy(&self, macs: &[MacAddress]) -> Result<(), StoreError>;

    /// Removes the `pxelinux.cfg/01-<mac>` entries of `macs` only; the bootloaders' own
    /// entries stay (recovery removes what an interrupted deploy left there, nothing more).
    fn remove_entries(&self, macs: &[MacAddress]) -> Result<(), StoreError>;

    /// Removes what an interrupted write of this store left behind; returns how many
    /// leftovers were removed.
    fn recover(&self) -> Result<usize, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(last: u8) -> MacAddress {
        MacAddress::new([0, 0, 0, 0, 0, last])
    }

    #[test]
    fn resolving_follows_entries_and_reports_what_is_broken() {
        let targets = Targets::new(vec![
            (mac(1), Target::Configuration(Path::new("local").into())),
            (mac(2), Target::Entry(mac(1))),
            (mac(3), Target::Entry(mac(9))),
            (mac(4), Target::Entry(mac(5))),
            (mac(5), Target::Entry(mac(4))),
            (mac(6), Target::Foreign("a file".into())),
        ]);
        assert_eq!(
            targets.resolve(&mac(2)),
            Resolved::Configuration(Path::new("local").into())
        );
        assert_eq!(targets.resolve(&mac(7)), Resolved::NotDeployed);
        assert!(matches!(targets.resolve(&mac(3)), Resolved::Broken(t) if t.contains("missing")));
        assert!(matches!(targets.resolve(&mac(4)), Resolved::Broken(t) if t.contains("loop")));
        assert_eq!(targets.resolve(&mac(6)), Resolved::Broken("a file".into()));
    }
}
