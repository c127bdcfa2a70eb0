//! One way to start a server in the tests: over a temporary root, on 127.0.0.1:0, in a
//! runtime of its own, with an observer that records what it hears. Also the real clients
//! (tftp-hpa's `tftp`, curl) and a raw UDP client for what no real client does.

#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use pxe_pilot_tftp::{Config, Observer, ReadRefusal, ReadReport, Server, ServerHandle};

/// A server over a temporary root, running until dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
    pub heard: Arc<Recorder>,
    pub handle: ServerHandle,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    /// A server with the default settings.
    pub fn start() -> TestServer {
        TestServer::start_with(|_| {})
    }

    /// A server whose settings `adjust` changes first (the root and address are set).
    pub fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let root = tempfile::tempdir().expect("a temporary root");
        let mut config = Config::new(root.path(), "127.0.0.1:0".parse().unwrap());
        adjust(&mut config);
        let heard = Arc::new(Recorder::default());
        let server = Server::bind(config, heard.clone()).expect("the server binds");
        let addr = server.local_addr();
        let handle = server.handle();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.spawn(async move {
            server.run().await.expect("the server runs");
        });
        TestServer {
            addr,
            root,
            heard,
            handle,
            runtime: Some(runtime),
        }
    }

    /// Writes a file beneath the root (its folders created).
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Makes a link `name` beneath the root pointing at `target` (as written).
    pub fn link(&self, name: &str, target: &str) {
        let path = self.root.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    }

    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }

    /// Waits until the number of sessions is `count`.
    pub fn wait_sessions(&self, count: usize, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if self.handle.active_sessions() == count {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.handle.active_sessions() == count
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// An observer that keeps what it hears, and lets a test wait for it.
#[derive(Default)]
pub struct Recorder {
    heard: Mutex<Heard>,
    changed: Condvar,
}

#[derive(Default, Clone)]
pub struct Heard {
    pub done: Vec<ReadReport>,
    pub refused: Vec<ReadRefusal>,
}

impl Observer for Recorder {
    fn read_done(&self, report: &ReadReport) {
        self.heard.lock().unwrap().done.push(report.clone());
        self.changed.notify_all();
    }

    fn read_refused(&self, refusal: &ReadRefusal) {
        self.heard.lock().unwrap().refused.push(refusal.clone());
        self.changed.notify_all();
    }
}

impl Recorder {
    /// What was heard, once `until` holds or after `within`.
    pub fn wait(&self, within: Duration, until: impl Fn(&Heard) -> bool) -> Heard {
        let heard = self.heard.lock().unwrap();
        let (heard, _) = self
            .changed
            .wait_timeout_while(heard, within, |heard| !until(heard))
            .unwrap();
        heard.clone()
    }

    /// What was heard so far.
    pub fn now(&self) -> Heard {
        self.heard.lock().unwrap().clone()
    }
}

/// The path of a client program, or `None` (with a note) when it is missing outside CI.
/// Under CI (the `CI` variable set), a missing client fails the test.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    match found {
        Some(path) => Some(path),
        None if std::env::var_os("CI").is_some() => {
            panic!("`{name}` is needed by this test under CI (Debian: tftp-hpa, curl)")
        }
        None => {
            eprintln!("skipped: `{name}` is not installed (set CI to make this a failure)");
            None
        }
    }
}

/// Runs tftp-hpa's client: `tftp -m MODE 127.0.0.1 PORT -c COMMAND...`, bounded in time.
pub fn tftp_hpa(server: &TestServer, mode: &str, command: &[&str]) -> Option<Output> {
    let tftp = tool("tftp")?;
    let mut cmd = Command::new(tftp);
    cmd.args(["-m", mode, "127.0.0.1", &server.port(), "-c"])
        .args(command);
    Some(run_bounded(cmd))
}

/// Runs curl on `tftp://127.0.0.1:PORT/NAME` with extra arguments, writing to `out`.
pub fn curl(server: &TestServer, name: &str, out: &Path, extra: &[&str]) -> Option<Output> {
    let curl = tool("curl")?;
    let mut cmd = Command::new(curl);
    cmd.args(["-sS", "--max-time", "120", "-o"])
        .arg(out)
        .args(extra)
        .arg(format!("tftp://127.0.0.1:{}/{name}", server.port()));
    Some(run_bounded(cmd))
}

fn run_bounded(mut cmd: Command) -> Output {
    // The clients' own retries end them; curl has --max-time, tftp-hpa gives up after its
    // timeout (25 s by default).
    cmd.stdin(std::process::Stdio::null());
    cmd.output().expect("the client runs")
}

/// Bytes that are not all the same: a transfer that shifts or repeats a block is caught.
pub fn pattern(length: usize) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678 ^ length as u32;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// A client that speaks TFTP by hand, for what real clients never do.
pub struct Raw {
    pub socket: UdpSocket,
}

/// A datagram as received: its bytes and where from.
#[derive(Debug)]
pub struct Received {
    pub bytes: Vec<u8>,
    pub from: SocketAddr,
}

impl Received {
    pub fn opcode(&self) -> u16 {
        u16::from_be_bytes([self.bytes[0], self.bytes[1]])
    }

    pub fn block(&self) -> u16 {
        u16::from_be_bytes([self.bytes[2], self.bytes[3]])
    }

    pub fn data(&self) -> &[u8] {
        &self.bytes[4..]
    }

    /// The options of an OACK, as name-value pairs.
    pub fn options(&self) -> Vec<(String, String)> {
        let fields: Vec<String> = self.bytes[2..]
            .split(|&b| b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        fields
            .chunks(2)
            .filter(|pair| pair.len() == 2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect()
    }
}

impl Raw {
    pub fn new() -> Raw {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        Raw { socket }
    }

    pub fn send(&self, to: SocketAddr, bytes: &[u8]) {
        self.socket.send_to(bytes, to).unwrap();
    }

    /// Sends a read request with options.
    pub fn rrq(&self, to: SocketAddr, name: &str, options: &[(&str, &str)]) {
        self.send(to, &request(1, name, "octet", options));
    }

    pub fn ack(&self, to: SocketAddr, block: u16) {
        let mut packet = vec![0, 4];
        packet.extend_from_slice(&block.to_be_bytes());
        self.send(to, &packet);
    }

    /// The next datagram within `within`, if any.
    pub fn recv(&self, within: Duration) -> Option<Received> {
        self.socket.set_read_timeout(Some(within)).unwrap();
        let mut buffer = vec![0u8; 70_000];
        match self.socket.recv_from(&mut buffer) {
            Ok((length, from)) => {
                buffer.truncate(length);
                Some(Received {
                    bytes: buffer,
                    from,
                })
            }
            Err(_) => None,
        }
    }
}

/// A request packet: opcode 1 (RRQ) or 2 (WRQ).
pub fn request(opcode: u16, name: &str, mode: &str, options: &[(&str, &str)]) -> Vec<u8> {
    let mut packet = opcode.to_be_bytes().to_vec();
    for part in [name, mode]
        .into_iter()
        .chain(options.iter().flat_map(|(n, v)| [*n, *v]))
    {
        packet.extend_from_slice(part.as_bytes());
        packet.push(0);
    }
    packet
}
