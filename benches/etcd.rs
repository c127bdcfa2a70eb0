//! The etcd benchmark (issue 23, DESIGN §9): a real three-member etcd 3.4 on loopback (plain
//! HTTP, data on this machine's disk) and two release `pxe-pilot-server`s sharing it, each
//! over its own TFTP root. One run, one Markdown table:
//!
//! - etcd's own floor: the same number of clients writing the same keys (a put of each host's
//!   entry, under another prefix) straight to the same member, through the same JSON gateway;
//!   and the same writing what a deploy writes (the entry and an event, one transaction);
//! - deploys through the two servers (half the clients on each, each client on its own hosts):
//!   per second, latency, errors; then both disks agree with every last acknowledged deploy;
//! - propagation: from a deploy's 200 on one server to the link on the other's disk (median,
//!   p99), deploys one at a time;
//! - boot fetches (`GET /v1/boot/ipxe/{mac}`) on an etcd-backed server, beside a server on
//!   files over the same hosts in the same run;
//! - a server's start over 10,000 hosts with an empty TFTP root: until it answers (it writes
//!   every link first), and the links on disk.
//!
//! ```sh
//! cargo build --release -p pxe-pilot-server
//! cargo bench --bench etcd
//! ```
//!
//! Needs `etcd` on the PATH (Debian `etcd-server`). Settings from the environment:
//! `PXE_PILOT_ETCD_HOSTS` (1000), `PXE_PILOT_ETCD_SECONDS` (5 per throughput phase),
//! `PXE_PILOT_ETCD_CLIENTS` (8), `PXE_PILOT_BENCH_DIR` (where etcd's data and the TFTP
//! roots go; the target folder by default), `PXE_PILOT_BENCH_ROOTS` (the TFTP roots
//! elsewhere, e.g. on a journaled file system, etcd's data staying in the first),
//! `PXE_PILOT_BENCH_ETCD_CPUS` (the CPUs etcd's members run on, a `taskset -c` list: with
//! `taskset -c 1 cargo bench --bench etcd` and `0` here, etcd has a core of its own and the
//! servers and clients the other, as when etcd runs on its own machines),
//! `PXE_PILOT_BENCH_ETCD_ARGS` (more arguments for every member, split at spaces: with
//! `--enable-pprof`, `curl <member>/debug/pprof/profile?seconds=5` profiles a phase). Run by
//! `cargo test` it does nothing.

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/common/server.rs"]
mod server;

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{ms, setting, spread, target_dir, verdict, Connection};
use server::TestServer;

/// Hosts of the start phase.
const START_HOSTS: usize = 10_000;
/// Deploys of the propagation phase.
const PROPAGATIONS: usize = 200;
/// The most requests one client sends in a phase.
const MAX_REQUESTS: usize = 200_000;

fn main() {
    common::bench_main("etcd", run);
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("a free port: {e}"))
}

/// A three-member etcd cluster on loopback; killed on drop.
struct Cluster {
    members: Vec<Child>,
    clients: Vec<u16>,
}

impl Cluster {
    fn start(dir: &Path) -> Result<Cluster, String> {
        let peers = [free_port()?, free_port()?, free_port()?];
        let clients = vec![free_port()?, free_port()?, free_port()?];
        let initial: Vec<String> = peers
            .iter()
            .enumerate()
            .map(|(i, p)| format!("m{i}=http://127.0.0.1:{p}"))
            .collect();
        let mut members = Vec::new();
        for i in 0..3 {
            let client = format!("http://127.0.0.1:{}", clients[i]);
            let peer = format!("http://127.0.0.1:{}", peers[i]);
            // On the CPUs PXE_PILOT_BENCH_ETCD_CPUS lists, when it is set (taskset's list).
            let pinned = match std::env::var("PXE_PILOT_BENCH_ETCD_CPUS") {
                Ok(cpus) => vec!["taskset".to_owned(), "-c".into(), cpus],
                Err(_) => Vec::new(),
            };
            let child = Command::new("setpriv")
                .args(["--pdeathsig", "KILL"])
                .args(&pinned)
                .args(["etcd", "--name", &format!("m{i}")])
                .arg("--data-dir")
                .arg(dir.join(format!("m{i}")))
                .args([
                    "--listen-client-urls",
                    &client,
                    "--advertise-client-urls",
                    &client,
                ])
                .args([
                    "--listen-peer-urls",
                    &peer,
                    "--initial-advertise-peer-urls",
                    &peer,
                ])
                .args(["--initial-cluster", &initial.join(",")])
                .args(["--initial-cluster-state", "new", "--log-level", "error"])
                .args(["--logger", "zap"])
                .args(
                    std::env::var("PXE_PILOT_BENCH_ETCD_ARGS")
                        .unwrap_or_default()
                        .split_whitespace(),
                )
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("start etcd (Debian: etcd-server): {e}"))?;
            members.push(child);
        }
        let cluster = Cluster { members, clients };
        let started = Instant::now();
        loop {
            let healthy = Connection::open(cluster.addr(0))
                .and_then(|mut c| c.request("POST", "/v3/kv/put", Some(&put_body("/up", "1"))))
                .is_ok_and(|(status, _)| status == 200);
            if healthy {
                return Ok(cluster);
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("etcd did not elect a leader within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn addr(&self, member: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.clients[member]))
    }

    /// What the members spent so far: CPU seconds (all three), and the leader's committed
    /// proposals (Raft entries) and WAL syncs (Raft rounds).
    fn spent(&self) -> Spent {
        let mut spent = Spent {
            cpu: 0.0,
            proposals: 0.0,
            syncs: 0.0,
            servers: None,
            clients: cpu_seconds("self"),
            at: Instant::now(),
        };
        for member in 0..self.clients.len() {
            let Ok((200, metrics)) = Connection::open(self.addr(member))
                .and_then(|mut c| c.request("GET", "/metrics", None))
            else {
                continue;
            };
            let metrics = String::from_utf8_lossy(&metrics);
            let value = |name: &str| {
                metrics
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix(name)?
                            .strip_prefix(' ')?
                            .trim()
                            .parse::<f64>()
                            .ok()
                    })
                    .unwrap_or(0.0)
            };
            spent.cpu += value("process_cpu_seconds_total");
            if value("etcd_server_is_leader") == 1.0 {
                spent.proposals = value("etcd_server_proposals_committed_total");
                spent.syncs = value("etcd_disk_wal_fsync_duration_seconds_count");
            }
        }
        spent
    }

    fn endpoints(&self) -> String {
        self.clients
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for member in &mut self.members {
            let _ = member.kill();
            let _ = member.wait();
        }
    }
}

/// What etcd's members spent, as [`Cluster::spent`] reads it, and what this process and the
/// servers given to [`Spent::with`] spent.
#[derive(Clone, Copy)]
struct Spent {
    cpu: f64,
    proposals: f64,
    syncs: f64,
    /// The servers' CPU seconds, when the phase has servers.
    servers: Option<f64>,
    clients: f64,
    at: Instant,
}

/// The CPU seconds process `pid` (`self`: this one) spent so far.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's name in parentheses: utime and stime are the 12th and 13th fields.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: f64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

impl Spent {
    /// The same, with what the servers `pids` spent so far.
    fn with(mut self, pids: &[u32]) -> Spent {
        self.servers = Some(pids.iter().map(|pid| cpu_seconds(&pid.to_string())).sum());
        self
    }

    /// The CPU milliseconds of every process (etcd's, the servers', the clients') per
    /// `writes` since `before`.
    fn busy_per(&self, before: &Spent, writes: usize) -> f64 {
        let servers = match (self.servers, before.servers) {
            (Some(now), Some(then)) => now - then,
            _ => 0.0,
        };
        let busy = (self.cpu - before.cpu) + servers + (self.clients - before.clients);
        busy * 1000.0 / (writes.max(1) as f64)
    }

    /// What was spent since `before`: CPU milliseconds per `writes` (etcd's, the servers',
    /// the clients'), the machine's idle share, and Raft entries.
    fn per(self, before: Spent, writes: usize) -> String {
        let per = |now: f64, then: f64| (now - then) * 1000.0 / (writes.max(1) as f64);
        let wall = self.at.duration_since(before.at).as_secs_f64();
        let servers = match (self.servers, before.servers) {
            (Some(now), Some(then)) => Some(now - then),
            _ => None,
        };
        let busy =
            (self.cpu - before.cpu) + servers.unwrap_or(0.0) + (self.clients - before.clients);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let servers = servers
            .map(|spent| format!(", servers {:.2} ms", per(spent, 0.0)))
            .unwrap_or_default();
        format!(
            "CPU per write: etcd {:.2} ms{servers}, clients {:.2} ms ({:.0} % of the cores idle); {:.0} Raft entries in {:.0} WAL syncs of the leader",
            per(self.cpu, before.cpu),
            per(self.clients, before.clients),
            (100.0 * (1.0 - busy / (wall * cores).max(1e-9))).max(0.0),
            self.proposals - before.proposals,
            self.syncs - before.syncs
        )
    }
}

fn put_body(key: &str, value: &str) -> String {
    format!(
        r#"{{"key":"{}","value":"{}"}}"#,
        B64.encode(key),
        B64.encode(value)
    )
}

fn host_name(h: usize) -> String {
    format!("node{h:05}")
}

fn mac(h: usize) -> String {
    format!(
        "52:54:01:{:02x}:{:02x}:{:02x}",
        h >> 16,
        (h >> 8) & 0xff,
        h & 0xff
    )
}

fn entry(mac: &str) -> String {
    format!("01-{}", mac.replace(':', "-"))
}

/// A TFTP root and configuration file over `hosts` hosts: a PXELINUX `local` and
/// `installer`, an iPXE template served over HTTP; `store` is appended.
fn world(dir: &Path, hosts: usize, store: &str) -> Result<PathBuf, String> {
    let conf = dir.join("tftp/pxelinux.cfg/conf");
    common::write_files(
        &conf,
        &[
            (
                "pxelinux/local",
                "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n",
            ),
            (
                "pxelinux/installer",
                "DEFAULT install\nLABEL install\n  KERNEL x\n",
            ),
            ("ipxe/boot", common::IPXE_BOOT),
        ],
    )?;
    let mut yaml = String::from(
        "tftp: {root: tftp}\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\n  bootloaders:\n    - {name: pxelinux, file: pxelinux.0}\n    - {name: ipxe, file: ipxe.efi}\narp_table: arp\nserver: {max_connections_per_peer: 1024}\nhosts:\n",
    );
    for h in 0..hosts {
        yaml.push_str(&format!(
            "  - {{name: {}, mac_addresses: ['{}']}}\n",
            host_name(h),
            mac(h)
        ));
    }
    yaml.push_str(store);
    fs::write(
        dir.join("arp"),
        "IP address       HW type     Flags       HW address            Mask     Device\n",
    )
    .map_err(|e| e.to_string())?;
    let config = dir.join("pxe-pilot.yml");
    fs::write(&config, yaml).map_err(|e| e.to_string())?;
    Ok(config)
}

fn store_yaml(cluster: &Cluster, prefix: &str, site: &str) -> String {
    format!(
        "store:\n  etcd:\n    endpoints: [{}]\n    prefix: {prefix}\nsite: {site}\n",
        cluster.endpoints()
    )
}

fn addr_of(server: &TestServer) -> Result<SocketAddr, String> {
    server
        .authority()
        .parse()
        .map_err(|e| format!("the server's address: {e}"))
}

/// What a throughput phase measured.
struct Run {
    done: usize,
    errors: usize,
    first_error: Option<String>,
    latencies: Vec<Duration>,
    took: Duration,
    /// Each client's hosts and the configuration of its last acknowledged deploy.
    last: Vec<(usize, &'static str)>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.done as f64 / self.took.as_secs_f64().max(1e-9)
    }
}

/// `clients` threads, each sending `request(client, i)` to `addr_of_client(client)` for
/// `seconds`; a request answers (path, method, body, label).
fn drive(
    clients: usize,
    seconds: u64,
    addr_of_client: impl Fn(usize) -> SocketAddr + Sync,
    request: impl Fn(usize, usize) -> (String, &'static str, Option<String>, usize, &'static str) + Sync,
) -> Run {
    let barrier = Barrier::new(clients);
    let started = Instant::now();
    let results: Vec<Result<Run, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                let barrier = &barrier;
                let addr_of_client = &addr_of_client;
                let request = &request;
                scope.spawn(move || -> Result<Run, String> {
                    let mut connection = Connection::open(addr_of_client(client))?;
                    barrier.wait();
                    let start = Instant::now();
                    let end = start + Duration::from_secs(seconds);
                    let mut run = Run {
                        done: 0,
                        errors: 0,
                        first_error: None,
                        latencies: Vec::new(),
                        took: Duration::ZERO,
                        last: Vec::new(),
                    };
                    let mut last = std::collections::HashMap::new();
                    for i in 0..MAX_REQUESTS {
                        if Instant::now() >= end {
                            break;
                        }
                        let (path, method, body, host, label) = request(client, i);
                        let sent = Instant::now();
                        let (status, answer) =
                            connection.request(method, &path, body.as_deref())?;
                        run.latencies.push(sent.elapsed());
                        if status == 200 {
                            run.done += 1;
                            last.insert(host, label);
                        } else {
                            run.errors += 1;
                            run.first_error.get_or_insert_with(|| {
                                format!("{status} {}", String::from_utf8_lossy(&answer))
                            });
                        }
                    }
                    run.took = start.elapsed();
                    run.last = last.into_iter().collect();
                    Ok(run)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a client panicked".into())))
            .collect()
    });
    let mut total = Run {
        done: 0,
        errors: 0,
        first_error: None,
        latencies: Vec::new(),
        took: started.elapsed(),
        last: Vec::new(),
    };
    for result in results {
        match result {
            Ok(run) => {
                total.done += run.done;
                total.errors += run.errors;
                total.first_error = total.first_error.or(run.first_error);
                total.latencies.extend(run.latencies);
                total.last.extend(run.last);
            }
            Err(e) => {
                total.errors += 1;
                total.first_error.get_or_insert(e);
            }
        }
    }
    total
}

/// What `mac`'s entry leads to in the TFTP root under `dir`.
fn on_disk(dir: &Path, mac: &str) -> Option<String> {
    fs::read_link(dir.join("tftp/pxelinux.cfg").join(entry(mac)))
        .ok()
        .map(|t| t.to_string_lossy().trim_start_matches("conf/").to_owned())
}

fn run() -> Result<(), String> {
    let hosts = setting("PXE_PILOT_ETCD_HOSTS", 1_000)?.max(clients_floor());
    let seconds = setting("PXE_PILOT_ETCD_SECONDS", 5)?.clamp(1, 60) as u64;
    let clients = setting("PXE_PILOT_ETCD_CLIENTS", 8)?.clamp(2, 64);
    let target = target_dir();
    let binary = target.join("release/pxe-pilot-server");
    if !binary.is_file() {
        return Err(format!(
            "{} is missing: `cargo build --release -p pxe-pilot-server` first",
            binary.display()
        ));
    }
    let place = std::env::var_os("PXE_PILOT_BENCH_DIR").map_or(target.clone(), PathBuf::from);
    let dir = tempfile::Builder::new()
        .prefix("pxe-pilot-bench-etcd-")
        .tempdir_in(&place)
        .map_err(|e| e.to_string())?;
    let cluster = Cluster::start(&dir.path().join("etcd"))?;
    // The TFTP roots: with etcd's data, or where PXE_PILOT_BENCH_ROOTS says.
    let roots = match std::env::var_os("PXE_PILOT_BENCH_ROOTS") {
        Some(place) => Some(
            tempfile::Builder::new()
                .prefix("pxe-pilot-bench-roots-")
                .tempdir_in(place)
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let root_of = |name: &str| roots.as_ref().map_or(dir.path(), |r| r.path()).join(name);
    let serve = |config: &Path| -> Result<TestServer, String> {
        TestServer::builder()
            .binary(&binary)
            .config(config)
            .timeout(Duration::from_secs(60))
            .try_start()
    };

    // etcd's floor: the same clients putting the same keys straight to the member the
    // servers use first; then the same writing what a deploy writes: its entry and its event
    // (a new key), in one transaction.
    let floor_write = |client: usize, i: usize| {
        let h = client + clients * (i % (hosts / clients));
        let label = if i.is_multiple_of(2) {
            "installer"
        } else {
            "local"
        };
        let value = format!(
            r#"{{"macs":["{}"],"name":"{label}","bootloader":"pxelinux","path":"pxelinux/{label}"}}"#,
            mac(h)
        );
        (h, label, value)
    };
    let spent_floor = cluster.spent();
    let floor = drive(
        clients,
        seconds,
        |_| cluster.addr(0),
        |client, i| {
            let (h, _, value) = floor_write(client, i);
            let body = put_body(&format!("/floor/entries/{}", mac(h)), &value);
            ("/v3/kv/put".into(), "POST", Some(body), h, "")
        },
    );
    let spent_floor_two = cluster.spent();
    let floor_busy = spent_floor_two.busy_per(&spent_floor, floor.done);
    let spent_floor = spent_floor_two.per(spent_floor, floor.done);
    let floor_two = drive(
        clients,
        seconds,
        |_| cluster.addr(0),
        |client, i| {
            let (h, label, value) = floor_write(client, i);
            let event = format!(
                r#"{{"id":0,"time":"2026-12-07T02:03:38.123Z","kind":"deploy","host":"{}","from":"local","to":"{label}","who":"open","peer":"127.0.0.1:40000","site":"rack-a","result":"ok"}}"#,
                host_name(h)
            );
            let put =
                |key: &str, value: &str| format!(r#"{{"request_put":{}}}"#, put_body(key, value));
            let body = format!(
                r#"{{"success":[{},{}]}}"#,
                put(&format!("/floor2/entries/{}", mac(h)), &value),
                put(&format!("/floor2/events/c/{client}-{i:012}"), &event)
            );
            ("/v3/kv/txn".into(), "POST", Some(body), h, "")
        },
    );

    let spent_floor_two = cluster.spent().per(spent_floor_two, floor_two.done);

    // Two servers on one prefix, each over its own root.
    let (dir_a, dir_b) = (root_of("a"), root_of("b"));
    fs::create_dir_all(&dir_a).map_err(|e| e.to_string())?;
    fs::create_dir_all(&dir_b).map_err(|e| e.to_string())?;
    let a = serve(&world(
        &dir_a,
        hosts,
        &store_yaml(&cluster, "/bench/", "rack-a"),
    )?)?;
    let b = serve(&world(
        &dir_b,
        hosts,
        &store_yaml(&cluster, "/bench/", "rack-b"),
    )?)?;
    let (addr_a, addr_b) = (addr_of(&a)?, addr_of(&b)?);
    let deploy = |h: usize, label: &'static str| {
        (
            format!("/v1/configurations/{label}/deploy"),
            "PUT",
            Some(format!(r#"{{"hosts":[{{"name":"{}"}}]}}"#, host_name(h))),
            h,
            label,
        )
    };
    let servers = [a.pid(), b.pid()];
    let spent_deploys = cluster.spent().with(&servers);
    let deploys = drive(
        clients,
        seconds,
        |client| if client % 2 == 0 { addr_a } else { addr_b },
        |client, i| {
            let h = client + clients * (i % (hosts / clients));
            deploy(h, if i % 2 == 0 { "installer" } else { "local" })
        },
    );
    let deploys_spent = cluster.spent().with(&servers);
    let deploys_busy = deploys_spent.busy_per(&spent_deploys, deploys.done);
    let spent_deploys = deploys_spent.per(spent_deploys, deploys.done);
    // Both disks agree with every last acknowledged deploy, within a second.
    std::thread::sleep(Duration::from_secs(1));
    let mut disagreeing = 0;
    for (h, label) in &deploys.last {
        let wanted = format!("pxelinux/{label}");
        for dir in [&dir_a, &dir_b] {
            if on_disk(dir, &mac(*h)).as_deref() != Some(wanted.as_str()) {
                disagreeing += 1;
            }
        }
    }

    // Propagation: one deploy at a time through A, until B's disk has it.
    let mut propagation = Vec::new();
    let mut connection = Connection::open(addr_a)?;
    for i in 0..PROPAGATIONS {
        let label = if i % 2 == 0 { "installer" } else { "local" };
        let (path, method, body, _, _) = deploy(0, label);
        let (status, answer) = connection.request(method, &path, body.as_deref())?;
        if status != 200 {
            return Err(format!(
                "propagation deploy: {status} {}",
                String::from_utf8_lossy(&answer)
            ));
        }
        let answered = Instant::now();
        let wanted = format!("pxelinux/{label}");
        while on_disk(&dir_b, &mac(0)).as_deref() != Some(wanted.as_str()) {
            if answered.elapsed() > Duration::from_secs(5) {
                return Err(format!("B did not apply deploy {i} within 5 s"));
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        propagation.push(answered.elapsed());
    }
    let propagation = spread(propagation);

    // Boot fetches: every host deployed the iPXE template, fetched from 8 clients, on A
    // (etcd) and on a server over files with the same hosts.
    let mut connection = Connection::open(addr_a)?;
    for h in 0..hosts {
        let (path, method, body, _, _) = deploy(h, "boot");
        let (status, answer) = connection.request(method, &path, body.as_deref())?;
        if status != 200 {
            return Err(format!(
                "deploy boot: {status} {}",
                String::from_utf8_lossy(&answer)
            ));
        }
    }
    let dir_f = root_of("files");
    fs::create_dir_all(&dir_f).map_err(|e| e.to_string())?;
    let files = serve(&world(&dir_f, hosts, "")?)?;
    let addr_f = addr_of(&files)?;
    let mut connection = Connection::open(addr_f)?;
    for h in 0..hosts {
        let (path, method, body, _, _) = deploy(h, "boot");
        connection.request(method, &path, body.as_deref())?;
    }
    let fetch = |client: usize, i: usize| {
        let h = (client * 7919 + i) % hosts;
        (format!("/v1/boot/ipxe/{}", mac(h)), "GET", None, h, "")
    };
    let spent_boots = cluster.spent().with(&servers);
    let boots_etcd = drive(clients, seconds, |_| addr_a, fetch);
    let spent_boots = cluster
        .spent()
        .with(&servers)
        .per(spent_boots, boots_etcd.done);
    // Every fetch's event published, or dropped from a full line (A's status says): the
    // line waiting for etcd empties within 10 s (DESIGN §9).
    let flood_ended = Instant::now();
    let (dropped, buffered) = loop {
        let (_, status) = Connection::open(addr_a)?.request("GET", "/v1/status", None)?;
        let status: serde_json::Value =
            serde_json::from_slice(&status).map_err(|e| e.to_string())?;
        let field = |name: &str| {
            status["mirror"][name]
                .as_u64()
                .ok_or(format!("A's status has no mirror.{name}: {status}"))
        };
        let (dropped, buffered) = (field("dropped_events")?, field("buffered_events")?);
        if buffered == 0 || flood_ended.elapsed() > Duration::from_secs(10) {
            break (dropped as usize, buffered as usize);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let published_within = flood_ended.elapsed();
    let boots_published = boots_etcd.done.saturating_sub(dropped + buffered);
    let boots_files = drive(clients, seconds, |_| addr_f, fetch);
    drop(files);

    // A start over 10,000 hosts with an empty root: a files root with every link, seeded
    // into a new prefix, then a server on that prefix over an empty root.
    let dir_s = root_of("seed");
    fs::create_dir_all(&dir_s).map_err(|e| e.to_string())?;
    let seed_config = world(
        &dir_s,
        START_HOSTS,
        &store_yaml(&cluster, "/start/", "seed"),
    )?;
    let folder = dir_s.join("tftp/pxelinux.cfg");
    for h in 0..START_HOSTS {
        std::os::unix::fs::symlink("conf/pxelinux/installer", folder.join(entry(&mac(h))))
            .map_err(|e| e.to_string())?;
    }
    let seeded = Command::new(&binary)
        .arg("--seed-etcd")
        .arg("-c")
        .arg(&seed_config)
        .output()
        .map_err(|e| e.to_string())?;
    if !seeded.status.success() {
        return Err(format!("seed: {}", String::from_utf8_lossy(&seeded.stderr)));
    }
    let dir_c = root_of("start");
    fs::create_dir_all(&dir_c).map_err(|e| e.to_string())?;
    let start_config = world(&dir_c, START_HOSTS, &store_yaml(&cluster, "/start/", "new"))?;
    let started = Instant::now();
    let fresh = serve(&start_config)?;
    let start = started.elapsed();
    let written = fs::read_dir(dir_c.join("tftp/pxelinux.cfg"))
        .map_err(|e| e.to_string())?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("01-"))
        })
        .count();
    drop(fresh);

    let deploy_spread = spread(deploys.latencies.clone());
    let floor_spread = spread(floor.latencies.clone());
    let floor_two_spread = spread(floor_two.latencies.clone());
    let etcd_spread = spread(boots_etcd.latencies.clone());
    let files_spread = spread(boots_files.latencies.clone());
    let ratio = deploys.per_second() / floor.per_second().max(1e-9);
    println!(
        "\n{hosts} hosts, {clients} clients, {seconds} s per phase, three etcd 3.4 members on loopback; load average {}\n",
        fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().next().unwrap_or("?")
    );
    println!("| figure | value | target | verdict |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| etcd's floor: puts of the same keys, straight | {:.0}/s, median {}, p99 {}, {} errors; {spent_floor} | | |",
        floor.per_second(),
        ms(floor_spread.median),
        ms(floor_spread.p99),
        floor.errors
    );
    println!(
        "| etcd's floor for a deploy's two keys (entry and event, one transaction), straight | {:.0}/s, median {}, p99 {}, {} errors; {spent_floor_two} | | |",
        floor_two.per_second(),
        ms(floor_two_spread.median),
        ms(floor_two_spread.p99),
        floor_two.errors
    );
    println!(
        "| deploys through two servers | {:.0}/s ({:.2} of the floor), median {}, p95 {}, p99 {}, {} errors{}; {spent_deploys} | at least half the floor, 0 errors | {} |",
        deploys.per_second(),
        ratio,
        ms(deploy_spread.median),
        ms(deploy_spread.p95),
        ms(deploy_spread.p99),
        deploys.errors,
        deploys.first_error.as_deref().map(|e| format!(" (first: {e})")).unwrap_or_default(),
        verdict(ratio >= 0.5 && deploys.errors == 0)
    );
    println!(
        "| the most the CPU allows: the floor's CPU per put over a deploy's, every process counted | {:.2} ({floor_busy:.2} ms against {deploys_busy:.2} ms) | | |",
        floor_busy / deploys_busy.max(1e-9)
    );
    println!(
        "| hosts whose last acknowledged deploy is not on both disks | {disagreeing} of {} | 0 | {} |",
        deploys.last.len(),
        verdict(disagreeing == 0)
    );
    println!(
        "| propagation, A's 200 to B's disk ({} deploys) | median {}, p99 {} | p99 under 200 ms | {} |",
        propagation.count,
        ms(propagation.median),
        ms(propagation.p99),
        verdict(propagation.p99 < Duration::from_millis(200))
    );
    println!(
        "| boot fetches, etcd store | {:.0}/s, p99 {}, {} errors; {spent_boots} | 10,000/s, p99 10 ms | {} |",
        boots_etcd.per_second(),
        ms(etcd_spread.p99),
        boots_etcd.errors,
        verdict(
            boots_etcd.per_second() >= 10_000.0
                && etcd_spread.p99 < Duration::from_millis(10)
                && boots_etcd.errors == 0
        )
    );
    println!(
        "| the etcd store's boot fetches whose events etcd holds | {boots_published} of {} ({dropped} dropped, {buffered} still waiting; the line empty {:.2} s after the last fetch) | all, within 10 s | {} |",
        boots_etcd.done,
        published_within.as_secs_f64(),
        verdict(boots_published == boots_etcd.done)
    );
    println!(
        "| boot fetches, files store (same run) | {:.0}/s, p99 {}, {} errors | | |",
        boots_files.per_second(),
        ms(files_spread.p99),
        boots_files.errors
    );
    println!(
        "| start over {START_HOSTS} hosts, empty root, until it answers | {:.2} s, {written} links written | under 3 s, all links | {} |",
        start.as_secs_f64(),
        verdict(start < Duration::from_secs(3) && written == START_HOSTS)
    );
    drop((a, b, cluster));
    Ok(())
}

/// The fewest hosts the phases need (one per client at least).
fn clients_floor() -> usize {
    64
}
