//! Validation of the hosts: their names and MAC addresses, their BMC blocks (`ipmi`,
//! `management` with its adapter, `redfish`) and the command adapters.

use std::collections::HashMap;
use std::path::Path;

use crate::inventory::{
    Adapter, AdapterCommand, Bmc, BmcAddress, BootMode, Host, Inventory, Ipmi, Management, Redfish,
};
use crate::mac::MacAddress;
use crate::names::HostName;

use super::check::{line_of, Checker};
use super::raw::{RawAdapter, RawCommand, RawHost, RawIpmi, RawManagement, RawRedfish, Text};
use super::{SettingsError, Warning};

impl Checker<'_> {
    pub(super) fn adapters(
        &self,
        raw: Vec<RawAdapter>,
    ) -> Result<HashMap<String, Adapter>, SettingsError> {
        let mut adapters = HashMap::new();
        for (i, adapter) in raw.into_iter().enumerate() {
            let name = adapter.name.value.clone();
            let line = line_of(&adapter.name);
            if name.trim().is_empty() {
                return Err(self.invalid(
                    line,
                    format!("host_management_adapters[{i}].name"),
                    "an adapter needs a name".into(),
                ));
            }
            let command = |c: Option<RawCommand>| {
                c.map(|c| AdapterCommand {
                    cmd: c.cmd,
                    pattern_on: c.pattern_on,
                    pattern_off: c.pattern_off,
                })
            };
            let pairs = |vars: Vec<super::raw::RawVar>| -> Vec<(String, String)> {
                vars.into_iter().map(|v| (v.name, v.value)).collect()
            };
            let value = Adapter {
                name: name.clone(),
                vars: pairs(adapter.vars),
                env: pairs(adapter.env),
                power_status: command(adapter.power_status),
                power_on: command(adapter.power_on),
                power_off: command(adapter.power_off),
                power_reset: command(adapter.power_reset),
                boot_pxe_once: command(adapter.boot_pxe_once),
            };
            if adapters.insert(name.clone(), value).is_some() {
                return Err(self.invalid(
                    line,
                    format!("host_management_adapters[{i}].name"),
                    format!("adapter {name:?} is declared twice: rename or remove one"),
                ));
            }
        }
        Ok(adapters)
    }

    pub(super) fn mac(&self, text: &Text, key: String) -> Result<MacAddress, SettingsError> {
        MacAddress::parse(&text.value).map_err(|e| self.invalid(line_of(text), key, e.to_string()))
    }

    pub(super) fn optional_mac(
        &self,
        text: Option<&Text>,
        key: String,
    ) -> Result<Option<MacAddress>, SettingsError> {
        text.map(|t| self.mac(t, key)).transpose()
    }

    pub(super) fn hosts(
        &self,
        raw: Vec<RawHost>,
        adapters: &HashMap<String, Adapter>,
        base: &Path,
        warnings: &mut Vec<Warning>,
    ) -> Result<Inventory, SettingsError> {
        let mut hosts = Vec::with_capacity(raw.len());
        let mut names: HashMap<HostName, usize> = HashMap::new();
        let mut macs: HashMap<MacAddress, (String, usize)> = HashMap::new();
        for (i, host) in raw.into_iter().enumerate() {
            let name_line = host.name.referenced.line() as usize;
            let name = HostName::parse(&host.name.value).map_err(|e| {
                self.invalid(Some(name_line), format!("hosts[{i}].name"), e.to_string())
            })?;
            if let Some(first) = names.insert(name.clone(), name_line) {
                return Err(self.invalid(
                    Some(name_line),
                    format!("hosts[{i}].name"),
                    format!("host {name:?} is declared twice (first at line {first}): host names must be unique"),
                ));
            }
            let mac_addresses =
                self.host_macs(i, &name, name_line, &host.mac_addresses, &mut macs)?;
            let bmc = self.bmc(i, &name, &host, adapters, base, warnings)?;
            let boot_mode = match &host.boot_mode {
                None => None,
                Some(text) => Some(match text.value.to_ascii_lowercase().as_str() {
                    "uefi" => BootMode::Uefi,
                    "bios" | "legacy" => BootMode::Bios,
                    other => {
                        return Err(self.invalid(
                            line_of(text),
                            format!("hosts[{i}].boot_mode"),
                            format!("{other:?} is not a boot mode: use uefi or bios"),
                        ))
                    }
                }),
            };
            hosts.push(Host {
                name,
                mac_addresses,
                bmc: bmc.map(Box::new),
                netboot_once: host.netboot_once.unwrap_or(true),
                boot_mode,
                vars: host.vars.into_iter().collect(),
            });
        }
        Ok(Inventory::new(hosts))
    }

    /// A host's MAC addresses: at least one, each parsed, none given twice in the file.
    pub(super) fn host_macs(
        &self,
        i: usize,
        name: &HostName,
        line: usize,
        texts: &[Text],
        seen: &mut HashMap<MacAddress, (String, usize)>,
    ) -> Result<Vec<MacAddress>, SettingsError> {
        if texts.is_empty() {
            return Err(self.invalid(
                Some(line),
                format!("hosts[{i}].mac_addresses"),
                format!("host {name:?} has no MAC address: give at least one"),
            ));
        }
        let mut macs = Vec::with_capacity(texts.len());
        for (j, text) in texts.iter().enumerate() {
            let key = format!("hosts[{i}].mac_addresses[{j}]");
            let mac = self.mac(text, key.clone())?;
            let mac_line = text.referenced.line() as usize;
            if let Some((owner, first_line)) = seen.insert(mac, (name.to_string(), mac_line)) {
                let whose = if owner == name.as_str() {
                    "this host already lists it".to_owned()
                } else {
                    format!("host {owner:?} already has it")
                };
                return Err(self.invalid(
                    Some(mac_line),
                    key,
                    format!("MAC address {mac} is given twice ({whose}, line {first_line}): a MAC belongs to one host"),
                ));
            }
            macs.push(mac);
        }
        Ok(macs)
    }

    /// A host's power management: one of `ipmi`, `management`, `redfish` (the first given,
    /// in that order, with a warning when there are several).
    pub(super) fn bmc(
        &self,
        i: usize,
        name: &HostName,
        host: &RawHost,
        adapters: &HashMap<String, Adapter>,
        base: &Path,
        warnings: &mut Vec<Warning>,
    ) -> Result<Option<Bmc>, SettingsError> {
        let given = [
            host.ipmi.is_some(),
            host.management.is_some(),
            host.redfish.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            self.warn(warnings, format!(
                "host {name:?} has several of ipmi, management and redfish: only the first of them in that order is used"
            ));
        }
        if let Some(ipmi) = &host.ipmi {
            return Ok(Some(Bmc::Ipmi(self.ipmi(i, ipmi)?)));
        }
        if let Some(management) = &host.management {
            return Ok(Some(Bmc::Adapter(
                self.management(i, management, adapters)?,
            )));
        }
        if let Some(redfish) = &host.redfish {
            return Ok(Some(Bmc::Redfish(self.redfish(i, redfish, base)?)));
        }
        Ok(None)
    }

    pub(super) fn ipmi(&self, i: usize, ipmi: &RawIpmi) -> Result<Ipmi, SettingsError> {
        Ok(Ipmi {
            address: BmcAddress {
                mac_address: self.optional_mac(
                    ipmi.mac_address.as_ref(),
                    format!("hosts[{i}].ipmi.mac_address"),
                )?,
                hostname: ipmi.hostname.clone().filter(|h| !h.is_empty()),
                subnet: ipmi.subnet.clone().filter(|s| !s.is_empty()),
            },
            username: ipmi.username.clone(),
            password: ipmi.password.clone(),
            interface: ipmi
                .interface
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "lanplus".into()),
            port: ipmi.port,
            cipher_suite: ipmi.cipher_suite,
        })
    }

    pub(super) fn management(
        &self,
        i: usize,
        m: &RawManagement,
        adapters: &HashMap<String, Adapter>,
    ) -> Result<Management, SettingsError> {
        if !adapters.contains_key(&m.adapter.value) {
            return Err(self.invalid(
                line_of(&m.adapter),
                format!("hosts[{i}].management.adapter"),
                format!(
                    "adapter {:?} is not declared in host_management_adapters",
                    m.adapter.value
                ),
            ));
        }
        Ok(Management {
            address: BmcAddress {
                mac_address: self.optional_mac(
                    m.mac_address.as_ref(),
                    format!("hosts[{i}].management.mac_address"),
                )?,
                hostname: m.hostname.clone().filter(|h| !h.is_empty()),
                subnet: m.subnet.clone().filter(|s| !s.is_empty()),
            },
            adapter: m.adapter.value.clone(),
            vars: m
                .vars
                .iter()
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect(),
        })
    }

    pub(super) fn redfish(
        &self,
        i: usize,
        r: &RawRedfish,
        base: &Path,
    ) -> Result<Redfish, SettingsError> {
        let key = |k: &str| format!("hosts[{i}].redfish.{k}");
        let mac_address = self.optional_mac(r.mac_address.as_ref(), key("mac_address"))?;
        let hostname = match &r.address {
            Some(text) if !text.value.is_empty() => {
                let address = text.value.trim_end_matches('/');
                let host = address
                    .strip_prefix("https://")
                    .or_else(|| address.strip_prefix("http://"))
                    .unwrap_or(address);
                if host.is_empty() || host.contains('/') || host.chars().any(char::is_whitespace) {
                    return Err(self.invalid(
                        line_of(text),
                        key("address"),
                        format!(
                            "{:?} is not a BMC address: give https://HOST[:PORT] or HOST",
                            text.value
                        ),
                    ));
                }
                Some(address.to_owned())
            }
            _ => None,
        };
        if hostname.is_none() && mac_address.is_none() {
            return Err(self.invalid(
                None,
                key("address"),
                "is missing: give the BMC's address (https://10.0.0.21), or its mac_address and subnet".into(),
            ));
        }
        let system = r.system.clone().filter(|s| !s.is_empty());
        if let Some(system) = &system {
            if !system.starts_with("/redfish/v1/") {
                return Err(self.invalid(
                    None,
                    key("system"),
                    format!(
                        "{system:?} is not a Redfish system path: give /redfish/v1/Systems/<id>"
                    ),
                ));
            }
        }
        let ca_file = match &r.ca_file {
            Some(text) => {
                let path = base.join(&text.value);
                if !path.is_file() {
                    return Err(self.invalid(
                        line_of(text),
                        key("ca_file"),
                        format!(
                            "{} is not a readable file: give the PEM file of the BMC's CA",
                            path.display()
                        ),
                    ));
                }
                Some(path)
            }
            None => None,
        };
        Ok(Redfish {
            address: BmcAddress {
                mac_address,
                hostname,
                subnet: r.subnet.clone().filter(|s| !s.is_empty()),
            },
            username: r.username.clone(),
            password: r.password.clone(),
            system,
            tls_verify: r.tls_verify.unwrap_or(true),
            ca_file,
        })
    }
}
