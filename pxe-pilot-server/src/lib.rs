//! # pxe-pilot-server
//!
//! The pxe-pilot HTTP service as a library: [`app`] builds the actix-web application over an
//! [`AppState`] (the core's [`Pilot`](pxe_pilot_core::Pilot) and
//! [`PowerService`](pxe_pilot_core::PowerService), the bearer token), and [`run`] serves it on
//! an already bound listener until a shutdown future completes. The `pxe-pilot-server` binary only parses its arguments, sets up logging, and
//! calls [`open`], [`bind`] and [`run`].
//!
//! Data flows one way: request -> the [`routes`] (parse at the edge) -> the core's `Service`
//! (in `web::block`, the disk is blocking) -> its store, and back through the views into the shared
//! JSON types of `pxe_pilot_core::api`. Every error is an [`ApiError`], answered once as
//! `{"message": "..."}`.
//!
//! ```no_run
//! # async fn serve() -> Result<(), pxe_pilot_server::StartError> {
//! use pxe_pilot_server::{bind, open, run, shutdown_signal, AppState};
//!
//! let pilot = open("/etc/pxe-pilot/pxe-pilot.yml".as_ref())?;
//! let listener = bind("127.0.0.1:0".parse().unwrap())?;
//! println!("listening on http://{}", listener.local_addr()?);
//! let state = AppState::open(pilot);
//! run(listener, state, shutdown_signal()?).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod access_log;
mod auth;
mod body;
mod connections;
mod demo;
mod error;
mod limits;
mod metrics;
mod openapi;
mod page;
mod routes;
mod startup;
mod state;
mod tftp;
mod token;
mod views;

use std::future::Future;
use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, ErrorHandlers, NormalizePath};
use actix_web::{web, App, HttpServer};

// The crate's surface: the modules are private, what a binary or an embedder uses is here.
pub use crate::body::BODY_LIMIT;
pub use crate::demo::Demo;
pub use crate::error::ApiError;
pub use crate::routes::configure as routes;
pub use crate::startup::{bind, check_neighbour_table, listen_address, open, StartError};
pub use crate::state::AppState;
pub use crate::tftp::Tftp;
pub use crate::views::host as host_view;

/// How long in-flight requests may take to finish once shutdown is asked, in seconds.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// The application: every route under `/v1` and without the prefix, the operators' web
/// page at `/` (`page.rs`, outside `/v1`), JSON errors for
/// everything (unknown route, wrong method, bad query, body too large...), the token check
/// for changes, one log line per request, trailing slashes ignored.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state.metrics()))
        .app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(body::BODY_LIMIT))
        .app_data(
            web::QueryConfig::default().error_handler(|e, _| {
                ApiError::BadQuery(format!("invalid query string: {e}")).into()
            }),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|e, _| ApiError::BadPath(format!("invalid path: {e}")).into()),
        )
        .configure(page::configure)
        .service(routes::resource("/metrics", &["GET"]).route(web::get().to(routes::scrape)))
        .service(
            web::scope("/v1")
                .configure(routes::configure)
                .configure(openapi::configure),
        )
        .configure(routes::configure)
        .configure(openapi::configure)
        .default_service(web::to(routes::no_route))
        .wrap(from_fn(auth::require_token))
        .wrap(ErrorHandlers::new().default_handler(error::json_fallback))
        .wrap(from_fn(access_log::log_requests))
        .wrap(from_fn(metrics::observe_requests))
        .wrap(NormalizePath::trim())
}

/// Serves [`app`] on `listener` with the limits of `limits.rs` until `shutdown` completes, then lets the
/// requests in flight finish (at most [`SHUTDOWN_TIMEOUT_SECS`]) and returns. Must run inside an actix-web
/// runtime (`actix_web::rt::System` or `#[actix_web::main]`).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<()> {
    let peers = connections::PeerLimit::new(
        state
            .service()
            .pilot()
            .settings()
            .server
            .max_connections_per_peer,
    );
    let server = HttpServer::new(move || app(state.clone()))
        .on_connect(move |io, extensions| peers.on_connect(io, extensions))
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .client_request_timeout(limits::HEAD_TIMEOUT)
        .client_disconnect_timeout(limits::DISCONNECT_TIMEOUT)
        .keep_alive(limits::KEEP_ALIVE)
        .max_connections(limits::MAX_CONNECTIONS_PER_WORKER)
        .listen(listener)?
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing the requests in flight");
        handle.stop(true).await;
    });
    server.await
}

/// A future that, on each SIGHUP, reads the configuration file at `path` again and serves
/// the next requests with it ([`AppState::reload`]); an invalid file is logged with its
/// one-line error and the previous configuration stays. It never completes: spawn it. The
/// handler is installed when this is called. Must be called inside the runtime.
pub fn reload_on_hangup(
    state: AppState,
    path: std::path::PathBuf,
) -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(async move {
        while hangups.recv().await.is_some() {
            let (state, path) = (state.clone(), path.clone());
            let done = web::block(move || state.reload(&path)).await;
            match done {
                Ok(Ok(hosts)) => tracing::info!(hosts, "SIGHUP: configuration reloaded"),
                Ok(Err(e)) => tracing::error!(
                    "SIGHUP: configuration not reloaded, the previous one stays: {e}"
                ),
                Err(e) => tracing::error!("SIGHUP: configuration not reloaded: {e}"),
            }
        }
    })
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when
/// this is called, so a signal that arrives before the future is first polled is not lost:
/// call it before announcing the server. Must be called inside the runtime.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("SIGINT received"),
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("Ctrl-C received");
            }
        })
    }
}
