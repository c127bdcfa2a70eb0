//! The JSON of the HTTP API: what the server answers and the client sends, shared so that
//! they cannot drift. The wire only: these types know nothing of the service (the server
//! turns its domain types into them, the client reads them), so the static client links
//! them without the rest of the core.
//!
//! Field names are the original PXE Pilot's (`macAddresses`, `powerState`, `config_path`...).
//! Secrets never reach these types: an IPMI block is shown without its password, a management
//! block without its variables.

use serde::{Deserialize, Serialize};

use crate::mac::MacAddress;

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
    /// Boot the configuration once: after the host's first fetch of it over HTTP, it is
    /// switched to the server's `once_fallback` (`local` by default).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub once: bool,
}

/// The answer to a deploy: 200 when every host was switched, 207 when a host's write failed
/// after others were switched (each host then says what became of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployResponse {
    /// One line per host, in the request's order.
    pub hosts: Vec<DeployedHost>,
    /// With a 207: what went wrong, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A host of a deploy and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployedHost {
    /// The host's name.
    pub name: String,
    /// The configuration it now boots (with `error`: the one it was to boot).
    pub configuration: String,
    /// Whether it was rebooted.
    pub rebooted: Rebooted,
    /// With a reboot asked: whether its next boot was made a network boot, once, first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netboot: Option<NetbootView>,
    /// Only in a 207 answer, for a host that was not switched: why (its write failed, or an
    /// earlier host's did and it was not tried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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

/// Whether a deploy with reboot made the host's next boot a network boot, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NetbootView {
    /// The BMC will boot the host from the network once.
    #[serde(rename = "ONCE")]
    Once,
    /// Not asked: the host's `netboot_once` is false, or its BMC cannot be told.
    #[serde(rename = "SKIPPED")]
    Skipped,
    /// The BMC refused or failed; the host was rebooted all the same.
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
    /// The script language it fetches its per-host configuration in over HTTP
    /// (`GET /v1/boot/{name}/{mac}`): `ipxe` or `grub`; absent when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
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

/// `GET /v1/configurations/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigurationContent {
    /// Its name.
    pub name: String,
    /// The file's text.
    pub content: String,
    /// Present when the file is a template that does not parse: what and where (hosts that
    /// fetch it over HTTP would get a 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
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

/// A host's `redfish` block as the API shows it: never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedfishView {
    /// The BMC's MAC address.
    #[serde(
        rename = "macAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mac_address: Option<MacAddress>,
    /// The BMC's address: given in the configuration, or found in the ARP table.
    pub address: Option<String>,
    /// The BMC user.
    pub username: String,
    /// The system's path, when the configuration names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The subnet scanned by refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
}

/// A host's last boot over HTTP, as `GET /v1/hosts` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastBootView {
    /// When it fetched its script: RFC 3339, UTC.
    pub time: String,
    /// The configuration it got; absent when it was handed over to its next boot device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<String>,
    /// The bootloader that fetched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootloader: Option<String>,
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
    /// Its Redfish block, without the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redfish: Option<RedfishView>,
    /// Its last boot over HTTP, when the server has seen one.
    #[serde(rename = "lastBoot", default, skip_serializing_if = "Option::is_none")]
    pub last_boot: Option<LastBootView>,
}

/// The body of every error answer: `{"message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong and what to do.
    pub message: String,
}

/// `GET /v1/status`: where the server keeps its state and how that is doing (DESIGN §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusView {
    /// The store: `files` (the TFTP root's links and `state_dir`), `memory` or `etcd`.
    #[cfg_attr(feature = "openapi", schema(example = "etcd"))]
    pub store: String,
    /// This server's `site`.
    pub site: String,
    /// With `store: etcd`: whether etcd answers and its revision; `null` otherwise.
    pub etcd: Option<EtcdStatusView>,
    /// With `store: etcd`: how far this server's TFTP root and caches follow etcd; `null`
    /// otherwise.
    pub mirror: Option<MirrorView>,
    /// True when what this server answers may be behind the fleet's state (etcd away).
    pub stale: bool,
    /// The servers sharing the state that announced themselves in the last seconds, this one
    /// included (with `files` or `memory`: this one only).
    pub servers: Vec<ServerView>,
}

/// Whether etcd answers this server, as `GET /v1/status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EtcdStatusView {
    /// Whether etcd answered within the last few seconds.
    pub reachable: bool,
    /// etcd's revision when it last answered.
    pub revision: i64,
}

/// How far this server's mirror (its TFTP root, its caches) follows etcd.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MirrorView {
    /// The etcd revision the mirror has applied.
    pub revision: i64,
    /// Seconds the mirror has not been following etcd: 0 while it does.
    pub lag_seconds: f64,
    /// Boot events seen while etcd was away, waiting to be published.
    pub buffered_events: usize,
    /// Boot events dropped since this server started, the buffer being full (etcd away, or
    /// slower than the fetches).
    #[serde(default)]
    pub dropped_events: u64,
}

/// A server of the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerView {
    /// Its `site`.
    pub site: String,
    /// The machine it runs on.
    pub machine: String,
    /// Its version.
    pub version: String,
    /// When it last announced itself: RFC 3339, UTC, milliseconds.
    pub last_seen: String,
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

/// One event of the log, as `GET /v1/hosts/{name}/events` (newest first) and
/// `GET /v1/events?since=ID` (oldest first) show it: what was done to which host, when, by
/// whom, from where, and how it ended. Never a secret.
///
/// `kind` and `who` are text rather than enums so that a client reads the events of a newer
/// server, whose log may know more kinds, without failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventView {
    /// Its number: increasing, never reused, also across restarts of the server.
    pub id: u64,
    /// When it happened: RFC 3339, UTC, milliseconds.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-29T11:15:29.123Z"))]
    pub time: String,
    /// The host's name; `null` for a boot fetch from a MAC address of no host.
    #[serde(default)]
    pub host: Option<String>,
    /// The MAC address concerned (a boot fetch's, a self-service request's), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddress>,
    /// What happened: `deploy`, `undeploy`, `power`, `netboot`, `self_service`,
    /// `once_fallback` or `boot`.
    #[cfg_attr(feature = "openapi", schema(example = "deploy"))]
    pub kind: String,
    /// The configuration before (a name, or a label such as `dangling:...`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The configuration after (with `boot`: the one served), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Who asked: `token` (a request with the token), `self` (a host for itself, without
    /// the token) or `open` (the server has no token, or a boot fetch).
    #[cfg_attr(feature = "openapi", schema(example = "token"))]
    pub who: String,
    /// The address the request came from, when there was a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// `ok`, or what went wrong prefixed with `error: `.
    #[cfg_attr(feature = "openapi", schema(example = "ok"))]
    pub result: String,
    /// More about it: a boot fetch's bootloader, a power action (`on`, `off`, `reboot`)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A boot fetch only: `false` when it came from another machine than the host (it was
    /// answered, but set no `lastBoot` and consumed no `once`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted: Option<bool>,
    /// The site of the server that recorded it (`site:` of its configuration file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// A machine seen booting whose MAC address no host has (`GET /v1/unknown-machines`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UnknownMachineView {
    /// The MAC address it booted from.
    pub mac_address: MacAddress,
    /// When it was first seen since the server started: RFC 3339, UTC, milliseconds.
    pub first_seen: String,
    /// When it was last seen.
    pub last_seen: String,
    /// How many boot fetches it made.
    pub count: u64,
    /// The address its last fetch came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// How it last fetched: a bootloader served over HTTP, or `tftp`.
    pub via: String,
}
