//! A read-only TFTP server on tokio, confined to one folder: what PXE firmware, PXELINUX and
//! GRUB fetch their bootloader and per-MAC configuration with.
//!
//! - Read only: a write request is answered with error 2, "this server is read only".
//! - Beneath the root: a leading `/` is stripped (as tftpd-hpa `--secure` does), a `..`
//!   component is refused (error 2), and links resolve as inside a chroot (Linux `openat2`
//!   with `RESOLVE_IN_ROOT`): an absolute target is read from the root, `..` stops at it.
//!   Only regular files are served; anything else is "file not found" (error 1).
//! - RFC 1350 with the options of RFC 2347: `blksize` (RFC 2348, capped at
//!   [`Config::max_blksize`]), `tsize` and `timeout` (RFC 2349), `windowsize` (RFC 7440,
//!   capped at [`Config::max_windowsize`]); other options are ignored. Block numbers roll over
//!   from 65535 to 0, so files of more than 65535 blocks are served, as tftpd-hpa does.
//! - Modes: `octet`; `netascii` is served byte for byte, as octet (no LF to CR LF
//!   translation: a text file arrives with the line ends it has on disk); any other mode is
//!   refused with error 4.
//! - Each session answers from a port of its own (RFC 1350's transfer ID) on the listening
//!   address; a datagram from elsewhere on that port gets error 5. Retransmission only on
//!   timeout, with doubling waits, a bounded number of times; bounded sessions in all and per
//!   peer address; one block in memory per session; no panic on any datagram.
//!
//! An [`Observer`] hears of each read when it ended, with whether the client acknowledged the
//! last block: pxe-pilot records a boot when a host's per-MAC entry was read.
//!
//! ```no_run
//! use std::sync::Arc;
//! use pxe_pilot_tftp::{Config, NoObserver, Server};
//!
//! # async fn serve() -> Result<(), pxe_pilot_tftp::TftpError> {
//! let config = Config::new("/srv/tftp", "0.0.0.0:69".parse().unwrap());
//! let server = Server::bind(config, Arc::new(NoObserver))?;
//! let handle = server.handle();
//! tokio::spawn(server.run());
//! // ... later:
//! handle.shutdown();
//! # Ok(())
//! # }
//! ```
//!
//! Linux only (5.6 or later, for `openat2`).

#![forbid(unsafe_code)]

mod config;
mod error;
mod observer;
mod packet;
mod root;
mod server;
mod session;

pub use crate::config::Config;
pub use crate::error::TftpError;
pub use crate::observer::{
    NoObserver, Observer, ReadRefusal, ReadReport, RefusalReason, TransferOptions,
};
pub use crate::server::{Server, ServerHandle};
