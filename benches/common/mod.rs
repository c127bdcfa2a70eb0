//! What the benchmarks share: a minimal keep-alive HTTP/1.1 client on `std::net` (like
//! `wrk`, it should cost the CPUs as little as possible, so the figures are the server's) and
//! the spread of a set of durations.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A keep-alive HTTP/1.1 connection.
pub struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    pub fn open(addr: SocketAddr) -> Result<Connection, String> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        Ok(Connection {
            reader: BufReader::with_capacity(64 * 1024, stream),
            writer,
        })
    }

    /// Sends one request and reads the whole answer: (status, body).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, Vec<u8>), String> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if let Some(body) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        head.push_str(body.unwrap_or(""));
        self.writer
            .write_all(head.as_bytes())
            .map_err(|e| format!("send: {e}"))?;
        let mut line = String::new();
        self.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            self.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.eq_ignore_ascii_case("chunked");
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| format!("bad chunk size {line:?}"))?;
                let start = body.len();
                body.resize(start + size + 2, 0);
                self.reader
                    .read_exact(&mut body[start..])
                    .map_err(|e| format!("read: {e}"))?;
                body.truncate(start + size);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            self.reader
                .read_exact(&mut body)
                .map_err(|e| format!("read: {e}"))?;
        }
        Ok((status, body))
    }

    fn read_line(&mut self, line: &mut String) -> Result<(), String> {
        match self.reader.read_line(line) {
            Ok(0) => Err("connection closed".into()),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("read: {e}")),
        }
    }
}

/// Sorted durations: median and 95th percentile.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spread {
    pub p99: Duration,
    pub median: Duration,
    pub p95: Duration,
    pub count: usize,
}

pub fn spread(mut samples: Vec<Duration>) -> Spread {
    samples.sort();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Spread {
        median: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        count: samples.len(),
    }
}

/// Runs the benchmark `name` under `cargo bench` (which passes `--bench`); under `cargo test
/// --benches` it does nothing. An error is printed and the process exits 1.
pub fn bench_main(name: &str, run: fn() -> Result<(), String>) {
    if !std::env::args().any(|a| a == "--bench") {
        println!("{name}: skipped (run it with `cargo bench --bench {name}`)");
        return;
    }
    if let Err(e) = run() {
        eprintln!("{name}: {e}");
        std::process::exit(1);
    }
}

/// The number in the environment variable `name`, else `default`.
pub fn setting(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .map_err(|_| format!("{name}={text:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// `CARGO_TARGET_DIR`, else `target/` of the workspace.
pub fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The iPXE template every boot benchmark serves.
pub const IPXE_BOOT: &str =
    "#!ipxe\nkernel {{ server.url }}/vmlinuz hostname={{ host.name }} mac={{ host.mac }}\nboot\n";

/// Writes each `(path, text)` below `folder`, making the folders on the way.
pub fn write_files(folder: &std::path::Path, files: &[(&str, &str)]) -> Result<(), String> {
    for (path, text) in files {
        let file = folder.join(path);
        std::fs::create_dir_all(file.parent().unwrap_or(folder)).map_err(|e| e.to_string())?;
        std::fs::write(file, text).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A duration in milliseconds, for the tables.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// A target's verdict, for the tables.
pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}
