//! The server's settings: where it listens, what it serves, and its bounds.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of a [`Server`](crate::Server); [`Config::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The folder served, read only; links in it resolve as inside a chroot.
    pub root: PathBuf,
    /// The address to listen on: port 69 for firmware, `127.0.0.1:0` in tests. Sessions answer
    /// from a new port on the same address (for a wildcard address, the kernel picks the source
    /// address of each answer by its routes).
    pub bind: SocketAddr,
    /// At most this many sessions at once (default 256); a request beyond is dropped, and the
    /// client retries it as it would a lost packet.
    pub max_sessions: usize,
    /// At most this many sessions at once from one IP address (default 32).
    pub max_sessions_per_peer: usize,
    /// The first retransmission timeout (default 1 s); it doubles at each retransmission
    /// unless the client negotiated its own `timeout`, which is then used as it is.
    pub timeout: Duration,
    /// Retransmissions of a packet before the session gives up (default 5: with the default
    /// timeout a silent client is let go after 1 + 2 + 4 + 8 + 16 + 32 = 63 s).
    pub retries: u32,
    /// The largest block size granted (default 1468, a block per 1500-byte Ethernet frame;
    /// at most 65464). A client asking more gets this.
    pub max_blksize: u16,
    /// The largest window granted (RFC 7440, default 16 blocks). A session keeps one block in
    /// memory whatever the window: a retransmitted block is read again from the file.
    pub max_windowsize: u16,
}

impl Config {
    /// The defaults, serving `root` on `bind`.
    pub fn new(root: impl Into<PathBuf>, bind: SocketAddr) -> Config {
        Config {
            root: root.into(),
            bind,
            max_sessions: 256,
            max_sessions_per_peer: 32,
            timeout: Duration::from_secs(1),
            retries: 5,
            max_blksize: 1468,
            max_windowsize: 16,
        }
    }
}
