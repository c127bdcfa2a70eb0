//! Command adapters (`host_management_adapters`): the operator's own command lines for
//! `power_status`, `power_on`, `power_off`, `power_reset` and `boot_pxe_once`, with the host's
//! `vars` and the BMC's `ip_address` put inside each argument (see [`crate::command`]), and
//! the adapter's `env` in the command's environment.

use crate::command::{CommandError, CommandLine};
use crate::inventory::{Adapter, AdapterCommand, Management};

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
