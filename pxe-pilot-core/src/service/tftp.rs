//! A read over TFTP, as the service sees it (DESIGN §10): a read of a host's per-MAC entry
//! (`pxelinux.cfg/01-<mac>`, or a bootloader's `mac_entry`) is a boot, by the rules of
//! section 7: an event with `tftp`, the host's `lastBoot`, whether the peer counts, and the
//! `once` fallback once the transfer completed (a retry of an interrupted fetch still gets
//! the installer). A read of an entry for a MAC address no host has lists an unknown
//! machine. Any other file (the bootloader, its modules, a kernel) is not a boot.

use std::net::SocketAddr;

use crate::arp::ArpTable;
use crate::boot::trust::{self, Trust};
use crate::events::{EventKind, NewEvent, Outcome, Who};
use crate::pilot::Deployment;
use crate::MacAddress;

use super::Service;

/// A read the TFTP server finished (or gave up).
#[derive(Debug, Clone, Copy)]
pub struct TftpRead<'a> {
    /// The file read, relative to the TFTP root (`pxelinux.cfg/01-52-54-00-12-34-56`).
    pub path: &'a str,
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether the transfer completed (the last block was acknowledged).
    pub completed: bool,
    /// Whether the file was there: a host with no entry boots its bootloader's default, a
    /// MAC address no host has is an unknown machine either way.
    pub found: bool,
}

impl Service {
    /// The MAC address whose per-MAC entry `path` is, and the bootloader reading it: the
    /// `pxelinux.cfg/01-<mac>` entry (PXELINUX's spelling: dashes, lowercase) or a declared
    /// `mac_entry`.
    pub fn entry_of(&self, path: &str) -> Option<(MacAddress, String)> {
        let path = path.trim_start_matches('/');
        if let Some(file) = path.strip_prefix("pxelinux.cfg/01-") {
            let mac = MacAddress::parse(file)
                .ok()
                .filter(|m| m.with_separator('-') == file)?;
            let reader = self
                .pilot
                .bootloaders()
                .iter()
                .find(|b| b.config_path.starts_with("pxelinux.cfg"))
                .map_or_else(|| "pxelinux".to_owned(), |b| b.name.clone());
            return Some((mac, reader));
        }
        let (folder, file) = path.rsplit_once('/').unwrap_or(("", path));
        self.pilot.bootloaders().iter().find_map(|b| {
            let pattern = b.mac_entry.as_ref()?;
            if pattern.folder() != std::path::Path::new(folder) {
                return None;
            }
            pattern.mac_of(file).map(|mac| (mac, b.name.clone()))
        })
    }

    /// Sees a read over TFTP: a boot when it is a per-MAC entry, nothing otherwise.
    pub fn tftp_read(&self, read: &TftpRead<'_>) {
        let Some((mac, bootloader)) = self.entry_of(read.path) else {
            return;
        };
        let settings = self.pilot.settings();
        let peer = read.peer.to_string();
        let Some(host) = settings.inventory.by_mac(&mac) else {
            tracing::debug!(peer = %peer, mac = %mac, "tftp: an entry read for a MAC no host has");
            self.kept.observer.unknown_fetch();
            self.kept.unknown.saw(mac, Some(read.peer.ip()), "tftp");
            return;
        };
        let table = ArpTable::read(&settings.arp_table);
        let judged = trust::judge(
            &table,
            Some(read.peer.ip()),
            host,
            settings.server.boot_trust,
        );
        if let Trust::NotCounted(why) = &judged {
            tracing::info!(peer = %peer, host = %host.name, "tftp boot read but not counted as the host's boot: {why}");
        }
        let deployment = self
            .pilot
            .host_by_mac(&mac)
            .map(|state| state.deployment)
            .unwrap_or(Deployment::NotDeployed);
        let configuration = match &deployment {
            Deployment::Deployed(c) => Some(c.name.clone()),
            _ => None,
        };
        let result = if !read.found {
            Outcome::Error("no per-MAC entry: the bootloader falls back to its default".into())
        } else if read.completed {
            Outcome::Ok
        } else {
            Outcome::Error("the TFTP transfer did not complete".into())
        };
        tracing::info!(peer = %peer, host = %host.name, bootloader = %bootloader, boots = %deployment.label(), completed = read.completed, "tftp: per-MAC entry read");
        self.record(NewEvent {
            host: Some(host.name.clone()),
            mac: Some(mac),
            to: configuration.as_ref().map(|c| c.to_string()),
            peer: Some(peer.clone()),
            detail: Some(format!("tftp {bootloader}")),
            result,
            counted: judged.counts(),
            ..NewEvent::new(EventKind::Boot, Who::Open)
        });
        if let (true, true, Some(configuration)) =
            (read.found && read.completed, judged.counts(), configuration)
        {
            self.once_fallback(host, &configuration, &peer);
        }
    }
}
