//! The OpenAPI 3 description of the HTTP API, generated from the `#[utoipa::path]` annotations
//! of the handlers in [`crate::routes`]' one list of routes and the `ToSchema` types of
//! `pxe_pilot_core::api` (the core's `openapi` feature), so that it cannot drift from what the
//! server answers. Served at
//! `GET /v1/openapi.json`; `tests/api/openapi.rs` probes every documented route on the real
//! server, and every route it knows against the document.

use std::sync::OnceLock;

use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

/// Registers `GET /openapi.json` (without prefix), beside [`routes::configure`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(routes::resource("/openapi.json", &["GET"]).route(web::get().to(openapi)));
}

/// `GET /v1/openapi.json`: this API's OpenAPI 3 description.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "pxe-pilot",
    responses((status = 200, description = "The OpenAPI 3 description of this API", content_type = "application/json")))]
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json())
}

/// The document: every route under `/v1` (each is also served without the prefix): its own,
/// and those of [`routes::RoutePaths`], merged in [`document`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "pxe-pilot",
        description = "Which PXE boot configuration each host gets. Every route is also served \
                       without the `/v1` prefix, as the original PXE Pilot's. Errors are \
                       `{\"message\": \"...\"}`. With `server.token` set, every request that \
                       changes something (PUT, DELETE, PATCH) needs `Authorization: Bearer \
                       <token>`; reads stay open."
    ),
    paths(openapi),
    modifiers(&BearerToken),
    tags(
        (name = "original", description = "The original PXE Pilot's routes"),
        (name = "pxe-pilot", description = "Routes beyond the original"),
        (name = "boot", description = "Boot over HTTP: what iPXE and GRUB 2 fetch")
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the changing routes name.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document, with the server's version.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(routes::RoutePaths::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document as pretty JSON, built once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        document()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"message\":\"cannot describe the API: {e}\"}}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_every_type_it_uses() {
        let doc: serde_json::Value = serde_json::from_str(json()).unwrap();
        assert_eq!(doc["openapi"].as_str().unwrap().chars().next(), Some('3'));
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in [
            "HostView",
            "BootloaderView",
            "DeployRequest",
            "DeployResponse",
            "ErrorBody",
            "VersionView",
            "MacAddress",
        ] {
            assert!(schemas.contains_key(name), "{name} missing: {schemas:?}");
        }
        // Every $ref leads to a schema of the document.
        let text = json();
        for part in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(schemas.contains_key(name), "dangling $ref {name}");
        }
    }
}
