//! [`BmcDriver`]: what one kind of BMC does (read the power state, switch it, make the next
//! boot a network boot once), and [`Call`], what a driver is handed for one host: its BMC's
//! address, the server-wide limit and the command time-out. A new kind of BMC is one file
//! that implements the trait, and one arm in `Shared::driver` that picks it.

use crate::arp::ArpTable;
use crate::command::{mask_secrets, CommandError, CommandLine, Output};
use crate::inventory::Host;
use crate::settings::Settings;

use super::limit::Limit;
use super::{Netboot, PowerAction, PowerError, PowerState};

/// One kind of BMC, for one host.
pub(super) trait BmcDriver {
    /// The host's power state.
    fn status(&self, call: &Call<'_>) -> Result<PowerState, PowerError>;
    /// Switches the host's power (a reboot of a host that is off was made `On` already).
    fn act(&self, call: &Call<'_>, action: PowerAction) -> Result<(), PowerError>;
    /// Makes the host's next boot a network boot, once (`Skipped` where the BMC cannot).
    fn netboot_once(&self, call: &Call<'_>) -> Result<Netboot, PowerError>;
}

/// One host's power call: what a driver needs beside its own block of the inventory.
pub(super) struct Call<'a> {
    /// The host.
    pub host: &'a Host,
    pub(super) settings: &'a Settings,
    pub(super) limit: &'a Limit,
}

impl Call<'_> {
    /// The BMC's address (given, or found from its MAC in the ARP table), or the error that
    /// says `pxe-pilot host refresh` may find it.
    pub fn address(&self) -> Result<String, PowerError> {
        super::bmc_address_in(self.host, &ArpTable::read(&self.settings.arp_table)).ok_or_else(
            || PowerError::NoAddress {
                host: self.host.name.to_string(),
                mac: self
                    .host
                    .bmc
                    .as_ref()
                    .and_then(|b| b.address().mac_address)
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "its MAC".into()),
            },
        )
    }

    /// The time a BMC call may take.
    pub fn timeout(&self) -> std::time::Duration {
        self.settings.command_timeout
    }

    /// Runs `work` (one BMC call) within the server-wide limit of concurrent calls.
    pub fn limited<T>(&self, work: impl FnOnce() -> T) -> T {
        self.limit.run(work)
    }

    /// Runs `line` for `action` within the limit and the time-out.
    pub fn run(&self, action: &'static str, line: &CommandLine) -> Result<Output, PowerError> {
        self.limited(|| line.run(self.timeout()))
            .map_err(|source| self.command_error(action, source))
    }

    /// The power state a status command printed: `on` or `off` found in its output.
    pub fn status_of(
        &self,
        line: &CommandLine,
        on: Option<&str>,
        off: Option<&str>,
    ) -> Result<PowerState, PowerError> {
        let output = self.run("status", line)?;
        let text = output.stdout.as_str();
        if on.is_some_and(|p| text.contains(p)) {
            Ok(PowerState::On)
        } else if off.is_some_and(|p| text.contains(p)) {
            Ok(PowerState::Off)
        } else {
            Err(PowerError::UnknownStatus {
                host: self.host.name.to_string(),
                output: mask_secrets(text.lines().next().unwrap_or(""), &line.secrets),
            })
        }
    }

    /// A command of `action` that failed or could not be built.
    pub fn command_error(&self, action: &'static str, source: CommandError) -> PowerError {
        PowerError::Command {
            host: self.host.name.to_string(),
            action,
            source,
        }
    }
}
