//! Recovery at start: the temporary entries an interrupted write left behind are removed.
//!
//! A live write's temporary entry lives for the time of one `symlink` and one `rename`; one
//! older than [`GRACE`] is a leftover whoever made it (this server before a crash, another
//! server on the same root, in any PID namespace). Younger ones are looked at again, on a
//! thread of their own, once they are [`GRACE`] old, and removed if they are still there: a
//! write frozen that long has its rename fail, and answers an error.

use std::time::{Duration, SystemTime};

use rustix::fd::OwnedFd;
use rustix::fs::AtFlags;

use super::write::TEMP_PREFIX;

/// How old a temporary entry must be to count as a leftover.
pub(super) const GRACE: Duration = Duration::from_secs(3);

/// Removes the leftover temporary entries of `dir`; returns how many were removed, and the
/// temporary entries too young to tell, with the time left until they are [`GRACE`] old.
pub(super) fn sweep(dir: &OwnedFd) -> std::io::Result<(usize, Vec<String>, Duration)> {
    let mut young = Vec::new();
    let mut wait = Duration::ZERO;
    let mut removed = 0;
    for (name, age) in temporary_entries(dir)? {
        if age >= GRACE {
            removed += usize::from(remove(dir, &name));
        } else {
            wait = wait.max(GRACE - age);
            young.push(name);
        }
    }
    Ok((removed, young, wait))
}

/// Removes the entries `names` of `dir` if they are still there; returns how many were.
pub(super) fn remove_all(dir: &OwnedFd, names: &[String]) -> usize {
    names.iter().filter(|name| remove(dir, name)).count()
}

fn remove(dir: &OwnedFd, name: &str) -> bool {
    rustix::fs::unlinkat(dir, name, AtFlags::empty()).is_ok()
}

/// The temporary entries of `dir` and how long ago each was made.
fn temporary_entries(dir: &OwnedFd) -> std::io::Result<Vec<(String, Duration)>> {
    let mut found = Vec::new();
    let mut listing = rustix::fs::Dir::read_from(dir)?;
    while let Some(item) = listing.read() {
        let item = item?;
        let Ok(name) = item.file_name().to_str() else {
            continue;
        };
        if !name.starts_with(TEMP_PREFIX) {
            continue;
        }
        let Ok(stat) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        let made = SystemTime::UNIX_EPOCH
            + Duration::new(stat.st_mtime.max(0) as u64, stat.st_mtime_nsec as u32);
        let age = SystemTime::now().duration_since(made).unwrap_or_default();
        found.push((name.to_owned(), age));
    }
    Ok(found)
}
