//! What one client may hold of the server's connections (DESIGN §8): the listening socket
//! takes the kernel's full backlog ([`listen`]), and each peer address may hold at most
//! `server.max_connections_per_peer` connections at once ([`PeerLimit`]): a connection over
//! the cap is shut down as soon as it is accepted, before it costs a worker anything, so one
//! client opening thousands of idle connections never takes the server away from the
//! others. (actix-web's own limits bound the rest: the time to a request's first byte, the
//! connections per worker; see [`crate::limits`].)

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use socket2::{Domain, Socket, Type};

/// Binds `addr` with `SO_REUSEADDR` and listens with the kernel's full backlog
/// (`net.core.somaxconn`), where std's `TcpListener::bind` asks for 128.
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        // `[::]` serves IPv4 too, as std's bind does on Linux by default.
        let _ = socket.set_only_v6(false);
    }
    socket.bind(&addr.into())?;
    // The kernel cuts the backlog to net.core.somaxconn (4096 on current kernels).
    socket.listen(i32::MAX)?;
    Ok(socket.into())
}

/// The connections each peer address holds, bounded.
#[derive(Debug, Default)]
pub struct PeerLimit {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection: counted until dropped (when the connection ends).
#[derive(Debug)]
pub struct PeerGuard {
    limit: Arc<PeerLimit>,
    peer: IpAddr,
}

impl PeerLimit {
    /// At most `max` connections per peer address (at least 1).
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(PeerLimit {
            max: max.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a new connection from `peer`, or `None` when the peer holds `max` already.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<PeerGuard> {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(peer),
            v4 => v4,
        };
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(peer).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(PeerGuard {
            limit: Arc::clone(self),
            peer,
        })
    }

    /// How many connections `peer` holds now.
    #[cfg(test)]
    pub fn held_by(&self, peer: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(&peer).copied().unwrap_or(0)
    }

    /// For actix-web's `on_connect`: admits the connection `io` (stored in its extensions
    /// until it ends), or shuts it down when its peer holds the most already.
    pub fn on_connect(
        self: &Arc<Self>,
        io: &dyn std::any::Any,
        extensions: &mut actix_web::dev::Extensions,
    ) {
        let Some(stream) = io.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        let Ok(peer) = stream.peer_addr() else {
            return;
        };
        match self.admit(peer.ip()) {
            Some(guard) => {
                extensions.insert(guard);
            }
            None => {
                tracing::debug!(%peer, max = self.max, "connection refused: its address holds the most connections a peer may");
                let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

impl Drop for PeerGuard {
    fn drop(&mut self) {
        let mut open = self.limit.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_holds_at_most_the_cap_and_others_are_unaffected() {
        let limit = PeerLimit::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limit.admit(a).unwrap();
        let _second = limit.admit(a).unwrap();
        assert!(limit.admit(a).is_none());
        assert!(limit.admit("::ffff:10.0.0.1".parse().unwrap()).is_none());
        assert!(limit.admit(b).is_some());
        drop(first);
        assert_eq!(limit.held_by(a), 1);
        assert!(limit.admit(a).is_some());
    }

    #[test]
    fn the_listener_takes_more_than_std_s_backlog() {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        // 400 connections complete their handshake while nobody accepts: more than std's
        // 128 (past a full queue the kernel drops the handshake and connect times out).
        let timeout = std::time::Duration::from_secs(2);
        let held: Vec<_> = (0..400)
            .map(|_| std::net::TcpStream::connect_timeout(&addr, timeout).unwrap())
            .collect();
        assert_eq!(held.len(), 400);
    }
}
