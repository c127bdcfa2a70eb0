//! `tftp.serve`: pxe-pilot serves the TFTP root itself (read only, beneath it: the
//! `pxe-pilot-tftp` crate), and every read that ends is handed to the core's service
//! ([`Service::tftp_read`](pxe_pilot_core::Service::tftp_read)), which sees PXELINUX and GRUB
//! read their per-MAC entries as boots. The reads are handed over through a bounded queue to
//! one thread of their own: the service touches the disk (events, the `once` fallback), the
//! TFTP sessions never wait for it.

use std::net::SocketAddr;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;

use pxe_pilot_core::TftpRead;
use pxe_pilot_tftp::{
    Config, Observer, ReadRefusal, ReadReport, RefusalReason, Server, ServerHandle,
};

use crate::startup::StartError;
use crate::state::AppState;

/// How many ended reads may wait for the service; past it a read is logged and not seen.
const QUEUE: usize = 4096;

/// The TFTP server, bound and ready to run.
pub struct Tftp {
    server: Server,
}

impl Tftp {
    /// Binds `tftp.serve` when the configuration sets it (`None` otherwise), on `address`
    /// instead when given (`--tftp`), serving the TFTP root of `state`'s settings; the reads
    /// go to the service current when each ends.
    pub fn bind(state: &AppState, address: Option<SocketAddr>) -> Result<Option<Self>, StartError> {
        let settings = state.service().pilot().shared_settings();
        let address = match (settings.paths.tftp_serve, address) {
            (None, None) => return Ok(None),
            (None, Some(_)) => return Err(StartError::TftpNotServed),
            (Some(configured), given) => given.unwrap_or(configured),
        };
        let config = Config::new(settings.paths.tftp_root.clone(), address);
        let server = Server::bind(config, Arc::new(ToService::start(state.clone())))
            .map_err(|source| StartError::Tftp { address, source })?;
        Ok(Some(Tftp { server }))
    }

    /// The address it serves on (the port chosen when `tftp.serve` said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// A handle that stops it.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves on a thread of its own, with a runtime of its own of one worker per core (at
    /// most 4): the transfers never wait for the HTTP workers, nor those for the transfers.
    pub fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("tftp")
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("tftp".into())
            .spawn(move || runtime.block_on(self.run()))
    }

    /// Serves until stopped; a failure is logged.
    pub async fn run(self) {
        if let Err(e) = self.server.run().await {
            tracing::error!("the TFTP server stopped: {e}");
        }
    }
}

/// Hands each ended read to the service, on a thread of its own.
struct ToService {
    queue: SyncSender<Seen>,
}

/// A read that ended, as the service is told of it.
struct Seen {
    path: String,
    peer: SocketAddr,
    completed: bool,
    found: bool,
}

impl ToService {
    fn hand_over(&self, seen: Seen) {
        let peer = seen.peer;
        match self.queue.try_send(seen) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => tracing::warn!(
                peer = %peer,
                "tftp: too many reads waiting to be recorded, this one is not"
            ),
        }
    }
}

impl ToService {
    fn start(state: AppState) -> Self {
        let (queue, reads) = sync_channel::<Seen>(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("tftp-reads".into())
            .spawn(move || {
                for seen in reads {
                    state.service().tftp_read(&TftpRead {
                        path: &seen.path,
                        peer: seen.peer,
                        completed: seen.completed,
                        found: seen.found,
                    });
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the thread that records TFTP boots: {e}");
        }
        ToService { queue }
    }
}

impl Observer for ToService {
    fn read_done(&self, report: &ReadReport) {
        self.hand_over(Seen {
            path: report.path.clone(),
            peer: report.peer,
            completed: report.completed,
            found: true,
        });
    }

    /// A per-MAC entry that is not there is still a boot (of a host not deployed, or of an
    /// unknown machine); the other refusals are not.
    fn read_refused(&self, refusal: &ReadRefusal) {
        if refusal.reason == RefusalReason::NotFound {
            self.hand_over(Seen {
                path: refusal.path.clone(),
                peer: refusal.peer,
                completed: false,
                found: false,
            });
        }
    }
}
