//! The world of the storms: many hosts with 2 to 4 NICs each, a catalogue whose configurations
//! each have a text of their own, and what a host boots read back from the disk as a TFTP server
//! would, or through the API.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::storm::storm_client;
use crate::common::{Fixture, TestServer, World};

/// The configurations of a storm world's catalogue, each with its own text.
pub const STORM_CONFIGURATIONS: [&str; 5] = [
    "local",
    "ubuntu-16.04",
    "grml-2017.05",
    "debian-12",
    "rescue",
];

/// A storm host: its name and its MACs, the first one first.
#[derive(Debug, Clone)]
pub struct StormHost {
    /// `s00`, `s01`, ...
    pub name: String,
    /// `02:00:00:00:HH:NN`; between 2 and 4 of them.
    pub macs: Vec<String>,
}

/// A world of `hosts` hosts with 2 to 4 NICs each and the [`STORM_CONFIGURATIONS`] catalogue
/// (flat), served on 127.0.0.1; `extra` is appended to the configuration file.
pub struct StormWorld {
    /// The world (TFTP root, configuration file), removed on drop.
    pub world: World,
    /// The hosts, in the configuration file's order.
    pub hosts: Vec<StormHost>,
    /// The text of each configuration, to recognise what an entry leads to.
    pub texts: HashMap<Vec<u8>, usize>,
}

impl StormWorld {
    /// Builds the world.
    pub fn new(hosts: usize, extra: &str) -> StormWorld {
        let world = Fixture::new().build();
        let conf = world.pxelinux_cfg().join("conf");
        let mut texts = HashMap::new();
        for (i, name) in STORM_CONFIGURATIONS.iter().enumerate() {
            let text = format!("DEFAULT {name}\nLABEL {name}\n  # configuration #{i}\n");
            fs::write(conf.join(name), &text).expect("write a configuration");
            texts.insert(text.into_bytes(), i);
        }
        let hosts: Vec<StormHost> = (0..hosts)
            .map(|h| StormHost {
                name: format!("s{h:02}"),
                macs: (0..2 + h % 3)
                    .map(|n| format!("02:00:00:00:{h:02x}:{n:02x}"))
                    .collect(),
            })
            .collect();
        let mut yaml = String::from("hosts:\n");
        for host in &hosts {
            let macs: Vec<String> = host.macs.iter().map(|m| format!("\"{m}\"")).collect();
            yaml.push_str(&format!(
                "  - name: {}\n    mac_addresses: [{}]\n",
                host.name,
                macs.join(", ")
            ));
        }
        yaml.push_str(
            "tftp:\n  root: tftp\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\nserver:\n  port: 3478\n  listen: 127.0.0.1\n",
        );
        yaml.push_str(extra);
        fs::write(&world.config, yaml).expect("write the configuration file");
        StormWorld {
            world,
            hosts,
            texts,
        }
    }

    /// The debug `pxe-pilot-server` over the world, its log appended to `log` (a server killed
    /// and started again over the world keeps one log).
    pub fn serve(&self, log: &Path) -> TestServer {
        self.world.server().append_log(log).start()
    }

    /// A server on the world, as PID 1 of a PID namespace of its own.
    pub fn serve_in_own_pid_namespace(&self, log: &Path) -> TestServer {
        let server = self.world.server().append_log(log);
        server.in_own_pid_namespace().start()
    }

    /// Every MAC entry of every host: (host index, NIC index, path).
    pub fn entry_paths(&self) -> Vec<(usize, usize, PathBuf)> {
        let mut paths = Vec::new();
        for (h, host) in self.hosts.iter().enumerate() {
            for (n, mac) in host.macs.iter().enumerate() {
                paths.push((h, n, self.world.entry(mac)));
            }
        }
        paths
    }

    /// What host `h` boots, read through its entries as a TFTP server would: `Ok(Some(c))`
    /// when every NIC reads configuration `c`, `Ok(None)` when no NIC reads anything (no
    /// entry, or a link to a missing entry), `Err` when the NICs disagree or an entry cannot
    /// be read.
    pub fn host_on_disk(&self, h: usize) -> Result<Option<usize>, String> {
        let mut seen = Vec::new();
        for mac in &self.hosts[h].macs {
            let entry = self.world.entry(mac);
            let read = match fs::read(&entry) {
                Ok(bytes) => match self.texts.get(&bytes) {
                    Some(&c) => Some(c),
                    None => return Err(format!("{} reads unknown text", entry.display())),
                },
                // No entry, or a link to an entry that does not exist: the bootloader reads
                // "file not found" for both and boots its default.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(format!(
                        "{} -> {:?} leads nowhere: {e}",
                        entry.display(),
                        fs::read_link(&entry).ok()
                    ))
                }
            };
            seen.push(read);
        }
        if seen.windows(2).all(|w| w[0] == w[1]) {
            Ok(seen[0])
        } else {
            Err(format!(
                "host {} NICs disagree: {:?}",
                self.hosts[h].name,
                seen.iter()
                    .map(|c| c.map(|c| STORM_CONFIGURATIONS[c]))
                    .collect::<Vec<_>>()
            ))
        }
    }

    /// Every host's state on disk (see [`StormWorld::host_on_disk`]).
    pub fn disk_state(&self) -> Vec<Result<Option<usize>, String>> {
        (0..self.hosts.len())
            .map(|h| self.host_on_disk(h))
            .collect()
    }

    /// Names in `pxelinux.cfg/` that are temporary entries (`.pxe-pilot-tmp.*`).
    pub fn temporary_entries(&self) -> Vec<String> {
        self.world
            .names()
            .into_iter()
            .filter(|n| n.starts_with(".pxe-pilot-tmp."))
            .collect()
    }

    /// Entries of `pxelinux.cfg/` that lead to no file (dangling links, loops).
    pub fn unresolved_entries(&self) -> Vec<String> {
        self.world
            .names()
            .into_iter()
            .filter(|n| n.starts_with("01-"))
            .filter(|n| fs::metadata(self.world.pxelinux_cfg().join(n)).is_err())
            .map(|n| {
                let target = fs::read_link(self.world.pxelinux_cfg().join(&n)).ok();
                format!("{n} -> {target:?}")
            })
            .collect()
    }
}

/// Deploys configuration #`c` to every host, one request per host; panics on a refusal.
pub fn deploy_all(base: &str, world: &StormWorld, c: impl Fn(usize) -> usize) {
    let http = storm_client();
    for (h, host) in world.hosts.iter().enumerate() {
        let response = http
            .put(format!(
                "{base}/v1/configurations/{}/deploy",
                STORM_CONFIGURATIONS[c(h)]
            ))
            .body(format!(r#"{{"hosts":[{{"name":"{}"}}]}}"#, host.name))
            .send()
            .expect("deploy");
        assert_eq!(response.status(), 200, "{:?}", response.text());
    }
}

/// The configuration `GET /v1/hosts` shows for each host (`None`: not deployed).
pub fn listed_states(base: &str, world: &StormWorld) -> Vec<Option<usize>> {
    let list: Vec<serde_json::Value> = storm_client()
        .get(format!("{base}/v1/hosts?status=false"))
        .send()
        .and_then(|r| r.json())
        .expect("GET /v1/hosts");
    world
        .hosts
        .iter()
        .map(|host| {
            let shown = list
                .iter()
                .find(|l| l["name"] == host.name.as_str())
                .unwrap_or_else(|| panic!("{} not listed", host.name));
            assert!(shown["configuration"].get("dangling").is_none(), "{shown}");
            shown["configuration"]["name"].as_str().map(|n| {
                STORM_CONFIGURATIONS
                    .iter()
                    .position(|c| *c == n)
                    .unwrap_or_else(|| panic!("unknown configuration {n}"))
            })
        })
        .collect()
}
