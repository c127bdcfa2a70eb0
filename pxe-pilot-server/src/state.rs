//! What every request handler shares: the [`Pilot`] service (settings, catalogue, store), the
//! [`PowerService`] (every BMC command, bounded and cached) and the bearer token. Read-only
//! after start; each piece sits behind an `Arc` so that blocking work can take its own handle.

use std::sync::Arc;

use pxe_pilot_core::{Pilot, PowerService};

use crate::auth::Token;

/// The application state, cloned into every worker.
#[derive(Clone)]
pub struct AppState {
    /// The deploy service; its calls touch the disk and run in `web::block`.
    pub pilot: Arc<Pilot>,
    /// Power management under the same settings; its calls block too.
    pub power: PowerService,
    /// The bearer token changes need, from `server.token`.
    pub token: Option<Token>,
}

impl AppState {
    /// The state for a service: power management and the token come from its settings.
    pub fn new(pilot: Pilot) -> Self {
        let token = pilot.settings().server.token.clone().and_then(Token::new);
        let power = PowerService::new(pilot.shared_settings());
        AppState {
            pilot: Arc::new(pilot),
            power,
            token,
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
