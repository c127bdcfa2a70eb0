//! The one limit on BMC commands running at once, shared by every request of the server:
//! a counting semaphore. A command waits for a free place, runs, and frees it.

use std::sync::{Condvar, Mutex};

/// At most `size` commands at once.
#[derive(Debug)]
pub(super) struct Limit {
    size: usize,
    running: Mutex<usize>,
    freed: Condvar,
}

impl Limit {
    /// A limit of `size` (at least 1).
    pub(super) fn new(size: usize) -> Self {
        Limit {
            size: size.max(1),
            running: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// How many may run at once.
    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// How many run now.
    pub(super) fn running(&self) -> usize {
        *self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` once a place is free.
    pub(super) fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            while *running >= self.size {
                running = self.freed.wait(running).unwrap_or_else(|p| p.into_inner());
            }
            *running += 1;
        }
        struct Place<'a>(&'a Limit);
        impl Drop for Place<'_> {
            fn drop(&mut self) {
                let mut running = self.0.running.lock().unwrap_or_else(|p| p.into_inner());
                *running -= 1;
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
}
