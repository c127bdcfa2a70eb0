//! The routes of the HTTP API (DESIGN §3): each turns a request into a call of the core's
//! [`Pilot`](pxe_pilot_core::Pilot) or of the power backend, and the answer into the shared JSON
//! types of [`pxe_pilot_core::api`]. [`configure`] registers them; [`crate::app`] mounts them
//! under `/v1` and, for the original's clients, without the prefix.
//!
//! Calls that read or write the disk run in `web::block`, so a slow disk never stalls a
//! worker. Every change is logged once, as one line: who (peer address), which host, and the
//! old and new configuration.

use actix_web::{web, HttpRequest, HttpResponse};
use pxe_pilot_core::api::{
    BootloaderView, ConfigurationContent, ConfigurationView, DeployRequest, DeployResponse,
    DeployedHost, ErrorBody, HostView, Rebooted, VersionView,
};
use pxe_pilot_core::{Deployment, Host, HostName, HostState, PilotError, PowerAction};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::state::AppState;

/// Registers every route (without prefix) with a JSON 405 for the other methods.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthcheck", &["GET"]).route(web::get().to(healthcheck)))
        .service(resource("/bootloaders", &["GET"]).route(web::get().to(bootloaders)))
        .service(resource("/configurations", &["GET"]).route(web::get().to(configurations)))
        .service(resource("/configurations/{name}", &["GET"]).route(web::get().to(configuration)))
        .service(resource("/configurations/{name}/deploy", &["PUT"]).route(web::put().to(deploy)))
        .service(resource("/hosts", &["GET"]).route(web::get().to(hosts)))
        .service(resource("/hosts/{name}", &["GET"]).route(web::get().to(host)))
        .service(
            resource("/hosts/{name}/configuration", &["DELETE"]).route(web::delete().to(undeploy)),
        )
        .service(resource("/hosts/{name}/reboot", &["PATCH"]).route(web::patch().to(reboot)))
        .service(resource("/hosts/{name}/on", &["PATCH"]).route(web::patch().to(power_on)))
        .service(resource("/hosts/{name}/off", &["PATCH"]).route(web::patch().to(power_off)))
        .service(resource("/refresh", &["PATCH"]).route(web::patch().to(refresh)))
        .service(resource("/version", &["GET"]).route(web::get().to(version)))
        .service(resource("/openapi.json", &["GET"]).route(web::get().to(openapi)))
        .service(resource("/client/pxe-pilot", &["GET"]).route(web::get().to(client_binary)));
}

/// A resource whose other methods are answered 405 with the allowed ones.
pub(crate) fn resource(path: &str, allowed: &'static [&'static str]) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            path: req.path().to_owned(),
            allowed,
        })
    }))
}

/// The answer for a path no route has (the app's default service).
pub async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NoRoute {
        method: req.method().to_string(),
        path: req.path().chars().take(256).collect(),
    })
}

/// Who sent a request, for the change log.
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
    web::Json(
        state
            .pilot
            .bootloaders()
            .iter()
            .map(BootloaderView::from)
            .collect(),
    )
}

/// `GET /v1/configurations`, sorted by bootloader then name.
#[utoipa::path(get, path = "/v1/configurations", tag = "original",
    responses((status = 200, description = "The catalogue, sorted by bootloader then name", body = [ConfigurationView])))]
pub(crate) async fn configurations(
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<ConfigurationView>>, ApiError> {
    let pilot = state.pilot.clone();
    let list = web::block(move || pilot.configurations()).await??;
    Ok(web::Json(
        list.iter().map(ConfigurationView::from).collect(),
    ))
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
    let pilot = state.pilot.clone();
    let name = name.into_inner();
    let (configuration, content) = web::block(move || pilot.configuration(&name)).await??;
    Ok(web::Json(ConfigurationContent {
        name: configuration.name.to_string(),
        content,
    }))
}

/// `PUT /v1/configurations/{name}/deploy`: every host is checked before anything is written.
#[utoipa::path(put, path = "/v1/configurations/{name}/deploy", tag = "original",
    params(("name" = String, Path, description = "The configuration to deploy")),
    request_body(content = DeployRequest, description = "The hosts, by name or any MAC address; read as JSON whatever the Content-Type"),
    responses(
        (status = 200, description = "Every host switched", body = DeployResponse),
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
) -> Result<web::Json<DeployResponse>, ApiError> {
    let pilot = state.pilot.clone();
    let name = name.into_inner();
    let request = body.0;
    let (configuration, switched) = web::block(move || {
        let (configuration, switched) = pilot.deploy(&name, &request.hosts)?;
        let switched: Vec<(HostName, Deployment, bool)> = switched
            .into_iter()
            .map(|s| (s.host.name.clone(), s.previous, s.reboot))
            .collect();
        Ok::<_, PilotError>((configuration.name.to_string(), switched))
    })
    .await??;
    let peer = peer(&req);
    let mut hosts = Vec::with_capacity(switched.len());
    for (host_name, previous, reboot) in switched {
        tracing::info!(
            peer = %peer,
            host = %host_name,
            change = %format_args!("{} -> {configuration}", previous.label()),
            "configuration deployed"
        );
        let rebooted = if reboot {
            reboot_after_deploy(&state, &host_name, &peer).await
        } else {
            Rebooted::No
        };
        hosts.push(DeployedHost {
            name: host_name.to_string(),
            configuration: configuration.clone(),
            rebooted,
        });
    }
    Ok(web::Json(DeployResponse { hosts }))
}

/// The reboot a deploy asked for; a failure does not undo the deploy.
async fn reboot_after_deploy(state: &AppState, host_name: &HostName, peer: &str) -> Rebooted {
    let Some(host) = state.pilot.settings().inventory.by_name(host_name.as_str()) else {
        return Rebooted::Error;
    };
    match state.power.act(host, PowerAction::Reboot).await {
        Ok(()) => {
            tracing::info!(peer = %peer, host = %host_name, "host rebooted after deploy");
            Rebooted::Yes
        }
        Err(e) => {
            tracing::warn!(peer = %peer, host = %host_name, "reboot after deploy failed: {e}");
            Rebooted::Error
        }
    }
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

/// A host's view, with what power management reports (the power state when `status`).
async fn view(state: &AppState, host: &Host, deployment: Deployment, status: bool) -> HostView {
    let report = state
        .power
        .overview(&[host], status)
        .await
        .pop()
        .unwrap_or_default();
    HostView::new(
        &HostState { host, deployment },
        report.bmc_address,
        report.state,
    )
}

/// The host named `name` in the inventory (memory only).
fn host_named<'a>(state: &'a AppState, name: &str) -> Result<&'a Host, ApiError> {
    state
        .pilot
        .settings()
        .inventory
        .by_name(name)
        .ok_or_else(|| {
            PilotError::UnknownHost {
                name: name.chars().take(128).collect(),
            }
            .into()
        })
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
    let pilot = state.pilot.clone();
    if let Some(mac) = query.into_inner().mac {
        let (name, deployment) = web::block(move || {
            pilot
                .host_by_mac(&mac)
                .map(|s| (s.host.name.clone(), s.deployment))
        })
        .await??;
        let host = host_named(&state, name.as_str())?;
        return Ok(HttpResponse::Ok().json(view(&state, host, deployment, status).await));
    }
    let hosts: Vec<&Host> = state.pilot.settings().inventory.hosts().iter().collect();
    let reports = state.power.overview(&hosts, status).await;
    // Read the state and write the JSON in one go, one host at a time (no list of states or
    // views), on the listing thread (see `crate::listing`).
    let body = state
        .lister
        .body(move |capacity| {
            let views = pilot
                .host_states()?
                .zip(
                    reports
                        .into_iter()
                        .chain(std::iter::repeat_with(Default::default)),
                )
                .map(|(state, report)| HostView::new(&state, report.bmc_address, report.state));
            pxe_pilot_core::api::json_array(views, capacity)
                .map_err(|e| ApiError::Internal(format!("cannot write the hosts' JSON: {e}")))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(crate::listing::Pieces::new(body)))
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
    let pilot = state.pilot.clone();
    let name = name.into_inner();
    let deployment = {
        let name = name.clone();
        web::block(move || pilot.host(&name).map(|s| s.deployment)).await??
    };
    let host = host_named(&state, &name)?;
    Ok(web::Json(view(&state, host, deployment, status).await))
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
    let pilot = state.pilot.clone();
    let name = name.into_inner();
    let previous = {
        let name = name.clone();
        web::block(move || pilot.undeploy(&name).map(|s| s.previous)).await??
    };
    let host = host_named(&state, &name)?;
    if previous == Deployment::NotDeployed {
        tracing::debug!(peer = %peer(&req), host = %host.name, "undeploy: nothing was deployed");
    } else {
        tracing::info!(
            peer = %peer(&req),
            host = %host.name,
            change = %format_args!("{} -> -", previous.label()),
            "configuration removed"
        );
    }
    Ok(web::Json(
        view(&state, host, Deployment::NotDeployed, false).await,
    ))
}

/// `PATCH /v1/hosts/{name}/reboot|on|off`: 204, 404 unknown host, 409 power refused or failed.
async fn power(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    action: PowerAction,
) -> Result<HttpResponse, ApiError> {
    let host = host_named(&state, &name)?;
    state.power.act(host, action).await?;
    tracing::info!(peer = %peer(&req), host = %host.name, action = action.as_str(), "power action done");
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
    let subnets = state.power.refresh().await?;
    tracing::info!(peer = %peer(&req), subnets = %subnets.join(" "), "refresh done");
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/version`: `{"name":"pxe-pilot","version":"x.y.z"}`.
#[utoipa::path(get, path = "/v1/version", tag = "pxe-pilot",
    responses((status = 200, description = "The server's name and version", body = VersionView)))]
pub(crate) async fn version() -> web::Json<VersionView> {
    web::Json(VersionView::current())
}

/// `GET /v1/openapi.json`: this API's OpenAPI 3 description.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "pxe-pilot",
    responses((status = 200, description = "The OpenAPI 3 description of this API", content_type = "application/json")))]
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::json())
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
    let Some(path) = state.pilot.settings().client_binary.clone() else {
        return Err(ApiError::NoClient);
    };
    let bytes = {
        let path = path.clone();
        web::block(move || std::fs::read(&path)).await?
    }
    .map_err(|e| {
        ApiError::Internal(format!("cannot read client.binary {}: {e}", path.display()))
    })?;
    tracing::debug!(peer = %peer(&req), bytes = bytes.len(), "static client handed out");
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("Content-Disposition", "attachment; filename=\"pxe-pilot\""))
        .body(bytes))
}
