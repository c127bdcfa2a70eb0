//! The load tool: starts the release `pxe-pilot-server` over a generated TFTP root of 10,000
//! hosts (2 MACs each, all deployed) on a loopback port chosen by the system, drives it, and
//! prints one Markdown table of the figures against the targets of `BENCHMARKS.md`:
//!
//! - `GET /v1/hosts?status=false`: latency (median, p95) against the floor measured in this
//!   process at the same moments (readdir + readlink of the same `pxelinux.cfg/`, interleaved
//!   with the requests, so a busy machine slows both alike), twice: with the folder unchanged
//!   (the server reuses its listing) and right after a change of the folder (it reads it again);
//! - the disk's floor for a deploy: link + rename + `fsync` of a folder, in-process;
//! - `PUT /v1/configurations/{name}/deploy` from 8 clients at once, each on its own hosts:
//!   throughput, latency, errors (must be 0); afterwards every host a client deployed must
//!   lead, on disk, to the configuration of its last answered deploy;
//! - `GET /v1/configurations/local` from 8 clients: throughput of a small read;
//! - the server's memory after the load (`VmHWM`, `VmRSS` of `/proc/<pid>/status`);
//! - `pxe-pilot config deploy` round trips (the real CLI binary, started each time);
//! - the size of the static CLI;
//! - boot over HTTP, a mass reboot: `GET /v1/boot/ipxe/{mac}` over all hosts (a second server,
//!   every host deployed an iPXE template, events kept in a state folder) from 8 clients:
//!   throughput, p99 latency, errors, and every fetch counted as a recorded event;
//! - power states with slow BMCs: a third server over 1,000 hosts whose `ipmitool` (the test
//!   suite's stand-in, `tests/fake-tools/`) takes 1 s: `GET /v1/hosts` cold (no state known)
//!   and warm (every state read once).
//!
//! ```sh
//! cargo build --release -p pxe-pilot-server -p pxe-pilot-cli
//! cargo build -p pxe-pilot-cli --profile release-small --target x86_64-unknown-linux-musl
//! cargo bench --bench load
//! ```
//!
//! Every phase is bounded in time and in count; nothing leaves loopback. Settings, from the
//! environment: `PXE_PILOT_LOAD_HOSTS` (10000), `PXE_PILOT_LOAD_SECONDS` (5, per throughput
//! phase), `PXE_PILOT_LOAD_CLIENTS` (8). Run by `cargo test` (without `--bench`) it does
//! nothing: it needs release binaries and an otherwise idle machine.
//!
//! The HTTP client is a minimal HTTP/1.1 keep-alive client on `std::net`, on purpose: like
//! `wrk`, it should cost the two CPUs as little as possible, so that the figures are the
//! server's.

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/common/server.rs"]
mod server;

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ms, setting, spread, target_dir, verdict, Connection, Spread};
use server::TestServer;

/// The most requests of one latency phase, whatever the time left.
const MAX_LISTINGS: usize = 60;
/// The time a latency phase may take.
const LISTING_BUDGET: Duration = Duration::from_secs(20);
/// The most requests one client sends in a throughput phase.
const MAX_REQUESTS_PER_CLIENT: usize = 200_000;
/// The CLI round trips.
const CLI_RUNS: usize = 30;
/// Configurations of the catalogue; deploys cycle through them.
const CONFIGURATIONS: [&str; 3] = ["local", "installer", "rescue"];

fn main() {
    common::bench_main("load", run);
}

fn run() -> Result<(), String> {
    let hosts = setting("PXE_PILOT_LOAD_HOSTS", 10_000)?.max(100);
    let seconds = setting("PXE_PILOT_LOAD_SECONDS", 5)?.clamp(1, 60) as u64;
    let clients = setting("PXE_PILOT_LOAD_CLIENTS", 8)?.clamp(1, 64);
    let target = target_dir();
    let server_bin = target.join("release/pxe-pilot-server");
    let static_cli = target.join("x86_64-unknown-linux-musl/release-small/pxe-pilot");
    let cli_bin = [static_cli.clone(), target.join("release/pxe-pilot")]
        .into_iter()
        .find(|p| p.is_file());
    if !server_bin.is_file() {
        return Err(format!(
            "{} is missing: `cargo build --release -p pxe-pilot-server -p pxe-pilot-cli` first",
            server_bin.display()
        ));
    }

    let load_before = load_average();
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let started = Instant::now();
    let world = World::create(dir.path(), hosts)?;
    eprintln!(
        "load: {hosts} hosts generated in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let server = TestServer::builder()
        .binary(&server_bin)
        .config(&world.config)
        .log_file(dir.path().join("server.log"))
        .try_start()?;
    let addr: SocketAddr = server
        .authority()
        .parse()
        .map_err(|e| format!("unexpected address {:?}: {e}", server.base))?;
    eprintln!("load: server pid {} on {addr}", server.pid());
    let memory_at_start = memory_of(server.pid())?;

    let listing = measure_listing(addr, &world.folder, hosts)?;
    eprintln!("load: listing done");
    let fsync = measure_fsync(dir.path())?;
    let deploys = measure_deploys(addr, clients, hosts, seconds)?;
    check_deploys(&world.folder, &deploys)?;
    eprintln!("load: deploys done");
    let small = measure_small_reads(addr, clients, seconds)?;
    eprintln!("load: small reads done");
    let memory = memory_of(server.pid())?;
    let cli = match &cli_bin {
        Some(cli) => Some((cli.clone(), measure_cli(cli, addr, hosts)?)),
        None => None,
    };
    drop(server);

    let boot_dir = dir.path().join("boot");
    let boot_config = create_boot_world(&boot_dir, hosts)?;
    let boot_server = TestServer::builder()
        .binary(&server_bin)
        .config(&boot_config)
        .log_file(boot_dir.join("server.log"))
        .try_start()?;
    let boot_addr: SocketAddr = boot_server
        .authority()
        .parse()
        .map_err(|e| format!("unexpected address {:?}: {e}", boot_server.base))?;
    let boots = measure_boots(boot_addr, clients, hosts, seconds)?;
    let counted = counted_boots(boot_addr)?;
    let unrecorded = boot_server.logs().matches("event not recorded").count();
    drop(boot_server);
    eprintln!("load: boot fetches done");
    let power = measure_power(&server_bin, dir.path())?;
    eprintln!("load: power listings done");
    let load_after = load_average();

    print_table(&Report {
        hosts,
        clients,
        seconds,
        load_before,
        load_after,
        server_bin,
        listing,
        deploys,
        small,
        fsync,
        memory_at_start,
        memory,
        cli,
        static_cli_size: fs::metadata(&static_cli).ok().map(|m| m.len()),
        boots,
        counted,
        unrecorded,
        power,
    });
    Ok(())
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// The generated TFTP root and configuration file.
struct World {
    config: PathBuf,
    folder: PathBuf,
}

fn host_name(host: usize) -> String {
    format!("host-{host}")
}

fn mac(host: usize, nic: usize) -> [u8; 6] {
    let h = host as u32;
    [
        0x02,
        nic as u8,
        (h >> 16) as u8,
        (h >> 8) as u8,
        h as u8,
        0x01,
    ]
}

fn colon(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn entry_name(mac: [u8; 6]) -> String {
    format!("01-{}", colon(mac).replace(':', "-"))
}

impl World {
    /// `hosts` hosts of 2 MACs each, every one deployed to `local` as pxe-pilot writes it.
    fn create(dir: &Path, hosts: usize) -> Result<World, String> {
        let folder = dir.join("tftp/pxelinux.cfg");
        let conf = folder.join("conf");
        fs::create_dir_all(&conf).map_err(|e| format!("catalogue: {e}"))?;
        for name in CONFIGURATIONS {
            fs::write(conf.join(name), format!("# {name}\n")).map_err(|e| e.to_string())?;
        }
        let mut yaml = String::with_capacity(hosts * 90 + 200);
        yaml.push_str("tftp: {root: tftp}\nconfiguration: {directory: tftp/pxelinux.cfg/conf}\n");
        yaml.push_str("arp_table: arp\nhosts:\n");
        for h in 0..hosts {
            yaml.push_str(&format!(
                "  - {{name: {}, mac_addresses: ['{}', '{}']}}\n",
                host_name(h),
                colon(mac(h, 0)),
                colon(mac(h, 1))
            ));
            let first = entry_name(mac(h, 0));
            std::os::unix::fs::symlink("conf/local", folder.join(&first))
                .and_then(|()| {
                    std::os::unix::fs::symlink(&first, folder.join(entry_name(mac(h, 1))))
                })
                .map_err(|e| format!("link: {e}"))?;
        }
        fs::write(
            dir.join("arp"),
            "IP address       HW type     Flags       HW address            Mask     Device\n",
        )
        .map_err(|e| e.to_string())?;
        let config = dir.join("pxe-pilot.yml");
        fs::write(&config, yaml).map_err(|e| format!("configuration file: {e}"))?;
        Ok(World { config, folder })
    }
}

/// The floor: list the folder and read every link, nothing else.
fn floor(folder: &Path) -> usize {
    let mut n = 0;
    if let Ok(listing) = fs::read_dir(folder) {
        for entry in listing.flatten() {
            if fs::read_link(entry.path()).is_ok() {
                n += 1;
            }
        }
    }
    n
}

struct Listing {
    /// The folder unchanged for over a second: the server reuses its listing.
    request: Spread,
    /// Right after a change of the folder: the server reads it again.
    changed: Spread,
    floor: Spread,
    bytes: usize,
}

fn measure_listing(addr: SocketAddr, folder: &Path, hosts: usize) -> Result<Listing, String> {
    let mut connection = Connection::open(addr)?;
    let mut bytes = 0;
    for _ in 0..3 {
        let (status, body) = connection.request("GET", "/v1/hosts?status=false", None)?;
        if status != 200 {
            return Err(format!("GET /v1/hosts answered {status}"));
        }
        bytes = body.len();
        floor(folder);
    }
    // The folder unchanged for more than the file system's time granularity (1 s, see the
    // store): the listing the server took is trusted and reused.
    std::thread::sleep(Duration::from_millis(1200));
    connection.request("GET", "/v1/hosts?status=false", None)?;
    let (mut requests, mut changed, mut floors) = (Vec::new(), Vec::new(), Vec::new());
    let budget = Instant::now();
    let touch = folder.join("bench-touch");
    while requests.len() < MAX_LISTINGS && budget.elapsed() < LISTING_BUDGET {
        let start = Instant::now();
        let entries = floor(folder);
        floors.push(start.elapsed());
        if entries < 2 * hosts {
            return Err(format!("the floor read {entries} links, not {}", 2 * hosts));
        }
        let start = Instant::now();
        let (status, body) = connection.request("GET", "/v1/hosts?status=false", None)?;
        requests.push(start.elapsed());
        if status != 200 || body.len() != bytes {
            return Err(format!(
                "GET /v1/hosts answered {status} with {} bytes",
                body.len()
            ));
        }
    }
    // Each listing right after a change of the folder (a link made and removed by hand).
    let budget = Instant::now();
    while changed.len() < MAX_LISTINGS && budget.elapsed() < LISTING_BUDGET {
        std::os::unix::fs::symlink("conf/local", &touch).map_err(|e| e.to_string())?;
        fs::remove_file(&touch).map_err(|e| e.to_string())?;
        let start = Instant::now();
        let (status, body) = connection.request("GET", "/v1/hosts?status=false", None)?;
        changed.push(start.elapsed());
        if status != 200 || body.len() != bytes {
            return Err(format!(
                "GET /v1/hosts answered {status} with {} bytes",
                body.len()
            ));
        }
    }
    Ok(Listing {
        request: spread(requests),
        changed: spread(changed),
        floor: spread(floors),
        bytes,
    })
}

/// What one client of the deploy phase did.
struct ClientRun {
    latencies: Vec<Duration>,
    errors: Vec<String>,
    /// The configuration of each host's last answered deploy.
    last: Vec<(usize, &'static str)>,
}

struct Throughput {
    ok: usize,
    errors: Vec<String>,
    elapsed: Duration,
    latency: Spread,
}

impl Throughput {
    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// Hosts each deploy client cycles through (its own: no two clients touch one host).
const HOSTS_PER_CLIENT: usize = 50;

fn measure_deploys(
    addr: SocketAddr,
    clients: usize,
    hosts: usize,
    seconds: u64,
) -> Result<(Throughput, Vec<ClientRun>), String> {
    let deadline = Duration::from_secs(seconds);
    let start = Instant::now();
    let runs: Vec<ClientRun> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                scope.spawn(move || {
                    let mut run = ClientRun {
                        latencies: Vec::new(),
                        errors: Vec::new(),
                        last: Vec::new(),
                    };
                    let mut last = vec![None; HOSTS_PER_CLIENT];
                    let mut connection = match Connection::open(addr) {
                        Ok(c) => c,
                        Err(e) => {
                            run.errors.push(e);
                            return run;
                        }
                    };
                    let mut i = 0;
                    while start.elapsed() < deadline && i < MAX_REQUESTS_PER_CLIENT {
                        let slot = i % HOSTS_PER_CLIENT;
                        let host = (c * HOSTS_PER_CLIENT + slot) % hosts;
                        let configuration = CONFIGURATIONS[(i / HOSTS_PER_CLIENT + 1) % 3];
                        let body = format!("{{\"hosts\":[{{\"name\":\"{}\"}}]}}", host_name(host));
                        let path = format!("/v1/configurations/{configuration}/deploy");
                        let sent = Instant::now();
                        match connection.request("PUT", &path, Some(&body)) {
                            Ok((200, _)) => {
                                run.latencies.push(sent.elapsed());
                                last[slot] = Some((host, configuration));
                            }
                            Ok((status, body)) => run
                                .errors
                                .push(format!("{status} {}", String::from_utf8_lossy(&body))),
                            Err(e) => {
                                run.errors.push(e);
                                match Connection::open(addr) {
                                    Ok(c) => connection = c,
                                    Err(e) => {
                                        run.errors.push(e);
                                        break;
                                    }
                                }
                            }
                        }
                        i += 1;
                    }
                    run.last = last.into_iter().flatten().collect();
                    run
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| ClientRun {
                    latencies: Vec::new(),
                    errors: vec!["client thread panicked".into()],
                    last: Vec::new(),
                })
            })
            .collect()
    });
    let elapsed = start.elapsed();
    let latencies: Vec<Duration> = runs.iter().flat_map(|r| r.latencies.clone()).collect();
    let throughput = Throughput {
        ok: latencies.len(),
        errors: runs.iter().flat_map(|r| r.errors.clone()).collect(),
        elapsed,
        latency: spread(latencies),
    };
    Ok((throughput, runs))
}

/// Every host a client deployed leads, on disk, to its last answered configuration.
fn check_deploys(folder: &Path, deploys: &(Throughput, Vec<ClientRun>)) -> Result<(), String> {
    for run in &deploys.1 {
        for &(host, configuration) in &run.last {
            let first = folder.join(entry_name(mac(host, 0)));
            let other = folder.join(entry_name(mac(host, 1)));
            let target = fs::read_link(&first).map_err(|e| format!("{}: {e}", first.display()))?;
            let content = fs::read_to_string(&other).map_err(|e| e.to_string())?;
            if target != Path::new("conf").join(configuration)
                || content != format!("# {configuration}\n")
            {
                return Err(format!(
                    "{} leads to {} after a 200 for {configuration}",
                    host_name(host),
                    target.display()
                ));
            }
        }
    }
    Ok(())
}

fn measure_small_reads(
    addr: SocketAddr,
    clients: usize,
    seconds: u64,
) -> Result<Throughput, String> {
    Ok(measure_gets(
        addr,
        clients,
        seconds,
        |_| "/v1/configurations/local".to_owned(),
        |_| true,
    ))
}

/// `clients` clients on keep-alive connections, each sending `GET path_of(n)` for its n-th
/// request (n = client, client + clients, ...) for `seconds`; a 200 whose body passes `good`
/// counts, anything else is an error (a lost connection is opened again).
fn measure_gets(
    addr: SocketAddr,
    clients: usize,
    seconds: u64,
    path_of: impl Fn(usize) -> String + Sync,
    good: impl Fn(&[u8]) -> bool + Sync,
) -> Throughput {
    let deadline = Duration::from_secs(seconds);
    let start = Instant::now();
    let (path_of, good) = (&path_of, &good);
    let runs: Vec<(Vec<Duration>, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                scope.spawn(move || {
                    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
                    let mut connection = match Connection::open(addr) {
                        Ok(c) => c,
                        Err(e) => return (latencies, vec![e]),
                    };
                    let mut n = c;
                    while start.elapsed() < deadline && latencies.len() < MAX_REQUESTS_PER_CLIENT {
                        let path = path_of(n);
                        let sent = Instant::now();
                        match connection.request("GET", &path, None) {
                            Ok((200, body)) if good(&body) => latencies.push(sent.elapsed()),
                            Ok((status, body)) => {
                                errors.push(format!("{status} {}", String::from_utf8_lossy(&body)))
                            }
                            Err(e) => {
                                errors.push(e);
                                match Connection::open(addr) {
                                    Ok(c) => connection = c,
                                    Err(e) => {
                                        errors.push(e);
                                        break;
                                    }
                                }
                            }
                        }
                        n += clients;
                    }
                    (latencies, errors)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| (Vec::new(), vec!["client thread panicked".into()]))
            })
            .collect()
    });
    let elapsed = start.elapsed();
    Throughput {
        ok: runs.iter().map(|r| r.0.len()).sum(),
        errors: runs.iter().flat_map(|r| r.1.clone()).collect(),
        elapsed,
        latency: spread(runs.into_iter().flat_map(|r| r.0).collect()),
    }
}

/// The disk's floor for a deploy: link + rename + `fsync` of a folder on the same file system,
/// in this process, one at a time.
fn measure_fsync(dir: &Path) -> Result<Spread, String> {
    let folder = dir.join("fsync-floor");
    fs::create_dir(&folder).map_err(|e| e.to_string())?;
    let mut samples = Vec::new();
    for i in 0..50 {
        let start = Instant::now();
        let temporary = folder.join(format!("t{i}"));
        std::os::unix::fs::symlink(CONFIGURATIONS[i % 3], &temporary)
            .and_then(|()| fs::rename(&temporary, folder.join("entry")))
            .and_then(|()| fs::File::open(&folder)?.sync_all())
            .map_err(|e| format!("fsync floor: {e}"))?;
        samples.push(start.elapsed());
    }
    Ok(spread(samples))
}

/// A world for boot over HTTP: `hosts` hosts of 2 MACs, an `ipxe` bootloader served over HTTP,
/// every host deployed the iPXE template `ipxe/boot`, events kept in `state/`.
fn create_boot_world(dir: &Path, hosts: usize) -> Result<PathBuf, String> {
    let folder = dir.join("tftp/pxelinux.cfg");
    let conf = folder.join("conf");
    common::write_files(
        &conf,
        &[
            ("pxelinux/local", "LOCALBOOT 0\n"),
            ("ipxe/boot", common::IPXE_BOOT),
        ],
    )?;
    fs::create_dir_all(dir.join("state")).map_err(|e| e.to_string())?;
    let mut yaml = String::with_capacity(hosts * 90 + 400);
    yaml.push_str("tftp: {root: tftp}\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\n  bootloaders:\n    - {name: pxelinux, file: pxelinux.0}\n    - {name: ipxe, file: ipxe.efi, http: ipxe}\nstate_dir: state\narp_table: arp\nhosts:\n");
    for h in 0..hosts {
        yaml.push_str(&format!(
            "  - {{name: {}, mac_addresses: ['{}', '{}']}}\n",
            host_name(h),
            colon(mac(h, 0)),
            colon(mac(h, 1))
        ));
        let first = entry_name(mac(h, 0));
        std::os::unix::fs::symlink("conf/ipxe/boot", folder.join(&first))
            .and_then(|()| std::os::unix::fs::symlink(&first, folder.join(entry_name(mac(h, 1)))))
            .map_err(|e| format!("link: {e}"))?;
    }
    fs::write(
        dir.join("arp"),
        "IP address HW type Flags HW address Mask Device\n",
    )
    .map_err(|e| e.to_string())?;
    let config = dir.join("pxe-pilot.yml");
    fs::write(&config, yaml).map_err(|e| format!("configuration file: {e}"))?;
    Ok(config)
}

/// A mass reboot: `clients` clients fetch `GET /v1/boot/ipxe/{mac}` of every host in turn.
fn measure_boots(
    addr: SocketAddr,
    clients: usize,
    hosts: usize,
    seconds: u64,
) -> Result<Throughput, String> {
    Ok(measure_gets(
        addr,
        clients,
        seconds,
        |n| format!("/v1/boot/ipxe/{}", colon(mac(n % hosts, n / hosts % 2))),
        |body| body.starts_with(b"#!ipxe\nkernel "),
    ))
}

/// The boot fetches the server counted as recorded events (`pxe_pilot_boot_fetches_total`).
fn counted_boots(addr: SocketAddr) -> Result<u64, String> {
    let (status, body) = Connection::open(addr)?.request("GET", "/metrics", None)?;
    if status != 200 {
        return Err(format!("GET /metrics answered {status}"));
    }
    Ok(String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with("pxe_pilot_boot_fetches_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum())
}

/// What power listings cost with slow BMCs.
struct PowerFigures {
    hosts: usize,
    /// The first `GET /v1/hosts`, no state known.
    cold: Duration,
    /// Hosts it answered `Unknown` (their BMCs had not answered yet).
    unknown_cold: usize,
    /// How long until every state was read in the background.
    filled: Duration,
    /// Later listings.
    warm: Spread,
}

/// 1,000 hosts whose `ipmitool` takes 1 s (the tests' stand-in): the first listing and the
/// later ones.
fn measure_power(server_bin: &Path, dir: &Path) -> Result<PowerFigures, String> {
    const HOSTS: usize = 1_000;
    let dir = dir.join("power");
    let conf = dir.join("tftp/pxelinux.cfg/conf");
    fs::create_dir_all(&conf).map_err(|e| e.to_string())?;
    fs::write(conf.join("local"), "LOCALBOOT 0\n").map_err(|e| e.to_string())?;
    fs::create_dir_all(dir.join("bmc")).map_err(|e| e.to_string())?;
    let mut yaml = String::from(
        "tftp: {root: tftp}\nconfiguration: {directory: tftp/pxelinux.cfg/conf}\nhosts:\n",
    );
    for h in 0..HOSTS {
        yaml.push_str(&format!(
            "  - {{name: {}, mac_addresses: ['{}'], ipmi: {{hostname: 10.71.{}.{}, username: u, password: p}}}}\n",
            host_name(h),
            colon(mac(h, 0)),
            h / 250,
            h % 250 + 1
        ));
    }
    let config = dir.join("pxe-pilot.yml");
    fs::write(&config, yaml).map_err(|e| e.to_string())?;
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-tools");
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let server = TestServer::builder()
        .binary(server_bin)
        .config(&config)
        .env("PATH", path)
        .env("FAKE_BMC_STATE", dir.join("bmc"))
        .env("FAKE_BMC_SLEEP", "1")
        .log_file(dir.join("server.log"))
        .try_start()?;
    let addr: SocketAddr = server.authority().parse().map_err(|e| format!("{e}"))?;
    let mut connection = Connection::open(addr)?;
    let unknown = |body: &[u8]| String::from_utf8_lossy(body).matches("\"Unknown\"").count();
    let start = Instant::now();
    let (status, body) = connection.request("GET", "/v1/hosts", None)?;
    let cold = start.elapsed();
    if status != 200 {
        return Err(format!("GET /v1/hosts answered {status}"));
    }
    let unknown_cold = unknown(&body);
    let filled = loop {
        std::thread::sleep(Duration::from_millis(500));
        let (_, body) = connection.request("GET", "/v1/hosts", None)?;
        if unknown(&body) == 0 {
            break start.elapsed();
        }
        if start.elapsed() > Duration::from_secs(120) {
            return Err(format!(
                "{} states still unknown after 120 s",
                unknown(&body)
            ));
        }
    };
    let mut warm = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let (status, body) = connection.request("GET", "/v1/hosts", None)?;
        warm.push(start.elapsed());
        if status != 200 || unknown(&body) != 0 {
            return Err("a warm listing answered Unknown states".into());
        }
    }
    Ok(PowerFigures {
        hosts: HOSTS,
        cold,
        unknown_cold,
        filled,
        warm: spread(warm),
    })
}

/// `VmHWM` and `VmRSS` of the process, in KiB.
fn memory_of(pid: u32) -> Result<(u64, u64), String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmHWM:"), field("VmRSS:")))
}

fn measure_cli(cli: &Path, addr: SocketAddr, hosts: usize) -> Result<Spread, String> {
    let server = format!("http://{addr}");
    let mut samples = Vec::with_capacity(CLI_RUNS);
    for i in 0..CLI_RUNS {
        // Hosts no deploy client touched; configurations alternate so each run writes.
        let host = host_name(hosts - 1 - i % 10);
        let configuration = CONFIGURATIONS[1 + i / 10 % 2];
        let start = Instant::now();
        let status = Command::new(cli)
            .args(["-s", &server, "config", "deploy", configuration, &host])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run {}: {e}", cli.display()))?;
        samples.push(start.elapsed());
        if !status.success() {
            return Err(format!("pxe-pilot config deploy exited with {status}"));
        }
    }
    Ok(spread(samples))
}

struct Report {
    hosts: usize,
    clients: usize,
    seconds: u64,
    load_before: String,
    load_after: String,
    server_bin: PathBuf,
    listing: Listing,
    deploys: (Throughput, Vec<ClientRun>),
    small: Throughput,
    fsync: Spread,
    memory_at_start: (u64, u64),
    memory: (u64, u64),
    cli: Option<(PathBuf, Spread)>,
    static_cli_size: Option<u64>,
    boots: Throughput,
    counted: u64,
    unrecorded: usize,
    power: PowerFigures,
}

fn print_table(r: &Report) {
    let l = &r.listing;
    let ratio = l.request.median.as_secs_f64() / l.floor.median.as_secs_f64();
    let (deploys, _) = &r.deploys;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "\npxe-pilot load: {} hosts x 2 MACs, {} clients, {} s per throughput phase, {} CPUs, \
         load average {} before, {} after\nserver: {}\n",
        r.hosts,
        r.clients,
        r.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        r.load_before,
        r.load_after,
        r.server_bin.display()
    );
    println!("| measure | figure | target | |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| floor: readdir + readlink of `pxelinux.cfg/` ({} links), in-process | median {}, p95 {} | | |",
        2 * r.hosts,
        ms(l.floor.median),
        ms(l.floor.p95)
    );
    println!(
        "| `GET /v1/hosts?status=false` ({} requests, {} KiB each) | median {}, p95 {} | | |",
        l.request.count,
        l.bytes / 1024,
        ms(l.request.median),
        ms(l.request.p95)
    );
    println!(
        "| listing / floor (medians), folder unchanged (listing reused) | {ratio:.2}x | <= 0.25x | {} |",
        verdict(ratio <= 0.25)
    );
    let changed = l.changed.median.as_secs_f64() / l.floor.median.as_secs_f64();
    println!(
        "| `GET /v1/hosts?status=false` right after a change of the folder ({} requests) | median {}, p95 {} | | |",
        l.changed.count,
        ms(l.changed.median),
        ms(l.changed.p95)
    );
    println!(
        "| listing / floor (medians), right after a change | {changed:.2}x | <= 1.3x | {} |",
        verdict(changed <= 1.3)
    );
    println!(
        "| disk floor: link + rename + fsync of a folder, in-process, one at a time | median {}, p95 {} | | |",
        ms(r.fsync.median),
        ms(r.fsync.p95)
    );
    println!(
        "| `PUT .../deploy`, {} clients, 1 host each, fsync before 200 | {:.0}/s ({} in {:.1} s), {} errors; latency median {}, p95 {} | >= 3,000/s, 0 errors | {} |",
        r.clients,
        deploys.per_second(),
        deploys.ok,
        deploys.elapsed.as_secs_f64(),
        deploys.errors.len(),
        ms(deploys.latency.median),
        ms(deploys.latency.p95),
        verdict(deploys.per_second() >= 3000.0 && deploys.errors.is_empty())
    );
    println!(
        "| `GET /v1/configurations/local`, {} clients | {:.0}/s, {} errors; latency median {}, p95 {} | | |",
        r.clients,
        r.small.per_second(),
        r.small.errors.len(),
        ms(r.small.latency.median),
        ms(r.small.latency.p95)
    );
    println!(
        "| server memory once started (VmHWM / VmRSS) | {:.1} MiB / {:.1} MiB | | |",
        mib(r.memory_at_start.0),
        mib(r.memory_at_start.1),
    );
    println!(
        "| server memory after the load (VmHWM / VmRSS) | {:.1} MiB / {:.1} MiB | RSS <= 16 MB | {} |",
        mib(r.memory.0),
        mib(r.memory.1),
        verdict(r.memory.1 * 1024 <= 16_000_000)
    );
    match &r.cli {
        Some((cli, spread)) => println!(
            "| `pxe-pilot config deploy` round trip ({} runs of {}) | median {}, p95 {} | <= 10 ms | {} |",
            spread.count,
            cli.strip_prefix(target_dir()).unwrap_or(cli).display(),
            ms(spread.median),
            ms(spread.p95),
            verdict(spread.median <= Duration::from_millis(10))
        ),
        None => println!("| `pxe-pilot config deploy` round trip | not measured: no CLI binary built | <= 10 ms | |"),
    }
    match r.static_cli_size {
        Some(size) => println!(
            "| static CLI size (musl, release-small) | {:.2} MiB ({size} bytes) | <= 3 MiB | {} |",
            size as f64 / (1024.0 * 1024.0),
            verdict(size <= 3 * 1024 * 1024)
        ),
        None => println!("| static CLI size | not built | <= 3 MiB | |"),
    }
    let b = &r.boots;
    println!(
        "| `GET /v1/boot/ipxe/{{mac}}` (a template rendered per host), {} clients over {} hosts | {:.0}/s ({} in {:.1} s), {} errors; latency median {}, p99 {} | >= 10,000/s, 0 errors, p99 <= 10 ms | {} |",
        r.clients,
        r.hosts,
        b.per_second(),
        b.ok,
        b.elapsed.as_secs_f64(),
        b.errors.len(),
        ms(b.latency.median),
        ms(b.latency.p99),
        verdict(b.per_second() >= 10_000.0 && b.errors.is_empty() && b.latency.p99 <= Duration::from_millis(10))
    );
    println!(
        "| boot fetches recorded as events | {} of {} answered, {} write errors | all | {} |",
        r.counted,
        b.ok,
        r.unrecorded,
        verdict(r.counted as usize == b.ok && r.unrecorded == 0)
    );
    let p = &r.power;
    println!(
        "| `GET /v1/hosts`, {} hosts, BMCs answering in 1 s, cold | {} ({} states Unknown, read in the background; all read after {:.1} s) | <= 1.5 s | {} |",
        p.hosts,
        ms(p.cold),
        p.unknown_cold,
        p.filled.as_secs_f64(),
        verdict(p.cold <= Duration::from_millis(1500))
    );
    println!(
        "| `GET /v1/hosts`, {} hosts, warm ({} requests) | median {}, p95 {} | <= 50 ms | {} |",
        p.hosts,
        p.warm.count,
        ms(p.warm.median),
        ms(p.warm.p95),
        verdict(p.warm.median <= Duration::from_millis(50))
    );
    for error in deploys
        .errors
        .iter()
        .chain(&r.small.errors)
        .chain(&b.errors)
        .take(5)
    {
        println!("error: {error}");
    }
}
