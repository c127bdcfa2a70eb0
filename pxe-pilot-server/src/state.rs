//! What every request handler shares. [`AppState`] holds the current core
//! [`Service`] (one reading of the configuration file, and what it keeps across readings),
//! the bearer token of that reading, and the [`Metrics`] that outlive it. A reload (SIGHUP)
//! puts a new service in place for the next requests; a request in flight keeps the one it
//! started with.

use std::path::Path;
use std::sync::{Arc, RwLock};

use pxe_pilot_core::{Kept, Pilot, Service, Settings};

use crate::metrics::Metrics;
use crate::token::Token;

/// The application state, cloned into every worker.
#[derive(Clone)]
pub struct AppState {
    current: Arc<RwLock<Current>>,
    metrics: Arc<Metrics>,
}

/// One reading of the configuration file: the service and the token it asks for changes.
#[derive(Clone)]
struct Current {
    service: Arc<Service>,
    token: Option<Token>,
}

impl AppState {
    /// The state for `pilot`: power management and the token come from its settings; the
    /// entries, events and `once` list are in its store.
    pub fn open(pilot: Pilot) -> Self {
        let files = matches!(pilot.settings().store, pxe_pilot_core::StoreKind::Files);
        if files && pilot.settings().state_dir.is_none() {
            tracing::warn!("no state_dir in the configuration file: events are kept in memory only, lost at restart");
        }
        let metrics = Arc::new(Metrics::new());
        let kept = Kept::new(metrics.clone());
        let current = Current::of(Service::new(pilot, kept));
        AppState {
            current: Arc::new(RwLock::new(current)),
            metrics,
        }
    }

    /// The service the next request is served with.
    pub fn service(&self) -> Arc<Service> {
        self.current().service
    }

    /// The token changes need now, if the configuration file sets one.
    pub fn token(&self) -> Option<Token> {
        self.current().token
    }

    /// The counters of `GET /metrics` (kept across reloads).
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    fn current(&self) -> Current {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Serves the next requests with `pilot` (a new reading of the configuration file): its
    /// settings, power management and token; events, `once` list and metrics carry on. The
    /// state folder is the one the server started with (changing it needs a restart).
    pub fn replace(&self, pilot: Pilot) {
        let old = self.service();
        let current = Current::of(old.reloaded(pilot));
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = current;
    }

    /// Reads the configuration file at `path` again and serves the next requests with it;
    /// an invalid file changes nothing and the error says why (one line).
    pub fn reload(&self, path: &Path) -> Result<usize, String> {
        let (settings, warnings) = Settings::load(path).map_err(|e| e.to_string())?;
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        let hosts = settings.inventory.hosts().len();
        crate::startup::check_neighbour_table(&settings);
        let old = self.service();
        let running = old.pilot().settings();
        if settings.state_dir != running.state_dir || settings.store != running.store {
            tracing::warn!(
                "state_dir or store changed in the configuration file: it takes effect at the next restart"
            );
        }
        let store = Arc::clone(old.pilot().store());
        store.reconfigure(&settings).map_err(|e| e.to_string())?;
        self.replace(Pilot::with_store(settings, store));
        Ok(hosts)
    }
}

impl Current {
    fn of(service: Service) -> Self {
        let token = service
            .pilot()
            .settings()
            .server
            .token
            .clone()
            .and_then(Token::new);
        Current {
            service: Arc::new(service),
            token,
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("pilot", self.service().pilot())
            .finish_non_exhaustive()
    }
}
