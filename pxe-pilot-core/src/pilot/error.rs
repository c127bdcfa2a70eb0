//! [`PilotError`]: why a request cannot be carried out, and the [`ErrorKind`] of answer it
//! deserves.

use crate::catalogue::CatalogueError;
use crate::mac::{MacAddress, MacAddressError};
use crate::store::StoreError;

/// What an HTTP layer should answer for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed (400).
    BadRequest,
    /// A configuration or host does not exist (404).
    NotFound,
    /// The request contradicts itself or the state (409).
    Conflict,
    /// The server could not do it (500).
    Internal,
    /// A store it needs is away for now: nothing was changed, try again (503).
    Unavailable,
}

/// Why a request cannot be carried out; each message tells the reader what to do.
#[derive(Debug, thiserror::Error)]
pub enum PilotError {
    /// A catalogue error (unknown or unreadable configuration).
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// A store error (the disk refused a read or a write).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Power management is absent or failed.
    #[error(transparent)]
    Power(#[from] crate::power::PowerError),
    /// The refresh command could not run.
    #[error("refresh: {0}")]
    Refresh(#[from] crate::command::CommandError),
    /// A MAC address of the request does not parse.
    #[error(transparent)]
    InvalidMac(#[from] MacAddressError),
    /// No host has this name.
    #[error("no host is named {name:?}: `pxe-pilot host list` shows the hosts")]
    UnknownHost {
        /// The name asked for.
        name: String,
    },
    /// No host has this MAC address.
    #[error("no host has MAC address {mac}: add it to a host in the configuration file")]
    UnknownMac {
        /// The MAC asked for.
        mac: MacAddress,
    },
    /// None of these MAC addresses belongs to a host.
    #[error("no host has any of the MAC addresses {}", macs.join(", "))]
    NoHostForMacs {
        /// The MACs asked for.
        macs: Vec<String>,
    },
    /// An entry of the request names no host.
    #[error("host #{index} of the request has neither a name nor a macAddress: give one")]
    EmptyQuery {
        /// Its position, from 1.
        index: usize,
    },
    /// The request names no host at all.
    #[error("the request names no host: give {{\"hosts\": [{{\"name\": ...}}]}}")]
    NoHosts,
    /// The same host is named twice in one request.
    #[error("host {name:?} appears several times in the request: name each host once")]
    HostNamedTwice {
        /// The host.
        name: String,
    },
    /// A name and a MAC address that belong to different hosts.
    #[error("MAC address {mac} belongs to {owner}, not to host {name:?}")]
    NameMacMismatch {
        /// The name given.
        name: String,
        /// The MAC given.
        mac: MacAddress,
        /// Who owns the MAC (`host "h2"` or `no host`).
        owner: String,
    },
}

impl PilotError {
    /// The HTTP answer this error deserves.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PilotError::Catalogue(CatalogueError::NotFound { .. }) => ErrorKind::NotFound,
            PilotError::Catalogue(CatalogueError::Io { .. }) => ErrorKind::Internal,
            PilotError::Catalogue(_) => ErrorKind::Conflict,
            PilotError::Store(StoreError::Unavailable(_)) => ErrorKind::Unavailable,
            PilotError::Store(_) => ErrorKind::Internal,
            PilotError::InvalidMac(_) | PilotError::EmptyQuery { .. } | PilotError::NoHosts => {
                ErrorKind::BadRequest
            }
            PilotError::UnknownHost { .. }
            | PilotError::UnknownMac { .. }
            | PilotError::NoHostForMacs { .. } => ErrorKind::NotFound,
            PilotError::HostNamedTwice { .. }
            | PilotError::NameMacMismatch { .. }
            | PilotError::Power(_)
            | PilotError::Refresh(_) => ErrorKind::Conflict,
        }
    }
}
