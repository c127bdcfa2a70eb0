//! Power management as the routes see it: the [`Power`] trait, [`CorePower`] (the core's
//! ipmitool and command adapters, the default) and [`NoPower`] (no power management at all,
//! for embedding and tests).
//!
//! The routes never run a command themselves: `GET /v1/hosts` asks [`Power::overview`] (with
//! `query = false` for `?status=false`, which runs no command), `PATCH /v1/hosts/{name}/...`
//! and a deploy with `"reboot": true` ask [`Power::act`], `PATCH /v1/refresh` asks
//! [`Power::refresh`]. The backend is an `Arc<dyn Power>` in [`crate::state::AppState`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::web;
use pxe_pilot_core::api::PowerState;
use pxe_pilot_core::{Host, HostName, Pilot, PilotError, PowerAction, PowerError};

use crate::error::ApiError;

/// The future a [`Power`] method returns; it may borrow the backend and the hosts.
pub type PowerFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// What power management knows about a host, for `GET /v1/hosts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PowerReport {
    /// The BMC's address, given in the configuration or found in the ARP table.
    pub bmc_address: Option<String>,
    /// The power state; `None` for a host without power management.
    pub state: Option<PowerState>,
}

/// A power management backend. Its errors are the core's ([`PilotError::Power`],
/// [`PilotError::Refresh`], answered 409), or the server's own when it is stopping.
///
/// Implementations must never log or return a password, and must bound every command in time.
pub trait Power: Send + Sync + 'static {
    /// For each host, in order: its BMC address and power state. With `query` false no
    /// command may run (reading the ARP table is fine).
    fn overview<'a>(
        &'a self,
        hosts: &'a [&'a Host],
        query: bool,
    ) -> PowerFuture<'a, Vec<PowerReport>>;

    /// Reboots, powers on or powers off `host`.
    fn act<'a>(
        &'a self,
        host: &'a Host,
        action: PowerAction,
    ) -> PowerFuture<'a, Result<(), ApiError>>;

    /// Scans the management subnets so that the ARP table learns the BMC addresses; returns
    /// the subnets scanned.
    fn refresh(&self) -> PowerFuture<'_, Result<Vec<String>, ApiError>>;
}

/// The core's power management ([`pxe_pilot_core::Power`]): `ipmitool` for `ipmi:` blocks,
/// command adapters for `management:` blocks. Its commands block, so they run in `web::block`.
#[derive(Debug, Clone)]
pub struct CorePower {
    pilot: Arc<Pilot>,
}

impl CorePower {
    /// Power management under the service's settings.
    pub fn new(pilot: Arc<Pilot>) -> Self {
        CorePower { pilot }
    }
}

impl Power for CorePower {
    fn overview<'a>(
        &'a self,
        hosts: &'a [&'a Host],
        query: bool,
    ) -> PowerFuture<'a, Vec<PowerReport>> {
        if !query {
            // No command runs: the reports come from the configuration file and the ARP table
            // (a small file, `/proc/net/arp`), read here rather than on a pool thread, which
            // would keep the memory of 10,000 reports for the server's life.
            let reports = self
                .pilot
                .power()
                .overview(hosts, false)
                .into_iter()
                .map(|(bmc_address, state)| PowerReport { bmc_address, state })
                .collect();
            return Box::pin(std::future::ready(reports));
        }
        let pilot = self.pilot.clone();
        let count = hosts.len();
        // The whole inventory (`GET /v1/hosts`) is found again in the blocking thread without
        // copying 10,000 names; a subset is passed by name.
        let inventory = pilot.settings().inventory.hosts();
        let all = count == inventory.len()
            && hosts
                .iter()
                .zip(inventory)
                .all(|(a, b)| std::ptr::eq(*a, b));
        let names: Vec<HostName> = if all {
            Vec::new()
        } else {
            hosts.iter().map(|h| h.name.clone()).collect()
        };
        Box::pin(async move {
            let reports = web::block(move || {
                let inventory = &pilot.settings().inventory;
                let hosts: Vec<&Host> = if all {
                    inventory.hosts().iter().collect()
                } else {
                    names
                        .iter()
                        .filter_map(|n| inventory.by_name(n.as_str()))
                        .collect()
                };
                pilot
                    .power()
                    .overview(&hosts, query)
                    .into_iter()
                    .map(|(bmc_address, state)| PowerReport { bmc_address, state })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            if reports.len() == count {
                reports
            } else {
                vec![PowerReport::default(); count]
            }
        })
    }

    fn act<'a>(
        &'a self,
        host: &'a Host,
        action: PowerAction,
    ) -> PowerFuture<'a, Result<(), ApiError>> {
        let pilot = self.pilot.clone();
        let name = host.name.clone();
        Box::pin(async move {
            Ok(web::block(move || pilot.power_action(name.as_str(), action).map(|_| ())).await??)
        })
    }

    fn refresh(&self) -> PowerFuture<'_, Result<Vec<String>, ApiError>> {
        let pilot = self.pilot.clone();
        Box::pin(async move { Ok(web::block(move || pilot.refresh()).await??) })
    }
}

/// No power management: no command ever runs, every action is refused (409, `no power
/// management configured for host X`), `refresh` succeeds and scans nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPower;

impl Power for NoPower {
    fn overview<'a>(
        &'a self,
        hosts: &'a [&'a Host],
        _query: bool,
    ) -> PowerFuture<'a, Vec<PowerReport>> {
        let reports = hosts
            .iter()
            .map(|host| PowerReport {
                bmc_address: host
                    .ipmi
                    .as_ref()
                    .map(|i| &i.address)
                    .or(host.management.as_ref().map(|m| &m.address))
                    .and_then(|a| a.hostname.clone()),
                state: None,
            })
            .collect();
        Box::pin(std::future::ready(reports))
    }

    fn act<'a>(
        &'a self,
        host: &'a Host,
        _action: PowerAction,
    ) -> PowerFuture<'a, Result<(), ApiError>> {
        let error = PilotError::Power(PowerError::NotConfigured {
            host: host.name.to_string(),
        });
        Box::pin(std::future::ready(Err(error.into())))
    }

    fn refresh(&self) -> PowerFuture<'_, Result<Vec<String>, ApiError>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
}
