//! From a configuration file to a bound socket: load and validate the settings (logging
//! their warnings), open the service (which sweeps the temporary entries a crash left), and
//! bind the listen address. Each failure is one [`StartError`] whose text is the one line
//! `pxe-pilot-server` prints before exiting with code 1.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use pxe_pilot_core::ServerSettings;
use pxe_pilot_core::{Pilot, Settings, SettingsError, StoreError};

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration file is unreadable or invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The TFTP root cannot be opened or swept.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}{}", bind_hint(source))]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The system's reason.
        source: std::io::Error,
    },
    /// `tftp.serve` (or `--tftp`) cannot be bound.
    #[error("cannot serve TFTP on {address} (tftp.serve): {source}")]
    Tftp {
        /// The address asked.
        address: SocketAddr,
        /// Why it failed.
        source: pxe_pilot_tftp::TftpError,
    },
    /// `--tftp` without `tftp.serve` in the configuration file.
    #[error("--tftp moves the TFTP server of tftp.serve, which the configuration file does not set: add `serve: ADDR:PORT` under `tftp:`")]
    TftpNotServed,
    /// The demo folder cannot be built.
    #[error("cannot build the demo: {0}")]
    Demo(String),
    /// The server failed while running.
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
}

fn bind_hint(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (is another server running? `--listen ADDR:PORT` picks another address)"
        }
        std::io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need privileges: pick another with `--listen ADDR:PORT`)"
        }
        _ => "",
    }
}

/// Loads the configuration file at `path`, logs its warnings, and opens the service.
pub fn open(path: &Path) -> Result<Pilot, StartError> {
    let (settings, warnings) = Settings::load(path)?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    check_neighbour_table(&settings);
    Ok(Pilot::open(settings)?)
}

/// Warns when the neighbour table (`arp_table`) cannot be read where the server runs (a
/// sandbox that hides it): self-service and BMCs found by MAC depend on it.
pub fn check_neighbour_table(settings: &Settings) {
    if let Err(problem) = pxe_pilot_core::ArpTable::check(&settings.arp_table) {
        tracing::warn!("{problem}");
    }
}

/// The address to listen on: `listen` when given (`--listen`), else `server.listen` and
/// `server.port` of the configuration file.
pub fn listen_address(server: &ServerSettings, listen: Option<SocketAddr>) -> SocketAddr {
    listen.unwrap_or(SocketAddr::new(server.listen, server.port))
}

/// Binds `addr` (port 0: a free port, read it back with `local_addr`) with the kernel's full
/// listen backlog (`connections::listen`).
pub fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    crate::connections::listen(addr).map_err(|source| StartError::Bind { addr, source })
}
