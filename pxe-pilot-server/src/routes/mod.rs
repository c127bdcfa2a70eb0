//! The routes of the HTTP API (DESIGN §3): each parses its request, calls one method of the
//! core's [`Service`] (which owns every rule: who may, what is recorded, what follows a
//! deploy or a boot), and writes the answer in the shared JSON types of
//! [`pxe_pilot_core::api`]. [`configure`] registers them; [`crate::app`] mounts them under
//! `/v1` and, for the original's clients, without the prefix.
//!
//! Calls that read or write the disk run in `web::block`, so a slow disk never stalls a
//! worker. Every change is logged once, as one line: who (peer address), which host, and the
//! old and new configuration.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use pxe_pilot_core::api::{
    BootloaderView, ConfigurationContent, ConfigurationView, DeployRequest, DeployResponse,
    ErrorBody, StatusView, VersionView,
};
use pxe_pilot_core::{Asker, DeployHost, HostSelector, PilotError};

use crate::auth::caller_of;
use crate::body::JsonBody;
use crate::error::{blocking, ApiError};
use crate::state::AppState;
use crate::views;

mod boot;
mod events;
mod hosts;

use boot::*;
use events::*;
use hosts::*;

/// The one list of the routes: each path, its method and its handler. It makes [`configure`]
/// (the registrations) and [`RoutePaths`] (their OpenAPI paths, from each handler's
/// `#[utoipa::path]`), so a route cannot be served and left out of the document, or the
/// other way round.
macro_rules! routes {
    ($($path:literal $method:ident $allowed:literal => $handler:ident,)*) => {
        /// Registers every route (without prefix) with a JSON 405 for the other methods; the
        /// OpenAPI document's own route is `openapi::configure`'s.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.service(resource($path, &[$allowed]).route(web::$method().to($handler)));)*
        }

        /// The OpenAPI paths of every route of [`configure`].
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($handler),*))]
        pub(crate) struct RoutePaths;
    };
}

routes! {
    "/healthcheck" get "GET" => healthcheck,
    "/bootloaders" get "GET" => bootloaders,
    "/configurations" get "GET" => configurations,
    "/configurations/{name}" get "GET" => configuration,
    "/configurations/{name}/deploy" put "PUT" => deploy,
    "/hosts" get "GET" => hosts,
    "/hosts/{name}" get "GET" => host,
    "/hosts/{name}/configuration" delete "DELETE" => undeploy,
    "/hosts/{name}/reboot" patch "PATCH" => reboot,
    "/hosts/{name}/on" patch "PATCH" => power_on,
    "/hosts/{name}/off" patch "PATCH" => power_off,
    "/refresh" patch "PATCH" => refresh,
    "/version" get "GET" => version,
    "/status" get "GET" => status,
    "/client/pxe-pilot" get "GET" => client_binary,
    "/boot.ipxe" get "GET" => boot_entry,
    "/hosts/{name}/events" get "GET" => host_events,
    "/events" get "GET" => events,
    "/unknown-machines" get "GET" => unknown_machines,
    "/boot/{bootloader}/{mac}" get "GET" => boot_script,
}

/// A resource whose other methods are answered 405 with the allowed ones (401 to a change
/// without the token: an anonymous caller learns nothing of the routes).
pub(crate) fn resource(path: &str, allowed: &'static [&'static str]) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        refuse_anonymous_change(&req)?;
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            path: req.path().to_owned(),
            allowed,
        })
    }))
}

/// The answer for a path no route has (the app's default service).
pub async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    refuse_anonymous_change(&req)?;
    Err(ApiError::NoRoute {
        method: req.method().to_string(),
        path: req.path().chars().take(256).collect(),
    })
}

/// A 401 for a change (any method but a read) by an anonymous caller.
fn refuse_anonymous_change(req: &HttpRequest) -> Result<(), ApiError> {
    match caller_of(req) {
        pxe_pilot_core::Caller::Anonymous(why) if !crate::auth::is_read(req.method()) => {
            Err(ApiError::Unauthorized(why))
        }
        _ => Ok(()),
    }
}

/// Who asks, from where: for the service's rules and its records.
fn asker(req: &HttpRequest) -> Asker {
    Asker::new(caller_of(req), req.peer_addr())
}

/// Who sent a request, for the log.
fn peer(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "-".into())
}

/// `GET /v1/healthcheck`: 204.
#[utoipa::path(get, path = "/v1/healthcheck", tag = "original",
    responses((status = 204, description = "The server is up")))]
pub(crate) async fn healthcheck() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// `GET /v1/bootloaders`.
#[utoipa::path(get, path = "/v1/bootloaders", tag = "original",
    responses((status = 200, description = "The declared bootloaders (`[]` in a flat catalogue)", body = [BootloaderView])))]
pub(crate) async fn bootloaders(state: web::Data<AppState>) -> web::Json<Vec<BootloaderView>> {
    let state = state.service();
    web::Json(
        state
            .pilot()
            .bootloaders()
            .iter()
            .map(views::bootloader)
            .collect(),
    )
}

/// `GET /v1/configurations`, sorted by bootloader then name.
#[utoipa::path(get, path = "/v1/configurations", tag = "original",
    responses((status = 200, description = "The catalogue, sorted by bootloader then name", body = [ConfigurationView])))]
pub(crate) async fn configurations(
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<ConfigurationView>>, ApiError> {
    let state = state.service();
    let list = blocking(move || Ok(state.pilot().configurations()?)).await?;
    Ok(web::Json(list.iter().map(views::configuration).collect()))
}

/// `GET /v1/configurations/{name}`: the file's text.
#[utoipa::path(get, path = "/v1/configurations/{name}", tag = "original",
    params(("name" = String, Path, description = "A configuration's name")),
    responses(
        (status = 200, description = "The configuration file's text", body = ConfigurationContent),
        (status = 404, description = "No such configuration", body = ErrorBody)))]
pub(crate) async fn configuration(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<web::Json<ConfigurationContent>, ApiError> {
    let state = state.service();
    let name = name.into_inner();
    let (configuration, content) =
        blocking(move || Ok(state.pilot().configuration(&name)?)).await?;
    let file = configuration.path.display().to_string();
    let warning = pxe_pilot_core::check_template(&file, &content)
        .err()
        .map(|e| e.to_string());
    Ok(web::Json(ConfigurationContent {
        name: configuration.name.to_string(),
        content,
        warning,
    }))
}

/// `PUT /v1/configurations/{name}/deploy`: every host is checked before anything is written.
#[utoipa::path(put, path = "/v1/configurations/{name}/deploy", tag = "original",
    params(("name" = String, Path, description = "The configuration to deploy")),
    request_body(content = DeployRequest, description = "The hosts, by name or any MAC address; read as JSON whatever the Content-Type"),
    responses(
        (status = 200, description = "Every host switched", body = DeployResponse),
        (status = 207, description = "A host's write failed after others were switched: each host says what became of it", body = DeployResponse),
        (status = 400, description = "Malformed body or MAC address", body = ErrorBody),
        (status = 401, description = "server.token is set and the request lacks it", body = ErrorBody),
        (status = 404, description = "Unknown configuration, host or MAC", body = ErrorBody),
        (status = 409, description = "A host named twice, or a name and a MAC that disagree", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub(crate) async fn deploy(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: JsonBody<DeployRequest>,
) -> Result<HttpResponse, ApiError> {
    // Parsed at the edge: the core gets names and MAC addresses it can trust.
    let hosts = body
        .0
        .hosts
        .iter()
        .map(|q| {
            Ok(DeployHost {
                selector: HostSelector::parse(q.name.as_deref(), q.mac_address.as_deref())?,
                reboot: q.reboot,
                once: q.once,
            })
        })
        .collect::<Result<Vec<_>, PilotError>>()?;
    let asker = asker(&req);
    let name = name.into_inner();
    let service = state.service();
    let report = blocking(move || Ok(service.deploy(&name, &hosts, &asker)?)).await?;
    let status = match report.failure {
        Some(_) => StatusCode::MULTI_STATUS,
        None => StatusCode::OK,
    };
    Ok(HttpResponse::build(status).json(views::deployed(&report)))
}

/// `GET /v1/version`: `{"name":"pxe-pilot","version":"x.y.z"}`.
#[utoipa::path(get, path = "/v1/version", tag = "pxe-pilot",
    responses((status = 200, description = "The server's name and version", body = VersionView)))]
pub(crate) async fn version() -> web::Json<VersionView> {
    web::Json(VersionView::current())
}

/// `GET /v1/status`: where the server keeps its state and how that is doing (DESIGN §9).
#[utoipa::path(get, path = "/v1/status", tag = "pxe-pilot",
    responses((status = 200, description = "The store, etcd's and the mirror's state, the servers seen", body = StatusView)))]
pub(crate) async fn status(state: web::Data<AppState>) -> web::Json<StatusView> {
    let service = state.service();
    let store = service.store().status();
    web::Json(views::status(&store, &service.pilot().settings().site))
}

/// `GET /metrics`: the Prometheus text format, with what each host boots now.
pub async fn scrape(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let service = state.service();
    let metrics = state.metrics();
    let text = blocking(move || {
        let hosts = service.pilot().hosts()?;
        let deployments: Vec<_> = hosts.map(|h| h.deployment).collect();
        let running = service.power().running();
        let store = service.store().status();
        metrics
            .render(deployments.iter(), running, &store)
            .map_err(ApiError::Internal)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
