//! Request bodies: JSON whatever the `Content-Type` says (`curl -d` sends
//! `application/x-www-form-urlencoded`), at most [`BODY_LIMIT`] bytes arriving within
//! [`BODY_TIMEOUT`], and every mistake a 400 (or 413, 408) whose message names the problem and,
//! for malformed JSON, the line and column.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use pxe_pilot_core::api::DeployRequest;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::limits::BODY_TIMEOUT;

/// The largest request body accepted, in bytes (64 KiB); larger ones are answered 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A body type, with the shape a message shows when the body does not match it.
pub trait BodyShape: DeserializeOwned {
    /// The expected JSON, as a reader would write it.
    const SHAPE: &'static str;
}

impl BodyShape for DeployRequest {
    const SHAPE: &'static str =
        r#"{"hosts": [{"name": "...", "macAddress": "...", "reboot": false}]}"#;
}

/// Extractor: the body parsed as JSON into `T`, whatever the `Content-Type`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: BodyShape + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // `Bytes` honours the `PayloadConfig` limit the app sets (and the Content-Length).
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            // A client that stops sending would hold its connection (and this request) forever.
            let bytes = actix_web::rt::time::timeout(BODY_TIMEOUT, bytes)
                .await
                .map_err(|_| ApiError::BodyTimeout {
                    seconds: BODY_TIMEOUT.as_secs(),
                })?;
            let bytes = bytes.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge { limit: BODY_LIMIT }
                } else {
                    ApiError::BadBody(format!("cannot read the request body: {e}"))
                }
            })?;
            // A UTF-8 byte order mark (some Windows tools write one) is not JSON; skip it.
            let json = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            serde_json::from_slice(json)
                .map(JsonBody)
                .map_err(|e| ApiError::from_json(&e, T::SHAPE))
        })
    }
}
