//! What a TFTP server and an operator see while a storm runs: a [`Reader`] that reads every
//! per-MAC entry through its links, and a [`Lister`] that lists the hosts through the API; each
//! counts what it saw wrong.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::random::Rng;
use super::storm::storm_client;
use super::storm_world::{StormWorld, STORM_CONFIGURATIONS};
use crate::common::entry_name;

/// What the [`Reader`] counted.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReaderCounts {
    /// Entries read through their link.
    pub reads: u64,
    /// Reads of a deployed host's entry that found nothing or a dangling link.
    pub misses: u64,
    /// Reads that found a text of no configuration.
    pub wrong: u64,
    /// A non-first NIC's link that did not point at the first NIC's entry.
    pub bad_links: u64,
    /// Full passes over every entry.
    pub passes: u64,
}

/// A thread that reads every MAC entry of every host in a loop, as a TFTP server would
/// (open the entry, follow the links, read the file). Every host must be deployed before it
/// starts and stay deployed (no undeploy) while it runs.
pub struct Reader {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(ReaderCounts, Vec<String>)>,
}

impl Reader {
    /// Starts reading; gives up by itself after `limit`.
    pub fn start(world: &StormWorld, limit: Duration) -> Reader {
        let stop = Arc::new(AtomicBool::new(false));
        let paths = world.entry_paths();
        let firsts: Vec<String> = world.hosts.iter().map(|h| entry_name(&h.macs[0])).collect();
        let texts = world.texts.clone();
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let mut counts = ReaderCounts::default();
            let mut examples = Vec::new();
            while !flag.load(Ordering::Relaxed) && started.elapsed() < limit {
                for (h, n, path) in &paths {
                    counts.reads += 1;
                    match fs::read(path) {
                        Ok(bytes) if texts.contains_key(&bytes) => {}
                        Ok(_) => {
                            counts.wrong += 1;
                            if examples.len() < 10 {
                                examples.push(format!("{} reads unknown text", path.display()));
                            }
                        }
                        Err(e) => {
                            counts.misses += 1;
                            if examples.len() < 10 {
                                examples.push(format!("{}: {e}", path.display()));
                            }
                        }
                    }
                    if *n > 0 {
                        match fs::read_link(path) {
                            Ok(target) if target == Path::new(&firsts[*h]) => {}
                            other => {
                                counts.bad_links += 1;
                                if examples.len() < 10 {
                                    examples.push(format!("{} -> {other:?}", path.display()));
                                }
                            }
                        }
                    }
                }
                counts.passes += 1;
            }
            (counts, examples)
        });
        Reader { stop, handle }
    }

    /// Stops it; returns what it counted and the first problems it saw.
    pub fn finish(self) -> (ReaderCounts, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("the reader panicked")
    }
}

/// What the [`Lister`] counted.
#[derive(Debug, Default, Clone, Copy)]
pub struct ListerCounts {
    /// `GET /v1/hosts` answered.
    pub lists: u64,
    /// Answers that were not 200 JSON, or showed a deployed host without a configuration
    /// (null, dangling, unknown).
    pub anomalies: u64,
}

/// A thread that lists the hosts (`GET /v1/hosts?status=false`, and one host by name and by
/// MAC) in a loop while deploys run: every answer must be 200 and show every host on a
/// configuration of the catalogue. Every host must be deployed before it starts.
pub struct Lister {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(ListerCounts, Vec<String>)>,
}

impl Lister {
    /// Starts listing against `base`; gives up by itself after `limit`.
    pub fn start(world: &StormWorld, base: &str, limit: Duration) -> Lister {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let base = base.to_owned();
        let hosts = world.hosts.clone();
        let handle = std::thread::spawn(move || {
            let http = storm_client();
            let started = Instant::now();
            let mut counts = ListerCounts::default();
            let mut examples = Vec::new();
            let mut rng = Rng::new(started.elapsed().as_nanos() as u64 + 3);
            let on_catalogue = |host: &serde_json::Value| {
                host["configuration"]["name"]
                    .as_str()
                    .is_some_and(|n| STORM_CONFIGURATIONS.contains(&n))
                    && host["configuration"].get("dangling").is_none()
            };
            while !flag.load(Ordering::Relaxed) && started.elapsed() < limit {
                let h = rng.below(hosts.len());
                let url = match counts.lists % 3 {
                    0 => format!("{base}/v1/hosts?status=false"),
                    1 => format!("{base}/v1/hosts/{}?status=false", hosts[h].name),
                    _ => format!(
                        "{base}/v1/hosts?status=false&mac={}",
                        hosts[h].macs.last().map(String::as_str).unwrap_or("")
                    ),
                };
                counts.lists += 1;
                let problem = match http.get(&url).send() {
                    Ok(r) if r.status() == 200 => match r.json::<serde_json::Value>() {
                        Ok(serde_json::Value::Array(list)) => {
                            let bad: Vec<&serde_json::Value> =
                                list.iter().filter(|host| !on_catalogue(host)).collect();
                            (!bad.is_empty() || list.len() != hosts.len())
                                .then(|| format!("{url}: {bad:?}"))
                        }
                        Ok(host) => (!on_catalogue(&host)).then(|| format!("{url}: {host}")),
                        Err(e) => Some(format!("{url}: not JSON: {e}")),
                    },
                    Ok(r) => Some(format!("{url}: {}", r.status())),
                    Err(e) => Some(format!("{url}: {e}")),
                };
                if let Some(problem) = problem {
                    counts.anomalies += 1;
                    if examples.len() < 10 {
                        examples.push(problem);
                    }
                }
            }
            (counts, examples)
        });
        Lister { stop, handle }
    }

    /// Stops it; returns what it counted and the first anomalies.
    pub fn finish(self) -> (ListerCounts, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("the lister panicked")
    }
}
