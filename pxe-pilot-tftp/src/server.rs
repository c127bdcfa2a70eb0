//! The listening socket: requests in, one task per read session, within the bounds.
//!
//! One loop owns the listening socket and the set of sessions: it reads a request, refuses a
//! write at once (error 2), drops a read beyond the bounds (all sessions, or those of one
//! peer), and starts a session task for the rest. It counts sessions itself as they start and
//! end, so no lock is shared; dropping [`Server::run`]'s future, or
//! [`ServerHandle::shutdown`], ends the loop and every session with it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::{Id, JoinSet};

use crate::config::Config;
use crate::error::TftpError;
use crate::observer::{Observer, ReadRefusal, RefusalReason};
use crate::packet::{self, ErrorCode, Malformed, Packet, MAX_BLKSIZE, MAX_REQUEST, MIN_BLKSIZE};
use crate::root::{self, Root};
use crate::session::{self, Context, ReadRequest};

/// What the server shares with its handles.
struct Shared {
    active: AtomicUsize,
    shutdown: watch::Sender<bool>,
}

/// A read-only TFTP server, bound and ready to [`run`](Server::run).
pub struct Server {
    socket: std::net::UdpSocket,
    addr: SocketAddr,
    context: Arc<Context>,
    shared: Arc<Shared>,
}

/// Watches and stops a running [`Server`] from elsewhere.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("root", &self.context.config.root)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("active_sessions", &self.active_sessions())
            .finish()
    }
}

impl Server {
    /// Opens the root and binds the listening socket; the server serves once
    /// [`run`](Server::run) is awaited. Needs no runtime: call it before starting one, e.g.
    /// while privileges allow port 69. Out-of-range bounds in `config` are brought into range
    /// (block size 8..=65464, window and session counts at least 1).
    pub fn bind(mut config: Config, observer: Arc<dyn Observer>) -> Result<Server, TftpError> {
        config.max_blksize = config.max_blksize.clamp(MIN_BLKSIZE, MAX_BLKSIZE);
        config.max_windowsize = config.max_windowsize.max(1);
        config.max_sessions = config.max_sessions.max(1);
        config.max_sessions_per_peer = config.max_sessions_per_peer.max(1);
        if config.timeout.is_zero() {
            config.timeout = std::time::Duration::from_millis(1);
        }
        let root = Root::open(&config.root).map_err(|source| TftpError::Root {
            path: config.root.clone(),
            source,
        })?;
        let bind_error = |source| TftpError::Bind {
            addr: config.bind,
            source,
        };
        let socket = std::net::UdpSocket::bind(config.bind).map_err(bind_error)?;
        socket.set_nonblocking(true).map_err(bind_error)?;
        let addr = socket.local_addr().map_err(bind_error)?;
        let (shutdown, _) = watch::channel(false);
        Ok(Server {
            socket,
            addr,
            context: Arc::new(Context {
                root,
                config,
                observer,
            }),
            shared: Arc::new(Shared {
                active: AtomicUsize::new(0),
                shutdown,
            }),
        })
    }

    /// The address the server listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to watch the sessions and stop the server.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Serves until [`ServerHandle::shutdown`] is called (then sessions in flight are ended
    /// without a report) or the future is dropped. Fails only when the listening socket does.
    pub async fn run(self) -> Result<(), TftpError> {
        let addr = self.addr;
        let socket = UdpSocket::from_std(self.socket)
            .map_err(|source| TftpError::Socket { addr, source })?;
        let mut accept = Accept {
            socket,
            local: addr.ip(),
            context: self.context,
            sessions: JoinSet::new(),
            owners: HashMap::new(),
            per_peer: HashMap::new(),
            shared: &self.shared,
        };
        let mut stop = self.shared.shutdown.subscribe();
        // One byte more than a request may hold: a longer datagram is seen as too long.
        let mut buffer = [0u8; MAX_REQUEST + 1];
        let result = loop {
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break Ok(()),
                Some(ended) = accept.sessions.join_next_with_id(), if !accept.sessions.is_empty() => {
                    let id = match ended {
                        Ok((id, ())) => id,
                        Err(error) => error.id(),
                    };
                    accept.ended(id);
                }
                received = accept.socket.recv_from(&mut buffer) => match received {
                    Ok((length, peer)) => accept.request(&buffer[..length], peer),
                    Err(error) if transient(&error) => {}
                    Err(source) => break Err(TftpError::Socket { addr, source }),
                },
            }
        };
        accept.sessions.shutdown().await;
        self.shared.active.store(0, Ordering::Relaxed);
        result
    }
}

impl ServerHandle {
    /// The number of read sessions in progress.
    pub fn active_sessions(&self) -> usize {
        self.shared.active.load(Ordering::Relaxed)
    }

    /// Stops the server: [`Server::run`] returns soon after.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }
}

/// Errors of a UDP socket that say nothing about the socket itself.
fn transient(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionReset | Interrupted | WouldBlock
    )
}

/// The accept loop's state.
struct Accept<'a> {
    socket: UdpSocket,
    local: IpAddr,
    context: Arc<Context>,
    sessions: JoinSet<()>,
    owners: HashMap<Id, IpAddr>,
    per_peer: HashMap<IpAddr, usize>,
    shared: &'a Shared,
}

impl Accept<'_> {
    /// Acts on one datagram sent to the listening port.
    fn request(&mut self, datagram: &[u8], peer: SocketAddr) {
        match packet::parse(datagram) {
            Ok(Packet::Read(request)) => {
                let config = &self.context.config;
                let from_peer = self.per_peer.get(&peer.ip()).copied().unwrap_or(0);
                if self.sessions.len() >= config.max_sessions
                    || from_peer >= config.max_sessions_per_peer
                {
                    self.context.observer.read_refused(&ReadRefusal {
                        peer,
                        path: shown(request.filename),
                        reason: RefusalReason::Busy,
                    });
                    return;
                }
                let request = ReadRequest {
                    filename: request.filename.to_vec(),
                    mode: request.mode,
                    options: request.options,
                };
                let task = session::serve(Arc::clone(&self.context), self.local, peer, request);
                let id = self.sessions.spawn(task).id();
                self.owners.insert(id, peer.ip());
                *self.per_peer.entry(peer.ip()).or_insert(0) += 1;
                self.shared
                    .active
                    .store(self.sessions.len(), Ordering::Relaxed);
            }
            Ok(Packet::Write(request)) => {
                self.answer(peer, ErrorCode::AccessViolation, "this server is read only");
                self.context.observer.read_refused(&ReadRefusal {
                    peer,
                    path: shown(request.filename),
                    reason: RefusalReason::WriteRequest,
                });
            }
            Err(malformed @ (Malformed::TooLong | Malformed::BadRequest)) => {
                self.answer(peer, ErrorCode::IllegalOperation, malformed.message());
            }
            // Stray DATA, ACK, ERROR, OACK, unknown opcodes, runts: dropped unanswered (an
            // answer to an ERROR could bounce between two servers forever).
            Ok(_) | Err(_) => {}
        }
    }

    /// Answers from the listening port, without waiting: the loop never stalls on a send.
    fn answer(&self, peer: SocketAddr, code: ErrorCode, message: &str) {
        let mut out = Vec::with_capacity(64);
        packet::write_error(&mut out, code, message);
        let _ = self.socket.try_send_to(&out, peer);
    }

    /// Forgets a session that ended.
    fn ended(&mut self, id: Id) {
        if let Some(ip) = self.owners.remove(&id) {
            if let Some(count) = self.per_peer.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    self.per_peer.remove(&ip);
                }
            }
        }
        self.shared
            .active
            .store(self.sessions.len(), Ordering::Relaxed);
    }
}

/// A requested name as the observer is shown it: normalised when it can be.
fn shown(filename: &[u8]) -> String {
    match root::normalise(filename) {
        Ok(name) => String::from_utf8_lossy(&name).into_owned(),
        Err(_) => String::from_utf8_lossy(filename).into_owned(),
    }
}
