//! What every request handler shares. [`AppState`] holds the current [`Service`]: the
//! [`Pilot`] (settings, catalogue, store), the [`PowerService`] and the bearer token of one
//! reading of the configuration file, with the [`EventLog`], the [`OnceList`] and the
//! [`Metrics`] that outlive it. A reload (SIGHUP) puts a new service in place for the next
//! requests; a request in flight keeps the one it started with.

use std::path::Path;
use std::sync::{Arc, RwLock};

use pxe_pilot_core::events::DEFAULT_KEEP;
use pxe_pilot_core::once::{OnceError, OnceList};
use pxe_pilot_core::{EventError, EventLog, NewEvent, Pilot, PowerService, Settings};

use crate::auth::Token;
use crate::metrics::Metrics;

/// The application state, cloned into every worker.
#[derive(Clone)]
pub struct AppState {
    current: Arc<RwLock<Arc<Service>>>,
}

/// One reading of the configuration file, and what outlives it: what a request is served
/// with, from start to end.
pub struct Service {
    /// The deploy service; its calls touch the disk and run in `web::block`.
    pub pilot: Pilot,
    /// Power management under the same settings; its calls block too.
    pub power: PowerService,
    /// The bearer token changes need, from `server.token`.
    pub token: Option<Token>,
    /// What happened, host by host (kept across reloads).
    pub events: Arc<EventLog>,
    /// The hosts deployed with `once` (kept across reloads).
    pub once: Arc<OnceList>,
    /// The counters of `GET /metrics` (kept across reloads).
    pub metrics: Arc<Metrics>,
}

/// Why the state cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The event log.
    #[error(transparent)]
    Events(#[from] EventError),
    /// The `once` list.
    #[error(transparent)]
    Once(#[from] OnceError),
}

impl AppState {
    /// The state for a service: power management and the token come from its settings, the
    /// event log and the `once` list are kept in its `state_dir` (in memory without one).
    pub fn open(pilot: Pilot) -> Result<Self, StateError> {
        let state_dir = pilot.settings().state_dir.as_deref();
        if state_dir.is_none() {
            tracing::warn!("no state_dir in the configuration file: events are kept in memory only, lost at restart");
        }
        let events = Arc::new(EventLog::open(state_dir, DEFAULT_KEEP)?);
        let once = Arc::new(OnceList::open(state_dir)?);
        let service = Service::new(pilot, events, once, Arc::new(Metrics::new()));
        Ok(AppState {
            current: Arc::new(RwLock::new(Arc::new(service))),
        })
    }

    /// The service the next request is served with.
    pub fn service(&self) -> Arc<Service> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&current)
    }

    /// Serves the next requests with `pilot` (a new reading of the configuration file): its
    /// settings, power management and token; events, `once` list and metrics carry on. The
    /// state folder is the one the server started with (changing it needs a restart).
    pub fn replace(&self, pilot: Pilot) {
        let old = self.service();
        if pilot.settings().state_dir != old.pilot.settings().state_dir {
            tracing::warn!(
                "state_dir changed in the configuration file: it takes effect at the next restart"
            );
        }
        let service = Service::new(
            pilot,
            Arc::clone(&old.events),
            Arc::clone(&old.once),
            Arc::clone(&old.metrics),
        );
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(service);
    }

    /// Reads the configuration file at `path` again and serves the next requests with it;
    /// an invalid file changes nothing and the error says why (one line).
    pub fn reload(&self, path: &Path) -> Result<usize, String> {
        let (settings, warnings) = Settings::load(path).map_err(|e| e.to_string())?;
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        let hosts = settings.inventory.hosts().len();
        let pilot = Pilot::open(settings).map_err(|e| e.to_string())?;
        self.replace(pilot);
        Ok(hosts)
    }
}

impl Service {
    fn new(
        pilot: Pilot,
        events: Arc<EventLog>,
        once: Arc<OnceList>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let token = pilot.settings().server.token.clone().and_then(Token::new);
        let power = PowerService::new(pilot.shared_settings());
        Service {
            pilot,
            power,
            token,
            events,
            once,
            metrics,
        }
    }

    /// Records `event` and counts it; a failure to record is logged, never answered (the
    /// change it reports happened).
    pub fn record(&self, event: NewEvent) {
        self.metrics.count(&event);
        if let Err(e) = self.events.record(event) {
            tracing::error!("event not recorded: {e}");
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("pilot", &self.service().pilot)
            .finish_non_exhaustive()
    }
}
