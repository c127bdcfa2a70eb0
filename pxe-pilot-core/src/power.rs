//! Power management: query and switch a host's power through its BMC.
//!
//! A host's `ipmi:` block drives `ipmitool` with the original's arguments; a `management:`
//! block drives a named command adapter. The BMC's address is given directly or found from its
//! MAC in the ARP table, which `refresh` fills by scanning the management subnets. Every
//! command runs without a shell and with the settings' timeout (see [`crate::command`]).

use std::collections::BTreeSet;

use crate::api::PowerState;
use crate::arp::ArpTable;
use crate::command::{CommandError, CommandLine};
use crate::inventory::{Adapter, AdapterCommand, BmcAddress, Host};
use crate::settings::Settings;

/// The most power queries or discovery commands run at once.
pub const MAX_PARALLEL: usize = 128;

/// Words that make a variable's name a secret's (`password`, `kg_key`, `snmp_community`,
/// `api_token`...), matched in any case.
pub const SECRET_NAME_WORDS: [&str; 7] = [
    "pass",
    "secret",
    "token",
    "key",
    "community",
    "cred",
    "auth",
];

/// Whether an adapter variable named `name` holds a secret, to be masked in every message like
/// the host's own variables.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAME_WORDS.iter().any(|word| name.contains(word))
}

/// What to do with a host's power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    /// Power on.
    On,
    /// Power off.
    Off,
    /// Reset; a host that is off is powered on instead (as the original does).
    Reboot,
}

impl PowerAction {
    /// The word operators use: `on`, `off`, `reboot`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PowerAction::On => "on",
            PowerAction::Off => "off",
            PowerAction::Reboot => "reboot",
        }
    }
}

/// Why a power command could not be carried out; secrets are masked in every message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PowerError {
    /// The host has neither an `ipmi:` nor a `management:` block.
    #[error("no power management configured for host {host}")]
    NotConfigured {
        /// The host.
        host: String,
    },
    /// The BMC's address is not known yet.
    #[error("the BMC address of host {host} is not known: give `hostname` in the configuration or run `pxe-pilot host refresh` so the ARP table learns {mac}")]
    NoAddress {
        /// The host.
        host: String,
        /// The BMC's MAC address, or `its MAC` when none is configured.
        mac: String,
    },
    /// The adapter has no command for this action.
    #[error("adapter {adapter} of host {host} has no {action} command")]
    NotSupported {
        /// The host.
        host: String,
        /// The adapter.
        adapter: String,
        /// The missing command (`power_on`, ...).
        action: &'static str,
    },
    /// The status command's output matched neither pattern.
    #[error("the power status of host {host} is neither on nor off: {output:?}")]
    UnknownStatus {
        /// The host.
        host: String,
        /// The first line of the output (masked).
        output: String,
    },
    /// The command could not be built or failed.
    #[error("power {action} of host {host}: {source}")]
    Command {
        /// The host.
        host: String,
        /// The action.
        action: &'static str,
        /// What went wrong.
        source: CommandError,
    },
}

/// The `ipmitool` command that sends `args` (`power status`) to the BMC at `address`. The
/// password goes in the environment (`-E` reads `IPMI_PASSWORD`), never on the command line.
fn ipmi_command(ipmi: &crate::inventory::Ipmi, address: &str, args: &[&str]) -> CommandLine {
    let mut argv: Vec<String> = ["ipmitool", "-I", &ipmi.interface, "-H", address]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(port) = ipmi.port {
        argv.extend(["-p".to_owned(), port.to_string()]);
    }
    if let Some(suite) = ipmi.cipher_suite {
        argv.extend(["-C".to_owned(), suite.to_string()]);
    }
    argv.extend(["-U".to_owned(), ipmi.username.clone(), "-E".to_owned()]);
    argv.extend(args.iter().map(|s| s.to_string()));
    CommandLine {
        argv,
        env: vec![("IPMI_PASSWORD".into(), ipmi.password.clone())],
        secrets: vec![ipmi.password.clone()],
    }
}

/// The power side of the settings: BMC look-ups and commands.
#[derive(Debug, Clone, Copy)]
pub struct Power<'a> {
    settings: &'a Settings,
}

enum Driver<'a> {
    Ipmi(&'a crate::inventory::Ipmi),
    Adapter(&'a crate::inventory::Management, &'a Adapter),
}

impl<'a> Power<'a> {
    /// Power management under these settings.
    pub fn new(settings: &'a Settings) -> Self {
        Power { settings }
    }

    /// True when the host has power management configured.
    pub fn is_managed(host: &Host) -> bool {
        host.ipmi.is_some() || host.management.is_some()
    }

    fn driver(&self, host: &'a Host) -> Result<Driver<'a>, PowerError> {
        if let Some(ipmi) = &host.ipmi {
            return Ok(Driver::Ipmi(ipmi));
        }
        if let Some(management) = &host.management {
            if let Some(adapter) = self.settings.adapters.get(&management.adapter) {
                return Ok(Driver::Adapter(management, adapter));
            }
        }
        Err(PowerError::NotConfigured {
            host: host.name.to_string(),
        })
    }

    fn address_block(host: &Host) -> Option<&BmcAddress> {
        host.ipmi
            .as_ref()
            .map(|i| &i.address)
            .or(host.management.as_ref().map(|m| &m.address))
    }

    /// The BMC address of `host`: given in the configuration, or found in the ARP table.
    pub fn bmc_address(&self, host: &Host) -> Option<String> {
        self.bmc_address_in(host, &ArpTable::read(&self.settings.arp_table))
    }

    fn bmc_address_in(&self, host: &Host, arp: &ArpTable) -> Option<String> {
        let block = Power::address_block(host)?;
        block.hostname.clone().or_else(|| {
            block
                .mac_address
                .and_then(|mac| arp.ip_of(&mac))
                .map(|ip| ip.to_string())
        })
    }

    fn required_address(&self, host: &Host) -> Result<String, PowerError> {
        self.bmc_address(host).ok_or_else(|| PowerError::NoAddress {
            host: host.name.to_string(),
            mac: Power::address_block(host)
                .and_then(|b| b.mac_address)
                .map(|m| m.to_string())
                .unwrap_or_else(|| "its MAC".into()),
        })
    }

    /// The command line that does `verb` (`status`, `on`, `off`, `reset`) for `host`.
    fn command(
        &self,
        host: &Host,
        verb: &'static str,
    ) -> Result<(CommandLine, Option<AdapterCommand>), PowerError> {
        let driver = self.driver(host)?;
        let address = self.required_address(host)?;
        let failed = |source| PowerError::Command {
            host: host.name.to_string(),
            action: verb,
            source,
        };
        match driver {
            Driver::Ipmi(ipmi) => Ok((ipmi_command(ipmi, &address, &["power", verb]), None)),
            Driver::Adapter(management, adapter) => {
                let (command, name) = match verb {
                    "status" => (&adapter.power_status, "power_status"),
                    "on" => (&adapter.power_on, "power_on"),
                    "off" => (&adapter.power_off, "power_off"),
                    _ => (&adapter.power_reset, "power_reset"),
                };
                let command = command.clone().ok_or_else(|| PowerError::NotSupported {
                    host: host.name.to_string(),
                    adapter: adapter.name.clone(),
                    action: name,
                })?;
                let mut values = management.vars.clone();
                values.push(("ip_address".into(), address));
                // The host's variables are all secret; an adapter's are command fragments,
                // secret when their name says so (a shared password, a K_g key...).
                let secrets = management
                    .vars
                    .iter()
                    .chain(adapter.vars.iter().filter(|(name, _)| is_secret_name(name)))
                    .map(|(_, v)| v.clone())
                    .collect();
                let mut line = CommandLine::build(&command.cmd, &adapter.vars, &values, secrets)
                    .map_err(failed)?;
                for (name, template) in &adapter.env {
                    let value = CommandLine::build(template, &adapter.vars, &values, vec![])
                        .map(|l| l.argv.join(" "))
                        .map_err(failed)?;
                    line = line.with_env(name, value);
                }
                Ok((line, Some(command)))
            }
        }
    }

    /// Queries the power state of `host`.
    pub fn status(&self, host: &Host) -> Result<PowerState, PowerError> {
        let (line, command) = self.command(host, "status")?;
        let output =
            line.run(self.settings.command_timeout)
                .map_err(|source| PowerError::Command {
                    host: host.name.to_string(),
                    action: "status",
                    source,
                })?;
        let (on, off) = match &command {
            Some(c) => (c.pattern_on.as_deref(), c.pattern_off.as_deref()),
            None => (Some("Chassis Power is on"), Some("Chassis Power is off")),
        };
        let text = output.stdout.as_str();
        if on.is_some_and(|p| text.contains(p)) {
            Ok(PowerState::On)
        } else if off.is_some_and(|p| text.contains(p)) {
            Ok(PowerState::Off)
        } else {
            Err(PowerError::UnknownStatus {
                host: host.name.to_string(),
                output: crate::command::mask_secrets(
                    text.lines().next().unwrap_or(""),
                    &line.secrets,
                ),
            })
        }
    }

    /// Switches the power of `host`.
    pub fn act(&self, host: &Host, action: PowerAction) -> Result<(), PowerError> {
        let verb = match action {
            PowerAction::On => "on",
            PowerAction::Off => "off",
            PowerAction::Reboot => match self.status(host) {
                Ok(PowerState::Off) => "on",
                _ => "reset",
            },
        };
        let (line, _) = self.command(host, verb)?;
        line.run(self.settings.command_timeout)
            .map(|_| ())
            .map_err(|source| PowerError::Command {
                host: host.name.to_string(),
                action: action.as_str(),
                source,
            })
    }

    /// For each host: its BMC address and, when `query` is true and it has power management,
    /// its power state (`Unknown` when the query fails). Queries run concurrently, so many
    /// slow BMCs cost about one timeout.
    pub fn overview(
        &self,
        hosts: &[&Host],
        query: bool,
    ) -> Vec<(Option<String>, Option<PowerState>)> {
        let arp = ArpTable::read(&self.settings.arp_table);
        let addresses: Vec<Option<String>> =
            hosts.iter().map(|h| self.bmc_address_in(h, &arp)).collect();
        let mut states: Vec<Option<PowerState>> = hosts
            .iter()
            .map(|h| Power::is_managed(h).then_some(PowerState::Unknown))
            .collect();
        if query {
            let work: Vec<usize> = (0..hosts.len())
                .filter(|&i| states[i].is_some() && addresses[i].is_some())
                .collect();
            for chunk in work.chunks(MAX_PARALLEL) {
                let results: Vec<(usize, PowerState)> = std::thread::scope(|scope| {
                    let handles: Vec<_> = chunk
                        .iter()
                        .map(|&i| {
                            let host = hosts[i];
                            scope.spawn(move || {
                                let state = self.status(host).unwrap_or_else(|error| {
                                    tracing::warn!(host = %host.name, %error, "power status unknown");
                                    PowerState::Unknown
                                });
                                (i, state)
                            })
                        })
                        .collect();
                    handles.into_iter().filter_map(|h| h.join().ok()).collect()
                });
                for (i, state) in results {
                    states[i] = Some(state);
                }
            }
        }
        addresses.into_iter().zip(states).collect()
    }

    /// Runs the discovery command once for every distinct management subnet, concurrently,
    /// so the ARP table learns the BMCs' addresses. Returns the subnets scanned. A scan that
    /// exits non-zero (some addresses did not answer) is normal; one that cannot run is an error.
    pub fn refresh(&self) -> Result<Vec<String>, CommandError> {
        let subnets: BTreeSet<String> = self
            .settings
            .inventory
            .hosts()
            .iter()
            .filter_map(|h| Power::address_block(h).and_then(|b| b.subnet.clone()))
            .collect();
        let subnets: Vec<String> = subnets.into_iter().collect();
        let timeout = self.settings.command_timeout;
        for chunk in subnets.chunks(MAX_PARALLEL) {
            let outcomes: Vec<Result<(), CommandError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|subnet| {
                        scope.spawn(move || {
                            let values = [("subnet".to_owned(), subnet.clone())];
                            let line = CommandLine::build(
                                &self.settings.discovery_cmd,
                                &[],
                                &values,
                                vec![],
                            )?;
                            match line.run(timeout) {
                                Ok(_) | Err(CommandError::Failed { .. }) => Ok(()),
                                Err(e) => Err(e),
                            }
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or(Err(CommandError::Empty)))
                    .collect()
            });
            for outcome in outcomes {
                outcome?;
            }
        }
        Ok(subnets)
    }
}

#[cfg(test)]
mod tests {
    use super::is_secret_name;

    #[test]
    fn adapter_variables_are_secret_by_their_name() {
        for name in [
            "password",
            "PASS",
            "kg_key",
            "snmp_community",
            "api_token",
            "credentials",
            "authkey",
            "client_secret",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["command", "username", "interface", "ip_address", "port"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
