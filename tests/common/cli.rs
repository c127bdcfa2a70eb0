//! Support of the CLI's end-to-end tests (`tests/cli_*.rs`): run the real `pxe-pilot`
//! binary, and start the real server where `common::Server` cannot (a fixed address, for a
//! server that starts late; extra environment, for the fake `ipmitool`).
//!
//! Included with `#[path = "common/cli.rs"] mod cli;` next to `mod common;`.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

use crate::common::{binary, Server, World};

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
    for var in [
        "PXE_PILOT_SERVER",
        "PXE_PILOT_TOKEN",
        "PXE_PILOT_RETRY_FOR",
        "PXE_PILOT_SYSFS_NET",
    ] {
        command.env_remove(var);
    }
    command.stdin(Stdio::null());
    command
}

/// Runs `pxe-pilot -s <server> ARGS...` and waits for it.
pub fn run(server: &Server, args: &[&str]) -> Run {
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

/// The real server on a given address, with extra environment; killed on drop.
pub struct FixedServer {
    /// `http://ADDR:PORT`, as it printed it.
    pub base: String,
    /// The world it serves.
    pub world: World,
    child: Child,
    _stdout: BufReader<ChildStdout>,
}

impl FixedServer {
    /// Starts `pxe-pilot-server --config <world> --listen <listen>` with `envs` added, and
    /// waits until it prints its address.
    pub fn start(world: World, listen: SocketAddr, envs: &[(&str, &Path)]) -> FixedServer {
        let log = fs::File::create(world.path().join("server.log")).expect("create server.log");
        let mut command = Command::new(binary("pxe-pilot-server"));
        command
            .arg("--config")
            .arg(&world.config)
            .arg("--listen")
            .arg(listen.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start pxe-pilot-server");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let Some(base) = line
            .trim_end()
            .strip_prefix("pxe-pilot-server listening on ")
            .map(str::to_owned)
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "pxe-pilot-server did not start ({read:?}, {line:?}); its log:\n{}",
                fs::read_to_string(world.path().join("server.log")).unwrap_or_default()
            );
        };
        FixedServer {
            base,
            world,
            child,
            _stdout: stdout,
        }
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
