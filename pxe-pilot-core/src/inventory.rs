//! The inventory: the hosts pxe-pilot manages, their MAC addresses and their power management.
//! Built by [`crate::settings`], read-only after.

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
    /// How its power is managed, if it is (boxed: most hosts have none, and an inventory of
    /// 10,000 hosts stays small).
    pub bmc: Option<Box<Bmc>>,
    /// Whether a deploy with reboot first makes the next boot a network boot, once
    /// (`netboot_once`, true by default), where the BMC can.
    pub netboot_once: bool,
    /// How the host's firmware boots, when its BMC must be told (`boot_mode`).
    pub boot_mode: Option<BootMode>,
    /// The host's own values for boot scripts served over HTTP (`vars`), sorted by name.
    pub vars: Vec<(String, String)>,
}

/// How a host's firmware boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootMode {
    /// UEFI.
    Uefi,
    /// Legacy BIOS.
    Bios,
}

/// How a host's power is managed: one BMC, driven one of three ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bmc {
    /// `ipmitool` (the original's `ipmi:` block).
    Ipmi(Ipmi),
    /// A named command adapter (`management:` block).
    Adapter(Management),
    /// The BMC's Redfish API (`redfish:` block).
    Redfish(Redfish),
}

impl Bmc {
    /// Where the BMC is.
    pub fn address(&self) -> &BmcAddress {
        match self {
            Bmc::Ipmi(i) => &i.address,
            Bmc::Adapter(m) => &m.address,
            Bmc::Redfish(r) => &r.address,
        }
    }
}

impl Host {
    /// The host's `ipmi:` block, if its power goes through ipmitool.
    pub fn ipmi(&self) -> Option<&Ipmi> {
        match self.bmc.as_deref() {
            Some(Bmc::Ipmi(i)) => Some(i),
            _ => None,
        }
    }

    /// The host's `management:` block, if its power goes through an adapter.
    pub fn management(&self) -> Option<&Management> {
        match self.bmc.as_deref() {
            Some(Bmc::Adapter(m)) => Some(m),
            _ => None,
        }
    }

    /// The host's `redfish:` block, if its power goes through Redfish.
    pub fn redfish(&self) -> Option<&Redfish> {
        match self.bmc.as_deref() {
            Some(Bmc::Redfish(r)) => Some(r),
            _ => None,
        }
    }

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

/// A `redfish:` block: power management through the BMC's Redfish API.
#[derive(Clone, PartialEq, Eq)]
pub struct Redfish {
    /// Where the BMC is: `hostname` is the address given (`address:`, a URL or a host), or the
    /// MAC address found through the ARP table.
    pub address: BmcAddress,
    /// The BMC user.
    pub username: String,
    /// The BMC password: never logged, never returned by the API.
    pub password: String,
    /// The system's path (`/redfish/v1/Systems/1`); `None`: the only member of
    /// `/redfish/v1/Systems`.
    pub system: Option<String>,
    /// Whether the BMC's TLS certificate is checked (`tls_verify`, true by default).
    pub tls_verify: bool,
    /// A CA certificate file (PEM) the BMC's certificate is checked against, instead of the
    /// system's (`ca_file`).
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for Redfish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redfish")
            .field("address", &self.address)
            .field("username", &self.username)
            .field("password", &"***")
            .field("system", &self.system)
            .field("tls_verify", &self.tls_verify)
            .field("ca_file", &self.ca_file)
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
    /// Make the next boot a network boot, once (`boot_pxe_once`).
    pub boot_pxe_once: Option<AdapterCommand>,
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
    /// Whether a listing of an entry folder may be reused while the folder has not changed
    /// (`tftp.cache_listings`, true by default; false where folder times cannot be trusted,
    /// as on some network file systems).
    pub cache_listings: bool,
    /// Where pxe-pilot serves the TFTP root itself (`tftp.serve`, `ADDR:PORT`), if it does:
    /// then it sees PXELINUX and GRUB read their per-MAC entries.
    pub tftp_serve: Option<std::net::SocketAddr>,
}
