//! What one client may cost the server: how long it may take to send a request, how large the
//! request may be, how many connections are served at once. [`crate::run`] hands these to
//! actix-web's `HttpServer`; [`crate::body`] applies the body limits. docs/operations.md's "Limits"
//! section lists them with the answer a client gets past each one.
//!
//! Some limits are actix-http's own and not configurable: a request head (request line and
//! headers) over 128 KiB or with more than 96 headers is answered 431, a malformed head 400,
//! both with an empty body, before any route runs.

use std::time::Duration;

/// How long a client may take to send a whole request head (request line and headers) once
/// connected; slower clients (slowloris) and idle connections that never send a byte get
/// 408 with an empty body and are disconnected.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a client may take to send a request body once its head has arrived; slower ones
/// get 408 `{"message": ...}` and are disconnected. Only routes that read a body (deploy) wait
/// for one at all.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an idle keep-alive connection stays open between requests.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// How long a connection being closed may take to flush its last answer.
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The most connections each worker serves at once (one worker per CPU); further connections
/// wait in the kernel's listen queue until one closes.
pub const MAX_CONNECTIONS_PER_WORKER: usize = 1024;
