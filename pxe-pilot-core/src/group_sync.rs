//! Group commit of a folder's sync: deploys that finish their renames at the same time share
//! one `fsync` of the folder instead of queueing one each behind the disk.
//!
//! A caller renames its entries first, then calls [`GroupSync::commit`], which returns only
//! once a sync that *started after the call* has finished, so that sync covers the caller's
//! renames: an answered deploy is durable exactly as with its own `fsync`. While one sync runs,
//! the callers that arrive join the next round; when it ends, one of them runs that round for
//! all of them. Each caller gets the result of its own round (an error is never hidden by a
//! later round's success).

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

/// The rounds of syncs of one folder.
#[derive(Debug, Default)]
pub(crate) struct GroupSync {
    state: Mutex<State>,
    finished: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The round that callers arriving now join; it has not started.
    next: Arc<Round>,
    /// Whether a round's sync is running.
    running: bool,
}

/// One sync and the callers it covers.
#[derive(Debug, Default)]
struct Round {
    result: OnceLock<Result<(), (io::ErrorKind, String)>>,
}

impl GroupSync {
    /// Returns once a call of `sync` that started after this call has finished, with that
    /// call's result. `sync` is run by this caller or by another one waiting at the same time.
    pub(crate) fn commit(&self, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let mut sync = Some(sync);
        let mut state = self.lock();
        let round = Arc::clone(&state.next);
        loop {
            if let Some(result) = round.result.get() {
                return result
                    .clone()
                    .map_err(|(kind, text)| io::Error::new(kind, text));
            }
            if !state.running {
                // Our round has not run (a round's result is set before `running` is
                // cleared), so it is still `next`: run it for everyone in it.
                state.running = true;
                let ours = std::mem::take(&mut state.next);
                drop(state);
                let result = sync.take().map_or(Ok(()), |sync| sync());
                let _ = ours
                    .result
                    .set(result.map_err(|e| (e.kind(), e.to_string())));
                state = self.lock();
                state.running = false;
                self.finished.notify_all();
                continue;
            }
            state = self
                .finished
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    #[test]
    fn every_caller_returns_after_a_sync_that_started_after_its_call() {
        let group = GroupSync::default();
        let syncs = AtomicUsize::new(0);
        let starts = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    for _ in 0..5 {
                        let called = Instant::now();
                        group
                            .commit(|| {
                                starts.lock().unwrap().push(Instant::now());
                                syncs.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(Duration::from_millis(5));
                                Ok(())
                            })
                            .unwrap();
                        let returned = Instant::now();
                        let covered = starts
                            .lock()
                            .unwrap()
                            .iter()
                            .any(|&s| s >= called && s + Duration::from_millis(5) <= returned);
                        assert!(covered, "no sync started after the call and ended before");
                    }
                });
            }
        });
        let syncs = syncs.load(Ordering::SeqCst);
        assert!(syncs < 80, "16 callers x 5 shared the syncs: {syncs}");
    }

    #[test]
    fn the_callers_of_a_failed_round_get_its_error() {
        let group = GroupSync::default();
        let err = group
            .commit(|| Err(io::Error::other("disk on fire")))
            .unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
        group.commit(|| Ok(())).unwrap();
    }
}
