//! The configuration file as it is written: the serde shapes the YAML is read into, before
//! [`super::check`] validates them. Values whose line an error must name are [`Text`]
//! (`Spanned`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

/// A text value and where it is in the file.
pub(super) type Text = Spanned<String>;

#[derive(Deserialize)]
pub(super) struct RawFile {
    #[serde(default)]
    pub hosts: Vec<RawHost>,
    #[serde(default)]
    pub host_management_adapters: Vec<RawAdapter>,
    pub tftp: Option<RawTftp>,
    pub configuration: Option<RawCatalogue>,
    #[serde(default)]
    pub server: RawServer,
    pub power: Option<RawPower>,
    pub arp_table: Option<String>,
    pub discovery: Option<RawCmd>,
    pub arp: Option<RawCmd>,
    pub command_timeout: Option<u64>,
    pub client: Option<RawClient>,
    pub state_dir: Option<Text>,
    pub store: Option<RawStore>,
    pub site: Option<String>,
}

/// `store:`: a name (`files`, `memory`) or `{etcd: {...}}`. Read by hand rather than
/// `untagged`, so that a misspelt key inside `etcd:` is reported like any other.
pub(super) enum RawStore {
    Name(String),
    Etcd { etcd: RawEtcd },
}

impl<'de> Deserialize<'de> for RawStore {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawStore;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("files, memory, or {etcd: {endpoints: [...]}}")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<RawStore, E> {
                Ok(RawStore::Name(name.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawStore, A::Error> {
                let mut etcd = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "etcd" => etcd = Some(map.next_value::<RawEtcd>()?),
                        other => {
                            return Err(serde::de::Error::unknown_field(other, &["etcd"]));
                        }
                    }
                }
                etcd.map(|etcd| RawStore::Etcd { etcd })
                    .ok_or_else(|| serde::de::Error::missing_field("etcd"))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
pub(super) struct RawEtcd {
    #[serde(default)]
    pub endpoints: Vec<String>,
    pub prefix: Option<String>,
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RawClient {
    pub binary: Option<Text>,
}

#[derive(Deserialize)]
pub(super) struct RawHost {
    pub name: Text,
    #[serde(default)]
    pub mac_addresses: Vec<Text>,
    // Boxed: most hosts have none, and 10,000 hosts read at once stay small (the parse's
    // peak memory is the vector of hosts).
    pub ipmi: Option<Box<RawIpmi>>,
    pub management: Option<Box<RawManagement>>,
    pub redfish: Option<Box<RawRedfish>>,
    pub netboot_once: Option<bool>,
    pub boot_mode: Option<Text>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

#[derive(Deserialize)]
pub(super) struct RawIpmi {
    pub mac_address: Option<Text>,
    pub hostname: Option<String>,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    pub interface: Option<String>,
    pub subnet: Option<String>,
    pub port: Option<u16>,
    pub cipher_suite: Option<u8>,
}

#[derive(Deserialize)]
pub(super) struct RawManagement {
    pub mac_address: Option<Text>,
    #[serde(alias = "ip_address")]
    pub hostname: Option<String>,
    pub subnet: Option<String>,
    pub adapter: Text,
    #[serde(default)]
    pub vars: Vec<RawVar>,
}

#[derive(Deserialize)]
pub(super) struct RawRedfish {
    pub address: Option<Text>,
    pub mac_address: Option<Text>,
    pub subnet: Option<String>,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    pub system: Option<String>,
    pub tls_verify: Option<bool>,
    pub ca_file: Option<Text>,
}

#[derive(Deserialize)]
pub(super) struct RawVar {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Deserialize)]
pub(super) struct RawAdapter {
    pub name: Text,
    #[serde(default)]
    pub vars: Vec<RawVar>,
    #[serde(default)]
    pub env: Vec<RawVar>,
    pub power_status: Option<RawCommand>,
    pub power_on: Option<RawCommand>,
    pub power_off: Option<RawCommand>,
    pub power_reset: Option<RawCommand>,
    pub boot_pxe_once: Option<RawCommand>,
}

#[derive(Deserialize)]
pub(super) struct RawCommand {
    pub cmd: String,
    pub pattern_on: Option<String>,
    pub pattern_off: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RawTftp {
    pub root: Text,
    pub cache_listings: Option<bool>,
    pub serve: Option<Text>,
}

#[derive(Deserialize)]
pub(super) struct RawCatalogue {
    pub directory: Text,
    #[serde(default)]
    pub bootloaders: Vec<RawBootloader>,
}

#[derive(Deserialize)]
pub(super) struct RawBootloader {
    pub name: Text,
    #[serde(default)]
    pub file: String,
    #[serde(default)]
    pub config_path: String,
    pub mac_entry: Option<String>,
    pub http: Option<Text>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawServer {
    pub port: Option<u16>,
    pub listen: Option<Text>,
    pub token: Option<String>,
    pub token_file: Option<Text>,
    pub self_service: Option<Vec<Text>>,
    pub once_fallback: Option<Text>,
    pub boot_trust: Option<Text>,
    pub origins: Option<Vec<Text>>,
    pub max_connections_per_peer: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
pub(super) struct RawPower {
    pub max_parallel: Option<Spanned<u32>>,
    pub status_ttl: Option<u64>,
    pub status_wait: Option<f64>,
}

#[derive(Deserialize)]
pub(super) struct RawCmd {
    pub cmd: Option<String>,
}
