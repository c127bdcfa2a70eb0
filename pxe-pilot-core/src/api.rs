//! The JSON the server answers and the client sends, shared so that they cannot drift.
//!
//! Field names are the original PXE Pilot's (`macAddresses`, `powerState`, `config_path`...).
//! Secrets never reach these types: an IPMI block is shown without its password, a management
//! block without its variables.

use serde::{Deserialize, Serialize};

use crate::catalogue::Configuration;
use crate::inventory::{Bootloader, Host};
use crate::mac::MacAddress;
use crate::pilot::{Deployment, HostState};

/// The body of `PUT /v1/configurations/{name}/deploy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    /// The hosts to switch.
    pub hosts: Vec<HostQuery>,
}

/// One host of a deploy request: by name, by any of its MAC addresses, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HostQuery {
    /// The host's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Any MAC address of the host, in any common spelling (`mac_address` is accepted too).
    #[serde(
        default,
        rename = "macAddress",
        alias = "mac_address",
        skip_serializing_if = "Option::is_none"
    )]
    pub mac_address: Option<String>,
    /// Reboot the host once its entry is written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reboot: bool,
}

/// The answer to a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployResponse {
    /// One line per host, in the request's order.
    pub hosts: Vec<DeployedHost>,
}

/// A host that was switched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployedHost {
    /// The host's name.
    pub name: String,
    /// The configuration it now boots.
    pub configuration: String,
    /// Whether it was rebooted.
    pub rebooted: Rebooted,
}

/// The outcome of the reboot that may follow a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Rebooted {
    /// The host was rebooted (or powered on).
    #[serde(rename = "YES")]
    Yes,
    /// No reboot was asked.
    #[serde(rename = "NO")]
    No,
    /// The reboot failed; the deploy stands.
    #[serde(rename = "ERROR")]
    Error,
}

/// A bootloader as `GET /v1/bootloaders` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BootloaderView {
    /// Its name.
    pub name: String,
    /// The file DHCP hands out.
    pub file: String,
    /// Where it reads its configuration.
    pub config_path: String,
    /// Where it reads its per-MAC entries, relative to the TFTP root, with the MAC
    /// placeholder (`grub/grub.cfg-01-{mac}`); absent when it has none of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_entry: Option<String>,
}

impl From<&Bootloader> for BootloaderView {
    fn from(b: &Bootloader) -> Self {
        BootloaderView {
            name: b.name.clone(),
            file: b.file.clone(),
            config_path: b.config_path.clone(),
            mac_entry: b.mac_entry.clone(),
        }
    }
}

/// A configuration as `GET /v1/configurations` shows it, and as a host's deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigurationView {
    /// Its name.
    pub name: String,
    /// Its bootloader, `null` in a flat catalogue.
    pub bootloader: Option<BootloaderView>,
    /// Only on a host: true when its entry leads to no configuration of the catalogue
    /// (the file was removed, or the entry was written by hand); `name` is then the target.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dangling: bool,
}

impl From<&Configuration> for ConfigurationView {
    fn from(c: &Configuration) -> Self {
        ConfigurationView {
            name: c.name.to_string(),
            bootloader: c.bootloader.as_ref().map(BootloaderView::from),
            dangling: false,
        }
    }
}

/// `GET /v1/configurations/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigurationContent {
    /// Its name.
    pub name: String,
    /// The file's text.
    pub content: String,
}

/// A host's power state, as the original spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PowerState {
    /// Powered on.
    On,
    /// Powered off.
    Off,
    /// Not known: no BMC address yet, or the query failed.
    Unknown,
}

/// A host's `ipmi` block as the API shows it: never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IpmiView {
    /// The BMC's MAC address.
    #[serde(rename = "macAddress")]
    pub mac_address: Option<MacAddress>,
    /// The BMC's address: given in the configuration, or found in the ARP table.
    pub hostname: Option<String>,
    /// The BMC user.
    pub username: String,
    /// The `ipmitool -I` interface.
    pub interface: String,
    /// The subnet scanned by refresh.
    pub subnet: Option<String>,
}

/// A host's `management` block as the API shows it: never the variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManagementView {
    /// The BMC's MAC address.
    #[serde(rename = "macAddress")]
    pub mac_address: Option<MacAddress>,
    /// The BMC's address: given in the configuration, or found in the ARP table.
    #[serde(rename = "ipAddress")]
    pub ip_address: Option<String>,
    /// The adapter's name.
    pub adapter: String,
    /// The subnet scanned by refresh.
    pub subnet: Option<String>,
}

/// A host as `GET /v1/hosts` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostView {
    /// Its name.
    pub name: String,
    /// Its MAC addresses, the first one first.
    #[serde(rename = "macAddresses")]
    pub mac_addresses: Vec<MacAddress>,
    /// The configuration its entries lead to, `null` when none is deployed.
    pub configuration: Option<ConfigurationView>,
    /// Its power state; absent for hosts without power management or when not asked.
    #[serde(
        rename = "powerState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub power_state: Option<PowerState>,
    /// Its IPMI block, without the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipmi: Option<IpmiView>,
    /// Its management block, without the variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management: Option<ManagementView>,
}

impl HostView {
    /// The view of a host and its deployment; `bmc_address` is the BMC address found
    /// (given or from the ARP table), `power_state` the state queried, if any.
    pub fn new(
        state: &HostState<'_>,
        bmc_address: Option<String>,
        power_state: Option<PowerState>,
    ) -> Self {
        let host: &Host = state.host;
        let configuration = match &state.deployment {
            Deployment::NotDeployed => None,
            Deployment::Deployed(c) => Some(ConfigurationView::from(&**c)),
            Deployment::Dangling(target) => Some(ConfigurationView {
                name: target.clone(),
                bootloader: None,
                dangling: true,
            }),
        };
        HostView {
            name: host.name.to_string(),
            mac_addresses: host.mac_addresses.clone(),
            configuration,
            power_state,
            ipmi: host.ipmi.as_ref().map(|i| IpmiView {
                mac_address: i.address.mac_address,
                hostname: bmc_address.clone().or_else(|| i.address.hostname.clone()),
                username: i.username.clone(),
                interface: i.interface.clone(),
                subnet: i.address.subnet.clone(),
            }),
            management: host.management.as_ref().map(|m| ManagementView {
                mac_address: m.address.mac_address,
                ip_address: bmc_address.clone().or_else(|| m.address.hostname.clone()),
                adapter: m.adapter.clone(),
                subnet: m.address.subnet.clone(),
            }),
        }
    }
}

/// The JSON array of `items`, byte for byte what `serde_json::to_vec` of their `Vec` gives,
/// written one item at a time: a listing of 10,000 hosts never holds 10,000 [`HostView`]s.
/// `capacity` is the expected size in bytes; 0: the size of the first item times the number
/// of items the iterator announces, and a little more.
pub fn json_array<T: Serialize>(
    items: impl IntoIterator<Item = T>,
    capacity: usize,
) -> serde_json::Result<Vec<u8>> {
    let mut items = items.into_iter();
    let mut out = Vec::with_capacity(capacity);
    out.push(b'[');
    if let Some(first) = items.next() {
        serde_json::to_writer(&mut out, &first)?;
        if capacity == 0 {
            let each = out.len() + 1;
            out.reserve(each.saturating_mul(items.size_hint().0) / 16 * 17 + 1);
        }
    }
    for item in items {
        out.push(b',');
        serde_json::to_writer(&mut out, &item)?;
    }
    out.push(b']');
    Ok(out)
}

/// The body of every error answer: `{"message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong and what to do.
    pub message: String,
}

/// `GET /v1/version`: which program answers, and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionView {
    /// Always `pxe-pilot`.
    pub name: String,
    /// The server's version (`x.y.z`).
    pub version: String,
}

impl VersionView {
    /// The name every pxe-pilot program answers with.
    pub const NAME: &'static str = "pxe-pilot";

    /// This build's version (the workspace's, which the server and the CLI share).
    pub fn current() -> Self {
        VersionView {
            name: Self::NAME.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_array_written_item_by_item_is_the_vec_s_json() {
        let views = |n: usize| -> Vec<ConfigurationView> {
            (0..n)
                .map(|i| ConfigurationView {
                    name: format!("c\"{i}"),
                    bootloader: None,
                    dangling: i % 2 == 1,
                })
                .collect()
        };
        for n in [0, 1, 3, 100] {
            for capacity in [0, 10] {
                assert_eq!(
                    json_array(views(n), capacity).unwrap(),
                    serde_json::to_vec(&views(n)).unwrap()
                );
            }
        }
    }
}
