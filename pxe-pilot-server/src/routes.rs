//! The routes of the HTTP API (DESIGN §3): each parses its request, calls one method of the
//! core's [`Service`] (which owns every rule: who may, what is recorded, what follows a
//! deploy or a boot), and writes the answer in the shared JSON types of
//! [`pxe_pilot_core::api`]. [`configure`] registers them; [`crate::app`] mounts them under
//! `/v1` and, for the original's clients, without the prefix.
//!
//! Calls that read or write the disk run in `web::block`, so a slow disk never stalls a
//! worker. Every change is logged once, as one line: who (peer address), which host, and the
//! old and new configuration.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use pxe_pilot_core::api::{
    BootloaderView, ConfigurationContent, ConfigurationView, DeployRequest, DeployResponse,
    ErrorBody, EventView, HostView, UnknownMachineView, VersionView,
};
use pxe_pilot_core::{
    Asker, BootFetch, DeployHost, Host, HostSelector, HostState, MacAddress, PilotError,
    PowerAction, Service,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::caller_of;
use crate::body::JsonBody;
use crate::error::{blocking, ApiError};
use crate::state::AppState;
use crate::views;

/// The one list of the routes: each path, its method and its handler. It makes [`configure`]
/// (the registrations) and [`RoutePaths`] (their OpenAPI paths, from each handler's
/// `#[utoipa::path]`), so a route cannot be served and left out of the document, or the
/// other way round.
macro_rules! routes {
    ($($path:literal $method:ident $allowed:literal => $handler:ident,)*) => {
        /// Registers every route (without prefix) with a JSON 405 for the other methods; the
        /// OpenAPI document's own route is [`crate::openapi::configure`]'s.
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
    let warning = pxe_pilot_core::boot::render::check(&file, &content)
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

/// `GET /v1/version`: `{"name":"pxe-pilot","version":"x.y.z"}`.
#[utoipa::path(get, path = "/v1/version", tag = "pxe-pilot",
    responses((status = 200, description = "The server's name and version", body = VersionView)))]
pub(crate) async fn version() -> web::Json<VersionView> {
    web::Json(VersionView::current())
}

/// `GET /v1/client/pxe-pilot`: the static client of `client.binary`, for installers
/// (`wget -O /target/tmp/pxe-pilot http://pxe:3478/v1/client/pxe-pilot`).
#[utoipa::path(get, path = "/v1/client/pxe-pilot", tag = "pxe-pilot",
    responses(
        (status = 200, description = "The static `pxe-pilot` client file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "No `client.binary` in the server's configuration file", body = ErrorBody)))]
pub(crate) async fn client_binary(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Some(path) = state.service().pilot().settings().client_binary.clone() else {
        return Err(ApiError::NoClient);
    };
    // Streamed from the file in pieces: forty downloads at once cost forty small buffers,
    // not forty copies of the binary.
    let file = actix_files::NamedFile::open_async(&path)
        .await
        .map_err(|e| {
            ApiError::Internal(format!("cannot read client.binary {}: {e}", path.display()))
        })?;
    tracing::debug!(peer = %peer(&req), "static client handed out");
    Ok(file
        .set_content_type(actix_web::mime::APPLICATION_OCTET_STREAM)
        .set_content_disposition(actix_web::http::header::ContentDisposition {
            disposition: actix_web::http::header::DispositionType::Attachment,
            parameters: vec![actix_web::http::header::DispositionParam::Filename(
                "pxe-pilot".into(),
            )],
        })
        .into_response(&req))
}

/// `GET /boot.ipxe` (and `/v1/boot.ipxe`): the iPXE entry script, which chains to the
/// asking host's own script by the MAC address it booted from.
#[utoipa::path(get, path = "/v1/boot.ipxe", tag = "boot",
    responses((status = 200, description = "The iPXE entry script", content_type = "text/plain")))]
pub(crate) async fn boot_entry(state: web::Data<AppState>) -> HttpResponse {
    let state = state.service();
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(pxe_pilot_core::boot::entry_script(
            state.pilot().bootloaders(),
        ))
}

/// `GET /v1/boot/{bootloader}/{mac}`: the configuration deployed to the host that owns `mac`
/// (any spelling), when it is one of `bootloader`'s, rendered for the host; otherwise a
/// script that hands over to the next boot device.
#[utoipa::path(get, path = "/v1/boot/{bootloader}/{mac}", tag = "boot",
    params(
        ("bootloader" = String, Path, description = "A bootloader declared with `http: ipxe` or `http: grub`"),
        ("mac" = String, Path, description = "The MAC address of the NIC that boots, any spelling")),
    responses(
        (status = 200, description = "The host's script, or one that hands over to the next boot device", content_type = "text/plain"),
        (status = 404, description = "No such bootloader, or it is not served over HTTP", body = ErrorBody),
        (status = 500, description = "The host's configuration is a template that does not render (the message names the file and line)", body = ErrorBody)))]
pub(crate) async fn boot_script(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (bootloader, mac) = path.into_inner();
    let server_url = server_url(&req);
    let peer = req.peer_addr();
    let service = state.service();
    let bytes = blocking(move || {
        let fetch = BootFetch {
            bootloader: &bootloader,
            mac: &mac,
            server_url: &server_url,
            peer,
        };
        Ok(service.boot_script(&fetch)?)
    })
    .await?;
    let mut response = HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(bytes);
    // GRUB 2's http module reads `Content-Length: ` only when spelt exactly so.
    response.head_mut().set_camel_case_headers(true);
    Ok(response)
}

/// `http://ADDRESS:PORT` as the host reached the server, for `{{ server.url }}`: the `Host`
/// header, with the port the connection came in on when the header has none (GRUB 2 sends
/// its `Host` without the port).
fn server_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    let host = info.host();
    let has_port = host
        .parse::<actix_web::http::uri::Authority>()
        .is_ok_and(|a| a.port_u16().is_some());
    let port = req.app_config().local_addr().port();
    let default = if info.scheme() == "https" { 443 } else { 80 };
    if has_port || port == default {
        format!("{}://{host}", info.scheme())
    } else {
        format!("{}://{host}:{port}", info.scheme())
    }
}

/// `GET /metrics`: the Prometheus text format, with what each host boots now.
pub async fn scrape(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let service = state.service();
    let metrics = state.metrics();
    let text = blocking(move || {
        let hosts = service.pilot().hosts()?;
        let deployments: Vec<_> = hosts.map(|h| h.deployment).collect();
        let running = service.power().running();
        metrics
            .render(deployments.iter(), running)
            .map_err(ApiError::Internal)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

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
