//! Opening files and folders below a folder without ever leaving it: every path the store
//! writes under and every catalogue file the server reads goes through here, so a link swapped
//! in by someone else cannot lead a read or a write out of the TFTP root.
//!
//! Linux's `openat2` with `RESOLVE_BENEATH` follows links only while they stay below the
//! folder, in one system call (no check-then-use race). Where the kernel has no `openat2`
//! (before 5.6), the path is opened one name at a time and no link is followed at all.

use std::ffi::OsStr;
use std::io;
use std::path::{Component, Path};

use rustix::fd::OwnedFd;
use rustix::fs::{openat, openat2, Mode, OFlags, ResolveFlags, CWD};

/// The error a path that leads out of its folder gives (`EXDEV`), or a link where the
/// fallback follows none (`ELOOP`).
pub(crate) fn leads_outside(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(e) if e == rustix::io::Errno::XDEV.raw_os_error() || e == rustix::io::Errno::LOOP.raw_os_error()
    )
}

/// Opens the folder `path` (links in it are the operator's choice and are followed).
pub(crate) fn open_folder(path: &Path) -> io::Result<OwnedFd> {
    Ok(openat(
        CWD,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens `relative` below the folder `dir` with `flags`, never leaving `dir`.
pub(crate) fn open_beneath(dir: &OwnedFd, relative: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    let flags = flags | OFlags::CLOEXEC | OFlags::NOCTTY;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    match openat2(dir, relative, flags, Mode::empty(), resolve) {
        Err(rustix::io::Errno::NOSYS) => Ok(one_name_at_a_time(dir, relative, flags)?),
        other => Ok(other?),
    }
}

/// [`open_beneath`] without `openat2`: one name at a time, refusing every link.
fn one_name_at_a_time(
    dir: &OwnedFd,
    relative: &Path,
    flags: OFlags,
) -> rustix::io::Result<OwnedFd> {
    let mut names: Vec<&OsStr> = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(name) => names.push(name),
            Component::CurDir => {}
            _ => return Err(rustix::io::Errno::XDEV),
        }
    }
    let folder = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let Some((last, folders)) = names.split_last() else {
        return openat(dir, ".", flags, Mode::empty());
    };
    let mut current = openat(dir, ".", folder, Mode::empty())?;
    for name in folders {
        current = openat(&current, *name, folder, Mode::empty())?;
    }
    openat(&current, *last, flags | OFlags::NOFOLLOW, Mode::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_followed_only_while_they_stay_below() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("inside");
        std::fs::create_dir_all(inside.join("real")).unwrap();
        std::fs::write(inside.join("real/file"), "x").unwrap();
        std::os::unix::fs::symlink("real", inside.join("alias")).unwrap();
        std::os::unix::fs::symlink(dir.path(), inside.join("out")).unwrap();
        let folder = open_folder(&inside).unwrap();
        assert!(open_beneath(&folder, Path::new("alias/file"), OFlags::RDONLY).is_ok());
        let error = open_beneath(&folder, Path::new("out/inside"), OFlags::RDONLY).unwrap_err();
        assert!(leads_outside(&error), "{error}");
        let error = one_name_at_a_time(&folder, Path::new("alias/file"), OFlags::RDONLY)
            .map_err(io::Error::from)
            .unwrap_err();
        assert!(
            leads_outside(&error) || error.raw_os_error() == Some(20),
            "{error}"
        );
    }
}
