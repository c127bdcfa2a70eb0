//! Support of the reliability tiers (`tests/reliability_*.rs`, issue 7): a world of many
//! multi-NIC hosts, a deploy storm that keeps a history of what was sent and what was
//! acknowledged, a reader that resolves every per-MAC entry as a TFTP server would, the
//! durability check over that history, raw HTTP for what an HTTP client refuses to send, and
//! snapshots of a folder tree.
//!
//! Included with `#[path = "common/reliability.rs"] mod reliability;` next to `mod common;`.
//!
//! Every loop here is bounded both in count and in time. `PXE_PILOT_LONG=1` makes the storms
//! longer; `PXE_PILOT_SEED=N` replays a run (each test prints its seed).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{binary, entry_name, Fixture, World};

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

/// The configurations of a storm world's catalogue, each with its own text.
pub const STORM_CONFIGURATIONS: [&str; 5] = [
    "local",
    "ubuntu-16.04",
    "grml-2017.05",
    "debian-12",
    "rescue",
];

/// A storm host: its name and its MACs, the first one first.
#[derive(Debug, Clone)]
pub struct StormHost {
    /// `s00`, `s01`, ...
    pub name: String,
    /// `02:00:00:00:HH:NN`; between 2 and 4 of them.
    pub macs: Vec<String>,
}

/// A world of `hosts` hosts with 2 to 4 NICs each and the [`STORM_CONFIGURATIONS`] catalogue
/// (flat), served on 127.0.0.1; `extra` is appended to the configuration file.
pub struct StormWorld {
    /// The world (TFTP root, configuration file), removed on drop.
    pub world: World,
    /// The hosts, in the configuration file's order.
    pub hosts: Vec<StormHost>,
    /// The text of each configuration, to recognise what an entry leads to.
    pub texts: HashMap<Vec<u8>, usize>,
}

impl StormWorld {
    /// Builds the world.
    pub fn new(hosts: usize, extra: &str) -> StormWorld {
        let world = Fixture::new().build();
        let conf = world.pxelinux_cfg().join("conf");
        let mut texts = HashMap::new();
        for (i, name) in STORM_CONFIGURATIONS.iter().enumerate() {
            let text = format!("DEFAULT {name}\nLABEL {name}\n  # configuration #{i}\n");
            fs::write(conf.join(name), &text).expect("write a configuration");
            texts.insert(text.into_bytes(), i);
        }
        let hosts: Vec<StormHost> = (0..hosts)
            .map(|h| StormHost {
                name: format!("s{h:02}"),
                macs: (0..2 + h % 3)
                    .map(|n| format!("02:00:00:00:{h:02x}:{n:02x}"))
                    .collect(),
            })
            .collect();
        let mut yaml = String::from("hosts:\n");
        for host in &hosts {
            let macs: Vec<String> = host.macs.iter().map(|m| format!("\"{m}\"")).collect();
            yaml.push_str(&format!(
                "  - name: {}\n    mac_addresses: [{}]\n",
                host.name,
                macs.join(", ")
            ));
        }
        yaml.push_str(
            "tftp:\n  root: tftp\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\nserver:\n  port: 3478\n  listen: 127.0.0.1\n",
        );
        yaml.push_str(extra);
        fs::write(&world.config, yaml).expect("write the configuration file");
        StormWorld {
            world,
            hosts,
            texts,
        }
    }

    /// Every MAC entry of every host: (host index, NIC index, path).
    pub fn entry_paths(&self) -> Vec<(usize, usize, PathBuf)> {
        let mut paths = Vec::new();
        for (h, host) in self.hosts.iter().enumerate() {
            for (n, mac) in host.macs.iter().enumerate() {
                paths.push((h, n, self.world.entry(mac)));
            }
        }
        paths
    }

    /// What host `h` boots, read through its entries as a TFTP server would: `Ok(Some(c))`
    /// when every NIC reads configuration `c`, `Ok(None)` when no NIC reads anything (no
    /// entry, or a link to a missing entry), `Err` when the NICs disagree or an entry cannot
    /// be read.
    pub fn host_on_disk(&self, h: usize) -> Result<Option<usize>, String> {
        let mut seen = Vec::new();
        for mac in &self.hosts[h].macs {
            let entry = self.world.entry(mac);
            let read = match fs::read(&entry) {
                Ok(bytes) => match self.texts.get(&bytes) {
                    Some(&c) => Some(c),
                    None => return Err(format!("{} reads unknown text", entry.display())),
                },
                // No entry, or a link to an entry that does not exist: the bootloader reads
                // "file not found" for both and boots its default.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(format!(
                        "{} -> {:?} leads nowhere: {e}",
                        entry.display(),
                        fs::read_link(&entry).ok()
                    ))
                }
            };
            seen.push(read);
        }
        if seen.windows(2).all(|w| w[0] == w[1]) {
            Ok(seen[0])
        } else {
            Err(format!(
                "host {} NICs disagree: {:?}",
                self.hosts[h].name,
                seen.iter()
                    .map(|c| c.map(|c| STORM_CONFIGURATIONS[c]))
                    .collect::<Vec<_>>()
            ))
        }
    }

    /// Every host's state on disk (see [`StormWorld::host_on_disk`]).
    pub fn disk_state(&self) -> Vec<Result<Option<usize>, String>> {
        (0..self.hosts.len())
            .map(|h| self.host_on_disk(h))
            .collect()
    }

    /// Names in `pxelinux.cfg/` that are temporary entries (`.pxe-pilot-tmp.*`).
    pub fn temporary_entries(&self) -> Vec<String> {
        self.world
            .names()
            .into_iter()
            .filter(|n| n.starts_with(".pxe-pilot-tmp."))
            .collect()
    }

    /// Entries of `pxelinux.cfg/` that lead to no file (dangling links, loops).
    pub fn unresolved_entries(&self) -> Vec<String> {
        self.world
            .names()
            .into_iter()
            .filter(|n| n.starts_with("01-"))
            .filter(|n| fs::metadata(self.world.pxelinux_cfg().join(n)).is_err())
            .map(|n| {
                let target = fs::read_link(self.world.pxelinux_cfg().join(&n)).ok();
                format!("{n} -> {target:?}")
            })
            .collect()
    }
}

/// What a storm request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 200 (deploy) or 200/204 (undeploy), and the answer named what was asked.
    Acknowledged,
    /// Another status, with its body.
    Status(u16, String),
    /// No answer: refused, reset, cut off, timed out.
    Transport(String),
}

/// What a storm request asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Deploy configuration #c to the hosts.
    Deploy(usize),
    /// Undeploy the (one) host.
    Undeploy,
}

/// One request of a storm, with its times relative to the storm's clock.
#[derive(Debug, Clone)]
pub struct Op {
    /// The hosts it names (indices).
    pub hosts: Vec<usize>,
    /// What it asks.
    pub change: Change,
    /// Taken before the request was written.
    pub sent: Duration,
    /// Taken after the answer was read; `None` without an answer.
    pub answered: Option<Duration>,
    /// How it ended.
    pub outcome: Outcome,
}

impl Op {
    /// The state a host has after this op: `Some(c)` or `None` (undeployed).
    pub fn result(&self) -> Option<usize> {
        match self.change {
            Change::Deploy(c) => Some(c),
            Change::Undeploy => None,
        }
    }

    /// Whether the server acknowledged it.
    pub fn acked(&self) -> bool {
        self.outcome == Outcome::Acknowledged
    }
}

/// How a storm runs.
#[derive(Debug, Clone)]
pub struct StormPlan {
    /// Concurrent clients.
    pub clients: usize,
    /// Stop after this long.
    pub duration: Duration,
    /// Stop each client after this many requests.
    pub max_requests_per_client: usize,
    /// Percent of deploy requests that name several hosts.
    pub multi_host_percent: u64,
    /// Percent of requests that are undeploys.
    pub undeploy_percent: u64,
    /// Stop a client at its first transport error (the server was killed).
    pub stop_on_transport_error: bool,
}

/// A running or finished storm against one or more servers (`bases`, chosen at random).
pub struct Storm {
    stop: Arc<AtomicBool>,
    handles: Vec<std::thread::JoinHandle<Vec<Op>>>,
    /// The storm's clock.
    pub epoch: Instant,
}

/// A client for storms: short timeouts, keep-alive, no proxy.
pub fn storm_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

impl Storm {
    /// Starts `plan.clients` threads sending random deploys (and undeploys) of the storm
    /// configurations to the world's hosts, on `bases`.
    pub fn start(world: &StormWorld, bases: &[String], plan: &StormPlan, seed: u64) -> Storm {
        let configurations = STORM_CONFIGURATIONS.iter().map(|c| c.to_string()).collect();
        Storm::start_with(world.hosts.clone(), configurations, bases, plan, seed)
    }

    /// The same over any hosts and configurations (`Change::Deploy(c)` indexes
    /// `configurations`).
    pub fn start_with(
        hosts: Vec<StormHost>,
        configurations: Vec<String>,
        bases: &[String],
        plan: &StormPlan,
        seed: u64,
    ) -> Storm {
        let stop = Arc::new(AtomicBool::new(false));
        let epoch = Instant::now();
        let hosts = Arc::new(hosts);
        let configurations = Arc::new(configurations);
        let handles = (0..plan.clients)
            .map(|client| {
                let stop = stop.clone();
                let hosts = hosts.clone();
                let configurations = configurations.clone();
                let bases = bases.to_vec();
                let plan = plan.clone();
                let mut rng =
                    Rng::new(seed ^ (client as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                std::thread::spawn(move || {
                    let http = storm_client();
                    let deadline = epoch + plan.duration;
                    let mut ops = Vec::new();
                    while ops.len() < plan.max_requests_per_client
                        && Instant::now() < deadline
                        && !stop.load(Ordering::Relaxed)
                    {
                        let base = &bases[rng.below(bases.len())];
                        let op = one_request(
                            &http,
                            base,
                            &hosts,
                            &configurations,
                            &plan,
                            &mut rng,
                            epoch,
                        );
                        let transport = matches!(op.outcome, Outcome::Transport(_));
                        ops.push(op);
                        if transport && plan.stop_on_transport_error {
                            break;
                        }
                    }
                    ops
                })
            })
            .collect();
        Storm {
            stop,
            handles,
            epoch,
        }
    }

    /// Asks the clients to stop after their current request.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Waits for every client; returns every op, in no particular order.
    pub fn join(self) -> Vec<Op> {
        self.handles
            .into_iter()
            .flat_map(|h| h.join().expect("a storm client panicked"))
            .collect()
    }
}

/// An error and its causes, `: `-separated.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A MAC in one of the spellings the API accepts.
fn spelled(mac: &str, rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => mac.to_owned(),
        1 => mac.to_ascii_uppercase().replace(':', "-"),
        2 => {
            let hex: String = mac.chars().filter(|c| *c != ':').collect();
            format!("{}.{}.{}", &hex[0..4], &hex[4..8], &hex[8..12])
        }
        _ => mac.replace(':', "-"),
    }
}

fn one_request(
    http: &reqwest::blocking::Client,
    base: &str,
    hosts: &[StormHost],
    configurations: &[String],
    plan: &StormPlan,
    rng: &mut Rng,
    epoch: Instant,
) -> Op {
    if rng.chance(plan.undeploy_percent) {
        let h = rng.below(hosts.len());
        let sent = epoch.elapsed();
        let result = http
            .delete(format!("{base}/v1/hosts/{}/configuration", hosts[h].name))
            .send();
        let (answered, outcome) = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().unwrap_or_default();
                let answered = Some(epoch.elapsed());
                if status == 200 {
                    (answered, Outcome::Acknowledged)
                } else {
                    (answered, Outcome::Status(status, text))
                }
            }
            Err(e) => (None, Outcome::Transport(chain(&e))),
        };
        return Op {
            hosts: vec![h],
            change: Change::Undeploy,
            sent,
            answered,
            outcome,
        };
    }
    let count = if rng.chance(plan.multi_host_percent) {
        2 + rng.below(3.min(hosts.len() - 1))
    } else {
        1
    };
    let mut chosen: Vec<usize> = Vec::with_capacity(count);
    while chosen.len() < count {
        let h = rng.below(hosts.len());
        if !chosen.contains(&h) {
            chosen.push(h);
        }
    }
    let c = rng.below(configurations.len());
    let queries: Vec<serde_json::Value> = chosen
        .iter()
        .map(|&h| {
            let host = &hosts[h];
            let mac = &host.macs[rng.below(host.macs.len())];
            match rng.below(3) {
                0 => serde_json::json!({"name": host.name}),
                1 => serde_json::json!({"macAddress": spelled(mac, rng)}),
                _ => serde_json::json!({"name": host.name, "mac_address": spelled(mac, rng)}),
            }
        })
        .collect();
    let body = serde_json::json!({ "hosts": queries }).to_string();
    let sent = epoch.elapsed();
    let result = http
        .put(format!(
            "{base}/v1/configurations/{}/deploy",
            configurations[c]
        ))
        .body(body)
        .send();
    let (answered, outcome) = match result {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text();
            let answered = Some(epoch.elapsed());
            match text {
                Ok(text) if status == 200 => {
                    let expected: Vec<serde_json::Value> = chosen
                        .iter()
                        .map(|&h| {
                            serde_json::json!({"name": hosts[h].name, "configuration": configurations[c], "rebooted": "NO"})
                        })
                        .collect();
                    let got: Option<serde_json::Value> = serde_json::from_str(&text).ok();
                    if got == Some(serde_json::json!({ "hosts": expected })) {
                        (answered, Outcome::Acknowledged)
                    } else {
                        (
                            answered,
                            Outcome::Status(200, format!("unexpected answer {text}")),
                        )
                    }
                }
                Ok(text) => (answered, Outcome::Status(status, text)),
                // The head arrived, the body did not: not an acknowledgement.
                Err(e) => (
                    None,
                    Outcome::Transport(format!("{status}, body lost: {e}")),
                ),
            }
        }
        Err(e) => (None, Outcome::Transport(chain(&e))),
    };
    Op {
        hosts: chosen,
        change: Change::Deploy(c),
        sent,
        answered,
        outcome,
    }
}

/// The states host `h` may be in once every op of `ops` is over (answered or abandoned),
/// starting from `initial`.
///
/// Each request takes effect on a host at one moment between its sending and its answer (or
/// at any later moment, or never, when it got no answer). The state left is the one of the
/// request that took effect last. A request R can be that one unless an acknowledged request
/// A was sent after R's answer arrived (A then took effect after R). The initial state can be
/// left only if no request was acknowledged. Non-200 answers count as "may have taken effect",
/// which only widens the set.
pub fn allowed_states(initial: Option<usize>, ops: &[Op], h: usize) -> HashSet<Option<usize>> {
    let mine: Vec<&Op> = ops.iter().filter(|op| op.hosts.contains(&h)).collect();
    let last_acked_sent = mine.iter().filter(|op| op.acked()).map(|op| op.sent).max();
    let mut allowed = HashSet::new();
    if last_acked_sent.is_none() {
        allowed.insert(initial);
    }
    for op in &mine {
        let overtaken = match (op.answered, last_acked_sent) {
            (Some(answered), Some(later)) => later > answered,
            _ => false,
        };
        // A request answered with a refusal (4xx) changed nothing.
        let refused = matches!(op.outcome, Outcome::Status(s, _) if (400..500).contains(&s));
        if !overtaken && !refused {
            allowed.insert(op.result());
        }
    }
    allowed
}

/// Checks every host's state on disk against [`allowed_states`]; returns the violations.
pub fn durability_violations(
    world: &StormWorld,
    initial: &[Option<usize>],
    ops: &[Op],
) -> Vec<String> {
    let mut violations = Vec::new();
    for (h, state) in world.disk_state().into_iter().enumerate() {
        match state {
            Err(problem) => violations.push(problem),
            Ok(state) => {
                let allowed = allowed_states(initial[h], ops, h);
                if !allowed.contains(&state) {
                    let name = |s: &Option<usize>| s.map_or("-", |c| STORM_CONFIGURATIONS[c]);
                    violations.push(format!(
                        "host {} is on {} but only {:?} are possible after its acknowledged requests",
                        world.hosts[h].name,
                        name(&state),
                        allowed.iter().map(name).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    violations
}

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

/// Deploys configuration #`c` to every host, one request per host; panics on a refusal.
pub fn deploy_all(base: &str, world: &StormWorld, c: impl Fn(usize) -> usize) {
    let http = storm_client();
    for (h, host) in world.hosts.iter().enumerate() {
        let response = http
            .put(format!(
                "{base}/v1/configurations/{}/deploy",
                STORM_CONFIGURATIONS[c(h)]
            ))
            .body(format!(r#"{{"hosts":[{{"name":"{}"}}]}}"#, host.name))
            .send()
            .expect("deploy");
        assert_eq!(response.status(), 200, "{:?}", response.text());
    }
}

/// The configuration `GET /v1/hosts` shows for each host (`None`: not deployed).
pub fn listed_states(base: &str, world: &StormWorld) -> Vec<Option<usize>> {
    let list: Vec<serde_json::Value> = storm_client()
        .get(format!("{base}/v1/hosts?status=false"))
        .send()
        .and_then(|r| r.json())
        .expect("GET /v1/hosts");
    world
        .hosts
        .iter()
        .map(|host| {
            let shown = list
                .iter()
                .find(|l| l["name"] == host.name.as_str())
                .unwrap_or_else(|| panic!("{} not listed", host.name));
            assert!(shown["configuration"].get("dangling").is_none(), "{shown}");
            shown["configuration"]["name"].as_str().map(|n| {
                STORM_CONFIGURATIONS
                    .iter()
                    .position(|c| *c == n)
                    .unwrap_or_else(|| panic!("unknown configuration {n}"))
            })
        })
        .collect()
}

/// Checks, from the server's change log, that the deploys of each host were serialised: the
/// `change=OLD -> NEW` lines of a host, in any order, must chain from `initial` to `last`
/// (an Euler path: every state is left as often as it is entered, but the ends), one line per
/// acknowledged deploy of the host (and at most one per unanswered one). Two deploys that
/// raced would both start from the same OLD, which breaks the balance.
pub fn unserialised_hosts(
    logs: &str,
    world: &StormWorld,
    initial: &[Option<usize>],
    last: &[Option<usize>],
    ops: &[Op],
) -> Vec<String> {
    let mut transitions: HashMap<&str, Vec<(String, String)>> = HashMap::new();
    for line in logs
        .lines()
        .filter(|l| l.contains("configuration deployed"))
    {
        let host = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("host="))
            .unwrap_or("?");
        let Some((old, new)) = line
            .split_once("change=")
            .and_then(|(_, change)| change.trim().split_once(" -> "))
        else {
            continue;
        };
        transitions
            .entry(host)
            .or_default()
            .push((old.to_owned(), new.to_owned()));
    }
    let label = |s: Option<usize>| s.map_or("-".to_owned(), |c| STORM_CONFIGURATIONS[c].into());
    let mut problems = Vec::new();
    for (h, host) in world.hosts.iter().enumerate() {
        let edges = transitions
            .get(host.name.as_str())
            .cloned()
            .unwrap_or_default();
        let acked = ops
            .iter()
            .filter(|op| op.acked() && op.hosts.contains(&h))
            .count();
        let unanswered = ops
            .iter()
            .filter(|op| matches!(op.outcome, Outcome::Transport(_)) && op.hosts.contains(&h))
            .count();
        if edges.len() < acked || edges.len() > acked + unanswered {
            problems.push(format!(
                "{}: {} change lines for {acked} acknowledged deploys ({unanswered} unanswered)",
                host.name,
                edges.len()
            ));
            continue;
        }
        let mut balance: HashMap<String, i64> = HashMap::new();
        for (old, new) in &edges {
            *balance.entry(old.clone()).or_default() += 1;
            *balance.entry(new.clone()).or_default() -= 1;
        }
        *balance.entry(label(initial[h])).or_default() -= 1;
        *balance.entry(label(last[h])).or_default() += 1;
        let unbalanced: Vec<_> = balance.iter().filter(|(_, b)| **b != 0).collect();
        if !unbalanced.is_empty() {
            problems.push(format!(
                "{}: the changes do not chain from {} to {}: {unbalanced:?}",
                host.name,
                label(initial[h]),
                label(last[h])
            ));
        }
    }
    problems
}

/// How many change lines (`configuration deployed`) the log holds.
pub fn change_lines(logs: &str) -> usize {
    logs.lines()
        .filter(|l| l.contains("configuration deployed"))
        .count()
}

/// Sums of a storm's ops, for the figures a test prints.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Requests sent.
    pub requests: usize,
    /// Acknowledged.
    pub acked: usize,
    /// Answered with a 5xx.
    pub server_errors: usize,
    /// Answered with another non-success status, or an unexpected body.
    pub other_statuses: usize,
    /// Without an answer.
    pub transport_errors: usize,
    /// Deploys naming several hosts.
    pub multi_host: usize,
}

impl Tally {
    /// Counts `ops`.
    pub fn of(ops: &[Op]) -> Tally {
        let mut t = Tally {
            requests: ops.len(),
            ..Tally::default()
        };
        for op in ops {
            match &op.outcome {
                Outcome::Acknowledged => t.acked += 1,
                Outcome::Status(s, _) if *s >= 500 => t.server_errors += 1,
                Outcome::Status(..) => t.other_statuses += 1,
                Outcome::Transport(_) => t.transport_errors += 1,
            }
            if op.hosts.len() > 1 {
                t.multi_host += 1;
            }
        }
        t
    }

    /// The first few failed ops, for a failure message.
    pub fn failures(ops: &[Op]) -> Vec<String> {
        ops.iter()
            .filter(|op| !op.acked())
            .take(5)
            .map(|op| format!("{op:?}"))
            .collect()
    }
}

/// An HTTP answer read off a raw socket.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    /// The body (chunked bodies decoded).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The value of a header (first one, name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The `message` of a JSON error body `{"message": "..."}` with nothing else in it.
    pub fn message(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        let object = value.as_object()?;
        (object.len() == 1)
            .then(|| object.get("message")?.as_str().map(str::to_owned))
            .flatten()
    }
}

/// Sends `request` as is on a new connection to `authority` and reads one answer, waiting at
/// most `timeout`. The request is written from another thread, so an answer the server sends
/// before reading everything (413 for a 10 MB body) is still read.
pub fn raw_exchange(
    authority: &str,
    request: &[u8],
    timeout: Duration,
) -> Result<RawResponse, String> {
    let stream = TcpStream::connect(authority).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("set timeouts: {e}"))?;
    let mut writer = stream.try_clone().map_err(|e| format!("clone: {e}"))?;
    let request = request.to_vec();
    let written =
        std::thread::spawn(move || writer.write_all(&request).and_then(|_| writer.flush()));
    let response = read_response(stream, Instant::now() + timeout);
    let _ = written.join();
    response
}

/// Reads one HTTP/1.1 answer (Content-Length, chunked, or until the connection closes).
pub fn read_response(mut stream: TcpStream, deadline: Instant) -> Result<RawResponse, String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no complete head before the deadline: {:?}",
                String::from_utf8_lossy(&buffer)
            ));
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(format!(
                    "connection closed after {} bytes: {:?}",
                    buffer.len(),
                    String::from_utf8_lossy(&buffer)
                ))
            }
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) => {
                return Err(format!(
                    "read: {e} after {:?}",
                    String::from_utf8_lossy(&buffer)
                ))
            }
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let mut response = RawResponse {
        status,
        head,
        body: buffer[head_end + 4..].to_vec(),
    };
    let length: Option<usize> = response
        .header("content-length")
        .and_then(|l| l.parse().ok());
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
    loop {
        let complete = match (length, chunked) {
            (Some(length), _) => response.body.len() >= length,
            (None, true) => find(&response.body, b"0\r\n\r\n").is_some(),
            (None, false) => status == 204 || status == 304,
        };
        if complete || Instant::now() > deadline {
            break;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.body.extend_from_slice(&chunk[..n]),
        }
    }
    if let Some(length) = length {
        response.body.truncate(length);
    } else if chunked {
        response.body = dechunk(&response.body);
    }
    let _ = stream.shutdown(Shutdown::Both);
    Ok(response)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = find(data, b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// A request as bytes: `METHOD TARGET HTTP/1.1`, `Host`, `Connection: close`, the `headers`
/// given, a `Content-Length` for a non-empty body (unless `headers` set one or a
/// `Transfer-Encoding`), then the body.
pub fn http_request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let framed = headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    });
    if !framed && (!body.is_empty() || matches!(method, "PUT" | "POST" | "PATCH")) {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// `GET /v1/healthcheck` on a new connection: true when answered 204 within 5 s.
pub fn healthy(authority: &str) -> bool {
    raw_exchange(
        authority,
        &http_request("GET", "/v1/healthcheck", &[], b""),
        Duration::from_secs(5),
    )
    .is_ok_and(|r| r.status == 204)
}

/// One node of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A folder: its mode and modification time (a name created then removed inside changes it).
    Folder {
        /// Permission bits.
        mode: u32,
        /// Modification time, nanoseconds.
        mtime: i128,
    },
    /// A file: mode, modification time and content.
    File {
        /// Permission bits.
        mode: u32,
        /// Modification time, nanoseconds.
        mtime: i128,
        /// Its bytes.
        content: Vec<u8>,
    },
    /// A symbolic link and its target.
    Link(PathBuf),
    /// Anything else (socket, fifo...).
    Other,
}

/// Every path under a folder and what it is, to compare before and after.
pub type Snapshot = BTreeMap<PathBuf, Node>;

/// Snapshots `root` (the folder itself included, as `""`), skipping paths under `skip`.
pub fn snapshot(root: &Path, skip: &[PathBuf]) -> Snapshot {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    let mut budget = 100_000usize;
    while let Some(path) = stack.pop() {
        budget = budget.saturating_sub(1);
        assert!(budget > 0, "snapshot of {} is too large", root.display());
        if skip.iter().any(|s| path.starts_with(s)) {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let relative = path.strip_prefix(root).unwrap_or(&path).to_owned();
        let mtime = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
        let mode = meta.mode() & 0o7777;
        let node = if meta.file_type().is_symlink() {
            Node::Link(fs::read_link(&path).unwrap_or_default())
        } else if meta.is_dir() {
            if let Ok(listing) = fs::read_dir(&path) {
                stack.extend(listing.flatten().map(|e| e.path()));
            }
            Node::Folder { mode, mtime }
        } else if meta.is_file() {
            Node::File {
                mode,
                mtime,
                content: fs::read(&path).unwrap_or_default(),
            }
        } else {
            Node::Other
        };
        out.insert(relative, node);
    }
    out
}

/// What differs between two snapshots, one line per path.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut lines = Vec::new();
    for (path, node) in before {
        match after.get(path) {
            None => lines.push(format!("removed {}", path.display())),
            Some(other) if other != node => lines.push(format!(
                "changed {}: {} -> {}",
                path.display(),
                describe(node),
                describe(other)
            )),
            Some(_) => {}
        }
    }
    for (path, node) in after {
        if !before.contains_key(path) {
            lines.push(format!("added {}: {}", path.display(), describe(node)));
        }
    }
    lines
}

fn describe(node: &Node) -> String {
    match node {
        Node::Folder { mode, mtime } => format!("folder {mode:o} mtime {mtime}"),
        Node::File {
            mode,
            mtime,
            content,
        } => {
            format!("file {mode:o} mtime {mtime} {} bytes", content.len())
        }
        Node::Link(target) => format!("link -> {}", target.display()),
        Node::Other => "other".into(),
    }
}

/// The real `pxe-pilot-server` over a configuration file the caller keeps (so that it can be
/// killed and started again over the same world), with extra environment. Killed on drop.
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: std::process::Child,
    log: PathBuf,
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl ServerProcess {
    /// Starts `pxe-pilot-server -c CONFIG --listen 127.0.0.1:0` with `envs`, its stderr
    /// appended to `log`, and waits for its address line (at most 60 s).
    pub fn start(config: &Path, log: &Path, envs: &[(&str, &str)]) -> ServerProcess {
        use std::io::BufRead;
        let stderr = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the server log");
        let mut command = std::process::Command::new(binary("pxe-pilot-server"));
        command
            .arg("-c")
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(stderr);
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start pxe-pilot-server");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send((line, reader));
        });
        let Ok((line, reader)) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server printed nothing in 60 s; log:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        };
        let Some(base) = line
            .trim_end()
            .strip_prefix("pxe-pilot-server listening on ")
            .map(str::to_owned)
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server did not start ({line:?}); log:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        };
        ServerProcess {
            base,
            child,
            log: log.to_owned(),
            _stdout: reader,
        }
    }

    /// `host:port`.
    pub fn authority(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Its log so far.
    pub fn logs(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then waits for it.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (the process keeps running until it has finished).
    pub fn sigterm(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
    }

    /// Waits at most `limit` for it to exit; its status, or `None` if it is still running
    /// (then it is killed).
    pub fn wait_exit(mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A shared counter for figures printed at the end of a test.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A list shared between threads, for examples of failures.
pub type Shared<T> = Arc<Mutex<Vec<T>>>;
