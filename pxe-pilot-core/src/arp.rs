//! The ARP table (the kernel's IPv4 neighbour table): how a BMC's MAC address becomes an IP
//! address, and which MAC address a request's peer address belongs to (self-service).
//!
//! Read from a file in the `/proc/net/arp` format (`arp_table` in the settings, by default
//! `/proc/self/net/arp`: the same table as `/proc/net/arp`, and still readable under
//! systemd's `ProcSubset=pid`, which hides `/proc/net`), never by running `arp`. The file is
//! read on every look-up, so entries learnt by a refresh are seen. A table that cannot be
//! read is empty for the look-ups; [`ArpTable::check`] says why, for a warning at start.
//!
//! Decisions (docs/operations.md, "Self-service"): an entry counts whatever its state (the
//! kernel lists REACHABLE, STALE and DELAY entries alike in this file, flags `0x2`: a STALE
//! entry is the last MAC the segment answered with, and an attacker on the segment can
//! answer ARP anyway); the `Device` column is not compared with the interface a request came
//! in on, but an address the table gives with two different MACs (on two interfaces, or a
//! conflict) is ambiguous and belongs to no one ([`ArpTable::mac_at`]).

use std::net::IpAddr;
use std::path::Path;

use crate::mac::MacAddress;

/// The complete entries of an ARP table: (IP address, MAC address).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArpTable {
    entries: Vec<(IpAddr, MacAddress)>,
}

impl ArpTable {
    /// Whether the table at `path` can be read; the error says what fails and what does not
    /// work without it.
    pub fn check(path: &Path) -> Result<(), String> {
        std::fs::read_to_string(path).map(drop).map_err(|error| {
            format!(
                "the neighbour table {} cannot be read ({error}): self-service callbacks without the token will be refused and BMCs given by `mac_address` will have no address; set `arp_table` to a readable file in the /proc/net/arp format (/proc/self/net/arp is the kernel's)",
                path.display()
            )
        })
    }

    /// Reads the table at `path`; a missing or unreadable file is an empty table.
    pub fn read(path: &Path) -> Self {
        match std::fs::read_to_string(path) {
            Ok(text) => ArpTable::parse(&text),
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "ARP table unreadable");
                ArpTable::default()
            }
        }
    }

    /// Parses `/proc/net/arp` text: a header line, then
    /// `IP address  HW type  Flags  HW address  Mask  Device` lines. Incomplete entries
    /// (flags `0x0`, or an all-zero MAC) are skipped; malformed lines too.
    pub fn parse(text: &str) -> Self {
        let mut entries = Vec::new();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [ip, _hw_type, flags, mac, ..] = fields.as_slice() else {
                continue;
            };
            let (Ok(ip), Ok(mac)) = (ip.parse::<IpAddr>(), MacAddress::parse(mac)) else {
                continue;
            };
            if *flags == "0x0" || mac == MacAddress::new([0; 6]) {
                continue;
            }
            entries.push((ip, mac));
        }
        ArpTable { entries }
    }

    /// The IP address of `mac`, if the table knows it (the last entry when there are several).
    pub fn ip_of(&self, mac: &MacAddress) -> Option<IpAddr> {
        self.entries
            .iter()
            .rev()
            .find(|(_, m)| m == mac)
            .map(|(ip, _)| *ip)
    }

    /// The one MAC address the table gives for `ip`: `None` when it gives none, or two
    /// different ones (ambiguous: the address is no one's).
    pub fn mac_at(&self, ip: IpAddr) -> Option<MacAddress> {
        let macs = self.macs_at(ip);
        let first = *macs.first()?;
        macs.iter().all(|m| *m == first).then_some(first)
    }

    /// The MAC addresses the table gives for `ip` (one per interface that learnt it); an
    /// IPv4-mapped IPv6 address (`::ffff:10.0.0.5`) is read as its IPv4 address.
    pub fn macs_at(&self, ip: IpAddr) -> Vec<MacAddress> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.entries
            .iter()
            .filter(|(i, _)| *i == ip)
            .map(|(_, m)| *m)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_entries_are_read_and_others_skipped() {
        let text =
            "IP address       HW type     Flags       HW address            Mask     Device\n\
                    10.69.70.11      0x1         0x2         00:00:00:00:0a:01     *        eth0\n\
                    10.69.70.12      0x1         0x0         00:00:00:00:0a:02     *        eth0\n\
                    10.69.70.13      0x1         0x2         00:00:00:00:00:00     *        eth0\n\
                    garbage line\n";
        let table = ArpTable::parse(text);
        let mac = |s| MacAddress::parse(s).unwrap();
        assert_eq!(
            table.ip_of(&mac("00:00:00:00:0a:01")),
            Some("10.69.70.11".parse().unwrap())
        );
        assert_eq!(table.ip_of(&mac("00:00:00:00:0a:02")), None);
        assert_eq!(
            table.macs_at("::ffff:10.69.70.11".parse().unwrap()),
            [mac("00:00:00:00:0a:01")]
        );
        assert!(table.macs_at("10.69.70.12".parse().unwrap()).is_empty());
        assert_eq!(
            ArpTable::read(Path::new("/nonexistent/arp")),
            ArpTable::default()
        );
        let error = ArpTable::check(Path::new("/nonexistent/arp")).unwrap_err();
        assert!(error.contains("self-service callbacks"), "{error}");
    }

    #[test]
    fn an_address_with_two_macs_is_no_one_s() {
        let text =
            "IP address       HW type     Flags       HW address            Mask     Device\n\
                    10.0.0.5         0x1         0x2         52:54:00:00:00:01     *        eth0\n\
                    10.0.0.5         0x1         0x2         52:54:00:00:00:09     *        eth1\n\
                    10.0.0.6         0x1         0x2         52:54:00:00:00:02     *        eth0\n\
                    10.0.0.6         0x1         0x2         52:54:00:00:00:02     *        eth1\n";
        let table = ArpTable::parse(text);
        assert_eq!(table.mac_at("10.0.0.5".parse().unwrap()), None);
        assert_eq!(
            table.mac_at("10.0.0.6".parse().unwrap()),
            MacAddress::parse("52:54:00:00:00:02").ok()
        );
        assert_eq!(table.mac_at("10.0.0.7".parse().unwrap()), None);
    }
}
