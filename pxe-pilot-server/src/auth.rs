//! The bearer token of `server.token`: when it is set, every request that changes something
//! (any method but `GET`, `HEAD` and `OPTIONS`: deploy, undeploy, power, refresh) must carry
//! `Authorization: Bearer <token>`, else it is answered 401 before any route runs. Reads stay
//! open. One exception, decided by the deploy route: a deploy without the token passes this
//! gate as a [`Caller::Anonymous`], and is carried out only as a self-service callback (a
//! host deploying one of `server.self_service` to itself, from its own address). The SHA-256 digests of the token sent and of the server's are compared in constant
//! time: neither where they differ nor the token's length shows in the time an answer takes.
//! The token is never logged nor returned.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// The server's bearer token, kept as its SHA-256 digest; its `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token([u8; 32]);

impl Token {
    /// A token; `None` for an empty one (an empty token would protect nothing).
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let token = token.into();
        (!token.is_empty()).then(|| Token(Sha256::digest(token.as_bytes()).into()))
    }

    /// Whether `candidate` is this token: the digests, of the same size whatever the
    /// lengths, are compared in constant time.
    pub fn matches(&self, candidate: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        self.0.ct_eq(&digest).into()
    }

    /// Checks a request's `Authorization` header value (`Bearer <token>`, scheme in any case).
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<(), ApiError> {
        let Some(value) = authorization else {
            return Err(ApiError::Unauthorized(
                "this server needs a token for changes: send `Authorization: Bearer <token>` (pxe-pilot: PXE_PILOT_TOKEN or --token-file)".into(),
            ));
        };
        let value = std::str::from_utf8(value).unwrap_or_default().trim();
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::Unauthorized(
                    "the Authorization header must read `Bearer <token>`".into(),
                ))
            }
        };
        if self.matches(token) {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(
                "the bearer token is wrong: use the server.token of the server's configuration file".into(),
            ))
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Whether a method only reads.
pub fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Who sent a request, as far as the token tells: put in the request's extensions by
/// [`require_token`] for the routes and the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The server has no token: anyone may change anything.
    Open,
    /// The request carries the server's token.
    Token,
    /// The server has a token, this deploy lacks it (or has a wrong one): it is refused with
    /// this message unless it is a self-service callback.
    Anonymous(String),
}

impl Caller {
    /// Who asked, for the event log (a self-service callback is recorded by the deploy route).
    pub fn who(&self) -> pxe_pilot_core::Who {
        match self {
            Caller::Token => pxe_pilot_core::Who::Token,
            Caller::Open | Caller::Anonymous(_) => pxe_pilot_core::Who::Open,
        }
    }

    /// The caller of `req` (`Open` when the middleware did not run).
    pub fn of(req: &actix_web::HttpRequest) -> Caller {
        use actix_web::HttpMessage;
        req.extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller::Open)
    }
}

/// Whether `path` is a deploy route (`/v1/configurations/{name}/deploy`, or without `/v1`).
fn is_deploy(path: &str) -> bool {
    let path = path.strip_prefix("/v1").unwrap_or(path);
    let parts: Vec<&str> = path.split('/').collect();
    matches!(parts.as_slice(), ["", "configurations", name, "deploy"] if !name.is_empty())
}

/// Middleware (for [`actix_web::middleware::from_fn`]): refuses a change without the token,
/// when the server has one, except a deploy, which may be a self-service callback (the
/// deploy route decides); records the [`Caller`] for the routes.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let token = req
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.service().token.clone());
    let caller = match token {
        None => Caller::Open,
        Some(token) => {
            let authorization = req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            match token.check(authorization) {
                Ok(()) => Caller::Token,
                Err(_) if is_read(req.method()) => Caller::Open,
                Err(refused) if is_deploy(req.path()) && req.method() == Method::PUT => {
                    Caller::Anonymous(refused.to_string())
                }
                Err(refused) => return Ok(req.error_response(refused).map_into_right_body()),
            }
        }
    };
    req.extensions_mut().insert(caller);
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let token = Token::new("s3cret").unwrap();
        assert!(token.check(Some(b"Bearer s3cret")).is_ok());
        assert!(token.check(Some(b"bearer  s3cret ")).is_ok());
        assert!(token.check(Some(b"Bearer s3cre")).is_err());
        assert!(token.check(Some(b"Bearer s3cret2")).is_err());
        assert!(token.check(Some(b"Basic s3cret")).is_err());
        assert!(token.check(Some(b"s3cret")).is_err());
        assert!(token.check(None).is_err());
        assert!(Token::new("").is_none());
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert!(is_deploy("/v1/configurations/local/deploy"));
        assert!(is_deploy("/configurations/local/deploy"));
        assert!(!is_deploy("/v1/configurations//deploy"));
        assert!(!is_deploy("/v1/hosts/h1/reboot"));
    }
}
