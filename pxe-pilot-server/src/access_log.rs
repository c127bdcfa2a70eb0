//! One log line per answered request: method, path, status, time taken and peer address.
//! Successes are `debug` (the routes log every change at `info` themselves), client mistakes
//! `info` with the message sent back, server failures `error`. Headers are never logged, so
//! neither is a bearer token; the path and the message are cut and their control characters
//! escaped (a client's `%0D%0A` must not forge a log line).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// Middleware (for [`actix_web::middleware::from_fn`]) that logs each request once.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = pxe_pilot_core::for_log(req.path(), 256);
    let peer = req
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "-".into());
    let result = next.call(req).await;
    let (status, error) = match &result {
        Ok(res) => (res.status(), res.response().error().map(|e| e.to_string())),
        Err(e) => (e.as_response_error().status_code(), Some(e.to_string())),
    };
    // A message may quote what the client sent: printable, bounded.
    let error = error.map(|e| pxe_pilot_core::for_log(&e, 512));
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let status_code = status.as_u16();
    if status.is_server_error() {
        tracing::error!(%peer, %method, %path, status = status_code, elapsed_ms, error = error.as_deref().unwrap_or("-"), "request failed");
    } else if status.is_client_error() {
        tracing::info!(%peer, %method, %path, status = status_code, elapsed_ms, error = error.as_deref().unwrap_or("-"), "request refused");
    } else {
        tracing::debug!(%peer, %method, %path, status = status_code, elapsed_ms, "request");
    }
    result
}
