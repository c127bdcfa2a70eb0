//! The TFTP benchmark: pxe-pilot's own TFTP server (`tftp.serve`, the release
//! `pxe-pilot-server`) beside tftpd-hpa (`in.tftpd`), in the same run, over the same root,
//! with the same clients, and one Markdown table of the figures:
//!
//! - 8 parallel fetches of a 20 MB file with curl (`tftp://`, `--tftp-blksize`) at blksize 1468
//!   and at 512: the wall time of all 8, the median of a few rounds, the two servers
//!   alternating (target: pxe-pilot at most tftpd-hpa's time);
//! - one fetch of the same file with a client that asks `windowsize` (RFC 7440; curl and
//!   tftp-hpa do not), written here: windowsize 1, 4 and 16 (tftpd-hpa does not know the
//!   option and answers without it, so it stays at 1);
//! - a per-MAC entry fetch (`pxelinux.cfg/01-<mac>`, what PXELINUX reads at each boot) from 8
//!   clients at once, each on its own hosts: fetches per second, median and p99. For pxe-pilot
//!   each is a boot: an event recorded in `state_dir` and the host's last boot.
//!
//! ```sh
//! cargo build --release -p pxe-pilot-server
//! cargo bench --bench tftp
//! ```
//!
//! The servers run on CPU 0 and every client on the other CPUs (`taskset`): on a PXE network
//! the clients are other machines. Needs `in.tftpd` (Debian `tftpd-hpa`), curl and
//! `taskset`; everything runs on 127.0.0.1, on ports the system chooses. Settings, from the environment: `PXE_PILOT_TFTP_ROUNDS` (3),
//! `PXE_PILOT_TFTP_SECONDS` (5, of the per-MAC phase). Run by `cargo test` (without `--bench`)
//! it does nothing: it needs a release binary and an otherwise idle machine.

#[path = "../tests/common/server.rs"]
mod server;

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use server::TestServer;

/// The big file's size: a kernel and initramfs pair, about.
const BIG: usize = 20 * 1000 * 1000;
/// Parallel clients.
const CLIENTS: usize = 8;
/// Hosts of the inventory (each client fetches the entries of its own share).
const HOSTS: usize = 800;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds = setting("PXE_PILOT_TFTP_ROUNDS", 3);
    let seconds = setting("PXE_PILOT_TFTP_SECONDS", 5);
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let server_bin = target.join("release/pxe-pilot-server");
    assert!(
        server_bin.is_file(),
        "{} is missing: `cargo build --release -p pxe-pilot-server` first",
        server_bin.display()
    );
    let tftpd = ["/usr/sbin/in.tftpd", "/usr/bin/in.tftpd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("in.tftpd is missing: apt-get install tftpd-hpa");

    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = dir.path().join("tftp");
    let macs = world(dir.path(), &root);
    let config = dir.path().join("pxe-pilot.yml");

    // The servers on CPU 0, the clients on the others: on a PXE network the clients are
    // other machines, and do not take the server's CPU (on 2 cores, 8 local clients would,
    // and the scheduler's share of each server would be measured instead of its work).
    let (server_cpu, client_cpus) = cpus();
    let pilot = TestServer::builder()
        .binary(&server_bin)
        .wrapped_in(["taskset", "-c", server_cpu.as_str()])
        .config(&config)
        .arg("--tftp")
        .arg("127.0.0.1:0")
        .env("RUST_LOG", "warn,pxe_pilot_server=info")
        .start();
    let pilot_at = tftp_address(&pilot);
    let hpa_port = free_udp_port();
    let mut hpa = Command::new("taskset")
        .args(["-c", server_cpu.as_str()])
        .arg(&tftpd)
        .args(["-L", "-s", "-u", "root", "-a"])
        .arg(format!("127.0.0.1:{hpa_port}"))
        .arg(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start in.tftpd");
    let hpa_at: SocketAddr = format!("127.0.0.1:{hpa_port}").parse().expect("an address");
    let servers = [("pxe-pilot", pilot_at), ("tftpd-hpa", hpa_at)];
    pin_this_process(&client_cpus);
    for (name, at) in servers {
        let got = fetch(at, &format!("pxelinux.cfg/{}", entry(&macs[0])), 512, 1)
            .unwrap_or_else(|e| panic!("{name} on {at} does not answer: {e}"));
        assert!(got.bytes > 0, "{name}: an empty entry");
    }

    println!("| figure | pxe-pilot | tftpd-hpa | ratio |");
    println!("| --- | --- | --- | --- |");
    for blksize in [1468, 512] {
        let mut times = [Vec::new(), Vec::new()];
        for _ in 0..rounds {
            for (i, (name, at)) in servers.iter().enumerate() {
                times[i].push(parallel_curl(name, *at, blksize, dir.path(), &client_cpus));
            }
        }
        let [p, h] = [median(&mut times[0]), median(&mut times[1])];
        println!(
            "| {CLIENTS} x 20 MB, curl, blksize {blksize}: wall time (median of {rounds}) | {:.2} s | {:.2} s | {:.2} |",
            p.as_secs_f64(),
            h.as_secs_f64(),
            p.as_secs_f64() / h.as_secs_f64()
        );
    }
    for window in [1, 4, 16] {
        let mut figures = Vec::new();
        for (name, at) in servers {
            let mut times = Vec::new();
            let mut granted = 1;
            for _ in 0..rounds {
                let got = fetch(at, "big.bin", 1468, window)
                    .unwrap_or_else(|e| panic!("{name}: windowsize {window}: {e}"));
                assert_eq!(got.bytes, BIG, "{name}: the whole file");
                granted = got.window;
                times.push(got.took);
            }
            let took = median(&mut times);
            figures.push((took, granted));
        }
        let ((p, pw), (h, hw)) = (figures[0], figures[1]);
        println!(
            "| 1 x 20 MB, blksize 1468, windowsize {window} asked: time (window granted) | {:.2} s ({pw}) | {:.2} s ({hw}) | {:.2} |",
            p.as_secs_f64(),
            h.as_secs_f64(),
            p.as_secs_f64() / h.as_secs_f64()
        );
    }
    let mut rates = Vec::new();
    for (name, at) in servers {
        rates.push(entry_fetches(name, at, &macs, Duration::from_secs(seconds)));
    }
    let (p, h) = (&rates[0], &rates[1]);
    println!(
        "| per-MAC entry fetch, {CLIENTS} clients: fetches per second | {:.0} | {:.0} | {:.2} |",
        p.per_second,
        h.per_second,
        p.per_second / h.per_second
    );
    for (label, a, b) in [("median", p.median, h.median), ("p99", p.p99, h.p99)] {
        println!(
            "| per-MAC entry fetch, {CLIENTS} clients: {label} | {:.2} ms | {:.2} ms | {:.2} |",
            ms(a),
            ms(b),
            ms(a) / ms(b)
        );
    }
    let boots = fs::read_to_string(dir.path().join("state/boots.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    println!(
        "\npxe-pilot: {} entry fetches answered, {boots} boot lines in state_dir/boots.jsonl (the journal keeps the newest); errors: pxe-pilot {}, tftpd-hpa {}",
        p.count, p.errors, h.errors
    );
    let _ = hpa.kill();
    let _ = hpa.wait();
}

/// The TFTP root both serve: a 20 MB file, a catalogue, and every host's entry deployed (the
/// server's own deploy would need its API; links made here are what it reads alike). Writes the
/// server's configuration file and returns the hosts' MAC addresses.
fn world(dir: &Path, root: &Path) -> Vec<String> {
    fs::create_dir_all(root.join("pxelinux.cfg/conf")).expect("the catalogue folder");
    fs::create_dir_all(dir.join("state")).expect("the state folder");
    let mut big = Vec::with_capacity(BIG);
    let mut x: u32 = 0x2545_f491;
    while big.len() < BIG {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big.extend_from_slice(&x.to_le_bytes());
    }
    big.truncate(BIG);
    fs::write(root.join("big.bin"), &big).expect("the big file");
    let local = "DEFAULT local\nPROMPT 0\nTIMEOUT 0\nLABEL local\n  LOCALBOOT 0\n";
    fs::write(root.join("pxelinux.cfg/conf/local"), local).expect("a configuration");
    let mut yaml = String::from("hosts:\n");
    let mut macs = Vec::with_capacity(HOSTS);
    for i in 0..HOSTS {
        let mac = format!("52:54:00:b7:{:02x}:{:02x}", i / 256, i % 256);
        yaml.push_str(&format!("  - name: h{i}\n    mac_addresses: [\"{mac}\"]\n"));
        std::os::unix::fs::symlink("conf/local", root.join("pxelinux.cfg").join(entry(&mac)))
            .expect("a per-MAC entry");
        macs.push(mac);
    }
    yaml.push_str(&format!(
        "tftp:\n  root: {}\n  serve: 127.0.0.1:69\nconfiguration:\n  directory: {}\nstate_dir: {}\n",
        root.display(),
        root.join("pxelinux.cfg/conf").display(),
        dir.join("state").display()
    ));
    fs::write(dir.join("pxe-pilot.yml"), yaml).expect("the configuration file");
    macs
}

/// `01-aa-bb-...`: PXELINUX's name of a MAC address's entry.
fn entry(mac: &str) -> String {
    format!("01-{}", mac.replace(':', "-"))
}

/// Where the server says it serves TFTP (`--tftp 127.0.0.1:0`: the system's choice).
fn tftp_address(server: &TestServer) -> SocketAddr {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let logs = server.logs();
        if let Some(at) = logs
            .lines()
            .find_map(|l| l.split("serving the TFTP root over TFTP on ").nth(1))
        {
            let at = at.split_whitespace().next().unwrap_or_default();
            return at.parse().expect("the TFTP address in the log");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "the server never said where it serves TFTP:\n{}",
        server.logs()
    );
}

/// The CPU of the servers (`0`) and those of the clients (`1-N`, or `0` on one core).
fn cpus() -> (String, String) {
    let count = std::thread::available_parallelism().map_or(1, |n| n.get());
    match count {
        1 => ("0".into(), "0".into()),
        n => ("0".into(), format!("1-{}", n - 1)),
    }
}

/// Moves this process (the bench's own clients) to `cpus`.
fn pin_this_process(cpus: &str) {
    let pinned = Command::new("taskset")
        .args(["-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(pinned, "taskset -p -c {cpus} failed");
}

/// A UDP port free right now on 127.0.0.1.
fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    socket.local_addr().expect("its address").port()
}

/// The wall time of `CLIENTS` curl processes each fetching the big file at once.
fn parallel_curl(
    name: &str,
    at: SocketAddr,
    blksize: usize,
    dir: &Path,
    client_cpus: &str,
) -> Duration {
    let started = Instant::now();
    let children: Vec<(usize, Child)> = (0..CLIENTS)
        .map(|i| {
            let child = Command::new("taskset")
                .args(["-c", client_cpus, "curl"])
                .args(["-sS", "--max-time", "300", "--tftp-blksize"])
                .arg(blksize.to_string())
                .arg(format!("tftp://{at}/big.bin"))
                .arg("-o")
                .arg(dir.join(format!("out-{i}")))
                .stderr(Stdio::piped())
                .spawn()
                .expect("start curl");
            (i, child)
        })
        .collect();
    for (i, child) in children {
        let output = child.wait_with_output().expect("curl ends");
        assert!(
            output.status.success(),
            "{name}: curl {i} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let size = fs::metadata(dir.join(format!("out-{i}"))).map_or(0, |m| m.len());
        assert_eq!(size, BIG as u64, "{name}: curl {i} got the whole file");
    }
    started.elapsed()
}

/// Per-MAC entry fetches from `CLIENTS` threads for `run`.
struct Rate {
    count: usize,
    errors: usize,
    per_second: f64,
    median: Duration,
    p99: Duration,
}

fn entry_fetches(name: &str, at: SocketAddr, macs: &[String], run: Duration) -> Rate {
    let started = Instant::now();
    let results: Vec<(Vec<Duration>, usize)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..CLIENTS)
            .map(|c| {
                scope.spawn(move || {
                    let mine: Vec<&String> = macs.iter().skip(c).step_by(CLIENTS).collect();
                    let mut times = Vec::new();
                    let mut errors = 0;
                    let mut i = 0;
                    while started.elapsed() < run && times.len() < 200_000 {
                        let path = format!("pxelinux.cfg/{}", entry(mine[i % mine.len()]));
                        match fetch(at, &path, 1468, 1) {
                            Ok(got) if got.bytes > 0 => times.push(got.took),
                            _ => errors += 1,
                        }
                        i += 1;
                    }
                    (times, errors)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a client thread"))
            .collect()
    });
    let took = started.elapsed();
    let errors = results.iter().map(|r| r.1).sum();
    let mut all: Vec<Duration> = results.into_iter().flat_map(|r| r.0).collect();
    assert!(!all.is_empty(), "{name}: no entry fetch answered");
    all.sort();
    Rate {
        count: all.len(),
        errors,
        per_second: all.len() as f64 / took.as_secs_f64(),
        median: all[all.len() / 2],
        p99: all[(all.len() * 99 / 100).min(all.len() - 1)],
    }
}

/// What one fetch got.
#[derive(Debug)]
struct Got {
    bytes: usize,
    window: usize,
    took: Duration,
}

/// A read of `name` from `at` by a small RFC 1350 client that asks `blksize` and, when above 1,
/// `windowsize` (RFC 7440): it acknowledges the last block of each window (or the last in
/// order after a gap); the data is counted, not kept.
fn fetch(at: SocketAddr, name: &str, blksize: usize, window: usize) -> Result<Got, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut rrq = vec![0, 1];
    for part in [name, "octet", "blksize", &blksize.to_string()] {
        rrq.extend_from_slice(part.as_bytes());
        rrq.push(0);
    }
    if window > 1 {
        for part in ["windowsize", &window.to_string()] {
            rrq.extend_from_slice(part.as_bytes());
            rrq.push(0);
        }
    }
    socket.send_to(&rrq, at).map_err(|e| e.to_string())?;
    let mut buffer = vec![0u8; 65536];
    let (mut peer, mut size, mut granted) = (None::<SocketAddr>, 512, 1);
    let (mut expected, mut bytes, mut in_window, mut silent) = (1u16, 0usize, 0usize, 0);
    let ack = |socket: &UdpSocket, to: SocketAddr, block: u16| {
        let [hi, lo] = block.to_be_bytes();
        let _ = socket.send_to(&[0, 4, hi, lo], to);
    };
    loop {
        let (n, from) = match socket.recv_from(&mut buffer) {
            Ok(got) => got,
            Err(_) => {
                silent += 1;
                if silent > 10 {
                    return Err(format!("{name}: no answer after {bytes} bytes"));
                }
                match peer {
                    // Ask again for what follows the last block in order.
                    Some(to) => ack(&socket, to, expected.wrapping_sub(1)),
                    None => {
                        socket.send_to(&rrq, at).map_err(|e| e.to_string())?;
                    }
                }
                continue;
            }
        };
        silent = 0;
        if peer.is_some_and(|p| p != from) || n < 4 {
            continue;
        }
        peer = Some(from);
        let opcode = u16::from_be_bytes([buffer[0], buffer[1]]);
        match opcode {
            6 => {
                let options: Vec<String> = buffer[2..n]
                    .split(|b| *b == 0)
                    .map(|p| String::from_utf8_lossy(p).to_lowercase())
                    .collect();
                for pair in options.chunks(2) {
                    if let [key, value] = pair {
                        let value = value.parse().unwrap_or(0);
                        match key.as_str() {
                            "blksize" => size = value,
                            "windowsize" => granted = value.max(1),
                            _ => {}
                        }
                    }
                }
                ack(&socket, from, 0);
            }
            3 => {
                let block = u16::from_be_bytes([buffer[2], buffer[3]]);
                if block != expected {
                    // Out of order: acknowledge the last in order, the server resends after it.
                    ack(&socket, from, expected.wrapping_sub(1));
                    in_window = 0;
                    continue;
                }
                let data = n - 4;
                bytes += data;
                expected = expected.wrapping_add(1);
                in_window += 1;
                let last = data < size;
                if last || in_window >= granted {
                    ack(&socket, from, block);
                    in_window = 0;
                }
                if last {
                    return Ok(Got {
                        bytes,
                        window: granted,
                        took: started.elapsed(),
                    });
                }
            }
            5 => {
                let text = String::from_utf8_lossy(&buffer[4..n]);
                return Err(format!("{name}: error {text}"));
            }
            _ => {}
        }
    }
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
