//! One server per state folder: [`StateDirLock`] holds an exclusive lock (`flock`) on
//! `<state_dir>/lock` for as long as the server runs, with the server's process id written in
//! the file. A second server on the same folder would append to the same event files with
//! ids of its own and lose the `once` list: it refuses to start and names the holder.
//! The kernel drops the lock when the holder exits, however it exits (a crash or `SIGKILL`
//! included), so a stale lock never blocks a restart.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

/// The lock file of a state folder.
pub const FILE_NAME: &str = "lock";

/// The lock of a state folder, held until dropped.
#[derive(Debug)]
pub struct StateDirLock {
    _file: File,
}

/// Why the state folder cannot be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error("state_dir {dir} is used by another pxe-pilot-server ({holder}): stop it, or give this server a state_dir of its own")]
    Held {
        /// The folder.
        dir: PathBuf,
        /// Who holds it, as far as the lock file says (`pid 1234`).
        holder: String,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot lock {path}: {source}: give the service write access to state_dir")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
}

impl StateDirLock {
    /// Locks `dir` (created when missing) for this process, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(FILE_NAME);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let pid = text.trim();
                let holder = if pid.chars().all(|c| c.is_ascii_digit()) && !pid.is_empty() {
                    format!("pid {pid}")
                } else {
                    "its lock file names no process".to_owned()
                };
                return Err(LockError::Held {
                    dir: dir.to_owned(),
                    holder,
                });
            }
            Err(e) => return Err(io(e.into())),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(StateDirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_named_then_the_lock_is_free_again() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateDirLock::acquire(dir.path()).unwrap();
        let error = StateDirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains(&format!("(pid {})", std::process::id())),
            "{error}"
        );
        assert!(
            error.contains("used by another pxe-pilot-server"),
            "{error}"
        );
        drop(first);
        let _again = StateDirLock::acquire(dir.path()).unwrap();
        assert!(dir.path().join(FILE_NAME).is_file());
    }
}
