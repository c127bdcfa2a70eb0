//! A boot fetch, as the service answers it (DESIGN §7): the host's configuration rendered for
//! it, or a hand-over to the next boot device; whether it counts as the host's boot (by the
//! neighbour table and `server.boot_trust`); the `once` fallback after a fetch that counts;
//! a MAC address no host has is an unknown machine, not an event.

use std::net::SocketAddr;

use crate::arp::ArpTable;
use crate::boot::trust::{self, Trust};
use crate::boot::{answer, BootAnswer};
use crate::events::{EventKind, NewEvent, Outcome, Who};
use crate::names::ConfigName;
use crate::{text, Host, MacAddress};

use super::{Service, ServiceError};

/// A boot fetch over HTTP.
#[derive(Debug, Clone, Copy)]
pub struct BootFetch<'a> {
    /// The bootloader asked for (a path segment: any text).
    pub bootloader: &'a str,
    /// The MAC address asked for, as sent (any spelling, or not a MAC address at all).
    pub mac: &'a str,
    /// How the host reached the server (`http://ADDRESS:PORT`), for the templates.
    pub server_url: &'a str,
    /// The peer address of the fetch.
    pub peer: Option<SocketAddr>,
}

impl Service {
    /// Answers a boot fetch: the script's bytes, or why there is none.
    pub fn boot_script(&self, fetch: &BootFetch<'_>) -> Result<Vec<u8>, ServiceError> {
        let settings = self.pilot.settings();
        let mac = MacAddress::parse(fetch.mac).ok();
        let peer = fetch.peer.map_or_else(|| "-".into(), |p| p.to_string());
        let bootloader = text::for_log(fetch.bootloader, 64);
        let judge = |host: &Host| {
            let table = ArpTable::read(&settings.arp_table);
            trust::judge(
                &table,
                fetch.peer.map(|p| p.ip()),
                host,
                settings.server.boot_trust,
            )
        };
        let event = |host: &Host, to: Option<String>, trust: &Trust, result| NewEvent {
            host: Some(host.name.clone()),
            mac,
            to,
            peer: Some(peer.clone()),
            detail: Some(bootloader.clone()),
            result,
            counted: trust.counts(),
            ..NewEvent::new(EventKind::Boot, Who::Open)
        };
        let not_counted = |host: &Host, trust: &Trust| {
            if let Trust::NotCounted(why) = trust {
                tracing::info!(peer = %peer, host = %host.name, "boot fetch answered but not counted as the host's boot: {why}");
            }
        };
        match answer(&self.pilot, fetch.bootloader, mac, fetch.server_url) {
            Ok(BootAnswer::Script {
                host,
                configuration,
                bytes,
            }) => {
                let trust = judge(host);
                tracing::info!(peer = %peer, host = %host.name, bootloader = %bootloader, configuration = %configuration.name, "boot script fetched");
                not_counted(host, &trust);
                let to = Some(configuration.name.to_string());
                self.record(event(host, to, &trust, Outcome::Ok));
                if trust.counts() {
                    self.once_fallback(host, &configuration.name, &peer);
                }
                Ok(bytes)
            }
            Ok(BootAnswer::HandOver {
                host: Some(host),
                reason,
                bytes,
            }) => {
                let trust = judge(host);
                tracing::info!(peer = %peer, host = %host.name, bootloader = %bootloader, "boot hand-over: {reason}");
                not_counted(host, &trust);
                self.record(event(host, None, &trust, Outcome::Ok));
                Ok(bytes.to_vec())
            }
            Ok(BootAnswer::HandOver {
                host: None,
                reason,
                bytes,
            }) => {
                // No host has this MAC: an unknown machine, counted and listed, not an event.
                tracing::debug!(peer = %peer, bootloader = %bootloader, mac = %text::for_log(fetch.mac, 64), "boot hand-over: {reason}");
                self.kept.observer.unknown_fetch();
                if let Some(mac) = mac {
                    self.kept
                        .unknown
                        .saw(mac, fetch.peer.map(|p| p.ip()), &bootloader);
                }
                Ok(bytes.to_vec())
            }
            Err(error) => {
                match mac.and_then(|m| settings.inventory.by_mac(&m)) {
                    Some(host) => {
                        let trust = judge(host);
                        let failed = Outcome::Error(error.to_string());
                        self.record(event(host, None, &trust, failed));
                    }
                    None => self.kept.observer.unknown_fetch(),
                }
                Err(error.into())
            }
        }
    }

    /// After `host`'s boot of `configuration` (a fetch that counts): when it was deployed to
    /// boot it once, it is switched to `server.once_fallback` now, and that is recorded. Only
    /// if the host still boots that configuration: a deploy an operator made since the fetch
    /// wins ([`crate::Pilot::switch_if`] checks and writes under the host's lock).
    pub(super) fn once_fallback(&self, host: &Host, configuration: &ConfigName, peer: &str) {
        match self.store().take_once(&host.name, configuration) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::error!(host = %host.name, "the once list is not saved: {e}");
                return;
            }
        }
        let fallback = &self.pilot.settings().server.once_fallback;
        let result = match self.pilot.switch_if(host, configuration, fallback.as_str()) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => {
                tracing::info!(host = %host.name, "booted once, but it was deployed something else since: no fallback");
                return;
            }
            Err(e) => Err(e.to_string()),
        };
        match &result {
            Ok(()) => {
                tracing::info!(host = %host.name, change = %format_args!("{configuration} -> {fallback}"), "booted once: switched to the fallback")
            }
            Err(e) => {
                tracing::error!(host = %host.name, "booted once, but the switch to {fallback} failed: {e}")
            }
        }
        self.record(NewEvent {
            host: Some(host.name.clone()),
            from: Some(configuration.to_string()),
            to: Some(fallback.to_string()),
            peer: Some(peer.to_owned()),
            result: match result {
                Ok(()) => Outcome::Ok,
                Err(e) => Outcome::Error(e),
            },
            ..NewEvent::new(EventKind::OnceFallback, Who::Open)
        });
    }
}
