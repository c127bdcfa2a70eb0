//! The store of the original PXE Pilot: symbolic links in `<tftp root>/pxelinux.cfg/`.
//!
//! `01-<mac>` of a host's first MAC links to the configuration (`conf/local`), its other MACs
//! link to that entry. Targets are written relative, so a TFTP server that chroots into the
//! root (tftpd-hpa `--secure`) follows them; absolute targets written by the original are read
//! too. Every write makes the new link under a temporary name in the same folder and renames
//! it over the entry, then syncs the folder: a host booting at any moment sees the old or the
//! new configuration, and an acknowledged deploy survives a power cut.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::mac::MacAddress;
use crate::store::{Entries, Store, StoreError, Target};

/// The prefix of temporary entries; they never outlive a write, except after a crash.
pub const TEMP_PREFIX: &str = ".pxe-pilot-tmp.";
/// A temporary entry older than this is stale whatever process made it.
const STALE_AFTER: Duration = Duration::from_secs(60);

/// The per-MAC symlink store of a TFTP root.
#[derive(Debug)]
pub struct SymlinkStore {
    /// `<tftp root>/pxelinux.cfg`, absolute.
    folder: PathBuf,
    /// The catalogue as seen from `folder`, relative (`conf`, `../configs`).
    catalogue_from_folder: PathBuf,
    /// The absolute spellings of the catalogue (as configured, and with links resolved).
    catalogue_spellings: Vec<PathBuf>,
    /// The absolute spellings of `folder`.
    folder_spellings: Vec<PathBuf>,
}

/// Numbers temporary entries; process-wide, so two stores of one process never collide.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

impl SymlinkStore {
    /// Opens the store of `tftp_root` whose catalogue is `catalogue` (a folder inside the
    /// root), creating `pxelinux.cfg/` if it is missing. Call [`Store::sweep`] before serving.
    pub fn open(tftp_root: &Path, catalogue: &Path) -> Result<Self, StoreError> {
        let root = std::path::absolute(tftp_root).map_err(io("find", tftp_root))?;
        let folder = root.join("pxelinux.cfg");
        match std::fs::create_dir(&folder) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("create folder", &folder)(e)),
        }
        let real_folder = std::fs::canonicalize(&folder).map_err(io("open folder", &folder))?;
        let catalogue_abs = std::path::absolute(catalogue).map_err(io("find", catalogue))?;
        let real_catalogue =
            std::fs::canonicalize(&catalogue_abs).map_err(io("open folder", &catalogue_abs))?;
        let catalogue_from_folder = relative_path(&real_folder, &real_catalogue);
        Ok(SymlinkStore {
            folder_spellings: dedup(vec![normalize(&folder), real_folder.clone()]),
            catalogue_spellings: dedup(vec![normalize(&catalogue_abs), real_catalogue]),
            folder: real_folder,
            catalogue_from_folder,
        })
    }

    /// The folder the entries are in (`<tftp root>/pxelinux.cfg`).
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// What a link's target means.
    fn classify(&self, link: &Path) -> Target {
        let absolute = normalize(&if link.is_absolute() {
            link.to_owned()
        } else {
            self.folder.join(link)
        });
        for catalogue in &self.catalogue_spellings {
            if let Ok(rest) = absolute.strip_prefix(catalogue) {
                if rest.as_os_str().is_empty() {
                    break;
                }
                return Target::Configuration(rest.to_owned());
            }
        }
        if let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) {
            if self.folder_spellings.iter().any(|f| f == parent) {
                if let Some(mac) = name.to_str().and_then(MacAddress::from_entry_name) {
                    return Target::Entry(mac);
                }
            }
        }
        Target::Elsewhere(link.to_owned())
    }

    /// Replaces `mac`'s entry with a link to `target`, atomically.
    fn place(&self, mac: &MacAddress, target: &Path) -> Result<(), StoreError> {
        let entry = self.folder.join(mac.entry_name());
        if std::fs::read_link(&entry).is_ok_and(|current| current == target) {
            return Ok(());
        }
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let temporary = self.folder.join(format!(
            "{TEMP_PREFIX}{}.{sequence}.{}",
            std::process::id(),
            mac.entry_name()
        ));
        // A leftover of an earlier process that had our PID: it is stale.
        let _ = std::fs::remove_file(&temporary);
        std::os::unix::fs::symlink(target, &temporary).map_err(io("create link", &temporary))?;
        if let Err(e) = std::fs::rename(&temporary, &entry) {
            let _ = std::fs::remove_file(&temporary);
            return Err(io("replace entry", &entry)(e));
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        std::fs::File::open(&self.folder)
            .and_then(|folder| folder.sync_all())
            .map_err(io("sync folder", &self.folder))
    }
}

impl Store for SymlinkStore {
    fn entries(&self) -> Result<Entries, StoreError> {
        let listing = std::fs::read_dir(&self.folder).map_err(io("read folder", &self.folder))?;
        let mut targets = HashMap::new();
        for item in listing {
            let item = item.map_err(io("read folder", &self.folder))?;
            let name = item.file_name();
            let Some(mac) = name.to_str().and_then(MacAddress::from_entry_name) else {
                continue;
            };
            let Ok(kind) = item.file_type() else { continue };
            let target = if kind.is_symlink() {
                match std::fs::read_link(item.path()) {
                    Ok(link) => self.classify(&link),
                    // Replaced or removed since the folder was listed: read it as absent.
                    Err(_) => continue,
                }
            } else if kind.is_file() {
                Target::File
            } else {
                continue;
            };
            targets.insert(mac, target);
        }
        Ok(Entries::new(targets))
    }

    fn entries_for(&self, macs: &[MacAddress]) -> Result<Entries, StoreError> {
        let mut targets = HashMap::with_capacity(macs.len());
        for mac in macs {
            let entry = self.folder.join(mac.entry_name());
            let target = match std::fs::symlink_metadata(&entry) {
                Ok(meta) if meta.file_type().is_symlink() => match std::fs::read_link(&entry) {
                    Ok(link) => self.classify(&link),
                    Err(_) => continue,
                },
                Ok(meta) if meta.is_file() => Target::File,
                _ => continue,
            };
            targets.insert(*mac, target);
        }
        Ok(Entries::new(targets))
    }

    fn deploy(&self, macs: &[MacAddress], configuration: &Path) -> Result<(), StoreError> {
        let (first, others) = macs.split_first().ok_or(StoreError::NoMacAddress)?;
        self.place(first, &self.catalogue_from_folder.join(configuration))?;
        let first_entry = PathBuf::from(first.entry_name());
        for mac in others {
            self.place(mac, &first_entry)?;
        }
        self.sync()
    }

    fn undeploy(&self, macs: &[MacAddress]) -> Result<(), StoreError> {
        for mac in macs {
            let entry = self.folder.join(mac.entry_name());
            match std::fs::symlink_metadata(&entry) {
                Ok(meta) if !meta.is_dir() => match std::fs::remove_file(&entry) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io("remove entry", &entry)(e)),
                },
                _ => {}
            }
        }
        self.sync()
    }

    fn sweep(&self) -> Result<usize, StoreError> {
        let listing = std::fs::read_dir(&self.folder).map_err(io("read folder", &self.folder))?;
        let mut removed = 0;
        for item in listing.flatten() {
            let name = item.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
                continue;
            };
            let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
            let alive = pid.is_some_and(|pid| {
                pid != std::process::id() && Path::new("/proc").join(pid.to_string()).exists()
            });
            let age = item
                .path()
                .symlink_metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            if (!alive || age > STALE_AFTER) && std::fs::remove_file(item.path()).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            self.sync()?;
        }
        Ok(removed)
    }
}

/// `path` with `.` and `..` folded away, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The relative path that leads from folder `from` to `to` (both absolute and normalized).
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for component in &to[common..] {
        out.push(component);
    }
    out
}

fn dedup(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.dedup();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Resolved;
    use std::fs;

    struct World {
        root: tempfile::TempDir,
        store: SymlinkStore,
    }

    fn world() -> World {
        let root = tempfile::tempdir().unwrap();
        let conf = root.path().join("pxelinux.cfg/conf");
        fs::create_dir_all(&conf).unwrap();
        for name in ["local", "install"] {
            fs::write(conf.join(name), name).unwrap();
        }
        let store = SymlinkStore::open(root.path(), &conf).unwrap();
        World { root, store }
    }

    fn mac(last: u8) -> MacAddress {
        MacAddress::new([0x23, 0x34, 0xa3, 0xe9, 0x09, last])
    }

    fn entry(world: &World, mac: MacAddress) -> PathBuf {
        world
            .root
            .path()
            .join("pxelinux.cfg")
            .join(mac.entry_name())
    }

    #[test]
    fn deploy_writes_relative_links_first_mac_to_configuration_others_to_first() {
        let w = world();
        w.store
            .deploy(&[mac(1), mac(2), mac(3)], Path::new("local"))
            .unwrap();
        assert_eq!(
            fs::read_link(entry(&w, mac(1))).unwrap(),
            PathBuf::from("conf/local")
        );
        assert_eq!(
            fs::read_link(entry(&w, mac(2))).unwrap(),
            PathBuf::from("01-23-34-a3-e9-09-01")
        );
        for m in [mac(1), mac(2), mac(3)] {
            assert_eq!(fs::read_to_string(entry(&w, m)).unwrap(), "local");
            assert_eq!(
                w.store.entries().unwrap().resolve(&m),
                Resolved::Configuration("local".into())
            );
        }
        w.store
            .deploy(&[mac(1), mac(2), mac(3)], Path::new("install"))
            .unwrap();
        assert_eq!(fs::read_to_string(entry(&w, mac(3))).unwrap(), "install");
        let names: Vec<_> = fs::read_dir(w.store.folder())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names.len(),
            4,
            "three entries and conf/, no temporary entry: {names:?}"
        );
    }

    #[test]
    fn absolute_targets_of_the_original_are_read() {
        let w = world();
        let folder = w.root.path().join("pxelinux.cfg");
        std::os::unix::fs::symlink(folder.join("conf/install"), entry(&w, mac(1))).unwrap();
        std::os::unix::fs::symlink(entry(&w, mac(1)), entry(&w, mac(2))).unwrap();
        std::os::unix::fs::symlink("/elsewhere/x", entry(&w, mac(3))).unwrap();
        fs::write(entry(&w, mac(4)), "by hand").unwrap();
        let entries = w.store.entries().unwrap();
        assert_eq!(
            entries.resolve(&mac(2)),
            Resolved::Configuration("install".into())
        );
        assert_eq!(
            entries.get(&mac(3)),
            Some(&Target::Elsewhere("/elsewhere/x".into()))
        );
        assert_eq!(entries.get(&mac(4)), Some(&Target::File));
    }

    #[test]
    fn undeploy_removes_every_entry_of_the_host() {
        let w = world();
        w.store
            .deploy(&[mac(1), mac(2)], Path::new("local"))
            .unwrap();
        w.store.undeploy(&[mac(1), mac(2)]).unwrap();
        assert!(w.store.entries().unwrap().is_empty());
        w.store.undeploy(&[mac(1)]).unwrap();
    }

    #[test]
    fn sweep_removes_temporary_entries_of_dead_processes() {
        let w = world();
        let folder = w.root.path().join("pxelinux.cfg");
        let stale = folder.join(format!("{TEMP_PREFIX}999999999.0.01-00-00-00-00-00-01"));
        let own = folder.join(format!("{TEMP_PREFIX}{}.7.x", std::process::id()));
        std::os::unix::fs::symlink("conf/local", &stale).unwrap();
        std::os::unix::fs::symlink("conf/local", &own).unwrap();
        assert_eq!(w.store.sweep().unwrap(), 2);
        assert!(!stale.exists() && fs::symlink_metadata(&own).is_err());
    }

    #[test]
    fn a_catalogue_outside_pxelinux_cfg_is_reached_with_dot_dot() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("configs")).unwrap();
        fs::write(root.path().join("configs/local"), "x").unwrap();
        let store = SymlinkStore::open(root.path(), &root.path().join("configs")).unwrap();
        store.deploy(&[mac(1)], Path::new("local")).unwrap();
        let link = root.path().join("pxelinux.cfg").join(mac(1).entry_name());
        assert_eq!(
            fs::read_link(&link).unwrap(),
            PathBuf::from("../configs/local")
        );
        assert_eq!(fs::read_to_string(&link).unwrap(), "x");
        assert_eq!(
            store.entries().unwrap().resolve(&mac(1)),
            Resolved::Configuration("local".into())
        );
    }

    #[test]
    fn relative_paths_are_computed_between_folders() {
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b/c")),
            PathBuf::from("c")
        );
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/d")),
            PathBuf::from("../d")
        );
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
