//! The write protocol of the symlink store, one folder at a time, through the folder's
//! checked descriptor: a link is made under a temporary name in the entry's own folder and
//! renamed over the entry (a bootloader reading at any moment finds the old link or the new
//! one, never none); removing is one `unlink`; a sync of the folder makes what was renamed or
//! removed before it durable.

use std::io::ErrorKind;
use std::path::Path;

use rustix::fd::OwnedFd;
use rustix::fs::AtFlags;

/// The prefix of temporary entries; they never outlive a write, except after a crash.
pub const TEMP_PREFIX: &str = ".pxe-pilot-tmp.";

/// Replaces the entry `name` of `dir` with a link to `target`, atomically. Nothing is
/// written when the entry already is that link.
pub(super) fn place_link(dir: &OwnedFd, name: &str, target: &Path) -> std::io::Result<()> {
    if rustix::fs::readlinkat(dir, name, Vec::new())
        .is_ok_and(|current| current.as_bytes() == target.as_os_str().as_encoded_bytes())
    {
        return Ok(());
    }
    let temporary = loop {
        let temporary = format!("{TEMP_PREFIX}{}.{name}", random_hex()?);
        match rustix::fs::symlinkat(target, dir, temporary.as_str()) {
            Ok(()) => break temporary,
            // Another writer drew the same 64 random bits: draw again.
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    if let Err(e) = rustix::fs::renameat(dir, temporary.as_str(), dir, name) {
        let _ = rustix::fs::unlinkat(dir, temporary.as_str(), AtFlags::empty());
        return Err(e.into());
    }
    Ok(())
}

/// Removes the entry `name` of `dir` if it is a link or a file; true when something was
/// removed. A folder of that name is not an entry and stays.
pub(super) fn remove_entry(dir: &OwnedFd, name: &str) -> std::io::Result<bool> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::ISDIR) => Ok(false),
        Err(e) => {
            let e = std::io::Error::from(e);
            // EPERM is what unlink of a folder answers on some systems.
            if e.kind() == ErrorKind::PermissionDenied
                && rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|s| rustix::fs::FileType::from_raw_mode(s.st_mode).is_dir())
            {
                return Ok(false);
            }
            Err(e)
        }
    }
}

/// Makes the renames and removals done in `dir` durable.
pub(super) fn sync(dir: &OwnedFd) -> std::io::Result<()> {
    Ok(rustix::fs::fsync(dir)?)
}

/// 16 hex digits from the kernel's random source: temporary names that no other writer (of
/// this process, another one, or another PID namespace) can pick at the same time.
fn random_hex() -> std::io::Result<String> {
    let mut bytes = [0u8; 8];
    rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
