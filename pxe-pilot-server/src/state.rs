//! What every request handler shares: the [`Pilot`] service (settings, catalogue, store), the
//! [`PowerService`] (every BMC command, bounded and cached), the [`EventLog`], the hosts that
//! boot a configuration [`once`](OnceList), and the bearer token. Each piece sits behind an
//! `Arc` so that blocking work can take its own handle.

use std::sync::Arc;

use pxe_pilot_core::events::DEFAULT_KEEP;
use pxe_pilot_core::once::{OnceError, OnceList};
use pxe_pilot_core::{EventError, EventLog, NewEvent, Pilot, PowerService};

use crate::auth::Token;

/// The application state, cloned into every worker.
#[derive(Clone)]
pub struct AppState {
    /// The deploy service; its calls touch the disk and run in `web::block`.
    pub pilot: Arc<Pilot>,
    /// Power management under the same settings; its calls block too.
    pub power: PowerService,
    /// What happened, host by host.
    pub events: Arc<EventLog>,
    /// The hosts deployed with `once`.
    pub once: Arc<OnceList>,
    /// The bearer token changes need, from `server.token`.
    pub token: Option<Token>,
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
        let settings = pilot.settings();
        let token = settings.server.token.clone().and_then(Token::new);
        let state_dir = settings.state_dir.as_deref();
        if state_dir.is_none() {
            tracing::warn!("no state_dir in the configuration file: events are kept in memory only, lost at restart");
        }
        let events = EventLog::open(state_dir, DEFAULT_KEEP)?;
        let once = OnceList::open(state_dir)?;
        let power = PowerService::new(pilot.shared_settings());
        Ok(AppState {
            pilot: Arc::new(pilot),
            power,
            events: Arc::new(events),
            once: Arc::new(once),
            token,
        })
    }

    /// Records `event`; a failure is logged, never answered (the change it reports happened).
    pub fn record(&self, event: NewEvent) {
        if let Err(e) = self.events.record(event) {
            tracing::error!("event not recorded: {e}");
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("pilot", &self.pilot)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}
