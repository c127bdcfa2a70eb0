//! The edge between the core's domain types and the HTTP API's JSON
//! ([`pxe_pilot_core::api`]): each view is built here, from what the core answered, and
//! nothing else crosses the wire (no password, no variable).

use pxe_pilot_core::api::{
    BootloaderView, ConfigurationView, HostView, IpmiView, LastBootView, ManagementView,
    PowerState as WirePower, RedfishView,
};
use pxe_pilot_core::{
    Bmc, Bootloader, Configuration, Deployment, Event, HostState, PowerReport, PowerState,
};

/// A bootloader as `GET /v1/bootloaders` shows it.
pub fn bootloader(b: &Bootloader) -> BootloaderView {
    BootloaderView {
        name: b.name.clone(),
        file: b.file.clone(),
        config_path: b.config_path.clone(),
        mac_entry: b.mac_entry.as_ref().map(|p| p.to_string()),
        http: b.http.map(|h| h.as_str().to_owned()),
    }
}

/// A configuration as `GET /v1/configurations` shows it.
pub fn configuration(c: &Configuration) -> ConfigurationView {
    ConfigurationView {
        name: c.name.to_string(),
        bootloader: c.bootloader.as_ref().map(bootloader),
        dangling: false,
    }
}

/// What a host boots, as a host's `configuration` field.
pub fn deployment(d: &Deployment) -> Option<ConfigurationView> {
    match d {
        Deployment::NotDeployed => None,
        Deployment::Deployed(c) => Some(configuration(c)),
        Deployment::Dangling(target) => Some(ConfigurationView {
            name: target.clone(),
            bootloader: None,
            dangling: true,
        }),
    }
}

/// A power state on the wire.
pub fn power_state(state: PowerState) -> WirePower {
    match state {
        PowerState::On => WirePower::On,
        PowerState::Off => WirePower::Off,
        PowerState::Unknown => WirePower::Unknown,
    }
}

/// A host as `GET /v1/hosts` shows it, with what power management reported and its last
/// boot over HTTP (the newest `boot` event).
pub fn host(state: &HostState<'_>, report: PowerReport, last_boot: Option<Event>) -> HostView {
    let host = state.host;
    let address = report.bmc_address;
    let (mut ipmi, mut management, mut redfish) = (None, None, None);
    match host.bmc.as_deref() {
        Some(Bmc::Ipmi(i)) => {
            ipmi = Some(IpmiView {
                mac_address: i.address.mac_address,
                hostname: address.or_else(|| i.address.hostname.clone()),
                username: i.username.clone(),
                interface: i.interface.clone(),
                subnet: i.address.subnet.clone(),
            })
        }
        Some(Bmc::Adapter(m)) => {
            management = Some(ManagementView {
                mac_address: m.address.mac_address,
                ip_address: address.or_else(|| m.address.hostname.clone()),
                adapter: m.adapter.clone(),
                subnet: m.address.subnet.clone(),
            })
        }
        Some(Bmc::Redfish(r)) => {
            redfish = Some(RedfishView {
                mac_address: r.address.mac_address,
                address: address.or_else(|| r.address.hostname.clone()),
                username: r.username.clone(),
                system: r.system.clone(),
                subnet: r.address.subnet.clone(),
            })
        }
        None => {}
    }
    HostView {
        name: host.name.to_string(),
        mac_addresses: host.mac_addresses.clone(),
        configuration: deployment(&state.deployment),
        power_state: report.state.map(power_state),
        ipmi,
        management,
        redfish,
        last_boot: last_boot.map(|event| {
            let view = event.view();
            LastBootView {
                time: view.time,
                configuration: view.to,
                bootloader: view.detail,
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxe_pilot_core::MacEntryPattern;

    #[test]
    fn a_bootloader_view_shows_where_its_entries_live_only_when_it_has_some() {
        let mut grub = Bootloader {
            name: "grub".into(),
            file: "grubnetx64.efi.signed".into(),
            config_path: "grub/grub.cfg".into(),
            mac_entry: None,
            http: None,
        };
        let json = serde_json::to_string(&bootloader(&grub)).unwrap();
        assert!(!json.contains("mac_entry"), "absent when none: {json}");
        grub.mac_entry = Some(MacEntryPattern::parse("grub/grub.cfg-01-{mac}").unwrap());
        assert!(serde_json::to_string(&bootloader(&grub))
            .unwrap()
            .contains(r#""mac_entry":"grub/grub.cfg-01-{mac}""#));
    }
}
