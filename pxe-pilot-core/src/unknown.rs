//! Unknown machines: MAC addresses that fetched a boot configuration but belong to no host of
//! the inventory. They are not events (anyone can send such fetches, and a flood of them must
//! not push the history of the hosts out): each MAC is counted, with when and from where it
//! was last seen, in a list bounded to [`UnknownMachines::capacity`] MACs, the longest unseen
//! forgotten first. This is how an operator finds a machine missing from the inventory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::mac::MacAddress;

/// How many unknown MAC addresses are remembered when nothing else is said.
pub const DEFAULT_CAPACITY: usize = 1_000;

/// One machine seen booting that no host owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMachine {
    /// The MAC address it booted from.
    pub mac: MacAddress,
    /// When it was first seen (since the server started).
    pub first_seen: SystemTime,
    /// When it was last seen.
    pub last_seen: SystemTime,
    /// How many fetches it made.
    pub count: u64,
    /// The address its last fetch came from.
    pub peer: Option<IpAddr>,
    /// How it last fetched: the bootloader (HTTP) or `tftp`.
    pub via: String,
}

/// The unknown machines seen booting, bounded.
#[derive(Debug)]
pub struct UnknownMachines {
    capacity: usize,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    machines: HashMap<MacAddress, (u64, UnknownMachine)>,
    /// Increases at each sighting: the machines with the smallest are forgotten first.
    clock: u64,
}

impl UnknownMachines {
    /// An empty list that remembers at most `capacity` MACs (at least 1).
    pub fn new(capacity: usize) -> Self {
        UnknownMachines {
            capacity: capacity.max(1),
            seen: Mutex::new(Seen::default()),
        }
    }

    /// The most MAC addresses it remembers.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// `mac` fetched a boot configuration from `peer`, by `via` (at most 32 bytes kept).
    pub fn saw(&self, mac: MacAddress, peer: Option<IpAddr>, via: &str) {
        let now = SystemTime::now();
        let via = crate::text::for_log(via, 32);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.clock += 1;
        let clock = seen.clock;
        if let Some((last, machine)) = seen.machines.get_mut(&mac) {
            *last = clock;
            machine.last_seen = now;
            machine.count = machine.count.saturating_add(1);
            machine.peer = peer;
            machine.via = via;
            return;
        }
        if seen.machines.len() >= self.capacity {
            // Forget the tenth seen longest ago at once, so a flood of new MACs costs one
            // sort per tenth of the list, not one per fetch.
            let mut ages: Vec<u64> = seen.machines.values().map(|(at, _)| *at).collect();
            let forget = (self.capacity / 10).max(1);
            let (_, cut, _) = ages.select_nth_unstable(forget - 1);
            let cut = *cut;
            seen.machines.retain(|_, (at, _)| *at > cut);
        }
        seen.machines.insert(
            mac,
            (
                clock,
                UnknownMachine {
                    mac,
                    first_seen: now,
                    last_seen: now,
                    count: 1,
                    peer,
                    via,
                },
            ),
        );
    }

    /// The machines remembered, last seen first.
    pub fn list(&self) -> Vec<UnknownMachine> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let mut machines: Vec<(u64, UnknownMachine)> = seen.machines.values().cloned().collect();
        drop(seen);
        machines.sort_unstable_by_key(|m| std::cmp::Reverse(m.0));
        machines.into_iter().map(|(_, m)| m).collect()
    }
}

impl Default for UnknownMachines {
    fn default() -> Self {
        UnknownMachines::new(DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(n: u32) -> MacAddress {
        let b = n.to_be_bytes();
        MacAddress::new([0x52, 0x54, b[0], b[1], b[2], b[3]])
    }

    #[test]
    fn a_machine_is_counted_and_the_last_seen_come_first() {
        let list = UnknownMachines::new(10);
        let peer = "10.0.0.9".parse().ok();
        list.saw(mac(1), peer, "ipxe");
        list.saw(mac(2), None, "tftp");
        list.saw(mac(1), peer, "ipxe");
        let machines = list.list();
        assert_eq!(machines.len(), 2);
        assert_eq!(machines[0].mac, mac(1));
        assert_eq!(machines[0].count, 2);
        assert_eq!(machines[0].peer, peer);
        assert_eq!(machines[1].via, "tftp");
    }

    #[test]
    fn a_flood_of_new_macs_stays_bounded_and_keeps_the_recent() {
        let list = UnknownMachines::new(100);
        for n in 0..100_000 {
            list.saw(mac(n), None, "ipxe\r\n");
        }
        let machines = list.list();
        assert!(machines.len() <= 100);
        assert_eq!(machines[0].mac, mac(99_999));
        assert_eq!(machines[0].via, "ipxe\\r\\n");
    }
}
