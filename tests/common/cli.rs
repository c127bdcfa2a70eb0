//! Support of the CLI's end-to-end tests (`tests/cli_*.rs`): run the real `pxe-pilot` binary
//! against a [`TestServer`], give it a fake `/sys/class/net`, an address nothing listens on
//! (for a server that starts late), and the fake `ipmitool` and `fping`.
//!
//! Included with `#[path = "common/cli.rs"] mod cli;` next to `mod common;`.
#![allow(dead_code)]

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{binary, TestServer};

/// What a run of `pxe-pilot` gave.
#[derive(Debug)]
pub struct Run {
    /// The exit status, `None` when killed by a signal.
    pub code: Option<i32>,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts that it succeeded and returns its stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "pxe-pilot failed: {}", self.stderr);
        self.stdout
    }
}

/// `pxe-pilot` with none of the caller's `PXE_PILOT_*` variables.
pub fn pxe_pilot() -> Command {
    let mut command = Command::new(binary("pxe-pilot"));
    // Every PXE_PILOT_* of the caller (PXE_PILOT_TOKEN_FILE too, and whatever comes next).
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("PXE_PILOT_") {
            command.env_remove(var);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// Runs `pxe-pilot -s <server> ARGS...` and waits for it.
pub fn run(server: &TestServer, args: &[&str]) -> Run {
    run_at(&server.base, args)
}

/// Runs `pxe-pilot -s <base> ARGS...` and waits for it.
pub fn run_at(base: &str, args: &[&str]) -> Run {
    pxe_pilot()
        .args(["-s", base])
        .args(args)
        .output()
        .expect("run pxe-pilot")
        .into()
}

/// A fake `/sys/class/net`: `lo` plus the given interfaces, each with a `device` (real NICs).
pub fn fake_sysfs(dir: &Path, interfaces: &[(&str, &str)]) -> PathBuf {
    let net = dir.join("class-net");
    let lo = net.join("lo");
    fs::create_dir_all(&lo).expect("create fake lo");
    fs::write(lo.join("address"), "00:00:00:00:00:00\n").expect("write lo address");
    for (name, mac) in interfaces {
        let iface = net.join(name);
        fs::create_dir_all(iface.join("device")).expect("create fake interface");
        fs::write(iface.join("address"), format!("{mac}\n")).expect("write address");
    }
    net
}

/// An address of 127.0.0.1 that nothing listens on (a port bound, then released).
pub fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address")
}

/// `tests/fake-tools` of the workspace: stand-ins for `ipmitool` and `fping`.
pub fn fake_tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-tools")
}

/// The test's `PATH` with [`fake_tools`] first: a server given it runs the fake `ipmitool`
/// and `fping`.
pub fn path_with_fake_tools() -> String {
    format!(
        "{}:{}",
        fake_tools().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}
