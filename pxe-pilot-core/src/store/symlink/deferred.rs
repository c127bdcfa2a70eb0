//! Syncs deferred to the end of a batch of writes: while a [`DeferredSyncs`] is alive, the
//! folder syncs of the writes its thread makes wait for [`DeferredSyncs::finish`], which syncs
//! each folder once. For writes no caller waits on (the etcd mirror applying a watch batch
//! of other servers' changes, or a full read of etcd): one `fsync` per folder per batch
//! instead of one per host.

use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::store::StoreError;

thread_local! {
    /// The folders written in this thread's batch, when one is open.
    static PENDING: RefCell<Option<HashMap<PathBuf, OwnedFd>>> = const { RefCell::new(None) };
}

/// A batch of writes on this thread whose folder syncs wait for its end.
#[must_use = "the syncs are made by finish (or when it is dropped)"]
pub struct DeferredSyncs {
    /// Whether this one opened the batch (an inner one leaves it to the outer).
    outer: bool,
    /// Bound to its thread.
    _thread: PhantomData<*const ()>,
}

impl DeferredSyncs {
    /// Opens a batch on this thread (or joins the one open).
    pub fn begin() -> DeferredSyncs {
        let outer = PENDING.with(|pending| {
            let mut pending = pending.borrow_mut();
            let outer = pending.is_none();
            if outer {
                *pending = Some(HashMap::new());
            }
            outer
        });
        DeferredSyncs {
            outer,
            _thread: PhantomData,
        }
    }

    /// Syncs every folder written in the batch; the first failure, naming its folder.
    pub fn finish(mut self) -> Result<(), StoreError> {
        self.sync_all()
    }

    fn sync_all(&mut self) -> Result<(), StoreError> {
        if !std::mem::take(&mut self.outer) {
            return Ok(());
        }
        let folders = PENDING.with(|pending| pending.borrow_mut().take());
        let mut first = Ok(());
        for (path, dir) in folders.unwrap_or_default() {
            if let Err(source) = super::write::sync(&dir) {
                if first.is_ok() {
                    first = Err(StoreError::Io {
                        action: "sync folder",
                        path,
                        source,
                    });
                }
            }
        }
        first
    }
}

impl Drop for DeferredSyncs {
    fn drop(&mut self) {
        if let Err(error) = self.sync_all() {
            tracing::warn!(%error, "a folder of the TFTP root was not synced");
        }
    }
}

/// Leaves the sync of `dir` (the folder at `path`) to this thread's open batch; whether one
/// is open and took it.
pub(super) fn defer(path: &Path, dir: &OwnedFd) -> bool {
    PENDING.with(|pending| match pending.borrow_mut().as_mut() {
        Some(folders) => {
            if !folders.contains_key(path) {
                match dir.try_clone() {
                    Ok(dir) => {
                        folders.insert(path.to_owned(), dir);
                    }
                    Err(_) => return false,
                }
            }
            true
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_takes_a_folder_once_and_an_inner_batch_leaves_it_to_the_outer() {
        let dir = tempfile::tempdir().unwrap();
        let fd: OwnedFd = std::fs::File::open(dir.path()).unwrap().into();
        assert!(!defer(dir.path(), &fd), "no batch open");
        let outer = DeferredSyncs::begin();
        let inner = DeferredSyncs::begin();
        assert!(defer(dir.path(), &fd));
        assert!(defer(dir.path(), &fd));
        inner.finish().unwrap();
        let held = PENDING.with(|p| p.borrow().as_ref().map(HashMap::len));
        assert_eq!(
            held,
            Some(1),
            "the inner batch leaves the folder to the outer one"
        );
        outer.finish().unwrap();
        assert!(PENDING.with(|p| p.borrow().is_none()));
        assert!(!defer(dir.path(), &fd), "the batch is closed");
    }
}
