//! What every request handler shares: the [`Pilot`] service (settings, catalogue, store), the
//! power backend and the bearer token. Read-only after start; each piece sits behind an `Arc`
//! so that blocking work can take its own handle to the service.

use std::sync::Arc;

use pxe_pilot_core::Pilot;

use crate::auth::Token;
use crate::listing::Lister;
use crate::power::{CorePower, Power};

/// The application state, cloned into every worker.
#[derive(Clone)]
pub struct AppState {
    /// The deploy service; its calls touch the disk and run in `web::block`.
    pub pilot: Arc<Pilot>,
    /// The power backend ([`CorePower`] unless replaced).
    pub power: Arc<dyn Power>,
    /// The bearer token changes need, from `server.token`.
    pub token: Option<Token>,
    /// The thread `GET /v1/hosts` runs on.
    pub lister: Arc<Lister>,
}

impl AppState {
    /// The state for a service: its token comes from the service's `server.token`, power
    /// management is the core's ([`CorePower`]).
    pub fn new(pilot: Pilot) -> Self {
        let token = pilot.settings().server.token.clone().and_then(Token::new);
        let pilot = Arc::new(pilot);
        AppState {
            power: Arc::new(CorePower::new(pilot.clone())),
            pilot,
            token,
            lister: Arc::new(Lister::default()),
        }
    }

    /// The same state with another power backend ([`crate::power::NoPower`] in tests).
    pub fn with_power(mut self, power: Arc<dyn Power>) -> Self {
        self.power = power;
        self
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
