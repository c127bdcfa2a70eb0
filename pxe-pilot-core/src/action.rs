//! The power actions an operator asks for, shared by the service (which carries them out)
//! and the client (whose commands and routes are named after them).

use std::fmt;

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
    /// The word operators use, also the route's last segment (`PATCH /v1/hosts/{name}/on`):
    /// `on`, `off`, `reboot`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PowerAction::On => "on",
            PowerAction::Off => "off",
            PowerAction::Reboot => "reboot",
        }
    }
}

impl fmt::Display for PowerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
