//! The ASCII tables, byte for byte as the original PXE Pilot prints them.
//!
//! The original draws with Go's tablewriter: `+---+` borders, one line under the header and
//! none between rows, upper-case headers centred (an odd space goes to the right), cells
//! left-aligned with one space of padding. A table without rows still ends with its bottom
//! line under the header's. The columns are the original's; every function here takes the
//! API types and returns the text, so that each shape is tested without a server.

use pxe_pilot_core::api::{
    BootloaderView, ConfigurationView, DeployResponse, EventView, HostView, NetbootView,
    PowerState, Rebooted, UnknownMachineView,
};
use tabled::builder::Builder;
use tabled::settings::object::Rows;
use tabled::settings::style::HorizontalLine;
use tabled::settings::{Alignment, Style};

use pxe_pilot_core::PowerAction;

/// `bootloader list`: NAME, FILE, CONFIG PATH, as the original; MAC ENTRY (where the
/// bootloader reads its own per-MAC entries) is added only when a bootloader has one, so the
/// original's configurations print the original's table.
pub fn bootloaders(list: &[BootloaderView]) -> String {
    // MAC ENTRY and HTTP only when a bootloader has one: the original's table otherwise.
    let with_entries = list.iter().any(|b| b.mac_entry.is_some());
    let with_http = list.iter().any(|b| b.http.is_some());
    let mut headers = vec!["NAME", "FILE", "CONFIG PATH"];
    headers.extend(with_entries.then_some("MAC ENTRY"));
    headers.extend(with_http.then_some("HTTP"));
    render(
        &headers,
        list.iter().map(|b| {
            let mut row = vec![b.name.clone(), b.file.clone(), b.config_path.clone()];
            if with_entries {
                row.push(b.mac_entry.clone().unwrap_or_default());
            }
            if with_http {
                row.push(b.http.clone().unwrap_or_default());
            }
            row
        }),
    )
}

/// `config list`: NAME, BOOTLOADER (empty in a flat catalogue).
pub fn configurations(list: &[ConfigurationView]) -> String {
    render(
        &["NAME", "BOOTLOADER"],
        list.iter().map(|c| {
            vec![
                c.name.clone(),
                c.bootloader
                    .as_ref()
                    .map(|b| b.name.clone())
                    .unwrap_or_default(),
            ]
        }),
    )
}

/// `host list`: NAME, CONFIGURATION, MAC (a host's MACs side by side, ` | ` between them),
/// MGMT MAC, MGMT IP (from `ipmi`, or `management`), POWER STATE (empty when the host has
/// no power management). A deployment that leads to no configuration of the catalogue shows
/// its link target followed by `(dangling)`.
pub fn hosts(list: &[HostView]) -> String {
    // LAST BOOT only when the server has seen a boot over HTTP: the original's table otherwise.
    let last_boot = list.iter().any(|h| h.last_boot.is_some());
    let mut headers = vec![
        "NAME",
        "CONFIGURATION",
        "MAC",
        "MGMT MAC",
        "MGMT IP",
        "POWER STATE",
    ];
    headers.extend(last_boot.then_some("LAST BOOT"));
    render(
        &headers,
        list.iter().map(|h| {
            let configuration = match &h.configuration {
                None => String::new(),
                Some(c) if c.dangling => format!("{} (dangling)", c.name),
                Some(c) => c.name.clone(),
            };
            let macs = h
                .mac_addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" | ");
            let (mgmt_mac, mgmt_ip) = match (&h.management, &h.ipmi, &h.redfish) {
                (Some(m), _, _) => (m.mac_address, m.ip_address.clone()),
                (None, Some(i), _) => (i.mac_address, i.hostname.clone()),
                (None, None, Some(r)) => (r.mac_address, r.address.clone()),
                (None, None, None) => (None, None),
            };
            let mut row = vec![
                h.name.clone(),
                configuration,
                macs,
                mgmt_mac.map(|m| m.to_string()).unwrap_or_default(),
                mgmt_ip.unwrap_or_default(),
                h.power_state
                    .map(power_state)
                    .unwrap_or_default()
                    .to_string(),
            ];
            if last_boot {
                row.push(match &h.last_boot {
                    Some(b) => format!(
                        "{} {}",
                        b.time,
                        b.configuration.as_deref().unwrap_or("(next boot device)")
                    ),
                    None => String::new(),
                });
            }
            row
        }),
    )
}

/// `host events NAME`: ID, TIME, KIND, CHANGE (from -> to), WHO, PEER, RESULT, DETAIL, and
/// SITE when the events come from more than one site (a fleet sharing one store).
pub fn events(list: &[EventView]) -> String {
    let first_site = list.first().and_then(|e| e.site.as_ref());
    let sites = list.iter().any(|e| e.site.as_ref() != first_site);
    let mut header = vec![
        "ID", "TIME", "KIND", "CHANGE", "WHO", "PEER", "RESULT", "DETAIL",
    ];
    if sites {
        header.push("SITE");
    }
    render(
        &header,
        list.iter().map(|e| {
            let change = match (&e.from, &e.to) {
                (Some(from), Some(to)) => format!("{from} -> {to}"),
                (Some(from), None) => format!("{from} -> -"),
                (None, Some(to)) => to.clone(),
                (None, None) => String::new(),
            };
            let mut row = vec![
                e.id.to_string(),
                e.time.clone(),
                e.kind.clone(),
                change,
                e.who.clone(),
                e.peer.clone().unwrap_or_default(),
                e.result.clone(),
                e.detail.clone().unwrap_or_default(),
            ];
            if sites {
                row.push(e.site.clone().unwrap_or_default());
            }
            row
        }),
    )
}

/// `host unknown`: MAC ADDRESS, FIRST SEEN, LAST SEEN, FETCHES, PEER, VIA.
pub fn unknown_machines(list: &[UnknownMachineView]) -> String {
    render(
        &[
            "MAC ADDRESS",
            "FIRST SEEN",
            "LAST SEEN",
            "FETCHES",
            "PEER",
            "VIA",
        ],
        list.iter().map(|m| {
            vec![
                m.mac_address.to_string(),
                m.first_seen.clone(),
                m.last_seen.clone(),
                m.count.to_string(),
                m.peer.clone().unwrap_or_default(),
                m.via.clone(),
            ]
        }),
    )
}

/// `config deploy`: NAME, CONFIGURATION, REBOOTED (`YES`, `NO`, `ERROR`).
pub fn deployed(answer: &DeployResponse) -> String {
    // NETBOOT only when a host's next boot was made (or failed to be made) a network boot,
    // ERROR only when a host was not switched: the original's table otherwise.
    let netboot = answer
        .hosts
        .iter()
        .any(|h| h.netboot.is_some_and(|n| n != NetbootView::Skipped));
    let error = answer.hosts.iter().any(|h| h.error.is_some());
    let mut headers = vec!["NAME", "CONFIGURATION", "REBOOTED"];
    headers.extend(netboot.then_some("NETBOOT"));
    headers.extend(error.then_some("ERROR"));
    render(
        &headers,
        answer.hosts.iter().map(|h| {
            let mut row = vec![
                h.name.clone(),
                h.configuration.clone(),
                rebooted(h.rebooted).to_string(),
            ];
            if netboot {
                row.push(
                    match h.netboot {
                        Some(NetbootView::Once) => "ONCE",
                        Some(NetbootView::Error) => "ERROR",
                        Some(NetbootView::Skipped) => "SKIPPED",
                        None => "",
                    }
                    .to_string(),
                );
            }
            if error {
                row.push(h.error.clone().unwrap_or_default());
            }
            row
        }),
    )
}

/// `host on|off|reboot NAME`: NAME and ON, OFF or REBOOT, with `OK`.
pub fn powered(name: &str, action: PowerAction) -> String {
    let header = match action {
        PowerAction::On => "ON",
        PowerAction::Off => "OFF",
        PowerAction::Reboot => "REBOOT",
    };
    render(
        &["NAME", header],
        [vec![name.to_string(), "OK".to_string()]],
    )
}

/// `host refresh`: REFRESH, `OK`.
pub fn refreshed() -> String {
    render(&["REFRESH"], [vec!["OK".to_string()]])
}

/// The original's spelling of a power state.
pub fn power_state(state: PowerState) -> &'static str {
    match state {
        PowerState::On => "On",
        PowerState::Off => "Off",
        PowerState::Unknown => "Unknown",
    }
}

/// The original's spelling of a reboot outcome.
pub fn rebooted(outcome: Rebooted) -> &'static str {
    match outcome {
        Rebooted::Yes => "YES",
        Rebooted::No => "NO",
        Rebooted::Error => "ERROR",
    }
}

/// Draws a table in the original's style; the text ends with a newline.
fn render<R>(headers: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = Vec<String>>,
{
    let mut builder = Builder::default();
    builder.push_record(headers.iter().copied());
    let mut count = 0;
    for row in rows {
        builder.push_record(row);
        count += 1;
    }
    let mut table = builder.build();
    table.with(
        Style::ascii()
            .remove_horizontal()
            .horizontals([(1, HorizontalLine::full('-', '+', '+', '+'))]),
    );
    table.with(Alignment::left());
    table.modify(Rows::first(), Alignment::center());
    let mut text = table.to_string();
    text.push('\n');
    if count == 0 {
        // The original prints the line under the header, then the bottom line.
        if let Some(line) = text.lines().next().map(str::to_string) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxe_pilot_core::api::{DeployedHost, IpmiView, ManagementView};
    use pxe_pilot_core::MacAddress;

    fn mac(s: &str) -> MacAddress {
        MacAddress::parse(s).unwrap()
    }

    fn config(name: &str, bootloader: Option<&str>) -> ConfigurationView {
        ConfigurationView {
            name: name.into(),
            bootloader: bootloader.map(|b| BootloaderView {
                name: b.into(),
                file: String::new(),
                config_path: String::new(),
                mac_entry: None,
                http: None,
            }),
            dangling: false,
        }
    }

    fn ipmi_host(name: &str, n: u8, ip: Option<&str>, power: PowerState) -> HostView {
        HostView {
            name: name.into(),
            mac_addresses: vec![mac(&format!("00:00:00:00:0b:0{n}"))],
            configuration: None,
            power_state: Some(power),
            ipmi: Some(IpmiView {
                mac_address: Some(mac(&format!("00:00:00:00:0a:0{n}"))),
                hostname: ip.map(String::from),
                username: "user".into(),
                interface: "lanplus".into(),
                subnet: Some("10.69.70.0/24".into()),
            }),
            management: None,
            redfish: None,
            last_boot: None,
        }
    }

    /// The hosts of the original's test configuration (test/run.bats).
    fn original_hosts(refreshed: bool) -> Vec<HostView> {
        let ip = |s| refreshed.then_some(s);
        let power = if refreshed {
            PowerState::Off
        } else {
            PowerState::Unknown
        };
        let mut h2 = ipmi_host("h2", 2, None, power);
        h2.ipmi = None;
        h2.management = Some(ManagementView {
            mac_address: Some(mac("00:00:00:00:0a:02")),
            ip_address: ip("10.69.70.12").map(String::from),
            adapter: "ipmitool-with-variables".into(),
            subnet: Some("10.69.70.0/24".into()),
        });
        let h3 = HostView {
            name: "h3".into(),
            mac_addresses: vec![
                mac("00:00:00:00:0b:03"),
                mac("00:00:00:00:0c:03"),
                mac("00:00:00:00:0d:03"),
            ],
            configuration: None,
            power_state: None,
            ipmi: None,
            management: None,
            redfish: None,
            last_boot: None,
        };
        vec![
            ipmi_host("h1", 1, ip("10.69.70.11"), power),
            h2,
            h3,
            ipmi_host("h4", 4, ip("10.69.70.14"), power),
        ]
    }

    #[test]
    fn host_list_before_refresh_is_the_originals() {
        assert_eq!(
            hosts(&original_hosts(false)),
            "\
+------+---------------+-----------------------------------------------------------+-------------------+---------+-------------+
| NAME | CONFIGURATION |                            MAC                            |     MGMT MAC      | MGMT IP | POWER STATE |
+------+---------------+-----------------------------------------------------------+-------------------+---------+-------------+
| h1   |               | 00:00:00:00:0b:01                                         | 00:00:00:00:0a:01 |         | Unknown     |
| h2   |               | 00:00:00:00:0b:02                                         | 00:00:00:00:0a:02 |         | Unknown     |
| h3   |               | 00:00:00:00:0b:03 | 00:00:00:00:0c:03 | 00:00:00:00:0d:03 |                   |         |             |
| h4   |               | 00:00:00:00:0b:04                                         | 00:00:00:00:0a:04 |         | Unknown     |
+------+---------------+-----------------------------------------------------------+-------------------+---------+-------------+
"
        );
    }

    #[test]
    fn host_list_after_refresh_and_deploy_is_the_originals() {
        let mut list = original_hosts(true);
        list[0].configuration = Some(config("sheep", Some("syslinux")));
        list[2].configuration = Some(config("local", Some("pxelinux")));
        assert_eq!(
            hosts(&list),
            "\
+------+---------------+-----------------------------------------------------------+-------------------+-------------+-------------+
| NAME | CONFIGURATION |                            MAC                            |     MGMT MAC      |   MGMT IP   | POWER STATE |
+------+---------------+-----------------------------------------------------------+-------------------+-------------+-------------+
| h1   | sheep         | 00:00:00:00:0b:01                                         | 00:00:00:00:0a:01 | 10.69.70.11 | Off         |
| h2   |               | 00:00:00:00:0b:02                                         | 00:00:00:00:0a:02 | 10.69.70.12 | Off         |
| h3   | local         | 00:00:00:00:0b:03 | 00:00:00:00:0c:03 | 00:00:00:00:0d:03 |                   |             |             |
| h4   |               | 00:00:00:00:0b:04                                         | 00:00:00:00:0a:04 | 10.69.70.14 | Off         |
+------+---------------+-----------------------------------------------------------+-------------------+-------------+-------------+
"
        );
    }

    #[test]
    fn a_dangling_deployment_says_so() {
        let mut list = original_hosts(true);
        list.truncate(1);
        list[0].configuration = Some(ConfigurationView {
            name: "conf/gone".into(),
            bootloader: None,
            dangling: true,
        });
        list[0].power_state = Some(PowerState::On);
        assert_eq!(
            hosts(&list),
            "\
+------+----------------------+-------------------+-------------------+-------------+-------------+
| NAME |    CONFIGURATION     |        MAC        |     MGMT MAC      |   MGMT IP   | POWER STATE |
+------+----------------------+-------------------+-------------------+-------------+-------------+
| h1   | conf/gone (dangling) | 00:00:00:00:0b:01 | 00:00:00:00:0a:01 | 10.69.70.11 | On          |
+------+----------------------+-------------------+-------------------+-------------+-------------+
"
        );
    }

    #[test]
    fn events_name_their_site_only_when_they_come_from_several() {
        let event = |id: u64, site: &str| EventView {
            id,
            time: "2026-12-06T12:00:00.000Z".into(),
            host: Some("h1".into()),
            mac: None,
            kind: "deploy".into(),
            from: None,
            to: Some("local".into()),
            who: "token".into(),
            peer: None,
            result: "ok".into(),
            detail: None,
            counted: None,
            site: Some(site.into()),
        };
        let one = events(&[event(1, "rack-a"), event(2, "rack-a")]);
        assert!(!one.contains("SITE"), "{one}");
        let two = events(&[event(1, "rack-a"), event(2, "rack-b")]);
        assert!(two.lines().nth(1).unwrap().contains("SITE"), "{two}");
        assert!(two.contains("rack-b"), "{two}");
    }

    #[test]
    fn bootloader_list_is_the_originals() {
        let list = [
            ("pxelinux", "pxelinux.0", ""),
            ("syslinux", "syslinux.efi", ""),
            ("grub", "grubnetx64.efi.signed", "grub/grub.cfg"),
        ]
        .map(|(name, file, path)| BootloaderView {
            name: name.into(),
            file: file.into(),
            config_path: path.into(),
            mac_entry: None,
            http: None,
        });
        assert_eq!(
            bootloaders(&list),
            "\
+----------+-----------------------+---------------+
|   NAME   |         FILE          |  CONFIG PATH  |
+----------+-----------------------+---------------+
| pxelinux | pxelinux.0            |               |
| syslinux | syslinux.efi          |               |
| grub     | grubnetx64.efi.signed | grub/grub.cfg |
+----------+-----------------------+---------------+
"
        );
    }

    #[test]
    fn bootloader_list_shows_mac_entries_when_a_bootloader_has_some() {
        let list = [
            BootloaderView {
                name: "pxelinux".into(),
                file: "pxelinux.0".into(),
                config_path: String::new(),
                mac_entry: None,
                http: None,
            },
            BootloaderView {
                name: "grub".into(),
                file: "grubnetx64.efi.signed".into(),
                config_path: "grub/grub.cfg".into(),
                mac_entry: Some("grub/grub.cfg-01-{mac}".into()),
                http: None,
            },
        ];
        assert_eq!(
            bootloaders(&list),
            "\
+----------+-----------------------+---------------+------------------------+
|   NAME   |         FILE          |  CONFIG PATH  |       MAC ENTRY        |
+----------+-----------------------+---------------+------------------------+
| pxelinux | pxelinux.0            |               |                        |
| grub     | grubnetx64.efi.signed | grub/grub.cfg | grub/grub.cfg-01-{mac} |
+----------+-----------------------+---------------+------------------------+
"
        );
    }

    #[test]
    fn config_list_is_the_originals() {
        let list = [
            ("local", "pxelinux"),
            ("sheep", "syslinux"),
            ("a", "grub"),
            ("b", "grub"),
            ("c", "grub"),
            ("grml", "grub"),
            ("z", "grub"),
        ]
        .map(|(name, b)| config(name, Some(b)));
        assert_eq!(
            configurations(&list),
            "\
+-------+------------+
| NAME  | BOOTLOADER |
+-------+------------+
| local | pxelinux   |
| sheep | syslinux   |
| a     | grub       |
| b     | grub       |
| c     | grub       |
| grml  | grub       |
| z     | grub       |
+-------+------------+
"
        );
    }

    #[test]
    fn a_flat_catalogue_has_no_bootloader() {
        assert_eq!(
            configurations(&[config("local", None), config("ubuntu-16.04", None)]),
            "\
+--------------+------------+
|     NAME     | BOOTLOADER |
+--------------+------------+
| local        |            |
| ubuntu-16.04 |            |
+--------------+------------+
"
        );
    }

    #[test]
    fn deploy_is_the_originals() {
        let answer = |rebooted| DeployResponse {
            hosts: vec![DeployedHost {
                name: "h1".into(),
                configuration: "sheep".into(),
                rebooted,
                netboot: None,
                error: None,
            }],
            message: None,
        };
        assert_eq!(
            deployed(&answer(Rebooted::No)),
            "\
+------+---------------+----------+
| NAME | CONFIGURATION | REBOOTED |
+------+---------------+----------+
| h1   | sheep         | NO       |
+------+---------------+----------+
"
        );
        assert!(deployed(&answer(Rebooted::Yes)).contains("| h1   | sheep         | YES      |\n"));
        assert!(
            deployed(&answer(Rebooted::Error)).contains("| h1   | sheep         | ERROR    |\n")
        );
    }

    #[test]
    fn power_and_refresh_are_the_originals() {
        assert_eq!(
            powered("h4", PowerAction::On),
            "+------+----+\n| NAME | ON |\n+------+----+\n| h4   | OK |\n+------+----+\n"
        );
        assert_eq!(
            powered("h4", PowerAction::Off),
            "+------+-----+\n| NAME | OFF |\n+------+-----+\n| h4   | OK  |\n+------+-----+\n"
        );
        assert_eq!(
            powered("h4", PowerAction::Reboot),
            "+------+--------+\n| NAME | REBOOT |\n+------+--------+\n| h4   | OK     |\n+------+--------+\n"
        );
        assert_eq!(
            refreshed(),
            "+---------+\n| REFRESH |\n+---------+\n| OK      |\n+---------+\n"
        );
    }

    #[test]
    fn an_empty_list_ends_like_the_originals() {
        assert_eq!(
            configurations(&[]),
            "\
+------+------------+
| NAME | BOOTLOADER |
+------+------------+
+------+------------+
"
        );
    }
}
