//! The operators' web page (DESIGN §8): `GET /` answers a plain HTML page that lists every
//! host with its configuration, power state and last boot, and lets an operator deploy a
//! configuration to the selected hosts, power them and read their events, through the same
//! JSON API as every other client (`/v1/...`).
//!
//! Its three files (`assets/index.html`, `app.css`, `app.js`: no framework, no build step) are
//! compiled into the binary, so the page works on a provisioning network with no way out
//! (no CDN, no font or script from elsewhere). They are served at `/`, `/ui/app.css` and
//! `/ui/app.js`, outside `/v1`, with `Cache-Control: no-cache` (a browser revalidates after an
//! upgrade of the server) and a strict [`CONTENT_SECURITY_POLICY`]: only this server's own
//! script, styles and API, no inline script. Every other unknown path keeps the API's JSON 404.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

use crate::routes::resource;

/// The page's HTML, served at `/`.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
/// The page's script, served at `/ui/app.js`.
pub const APP_JS: &str = include_str!("../assets/app.js");
/// The page's style sheet, served at `/ui/app.css`.
pub const APP_CSS: &str = include_str!("../assets/app.css");

/// The `Content-Security-Policy` of the page and its assets: everything from this server only,
/// no inline script or style, no plugins, no framing, no form posted anywhere (the page's
/// forms are handled by its script).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Registers `/`, `/ui/app.js` and `/ui/app.css` (GET and HEAD; a JSON 405 for other
/// methods). Mounted at the application's root, never under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    asset(cfg, "/", "text/html; charset=utf-8", INDEX_HTML);
    asset(cfg, "/ui/app.js", "text/javascript; charset=utf-8", APP_JS);
    asset(cfg, "/ui/app.css", "text/css; charset=utf-8", APP_CSS);
}

/// One embedded file at `path`.
fn asset(cfg: &mut web::ServiceConfig, path: &str, content_type: &'static str, body: &'static str) {
    let answer = move || async move { serve(content_type, body) };
    cfg.service(
        resource(path, &["GET", "HEAD"])
            .route(web::get().to(answer))
            .route(web::head().to(answer)),
    );
}

/// The answer for an embedded file, with the page's headers.
fn serve(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assets_name_nothing_outside_this_server() {
        for (name, text) in [
            ("index.html", INDEX_HTML),
            ("app.js", APP_JS),
            ("app.css", APP_CSS),
        ] {
            for outside in ["http://", "https://", "//cdn", "@import"] {
                assert!(!text.contains(outside), "{name} names {outside}");
            }
        }
        // No inline script: the policy would block it.
        assert!(!INDEX_HTML.contains("<script>"));
        let handler = INDEX_HTML.split(" on").skip(1).find(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert_eq!(handler, None, "an inline event handler attribute");
        assert!(INDEX_HTML.contains(r#"<script src="/ui/app.js" defer></script>"#));
    }
}
