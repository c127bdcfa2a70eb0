//! `ipmitool`, as the original's `ipmi:` block drives it: `power status|on|off|reset`, and
//! `chassis bootdev pxe` for a network boot once. The password goes in `ipmitool`'s
//! environment (`-E` reads `IPMI_PASSWORD`), never on its command line.

use crate::command::{mask_secrets, CommandError, CommandLine};
use crate::inventory::{BootMode, Ipmi};

use super::driver::{BmcDriver, Call};
use super::{Netboot, PowerAction, PowerError, PowerState};

/// The `ipmitool` command that sends `args` (`power status`) to the BMC at `address`.
pub(super) fn command(ipmi: &Ipmi, address: &str, args: &[&str]) -> CommandLine {
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

/// The arguments that make the next boot a network boot, once (`options=efiboot` for UEFI).
pub(super) fn bootdev_pxe(mode: Option<BootMode>) -> Vec<&'static str> {
    match mode {
        Some(BootMode::Uefi) => vec!["chassis", "bootdev", "pxe", "options=efiboot"],
        _ => vec!["chassis", "bootdev", "pxe"],
    }
}

/// What `ipmitool power status` prints for each state.
pub(super) const STATUS_ON: &str = "Chassis Power is on";
/// See [`STATUS_ON`].
pub(super) const STATUS_OFF: &str = "Chassis Power is off";
/// What `ipmitool chassis bootdev` prints when the BMC took it: it exits 0 even when the BMC
/// refused, saying so on stderr only.
pub(super) const BOOTDEV_SET: &str = "Set Boot Device to";

/// A host's `ipmi:` block, as a [`BmcDriver`].
pub(super) struct IpmiDriver<'a>(pub &'a Ipmi);

impl BmcDriver for IpmiDriver<'_> {
    fn status(&self, call: &Call<'_>) -> Result<PowerState, PowerError> {
        let line = command(self.0, &call.address()?, &["power", "status"]);
        call.status_of(&line, Some(STATUS_ON), Some(STATUS_OFF))
    }

    fn act(&self, call: &Call<'_>, action: PowerAction) -> Result<(), PowerError> {
        let verb = match action {
            PowerAction::On => "on",
            PowerAction::Off => "off",
            PowerAction::Reboot => "reset",
        };
        let line = command(self.0, &call.address()?, &["power", verb]);
        call.run(action.as_str(), &line).map(drop)
    }

    fn netboot_once(&self, call: &Call<'_>) -> Result<Netboot, PowerError> {
        const ACTION: &str = "netboot once";
        let line = command(self.0, &call.address()?, &bootdev_pxe(call.host.boot_mode));
        let output = call.run(ACTION, &line)?;
        if !output.stdout.contains(BOOTDEV_SET) {
            return Err(call.command_error(
                ACTION,
                CommandError::Failed {
                    command: line.display(),
                    status: "exit status: 0".into(),
                    stderr: mask_secrets(output.stderr.trim(), &line.secrets),
                },
            ));
        }
        Ok(Netboot::Once)
    }
}
