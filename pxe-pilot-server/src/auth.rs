//! Who may change what. Every request that changes something (any method but `GET`, `HEAD`
//! and `OPTIONS`: deploy, undeploy, power, refresh) is classified here as a [`Caller`]: `Open`
//! when the server has no token, `Token` when it carries `Authorization: Bearer <token>`,
//! `Anonymous` otherwise. The core's service then refuses every anonymous change (401) but
//! the one its self-service rule admits; a request this middleware did not see is anonymous
//! too, so a route added without it fails closed. Reads stay open. The token itself is
//! [`crate::token::Token`].
//!
//! Before the token, the origin: a change whose `Origin` header names another site is
//! refused 403 ([`foreign_origin`]), token or not. A browser sends `Origin` with every
//! `PUT`, `PATCH` and `DELETE`; a page of `evil.example` that rebinds its name to the server
//! (DNS rebinding, against a server without a token such as `--demo`, or one reached from an
//! operator's browser) sends `Origin: http://evil.example:3478`, which is not one of the
//! server's own names. Clients that are not browsers (curl, the CLI, installers) send no
//! `Origin` and are not concerned.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web;
pub use pxe_pilot_core::Caller;

use crate::error::ApiError;
use crate::state::AppState;

/// Whether a method only reads.
pub fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The caller of `req`, as [`require_token`] found it. A request the middleware did not see
/// is anonymous: the service then refuses any change (fail closed), never `Open`.
pub fn caller_of(req: &actix_web::HttpRequest) -> Caller {
    use actix_web::HttpMessage;
    req.extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(|| {
            Caller::Anonymous("this request was not checked for the token: refused".into())
        })
}

/// Middleware (for [`actix_web::middleware::from_fn`]): refuses a change from a page of
/// another site, then records the [`Caller`] for the routes: `Open` when the server has no
/// token, `Token` when the request carries it, else `Anonymous` with the reason, which the
/// service turns into a 401 for every change but a self-service callback it admits.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let state = req.app_data::<web::Data<AppState>>().cloned();
    if !is_read(req.method()) {
        let origins = state
            .as_ref()
            .map(|s| s.service().pilot().settings().server.origins.clone())
            .unwrap_or_default();
        if let Some(refused) = foreign_origin(req.request(), &origins) {
            return Ok(req.error_response(refused).map_into_right_body());
        }
    }
    let caller = match state {
        // No state: nothing can be changed anyway; anonymous, never open.
        None => Caller::Anonymous("the server is not ready: try again".into()),
        Some(state) => match state.token() {
            None => Caller::Open,
            Some(token) => {
                let authorization = req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .map(|v| v.as_bytes());
                match token.check(authorization) {
                    Ok(()) => Caller::Token,
                    Err(refused) => Caller::Anonymous(refused.to_string()),
                }
            }
        },
    };
    req.extensions_mut().insert(caller);
    Ok(next.call(req).await?.map_into_left_body())
}

/// The refusal of a request whose `Origin` header names another site than this server, if
/// it does. An origin is this server's when it is listed in `server.origins`, or when it is
/// the request's own `Host` and that host is an IP address, `localhost` or this machine's
/// host name (names a page elsewhere cannot take by rebinding its own DNS name).
pub fn foreign_origin(req: &actix_web::HttpRequest, origins: &[String]) -> Option<ApiError> {
    let origin = req.headers().get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or("").trim().trim_end_matches('/');
    let lowered = origin.to_ascii_lowercase();
    if origins.contains(&lowered) {
        return None;
    }
    let host = req.connection_info().host().to_ascii_lowercase();
    let authority = lowered
        .strip_prefix("http://")
        .or_else(|| lowered.strip_prefix("https://"));
    if authority == Some(host.as_str()) && is_own_name(&host) {
        return None;
    }
    Some(ApiError::Forbidden(format!(
        "a change sent by a page of another site ({}) is refused: open the page from the server's own address, or list its origin in server.origins",
        pxe_pilot_core::for_log(origin, 128)
    )))
}

/// Whether `authority` (`host[:port]`) names this server in a way a page elsewhere cannot
/// take: an IP address, `localhost`, or this machine's host name.
fn is_own_name(authority: &str) -> bool {
    let host = match authority.parse::<actix_web::http::uri::Authority>() {
        Ok(a) => a
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        Err(_) => return false,
    };
    if host.parse::<std::net::IpAddr>().is_ok()
        || host == "localhost"
        || host.ends_with(".localhost")
    {
        return true;
    }
    let uname = rustix::system::uname();
    let node = uname.nodename().to_string_lossy().to_ascii_lowercase();
    !node.is_empty() && (host == node || node.split('.').next() == Some(host.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_server_s_own_origins_may_send_changes() {
        use actix_web::test::TestRequest;
        let request = |host: &str, origin: Option<&str>| {
            let mut r = TestRequest::put()
                .uri("/v1/configurations/local/deploy")
                .insert_header(("Host", host));
            if let Some(o) = origin {
                r = r.insert_header(("Origin", o));
            }
            r.to_http_request()
        };
        let none: &[String] = &[];
        assert!(foreign_origin(&request("127.0.0.1:3478", None), none).is_none());
        assert!(foreign_origin(
            &request("127.0.0.1:3478", Some("http://127.0.0.1:3478")),
            none
        )
        .is_none());
        assert!(foreign_origin(
            &request("localhost:3478", Some("http://localhost:3478")),
            none
        )
        .is_none());
        assert!(foreign_origin(&request("[::1]:3478", Some("http://[::1]:3478")), none).is_none());
        // DNS rebinding: the page's own name, for Host and Origin alike.
        let rebound = foreign_origin(
            &request("evil.example:3478", Some("http://evil.example:3478")),
            none,
        );
        assert!(
            matches!(rebound, Some(ApiError::Forbidden(ref m)) if m.contains("evil.example")),
            "{rebound:?}"
        );
        // Another site than the Host.
        assert!(foreign_origin(
            &request("127.0.0.1:3478", Some("http://evil.example")),
            none
        )
        .is_some());
        assert!(foreign_origin(&request("127.0.0.1:3478", Some("null")), none).is_some());
        // A name the operator listed.
        let listed = vec!["http://pxe.example.com:3478".to_owned()];
        assert!(foreign_origin(
            &request("pxe.example.com:3478", Some("http://PXE.example.com:3478/")),
            &listed
        )
        .is_none());
    }

    #[test]
    fn a_request_the_middleware_did_not_see_is_anonymous() {
        let request = actix_web::test::TestRequest::put().to_http_request();
        assert!(matches!(caller_of(&request), Caller::Anonymous(_)));
    }
}
