//! Command adapters (`host_management_adapters`): the operator's own command lines for
//! `power_status`, `power_on`, `power_off`, `power_reset` and `boot_pxe_once`, with the host's
//! `vars` and the BMC's `ip_address` put inside each argument (see [`crate::command`]), and
//! the adapter's `env` in the command's environment.

use crate::command::{CommandError, CommandLine};
use crate::inventory::{Adapter, AdapterCommand, Management};

use super::driver::{BmcDriver, Call};
use super::{Netboot, PowerAction, PowerError, PowerState};

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

/// The command line of `command` for the host whose block is `management`, BMC at `address`.
pub(super) fn command(
    adapter: &Adapter,
    management: &Management,
    address: &str,
    command: &AdapterCommand,
) -> Result<CommandLine, CommandError> {
    let mut values = management.vars.clone();
    values.push(("ip_address".into(), address.to_owned()));
    // The host's variables are all secret; an adapter's are command fragments, secret when
    // their name says so (a shared password, a K_g key...).
    let secrets: Vec<String> = management
        .vars
        .iter()
        .chain(adapter.vars.iter().filter(|(name, _)| is_secret_name(name)))
        .map(|(_, v)| v.clone())
        .collect();
    let mut line = CommandLine::build(&command.cmd, &adapter.vars, &values, secrets.clone())?;
    for (name, template) in &adapter.env {
        let value = CommandLine::build(template, &adapter.vars, &values, secrets.clone())?;
        line = line.with_env(name, value.argv.join(" "));
    }
    Ok(line)
}

/// A host's `management:` block and the adapter it names, as a [`BmcDriver`].
pub(super) struct AdapterDriver<'a> {
    /// The host's block.
    pub management: &'a Management,
    /// The adapter it names.
    pub adapter: &'a Adapter,
}

impl AdapterDriver<'_> {
    /// The command line of the adapter's `command` (`name` in the file) for this host, or the
    /// error that says the adapter has no such command.
    fn line<'c>(
        &self,
        call: &Call<'_>,
        command: &'c Option<AdapterCommand>,
        name: &'static str,
        action: &'static str,
    ) -> Result<(CommandLine, &'c AdapterCommand), PowerError> {
        let Some(found) = command.as_ref() else {
            return Err(PowerError::NotSupported {
                host: call.host.name.to_string(),
                adapter: self.adapter.name.clone(),
                action: name,
            });
        };
        let line = self::command(self.adapter, self.management, &call.address()?, found)
            .map_err(|source| call.command_error(action, source))?;
        Ok((line, found))
    }
}

impl BmcDriver for AdapterDriver<'_> {
    fn status(&self, call: &Call<'_>) -> Result<PowerState, PowerError> {
        let (line, command) =
            self.line(call, &self.adapter.power_status, "power_status", "status")?;
        call.status_of(
            &line,
            command.pattern_on.as_deref(),
            command.pattern_off.as_deref(),
        )
    }

    fn act(&self, call: &Call<'_>, action: PowerAction) -> Result<(), PowerError> {
        let (command, name) = match action {
            PowerAction::On => (&self.adapter.power_on, "power_on"),
            PowerAction::Off => (&self.adapter.power_off, "power_off"),
            PowerAction::Reboot => (&self.adapter.power_reset, "power_reset"),
        };
        let (line, _) = self.line(call, command, name, action.as_str())?;
        call.run(action.as_str(), &line).map(drop)
    }

    fn netboot_once(&self, call: &Call<'_>) -> Result<Netboot, PowerError> {
        const ACTION: &str = "netboot once";
        if self.adapter.boot_pxe_once.is_none() {
            return Ok(Netboot::Skipped);
        }
        let (line, _) = self.line(call, &self.adapter.boot_pxe_once, "boot_pxe_once", ACTION)?;
        call.run(ACTION, &line)?;
        Ok(Netboot::Once)
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
