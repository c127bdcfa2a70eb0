//! The one error type of the HTTP layer, [`ApiError`], and its mapping to HTTP answers.
//!
//! Every failure a route, an extractor or a middleware can meet ends up here and is answered
//! once, by [`ResponseError`]: a status (400 malformed, 401 auth, 404 unknown, 405 method,
//! 409 conflict, 413 too large, 500 the server's own failure) and the body `{"message": "..."}`
//! ([`ErrorBody`]). The message is written where the error is known (the core's errors carry
//! their own); this module only picks the status.

use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use pxe_pilot_core::api::ErrorBody;
use pxe_pilot_core::{ErrorKind, PilotError};

/// Why a request was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The core refused the request (unknown host or configuration, conflict...) or the disk
    /// refused a read or a write.
    #[error(transparent)]
    Pilot(#[from] PilotError),
    /// The body is not the JSON the route expects.
    #[error("{0}")]
    BadBody(String),
    /// The body is larger than the limit.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body did not arrive in time.
    #[error("the request body did not arrive within {seconds} s")]
    BodyTimeout {
        /// The limit, in seconds.
        seconds: u64,
    },
    /// The query string is not what the route expects.
    #[error("{0}")]
    BadQuery(String),
    /// The path does not decode.
    #[error("{0}")]
    BadPath(String),
    /// No route has this path.
    #[error("no route {method} {path}: docs/api.md lists the routes, GET /v1/openapi.json describes them")]
    NoRoute {
        /// The method asked for.
        method: String,
        /// The path asked for.
        path: String,
    },
    /// The request contradicts the state (409); the text says why and what to do.
    #[error("{0}")]
    Conflict(String),
    /// A boot script cannot be answered (unknown bootloader, template error...).
    #[error(transparent)]
    Boot(#[from] pxe_pilot_core::BootError),
    /// The route exists, not with this method.
    #[error("method {method} is not allowed on {path}: use {}", allowed.join(" or "))]
    MethodNotAllowed {
        /// The method asked for.
        method: String,
        /// The path asked for.
        path: String,
        /// The methods the route answers.
        allowed: &'static [&'static str],
    },
    /// `GET /v1/client/pxe-pilot` on a server without `client.binary`.
    #[error("this server hands out no pxe-pilot client: set `client: {{binary: PATH}}` (the static build) in its configuration file")]
    NoClient,
    /// A change was asked without the bearer token, or with a wrong one.
    #[error("{0}")]
    Unauthorized(String),
    /// A change was sent by a page of another site (its `Origin` header).
    #[error("{0}")]
    Forbidden(String),
    /// The server could not finish the work (a file it needs is unreadable...).
    #[error("{0}")]
    Internal(String),
    /// The server cannot take the request now (it is shutting down); the client may send it
    /// again (503, which the CLI retries).
    #[error("{0}")]
    Unavailable(String),
    /// The server failed on its own (a panic: a bug). Answered 500, which clients must not
    /// retry: the same request would fail the same way.
    #[error(
        "the server failed while answering (a bug: its log says where); do not retry, report it"
    )]
    Bug,
}

impl ApiError {
    /// The error for a body that `serde_json` could not read into the expected type.
    pub fn from_json(error: &serde_json::Error, expected: &str) -> Self {
        use serde_json::error::Category;
        let message = match error.classify() {
            Category::Eof if error.line() == 1 && error.column() == 0 => {
                format!("the request has no body: send {expected}")
            }
            Category::Syntax | Category::Eof | Category::Io => {
                format!("the request body is not valid JSON: {error}")
            }
            Category::Data => format!("the request body is not {expected}: {error}"),
        };
        ApiError::BadBody(message)
    }
}

impl ApiError {
    /// The status of a core error.
    fn pilot_status(error: &PilotError) -> StatusCode {
        match error.kind() {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Pilot(e) => ApiError::pilot_status(e),
            ApiError::BadBody(_) | ApiError::BadQuery(_) | ApiError::BadPath(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Boot(e) => {
                use pxe_pilot_core::BootError;
                match e {
                    BootError::UnknownBootloader { .. } | BootError::NotOverHttp { .. } => {
                        StatusCode::NOT_FOUND
                    }
                    BootError::Template(_) => StatusCode::INTERNAL_SERVER_ERROR,
                    BootError::Pilot(p) => ApiError::pilot_status(p),
                }
            }
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::NoRoute { .. } | ApiError::NoClient => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Internal(_) | ApiError::Bug => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::MethodNotAllowed { allowed, .. } => {
                if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
                    response.insert_header((header::ALLOW, value));
                }
            }
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        response.json(ErrorBody {
            message: self.to_string(),
        })
    }
}

/// Error handler (for [`actix_web::middleware::ErrorHandlers`]): an error answer that is not
/// JSON yet (one actix-web wrote itself) gets the body `{"message": "..."}`, so that a client
/// always reads the same shape. JSON answers pass unchanged.
pub fn json_fallback<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let message = match res.response().error() {
        Some(e) => e.to_string(),
        None => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned(),
    };
    let (req, _) = res.into_parts();
    let response = HttpResponse::build(status)
        .json(ErrorBody { message })
        .map_into_right_body();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(
        req, response,
    )))
}

impl From<pxe_pilot_core::ServiceError> for ApiError {
    fn from(e: pxe_pilot_core::ServiceError) -> Self {
        use pxe_pilot_core::ServiceError;
        match e {
            ServiceError::Refused(why) => ApiError::Unauthorized(why),
            ServiceError::Conflict(why) => ApiError::Conflict(why),
            ServiceError::Pilot(e) => ApiError::Pilot(e),
            ServiceError::Boot(e) => ApiError::Boot(e),
        }
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::Internal(format!("cannot write the answer's JSON: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::Unavailable("the server is shutting down: try again".into())
    }
}

/// Runs `work` (which blocks: the disk, a BMC) off the async workers. A panic inside it is a
/// bug, answered [`ApiError::Bug`] (500, not retried), never "try again"; a task the
/// shutting-down server cancelled is [`ApiError::Unavailable`] (503).
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let caught =
        actix_web::web::block(move || std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)))
            .await?;
    caught.unwrap_or_else(|_| Err(ApiError::Bug))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxe_pilot_core::CatalogueError;

    #[test]
    fn statuses_follow_the_core_error_kinds() {
        let unknown = ApiError::from(PilotError::UnknownHost { name: "x".into() });
        assert_eq!(unknown.status_code(), StatusCode::NOT_FOUND);
        let twice = ApiError::from(PilotError::HostNamedTwice { name: "x".into() });
        assert_eq!(twice.status_code(), StatusCode::CONFLICT);
        let missing = ApiError::from(PilotError::from(CatalogueError::NotFound {
            name: "x".into(),
        }));
        assert_eq!(missing.status_code(), StatusCode::NOT_FOUND);
        assert_eq!(
            ApiError::from(PilotError::NoHosts).status_code(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn json_errors_name_the_line_and_column() {
        let e = serde_json::from_str::<serde_json::Value>("{\n  \"hosts\": [,]\n}").unwrap_err();
        let message = ApiError::from_json(&e, "X").to_string();
        assert!(message.contains("line 2 column"), "{message}");
        let e = serde_json::from_str::<serde_json::Value>("").unwrap_err();
        assert_eq!(
            ApiError::from_json(&e, "X").to_string(),
            "the request has no body: send X"
        );
    }

    #[actix_web::test]
    async fn a_panic_is_a_bug_answered_500_never_try_again() {
        let answer = blocking(|| -> Result<(), ApiError> { panic!("a bug") }).await;
        let error = answer.unwrap_err();
        assert!(matches!(error, ApiError::Bug), "{error:?}");
        assert_eq!(error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!error.to_string().contains("try again"), "{error}");
        assert_eq!(blocking(|| Ok(7)).await.unwrap(), 7);
    }

    #[test]
    fn method_not_allowed_says_which_methods_work() {
        let e = ApiError::MethodNotAllowed {
            method: "POST".into(),
            path: "/v1/hosts".into(),
            allowed: &["GET"],
        };
        let response = e.error_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers().get(header::ALLOW).unwrap(), "GET");
        assert_eq!(
            e.to_string(),
            "method POST is not allowed on /v1/hosts: use GET"
        );
    }
}
