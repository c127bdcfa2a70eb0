//! Power management: query and switch a host's power through its BMC, and make its next boot
//! a network boot, once.
//!
//! A host's BMC is driven one of three ways ([`crate::inventory::Bmc`]): `ipmitool`
//! (module `ipmi`), a command adapter ([`adapter`]), or Redfish (module `redfish`), each a
//! `BmcDriver` (module `driver`): a fourth kind is one file and one arm of `Shared::driver`.
//! Its address is given directly or found from its MAC in the ARP table, which `refresh`
//! fills by scanning the management subnets.
//!
//! [`PowerService`] is what the server holds: every BMC command of the server goes through
//! it, and it runs at most `power.max_parallel` of them at once, whoever asks. Power states
//! read from a BMC are kept for `power.status_ttl`: a burst of listings asks each BMC once,
//! and an older state is answered while it is read again in the background. A listing waits
//! at most `power.status_wait` for states never read; the reads go on in the background and
//! fill the next listing.

pub mod adapter;
mod driver;
mod ipmi;
mod limit;
mod redfish;

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use crate::action::PowerAction;
use crate::arp::ArpTable;
use crate::command::{CommandError, CommandLine};
use crate::inventory::{Bmc, Host};
use crate::settings::Settings;

use driver::{BmcDriver, Call};
use limit::Limit;

/// A host's power state as pxe-pilot knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerState {
    /// Powered on.
    On,
    /// Powered off.
    Off,
    /// Not known: no BMC address yet, the query failed, or it is still running.
    Unknown,
}

/// What became of a network boot once asked before a reboot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Netboot {
    /// The BMC will boot the host from the network once.
    Once,
    /// Not asked: the host's `netboot_once` is false, or its BMC cannot be told.
    Skipped,
}

/// Why a power command could not be carried out; secrets are masked in every message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PowerError {
    /// The host has no power management block.
    #[error("no power management configured for host {host}")]
    NotConfigured {
        /// The host.
        host: String,
    },
    /// The BMC's address is not known yet.
    #[error("the BMC address of host {host} is not known: give `hostname` in the configuration or run `pxe-pilot host refresh` so the ARP table learns {mac}")]
    NoAddress {
        /// The host.
        host: String,
        /// The BMC's MAC address, or `its MAC` when none is configured.
        mac: String,
    },
    /// The adapter has no command for this action.
    #[error("adapter {adapter} of host {host} has no {action} command")]
    NotSupported {
        /// The host.
        host: String,
        /// The adapter.
        adapter: String,
        /// The missing command (`power_on`, ...).
        action: &'static str,
    },
    /// The status command's output matched neither pattern.
    #[error("the power status of host {host} is neither on nor off: {output:?}")]
    UnknownStatus {
        /// The host.
        host: String,
        /// The first line of the output (masked).
        output: String,
    },
    /// The command could not be built or failed.
    #[error("power {action} of host {host}: {source}")]
    Command {
        /// The host.
        host: String,
        /// The action.
        action: &'static str,
        /// What went wrong.
        source: CommandError,
    },
    /// The BMC's Redfish service refused or failed.
    #[error("power {action} of host {host} (Redfish): {message}")]
    Redfish {
        /// The host.
        host: String,
        /// The action.
        action: &'static str,
        /// What the BMC said (masked).
        message: String,
    },
}

/// What power management knows about a host, for listings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PowerReport {
    /// The BMC's address, given in the configuration or found in the ARP table.
    pub bmc_address: Option<String>,
    /// The power state; `None` for a host without power management.
    pub state: Option<PowerState>,
}

/// The server's power management: every BMC command, bounded and shared.
#[derive(Debug, Clone)]
pub struct PowerService {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    settings: Arc<Settings>,
    limit: Arc<Limit>,
    state: Mutex<State>,
    /// Signalled when a job is queued.
    work: Condvar,
    /// Signalled when a state was read.
    read: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Per host (by inventory position): the last state read and when.
    known: Vec<Option<(PowerState, Instant)>>,
    /// Per host: whether a read is queued or running.
    busy: Vec<bool>,
    /// The hosts whose state is to be read.
    queue: VecDeque<usize>,
    /// The reader threads running.
    readers: usize,
}

/// How long an idle reader thread waits for work before it ends.
const READER_IDLE: Duration = Duration::from_secs(10);

impl PowerService {
    /// Power management under `settings`.
    pub fn new(settings: Arc<Settings>) -> Self {
        let limit = Arc::new(Limit::new(settings.power.max_parallel));
        PowerService::with_limit(settings, limit)
    }

    /// Power management under new `settings` (a reload) that shares this one's limit, made
    /// `power.max_parallel` of the new settings: commands still running under the old
    /// settings count against it, so the server never runs more than the limit at once.
    pub fn reloaded(&self, settings: Arc<Settings>) -> Self {
        self.shared.limit.resize(settings.power.max_parallel);
        PowerService::with_limit(settings, Arc::clone(&self.shared.limit))
    }

    fn with_limit(settings: Arc<Settings>, limit: Arc<Limit>) -> Self {
        let hosts = settings.inventory.hosts().len();
        PowerService {
            shared: Arc::new(Shared {
                limit,
                state: Mutex::new(State {
                    known: vec![None; hosts],
                    busy: vec![false; hosts],
                    ..State::default()
                }),
                settings,
                work: Condvar::new(),
                read: Condvar::new(),
            }),
        }
    }

    /// The settings it runs under.
    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// How many BMC commands are running now.
    pub fn running(&self) -> usize {
        self.shared.limit.running()
    }

    /// True when the host has power management configured.
    pub fn is_managed(host: &Host) -> bool {
        host.bmc.is_some()
    }

    /// The BMC address of `host`: given in the configuration, or found in the ARP table.
    pub fn bmc_address(&self, host: &Host) -> Option<String> {
        bmc_address_in(host, &ArpTable::read(&self.shared.settings.arp_table))
    }

    /// Queries the power state of `host` now (no cache), within the shared limit.
    pub fn status(&self, host: &Host) -> Result<PowerState, PowerError> {
        self.shared.status(host)
    }

    /// Switches the power of `host`. The state kept for it is forgotten: the next listing
    /// asks the BMC.
    pub fn act(&self, host: &Host, action: PowerAction) -> Result<(), PowerError> {
        let result = self.shared.act(host, action);
        self.shared.forget(host);
        result
    }

    /// Makes the next boot of `host` a network boot, once, if its `netboot_once` allows and
    /// its BMC can be told; [`Netboot::Skipped`] otherwise (a host without power management
    /// included: it has no BMC to tell).
    pub fn netboot_once(&self, host: &Host) -> Result<Netboot, PowerError> {
        if !host.netboot_once || host.bmc.is_none() {
            return Ok(Netboot::Skipped);
        }
        self.shared.netboot_once(host)
    }

    /// For each host, in order: its BMC address and, for a host with power management, its
    /// power state. With `query` false no command runs (states read `Unknown`); with it,
    /// states older than `power.status_ttl` are read again in the background (the old state
    /// is answered meanwhile), and states never read (or forgotten after a power action) are
    /// read now, waiting at most `wait` for them: one still being read then is `Unknown`, and
    /// the read goes on for the next listing.
    pub fn overview(&self, hosts: &[&Host], query: bool, wait: Duration) -> Vec<PowerReport> {
        let shared = &self.shared;
        let arp = ArpTable::read(&shared.settings.arp_table);
        let mut reports: Vec<PowerReport> = hosts
            .iter()
            .map(|h| PowerReport {
                bmc_address: bmc_address_in(h, &arp),
                state: h.bmc.is_some().then_some(PowerState::Unknown),
            })
            .collect();
        if !query {
            return reports;
        }
        let inventory = &shared.settings.inventory;
        let positions: Vec<Option<usize>> = hosts
            .iter()
            .zip(&reports)
            .map(|(h, r)| {
                (r.state.is_some() && r.bmc_address.is_some())
                    .then(|| inventory.position(h.name.as_str()))
                    .flatten()
            })
            .collect();
        let deadline = Instant::now() + wait;
        let ttl = shared.settings.power.status_ttl;
        let fresh =
            |known: &Option<(PowerState, Instant)>| known.is_some_and(|(_, at)| at.elapsed() < ttl);
        let mut state = shared.lock();
        for &position in positions.iter().flatten() {
            if !fresh(&state.known[position]) && !state.busy[position] {
                state.busy[position] = true;
                state.queue.push_back(position);
            }
        }
        shared.start_readers(&mut state);
        loop {
            // Only states never read (or forgotten after an action) are waited for; a state
            // that is merely old is answered as it was, and read again for the next listing.
            let waiting = positions
                .iter()
                .flatten()
                .any(|&p| state.known[p].is_none() && state.busy[p]);
            let now = Instant::now();
            if !waiting || now >= deadline {
                break;
            }
            state = shared
                .read
                .wait_timeout(state, deadline - now)
                .map(|(s, _)| s)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        for (report, position) in reports.iter_mut().zip(&positions) {
            if let Some(&Some((known, _))) = position.map(|p| &state.known[p]) {
                report.state = Some(known);
            }
        }
        reports
    }

    /// Runs the discovery command once for every distinct management subnet, within the
    /// shared limit, so the ARP table learns the BMCs' addresses. Returns the subnets
    /// scanned. A scan that exits non-zero (some addresses did not answer) is normal; one
    /// that cannot run is an error.
    pub fn refresh(&self) -> Result<Vec<String>, CommandError> {
        let settings = &self.shared.settings;
        let subnets: BTreeSet<String> = settings
            .inventory
            .hosts()
            .iter()
            .filter_map(|h| h.bmc.as_ref().and_then(|b| b.address().subnet.clone()))
            .collect();
        let subnets: Vec<String> = subnets.into_iter().collect();
        let timeout = settings.command_timeout;
        let outcomes: Vec<Result<(), CommandError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = subnets
                .iter()
                .map(|subnet| {
                    scope.spawn(move || {
                        let values = [("subnet".to_owned(), subnet.clone())];
                        let line =
                            CommandLine::build(&settings.discovery_cmd, &[], &values, vec![])?;
                        match self.shared.limit.run(|| line.run(timeout)) {
                            Ok(_) | Err(CommandError::Failed { .. }) => Ok(()),
                            Err(e) => Err(e),
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(CommandError::Empty)))
                .collect()
        });
        for outcome in outcomes {
            outcome?;
        }
        Ok(subnets)
    }
}

/// The BMC address of `host` with the ARP table `arp`.
fn bmc_address_in(host: &Host, arp: &ArpTable) -> Option<String> {
    let block = host.bmc.as_ref()?.address();
    block.hostname.clone().or_else(|| {
        block
            .mac_address
            .and_then(|mac| arp.ip_of(&mac))
            .map(|ip| ip.to_string())
    })
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the state kept for `host`.
    fn forget(&self, host: &Host) {
        if let Some(position) = self.settings.inventory.position(host.name.as_str()) {
            if let Some(known) = self.lock().known.get_mut(position) {
                *known = None;
            }
        }
    }

    /// Starts reader threads for the queued reads, up to the limit.
    fn start_readers(self: &Arc<Self>, state: &mut State) {
        let wanted = state.queue.len().min(self.limit.size());
        while state.readers < wanted {
            let shared = Arc::clone(self);
            let started = std::thread::Builder::new()
                .name("pxe-pilot-power".into())
                .spawn(move || shared.read_states());
            match started {
                Ok(_) => state.readers += 1,
                Err(e) => {
                    tracing::warn!("cannot start a power reader thread: {e}");
                    break;
                }
            }
        }
        self.work.notify_all();
    }

    /// A reader thread: reads queued states until none is queued for a while.
    fn read_states(self: Arc<Self>) {
        let mut state = self.lock();
        loop {
            let Some(position) = state.queue.pop_front() else {
                let (next, timeout) = self
                    .work
                    .wait_timeout(state, READER_IDLE)
                    .unwrap_or_else(|p| p.into_inner());
                state = next;
                if timeout.timed_out() && state.queue.is_empty() {
                    state.readers -= 1;
                    return;
                }
                continue;
            };
            drop(state);
            let host = &self.settings.inventory.hosts()[position];
            let read = self.status(host).unwrap_or_else(|error| {
                tracing::warn!(host = %host.name, %error, "power status unknown");
                PowerState::Unknown
            });
            state = self.lock();
            state.known[position] = Some((read, Instant::now()));
            state.busy[position] = false;
            self.read.notify_all();
        }
    }

    /// The driver of `host`'s BMC, or the error that says it has none.
    fn driver<'a>(&'a self, host: &'a Host) -> Result<Box<dyn BmcDriver + 'a>, PowerError> {
        match host.bmc.as_deref() {
            Some(Bmc::Ipmi(ipmi)) => Ok(Box::new(ipmi::IpmiDriver(ipmi))),
            Some(Bmc::Adapter(management)) => self
                .settings
                .adapters
                .get(&management.adapter)
                .map(|adapter| -> Box<dyn BmcDriver + 'a> {
                    Box::new(adapter::AdapterDriver {
                        management,
                        adapter,
                    })
                })
                .ok_or_else(|| not_configured(host)),
            Some(Bmc::Redfish(redfish)) => Ok(Box::new(redfish::RedfishDriver(redfish))),
            None => Err(not_configured(host)),
        }
    }

    /// What a driver is handed for `host`.
    fn call<'a>(&'a self, host: &'a Host) -> Call<'a> {
        Call {
            host,
            settings: &self.settings,
            limit: &self.limit,
        }
    }

    fn status(&self, host: &Host) -> Result<PowerState, PowerError> {
        self.driver(host)?.status(&self.call(host))
    }

    fn act(&self, host: &Host, action: PowerAction) -> Result<(), PowerError> {
        let driver = self.driver(host)?;
        // A reboot of a host that is off powers it on, whatever the BMC.
        let action = match action {
            PowerAction::Reboot if self.status(host) == Ok(PowerState::Off) => PowerAction::On,
            other => other,
        };
        driver.act(&self.call(host), action)
    }

    fn netboot_once(&self, host: &Host) -> Result<Netboot, PowerError> {
        self.driver(host)?.netboot_once(&self.call(host))
    }
}

fn not_configured(host: &Host) -> PowerError {
    PowerError::NotConfigured {
        host: host.name.to_string(),
    }
}
