//! The routes a booting host (or an installer) fetches: the static client, the iPXE entry
//! script and each host's boot script.

use actix_web::{web, HttpRequest, HttpResponse};
use pxe_pilot_core::api::ErrorBody;
use pxe_pilot_core::BootFetch;

use crate::error::{blocking, ApiError};
use crate::state::AppState;

use super::peer;

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
        .body(pxe_pilot_core::entry_script(state.pilot().bootloaders()))
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
