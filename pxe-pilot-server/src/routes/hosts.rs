//! The routes of the hosts: list and read them, undeploy one, its power actions, refresh.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use pxe_pilot_core::api::{ErrorBody, HostView};
use pxe_pilot_core::{Host, HostState, MacAddress, PilotError, PowerAction, Service};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{blocking, ApiError};
use crate::state::AppState;
use crate::views;

use super::asker;

/// The query string of `GET /v1/hosts` and `GET /v1/hosts/{name}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HostsQuery {
    /// Query power states (default true); `false` runs no command.
    #[param(value_type = Option<bool>)]
    pub status: Option<String>,
    /// Only the host that owns this MAC address (any spelling); the answer is then one host.
    #[serde(alias = "macAddress", alias = "mac_address")]
    pub mac: Option<String>,
}

impl HostsQuery {
    /// `status` as the original reads it (Go's `strconv.ParseBool`), true when absent.
    fn status(&self) -> Result<bool, ApiError> {
        match self.status.as_deref() {
            None | Some("") => Ok(true),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
            Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
            Some(other) => Err(ApiError::BadQuery(format!(
                "status={:?} is not a boolean: use status=true or status=false",
                other.chars().take(64).collect::<String>()
            ))),
        }
    }
}

/// How long a request for one host waits for its power state: a whole command.
fn one_host_wait(service: &Service) -> Duration {
    service.pilot().settings().command_timeout + Duration::from_secs(1)
}

/// The view of one host and what it boots, with its power state when `status`.
fn host_view(service: &Service, host: HostState<'_>, status: bool) -> HostView {
    let report = service
        .power()
        .overview(&[host.host], status, one_host_wait(service))
        .pop()
        .unwrap_or_default();
    let last_boot = service.store().last_boot(&host.host.name);
    views::host(&host, report, last_boot)
}

/// `GET /v1/hosts?status=true|false`, or `?mac=...` for one host.
#[utoipa::path(get, path = "/v1/hosts", tag = "original", params(HostsQuery),
    responses(
        (status = 200, description = "Every host (or, with `mac`, the one host that owns it) and what it boots", body = [HostView]),
        (status = 400, description = "A bad `status` or MAC address", body = ErrorBody),
        (status = 404, description = "`mac`: no host has it", body = ErrorBody)))]
pub(crate) async fn hosts(
    state: web::Data<AppState>,
    query: web::Query<HostsQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = query.status()?;
    let mac = query
        .mac
        .as_deref()
        .map(MacAddress::parse)
        .transpose()
        .map_err(PilotError::from)?;
    let state = state.service();
    let body = blocking(move || -> Result<Vec<u8>, ApiError> {
        if let Some(mac) = mac {
            let view = host_view(&state, state.pilot().host_by_mac(&mac)?, status);
            return Ok(serde_json::to_vec(&view)?);
        }
        let inventory = &state.pilot().settings().inventory;
        let hosts: Vec<&Host> = inventory.hosts().iter().collect();
        let wait = state.pilot().settings().power.status_wait;
        let reports = state.power().overview(&hosts, status, wait);
        // The JSON is written host by host as the states are worked out: no list of views.
        let views = state.pilot().hosts()?.zip(reports).map(|(host, report)| {
            let last_boot = state.store().last_boot(&host.host.name);
            views::host(&host, report, last_boot)
        });
        let mut body = Vec::new();
        serde::Serializer::collect_seq(&mut serde_json::Serializer::new(&mut body), views)?;
        Ok(body)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body))
}

/// `GET /v1/hosts/{name}`.
#[utoipa::path(get, path = "/v1/hosts/{name}", tag = "pxe-pilot",
    params(("name" = String, Path, description = "A host's name"), HostsQuery),
    responses(
        (status = 200, description = "The host and what it boots", body = HostView),
        (status = 404, description = "No such host", body = ErrorBody)))]
pub(crate) async fn host(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<HostsQuery>,
) -> Result<web::Json<HostView>, ApiError> {
    let status = query.status()?;
    let state = state.service();
    let view = blocking(move || -> Result<HostView, ApiError> {
        Ok(host_view(&state, state.pilot().host(&name)?, status))
    })
    .await?;
    Ok(web::Json(view))
}

/// `DELETE /v1/hosts/{name}/configuration`: the host falls back to the bootloader's default.
#[utoipa::path(delete, path = "/v1/hosts/{name}/configuration", tag = "pxe-pilot",
    params(("name" = String, Path, description = "A host's name")),
    responses(
        (status = 200, description = "Its entries are removed (of every bootloader)", body = HostView),
        (status = 401, description = "server.token is set and the request lacks it", body = ErrorBody),
        (status = 404, description = "No such host", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub(crate) async fn undeploy(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<web::Json<HostView>, ApiError> {
    let asker = asker(&req);
    let service = state.service();
    let view = blocking(move || -> Result<HostView, ApiError> {
        let now = service.undeploy(&name, &asker)?;
        Ok(host_view(&service, now, false))
    })
    .await?;
    Ok(web::Json(view))
}

/// `PATCH /v1/hosts/{name}/reboot|on|off`: 204, 404 unknown host, 409 power refused or failed.
async fn power(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    action: PowerAction,
) -> Result<HttpResponse, ApiError> {
    let asker = asker(&req);
    let service = state.service();
    blocking(move || Ok(service.power_action(&name, action, &asker)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(patch, path = "/v1/hosts/{name}/reboot", tag = "original",
    params(("name" = String, Path, description = "A host's name")),
    responses(
        (status = 204, description = "Rebooted (or powered on when off)"),
        (status = 401, description = "server.token is set and the request lacks it", body = ErrorBody),
        (status = 404, description = "No such host", body = ErrorBody),
        (status = 409, description = "No power management, or it failed", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub(crate) async fn reboot(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    power(req, state, name, PowerAction::Reboot).await
}

#[utoipa::path(patch, path = "/v1/hosts/{name}/on", tag = "original",
    params(("name" = String, Path, description = "A host's name")),
    responses(
        (status = 204, description = "Powered on"),
        (status = 401, description = "server.token is set and the request lacks it", body = ErrorBody),
        (status = 404, description = "No such host", body = ErrorBody),
        (status = 409, description = "No power management, or it failed", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub(crate) async fn power_on(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    power(req, state, name, PowerAction::On).await
}

#[utoipa::path(patch, path = "/v1/hosts/{name}/off", tag = "original",
    params(("name" = String, Path, description = "A host's name")),
    responses(
        (status = 204, description = "Powered off"),
        (status = 401, description = "server.token is set and the request lacks it", body = ErrorBody),
        (status = 404, description = "No such host", body = ErrorBody),
        (status = 409, description = "No power management, or it failed", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub(crate) async fn power_off(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    power(req, state, name, PowerAction::Off).await
}

/// `PATCH /v1/refresh`: 204 once the management subnets are scanned.
#[utoipa::path(patch, path = "/v1/refresh", tag = "original",
    responses(
        (status = 204, description = "The management subnets were scanned"),
        (status = 401, description = "server.token is set and the request lacks it", body = ErrorBody),
        (status = 409, description = "The discovery command failed", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub(crate) async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let asker = asker(&req);
    let service = state.service();
    blocking(move || Ok(service.refresh(&asker)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}
