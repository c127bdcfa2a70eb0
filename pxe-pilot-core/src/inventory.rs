//! The inventory: the hosts pxe-pilot manages, their MAC addresses and their power management,
//! and the bootloaders the catalogue is organised by. Built by [`crate::settings`], read-only after.

use std::path::PathBuf;

use crate::mac::MacAddress;
use crate::names::HostName;

/// A machine of the network, known by name and by the MAC addresses of its NICs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The host's name, unique in the inventory.
    pub name: HostName,
    /// Its MAC addresses, never empty; the first one's entry points at the configuration.
    pub mac_addresses: Vec<MacAddress>,
    /// Power management through `ipmitool`, as the original's `ipmi:` block (boxed: most
    /// hosts have none, and an inventory of 10,000 hosts stays small).
    pub ipmi: Option<Box<Ipmi>>,
    /// Power management through a named command adapter (`management:` block), boxed too.
    pub management: Option<Box<Management>>,
}

impl Host {
    /// The MAC address whose entry points at the configuration (the first one).
    pub fn first_mac(&self) -> MacAddress {
        // The settings loader refuses hosts without MAC addresses.
        self.mac_addresses
            .first()
            .copied()
            .unwrap_or(MacAddress::new([0; 6]))
    }
}

/// Where a host's BMC is: given directly, or found through its MAC in the ARP table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BmcAddress {
    /// The BMC's MAC address, resolved to an IP address through the ARP table.
    pub mac_address: Option<MacAddress>,
    /// The BMC's IP address or host name, when given directly.
    pub hostname: Option<String>,
    /// The subnet `refresh` scans so that the ARP table learns the BMC's address.
    pub subnet: Option<String>,
}

/// The original's `ipmi:` block: power management with `ipmitool`.
#[derive(Clone, PartialEq, Eq)]
pub struct Ipmi {
    /// Where the BMC is.
    pub address: BmcAddress,
    /// The BMC user.
    pub username: String,
    /// The BMC password: never logged, never returned by the API.
    pub password: String,
    /// The `ipmitool -I` interface (`lanplus` when not given).
    pub interface: String,
    /// The BMC's UDP port (`ipmitool -p`), when not 623.
    pub port: Option<u16>,
    /// The IPMI cipher suite (`ipmitool -C`), when the BMC needs one.
    pub cipher_suite: Option<u8>,
}

impl std::fmt::Debug for Ipmi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipmi")
            .field("address", &self.address)
            .field("username", &self.username)
            .field("password", &"***")
            .field("interface", &self.interface)
            .field("port", &self.port)
            .field("cipher_suite", &self.cipher_suite)
            .finish()
    }
}

/// A `management:` block: power management through a named command adapter.
#[derive(Clone, PartialEq, Eq)]
pub struct Management {
    /// Where the BMC is.
    pub address: BmcAddress,
    /// The name of the adapter in `host_management_adapters`.
    pub adapter: String,
    /// The host's template variables (`username`, `password`, ...): values are secrets.
    pub vars: Vec<(String, String)>,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.vars.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Management")
            .field("address", &self.address)
            .field("adapter", &self.adapter)
            .field("vars", &names)
            .finish()
    }
}

/// One power command of an adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterCommand {
    /// The command line template (`{{.command}} power on`).
    pub cmd: String,
    /// For `power_status`: the output that means "on".
    pub pattern_on: Option<String>,
    /// For `power_status`: the output that means "off".
    pub pattern_off: Option<String>,
}

/// A `host_management_adapters` entry: how to query and switch power for hosts that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adapter {
    /// The adapter's name, unique.
    pub name: String,
    /// The adapter's variables, expanded as text into the command lines.
    pub vars: Vec<(String, String)>,
    /// Environment variables of every command of the adapter (name, value template): a
    /// password a tool reads from its environment (`ipmitool -E` and `IPMI_PASSWORD`) stays
    /// off the command line.
    pub env: Vec<(String, String)>,
    /// Query the power state.
    pub power_status: Option<AdapterCommand>,
    /// Power on.
    pub power_on: Option<AdapterCommand>,
    /// Power off.
    pub power_off: Option<AdapterCommand>,
    /// Reset (reboot).
    pub power_reset: Option<AdapterCommand>,
}

/// A bootloader: a folder of the catalogue holds its configurations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bootloader {
    /// The bootloader's name, also the name of its folder in the catalogue.
    pub name: String,
    /// The file the DHCP server hands out (`pxelinux.0`, `grubnetx64.efi.signed`).
    pub file: String,
    /// Where the bootloader reads its own configuration (informative, as in the original).
    pub config_path: String,
    /// Where this bootloader's per-MAC entries live, relative to the TFTP root, with `{mac}`
    /// placeholders (`grub/grub.cfg-01-{mac}`); `None`: only `pxelinux.cfg/01-<mac>`.
    #[serde(skip)]
    pub mac_entry: Option<String>,
}

/// The hosts, with look-ups by name and by any MAC address.
///
/// The look-ups are sorted tables of positions (binary search), not maps: they copy no name,
/// and an inventory of 10,000 hosts keeps a few hundred KiB of them.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    hosts: Vec<Host>,
    /// Positions in `hosts`, sorted by name (then by position).
    by_name: Vec<u32>,
    /// (MAC address, position in `hosts`), sorted.
    by_mac: Vec<(MacAddress, u32)>,
}

impl Inventory {
    /// Builds the look-ups; the settings loader has already refused duplicate names and MACs
    /// (were there some, the first host that has the name or the MAC is found).
    pub fn new(hosts: Vec<Host>) -> Self {
        let mut by_name: Vec<u32> = (0..hosts.len() as u32).collect();
        by_name.sort_by(|&a, &b| hosts[a as usize].name.cmp(&hosts[b as usize].name));
        let mut by_mac: Vec<(MacAddress, u32)> = hosts
            .iter()
            .enumerate()
            .flat_map(|(i, h)| h.mac_addresses.iter().map(move |m| (*m, i as u32)))
            .collect();
        by_mac.sort();
        by_mac.shrink_to_fit();
        Inventory {
            hosts,
            by_name,
            by_mac,
        }
    }

    /// Every host, in the order of the configuration file.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The host with this name.
    pub fn by_name(&self, name: &str) -> Option<&Host> {
        self.position(name).map(|i| &self.hosts[i])
    }

    /// Where the host with this name is in [`Inventory::hosts`].
    pub fn position(&self, name: &str) -> Option<usize> {
        let name_at = |i: u32| self.hosts[i as usize].name.as_str();
        let first = self.by_name.partition_point(|&i| name_at(i) < name);
        self.by_name
            .get(first)
            .filter(|&&i| name_at(i) == name)
            .map(|&i| i as usize)
    }

    /// The host that owns this MAC address (any of its NICs).
    pub fn by_mac(&self, mac: &MacAddress) -> Option<&Host> {
        let first = self.by_mac.partition_point(|(m, _)| m < mac);
        self.by_mac
            .get(first)
            .filter(|(m, _)| m == mac)
            .map(|&(_, i)| &self.hosts[i as usize])
    }
}

/// Where the files are: the TFTP root and the catalogue inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The TFTP root (`tftp.root`).
    pub tftp_root: PathBuf,
    /// The catalogue of configurations (`configuration.directory`), inside the TFTP root.
    pub catalogue: PathBuf,
}
