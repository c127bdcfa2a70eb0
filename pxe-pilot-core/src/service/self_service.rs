//! Self-service callbacks: on a server with a token, a deploy without it is still carried out
//! when it is a host switching itself to one of `server.self_service` (default `local`): the
//! installer's last step, whose preseed or kickstart file anyone can read and which must not
//! hold the admin token.
//!
//! "Itself" means: the request names exactly one host, and the request's peer address is, in
//! the kernel's neighbour table (`arp_table`, `/proc/self/net/arp`), one of that host's MAC
//! addresses (an address the table gives with two different MACs is no one's). That holds
//! only on the same layer-2 segment as the host (a routed request's peer is the router) and
//! for IPv4; docs/operations.md has the threat model. A self-service deploy only switches the
//! host: it never reboots or powers it, never sets its next boot device, never sets `once`
//! (those need the token), so a host cannot be power-cycled by whoever can speak from it.

use std::net::IpAddr;

use crate::arp::ArpTable;
use crate::pilot::Pilot;

use super::DeployHost;

/// Why a deploy without the token is not a self-service callback, or `Ok` when it is one.
pub(super) fn check(
    pilot: &Pilot,
    configuration: &str,
    hosts: &[DeployHost],
    peer: Option<IpAddr>,
) -> Result<(), String> {
    let settings = pilot.settings();
    let allowed = &settings.server.self_service;
    if !allowed.iter().any(|c| c.as_str() == configuration) {
        let names: Vec<&str> = allowed.iter().map(|c| c.as_str()).collect();
        return Err(format!(
            "without the token a host may only deploy {} to itself (server.self_service)",
            if names.is_empty() {
                "nothing".to_owned()
            } else {
                names.join(" or ")
            }
        ));
    }
    let [asked] = hosts else {
        return Err("without the token a deploy names exactly one host, itself".into());
    };
    if asked.reboot || asked.once {
        return Err(
            "without the token a host may switch itself only: `reboot` and `once` need the token"
                .into(),
        );
    }
    let selected = pilot.select(std::slice::from_ref(&asked.selector));
    let host = selected
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or("the request names no host")?;
    let peer = peer.ok_or("the request's address is unknown")?;
    let mac = ArpTable::read(&settings.arp_table).mac_at(peer);
    if mac.is_some_and(|m| host.mac_addresses.contains(&m)) {
        Ok(())
    } else {
        Err(format!(
            "the request comes from {peer}, which the neighbour table does not give as one of host {}'s MAC addresses: a host may deploy {configuration} to itself only from its own address",
            host.name
        ))
    }
}
