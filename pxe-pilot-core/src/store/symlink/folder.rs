//! One folder of per-MAC entries (`pxelinux.cfg/`, or a bootloader's, like `grub/`), always
//! used through a descriptor opened below the TFTP root (see [`crate::beneath`]): a folder
//! that is, or becomes, a link out of the root is refused, never followed.
//!
//! Its listing is kept and reused while the folder has not changed (see
//! [`crate::freshness`]: the folder's change times and identity are compared on every read,
//! and a listing taken right after a change is taken again next time).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::beneath;
use crate::freshness::{Reused, Stamp};
use crate::group_sync::GroupSync;
use crate::mac::MacAddress;
use crate::store::{StoreError, Target, Targets};

use super::classify::{dedup, normalize, Classifier, Seen, Spellings};
use super::write::TEMP_PREFIX;

/// A folder of entries below the TFTP root.
#[derive(Debug)]
pub(super) struct EntryFolder {
    /// The TFTP root (absolute, as configured).
    root: PathBuf,
    /// The folder, relative to the root (`pxelinux.cfg`, `grub`).
    relative: PathBuf,
    /// The folder's absolute spellings: as configured, and with links resolved.
    spellings: OnceLock<Vec<PathBuf>>,
    /// The syncs of the folder, shared by writes that finish at the same time.
    sync: GroupSync,
    /// The last listing, when reusing it is allowed.
    cache: Option<Reused<Targets>>,
}

impl EntryFolder {
    /// The folder `relative` of the TFTP root `root`; `cache` allows reusing a listing.
    pub(super) fn new(root: &Path, relative: &Path, cache: bool) -> Self {
        EntryFolder {
            root: root.to_owned(),
            relative: relative.to_owned(),
            spellings: OnceLock::new(),
            sync: GroupSync::default(),
            cache: cache.then(Reused::default),
        }
    }

    /// The same folder, without its listing or syncs: for work done on another thread.
    pub(super) fn detached(&self) -> EntryFolder {
        EntryFolder::new(&self.root, &self.relative, false)
    }

    /// The folder's path, for messages.
    pub(super) fn path(&self) -> PathBuf {
        self.root.join(&self.relative)
    }

    /// The error of `action` on `name` of this folder.
    pub(super) fn error(
        &self,
        action: &'static str,
        name: &str,
    ) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        let path = if name.is_empty() {
            self.path()
        } else {
            self.path().join(name)
        };
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }

    /// Opens the folder; `None` when it does not exist and `create` is false. With `create`,
    /// the missing folders are made (below the root only) and their parents synced.
    pub(super) fn open(&self, create: bool) -> Result<Option<OwnedFd>, StoreError> {
        let root = beneath::open_folder(&self.root).map_err(|source| StoreError::Io {
            action: "open the TFTP root",
            path: self.root.clone(),
            source,
        })?;
        let folder = OFlags::RDONLY | OFlags::DIRECTORY;
        let opened = if self.relative.as_os_str().is_empty() {
            Ok(root)
        } else {
            match beneath::open_beneath(&root, &self.relative, folder) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => self.create(&root),
                other => other,
            }
        };
        match opened {
            Ok(dir) => {
                self.spellings.get_or_init(|| self.spell());
                Ok(Some(dir))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if beneath::leads_outside(&e) => Err(StoreError::Invalid(format!(
                "{} leads out of the TFTP root {}: make it a folder inside the root",
                self.path().display(),
                self.root.display()
            ))),
            Err(source) => Err(StoreError::Io {
                action: "open folder",
                path: self.path(),
                source,
            }),
        }
    }

    /// Makes the missing folders of `relative` below `root`, one at a time, each synced in
    /// its parent so that an answered deploy survives a power cut.
    fn create(&self, root: &OwnedFd) -> std::io::Result<OwnedFd> {
        let folder = OFlags::RDONLY | OFlags::DIRECTORY;
        let mut current = beneath::open_beneath(root, Path::new("."), folder)?;
        for name in self.relative.iter() {
            match beneath::open_beneath(&current, Path::new(name), folder) {
                Ok(next) => current = next,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    match rustix::fs::mkdirat(&current, name, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    rustix::fs::fsync(&current)?;
                    current = beneath::open_beneath(&current, Path::new(name), folder)?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(current)
    }

    /// The folder's absolute spellings: as configured, and with links resolved.
    fn spell(&self) -> Vec<PathBuf> {
        let configured = normalize(&self.path());
        let real = std::fs::canonicalize(&configured).unwrap_or_else(|_| configured.clone());
        dedup(vec![configured, real])
    }

    /// The folder with links resolved (once it has been opened), for relative link targets.
    pub(super) fn real_path(&self) -> PathBuf {
        let spellings = self.spellings.get_or_init(|| self.spell());
        spellings.last().cloned().unwrap_or_else(|| self.path())
    }

    /// Every entry of the folder whose name `mac_of` reads as a MAC address, with what it
    /// leads to; reuses the last listing while the folder has not changed.
    pub(super) fn entries(
        &self,
        classifier: &Classifier,
        mac_of: &dyn Fn(&str) -> Option<MacAddress>,
    ) -> Result<Arc<Targets>, StoreError> {
        let Some(dir) = self.open(false)? else {
            return Ok(Arc::default());
        };
        let read = || self.list(&dir, classifier, mac_of);
        match &self.cache {
            Some(cache) => cache.get(|| Stamp::of_fd(&dir).ok().map(|s| vec![s]), read),
            None => read().map(Arc::new),
        }
    }

    /// Reads the folder's entries now.
    fn list(
        &self,
        dir: &OwnedFd,
        classifier: &Classifier,
        mac_of: &dyn Fn(&str) -> Option<MacAddress>,
    ) -> Result<Targets, StoreError> {
        let failed = || self.error("read folder", "");
        let spellings = Spellings::of(self.spellings.get_or_init(|| self.spell()));
        let mut listing = rustix::fs::Dir::read_from(dir).map_err(|e| failed()(e.into()))?;
        let mut seen = Seen::default();
        let mut link = vec![0; LINK_MAX];
        let mut targets = Vec::new();
        while let Some(item) = listing.read() {
            let item = item.map_err(|e| failed()(e.into()))?;
            let Some(name) = item.file_name().to_str().ok() else {
                continue;
            };
            if name.starts_with(TEMP_PREFIX) {
                continue;
            }
            let Some(mac) = mac_of(name) else { continue };
            let kind = match item.file_type() {
                FileType::Unknown => match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
                {
                    Ok(stat) => FileType::from_raw_mode(stat.st_mode),
                    Err(_) => continue,
                },
                kind => kind,
            };
            let entry = Entry {
                name,
                kind,
                link: &mut link,
            };
            if let Some(target) = self.target(dir, entry, classifier, &spellings, mac_of, &mut seen)
            {
                targets.push((mac, target));
            }
        }
        Ok(Targets::new(targets))
    }

    /// What `entry` leads to; `None` when it is no entry (a folder) or vanished since the
    /// folder was listed.
    fn target(
        &self,
        dir: &OwnedFd,
        entry: Entry<'_>,
        classifier: &Classifier,
        spellings: &Spellings<'_>,
        mac_of: &dyn Fn(&str) -> Option<MacAddress>,
        seen: &mut Seen,
    ) -> Option<Target> {
        match entry.kind {
            FileType::Symlink => {
                let read = rustix::fs::readlinkat_raw(dir, entry.name, &mut entry.link[..]).ok()?;
                if read >= LINK_MAX {
                    let name = entry.name;
                    return Some(Target::Foreign(format!("{name} leads to a path too long")));
                }
                let link = Path::new(std::ffi::OsStr::from_bytes(&entry.link[..read]));
                Some(classifier.classify(spellings, mac_of, link, seen))
            }
            FileType::RegularFile => Some(Target::Foreign(format!("{} is a file", entry.name))),
            _ => None,
        }
    }

    /// The entries of `names` only (name, MAC), read now.
    pub(super) fn entries_of(
        &self,
        names: &[(String, MacAddress)],
        classifier: &Classifier,
        mac_of: &dyn Fn(&str) -> Option<MacAddress>,
    ) -> Result<Targets, StoreError> {
        let Some(dir) = self.open(false)? else {
            return Ok(Targets::default());
        };
        let spellings = Spellings::of(self.spellings.get_or_init(|| self.spell()));
        let mut seen = Seen::default();
        let mut link = vec![0; LINK_MAX];
        let mut targets = Vec::with_capacity(names.len());
        for (name, mac) in names {
            let Ok(stat) = rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
            else {
                continue;
            };
            let entry = Entry {
                name,
                kind: FileType::from_raw_mode(stat.st_mode),
                link: &mut link,
            };
            if let Some(target) =
                self.target(&dir, entry, classifier, &spellings, mac_of, &mut seen)
            {
                targets.push((*mac, target));
            }
        }
        Ok(Targets::new(targets))
    }

    /// Makes every write made to the folder before this call durable. Concurrent callers
    /// share one `fsync` (group commit): each returns after a sync that started after its call.
    /// Inside a batch of [`super::DeferredSyncs`], the sync is left to the batch's end.
    /// The last listing, stale after a write, is let go at once rather than held until the
    /// next listing replaces it.
    pub(super) fn sync(&self, dir: &OwnedFd) -> Result<(), StoreError> {
        if let Some(cache) = &self.cache {
            cache.forget();
        }
        if super::deferred::defer(&self.path(), dir) {
            return Ok(());
        }
        self.sync
            .commit(|| super::write::sync(dir))
            .map_err(self.error("sync folder", ""))
    }
}

/// One entry of a folder being read: its name and type, and the buffer its link is read
/// into (one per listing, not one per entry).
struct Entry<'a> {
    name: &'a str,
    kind: FileType,
    link: &'a mut [u8],
}

/// The size of the buffer a link is read into: a link text as long is no path (`PATH_MAX`
/// counts the final NUL).
const LINK_MAX: usize = 4096;

use std::os::unix::ffi::OsStrExt;
