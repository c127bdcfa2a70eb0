//! [`SymlinkStore`]: the entries as symbolic links in the TFTP root, what PXELINUX and GRUB 2
//! read. `pxelinux.cfg/01-<mac>` of a host's first MAC links to the configuration
//! (`conf/local`), its other MACs' entries link to that entry; a bootloader with a `mac_entry`
//! gets the same links in its own folder (`grub/grub.cfg-01-<mac>`). Targets are written
//! relative, so a TFTP server that chroots into the root (tftpd-hpa `--secure`) follows them;
//! absolute targets written by the original PXE Pilot are read too.
//!
//! - [`folder`]: an entry folder, checked below the root and used through its descriptor,
//!   with its listing reused while it has not changed;
//! - [`classify`]: what a link's text leads to;
//! - [`write`]: the write protocol (temporary link renamed over the entry, then a sync);
//! - [`recover`]: removing what an interrupted write left;
//! - [`deferred`]: syncs left to the end of a batch of writes no caller waits on.

mod classify;
mod deferred;
mod folder;
mod recover;
mod write;

use std::path::{Path, PathBuf};

use crate::bootloader::{Bootloader, MacEntryPattern};
use crate::catalogue::Configuration;
use crate::mac::MacAddress;
use crate::settings::Settings;
use crate::store::{Entries, EntryFolders, StoreError};

use classify::{relative_path, Classifier};
use folder::EntryFolder;

pub use deferred::DeferredSyncs;
pub use write::TEMP_PREFIX;

/// The per-MAC symlink store of a TFTP root.
#[derive(Debug)]
pub struct SymlinkStore {
    /// `pxelinux.cfg/`.
    pxelinux: EntryFolder,
    /// The bootloaders that keep entries of their own, with their folders.
    bootloaders: Vec<OwnEntries>,
    /// Reads link targets.
    classifier: Classifier,
    /// The catalogue, absolute with links resolved: link targets are relative to it.
    catalogue: PathBuf,
}

/// A bootloader's own entries.
#[derive(Debug)]
struct OwnEntries {
    name: String,
    pattern: MacEntryPattern,
    folder: EntryFolder,
}

impl SymlinkStore {
    /// Opens the store of `tftp_root` whose catalogue is `catalogue` (a folder inside the
    /// root) and whose bootloaders with a `mac_entry` keep entries of their own. Creates
    /// `pxelinux.cfg/` if it is missing. Every entry folder is checked now: one that leads out
    /// of the root (a link to elsewhere) is refused with a message that says so. `cache`
    /// lets a listing be reused while its folder has not changed (switch it off where folder
    /// times cannot be trusted, e.g. some network file systems).
    pub fn open(
        tftp_root: &Path,
        catalogue: &Path,
        bootloaders: &[Bootloader],
        cache: bool,
    ) -> Result<Self, StoreError> {
        let io = |action, path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::Io {
                action,
                path,
                source,
            }
        };
        let root = std::path::absolute(tftp_root).map_err(io("find", tftp_root))?;
        let real_root = std::fs::canonicalize(&root).map_err(io("open folder", &root))?;
        let catalogue_abs = std::path::absolute(catalogue).map_err(io("find", catalogue))?;
        let real_catalogue =
            std::fs::canonicalize(&catalogue_abs).map_err(io("open folder", &catalogue_abs))?;
        if !real_catalogue.starts_with(&real_root) {
            return Err(StoreError::Invalid(format!(
                "the catalogue {} is outside the TFTP root {}",
                catalogue.display(),
                tftp_root.display()
            )));
        }
        let pxelinux = EntryFolder::new(&root, Path::new("pxelinux.cfg"), cache);
        pxelinux.open(true)?;
        let mut own = Vec::new();
        for bootloader in bootloaders {
            if let Some(pattern) = &bootloader.mac_entry {
                let folder = EntryFolder::new(&root, pattern.folder(), cache);
                // Checked now (created only when first written to).
                folder.open(false)?;
                own.push(OwnEntries {
                    name: bootloader.name.clone(),
                    pattern: pattern.clone(),
                    folder,
                });
            }
        }
        Ok(SymlinkStore {
            pxelinux,
            bootloaders: own,
            classifier: Classifier::new(vec![catalogue_abs, real_catalogue.clone()]),
            catalogue: real_catalogue,
        })
    }

    /// The folder the `pxelinux.cfg/` entries are in.
    pub fn folder(&self) -> PathBuf {
        self.pxelinux.path()
    }

    /// Writes `macs`' entries in `folder` (first MAC -> the configuration, others -> the first
    /// MAC's entry; the first one last, so that its rename switches every NIC), then syncs.
    fn place(
        &self,
        folder: &EntryFolder,
        name_of: &dyn Fn(&MacAddress) -> String,
        macs: &[MacAddress],
        configuration: &Configuration,
    ) -> Result<(), StoreError> {
        let (first, others) = macs.split_first().ok_or(StoreError::NoMacAddress)?;
        let dir = folder.open(true)?.ok_or_else(|| {
            StoreError::Invalid(format!("{} cannot be created", folder.path().display()))
        })?;
        let first_name = name_of(first);
        for mac in others {
            let name = name_of(mac);
            write::place_link(&dir, &name, Path::new(&first_name))
                .map_err(folder.error("replace entry", &name))?;
        }
        let target = relative_path(&folder.real_path(), &self.catalogue).join(&configuration.path);
        write::place_link(&dir, &first_name, &target)
            .map_err(folder.error("replace entry", &first_name))?;
        folder.sync(&dir)
    }

    /// Removes `macs`' entries of `folder` (the first MAC's first), then syncs if any was
    /// removed.
    fn remove(
        &self,
        folder: &EntryFolder,
        name_of: &dyn Fn(&MacAddress) -> String,
        macs: &[MacAddress],
    ) -> Result<(), StoreError> {
        let Some(dir) = folder.open(false)? else {
            return Ok(());
        };
        let mut removed = false;
        for mac in macs {
            let name = name_of(mac);
            removed |=
                write::remove_entry(&dir, &name).map_err(folder.error("remove entry", &name))?;
        }
        if removed {
            folder.sync(&dir)?;
        }
        Ok(())
    }

    fn read(&self, macs: Option<&[MacAddress]>) -> Result<Entries, StoreError> {
        let entry_name = |m: &MacAddress| m.entry_name();
        let pxelinux = match macs {
            None => self
                .pxelinux
                .entries(&self.classifier, &MacAddress::from_entry_name)?,
            Some(macs) => std::sync::Arc::new(self.pxelinux.entries_of(
                &names(macs, &entry_name),
                &self.classifier,
                &MacAddress::from_entry_name,
            )?),
        };
        let mut bootloaders = Vec::with_capacity(self.bootloaders.len());
        for own in &self.bootloaders {
            let mac_of = |name: &str| own.pattern.mac_of(name);
            let targets = match macs {
                None => own.folder.entries(&self.classifier, &mac_of)?,
                Some(macs) => std::sync::Arc::new(own.folder.entries_of(
                    &names(macs, &|m| own.pattern.file_name(m)),
                    &self.classifier,
                    &mac_of,
                )?),
            };
            bootloaders.push((own.name.clone(), targets));
        }
        Ok(Entries {
            pxelinux,
            bootloaders,
        })
    }
}

fn names(
    macs: &[MacAddress],
    name_of: &dyn Fn(&MacAddress) -> String,
) -> Vec<(String, MacAddress)> {
    macs.iter().map(|m| (name_of(m), *m)).collect()
}

impl EntryFolders for SymlinkStore {
    const KIND: &'static str = "files";

    fn open_for(settings: &Settings) -> Result<Self, StoreError> {
        SymlinkStore::open(
            &settings.paths.tftp_root,
            &settings.paths.catalogue,
            &settings.bootloaders,
            settings.paths.cache_listings,
        )
    }

    fn reopen(&self, settings: &Settings) -> Result<Self, StoreError> {
        SymlinkStore::open_for(settings)
    }

    fn entries(&self) -> Result<Entries, StoreError> {
        self.read(None)
    }

    fn entries_for(&self, macs: &[MacAddress]) -> Result<Entries, StoreError> {
        self.read(Some(macs))
    }

    fn deploy(&self, macs: &[MacAddress], configuration: &Configuration) -> Result<(), StoreError> {
        let wanted = configuration.bootloader.as_ref().map(|b| b.name.as_str());
        // The configuration's bootloader's own entries first, then `pxelinux.cfg/`, whose
        // first entry is the switch; only then are the other bootloaders' entries removed, so
        // that a crash at any point leaves every NIC leading to the old configuration or to
        // the new one, never to nothing.
        for own in self
            .bootloaders
            .iter()
            .filter(|o| Some(o.name.as_str()) == wanted)
        {
            self.place(
                &own.folder,
                &|m| own.pattern.file_name(m),
                macs,
                configuration,
            )?;
        }
        self.place(&self.pxelinux, &MacAddress::entry_name, macs, configuration)?;
        for own in self
            .bootloaders
            .iter()
            .filter(|o| Some(o.name.as_str()) != wanted)
        {
            self.remove(&own.folder, &|m| own.pattern.file_name(m), macs)?;
        }
        Ok(())
    }

    fn undeploy(&self, macs: &[MacAddress]) -> Result<(), StoreError> {
        self.remove(&self.pxelinux, &MacAddress::entry_name, macs)?;
        for own in &self.bootloaders {
            self.remove(&own.folder, &|m| own.pattern.file_name(m), macs)?;
        }
        Ok(())
    }

    fn remove_entries(&self, macs: &[MacAddress]) -> Result<(), StoreError> {
        self.remove(&self.pxelinux, &MacAddress::entry_name, macs)
    }

    fn recover(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        for folder in
            std::iter::once(&self.pxelinux).chain(self.bootloaders.iter().map(|o| &o.folder))
        {
            let Some(dir) = folder.open(false)? else {
                continue;
            };
            let (swept, young, wait) =
                recover::sweep(&dir).map_err(folder.error("clean folder", ""))?;
            if swept > 0 {
                folder.sync(&dir)?;
            }
            removed += swept;
            if !young.is_empty() {
                // Too young to tell from a live write of another server: looked at again later.
                let later = folder.detached();
                std::thread::spawn(move || {
                    std::thread::sleep(wait);
                    if let Ok(Some(dir)) = later.open(false) {
                        let swept = recover::remove_all(&dir, &young);
                        if swept > 0 && later.sync(&dir).is_ok() {
                            tracing::warn!(
                                swept,
                                "removed temporary entries left by an interrupted write"
                            );
                        }
                    }
                });
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::ConfigName;
    use crate::store::{Resolved, Target};
    use std::fs;
    use std::path::PathBuf;

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
        let store = SymlinkStore::open(root.path(), &conf, &[], true).unwrap();
        World { root, store }
    }

    fn mac(last: u8) -> MacAddress {
        MacAddress::new([0x23, 0x34, 0xa3, 0xe9, 0x09, last])
    }

    fn bootloader(name: &str, mac_entry: Option<&str>) -> Bootloader {
        Bootloader {
            name: name.into(),
            file: String::new(),
            config_path: String::new(),
            mac_entry: mac_entry.map(|p| MacEntryPattern::parse(p).unwrap()),
            http: None,
        }
    }

    fn conf(path: &str) -> Configuration {
        Configuration {
            name: ConfigName::parse(path.rsplit('/').next().unwrap()).unwrap(),
            bootloader: path.split_once('/').map(|(b, _)| bootloader(b, None)),
            path: path.into(),
        }
    }

    /// `pxelinux.cfg/conf/` of `root` with `pxelinux/local` and `grub/grml`.
    fn catalogue_of_two_bootloaders(root: &Path) -> PathBuf {
        let conf_dir = root.join("pxelinux.cfg/conf");
        for path in ["pxelinux/local", "grub/grml"] {
            let file = conf_dir.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(&file, path).unwrap();
        }
        conf_dir
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
                w.store.entries().unwrap().pxelinux.resolve(&m),
                Resolved::Configuration(std::path::Path::new("local").into())
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
    fn a_listing_is_reused_only_while_nothing_changed() {
        let w = world();
        let first = w.store.entries().unwrap().pxelinux;
        // A link made by hand right after a listing is seen by the next one, in a tight loop.
        for i in 0..50u8 {
            std::os::unix::fs::symlink("conf/local", entry(&w, mac(100 + i))).unwrap();
            let now = w.store.entries().unwrap().pxelinux;
            assert_eq!(now.len(), usize::from(i) + 1 + first.len());
            fs::remove_file(entry(&w, mac(100 + i))).unwrap();
            assert_eq!(
                w.store.entries().unwrap().pxelinux.len(),
                usize::from(i) + first.len()
            );
            std::os::unix::fs::symlink("conf/local", entry(&w, mac(100 + i))).unwrap();
        }
        // A listing of a folder that has not changed for a while is shared.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let a = w.store.entries().unwrap().pxelinux;
        let b = w.store.entries().unwrap().pxelinux;
        assert!(std::sync::Arc::ptr_eq(&a, &b));
        assert_eq!(a.len(), 50);
    }

    #[test]
    fn absolute_targets_of_the_original_are_read() {
        let w = world();
        let folder = w.root.path().join("pxelinux.cfg");
        std::os::unix::fs::symlink(folder.join("conf/install"), entry(&w, mac(1))).unwrap();
        std::os::unix::fs::symlink(entry(&w, mac(1)), entry(&w, mac(2))).unwrap();
        std::os::unix::fs::symlink("/elsewhere/x", entry(&w, mac(3))).unwrap();
        fs::write(entry(&w, mac(4)), "by hand").unwrap();
        let entries = w.store.entries().unwrap().pxelinux;
        assert_eq!(
            entries.resolve(&mac(2)),
            Resolved::Configuration(std::path::Path::new("install").into())
        );
        assert_eq!(
            entries.get(&mac(3)),
            Some(&Target::Foreign("/elsewhere/x".into()))
        );
        assert!(
            matches!(entries.get(&mac(4)), Some(Target::Foreign(t)) if t.contains("is a file"))
        );
    }

    #[test]
    fn undeploy_removes_every_entry_of_the_host() {
        let w = world();
        w.store.deploy(&[mac(1), mac(2)], &conf("local")).unwrap();
        w.store.undeploy(&[mac(1), mac(2)]).unwrap();
        assert!(w.store.entries().unwrap().pxelinux.is_empty());
        w.store.undeploy(&[mac(1)]).unwrap();
    }

    #[test]
    fn temporary_entries_are_random_and_recovery_removes_only_old_ones() {
        let w = world();
        let folder = w.root.path().join("pxelinux.cfg");
        let old = folder.join(format!("{TEMP_PREFIX}00000000.01-00-00-00-00-00-01"));
        std::os::unix::fs::symlink("conf/local", &old).unwrap();
        // Made GRACE ago: set the link's time back.
        let past =
            std::time::SystemTime::now() - recover::GRACE - std::time::Duration::from_secs(1);
        let link = fs::File::options()
            .write(true)
            .open(folder.join("conf/local"))
            .unwrap();
        drop(link);
        filetime_set(&old, past);
        let young = folder.join(format!("{TEMP_PREFIX}11111111.01-00-00-00-00-00-02"));
        std::os::unix::fs::symlink("conf/local", &young).unwrap();
        assert_eq!(w.store.recover().unwrap(), 1);
        assert!(fs::symlink_metadata(&old).is_err());
        assert!(
            fs::symlink_metadata(&young).is_ok(),
            "a live write's entry is left alone"
        );
        // ... until it is GRACE old.
        std::thread::sleep(recover::GRACE + std::time::Duration::from_millis(500));
        assert!(fs::symlink_metadata(&young).is_err(), "then it is removed");
    }

    /// Sets the modification time of the link `path` itself.
    fn filetime_set(path: &Path, time: std::time::SystemTime) {
        let since = time.duration_since(std::time::UNIX_EPOCH).unwrap();
        let stamp = rustix::fs::Timespec {
            tv_sec: since.as_secs() as i64,
            tv_nsec: since.subsec_nanos() as _,
        };
        let times = rustix::fs::Timestamps {
            last_access: stamp,
            last_modification: stamp,
        };
        rustix::fs::utimensat(
            rustix::fs::CWD,
            path,
            &times,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
    }

    #[test]
    fn a_catalogue_outside_pxelinux_cfg_is_reached_with_dot_dot() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("configs")).unwrap();
        fs::write(root.path().join("configs/local"), "x").unwrap();
        let store =
            SymlinkStore::open(root.path(), &root.path().join("configs"), &[], true).unwrap();
        store.deploy(&[mac(1)], &conf("local")).unwrap();
        let link = root.path().join("pxelinux.cfg").join(mac(1).entry_name());
        assert_eq!(
            fs::read_link(&link).unwrap(),
            PathBuf::from("../configs/local")
        );
        assert_eq!(fs::read_to_string(&link).unwrap(), "x");
        assert_eq!(
            store.entries().unwrap().pxelinux.resolve(&mac(1)),
            Resolved::Configuration(std::path::Path::new("local").into())
        );
    }

    #[test]
    fn a_bootloader_with_its_own_entries_gets_them_written_and_removed_on_switch() {
        let root = tempfile::tempdir().unwrap();
        let conf_dir = catalogue_of_two_bootloaders(root.path());
        let bootloaders = [
            bootloader("grub", Some("grub/grub.cfg-01-{mac}")),
            bootloader("ipxe", Some("ipxe/{mac_hex}.ipxe")),
        ];
        let store = SymlinkStore::open(root.path(), &conf_dir, &bootloaders, true).unwrap();
        let macs = [mac(1), mac(2)];
        let grub_entry = |m: MacAddress| {
            root.path()
                .join(format!("grub/grub.cfg-01-{}", m.with_separator('-')))
        };
        store.deploy(&macs, &conf("grub/grml")).unwrap();
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
        store.deploy(&macs, &conf("grub/grml")).unwrap();
        store.undeploy(&macs).unwrap();
        assert!(fs::symlink_metadata(grub_entry(mac(1))).is_err());
        assert!(
            !root.path().join("ipxe").exists(),
            "nothing written for a bootloader not deployed"
        );
    }

    #[test]
    fn leaving_a_bootloader_switches_the_host_before_its_old_entries_go() {
        // The old bootloader's folder becomes unusable (swapped for a link out of the root)
        // between two deploys: its entries cannot be removed, and the deploy says so. The
        // host has already switched: the removal comes after the PXELINUX switch, so a crash
        // or a failure there never leaves a host leading to nothing.
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let conf_dir = catalogue_of_two_bootloaders(root.path());
        let bootloaders = [bootloader("grub", Some("grub/grub.cfg-01-{mac}"))];
        let store = SymlinkStore::open(root.path(), &conf_dir, &bootloaders, true).unwrap();
        let macs = [mac(1)];
        store.deploy(&macs, &conf("grub/grml")).unwrap();
        let grub = root.path().join("grub");
        fs::rename(&grub, outside.path().join("grub")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("grub"), &grub).unwrap();

        let error = store.deploy(&macs, &conf("pxelinux/local")).unwrap_err();
        assert!(error.to_string().contains("grub"), "{error}");
        let pxelinux = root.path().join("pxelinux.cfg").join(mac(1).entry_name());
        assert_eq!(fs::read_to_string(&pxelinux).unwrap(), "pxelinux/local");
        let old = outside
            .path()
            .join("grub")
            .join("grub.cfg-01-23-34-a3-e9-09-01");
        assert!(
            fs::symlink_metadata(old).is_ok(),
            "nothing removed out of the root"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// The memory store follows the same rules as the symlink store: after any sequence of
        /// deploys and undeploys, every MAC resolves the same in both.
        #[test]
        fn the_memory_store_reads_back_what_the_symlink_store_does(
            steps in proptest::collection::vec((0usize..3, 0usize..4), 1..12),
        ) {
            let root = tempfile::tempdir().unwrap();
            let conf_dir = root.path().join("pxelinux.cfg/conf");
            for path in ["pxelinux/local", "pxelinux/install", "grub/grml"] {
                let file = conf_dir.join(path);
                fs::create_dir_all(file.parent().unwrap()).unwrap();
                fs::write(&file, path).unwrap();
            }
            let bootloaders = [bootloader("pxelinux", None), bootloader("grub", Some("grub/grub.cfg-01-{mac}"))];
            let disk = SymlinkStore::open(root.path(), &conf_dir, &bootloaders, true).unwrap();
            let memory = crate::store::MemoryEntries::new(&bootloaders);
            let hosts = [vec![mac(1), mac(2)], vec![mac(3)], vec![mac(4), mac(5), mac(6)]];
            let configurations = ["pxelinux/local", "pxelinux/install", "grub/grml"];
            for (host, action) in steps {
                let macs = &hosts[host];
                if action == 3 {
                    disk.undeploy(macs).unwrap();
                    memory.undeploy(macs).unwrap();
                } else {
                    disk.deploy(macs, &conf(configurations[action])).unwrap();
                    memory.deploy(macs, &conf(configurations[action])).unwrap();
                }
            }
            let (a, b) = (disk.entries().unwrap(), memory.entries().unwrap());
            for m in hosts.iter().flatten() {
                proptest::prop_assert_eq!(a.pxelinux.resolve(m), b.pxelinux.resolve(m));
                proptest::prop_assert_eq!(
                    a.bootloader("grub").unwrap().resolve(m),
                    b.bootloader("grub").unwrap().resolve(m)
                );
            }
        }
    }
}
