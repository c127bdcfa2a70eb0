//! When a listing of a folder may be reused: the folder's identity and change times are the
//! same as when the listing was taken ([`Stamp`]), and the listing was taken at least
//! [`RACY`] after the folder's last change. A change in the same clock tick as the one before
//! it would leave the times as they were, so a listing taken that close is not trusted and is
//! taken again next time (git's "racily clean" index entries).

use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use rustix::fd::OwnedFd;

/// How long after a folder's last change a listing of it is trusted.
pub(crate) const RACY: Duration = Duration::from_secs(1);

/// What changes when a folder's entries change: its identity, modification and change times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    device: u64,
    inode: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Stamp {
    /// The stamp of an open folder.
    pub(crate) fn of_fd(dir: &OwnedFd) -> std::io::Result<Self> {
        let s = rustix::fs::fstat(dir)?;
        Ok(Stamp {
            device: s.st_dev as u64,
            inode: s.st_ino as u64,
            modified: (s.st_mtime as i64, s.st_mtime_nsec as i64),
            changed: (s.st_ctime as i64, s.st_ctime_nsec as i64),
        })
    }

    /// The stamp of a folder by its path.
    pub(crate) fn of_path(path: &std::path::Path) -> std::io::Result<Self> {
        let m = std::fs::metadata(path)?;
        Ok(Stamp {
            device: m.dev(),
            inode: m.ino(),
            modified: (m.mtime(), m.mtime_nsec()),
            changed: (m.ctime(), m.ctime_nsec()),
        })
    }

    /// The last change, as a time.
    fn last_change(&self) -> SystemTime {
        let (secs, nanos) = self.modified.max(self.changed);
        SystemTime::UNIX_EPOCH
            + Duration::new(secs.max(0) as u64, nanos.clamp(0, 999_999_999) as u32)
    }
}

/// The last listing of some folders, reused while their stamps stay those it was taken
/// under (the catalogue's, and each entry folder's of the symlink store).
#[derive(Debug)]
pub(crate) struct Reused<T> {
    last: Mutex<Option<(Vec<Stamp>, Arc<T>)>>,
}

impl<T> Default for Reused<T> {
    fn default() -> Self {
        Reused {
            last: Mutex::new(None),
        }
    }
}

impl<T> Reused<T> {
    /// The last listing when the folders' stamps now (`stamps`; `None`: they cannot be read)
    /// are those it was taken under; otherwise a new one from `read`, kept for next time when
    /// it can be trusted.
    pub(crate) fn get<E>(
        &self,
        stamps: impl FnOnce() -> Option<Vec<Stamp>>,
        read: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let started = SystemTime::now();
        let stamps = stamps();
        if let (Some(now), Some((then, listing))) = (&stamps, self.lock().as_ref()) {
            if now == then {
                return Ok(Arc::clone(listing));
            }
        }
        let listing = Arc::new(read()?);
        *self.lock() = stamps
            .filter(|stamps| trusted(started, stamps))
            .map(|stamps| (stamps, Arc::clone(&listing)));
        Ok(listing)
    }

    /// Lets the last listing go (a write made it stale).
    pub(crate) fn forget(&self) {
        self.lock().take();
    }

    fn lock(&self) -> MutexGuard<'_, Option<(Vec<Stamp>, Arc<T>)>> {
        self.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether a listing taken at `taken` (read before the stamps) of folders stamped `stamps`
/// may be reused while the stamps stay the same.
fn trusted(taken: SystemTime, stamps: &[Stamp]) -> bool {
    stamps.iter().all(|stamp| {
        taken
            .duration_since(stamp.last_change())
            .is_ok_and(|since| since >= RACY)
    })
}
