//! Which boot fetches count as a host's boot (DESIGN §7). Boot routes are open (firmware
//! carries no token) and MAC addresses are public, so a fetch proves little: a fetch counts
//! (sets the host's `lastBoot`, consumes its `once`) only when its peer may be the host. The
//! kernel's neighbour table decides: a peer it gives as one of the host's MACs counts; a peer
//! it gives as another machine never counts; a peer it does not know (NAT, a routed host,
//! loopback) counts under `server.boot_trust: open` (the default) and not under `neighbour`.

use std::net::IpAddr;

use crate::arp::ArpTable;
use crate::inventory::Host;
use crate::settings::BootTrust;

/// Whether a boot fetch counts as its host's boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// It counts.
    Counted,
    /// It is answered but does not count; the text says why (for the event and the log).
    NotCounted(String),
}

impl Trust {
    /// True when it counts.
    pub fn counts(&self) -> bool {
        matches!(self, Trust::Counted)
    }
}

/// Whether a fetch from `peer` for `host` counts, by the neighbour table `table` and the
/// rule for peers it does not know.
pub fn judge(table: &ArpTable, peer: Option<IpAddr>, host: &Host, rule: BootTrust) -> Trust {
    let Some(peer) = peer else {
        return unknown_peer(rule, "the fetch's address is unknown".into());
    };
    let macs = table.macs_at(peer);
    if macs.is_empty() {
        return unknown_peer(rule, format!("the neighbour table does not know {peer}"));
    }
    match table.mac_at(peer) {
        Some(mac) if host.mac_addresses.contains(&mac) => Trust::Counted,
        Some(mac) => Trust::NotCounted(format!(
            "the neighbour table gives {peer} as {mac}, another machine than {}",
            host.name
        )),
        None => Trust::NotCounted(format!(
            "the neighbour table gives {peer} with several MAC addresses"
        )),
    }
}

fn unknown_peer(rule: BootTrust, why: String) -> Trust {
    match rule {
        BootTrust::Open => Trust::Counted,
        BootTrust::Neighbour => Trust::NotCounted(format!("{why} (server.boot_trust: neighbour)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::MacAddress;
    use crate::names::HostName;

    fn host() -> Host {
        Host {
            name: HostName::parse("h1").unwrap(),
            mac_addresses: vec![
                MacAddress::parse("52:54:00:00:00:01").unwrap(),
                MacAddress::parse("52:54:00:00:00:02").unwrap(),
            ],
            bmc: None,
            netboot_once: true,
            boot_mode: None,
            vars: Vec::new(),
        }
    }

    #[test]
    fn the_host_counts_another_machine_never_an_unknown_peer_by_the_rule() {
        let table = ArpTable::parse(
            "header\n\
             10.0.0.1 0x1 0x2 52:54:00:00:00:02 * eth0\n\
             10.0.0.9 0x1 0x2 52:54:00:00:00:09 * eth0\n",
        );
        let ip = |s: &str| s.parse().ok();
        for rule in [BootTrust::Open, BootTrust::Neighbour] {
            assert_eq!(judge(&table, ip("10.0.0.1"), &host(), rule), Trust::Counted);
            let other = judge(&table, ip("10.0.0.9"), &host(), rule);
            assert!(
                matches!(&other, Trust::NotCounted(why) if why.contains("52:54:00:00:00:09")),
                "{other:?}"
            );
        }
        assert!(judge(&table, ip("127.0.0.1"), &host(), BootTrust::Open).counts());
        assert!(!judge(&table, ip("127.0.0.1"), &host(), BootTrust::Neighbour).counts());
        assert!(judge(&table, None, &host(), BootTrust::Open).counts());
    }
}
