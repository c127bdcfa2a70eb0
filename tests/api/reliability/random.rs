//! How long and with which random choices a reliability test runs: `PXE_PILOT_LONG=1` asks for
//! the long versions of the storms, and every run prints its seed, which `PXE_PILOT_SEED=N`
//! replays.

/// True when `PXE_PILOT_LONG` asks for the long versions of the storms.
pub fn long() -> bool {
    std::env::var("PXE_PILOT_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A small deterministic generator (xorshift64*), seeded from `PXE_PILOT_SEED` or the clock.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced, xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The seed of a test run: `PXE_PILOT_SEED`, else the clock. Printed so a run can be replayed.
    pub fn seed(test: &str) -> u64 {
        let seed = std::env::var("PXE_PILOT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(7)
            });
        println!("[{test}] seed {seed} (replay with PXE_PILOT_SEED={seed})");
        seed
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}
