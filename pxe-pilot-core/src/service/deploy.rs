//! A deploy, as the service carries it out: who may ask it, `once`, the switch of every host
//! (checked before anything is written), a reboot where asked (a network boot once, then a
//! reset), each step recorded. A deploy always drops or replaces the host's pending `once`.

use crate::events::{EventKind, NewEvent, Outcome, Who};
use crate::names::{ConfigName, HostName};
use crate::pilot::HostSelector;
use crate::power::Netboot;
use crate::{Host, PowerAction};

use super::{Asker, Caller, Service, ServiceError};

/// One host of a deploy request, and what is asked for it besides the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployHost {
    /// The host, by name or MAC address.
    pub selector: HostSelector,
    /// Reboot it once switched (a network boot once first, where its BMC can).
    pub reboot: bool,
    /// Boot the configuration once, then `server.once_fallback`.
    pub once: bool,
}

/// What a deploy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployReport {
    /// The configuration deployed.
    pub configuration: ConfigName,
    /// Each host named, in the request's order.
    pub hosts: Vec<HostDeployed>,
    /// Why a host was not switched after others were (then the answer is partial).
    pub failure: Option<String>,
}

/// What a deploy did to one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDeployed {
    /// The host.
    pub name: HostName,
    /// Why it was not switched (its write failed, or an earlier host's did).
    pub error: Option<String>,
    /// The reboot asked for, when it was switched.
    pub reboot: Option<RebootReport>,
}

/// The reboot after a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebootReport {
    /// Whether the next boot was made a network boot.
    pub netboot: NetbootResult,
    /// Whether the reset (or power on) was done.
    pub rebooted: bool,
}

/// Whether the next boot was made a network boot, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetbootResult {
    /// It was.
    Once,
    /// Not asked of this BMC (none, or one that cannot).
    Skipped,
    /// The BMC refused or failed.
    Failed,
}

impl Service {
    /// Deploys configuration `configuration` to `hosts`: every host is checked before anything
    /// is written. Without the token, only a self-service callback is carried out.
    pub fn deploy(
        &self,
        configuration: &str,
        hosts: &[DeployHost],
        asker: &Asker,
    ) -> Result<DeployReport, ServiceError> {
        let peer = asker.peer_text();
        let who = match &asker.caller {
            Caller::Open => Who::Open,
            Caller::Token => Who::Token,
            Caller::Anonymous(refused) => {
                super::self_service::check(&self.pilot, configuration, hosts, asker.ip())
                    .map_err(|why| ServiceError::Refused(format!("{refused}; {why}")))?;
                tracing::info!(peer = %peer, configuration = %configuration, "self-service callback without the token");
                Who::SelfService
            }
        };
        if hosts.iter().any(|h| h.once) {
            self.check_once(configuration)?;
        }
        let selectors: Vec<HostSelector> = hosts.iter().map(|h| h.selector.clone()).collect();
        let kind = match who {
            Who::SelfService => EventKind::SelfService,
            _ => EventKind::Deploy,
        };
        let site = self.pilot.settings().site.clone();
        // Each switched host's event is written with its switch (one transaction in etcd).
        let switched = |host: &crate::Host,
                        previous: &crate::Deployment,
                        to: &crate::catalogue::Configuration| NewEvent {
            host: Some(host.name.clone()),
            from: Some(previous.label()),
            to: Some(to.name.to_string()),
            peer: Some(peer.clone()),
            site: Some(site.clone()),
            ..NewEvent::new(kind, who)
        };
        let deployed = self
            .pilot
            .deploy_recording(configuration, &selectors, &switched)?;
        let name = deployed.configuration.name.clone();
        let mut report = DeployReport {
            configuration: name.clone(),
            hosts: Vec::with_capacity(deployed.hosts.len()),
            failure: None,
        };
        for (outcome, asked) in deployed.hosts.iter().zip(hosts) {
            let host = outcome.host;
            let mut done = HostDeployed {
                name: host.name.clone(),
                error: None,
                reboot: None,
            };
            let event = |result| NewEvent {
                host: Some(host.name.clone()),
                from: Some(outcome.previous.label()),
                to: Some(name.to_string()),
                peer: Some(peer.clone()),
                result,
                ..NewEvent::new(kind, who)
            };
            match &outcome.result {
                Ok(()) => {
                    tracing::info!(
                        peer = %peer,
                        host = %host.name,
                        change = %format_args!("{} -> {name}", outcome.previous.label()),
                        "configuration deployed"
                    );
                    match &outcome.recorded {
                        Some(Ok(recorded)) => self.kept.observer.recorded(recorded),
                        Some(Err(e)) => tracing::error!("event not recorded: {e}"),
                        None => self.record(event(Outcome::Ok)),
                    }
                    // A deploy replaces a pending `once`, or drops it.
                    let once = asked.once.then_some(&name);
                    if let Err(e) = self.store().set_once(&host.name, once) {
                        tracing::error!(host = %host.name, "the once list is not saved: {e}");
                    }
                    if asked.reboot {
                        done.reboot = Some(self.reboot_after_deploy(host, who, &peer));
                    }
                }
                Err(Some(error)) => {
                    tracing::error!(peer = %peer, host = %host.name, "deploy of {name} failed: {error}");
                    self.record(event(Outcome::Error(error.to_string())));
                    report.failure = Some(format!("host {} was not switched: {error}", host.name));
                    done.error = Some(error.to_string());
                }
                Err(None) => {
                    done.error = Some("not tried: an earlier host's write failed".into());
                }
            }
            report.hosts.push(done);
        }
        Ok(report)
    }

    /// `once` is for configurations whose boot pxe-pilot sees: fetched over HTTP, or any
    /// configuration when pxe-pilot serves the TFTP root itself (`tftp.serve`), since it
    /// sees the per-MAC entry read. It must see the boot to switch the host back.
    fn check_once(&self, name: &str) -> Result<(), ServiceError> {
        let configuration = self.pilot.configuration_named(name)?;
        let over_http = configuration
            .bootloader
            .as_ref()
            .is_some_and(|b| b.http.is_some());
        let over_our_tftp = self.pilot.settings().paths.tftp_serve.is_some();
        if over_http || over_our_tftp {
            Ok(())
        } else {
            Err(ServiceError::Conflict(format!(
                "pxe-pilot cannot see the boot of configuration {name} (its bootloader is not served over HTTP, and pxe-pilot does not serve the TFTP root): `once` needs a bootloader declared with `http: ipxe` or `http: grub`, or `tftp.serve` in the configuration file"
            )))
        }
    }

    /// The reboot a deploy asked for: the next boot made a network boot once (where the BMC
    /// can and the host allows), then a reset (a power on when off). A failure undoes
    /// nothing; both steps are recorded.
    fn reboot_after_deploy(&self, host: &Host, who: Who, peer: &str) -> RebootReport {
        let event = |kind, detail: &str, result| NewEvent {
            host: Some(host.name.clone()),
            peer: Some(peer.to_owned()),
            detail: Some(detail.to_owned()),
            result,
            ..NewEvent::new(kind, who)
        };
        let netboot = match self.power.netboot_once(host) {
            Ok(Netboot::Once) => {
                tracing::info!(peer = %peer, host = %host.name, "next boot is a network boot, once");
                self.record(event(EventKind::Netboot, "once", Outcome::Ok));
                NetbootResult::Once
            }
            Ok(Netboot::Skipped) => NetbootResult::Skipped,
            Err(e) => {
                tracing::warn!(peer = %peer, host = %host.name, "network boot once failed: {e}");
                let failed = Outcome::Error(e.to_string());
                self.record(event(EventKind::Netboot, "once", failed));
                NetbootResult::Failed
            }
        };
        let rebooted = match self.power.act(host, PowerAction::Reboot) {
            Ok(()) => {
                tracing::info!(peer = %peer, host = %host.name, "host rebooted after deploy");
                self.record(event(EventKind::Power, "reboot", Outcome::Ok));
                true
            }
            Err(e) => {
                tracing::warn!(peer = %peer, host = %host.name, "reboot after deploy failed: {e}");
                let failed = Outcome::Error(e.to_string());
                self.record(event(EventKind::Power, "reboot", failed));
                false
            }
        };
        RebootReport { netboot, rebooted }
    }
}
