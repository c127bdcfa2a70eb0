//! Errors that stop the server from starting or serving, worded for the operator.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the TFTP server cannot start or serve.
#[derive(Debug, thiserror::Error)]
pub enum TftpError {
    /// The listening socket could not be bound.
    #[error("cannot serve TFTP on {addr}: {source}{hint}", hint = bind_hint(*addr, source))]
    Bind {
        /// The address asked.
        addr: SocketAddr,
        /// The system's error.
        source: io::Error,
    },
    /// The root folder could not be opened.
    #[error("cannot open the TFTP root {}: {source}{hint}", path.display(), hint = root_hint(source))]
    Root {
        /// The folder asked.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// The listening socket failed while serving.
    #[error("the TFTP socket on {addr} failed: {source}")]
    Socket {
        /// The address it listens on.
        addr: SocketAddr,
        /// The system's error.
        source: io::Error,
    },
}

fn bind_hint(addr: SocketAddr, source: &io::Error) -> &'static str {
    match source.kind() {
        io::ErrorKind::PermissionDenied if addr.port() < 1024 => {
            " (a port below 1024 needs root or the capability CAP_NET_BIND_SERVICE: \
             `setcap cap_net_bind_service=+ep` on the binary, or `AmbientCapabilities=\
             CAP_NET_BIND_SERVICE` in its systemd unit)"
        }
        io::ErrorKind::AddrInUse => {
            " (another TFTP server, tftpd-hpa or dnsmasq perhaps, already listens there: stop \
             it or serve on another address)"
        }
        io::ErrorKind::AddrNotAvailable => {
            " (it is no address of this machine: give one of its addresses, or 0.0.0.0)"
        }
        _ => "",
    }
}

fn root_hint(source: &io::Error) -> &'static str {
    match source.raw_os_error() {
        Some(code) if code == rustix::io::Errno::NOSYS.raw_os_error() => {
            " (serving TFTP needs Linux 5.6 or later, for openat2)"
        }
        Some(code) if code == rustix::io::Errno::NOTDIR.raw_os_error() => " (it must be a folder)",
        _ => match source.kind() {
            io::ErrorKind::NotFound => " (create the folder or correct tftp.root)",
            _ => "",
        },
    }
}
