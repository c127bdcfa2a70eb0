//! What a test server serves: a temporary world of the default inventory ([`H1`] to [`H4`],
//! a catalogue of [`CONFIGURATIONS`]) written by a [`Fixture`] into a folder removed on drop
//! (TFTP root, catalogue, ARP table, configuration file), and what a test reads back from its
//! disk: the per-MAC entries and where they lead.
//!
//! It knows nothing of the server process: `World::serve` (in `mod.rs`) starts one over it.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// The MAC address of the original PXE Pilot's use case (the README's `curl` example): host
/// [`H1`]'s only NIC.
pub const SEED_MAC: &str = "23:34:a3:e9:09:cc";
/// A host with one NIC ([`SEED_MAC`]).
pub const H1: &str = "h1";
/// A host with one NIC ([`H2_MAC`]).
pub const H2: &str = "h2";
/// A host with three NICs ([`H3_MACS`]).
pub const H3: &str = "h3";
/// A host with one NIC and an `ipmi` block (password [`IPMI_PASSWORD`], no subnet) whose BMC
/// is not in the ARP table, so no power command can run until [`Fixture::arp`] puts it there.
pub const H4: &str = "h4";
/// [`H2`]'s MAC address.
pub const H2_MAC: &str = "00:00:00:00:0b:02";
/// [`H3`]'s MAC addresses, the first one first.
pub const H3_MACS: [&str; 3] = [
    "00:00:00:00:0b:03",
    "00:00:00:00:0c:03",
    "00:00:00:00:0d:03",
];
/// [`H4`]'s BMC MAC address (its `ipmi.mac_address`).
pub const H4_BMC_MAC: &str = "00:00:00:00:0a:04";
/// [`H4`]'s MAC address.
pub const H4_MAC: &str = "00:00:00:00:0b:04";
/// [`H4`]'s BMC password: must never appear in an answer or a log.
pub const IPMI_PASSWORD: &str = "ipmi-pa55word-never-shown";
/// The configurations of the default catalogue (flat), sorted.
pub const CONFIGURATIONS: [&str; 3] = ["grml-2017.05", "local", "ubuntu-16.04"];
/// A MAC address no host has.
pub const UNKNOWN_MAC: &str = "aa:bb:cc:dd:ee:ff";

/// How to build a [`World`]: the default is a flat catalogue ([`CONFIGURATIONS`]) and the hosts
/// [`H1`] to [`H4`].
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    token: Option<String>,
    bootloaders: bool,
    arp: String,
    extra_yaml: String,
    extra_hosts: usize,
    hosts: Option<String>,
    catalogue: Option<Vec<(String, String)>>,
    configuration: String,
}

impl Fixture {
    /// The default world.
    pub fn new() -> Self {
        Fixture::default()
    }

    /// Sets `server.token`: changes then need `Authorization: Bearer <token>`.
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Declares bootloaders `pxelinux` (`local`, `ubuntu-16.04` in `conf/pxelinux/`) and
    /// `grub` (`grml-2017.05` in `conf/grub/`) instead of a flat catalogue.
    pub fn bootloaders(mut self) -> Self {
        self.bootloaders = true;
        self
    }

    /// Lines of the ARP table file (`/proc/net/arp` format, without its header line).
    pub fn arp(mut self, lines: &str) -> Self {
        self.arp = lines.to_owned();
        self
    }

    /// YAML appended at the end of the configuration file (top-level keys).
    pub fn yaml(mut self, extra: &str) -> Self {
        self.extra_yaml.push_str(extra);
        self.extra_yaml.push('\n');
        self
    }

    /// Adds `count` hosts after [`H4`]: `node-0001`, `node-0002`, ... with one NIC each,
    /// [`node_mac`]`(i)`, and no power management (a large inventory).
    pub fn extra_hosts(mut self, count: usize) -> Self {
        self.extra_hosts = count;
        self
    }

    /// Replaces the default inventory: `yaml` is the list under `hosts:` (items indented two
    /// spaces, `  - name: ...`).
    pub fn hosts(mut self, yaml: &str) -> Self {
        self.hosts = Some(yaml.trim_matches('\n').to_owned() + "\n");
        self
    }

    /// Replaces the default catalogue: files (path under `pxelinux.cfg/conf/`, text).
    pub fn catalogue(mut self, files: &[(&str, &str)]) -> Self {
        self.catalogue = Some(
            files
                .iter()
                .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
                .collect(),
        );
        self
    }

    /// YAML added under `configuration:` (keys indented two spaces, e.g. a `bootloaders:`
    /// list of one's own).
    pub fn configuration(mut self, yaml: &str) -> Self {
        self.configuration
            .push_str(&(yaml.trim_matches('\n').to_owned() + "\n"));
        self
    }

    /// Writes the world to a new temporary folder.
    pub fn build(self) -> World {
        let dir = tempfile::Builder::new()
            .prefix("pxe-pilot-test-")
            .tempdir()
            .expect("create a temporary folder");
        let base = dir.path().to_owned();
        let tftp = base.join("tftp");
        let conf = tftp.join("pxelinux.cfg/conf");
        let files: Vec<(&str, &str)> = if let Some(files) = &self.catalogue {
            files
                .iter()
                .map(|(path, text)| (path.as_str(), text.as_str()))
                .collect()
        } else if self.bootloaders {
            vec![
                (
                    "pxelinux/local",
                    "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n",
                ),
                ("pxelinux/ubuntu-16.04", UBUNTU),
                (
                    "grub/grml-2017.05",
                    "menuentry grml { linux grml/vmlinuz }\n",
                ),
            ]
        } else {
            vec![
                ("local", "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n"),
                ("ubuntu-16.04", UBUNTU),
                ("grml-2017.05", GRML),
            ]
        };
        for (path, text) in files {
            let file = conf.join(path);
            fs::create_dir_all(file.parent().expect("a parent")).expect("create catalogue");
            fs::write(file, text).expect("write catalogue");
        }
        fs::write(tftp.join("pxelinux.0"), "not a real bootloader\n").expect("write pxelinux.0");
        fs::write(
            base.join("arp"),
            format!(
                "IP address       HW type     Flags       HW address            Mask     Device\n{}",
                self.arp
            ),
        )
        .expect("write arp table");
        let default_hosts = format!(
            r#"  - name: {H1}
    mac_addresses: ["{SEED_MAC}"]
  - name: {H2}
    mac_addresses: ["{H2_MAC}"]
  - name: {H3}
    mac_addresses: ["{}", "{}", "{}"]
  - name: {H4}
    mac_addresses: ["{H4_MAC}"]
    ipmi:
      mac_address: "{H4_BMC_MAC}"
      username: admin
      password: {IPMI_PASSWORD}
      interface: lanplus
"#,
            H3_MACS[0], H3_MACS[1], H3_MACS[2]
        );
        let hosts = self.hosts.as_deref().unwrap_or(&default_hosts);
        let mut yaml = format!(
            "hosts:\n{hosts}tftp:\n  root: tftp\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\n{}",
            self.configuration
        );
        if self.extra_hosts > 0 {
            let mut hosts = String::new();
            for i in 1..=self.extra_hosts {
                hosts.push_str(&format!(
                    "  - name: {}\n    mac_addresses: [\"{}\"]\n",
                    node_name(i),
                    node_mac(i)
                ));
            }
            yaml = yaml.replacen("tftp:\n", &format!("{hosts}tftp:\n"), 1);
        }
        if self.bootloaders {
            yaml.push_str(
                "  bootloaders:\n    - {name: pxelinux, file: pxelinux.0, config_path: pxelinux.cfg}\n    - {name: grub, file: grubnetx64.efi.signed, config_path: grub/grub.cfg}\n",
            );
        }
        yaml.push_str("server:\n  port: 3478\n  listen: 127.0.0.1\n");
        if let Some(token) = &self.token {
            yaml.push_str(&format!("  token: {token}\n"));
        }
        yaml.push_str("arp_table: arp\n");
        yaml.push_str(&self.extra_yaml);
        let config = base.join("pxe-pilot.yml");
        fs::write(&config, yaml).expect("write configuration file");
        World {
            root: tftp,
            config,
            dir,
        }
    }
}

const UBUNTU: &str = "DEFAULT install\nLABEL install\n  KERNEL ubuntu/1604/linux\n  APPEND initrd=ubuntu/1604/initrd.gz auto=true\n";
const GRML: &str = "DEFAULT grml\nLABEL grml\n  KERNEL grml/2017.05/vmlinuz\n  APPEND initrd=grml/2017.05/initrd.img boot=live\n";

/// A temporary TFTP root, catalogue and configuration file; removed on drop.
#[derive(Debug)]
pub struct World {
    /// The TFTP root (`tftp.root`).
    pub root: PathBuf,
    /// The configuration file.
    pub config: PathBuf,
    dir: tempfile::TempDir,
}

impl World {
    /// The default world.
    pub fn new() -> Self {
        Fixture::new().build()
    }

    /// The temporary folder that holds everything (`pxe-pilot.yml`, `tftp/`, `arp`).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `pxelinux.cfg/` of the TFTP root.
    pub fn pxelinux_cfg(&self) -> PathBuf {
        self.root.join("pxelinux.cfg")
    }

    /// The path of a MAC's entry (`pxelinux.cfg/01-aa-bb-..`), any spelling of the MAC.
    pub fn entry(&self, mac: &str) -> PathBuf {
        self.pxelinux_cfg().join(entry_name(mac))
    }

    /// The target of a MAC's entry as written on disk, `None` when it has none.
    pub fn link(&self, mac: &str) -> Option<PathBuf> {
        fs::read_link(self.entry(mac)).ok()
    }

    /// Every `01-*` entry of `pxelinux.cfg/` and its link target, sorted by name.
    pub fn entries(&self) -> Vec<(String, PathBuf)> {
        let mut entries: Vec<(String, PathBuf)> = fs::read_dir(self.pxelinux_cfg())
            .expect("read pxelinux.cfg")
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let target = fs::read_link(e.path()).ok()?;
                name.starts_with("01-").then_some((name, target))
            })
            .collect();
        entries.sort();
        entries
    }

    /// Every name in `pxelinux.cfg/` (entries, `conf`, and anything else), sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.pxelinux_cfg())
            .expect("read pxelinux.cfg")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The configuration an entry leads to, following links between entries, as the
    /// catalogue-relative text the bootloader would read (`conf/local` -> `local`).
    pub fn deployed(&self, mac: &str) -> Option<String> {
        let real = fs::canonicalize(self.entry(mac)).ok()?;
        let conf = fs::canonicalize(self.pxelinux_cfg().join("conf")).ok()?;
        real.strip_prefix(conf)
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

/// The name of the `i`th host of [`Fixture::extra_hosts`] (from 1): `node-0001`.
pub fn node_name(i: usize) -> String {
    format!("node-{i:04}")
}

/// The MAC address of the `i`th host of [`Fixture::extra_hosts`] (from 1).
pub fn node_mac(i: usize) -> String {
    format!(
        "02:00:00:{:02x}:{:02x}:{:02x}",
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff
    )
}

/// `01-` + the MAC in lowercase with dashes, from `aa:bb:..` or `AA-BB-..`.
pub fn entry_name(mac: &str) -> String {
    format!("01-{}", mac.to_ascii_lowercase().replace(':', "-"))
}
