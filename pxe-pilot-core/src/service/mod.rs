//! The service: every rule of pxe-pilot in one place, whoever calls it (the HTTP routes, the
//! demo, an embedder, later the TFTP server). A route parses its request, calls one method
//! of [`Service`] with the [`Asker`] (who asks, from where), and writes the answer.
//!
//! The rules it owns: a deploy (with `reboot`: a network boot once, then a reset; with
//! `once`; each step recorded), an undeploy, a power action, a refresh, a boot fetch (what is
//! served, whether it counts as the host's boot, the `once` fallback), and who may do what
//! without the token (self-service, in `self_service.rs`). Changes by an anonymous caller are
//! refused unless the self-service rule admits that exact request: the service fails closed.
//!
//! What it remembers (the entries, the pending `once` flags, the events and last boots) is
//! the [`Store`] of its [`Pilot`]; the unknown machines and the observer are
//! [`Kept`]; both are handed from a service to the one that replaces it at a reload
//! ([`Service::reloaded`]). Counters observe the service through an [`Observer`]; they never
//! read it.

mod boot;
mod deploy;
mod self_service;
mod tftp;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::boot::BootError;
use crate::events::{NewEvent, Who};
use crate::pilot::{Deployment, HostState, Pilot, PilotError};
use crate::power::PowerService;
use crate::store::Store;
use crate::unknown::UnknownMachines;
use crate::PowerAction;

pub use boot::BootFetch;
pub use deploy::{DeployHost, DeployReport, HostDeployed, NetbootResult, RebootReport};
pub use tftp::TftpRead;

/// Who asks for a change, as far as the token tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The server has no token: anyone may change anything.
    Open,
    /// The request carries the server's token.
    Token,
    /// The server has a token and the request lacks it (or has a wrong one). The text says
    /// why; a change is refused with it unless the self-service rule admits the request.
    Anonymous(String),
}

impl Caller {
    /// Who asked, for the event log.
    pub fn who(&self) -> Who {
        match self {
            Caller::Token => Who::Token,
            Caller::Open | Caller::Anonymous(_) => Who::Open,
        }
    }
}

/// Who asks, and from which address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    /// What the token says.
    pub caller: Caller,
    /// The peer address of the request, when known.
    pub peer: Option<SocketAddr>,
}

impl Asker {
    /// An asker.
    pub fn new(caller: Caller, peer: Option<SocketAddr>) -> Self {
        Asker { caller, peer }
    }

    /// The peer's IP address, when known.
    pub fn ip(&self) -> Option<IpAddr> {
        self.peer.map(|p| p.ip())
    }

    /// The peer as text, for logs and events (`-` when unknown).
    pub fn peer_text(&self) -> String {
        self.peer.map_or_else(|| "-".into(), |p| p.to_string())
    }

    /// Refuses an anonymous caller: changes other than a self-service deploy need the token.
    fn must_be_allowed(&self) -> Result<(), ServiceError> {
        match &self.caller {
            Caller::Anonymous(why) => Err(ServiceError::Refused(why.clone())),
            Caller::Open | Caller::Token => Ok(()),
        }
    }
}

/// What a counter needs to see of the service; every method does nothing by default.
pub trait Observer: Send + Sync {
    /// An event was recorded (or failed to be: it is seen all the same).
    fn recorded(&self, _event: &NewEvent) {}
    /// A boot fetch came for a MAC address no host has.
    fn unknown_fetch(&self) {}
}

/// An [`Observer`] that observes nothing.
#[derive(Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// Why the service refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller may not do this without the token (401).
    #[error("{0}")]
    Refused(String),
    /// The request cannot be carried out as asked (409).
    #[error("{0}")]
    Conflict(String),
    /// What the deploy service said.
    #[error(transparent)]
    Pilot(#[from] PilotError),
    /// A boot fetch that cannot be answered.
    #[error(transparent)]
    Boot(#[from] BootError),
}

/// What the service keeps beside its store across readings of the configuration file: the
/// unknown machines (this server's own sightings) and its observer. Cloning it shares it.
#[derive(Clone)]
pub struct Kept {
    unknown: Arc<UnknownMachines>,
    observer: Arc<dyn Observer>,
}

impl Kept {
    /// Nothing seen yet, shown to `observer` (`Kept::new(Arc::new(NoObserver))` for tests and
    /// embedders that count nothing).
    pub fn new(observer: Arc<dyn Observer>) -> Self {
        Kept {
            unknown: Arc::new(UnknownMachines::default()),
            observer,
        }
    }
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept").finish_non_exhaustive()
    }
}

/// The service: one reading of the configuration file ([`Pilot`], [`PowerService`]) and what
/// is [`Kept`] across readings.
#[derive(Debug)]
pub struct Service {
    pilot: Pilot,
    power: PowerService,
    kept: Kept,
}

impl Service {
    /// The service of `pilot`'s settings, remembering in `kept`.
    pub fn new(pilot: Pilot, kept: Kept) -> Self {
        let power = PowerService::new(pilot.shared_settings());
        Service { pilot, power, kept }
    }

    /// The service of a new reading of the configuration file: what is kept carries on, and
    /// the power limit is this one's, resized (commands still running count in it).
    pub fn reloaded(&self, pilot: Pilot) -> Self {
        let power = self.power.reloaded(pilot.shared_settings());
        Service {
            pilot,
            power,
            kept: self.kept.clone(),
        }
    }

    /// The deploy service underneath (settings, catalogue, entries): for reads.
    pub fn pilot(&self) -> &Pilot {
        &self.pilot
    }

    /// Power management: for reads (power states, commands running).
    pub fn power(&self) -> &PowerService {
        &self.power
    }

    /// Everything the service remembers (entries, `once`, events, last boots): for reads.
    pub fn store(&self) -> &dyn Store {
        &**self.pilot.store()
    }

    /// The machines seen booting that no host owns.
    pub fn unknown(&self) -> &UnknownMachines {
        &self.kept.unknown
    }

    /// Removes every entry of host `name` (of every bootloader): it boots the default. Its
    /// pending `once` is dropped.
    pub fn undeploy(&self, name: &str, asker: &Asker) -> Result<HostState<'_>, ServiceError> {
        asker.must_be_allowed()?;
        let peer = asker.peer_text();
        let switched = self.pilot.undeploy(name)?;
        let host = switched.host;
        self.forget_once(host);
        if switched.previous == Deployment::NotDeployed {
            tracing::debug!(peer = %peer, host = %host.name, "undeploy: nothing was deployed");
        } else {
            tracing::info!(
                peer = %peer,
                host = %host.name,
                change = %format_args!("{} -> -", switched.previous.label()),
                "configuration removed"
            );
            self.record(NewEvent {
                host: Some(host.name.clone()),
                from: Some(switched.previous.label()),
                peer: Some(peer),
                ..NewEvent::new(crate::EventKind::Undeploy, asker.caller.who())
            });
        }
        Ok(HostState {
            host,
            deployment: Deployment::NotDeployed,
        })
    }

    /// Powers host `name` on or off, or reboots it; recorded either way.
    pub fn power_action(
        &self,
        name: &str,
        action: PowerAction,
        asker: &Asker,
    ) -> Result<(), ServiceError> {
        asker.must_be_allowed()?;
        let peer = asker.peer_text();
        let host = self.pilot.named(name)?;
        let result = self.power.act(host, action);
        self.record(NewEvent {
            host: Some(host.name.clone()),
            peer: Some(peer.clone()),
            detail: Some(action.as_str().to_owned()),
            result: match &result {
                Ok(()) => crate::Outcome::Ok,
                Err(e) => crate::Outcome::Error(e.to_string()),
            },
            ..NewEvent::new(crate::EventKind::Power, asker.caller.who())
        });
        result.map_err(PilotError::from)?;
        tracing::info!(peer = %peer, host = %host.name, action = action.as_str(), "power action done");
        Ok(())
    }

    /// Scans the management subnets (`discovery.cmd`), so that BMC addresses are found in
    /// the neighbour table; the subnets scanned.
    pub fn refresh(&self, asker: &Asker) -> Result<Vec<String>, ServiceError> {
        asker.must_be_allowed()?;
        let subnets = self.power.refresh().map_err(PilotError::from)?;
        tracing::info!(peer = %asker.peer_text(), subnets = %subnets.join(" "), "refresh done");
        Ok(subnets)
    }

    /// Records `event` and shows it to the observer; a failure to record is logged, never
    /// answered (the change it reports happened).
    fn record(&self, mut event: NewEvent) {
        if event.site.is_none() {
            event.site = Some(self.pilot.settings().site.clone());
        }
        self.kept.observer.recorded(&event);
        if let Err(e) = self.store().record(event) {
            tracing::error!("event not recorded: {e}");
        }
    }

    /// Drops `host`'s pending `once`, if any.
    fn forget_once(&self, host: &crate::Host) {
        if let Err(e) = self.store().set_once(&host.name, None) {
            tracing::error!(host = %host.name, "the once list is not saved: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;
    use crate::{HostSelector, MacAddress, Settings};

    const YAML: &str = "
hosts:
  - name: h1
    mac_addresses: ['00:00:00:00:0b:01']
  - name: h2
    mac_addresses: ['00:00:00:00:0b:02']
tftp:
  root: .
configuration:
  directory: conf
  bootloaders:
    - {name: pxelinux, file: pxelinux.0, config_path: pxelinux.cfg}
    - {name: ipxe, file: ipxe.efi}
server:
  token: s3cret
arp_table: arp
";

    /// A service over a temporary TFTP root, events in memory; h1 is at 10.0.0.1.
    fn service() -> (tempfile::TempDir, Service) {
        let dir = tempfile::tempdir().unwrap();
        for (bootloader, name) in [("pxelinux", "local"), ("ipxe", "installer")] {
            let folder = dir.path().join("conf").join(bootloader);
            fs::create_dir_all(&folder).unwrap();
            fs::write(folder.join(name), "#!ipxe\nexit\n").unwrap();
        }
        fs::write(
            dir.path().join("arp"),
            "IP address       HW type     Flags       HW address            Mask     Device\n\
             10.0.0.1         0x1         0x2         00:00:00:00:0b:01     *        eth0\n",
        )
        .unwrap();
        let (settings, _) = Settings::from_yaml(YAML, Path::new("t.yml"), dir.path()).unwrap();
        let pilot = Pilot::open(settings).unwrap();
        let kept = Kept::new(Arc::new(NoObserver));
        (dir, Service::new(pilot, kept))
    }

    fn one(name: &str, reboot: bool, once: bool) -> Vec<DeployHost> {
        vec![DeployHost {
            selector: HostSelector::parse(Some(name), None).unwrap(),
            reboot,
            once,
        }]
    }

    fn anonymous(peer: &str) -> Asker {
        Asker::new(
            Caller::Anonymous("no token".into()),
            Some(peer.parse().unwrap()),
        )
    }

    fn boots(service: &Service, host: &str) -> String {
        service.pilot().host(host).unwrap().deployment.label()
    }

    #[test]
    fn an_anonymous_caller_changes_nothing_but_its_own_self_service_switch() {
        let (_dir, service) = service();
        let token = Asker::new(Caller::Token, None);
        service
            .deploy("installer", &one("h1", false, false), &token)
            .unwrap();
        let from_h1 = anonymous("10.0.0.1:40000");
        let refused = |e: Result<_, ServiceError>| matches!(e, Err(ServiceError::Refused(_)));
        assert!(refused(service.undeploy("h1", &from_h1).map(|_| ())));
        assert!(refused(service.power_action(
            "h1",
            PowerAction::Reboot,
            &from_h1
        )));
        assert!(refused(service.refresh(&from_h1).map(|_| ())));
        // Not a self-service configuration; not itself; more than a switch.
        assert!(refused(
            service
                .deploy("installer", &one("h1", false, false), &from_h1)
                .map(|_| ())
        ));
        assert!(refused(
            service
                .deploy("local", &one("h2", false, false), &from_h1)
                .map(|_| ())
        ));
        assert!(refused(
            service
                .deploy("local", &one("h1", true, false), &from_h1)
                .map(|_| ())
        ));
        assert!(refused(
            service
                .deploy("local", &one("h1", false, true), &from_h1)
                .map(|_| ())
        ));
        assert_eq!(boots(&service, "h1"), "installer");
        // Its own switch to `local`, from its own address.
        service
            .deploy("local", &one("h1", false, false), &from_h1)
            .unwrap();
        assert_eq!(boots(&service, "h1"), "local");
        let events = service
            .store()
            .events_for(&crate::HostName::parse("h1").unwrap(), 10);
        assert_eq!(events[0].kind, crate::EventKind::SelfService);
    }

    #[test]
    fn a_deploy_replaces_a_pending_once_and_a_fetch_that_counts_consumes_it() {
        let (_dir, service) = service();
        let token = Asker::new(Caller::Token, None);
        let h1: MacAddress = MacAddress::parse("00:00:00:00:0b:01").unwrap();
        let fetch = |peer: &str| BootFetch {
            bootloader: "ipxe",
            mac: "00-00-00-00-0b-01",
            server_url: "http://x",
            peer: Some(peer.parse().unwrap()),
        };
        // `once`, then a plain deploy of the same configuration: no fallback any more.
        service
            .deploy("installer", &one("h1", false, true), &token)
            .unwrap();
        service
            .deploy("installer", &one("h1", false, false), &token)
            .unwrap();
        service.boot_script(&fetch("10.0.0.1:1")).unwrap();
        assert_eq!(boots(&service, "h1"), "installer");
        // `once` again: a fetch from another machine does not count, h1's own does.
        service
            .deploy("installer", &one("h1", false, true), &token)
            .unwrap();
        fs::write(
            service.pilot().settings().arp_table.clone(),
            "IP address       HW type     Flags       HW address            Mask     Device\n\
             10.0.0.1         0x1         0x2         00:00:00:00:0b:01     *        eth0\n\
             10.0.0.9         0x1         0x2         00:00:00:00:0b:02     *        eth0\n",
        )
        .unwrap();
        service.boot_script(&fetch("10.0.0.9:1")).unwrap();
        assert_eq!(boots(&service, "h1"), "installer");
        service.boot_script(&fetch("10.0.0.1:1")).unwrap();
        assert_eq!(boots(&service, "h1"), "local");
        let last = service
            .store()
            .last_boot(&crate::HostName::parse("h1").unwrap())
            .unwrap();
        assert_eq!(last.mac, Some(h1));
    }

    #[test]
    fn once_needs_a_configuration_whose_boot_is_seen() {
        let (_dir, service) = service();
        let token = Asker::new(Caller::Token, None);
        let refused = service.deploy("local", &one("h1", false, true), &token);
        assert!(
            matches!(refused, Err(ServiceError::Conflict(_))),
            "{refused:?}"
        );
    }
}
