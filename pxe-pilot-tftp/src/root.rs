//! The served folder: a requested name becomes a file opened beneath it, never outside.
//!
//! The root is opened once, as a directory descriptor. A name is normalised (leading `/`
//! stripped as tftpd-hpa `--secure` does, empty and `.` components dropped, `..` refused),
//! then opened with Linux `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: the kernel
//! resolves every link as inside a chroot (an absolute target starts at the root, `..` stops
//! at it), so neither a request nor a link in the root reaches a file outside it, and no
//! check races a rename. Only regular files are served.

use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{openat2, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// How often an open is retried when the kernel reports a concurrent rename (`EAGAIN`).
const OPEN_ATTEMPTS: usize = 4;

/// The folder served, as a descriptor opened once.
#[derive(Debug)]
pub(crate) struct Root {
    dir: OwnedFd,
}

/// Why a requested name is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No such file, or not a regular file (error 1).
    NotFound,
    /// A `..` component, or a file the server may not read (error 2).
    Denied,
    /// Any other failure of the system (error 0).
    Failed(Errno),
}

/// A file opened for serving.
#[derive(Debug)]
pub(crate) struct Opened {
    /// The file.
    pub file: File,
    /// Its size when opened.
    pub size: u64,
}

impl Root {
    /// Opens the folder `path`; fails when it is no folder or the kernel has no `openat2`.
    pub(crate) fn open(path: &Path) -> std::io::Result<Root> {
        let dir = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        // Probe openat2 now: a kernel before 5.6 is found at start, not at the first boot.
        openat2(
            &dir,
            ".",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT,
        )?;
        Ok(Root { dir })
    }

    /// Opens a normalised name (see [`normalise`]) for reading.
    pub(crate) fn open_file(&self, name: &[u8]) -> Result<Opened, Refused> {
        if name.is_empty() {
            return Err(Refused::NotFound);
        }
        let mut attempts = 0;
        let fd = loop {
            attempts += 1;
            match openat2(
                &self.dir,
                OsStr::from_bytes(name),
                // NONBLOCK: a FIFO in the root opens at once (then is refused as no file).
                OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            ) {
                Ok(fd) => break fd,
                Err(Errno::AGAIN | Errno::INTR) if attempts < OPEN_ATTEMPTS => continue,
                Err(errno) => return Err(refusal(errno)),
            }
        };
        let stat = rustix::fs::fstat(&fd).map_err(refusal)?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(Refused::NotFound);
        }
        Ok(Opened {
            file: File::from(fd),
            size: u64::try_from(stat.st_size).unwrap_or(0),
        })
    }
}

fn refusal(errno: Errno) -> Refused {
    match errno {
        Errno::NOENT | Errno::NOTDIR | Errno::LOOP | Errno::NAMETOOLONG | Errno::NXIO => {
            Refused::NotFound
        }
        Errno::ACCESS | Errno::PERM | Errno::XDEV => Refused::Denied,
        other => Refused::Failed(other),
    }
}

/// The name a client asked, as a path relative to the root: leading `/` stripped, empty and
/// `.` components dropped; a `..` component is refused (even where the kernel would keep it
/// inside the root, as tftpd-hpa refuses it).
pub(crate) fn normalise(requested: &[u8]) -> Result<Vec<u8>, Refused> {
    let mut name = Vec::with_capacity(requested.len());
    for component in requested.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return Err(Refused::Denied),
            component => {
                if !name.is_empty() {
                    name.push(b'/');
                }
                name.extend_from_slice(component);
            }
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalise(b"/pxelinux.0").unwrap(), b"pxelinux.0");
        assert_eq!(
            normalise(b"//pxelinux.cfg/./01-aa//").unwrap(),
            b"pxelinux.cfg/01-aa"
        );
        assert_eq!(normalise(b"a/../b"), Err(Refused::Denied));
        assert_eq!(normalise(b"../etc/passwd"), Err(Refused::Denied));
        assert_eq!(normalise(b"..."), Ok(b"...".to_vec()));
        assert_eq!(normalise(b"/"), Ok(Vec::new()));
    }

    fn read(root: &Root, name: &str) -> Result<String, Refused> {
        let mut opened = root.open_file(&normalise(name.as_bytes())?)?;
        let mut text = String::new();
        opened.file.read_to_string(&mut text).unwrap();
        assert_eq!(opened.size, text.len() as u64);
        Ok(text)
    }

    #[test]
    fn links_resolve_as_in_a_chroot() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path();
        std::fs::create_dir_all(top.join("pxelinux.cfg/conf")).unwrap();
        std::fs::create_dir_all(top.join("etc")).unwrap();
        std::fs::write(top.join("pxelinux.cfg/conf/x"), "x").unwrap();
        std::fs::write(top.join("etc/passwd"), "the root's own").unwrap();
        symlink("/pxelinux.cfg/conf/x", top.join("pxelinux.cfg/01-aa")).unwrap();
        symlink("conf/x", top.join("pxelinux.cfg/01-bb")).unwrap();
        symlink("/etc/passwd", top.join("passwd")).unwrap();
        symlink(
            "../../../../../../etc/passwd",
            top.join("pxelinux.cfg/climb"),
        )
        .unwrap();
        symlink("/etc/shadow", top.join("shadow")).unwrap();
        symlink("/proc/self/root/etc/passwd", top.join("magic")).unwrap();
        let root = Root::open(top).unwrap();
        assert_eq!(read(&root, "pxelinux.cfg/01-aa").as_deref(), Ok("x"));
        assert_eq!(read(&root, "/pxelinux.cfg/01-bb").as_deref(), Ok("x"));
        assert_eq!(read(&root, "passwd").as_deref(), Ok("the root's own"));
        assert_eq!(
            read(&root, "pxelinux.cfg/climb").as_deref(),
            Ok("the root's own")
        );
        assert_eq!(read(&root, "shadow"), Err(Refused::NotFound));
        assert_eq!(read(&root, "magic"), Err(Refused::NotFound));
        assert_eq!(read(&root, "pxelinux.cfg"), Err(Refused::NotFound));
        assert_eq!(read(&root, "/"), Err(Refused::NotFound));
        assert_eq!(read(&root, "missing"), Err(Refused::NotFound));
        assert_eq!(read(&root, "pxelinux.cfg/01-aa/x"), Err(Refused::NotFound));
    }

    proptest! {
        #[test]
        fn a_normalised_name_never_climbs_nor_starts_at_slash(name in proptest::collection::vec(prop_oneof![Just(b'/'), Just(b'.'), Just(b'a')], 0..24)) {
            if let Ok(normal) = normalise(&name) {
                prop_assert!(!normal.starts_with(b"/"));
                prop_assert!(normal.split(|&b| b == b'/').all(|c| c != b".." && c != b"." && (c != b"" || normal.is_empty())));
            }
        }
    }
}
