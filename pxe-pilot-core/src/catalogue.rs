//! The catalogue: the configuration files in `configuration.directory`, read-only.
//!
//! Flat (one file per configuration) when no bootloader is declared, otherwise one folder per
//! declared bootloader (`conf/<bootloader>/<name>`). Read from disk on every call, so a file an
//! operator adds is seen at once. A name is always one file name, and a link inside the
//! catalogue that leads outside it is refused.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::beneath;
use crate::bootloader::Bootloader;
use crate::freshness::{Reused, Stamp};
use crate::names::ConfigName;

/// The largest configuration file shown by [`Catalogue::content`], in bytes.
pub const MAX_CONTENT_SIZE: u64 = 1024 * 1024;

/// A configuration of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// Its name (the file name).
    pub name: ConfigName,
    /// The bootloader folder it is in; `None` in a flat catalogue.
    pub bootloader: Option<Bootloader>,
    /// Its path relative to the catalogue folder (`local`, `grub/grml`).
    pub path: PathBuf,
}

/// Why the catalogue cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// No configuration has this name.
    #[error("configuration {name:?} does not exist: `pxe-pilot config list` shows the catalogue")]
    NotFound {
        /// The name asked for.
        name: String,
    },
    /// Several bootloader folders hold a configuration of this name.
    #[error("configuration {name:?} exists for several bootloaders ({}): rename one of the files", bootloaders.join(", "))]
    Ambiguous {
        /// The name asked for.
        name: String,
        /// The bootloaders that have it.
        bootloaders: Vec<String>,
    },
    /// The configuration file is larger than `MAX_CONTENT_SIZE` (1 MiB).
    #[error("configuration {name:?} is larger than 1 MiB and is not shown")]
    TooLarge {
        /// The configuration.
        name: String,
    },
    /// The configuration is not a regular file (a device, a FIFO, a folder).
    #[error("configuration {name:?} is not a regular file inside the catalogue")]
    NotAFile {
        /// The configuration.
        name: String,
    },
    /// The configuration file is not UTF-8 text.
    #[error("configuration {name:?} is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// The configuration.
        name: String,
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// The catalogue folder cannot be read.
    #[error("cannot read the catalogue folder {path}: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
}

/// The catalogue of configurations.
#[derive(Debug)]
pub struct Catalogue {
    directory: PathBuf,
    bootloaders: Vec<Bootloader>,
    /// The last listing, when reusing it is allowed (see [`crate::freshness`]).
    cache: Option<Reused<Listing>>,
}

/// The catalogue at one moment: every configuration, sorted by bootloader then name, each
/// shared by the hosts that boot it.
#[derive(Debug, Default)]
pub struct Listing {
    /// Every configuration, in order.
    pub configurations: Vec<Arc<Configuration>>,
    by_path: HashMap<PathBuf, Arc<Configuration>>,
}

impl Listing {
    fn new(configurations: Vec<Configuration>) -> Self {
        let configurations: Vec<Arc<Configuration>> =
            configurations.into_iter().map(Arc::new).collect();
        let by_path = configurations
            .iter()
            .map(|c| (c.path.clone(), Arc::clone(c)))
            .collect();
        Listing {
            configurations,
            by_path,
        }
    }

    /// The configuration at `path` relative to the catalogue folder, if it is one.
    pub fn at_path(&self, path: &Path) -> Option<&Arc<Configuration>> {
        self.by_path.get(path)
    }

    /// The configuration named `name`.
    pub fn pick(&self, name: &str) -> Result<Configuration, CatalogueError> {
        let not_found = || CatalogueError::NotFound {
            name: name.chars().take(128).collect(),
        };
        let name = ConfigName::parse(name).map_err(|_| not_found())?;
        let mut matches: Vec<&Arc<Configuration>> = self
            .configurations
            .iter()
            .filter(|c| c.name == name)
            .collect();
        match matches.len() {
            0 => Err(not_found()),
            1 => Ok((*matches.remove(0)).as_ref().clone()),
            _ => Err(CatalogueError::Ambiguous {
                name: name.to_string(),
                bootloaders: matches
                    .iter()
                    .filter_map(|c| c.bootloader.as_ref().map(|b| b.name.clone()))
                    .collect(),
            }),
        }
    }
}

impl Catalogue {
    /// A catalogue over `directory`, flat when `bootloaders` is empty, read again on every
    /// call.
    pub fn new(directory: impl Into<PathBuf>, bootloaders: Vec<Bootloader>) -> Self {
        Catalogue {
            directory: directory.into(),
            bootloaders,
            cache: None,
        }
    }

    /// The same catalogue, whose listing is reused while its folders have not changed.
    pub fn cached(mut self) -> Self {
        self.cache = Some(Reused::default());
        self
    }

    /// The folders whose changes change the listing: the catalogue and its bootloaders'.
    fn stamps(&self) -> Option<Vec<Stamp>> {
        let mut stamps = vec![Stamp::of_path(&self.directory).ok()?];
        for bootloader in &self.bootloaders {
            if let Ok(stamp) = Stamp::of_path(&self.directory.join(&bootloader.name)) {
                stamps.push(stamp);
            }
        }
        Some(stamps)
    }

    /// The catalogue now (a listing reused while its folders have not changed).
    pub fn listing(&self) -> Result<Arc<Listing>, CatalogueError> {
        let read = || self.read_list().map(Listing::new);
        match &self.cache {
            Some(cache) => cache.get(|| self.stamps(), read),
            None => read().map(Arc::new),
        }
    }

    /// The catalogue folder.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The declared bootloaders, in the configuration file's order.
    pub fn bootloaders(&self) -> &[Bootloader] {
        &self.bootloaders
    }

    /// Every configuration, sorted by bootloader (in declared order) then by name.
    pub fn list(&self) -> Result<Vec<Configuration>, CatalogueError> {
        Ok(self
            .listing()?
            .configurations
            .iter()
            .map(|c| c.as_ref().clone())
            .collect())
    }

    /// Reads the folders now.
    fn read_list(&self) -> Result<Vec<Configuration>, CatalogueError> {
        let root = std::fs::canonicalize(&self.directory).map_err(|source| CatalogueError::Io {
            path: self.directory.clone(),
            source,
        })?;
        if self.bootloaders.is_empty() {
            return self.list_folder(&root, None);
        }
        let mut all = Vec::new();
        for bootloader in &self.bootloaders {
            if root.join(&bootloader.name).is_dir() {
                all.extend(self.list_folder(&root, Some(bootloader))?);
            }
        }
        Ok(all)
    }

    fn list_folder(
        &self,
        root: &Path,
        bootloader: Option<&Bootloader>,
    ) -> Result<Vec<Configuration>, CatalogueError> {
        let folder = match bootloader {
            Some(b) => root.join(&b.name),
            None => root.to_owned(),
        };
        // A regular file listed in a folder that is itself inside the root is inside the
        // root: only links (and a bootloader folder that is a link) need resolving.
        let folder_is_real =
            bootloader.is_none() || std::fs::canonicalize(&folder).is_ok_and(|real| real == folder);
        let entries = std::fs::read_dir(&folder).map_err(|source| CatalogueError::Io {
            path: folder.clone(),
            source,
        })?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().and_then(|n| ConfigName::parse(n).ok()) else {
                continue;
            };
            let is_plain_file = folder_is_real && entry.file_type().is_ok_and(|t| t.is_file());
            if !is_plain_file {
                let path = folder.join(&file_name);
                if !is_file_inside(&path, root) {
                    tracing::warn!(path = %path.display(), "catalogue entry skipped: not a file inside the catalogue");
                    continue;
                }
            }
            let relative = match bootloader {
                Some(b) => Path::new(&b.name).join(name.as_str()),
                None => PathBuf::from(name.as_str()),
            };
            found.push(Configuration {
                name,
                bootloader: bootloader.cloned(),
                path: relative,
            });
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// The configuration named `name`.
    pub fn find(&self, name: &str) -> Result<Configuration, CatalogueError> {
        self.listing()?.pick(name)
    }

    /// The configuration named `name` and its text.
    pub fn content(&self, name: &str) -> Result<(Configuration, String), CatalogueError> {
        let configuration = self.find(name)?;
        let bytes = self.read(&configuration)?;
        let text = String::from_utf8(bytes).map_err(|e| CatalogueError::NotUtf8 {
            name: configuration.name.to_string(),
            offset: e.utf8_error().valid_up_to(),
        })?;
        Ok((configuration, text))
    }

    /// The bytes of `configuration`'s file, at most `MAX_CONTENT_SIZE` (1 MiB).
    ///
    /// The file is opened once, relative to the catalogue folder, with no link followed out
    /// of it (`openat2` with `RESOLVE_BENEATH`), and that same open file is checked (a regular
    /// file, not too large) and read: a file swapped for a link to elsewhere between the
    /// listing and the read is never served, nor a device that never ends.
    pub fn read(&self, configuration: &Configuration) -> Result<Vec<u8>, CatalogueError> {
        let path = self.directory.join(&configuration.path);
        let io = |source: std::io::Error| CatalogueError::Io {
            path: path.clone(),
            source,
        };
        let not_a_file = || CatalogueError::NotAFile {
            name: configuration.name.to_string(),
        };
        let flags = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK;
        let opened = beneath::open_folder(&self.directory)
            .and_then(|folder| beneath::open_beneath(&folder, &configuration.path, flags));
        let file = match opened {
            Ok(fd) => std::fs::File::from(fd),
            Err(e) if beneath::leads_outside(&e) => return Err(not_a_file()),
            Err(e) => return Err(io(e)),
        };
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(not_a_file());
        }
        let too_large = || CatalogueError::TooLarge {
            name: configuration.name.to_string(),
        };
        if meta.len() > MAX_CONTENT_SIZE {
            return Err(too_large());
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        (&file)
            .take(MAX_CONTENT_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_CONTENT_SIZE {
            return Err(too_large());
        }
        Ok(bytes)
    }
}

/// True when `path` is a regular file, or a link to one, that stays inside `root`.
fn is_file_inside(path: &Path, root: &Path) -> bool {
    match std::fs::canonicalize(path) {
        Ok(real) => real.starts_with(root) && real.is_file(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn bootloader(name: &str) -> Bootloader {
        Bootloader {
            name: name.into(),
            file: format!("{name}.0"),
            config_path: String::new(),
            mac_entry: None,
            http: None,
        }
    }

    #[test]
    fn a_file_swapped_for_a_link_between_listing_and_read_is_never_served() {
        let dir = tempfile::tempdir().unwrap();
        let catalogue_dir = dir.path().join("conf");
        fs::create_dir(&catalogue_dir).unwrap();
        fs::write(dir.path().join("secret"), "SECRET").unwrap();
        let big = dir.path().join("big");
        fs::write(&big, vec![b'x'; 2 * MAX_CONTENT_SIZE as usize]).unwrap();
        let file = catalogue_dir.join("local");
        fs::write(&file, "LOCALBOOT 0").unwrap();
        let catalogue = Catalogue::new(&catalogue_dir, vec![]);
        let configuration = catalogue.find("local").unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let (stop, file, dir) = (stop.clone(), file.clone(), dir.path().to_owned());
            std::thread::spawn(move || {
                let targets = [dir.join("secret"), dir.join("big"), "/dev/zero".into()];
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let temporary = file.with_extension("tmp");
                    let _ = fs::remove_file(&temporary);
                    if i % 2 == 0 {
                        std::os::unix::fs::symlink(&targets[i / 2 % 3], &temporary).unwrap();
                    } else {
                        fs::write(&temporary, "LOCALBOOT 0").unwrap();
                    }
                    fs::rename(&temporary, &file).unwrap();
                    i += 1;
                }
            })
        };
        let mut served = 0;
        // At least 2,000 reads, and until one was served (under load the swapper may win
        // every race for a while).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut reads = 0;
        while reads < 2000 || (served == 0 && std::time::Instant::now() < deadline) {
            reads += 1;
            match catalogue.read(&configuration) {
                Ok(bytes) => {
                    assert_eq!(bytes, b"LOCALBOOT 0", "served a file outside the catalogue");
                    served += 1;
                }
                Err(e) => assert!(
                    matches!(
                        e,
                        CatalogueError::NotAFile { .. } | CatalogueError::Io { .. }
                    ),
                    "{e}"
                ),
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().unwrap();
        assert!(served > 0);
        std::os::unix::fs::symlink("/dev/zero", catalogue_dir.join("zero")).unwrap();
        let zero = Configuration {
            name: ConfigName::parse("zero").unwrap(),
            bootloader: None,
            path: "zero".into(),
        };
        assert!(matches!(
            catalogue.read(&zero),
            Err(CatalogueError::NotAFile { .. })
        ));
    }

    #[test]
    fn a_cached_listing_sees_every_file_added_or_removed_by_hand_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let catalogue = Catalogue::new(dir.path(), vec![]).cached();
        for i in 0..50 {
            fs::write(dir.path().join(format!("c{i}")), "x").unwrap();
            assert_eq!(catalogue.list().unwrap().len(), i + 1);
            assert!(catalogue.find(&format!("c{i}")).is_ok());
        }
        fs::remove_file(dir.path().join("c0")).unwrap();
        assert!(catalogue.find("c0").is_err());
        std::thread::sleep(crate::freshness::RACY + std::time::Duration::from_millis(100));
        let a = catalogue.listing().unwrap();
        let b = catalogue.listing().unwrap();
        assert!(
            Arc::ptr_eq(&a, &b),
            "a folder unchanged for a while: the listing is shared"
        );
        fs::write(dir.path().join("late"), "x").unwrap();
        assert!(catalogue.find("late").is_ok());
    }

    #[test]
    fn a_flat_catalogue_lists_its_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["ubuntu-16.04", "local", "grml-2017.05", ".hidden"] {
            fs::write(dir.path().join(name), name).unwrap();
        }
        fs::create_dir(dir.path().join("folder")).unwrap();
        let catalogue = Catalogue::new(dir.path(), vec![]);
        let names: Vec<String> = catalogue
            .list()
            .unwrap()
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        assert_eq!(names, ["grml-2017.05", "local", "ubuntu-16.04"]);
        let (conf, text) = catalogue.content("local").unwrap();
        assert_eq!((conf.path, text), (PathBuf::from("local"), "local".into()));
    }

    #[test]
    fn bootloader_folders_are_listed_in_declared_order_then_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for path in [
            "pxelinux/local",
            "grub/z",
            "grub/a",
            "sheep",
            "syslinux/sheep",
        ] {
            let file = dir.path().join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, path).unwrap();
        }
        let catalogue = Catalogue::new(
            dir.path(),
            vec![
                bootloader("pxelinux"),
                bootloader("syslinux"),
                bootloader("grub"),
            ],
        );
        let listed: Vec<(String, String)> = catalogue
            .list()
            .unwrap()
            .into_iter()
            .map(|c| (c.name.to_string(), c.bootloader.unwrap().name))
            .collect();
        let expected = [
            ("local", "pxelinux"),
            ("sheep", "syslinux"),
            ("a", "grub"),
            ("z", "grub"),
        ];
        assert_eq!(listed, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
        assert_eq!(
            catalogue.find("sheep").unwrap().path,
            PathBuf::from("syslinux/sheep")
        );
    }

    #[test]
    fn names_that_are_paths_or_unknown_are_not_found() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("local"), "x").unwrap();
        let catalogue = Catalogue::new(dir.path(), vec![]);
        for name in ["../local", "/etc/passwd", "", "..", "missing", "local/"] {
            assert!(
                matches!(catalogue.find(name), Err(CatalogueError::NotFound { .. })),
                "{name}"
            );
        }
    }

    #[test]
    fn links_leading_out_of_the_catalogue_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("escape"))
            .unwrap();
        fs::write(dir.path().join("real"), "x").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("alias")).unwrap();
        let catalogue = Catalogue::new(dir.path(), vec![]);
        assert!(catalogue.find("escape").is_err());
        assert_eq!(catalogue.content("alias").unwrap().1, "x");
    }

    #[test]
    fn large_and_binary_files_are_reported_not_shown() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("binary"), [0x66, 0xff, 0xfe]).unwrap();
        fs::write(
            dir.path().join("huge"),
            vec![b'a'; MAX_CONTENT_SIZE as usize + 1],
        )
        .unwrap();
        let catalogue = Catalogue::new(dir.path(), vec![]);
        let err = catalogue.content("binary").unwrap_err();
        assert!(
            matches!(err, CatalogueError::NotUtf8 { offset: 1, .. }),
            "{err}"
        );
        assert!(matches!(
            catalogue.content("huge"),
            Err(CatalogueError::TooLarge { .. })
        ));
    }

    #[test]
    fn the_same_name_for_two_bootloaders_is_ambiguous() {
        let dir = tempfile::tempdir().unwrap();
        for path in ["pxelinux/local", "grub/local"] {
            let file = dir.path().join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, path).unwrap();
        }
        let catalogue =
            Catalogue::new(dir.path(), vec![bootloader("pxelinux"), bootloader("grub")]);
        let err = catalogue.find("local").unwrap_err();
        assert!(err.to_string().contains("pxelinux, grub"), "{err}");
    }
}
