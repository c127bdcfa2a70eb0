//! One read session: a request answered from its own socket until the last block is
//! acknowledged or the client is given up.
//!
//! The session binds a new UDP port on the listening address (RFC 1350's transfer ID), opens
//! the file beneath the root, negotiates options (an OACK the client acknowledges with ACK 0),
//! then sends the file a window of blocks at a time. Only a timeout makes it send again (a
//! duplicate ACK never does: no sorcerer's apprentice); an ACK of a block inside the window
//! moves the window to just after it, so a client that missed a block gets the rest again.
//! A block is read from the file when it is sent, again if it is resent: a session holds one
//! block in memory, whatever the window.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{timeout_at, Instant};

use crate::config::Config;
use crate::observer::{Observer, ReadRefusal, ReadReport, RefusalReason, TransferOptions};
use crate::packet::{self, ErrorCode, Mode, Packet, RequestedOptions, DEFAULT_BLKSIZE};
use crate::root::{self, Refused, Root};

/// What every session reads: the root, the settings, the observer.
pub(crate) struct Context {
    pub root: Root,
    pub config: Config,
    pub observer: Arc<dyn Observer>,
}

/// The largest `timeout` option granted, in seconds: a client asking more gets the server's
/// own back-off (RFC 2349 lets a server leave an option out of its OACK).
const MAX_CLIENT_TIMEOUT: u8 = 30;

/// What the accept loop hands a session: a read request, owned.
#[derive(Debug)]
pub(crate) struct ReadRequest {
    /// The name as sent.
    pub filename: Vec<u8>,
    /// The mode asked.
    pub mode: Mode,
    /// The options asked.
    pub options: RequestedOptions,
}

/// Serves one read request from `peer` on a new port of `local`, then tells the observer.
pub(crate) async fn serve(
    context: Arc<Context>,
    local: IpAddr,
    peer: SocketAddr,
    request: ReadRequest,
) {
    let socket = match UdpSocket::bind(SocketAddr::new(local, 0)).await {
        Ok(socket) => socket,
        Err(_) => {
            let path = String::from_utf8_lossy(&request.filename).into_owned();
            refuse(&context, peer, path, RefusalReason::Failed);
            return;
        }
    };
    let session = Session {
        socket,
        peer,
        context: &context,
        out: Vec::new(),
    };
    session.run(request).await;
}

struct Session<'a> {
    socket: UdpSocket,
    peer: SocketAddr,
    context: &'a Context,
    /// The packet being sent (one block at most).
    out: Vec<u8>,
}

/// What the client did while the session waited.
enum Heard {
    Ack(u16),
    /// It sent an error (it gives up) or the socket failed.
    Gone,
    Timeout,
}

/// How a sending phase ended.
enum Ended {
    Acknowledged,
    Failed,
}

impl Session<'_> {
    async fn run(mut self, request: ReadRequest) {
        let context = self.context;
        let name = match root::normalise(&request.filename) {
            Ok(name) => name,
            Err(_) => {
                let path = String::from_utf8_lossy(&request.filename).into_owned();
                return self
                    .refuse(
                        path,
                        RefusalReason::Denied,
                        ErrorCode::AccessViolation,
                        "access violation: `..` is not allowed",
                    )
                    .await;
            }
        };
        let path = String::from_utf8_lossy(&name).into_owned();
        if request.mode == Mode::Other {
            return self
                .refuse(
                    path,
                    RefusalReason::UnsupportedMode,
                    ErrorCode::IllegalOperation,
                    "unsupported mode: use octet",
                )
                .await;
        }
        let opened = match context.root.open_file(&name) {
            Ok(opened) => opened,
            Err(Refused::NotFound) => {
                return self
                    .refuse(
                        path,
                        RefusalReason::NotFound,
                        ErrorCode::FileNotFound,
                        "file not found",
                    )
                    .await
            }
            Err(Refused::Denied) => {
                return self
                    .refuse(
                        path,
                        RefusalReason::Denied,
                        ErrorCode::AccessViolation,
                        "access violation",
                    )
                    .await
            }
            Err(Refused::Failed(_)) => {
                return self
                    .refuse(
                        path,
                        RefusalReason::Failed,
                        ErrorCode::NotDefined,
                        "cannot read the file",
                    )
                    .await
            }
        };

        let config = &context.config;
        let asked = request.options;
        let options = TransferOptions {
            blksize: asked
                .blksize
                .map_or(DEFAULT_BLKSIZE, |b| b.min(config.max_blksize)),
            windowsize: asked.windowsize.map_or(1, |w| w.min(config.max_windowsize)),
            timeout: asked.timeout.filter(|&t| t <= MAX_CLIENT_TIMEOUT),
            tsize: asked.tsize,
        };
        let (first_wait, doubling) = match options.timeout {
            Some(seconds) => (Duration::from_secs(seconds.into()), false),
            None => (config.timeout, true),
        };
        let mut transfer = Transfer {
            file: opened.file,
            size: opened.size,
            blksize: options.blksize,
            window: options.windowsize.into(),
            first_wait,
            doubling,
            retries: config.retries,
        };
        let mut report = ReadReport {
            peer: self.peer,
            path,
            bytes: 0,
            size: opened.size,
            completed: false,
            options,
        };

        let negotiated = asked.blksize.is_some()
            || asked.windowsize.is_some()
            || options.timeout.is_some()
            || asked.tsize;
        let oack_ended = if negotiated {
            let mut answered: Vec<(&str, u64)> = Vec::with_capacity(4);
            if asked.blksize.is_some() {
                answered.push(("blksize", options.blksize.into()));
            }
            if asked.tsize {
                answered.push(("tsize", opened.size));
            }
            if let Some(timeout) = options.timeout {
                answered.push(("timeout", timeout.into()));
            }
            if asked.windowsize.is_some() {
                answered.push(("windowsize", options.windowsize.into()));
            }
            self.send_oack(&answered, &transfer).await
        } else {
            Ended::Acknowledged
        };
        if let Ended::Acknowledged = oack_ended {
            let (ended, acked) = self.send_file(&mut transfer).await;
            report.completed = matches!(ended, Ended::Acknowledged);
            report.bytes = acked;
        }
        context.observer.read_done(&report);
    }

    /// Answers with an error and tells the observer.
    async fn refuse(mut self, path: String, reason: RefusalReason, code: ErrorCode, message: &str) {
        packet::write_error(&mut self.out, code, message);
        let _ = self.socket.send_to(&self.out, self.peer).await;
        refuse(self.context, self.peer, path, reason);
    }

    /// Sends the OACK until the client acknowledges it with ACK 0.
    async fn send_oack(&mut self, options: &[(&str, u64)], transfer: &Transfer) -> Ended {
        packet::write_oack(&mut self.out, options);
        let mut wait = transfer.first_wait;
        let mut deadline = Instant::now() + wait;
        let mut retries = 0;
        if self.socket.send_to(&self.out, self.peer).await.is_err() {
            return Ended::Failed;
        }
        loop {
            match self.hear(deadline).await {
                Heard::Ack(0) => return Ended::Acknowledged,
                Heard::Ack(_) => {}
                Heard::Gone => return Ended::Failed,
                Heard::Timeout => {
                    retries += 1;
                    if retries > transfer.retries {
                        return Ended::Failed;
                    }
                    wait = transfer.next_wait(wait);
                    deadline = Instant::now() + wait;
                    if self.socket.send_to(&self.out, self.peer).await.is_err() {
                        return Ended::Failed;
                    }
                }
            }
        }
    }

    /// Sends the file's blocks, a window at a time; returns how it ended and the bytes
    /// acknowledged.
    async fn send_file(&mut self, transfer: &mut Transfer) -> (Ended, u64) {
        let last = transfer.last_block();
        // Blocks are counted from 1 in a u64; the wire carries the low 16 bits, so block
        // numbers roll over from 65535 to 0, as tftpd-hpa and the clients that accept files
        // beyond 65535 blocks do.
        let mut acked: u64 = 0;
        let mut wait = transfer.first_wait;
        let mut retries = 0;
        let mut sent = match self.send_window(transfer, acked + 1, last).await {
            Ok(sent) => sent,
            Err(_) => return (Ended::Failed, 0),
        };
        let mut deadline = Instant::now() + wait;
        loop {
            match self.hear(deadline).await {
                Heard::Ack(block) => {
                    // How far past the last acknowledged block this ACK reaches (mod 2^16).
                    let ahead = u64::from(block.wrapping_sub(acked as u16));
                    if ahead == 0 || ahead > sent - acked {
                        // A duplicate or a stray: never an occasion to send.
                        continue;
                    }
                    acked += ahead;
                    if acked == last {
                        return (Ended::Acknowledged, transfer.size);
                    }
                    retries = 0;
                    wait = transfer.first_wait;
                    sent = match self.send_window(transfer, acked + 1, last).await {
                        Ok(sent) => sent,
                        Err(_) => return (Ended::Failed, transfer.bytes_of(acked)),
                    };
                    deadline = Instant::now() + wait;
                }
                Heard::Gone => return (Ended::Failed, transfer.bytes_of(acked)),
                Heard::Timeout => {
                    retries += 1;
                    if retries > transfer.retries {
                        return (Ended::Failed, transfer.bytes_of(acked));
                    }
                    wait = transfer.next_wait(wait);
                    sent = match self.send_window(transfer, acked + 1, last).await {
                        Ok(sent) => sent,
                        Err(_) => return (Ended::Failed, transfer.bytes_of(acked)),
                    };
                    deadline = Instant::now() + wait;
                }
            }
        }
    }

    /// Sends blocks `first..` up to a window or the last block; returns the last sent.
    async fn send_window(&mut self, transfer: &Transfer, first: u64, last: u64) -> io::Result<u64> {
        let end = last.min(first + transfer.window - 1);
        for block in first..=end {
            let length = transfer.length_of(block);
            self.out.clear();
            self.out.resize(4 + length, 0);
            packet::write_data_header(&mut self.out, block as u16);
            if let Err(error) = transfer
                .file
                .read_exact_at(&mut self.out[4..], transfer.offset_of(block))
            {
                // The file shrank under the transfer (a file replaced in place): tell the client.
                packet::write_error(
                    &mut self.out,
                    ErrorCode::NotDefined,
                    "the file changed while being read",
                );
                let _ = self.socket.send_to(&self.out, self.peer).await;
                return Err(error);
            }
            self.socket.send_to(&self.out, self.peer).await?;
        }
        Ok(end)
    }

    /// Waits until `deadline` for the client's next ACK or error. A datagram from another
    /// address or port is answered with error 5 and otherwise ignored, as is anything else the
    /// client sends.
    async fn hear(&mut self, deadline: Instant) -> Heard {
        let mut buffer = [0u8; 516];
        loop {
            let (length, from) =
                match timeout_at(deadline, self.socket.recv_from(&mut buffer)).await {
                    Err(_) => return Heard::Timeout,
                    Ok(Ok(received)) => received,
                    // An ICMP error reported on the socket: the client is gone.
                    Ok(Err(_)) => return Heard::Gone,
                };
            let packet = packet::parse(&buffer[..length]);
            if from != self.peer {
                // Never answer an error with an error (two servers could bounce them forever).
                if !matches!(packet, Ok(Packet::Error { .. })) {
                    let mut out = Vec::with_capacity(32);
                    packet::write_error(
                        &mut out,
                        ErrorCode::UnknownTransferId,
                        "unknown transfer ID",
                    );
                    let _ = self.socket.try_send_to(&out, from);
                }
                continue;
            }
            match packet {
                Ok(Packet::Ack { block }) => return Heard::Ack(block),
                Ok(Packet::Error { .. }) => return Heard::Gone,
                _ => {}
            }
        }
    }
}

/// Tells the observer a request was refused.
fn refuse(context: &Context, peer: SocketAddr, path: String, reason: RefusalReason) {
    context
        .observer
        .read_refused(&ReadRefusal { peer, path, reason });
}

/// The file and the negotiated pace of a transfer.
struct Transfer {
    file: std::fs::File,
    size: u64,
    blksize: u16,
    window: u64,
    first_wait: Duration,
    doubling: bool,
    retries: u32,
}

impl Transfer {
    /// The number of the last block: the first shorter than a full block (empty when the size
    /// is a multiple of the block size).
    fn last_block(&self) -> u64 {
        self.size / u64::from(self.blksize) + 1
    }

    fn offset_of(&self, block: u64) -> u64 {
        (block - 1) * u64::from(self.blksize)
    }

    fn length_of(&self, block: u64) -> usize {
        let left = self.size.saturating_sub(self.offset_of(block));
        left.min(u64::from(self.blksize)) as usize
    }

    /// Bytes the client has when `acked` blocks are acknowledged.
    fn bytes_of(&self, acked: u64) -> u64 {
        (acked * u64::from(self.blksize)).min(self.size)
    }

    fn next_wait(&self, wait: Duration) -> Duration {
        if self.doubling {
            wait.saturating_mul(2)
        } else {
            wait
        }
    }
}
