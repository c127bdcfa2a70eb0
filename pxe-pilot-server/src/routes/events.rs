//! The routes of the history: the events of a host, of all, and the unknown machines.

use actix_web::web;
use pxe_pilot_core::api::{ErrorBody, EventView, UnknownMachineView};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::state::AppState;
use crate::views;

/// The query string of the event routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// How many events at most (default 50, at most 1,000).
    pub limit: Option<usize>,
    /// `GET /v1/events`: only the events after this id (default 0: from the oldest kept).
    pub since: Option<u64>,
}

impl EventsQuery {
    fn limit(&self) -> usize {
        self.limit.unwrap_or(50).clamp(1, 1000)
    }
}

/// `GET /v1/hosts/{name}/events?limit=N`: the host's events, newest first.
#[utoipa::path(get, path = "/v1/hosts/{name}/events", tag = "pxe-pilot",
    params(("name" = String, Path, description = "A host's name"), EventsQuery),
    responses(
        (status = 200, description = "The host's events, newest first", body = [EventView]),
        (status = 404, description = "No such host", body = ErrorBody)))]
pub(crate) async fn host_events(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<EventsQuery>,
) -> Result<web::Json<Vec<EventView>>, ApiError> {
    let state = state.service();
    let host = state.pilot().named(&name)?;
    let events = state.store().events_for(&host.name, query.limit());
    Ok(web::Json(events.iter().map(views::event).collect()))
}

/// `GET /v1/events?since=ID&limit=N`: every host's events after `since`, oldest first.
#[utoipa::path(get, path = "/v1/events", tag = "pxe-pilot", params(EventsQuery),
    responses((status = 200, description = "The events after `since`, oldest first", body = [EventView])))]
pub(crate) async fn events(
    state: web::Data<AppState>,
    query: web::Query<EventsQuery>,
) -> web::Json<Vec<EventView>> {
    let events = state
        .service()
        .store()
        .events_since(query.since.unwrap_or(0), query.limit());
    web::Json(events.iter().map(views::event).collect())
}

/// `GET /v1/unknown-machines`: the machines seen booting whose MAC address no host has, last
/// seen first (bounded: the longest unseen are forgotten first).
#[utoipa::path(get, path = "/v1/unknown-machines", tag = "pxe-pilot",
    responses((status = 200, description = "The machines seen booting that no host owns, last seen first", body = [UnknownMachineView])))]
pub(crate) async fn unknown_machines(
    state: web::Data<AppState>,
) -> web::Json<Vec<UnknownMachineView>> {
    let machines = state.service().unknown().list();
    web::Json(machines.iter().map(views::unknown_machine).collect())
}
