//! The ARP table: how a BMC's MAC address becomes an IP address.
//!
//! Read from a file in the `/proc/net/arp` format (`arp_table` in the settings), never by
//! running `arp`. The file is read on every look-up, so entries learnt by a refresh are seen.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use crate::mac::MacAddress;

/// The MAC-to-IP entries of an ARP table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArpTable {
    entries: HashMap<MacAddress, IpAddr>,
}

impl ArpTable {
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
        let mut entries = HashMap::new();
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
            entries.insert(mac, ip);
        }
        ArpTable { entries }
    }

    /// The IP address of `mac`, if the table knows it.
    pub fn ip_of(&self, mac: &MacAddress) -> Option<IpAddr> {
        self.entries.get(mac).copied()
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
            ArpTable::read(Path::new("/nonexistent/arp")),
            ArpTable::default()
        );
    }
}
