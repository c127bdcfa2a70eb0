//! Support of the boot-over-HTTP end-to-end tests (`tests/e2e/http_boot.rs`,
//! `tests/e2e/grub_http.rs`): no TFTP server of the test's own, pxe-pilot answers the
//! bootloader's per-host request (`GET /v1/boot/<bootloader>/<mac>`), and the files it names
//! (a kernel, an initramfs) come from a plain HTTP file server, as in a real network where
//! pxe-pilot serves no kernel.
//!
//! - [`FileServer`]: `busybox httpd` over a folder on `127.0.0.1:PORT` (the guest reaches it as
//!   `10.0.2.2:PORT`), with the list of what it was asked for;
//! - [`build_initramfs`]: the installer's initramfs ([`super::initramfs`]), gzipped, whose
//!   `/init` (`tests/e2e/http/init.sh`) shows its kernel command line and calls back with the
//!   static `pxe-pilot` client;
//! - [`run_vm`]: a QEMU run under a hard limit that may also be ended once the serial console
//!   shows a marker (firmware that waits forever at its boot menu);
//! - [`serial`], [`rejoined`], [`lines_with`]: the serial console, readable.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use super::initramfs::Installer;
use super::{log_tail, printable, spawn_logged};

/// A plain HTTP file server: `busybox httpd -f -vv` over `dir` on `127.0.0.1:PORT`; killed on
/// drop. Its log (one `url:/PATH` line per request) stays in the test's artifacts.
pub struct FileServer {
    /// The port it listens on (the guest reaches it as `10.0.2.2:PORT`).
    pub port: u16,
    log: PathBuf,
    child: Child,
}

impl FileServer {
    /// Starts `busybox httpd` over `dir`, its log in `log`; waits (10 s at most) until it
    /// accepts connections.
    pub fn start(busybox: &Path, dir: &Path, log: &Path) -> Self {
        let port = free_tcp_port();
        let mut httpd = Command::new(busybox);
        httpd
            .args(["httpd", "-f", "-vv", "-p"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-h")
            .arg(dir);
        let child = spawn_logged(&mut httpd, log);
        let mut server = FileServer {
            port,
            log: log.to_path_buf(),
            child,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "`busybox httpd` on port {port} exited ({status}):\n{}",
                    log_tail(log, 20)
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "`busybox httpd` does not listen on 127.0.0.1:{port} after 10 s"
            );
            thread::sleep(Duration::from_millis(50));
        }
        // The probe connections above send no request: no `url:` line in the log.
        server
    }

    /// The paths it was asked for so far, in order.
    pub fn requests(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                line.split_once("url:")
                    .map(|(_, url)| url.trim().to_string())
            })
            .collect()
    }

    /// Its log file.
    pub fn log(&self) -> &Path {
        &self.log
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port of 127.0.0.1 that was free a moment ago (for a daemon that cannot be told
/// port 0).
pub fn free_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a TCP socket on 127.0.0.1:0");
    listener.local_addr().expect("the socket's address").port()
}

/// Builds the HTTP-booted `installer`'s initramfs, a gzipped newc cpio at `out` (the cpio
/// itself next to it, without the `.gz`), with `/init` = `tests/e2e/http/init.sh`.
pub fn build_initramfs(installer: &Installer, stage: &Path, out: &Path) {
    let cpio_file = out.with_extension("");
    installer.build_initramfs(stage, &cpio_file, include_bytes!("http/init.sh"));
    let gz = fs::File::create(out).expect("create the gzipped initramfs");
    let status = Command::new("gzip")
        .args(["-c", "-6"])
        .arg(&cpio_file)
        .stdout(gz)
        .status()
        .expect("run gzip");
    assert!(status.success(), "gzip failed");
}

/// How a VM run ended.
#[derive(Debug)]
pub enum VmEnd {
    /// QEMU exited by itself (power off, or a reboot under `-no-reboot`).
    Exited(ExitStatus),
    /// The serial console showed the stop marker: QEMU was killed a moment later.
    Stopped,
    /// QEMU was killed at the hard limit.
    TimedOut,
}

/// Runs QEMU (`command`) with its serial console (stdout, stderr) in `log`, killed after
/// `limit`, or 2 s after the serial console shows `stop` (when given).
pub fn run_vm(
    command: &mut Command,
    log: &Path,
    limit: Duration,
    stop: Option<&str>,
) -> (VmEnd, Duration) {
    let started = Instant::now();
    let mut child = spawn_logged(command, log);
    let mut stop_at: Option<Instant> = None;
    loop {
        if let Some(status) = child.try_wait().expect("wait for QEMU") {
            return (VmEnd::Exited(status), started.elapsed());
        }
        if stop_at.is_some_and(|at| Instant::now() >= at) {
            let _ = child.kill();
            let _ = child.wait();
            return (VmEnd::Stopped, started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return (VmEnd::TimedOut, started.elapsed());
        }
        if let (Some(marker), None) = (stop, stop_at) {
            if rejoined(&serial(log)).contains(marker) {
                stop_at = Some(Instant::now() + Duration::from_secs(2));
            }
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// The serial log at `log`, readable: no terminal escapes, no carriage returns.
pub fn serial(log: &Path) -> String {
    printable(&String::from_utf8_lossy(&fs::read(log).unwrap_or_default()))
}

/// `serial` with the lines that iPXE's console wrapped at 80 columns joined again (a line of
/// exactly 80 characters goes on on the next one).
pub fn rejoined(serial: &str) -> String {
    let mut out = String::with_capacity(serial.len());
    for line in serial.split('\n') {
        out.push_str(line);
        if line.chars().count() != 80 {
            out.push('\n');
        }
    }
    out
}

/// The lines of `serial` that hold one of `needles`, trimmed.
pub fn lines_with(serial: &str, needles: &[&str]) -> Vec<String> {
    serial
        .lines()
        .filter(|line| needles.iter().any(|n| line.contains(n)))
        .map(|line| line.trim().to_string())
        .collect()
}
