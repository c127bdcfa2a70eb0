//! The edge between the core's domain types and the HTTP API's JSON
//! ([`pxe_pilot_core::api`]): each view is built here, from what the core answered, and
//! nothing else crosses the wire (no password, no variable).

use pxe_pilot_core::api::{
    BootloaderView, ConfigurationView, DeployResponse, DeployedHost, EtcdStatusView, EventView,
    HostView, IpmiView, LastBootView, ManagementView, MirrorView, NetbootView,
    PowerState as WirePower, Rebooted, RedfishView, ServerView, StatusView, UnknownMachineView,
};
use pxe_pilot_core::format_time;
use pxe_pilot_core::UnknownMachine;
use pxe_pilot_core::{
    Bmc, Bootloader, Configuration, DeployReport, Deployment, Event, EventKind, HostState,
    NetbootResult, PowerReport, PowerState,
};
use pxe_pilot_core::{ServerSeen, StoreStatus};

/// An event as the event routes show it.
pub fn event(event: &Event) -> EventView {
    EventView {
        id: event.id,
        time: format_time(event.time),
        host: event.host.as_ref().map(|host| host.as_str().to_owned()),
        mac: event.mac,
        kind: event.kind.as_str().to_owned(),
        from: event.from.clone(),
        to: event.to.clone(),
        who: event.who.as_str().to_owned(),
        peer: event.peer.clone(),
        result: event.result.to_string(),
        detail: event.detail.clone(),
        counted: (event.kind == EventKind::Boot && !event.counted).then_some(false),
        site: event.site.clone(),
    }
}

/// `GET /v1/status`: the store's status, for the server of `site`.
pub fn status(status: &StoreStatus, site: &str) -> StatusView {
    let server = |seen: &ServerSeen| ServerView {
        site: seen.site.clone(),
        machine: seen.machine.clone(),
        version: seen.version.clone(),
        last_seen: format_time(seen.last_seen),
    };
    let servers = match &status.shared {
        Some(shared) => shared.servers.iter().map(server).collect(),
        None => vec![ServerView {
            site: site.to_owned(),
            machine: pxe_pilot_core::machine_name(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            last_seen: format_time(std::time::SystemTime::now()),
        }],
    };
    StatusView {
        store: status.kind.to_owned(),
        site: site.to_owned(),
        etcd: status.shared.as_ref().map(|shared| EtcdStatusView {
            reachable: shared.reachable,
            revision: shared.revision,
        }),
        mirror: status.shared.as_ref().map(|shared| MirrorView {
            revision: shared.mirror_revision,
            lag_seconds: shared.lag_seconds,
            buffered_events: shared.buffered_events,
            dropped_events: shared.dropped_events,
        }),
        stale: status
            .shared
            .as_ref()
            .is_some_and(|shared| !shared.reachable || shared.lag_seconds > 0.0),
        servers,
    }
}

/// An unknown machine as `GET /v1/unknown-machines` shows it.
pub fn unknown_machine(machine: &UnknownMachine) -> UnknownMachineView {
    UnknownMachineView {
        mac_address: machine.mac,
        first_seen: format_time(machine.first_seen),
        last_seen: format_time(machine.last_seen),
        count: machine.count,
        peer: machine.peer.map(|ip| ip.to_string()),
        via: machine.via.clone(),
    }
}

/// A deploy's answer, host by host.
pub fn deployed(report: &DeployReport) -> DeployResponse {
    let configuration = report.configuration.to_string();
    let hosts = report
        .hosts
        .iter()
        .map(|h| DeployedHost {
            name: h.name.to_string(),
            configuration: configuration.clone(),
            rebooted: match &h.reboot {
                None => Rebooted::No,
                Some(r) if r.rebooted => Rebooted::Yes,
                Some(_) => Rebooted::Error,
            },
            netboot: h.reboot.as_ref().map(|r| match r.netboot {
                NetbootResult::Once => NetbootView::Once,
                NetbootResult::Skipped => NetbootView::Skipped,
                NetbootResult::Failed => NetbootView::Error,
            }),
            error: h.error.clone(),
        })
        .collect();
    DeployResponse {
        hosts,
        message: report.failure.clone(),
    }
}

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
        last_boot: last_boot.map(|event| LastBootView {
            time: format_time(event.time),
            configuration: event.to,
            bootloader: event.detail,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use pxe_pilot_core::{MacAddress, MacEntryPattern, Outcome, Who};

    #[test]
    fn an_event_view_is_the_api_s_json() {
        let event = Event {
            id: 3,
            time: UNIX_EPOCH + Duration::from_millis(1_796_555_729_123),
            host: None,
            mac: Some(MacAddress::parse("52-54-00-00-00-02").unwrap()),
            kind: EventKind::Power,
            from: None,
            to: None,
            who: Who::Token,
            peer: Some("192.0.2.7".into()),
            result: Outcome::Error("BMC unreachable".into()),
            detail: Some("reboot".into()),
            counted: true,
            site: Some("rack-a".into()),
        };
        assert_eq!(
            serde_json::to_value(super::event(&event)).unwrap(),
            serde_json::json!({
                "id": 3,
                "time": "2026-12-06T11:15:29.123Z",
                "host": null,
                "mac": "52:54:00:00:00:02",
                "kind": "power",
                "who": "token",
                "peer": "192.0.2.7",
                "result": "error: BMC unreachable",
                "detail": "reboot",
                "site": "rack-a",
            })
        );
        // Times RFC 3339 cannot write are shown at its bounds, never a panic.
        let early = Event {
            time: UNIX_EPOCH - Duration::from_secs(5),
            ..event.clone()
        };
        assert_eq!(super::event(&early).time, "1970-01-01T00:00:00.000Z");
        let late = Event {
            time: UNIX_EPOCH + Duration::from_secs(400_000_000_000),
            kind: EventKind::Boot,
            counted: false,
            ..event
        };
        let view = super::event(&late);
        assert_eq!(view.time, "9999-12-31T23:59:59.999Z");
        assert_eq!(view.counted, Some(false));
    }

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
