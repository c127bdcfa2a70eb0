//! The one limit on BMC commands running at once, shared by every request of the server:
//! a counting semaphore. A command waits for a free place, runs, and frees it. A reload of
//! the configuration resizes the same limit ([`Limit::resize`]), so the commands still
//! running under the old size count against the new one.

use std::sync::{Condvar, Mutex};

/// At most `size` commands at once.
#[derive(Debug)]
pub(super) struct Limit {
    slots: Mutex<Slots>,
    freed: Condvar,
}

#[derive(Debug)]
struct Slots {
    size: usize,
    running: usize,
}

impl Limit {
    /// A limit of `size` (at least 1).
    pub(super) fn new(size: usize) -> Self {
        Limit {
            slots: Mutex::new(Slots {
                size: size.max(1),
                running: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many may run at once.
    pub(super) fn size(&self) -> usize {
        self.lock().size
    }

    /// Makes the limit `size` (at least 1); the commands running stay and count.
    pub(super) fn resize(&self, size: usize) {
        self.lock().size = size.max(1);
        self.freed.notify_all();
    }

    /// How many run now.
    pub(super) fn running(&self) -> usize {
        self.lock().running
    }

    /// Runs `work` once a place is free.
    pub(super) fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        {
            let mut slots = self.lock();
            while slots.running >= slots.size {
                slots = self.freed.wait(slots).unwrap_or_else(|p| p.into_inner());
            }
            slots.running += 1;
        }
        struct Place<'a>(&'a Limit);
        impl Drop for Place<'_> {
            fn drop(&mut self) {
                self.0.lock().running -= 1;
                self.0.freed.notify_one();
            }
        }
        let _place = Place(self);
        work()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn no_more_than_the_limit_run_at_once() {
        let limit = Limit::new(3);
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..20 {
                scope.spawn(|| {
                    limit.run(|| {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        now.fetch_sub(1, Ordering::SeqCst);
                    })
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(limit.running(), 0);
    }

    #[test]
    fn commands_running_under_the_old_size_count_against_the_new_one() {
        let limit = Limit::new(2);
        let (started, release) = (std::sync::Barrier::new(3), std::sync::Barrier::new(3));
        let extra_ran = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    limit.run(|| {
                        started.wait();
                        release.wait();
                    })
                });
            }
            started.wait();
            // Two run; the limit becomes 2 again through a reload: a third still waits.
            limit.resize(2);
            scope.spawn(|| limit.run(|| extra_ran.store(true, Ordering::SeqCst)));
            let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
            while std::time::Instant::now() < deadline {
                assert!(
                    !extra_ran.load(Ordering::SeqCst),
                    "the third ran beside the two"
                );
                std::thread::yield_now();
            }
            release.wait();
        });
        assert!(extra_ran.load(Ordering::SeqCst));
        assert_eq!(limit.running(), 0);
    }
}
