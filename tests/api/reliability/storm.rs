//! A deploy storm: concurrent clients sending random deploys (some naming several hosts, some
//! in other MAC spellings) and undeploys to one or more servers, each keeping the history of
//! what it sent, when, and what came back; and the sums of that history.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::random::Rng;
use super::storm_world::{StormHost, StormWorld, STORM_CONFIGURATIONS};

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
