//! tftpd-hpa run the way Debian runs it (`in.tftpd --secure`, chrooted into the TFTP root) on
//! a free loopback port, and tftp-hpa's client to fetch from it. Included by the tests that
//! need a real TFTP server with `#[path = "e2e/tftpd.rs"] mod tftpd;` next to `mod e2e;`.
#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use crate::e2e::{self, Need};

/// What a test with tftpd-hpa needs: its server and client, `curl`, and root (`--secure`
/// chroots).
pub fn needs() -> Vec<Need> {
    vec![
        Need::Command("in.tftpd", "tftpd-hpa"),
        Need::Command("tftp", "tftp-hpa"),
        Need::Command("curl", "curl"),
        Need::Root,
    ]
}

/// `in.tftpd -L --secure -a 127.0.0.1:PORT -u root ROOT`; killed when dropped.
pub struct Tftpd {
    child: Child,
    /// The UDP port it serves.
    pub port: u16,
}

impl Tftpd {
    /// Starts it over `root`. in.tftpd cannot be told port 0: it takes a port that was free,
    /// and tries another one if somebody took it in between (in.tftpd then exits at once).
    pub fn start(root: &Path) -> Self {
        for _ in 0..5 {
            let port = e2e::free_udp_port();
            let mut child = Command::new(e2e::find_command("in.tftpd").expect("in.tftpd"))
                .args([
                    "-L",
                    "--secure",
                    "-a",
                    &format!("127.0.0.1:{port}"),
                    "-u",
                    "root",
                ])
                .arg(root)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start in.tftpd");
            thread::sleep(Duration::from_millis(200));
            if matches!(child.try_wait(), Ok(None)) {
                return Tftpd { child, port };
            }
        }
        panic!("in.tftpd did not stay up on any free port of 127.0.0.1");
    }

    /// Fetches `remote` with tftp-hpa's `tftp`: Ok(content) or Err(the client's error).
    pub fn get(&self, remote: &str, scratch: &Path) -> Result<String, String> {
        let local = scratch.join(remote.replace('/', "_"));
        let _ = fs::remove_file(&local);
        let mut command = Command::new("tftp");
        command
            .args([
                "-m",
                "binary",
                "127.0.0.1",
                &self.port.to_string(),
                "-c",
                "get",
                remote,
            ])
            .arg(&local);
        // tftp-hpa exits 0 even on an error packet: its message tells.
        let (ok, output) = e2e::run_capture(&mut command, Duration::from_secs(15));
        if !ok || output.contains("Error code") || output.contains("Transfer timed out") {
            return Err(output.trim().to_string());
        }
        fs::read_to_string(&local).map_err(|e| format!("{}: {e}", local.display()))
    }
}

impl Drop for Tftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
