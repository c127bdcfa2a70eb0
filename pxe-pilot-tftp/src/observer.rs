//! What the server tells its embedder: one report per read, after it ended.
//!
//! pxe-pilot records a boot when a host's per-MAC entry was read; it learns of reads through
//! an [`Observer`]. The observer is called from the session's task, after the last packet: it
//! should be quick (count, queue a record) and never block on I/O others wait on.

use std::net::SocketAddr;

/// Receives a report of each read the server served or refused.
pub trait Observer: Send + Sync {
    /// A read session ended: the file was fully acknowledged (`completed`) or the session
    /// failed (the client stopped answering or sent an error). Called once per session.
    fn read_done(&self, report: &ReadReport);

    /// A read request was refused (no such file, a `..`, the server busy, a write request).
    /// Does nothing unless implemented.
    fn read_refused(&self, refusal: &ReadRefusal) {
        let _ = refusal;
    }
}

/// An observer that ignores everything: for a server whose reads nobody records.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn read_done(&self, _report: &ReadReport) {}
}

/// One read session, as it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReport {
    /// The client's address and port.
    pub peer: SocketAddr,
    /// The requested name as a path relative to the root (leading `/`, empty and `.`
    /// components removed), e.g. `pxelinux.cfg/01-aa-bb-cc-dd-ee-ff`; bytes that are not
    /// UTF-8 are shown as U+FFFD.
    pub path: String,
    /// Bytes of the file the client acknowledged.
    pub bytes: u64,
    /// The file's size when it was opened.
    pub size: u64,
    /// Whether the last block was acknowledged: the client has the whole file.
    pub completed: bool,
    /// The options the transfer used.
    pub options: TransferOptions,
}

/// The options a transfer used, after negotiation (RFC 1350's values where none was asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferOptions {
    /// Bytes per DATA block (512 unless negotiated).
    pub blksize: u16,
    /// Blocks sent before an acknowledgement is awaited (1 unless negotiated).
    pub windowsize: u16,
    /// The retransmission timeout in seconds the client asked, if it did.
    pub timeout: Option<u8>,
    /// Whether the file's size was sent (`tsize`).
    pub tsize: bool,
}

/// A read request that was not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRefusal {
    /// The client's address and port.
    pub peer: SocketAddr,
    /// The requested name, normalised as in [`ReadReport::path`] when it could be (a name
    /// with `..` is shown as sent).
    pub path: String,
    /// Why it was refused.
    pub reason: RefusalReason,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalReason {
    /// No such file, or not a regular file: answered with error 1.
    NotFound,
    /// A `..` component or a file the server may not read: answered with error 2.
    Denied,
    /// A write request: answered with error 2, the server is read only.
    WriteRequest,
    /// A mode other than `octet` or `netascii`: answered with error 4.
    UnsupportedMode,
    /// Too many sessions, in all or from this peer's address: dropped unanswered, so that the
    /// client retries its request as it does on a lost packet.
    Busy,
    /// The system failed to open the file or a socket: answered with error 0.
    Failed,
}
