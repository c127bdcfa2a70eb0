//! Boot over HTTP: iPXE and GRUB 2 fetch their configuration from pxe-pilot instead of a TFTP
//! server, so that no TFTP is needed and pxe-pilot sees every boot.
//!
//! A bootloader declared with `http: ipxe` or `http: grub` is served at
//! `GET /v1/boot/<bootloader>/<mac>`: the configuration deployed to the host that owns the MAC
//! address, when it is one of that bootloader's catalogue folder, rendered for the host
//! ([`render`]); otherwise a script that hands over to the next boot device (iPXE `exit`, GRUB
//! `exit`), never an error that would stall the firmware. iPXE starts from the entry script
//! ([`entry_script`], `GET /boot.ipxe`), which chains to its host's own script by the MAC
//! address it booted from.

pub mod render;
pub mod trust;

use std::collections::BTreeMap;

use crate::bootloader::{Bootloader, HttpScript};
use crate::catalogue::Configuration;
use crate::inventory::Host;
use crate::mac::MacAddress;
use crate::pilot::{Deployment, Pilot, PilotError};

use render::{BootContext, HostValues, ServerValues, TemplateError};

/// What a host gets when it fetches its boot script.
#[derive(Debug)]
pub enum BootAnswer<'a> {
    /// The configuration deployed to it, rendered.
    Script {
        /// The host.
        host: &'a Host,
        /// Its configuration.
        configuration: Configuration,
        /// The script.
        bytes: Vec<u8>,
    },
    /// Nothing to boot over the network: hand over to the next boot device.
    HandOver {
        /// The host, when the MAC address is one of the inventory's.
        host: Option<&'a Host>,
        /// Why, for the event log (`no host has MAC ...`, `web-1 boots local (pxelinux)`).
        reason: String,
        /// The script that hands over.
        bytes: &'static [u8],
    },
}

/// Why a boot script cannot be answered at all.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// No bootloader has this name.
    #[error("no bootloader is named {name:?}: `pxe-pilot bootloader list` shows them")]
    UnknownBootloader {
        /// The name asked for.
        name: String,
    },
    /// The bootloader is declared without `http:`.
    #[error(
        "bootloader {name:?} is not served over HTTP: declare it with `http: ipxe` or `http: grub`"
    )]
    NotOverHttp {
        /// The bootloader.
        name: String,
    },
    /// The host's configuration is a template that does not render.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The store or the catalogue could not be read.
    #[error(transparent)]
    Pilot(#[from] PilotError),
}

/// The iPXE hand-over: leave iPXE, the firmware tries its next boot device (the disk).
pub const IPXE_HAND_OVER: &str = "#!ipxe\n# pxe-pilot: nothing to boot over the network for this host: next boot device.\necho pxe-pilot: nothing to boot over the network for ${mac}: next boot device\nexit\n";

/// The GRUB 2 hand-over: leave GRUB, the firmware tries its next boot option.
pub const GRUB_HAND_OVER: &str = "# pxe-pilot: nothing to boot over the network for this host: next boot device.\necho \"pxe-pilot: nothing to boot over the network for ${net_default_mac}: next boot device\"\nexit\n";

/// The script that hands over to the next boot device, in `language`.
pub fn hand_over(language: HttpScript) -> &'static str {
    match language {
        HttpScript::Ipxe => IPXE_HAND_OVER,
        HttpScript::Grub => GRUB_HAND_OVER,
    }
}

/// The iPXE entry script (`GET /boot.ipxe`): chains to the host's own script
/// (`/v1/boot/<bootloader>/<mac>`, relative to the address iPXE reached) by the MAC address of
/// the NIC it booted from; hands over when no bootloader is served as iPXE.
pub fn entry_script(bootloaders: &[Bootloader]) -> String {
    match bootloaders.iter().find(|b| b.http == Some(HttpScript::Ipxe)) {
        Some(ipxe) => format!(
            "#!ipxe\n# pxe-pilot: fetch this host's own script, by the MAC address it booted from.\nchain --replace --autofree /v1/boot/{}/${{mac:hexhyp}} || exit\n",
            ipxe.name
        ),
        None => "#!ipxe\necho pxe-pilot: no bootloader is served as iPXE (declare one with `http: ipxe`): next boot device\nexit\n".into(),
    }
}

/// What the NIC `mac` (`None`: the text asked for is no MAC address) gets from bootloader
/// `bootloader`, with `server_url` (how the host reached the server) for the templates.
pub fn answer<'a>(
    pilot: &'a Pilot,
    bootloader: &str,
    mac: Option<MacAddress>,
    server_url: &str,
) -> Result<BootAnswer<'a>, BootError> {
    let declared = pilot
        .bootloaders()
        .iter()
        .find(|b| b.name == bootloader)
        .ok_or_else(|| BootError::UnknownBootloader {
            name: bootloader.chars().take(64).collect(),
        })?;
    let language = declared.http.ok_or_else(|| BootError::NotOverHttp {
        name: declared.name.clone(),
    })?;
    let hand_over = |host: Option<&'a Host>, reason: String| BootAnswer::HandOver {
        host,
        reason,
        bytes: hand_over(language).as_bytes(),
    };
    let Some(mac) = mac else {
        return Ok(hand_over(None, "not a MAC address".into()));
    };
    let Some(host) = pilot.settings().inventory.by_mac(&mac) else {
        return Ok(hand_over(None, format!("no host has MAC address {mac}")));
    };
    let state = pilot.host_by_mac(&mac)?;
    let configuration = match state.deployment {
        Deployment::Deployed(c)
            if c.bootloader
                .as_ref()
                .is_some_and(|b| b.name == declared.name) =>
        {
            c
        }
        other => {
            return Ok(hand_over(
                Some(host),
                format!(
                    "{} boots {} (nothing for {})",
                    host.name,
                    other.label(),
                    declared.name
                ),
            ))
        }
    };
    let bytes = pilot.read_configuration(&configuration)?;
    let context = BootContext {
        host: HostValues {
            name: host.name.to_string(),
            mac: mac.to_string(),
            macs: host.mac_addresses.iter().map(|m| m.to_string()).collect(),
            vars: host.vars.iter().cloned().collect::<BTreeMap<_, _>>(),
        },
        server: ServerValues {
            url: server_url.to_owned(),
        },
    };
    let file = configuration.path.display().to_string();
    let bytes = render::render(&file, bytes, &context)?;
    Ok(BootAnswer::Script {
        host,
        configuration: (*configuration).clone(),
        bytes,
    })
}
