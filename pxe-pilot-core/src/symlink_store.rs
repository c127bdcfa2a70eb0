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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::catalogue::Configuration;
use crate::group_sync::GroupSync;
use crate::inventory::Bootloader;
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
    /// The TFTP root, absolute with links resolved.
    root: PathBuf,
    /// The catalogue, absolute with links resolved.
    catalogue: PathBuf,
    /// Bootloaders that keep per-MAC entries of their own: (name, pattern relative to the root).
    mac_entries: Vec<(String, MacEntryPattern)>,
    /// `catalogue_from_folder` when [`SymlinkStore::classify`] may read plain relative links
    /// without building their absolute path: the catalogue is a folder below `folder`, and
    /// both have one spelling only. `None`: every link takes the general way.
    plain_catalogue: Option<PathBuf>,
    /// How many entries the last listing found: the next one sizes its map with it.
    last_count: AtomicUsize,
    /// The syncs of `folder`, shared by the writes that finish at the same time.
    folder_sync: GroupSync,
}

/// Where a bootloader reads its per-MAC entries, relative to the TFTP root
/// (`grub/grub.cfg-01-{mac}`). Placeholders: `{mac}` gives `aa-bb-cc-dd-ee-ff` (GRUB 2's
/// spelling), `{mac_colon}` gives `aa:bb:cc:dd:ee:ff`, `{mac_hex}` gives `aabbccddeeff`
/// (iPXE's `${mac:hexraw}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacEntryPattern(String);

impl MacEntryPattern {
    /// Parses a pattern: relative, inside the root (no `..`), with a MAC placeholder in its
    /// file name.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let path = Path::new(pattern);
        if pattern.is_empty() || path.is_absolute() {
            return Err("must be a path relative to the TFTP root".into());
        }
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
            || pattern.chars().any(char::is_control)
        {
            return Err("must stay inside the TFTP root (no '..', no '.')".into());
        }
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        if !PLACEHOLDERS.iter().any(|(p, _)| file.contains(p)) {
            return Err("its file name must contain {mac}, {mac_colon} or {mac_hex}".into());
        }
        if path
            .parent()
            .is_some_and(|folder| folder.to_string_lossy().contains("{mac"))
        {
            return Err("the MAC placeholder goes in the file name, not in a folder".into());
        }
        if path.starts_with("pxelinux.cfg") && file.starts_with("01-{mac}") {
            return Err("pxelinux.cfg/01-{mac} is written for every host already".into());
        }
        Ok(MacEntryPattern(pattern.to_owned()))
    }

    /// The entry of `mac`, relative to the TFTP root.
    pub fn entry(&self, mac: &MacAddress) -> PathBuf {
        PathBuf::from(
            self.0
                .replace("{mac_colon}", &mac.with_separator(':'))
                .replace("{mac_hex}", &mac.hex())
                .replace("{mac}", &mac.with_separator('-')),
        )
    }

    /// The folder of the entries, relative to the TFTP root (empty: the root itself).
    pub fn folder(&self) -> &Path {
        Path::new(&self.0).parent().unwrap_or(Path::new(""))
    }

    /// The MAC address whose entry has file name `file`, if it is one of this pattern's
    /// (spelled exactly as [`MacEntryPattern::entry`] writes it).
    pub fn mac_of(&self, file: &str) -> Option<MacAddress> {
        let mut template = Path::new(&self.0).file_name()?.to_str()?;
        let mut rest = file;
        let mut found: Option<MacAddress> = None;
        while !template.is_empty() {
            if let Some((placeholder, spell)) =
                PLACEHOLDERS.iter().find(|(p, _)| template.starts_with(p))
            {
                let width = spell(&MacAddress::new([0; 6])).len();
                let text = rest.get(..width)?;
                let mac = MacAddress::parse(text).ok().filter(|m| spell(m) == text)?;
                if found.is_some_and(|f| f != mac) {
                    return None;
                }
                found = Some(mac);
                template = &template[placeholder.len()..];
                rest = &rest[width..];
            } else {
                let c = template.chars().next()?;
                rest = rest.strip_prefix(c)?;
                template = &template[c.len_utf8()..];
            }
        }
        found.filter(|_| rest.is_empty())
    }
}

/// How a placeholder spells a MAC address.
type Spelling = fn(&MacAddress) -> String;

/// The placeholders of a [`MacEntryPattern`] and how each spells a MAC address.
const PLACEHOLDERS: [(&str, Spelling); 3] = [
    ("{mac_colon}", |m| m.with_separator(':')),
    ("{mac_hex}", MacAddress::hex),
    ("{mac}", |m| m.with_separator('-')),
];

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
        let real_root = std::fs::canonicalize(&root).map_err(io("open folder", &root))?;
        let folder_spellings = dedup(vec![normalize(&folder), real_folder.clone()]);
        let catalogue_spellings = dedup(vec![normalize(&catalogue_abs), real_catalogue.clone()]);
        let plain_catalogue = (folder_spellings.len() == 1
            && catalogue_spellings.len() == 1
            && is_plain_relative(&catalogue_from_folder))
        .then(|| catalogue_from_folder.clone());
        Ok(SymlinkStore {
            folder_spellings,
            catalogue_spellings,
            folder: real_folder,
            catalogue_from_folder,
            root: real_root,
            catalogue: real_catalogue,
            mac_entries: Vec::new(),
            plain_catalogue,
            last_count: AtomicUsize::new(0),
            folder_sync: GroupSync::default(),
        })
    }

    /// Also keeps the per-MAC entries of these bootloaders (those with a `mac_entry`): a
    /// deploy of one of their configurations writes their entry, and a deploy of any other
    /// configuration removes it.
    pub fn with_bootloaders(mut self, bootloaders: &[Bootloader]) -> Result<Self, StoreError> {
        for bootloader in bootloaders {
            if let Some(pattern) = &bootloader.mac_entry {
                let pattern = MacEntryPattern::parse(pattern).map_err(|reason| {
                    StoreError::Invalid(format!(
                        "mac_entry {pattern:?} of bootloader {}: {reason}",
                        bootloader.name
                    ))
                })?;
                self.mac_entries.push((bootloader.name.clone(), pattern));
            }
        }
        Ok(self)
    }

    /// The folder the entries are in (`<tftp root>/pxelinux.cfg`).
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// What the target of a link of `pxelinux.cfg/` means. The links pxe-pilot writes
    /// (`conf/local`, `01-aa-...`) are read without building a path; anything else takes
    /// the general way ([`SymlinkStore::classify_in`]), which gives the same answer.
    fn classify(&self, link: &Path, seen: &mut Seen) -> Target {
        if let Some(catalogue) = &self.plain_catalogue {
            if is_plain_relative(link) {
                // `folder/link` is inside the catalogue `folder/catalogue` exactly when
                // `link` starts with `catalogue`; its parent is `folder` exactly when `link`
                // is one name.
                match link.strip_prefix(catalogue) {
                    Ok(rest) if !rest.as_os_str().is_empty() => {
                        return Target::Configuration(seen.share(rest))
                    }
                    Ok(_) => {}
                    Err(_) => {
                        let mut names = link.components();
                        return match (names.next(), names.next()) {
                            (Some(Component::Normal(name)), None) => {
                                match name.to_str().and_then(MacAddress::from_entry_name) {
                                    Some(mac) => Target::Entry(mac),
                                    None => Target::Elsewhere(link.to_owned()),
                                }
                            }
                            _ => Target::Elsewhere(link.to_owned()),
                        };
                    }
                }
            }
        }
        self.classify_general(link, seen)
    }

    /// [`SymlinkStore::classify`] the general way: from the absolute path the link leads to.
    fn classify_general(&self, link: &Path, seen: &mut Seen) -> Target {
        self.classify_in(
            &self.folder,
            &self.folder_spellings,
            &MacAddress::from_entry_name,
            link,
            seen,
        )
    }

    /// What the target of a link in `folder` (whose spellings are `spellings`, and whose
    /// entries' names `mac_of` reads) means.
    fn classify_in(
        &self,
        folder: &Path,
        spellings: &[PathBuf],
        mac_of: &dyn Fn(&str) -> Option<MacAddress>,
        link: &Path,
        seen: &mut Seen,
    ) -> Target {
        let absolute = normalize(&if link.is_absolute() {
            link.to_owned()
        } else {
            folder.join(link)
        });
        for catalogue in &self.catalogue_spellings {
            if let Ok(rest) = absolute.strip_prefix(catalogue) {
                if rest.as_os_str().is_empty() {
                    break;
                }
                return Target::Configuration(seen.share(rest));
            }
        }
        if let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) {
            if spellings.iter().any(|f| f == parent) {
                if let Some(mac) = name.to_str().and_then(mac_of) {
                    return Target::Entry(mac);
                }
            }
        }
        Target::Elsewhere(link.to_owned())
    }

    /// Reads the entries of a bootloader's `pattern`: all of them, or those of `macs`.
    fn bootloader_targets(
        &self,
        pattern: &MacEntryPattern,
        macs: Option<&[MacAddress]>,
    ) -> Result<HashMap<MacAddress, Target>, StoreError> {
        let mut targets = HashMap::new();
        let folder = self.root.join(pattern.folder());
        let real = match std::fs::canonicalize(&folder) {
            Ok(real) => real,
            // No folder yet: nothing was ever deployed with this bootloader.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(targets),
            Err(e) => return Err(io("open folder", &folder)(e)),
        };
        let spellings = dedup(vec![normalize(&folder), real.clone()]);
        let mac_of = |name: &str| pattern.mac_of(name);
        let mut seen = Seen::default();
        let mut read = |mac: MacAddress, path: &Path| {
            let target = match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.file_type().is_symlink() => match std::fs::read_link(path) {
                    Ok(link) => self.classify_in(&real, &spellings, &mac_of, &link, &mut seen),
                    Err(_) => return,
                },
                Ok(meta) if meta.is_file() => Target::File,
                _ => return,
            };
            targets.insert(mac, target);
        };
        match macs {
            Some(macs) => {
                for mac in macs {
                    read(*mac, &self.root.join(pattern.entry(mac)));
                }
            }
            None => {
                let listing = std::fs::read_dir(&real).map_err(io("read folder", &real))?;
                for item in listing {
                    let item = item.map_err(io("read folder", &real))?;
                    if let Some(mac) = item.file_name().to_str().and_then(mac_of) {
                        read(mac, &item.path());
                    }
                }
            }
        }
        Ok(targets)
    }

    /// Adds the entries of every bootloader that keeps its own to `entries`.
    fn with_bootloader_targets(
        &self,
        mut entries: Entries,
        macs: Option<&[MacAddress]>,
    ) -> Result<Entries, StoreError> {
        for (name, pattern) in &self.mac_entries {
            entries =
                entries.with_bootloader(name.clone(), self.bootloader_targets(pattern, macs)?);
        }
        Ok(entries)
    }

    /// Replaces `mac`'s entry with a link to `target`, atomically.
    fn place(&self, mac: &MacAddress, target: &Path) -> Result<(), StoreError> {
        place_link(&self.folder.join(mac.entry_name()), target)
    }

    /// Makes every write made to `folder` before this call durable. Concurrent callers share
    /// one `fsync` of the folder (group commit, see [`GroupSync`]): each returns after a sync
    /// that started after its call.
    fn sync(&self) -> Result<(), StoreError> {
        self.folder_sync
            .commit(|| sync_folder_now(&self.folder))
            .map_err(io("sync folder", &self.folder))
    }

    /// The absolute entry of `mac` for a bootloader pattern, creating its folder if needed.
    fn bootloader_entry(&self, pattern: &MacEntryPattern, mac: &MacAddress) -> PathBuf {
        self.root.join(pattern.entry(mac))
    }

    /// Writes the entries of `bootloader` for `macs` (first MAC -> the configuration, others
    /// -> the first MAC's entry) and removes those of every other bootloader.
    fn place_bootloader_entries(
        &self,
        macs: &[MacAddress],
        configuration: &Configuration,
    ) -> Result<(), StoreError> {
        let wanted = configuration.bootloader.as_ref().map(|b| b.name.as_str());
        for (name, pattern) in &self.mac_entries {
            let mut folders = Vec::new();
            if Some(name.as_str()) == wanted {
                let (first, others) = macs.split_first().ok_or(StoreError::NoMacAddress)?;
                let first_entry = self.bootloader_entry(pattern, first);
                let folder = first_entry.parent().unwrap_or(&self.root).to_owned();
                std::fs::create_dir_all(&folder).map_err(io("create folder", &folder))?;
                let real = std::fs::canonicalize(&folder).map_err(io("open folder", &folder))?;
                if !real.starts_with(&self.root) {
                    return Err(StoreError::Invalid(format!(
                        "{} leads outside the TFTP root",
                        folder.display()
                    )));
                }
                let target = relative_path(&real, &self.catalogue).join(&configuration.path);
                // As for PXELINUX entries: the other NICs first, the first NIC's entry last.
                for mac in others {
                    let entry = self.bootloader_entry(pattern, mac);
                    let target = relative_path(entry.parent().unwrap_or(&self.root), &first_entry);
                    if let Some(parent) = entry.parent() {
                        std::fs::create_dir_all(parent).map_err(io("create folder", parent))?;
                        folders.push(parent.to_owned());
                    }
                    place_link(&entry, &target)?;
                }
                place_link(&first_entry, &target)?;
                folders.push(folder.clone());
            } else {
                folders.extend(self.remove_bootloader_entries(pattern, macs)?);
            }
            folders.dedup();
            for folder in folders {
                sync_folder(&folder)?;
            }
        }
        Ok(())
    }

    /// Removes a bootloader's entries of `macs`; returns the folders touched.
    fn remove_bootloader_entries(
        &self,
        pattern: &MacEntryPattern,
        macs: &[MacAddress],
    ) -> Result<Vec<PathBuf>, StoreError> {
        let mut touched = Vec::new();
        for mac in macs {
            let entry = self.bootloader_entry(pattern, mac);
            if remove_entry(&entry)? {
                touched.extend(entry.parent().map(Path::to_owned));
            }
        }
        Ok(touched)
    }

    /// Every folder that may hold temporary entries: `pxelinux.cfg/` and the bootloaders'.
    fn entry_folders(&self) -> Vec<PathBuf> {
        let mut folders = vec![self.folder.clone()];
        for (_, pattern) in &self.mac_entries {
            let sample = self.bootloader_entry(pattern, &MacAddress::new([0; 6]));
            if let Some(parent) = sample.parent() {
                if parent.is_dir() && !folders.iter().any(|f| f == parent) {
                    folders.push(parent.to_owned());
                }
            }
        }
        folders
    }
}

/// Replaces `entry` with a link to `target`, atomically: the link is made under a temporary
/// name in the same folder, then renamed over the entry.
fn place_link(entry: &Path, target: &Path) -> Result<(), StoreError> {
    if std::fs::read_link(entry).is_ok_and(|current| current == target) {
        return Ok(());
    }
    let folder = entry.parent().unwrap_or(Path::new("."));
    let name = entry
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    {
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let temporary = folder.join(format!(
            "{TEMP_PREFIX}{}.{sequence}.{name}",
            std::process::id(),
        ));
        if let Err(e) = std::os::unix::fs::symlink(target, &temporary) {
            if e.kind() != ErrorKind::AlreadyExists {
                return Err(io("create link", &temporary)(e));
            }
            // A leftover of an earlier process that had our PID: it is stale.
            let _ = std::fs::remove_file(&temporary);
            std::os::unix::fs::symlink(target, &temporary)
                .map_err(io("create link", &temporary))?;
        }
        if let Err(e) = std::fs::rename(&temporary, entry) {
            let _ = std::fs::remove_file(&temporary);
            return Err(io("replace entry", entry)(e));
        }
    }
    Ok(())
}

/// Removes `entry` if it is a link or a file; true when something was removed.
fn remove_entry(entry: &Path) -> Result<bool, StoreError> {
    match std::fs::symlink_metadata(entry) {
        Ok(meta) if !meta.is_dir() => match std::fs::remove_file(entry) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io("remove entry", entry)(e)),
        },
        _ => Ok(false),
    }
}

/// Makes the folder's entries durable.
fn sync_folder(folder: &Path) -> Result<(), StoreError> {
    sync_folder_now(folder).map_err(io("sync folder", folder))
}

fn sync_folder_now(folder: &Path) -> std::io::Result<()> {
    std::fs::File::open(folder).and_then(|f| f.sync_all())
}

impl Store for SymlinkStore {
    fn entries(&self) -> Result<Entries, StoreError> {
        let listing = std::fs::read_dir(&self.folder).map_err(io("read folder", &self.folder))?;
        let mut targets = Vec::with_capacity(self.last_count.load(Ordering::Relaxed));
        let mut seen = Seen::default();
        for item in listing {
            let item = item.map_err(io("read folder", &self.folder))?;
            // One allocation for the name and the link to read (the floor pays it too).
            let path = item.path();
            let Some(mac) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(MacAddress::from_entry_name)
            else {
                continue;
            };
            let Ok(kind) = item.file_type() else { continue };
            let target = if kind.is_symlink() {
                match std::fs::read_link(&path) {
                    Ok(link) => self.classify(&link, &mut seen),
                    // Replaced or removed since the folder was listed: read it as absent.
                    Err(_) => continue,
                }
            } else if kind.is_file() {
                Target::File
            } else {
                continue;
            };
            targets.push((mac, target));
        }
        self.last_count.store(targets.len(), Ordering::Relaxed);
        self.with_bootloader_targets(Entries::from_list(targets), None)
    }

    fn entries_for(&self, macs: &[MacAddress]) -> Result<Entries, StoreError> {
        let mut targets = HashMap::with_capacity(macs.len());
        let mut seen = Seen::default();
        for mac in macs {
            let entry = self.folder.join(mac.entry_name());
            let target = match std::fs::symlink_metadata(&entry) {
                Ok(meta) if meta.file_type().is_symlink() => match std::fs::read_link(&entry) {
                    Ok(link) => self.classify(&link, &mut seen),
                    Err(_) => continue,
                },
                Ok(meta) if meta.is_file() => Target::File,
                _ => continue,
            };
            targets.insert(*mac, target);
        }
        self.with_bootloader_targets(Entries::new(targets), Some(macs))
    }

    fn deploy(&self, macs: &[MacAddress], configuration: &Configuration) -> Result<(), StoreError> {
        let (first, others) = macs.split_first().ok_or(StoreError::NoMacAddress)?;
        // The bootloader's own entries first, so that when the PXELINUX entry switches, the
        // whole host has switched.
        self.place_bootloader_entries(macs, configuration)?;
        // Then the other NICs' links to the first NIC's entry: on a first deploy they lead
        // nowhere until that entry exists, so a bootloader reads "no entry" on every NIC, as
        // before. The first NIC's entry is written last: that one rename switches every NIC,
        // and a crash before it leaves the host as it was (the next start removes the links
        // that lead nowhere, see `Pilot::open`).
        let first_entry = PathBuf::from(first.entry_name());
        for mac in others {
            self.place(mac, &first_entry)?;
        }
        self.place(first, &self.catalogue_from_folder.join(&configuration.path))?;
        self.sync()
    }

    fn undeploy(&self, macs: &[MacAddress]) -> Result<(), StoreError> {
        for mac in macs {
            remove_entry(&self.folder.join(mac.entry_name()))?;
        }
        self.sync()?;
        for (_, pattern) in &self.mac_entries {
            let mut touched = self.remove_bootloader_entries(pattern, macs)?;
            touched.dedup();
            for folder in touched {
                sync_folder(&folder)?;
            }
        }
        Ok(())
    }

    fn sweep(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        for folder in self.entry_folders() {
            removed += sweep_folder(&folder)?;
        }
        Ok(removed)
    }
}

/// Removes the temporary entries of `folder` that no live process is writing.
fn sweep_folder(folder: &Path) -> Result<usize, StoreError> {
    {
        let listing = std::fs::read_dir(folder).map_err(io("read folder", folder))?;
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
            sync_folder(folder)?;
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

/// The configuration paths one listing has met, so that the thousands of entries that lead to
/// the same file share one [`Target::Configuration`] instead of a copy each.
#[derive(Debug, Default)]
struct Seen(Vec<Arc<Path>>);

impl Seen {
    /// At most this many different paths are remembered (a catalogue rarely has more).
    const MAX: usize = 64;

    fn share(&mut self, path: &Path) -> Arc<Path> {
        if let Some(known) = self.0.iter().find(|known| ***known == *path) {
            return Arc::clone(known);
        }
        let path: Arc<Path> = Arc::from(path);
        if self.0.len() < Self::MAX {
            self.0.push(Arc::clone(&path));
        }
        path
    }
}

/// True for a relative path made of names only (no `/` at the start, no `..`, not empty).
fn is_plain_relative(path: &Path) -> bool {
    let mut components = path.components().peekable();
    components.peek().is_some() && components.all(|c| matches!(c, Component::Normal(_)))
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

    fn conf(path: &str) -> Configuration {
        let bootloader = path.split_once('/').map(|(b, _)| Bootloader {
            name: b.into(),
            file: String::new(),
            config_path: String::new(),
            mac_entry: None,
        });
        Configuration {
            name: crate::names::ConfigName::parse(path.rsplit('/').next().unwrap()).unwrap(),
            bootloader,
            path: path.into(),
        }
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
            .deploy(&[mac(1), mac(2), mac(3)], &conf("local"))
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
            .deploy(&[mac(1), mac(2), mac(3)], &conf("install"))
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
        w.store.deploy(&[mac(1), mac(2)], &conf("local")).unwrap();
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
        store.deploy(&[mac(1)], &conf("local")).unwrap();
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
    fn a_bootloader_with_its_own_entries_gets_them_written_and_removed_on_switch() {
        let root = tempfile::tempdir().unwrap();
        let conf_dir = root.path().join("pxelinux.cfg/conf");
        for path in ["pxelinux/local", "grub/grml"] {
            let file = conf_dir.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(&file, path).unwrap();
        }
        let grub = Bootloader {
            name: "grub".into(),
            file: "grubnetx64.efi.signed".into(),
            config_path: "grub/grub.cfg".into(),
            mac_entry: Some("grub/grub.cfg-01-{mac}".into()),
        };
        let ipxe = Bootloader {
            name: "ipxe".into(),
            file: "ipxe.efi".into(),
            config_path: String::new(),
            mac_entry: Some("ipxe/{mac_hex}.ipxe".into()),
        };
        let store = SymlinkStore::open(root.path(), &conf_dir)
            .unwrap()
            .with_bootloaders(&[grub, ipxe])
            .unwrap();
        let macs = [mac(1), mac(2)];
        let grub_entry = |m: MacAddress| {
            root.path()
                .join(format!("grub/grub.cfg-01-{}", m.with_separator('-')))
        };
        let mut grml = conf("grub/grml");
        grml.bootloader.as_mut().unwrap().name = "grub".into();
        store.deploy(&macs, &grml).unwrap();
        assert_eq!(
            fs::read_link(grub_entry(mac(1))).unwrap(),
            PathBuf::from("../pxelinux.cfg/conf/grub/grml")
        );
        assert_eq!(fs::read_to_string(grub_entry(mac(2))).unwrap(), "grub/grml");
        assert_eq!(
            fs::read_to_string(root.path().join("pxelinux.cfg").join(mac(2).entry_name())).unwrap(),
            "grub/grml"
        );
        store.deploy(&macs, &conf("pxelinux/local")).unwrap();
        assert!(
            fs::symlink_metadata(grub_entry(mac(1))).is_err(),
            "old bootloader's entries removed"
        );
        assert!(fs::symlink_metadata(grub_entry(mac(2))).is_err());
        store.deploy(&macs, &grml).unwrap();
        store.undeploy(&macs).unwrap();
        assert!(fs::symlink_metadata(grub_entry(mac(1))).is_err());
        assert!(
            !root.path().join("ipxe").exists(),
            "nothing written for a bootloader not deployed"
        );
    }

    #[test]
    fn mac_entry_patterns_stay_inside_the_root_and_name_a_mac() {
        for bad in [
            "/grub/{mac}",
            "../{mac}",
            "grub/cfg",
            "pxelinux.cfg/01-{mac}",
            "",
        ] {
            assert!(MacEntryPattern::parse(bad).is_err(), "{bad}");
        }
        let pattern = MacEntryPattern::parse("ipxe/{mac_hex}.ipxe").unwrap();
        assert_eq!(
            pattern.entry(&mac(1)),
            PathBuf::from("ipxe/2334a3e90901.ipxe")
        );
        assert!(MacEntryPattern::parse("{mac}/grub.cfg-{mac}").is_err());
    }

    #[test]
    fn entry_names_read_back_as_the_mac_they_were_written_for() {
        for text in [
            "grub/grub.cfg-01-{mac}",
            "ipxe/{mac_hex}.ipxe",
            "efi/{mac_colon}",
            "{mac}-{mac_hex}.cfg",
        ] {
            let pattern = MacEntryPattern::parse(text).unwrap();
            let entry = pattern.entry(&mac(0xab));
            let file = entry.file_name().unwrap().to_str().unwrap();
            assert_eq!(pattern.mac_of(file), Some(mac(0xab)), "{text}: {file}");
            assert_eq!(pattern.folder(), entry.parent().unwrap(), "{text}");
        }
        let grub = MacEntryPattern::parse("grub/grub.cfg-01-{mac}").unwrap();
        for other in [
            "grub.cfg",
            "grub.cfg-01-23-34-A3-E9-09-AB",
            "grub.cfg-01-23-34-a3-e9-09-ab.tmp",
            "grub.cfg-01-23-34-a3-e9-09",
            ".pxe-pilot-tmp.1.2.grub.cfg-01-23-34-a3-e9-09-ab",
        ] {
            assert_eq!(grub.mac_of(other), None, "{other}");
        }
        let both = MacEntryPattern::parse("{mac}-{mac_hex}.cfg").unwrap();
        assert_eq!(both.mac_of("23-34-a3-e9-09-ab-2334a3e909ac.cfg"), None);
    }

    #[test]
    fn plain_links_are_classified_as_the_general_way_does() {
        let w = world();
        assert!(w.store.plain_catalogue.is_some());
        for link in [
            "conf/local",
            "conf/sub/x",
            "conf/./local",
            "conf/local/",
            "conf",
            "./conf/local",
            "conf/../conf/local",
            "../pxelinux.cfg/conf/local",
            "01-23-34-a3-e9-09-01",
            "01-23-34-A3-E9-09-01",
            "01-23-34-a3-e9-09-01/x",
            "default",
            "other/local",
            "/etc/passwd",
            "",
        ] {
            let link = Path::new(link);
            assert_eq!(
                w.store.classify(link, &mut Seen::default()),
                w.store.classify_general(link, &mut Seen::default()),
                "{}",
                link.display()
            );
        }
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
