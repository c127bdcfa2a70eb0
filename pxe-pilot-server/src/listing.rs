//! The listing thread: `GET /v1/hosts` reads every entry of the store and writes a JSON body
//! of about 130 bytes per host. It runs on this one dedicated thread, one listing at a time,
//! instead of on any thread of the blocking pool:
//!
//! - the memory of a listing (the entries of 10,000 hosts, the body) is taken by one thread
//!   only; the allocator keeps what a thread has used, so spread over the pool each thread
//!   would keep a listing's worth, and the server's resident set would grow with every new
//!   pool thread;
//! - concurrent listings queue instead of each holding its own copy at the same time;
//! - a listing is bound by the disk's readlink calls: two at once on a 2-core machine gain
//!   little.
//!
//! The body is then handed to the connection in pieces ([`Pieces`]), so that the worker
//! does not copy the whole body into its write buffer either.
//!
//! Reads of one host (`GET /v1/hosts/{name}`, `?mac=`) and every write still run in
//! `web::block`: they are small.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::{self, Bytes};

use crate::error::ApiError;

type Job = Box<dyn FnOnce() + Send>;

/// The handle to the listing thread, started at the first listing; the thread ends when the
/// last handle is dropped.
#[derive(Debug, Default)]
pub struct Lister {
    /// The thread's queue; `None` when the thread could not be started (the listings then
    /// run in `web::block`).
    jobs: OnceLock<Option<mpsc::Sender<Job>>>,
    /// The size of the last body written, to size the next one.
    last_body: Arc<AtomicUsize>,
}

impl Lister {
    fn queue(&self) -> Option<&mpsc::Sender<Job>> {
        self.jobs
            .get_or_init(|| {
                let (jobs, queue) = mpsc::channel::<Job>();
                let started = std::thread::Builder::new()
                    .name("pxe-pilot-listing".into())
                    .spawn(move || {
                        for job in queue {
                            // A job that panics fails its own request (its answer channel
                            // is dropped), not the listings after it.
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                    });
                match started {
                    Ok(_) => Some(jobs),
                    Err(e) => {
                        tracing::warn!("cannot start the listing thread, listing in the pool: {e}");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Runs `write` on the listing thread, after the listings queued before it, and returns
    /// the body it wrote. `write` gets the capacity to reserve: the last body's size and a
    /// little more, or 0 the first time (see `pxe_pilot_core::api::json_array`).
    pub async fn body(
        &self,
        write: impl FnOnce(usize) -> Result<Vec<u8>, ApiError> + Send + 'static,
    ) -> Result<Vec<u8>, ApiError> {
        let last_body = Arc::clone(&self.last_body);
        let sized = move || {
            let capacity = match last_body.load(Ordering::Relaxed) {
                0 => 0,
                // A little room: a host deployed since adds a few bytes.
                last => last + last / 64,
            };
            let body = write(capacity);
            if let Ok(body) = &body {
                last_body.store(body.len(), Ordering::Relaxed);
            }
            body
        };
        let Some(queue) = self.queue() else {
            return web::block(sized).await?;
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        let stopped = || ApiError::Internal("the listing thread has stopped".into());
        queue
            .send(Box::new(move || {
                let _ = answer.send(sized());
            }))
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// A body sent in pieces of at most [`Pieces::SIZE`] bytes, without copying it: the worker
/// copies one piece at a time into its write buffer, instead of the whole body at once (1.3
/// MB for 10,000 hosts, which its allocator would then keep). The length is known, so the
/// answer still has a `Content-Length`.
#[derive(Debug)]
pub struct Pieces {
    rest: Bytes,
    length: u64,
}

impl Pieces {
    /// The size of a piece.
    pub const SIZE: usize = 32 * 1024;

    /// The body `bytes`, to be sent in pieces.
    pub fn new(bytes: Vec<u8>) -> Self {
        Pieces {
            length: bytes.len() as u64,
            rest: Bytes::from(bytes),
        }
    }
}

impl MessageBody for Pieces {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.length)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if this.rest.is_empty() {
            return Poll::Ready(None);
        }
        let piece = this.rest.split_to(Self::SIZE.min(this.rest.len()));
        Poll::Ready(Some(Ok(piece)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_body_in_pieces_is_the_whole_body() {
        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let pieces = Pieces::new(body.clone());
        assert_eq!(pieces.size(), BodySize::Sized(100_000));
        let sent = actix_web::body::to_bytes(pieces).await.unwrap();
        assert_eq!(sent, body);
    }
}
