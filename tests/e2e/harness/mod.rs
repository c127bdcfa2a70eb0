//! The harness of the end-to-end tier (`tests/e2e/*.rs`, one binary: `main.rs` lists the
//! tests and what each needs): the real binaries against the real tools a PXE server runs
//! (tftpd-hpa, QEMU with iPXE and PXELINUX, a Debian kernel). A test file says
//! `use crate::{common, e2e};` and gets:
//! - [`Need`] and [`require`] (from `common::tier`): what a test needs of the system;
//! - [`serve`]: `pxe-pilot-server --config CONFIG` on `127.0.0.1:0` (a `common::TestServer`),
//!   its log kept with the test's artifacts; [`cli`] and [`curl`] against it;
//! - [`run_bounded`]: a child process under a hard timeout, its output kept in a log file;
//! - [`Artifacts`]: `target/e2e-artifacts/<test>/`, where logs stay for a post-mortem, and
//!   [`log_tail`] to quote them in a failure message;
//! - [`initramfs`]: the test installer's initramfs (a Debian kernel, busybox, the static client);
//! - [`grub`]: the UEFI VM that PXE-boots Debian's GRUB 2 netboot tree;
//! - [`http`]: boot over HTTP (a plain file server, QEMU runs ended at a marker).
//!
//! Every item is used by some test file but not by every one of them.
#![allow(dead_code)]

use std::fs;
use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub use crate::common::tier::{find_command, loud, require, Need};
use crate::common::{binary, TestServer};

pub mod grub;
pub mod http;
pub mod initramfs;

/// The `target/` folder of the build that made this test binary
/// (`target/debug/deps/<test>` -> `target/`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    exe.ancestors()
        .nth(3)
        .expect("the test binary lives in target/<profile>/deps/")
        .to_path_buf()
}

/// The root of the repository (the workspace's folder).
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `file -L PATH` calls it a statically linked executable.
pub fn is_static_executable(path: &Path) -> bool {
    Command::new("file")
        .arg("-L")
        .arg(path)
        .output()
        .map(|out| {
            let text = String::from_utf8_lossy(&out.stdout);
            text.contains("ELF")
                && (text.contains("statically linked") || text.contains("static-pie"))
        })
        .unwrap_or(false)
}

/// `target/e2e-artifacts/<test>/`: logs kept after the run, emptied when the test starts.
pub struct Artifacts {
    /// The folder.
    pub dir: PathBuf,
}

impl Artifacts {
    /// Empties (or creates) `target/e2e-artifacts/<test>/`.
    pub fn new(test: &str) -> Self {
        let dir = target_dir().join("e2e-artifacts").join(test);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the artifacts folder under target/");
        Artifacts { dir }
    }

    /// The path of artifact `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Copies each `(file, name)` into the folder `PXE_PILOT_E2E_KEEP` names, when it is set (the
/// consoles and logs a reader quotes); says what was kept.
pub fn keep_for_reading(files: &[(PathBuf, String)]) {
    let Some(keep) = std::env::var_os("PXE_PILOT_E2E_KEEP").filter(|k| !k.is_empty()) else {
        return;
    };
    let keep = PathBuf::from(keep);
    if let Err(e) = fs::create_dir_all(&keep) {
        loud(&format!(
            "PXE_PILOT_E2E_KEEP: create {}: {e}",
            keep.display()
        ));
        return;
    }
    let mut copied = Vec::new();
    for (file, name) in files {
        match fs::copy(file, keep.join(name)) {
            Ok(_) => copied.push(name.as_str()),
            Err(e) => loud(&format!("PXE_PILOT_E2E_KEEP: copy {name}: {e}")),
        }
    }
    loud(&format!("kept {} in {}", copied.join(", "), keep.display()));
}

/// The last `lines` lines of a log, without terminal escapes and carriage returns.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let raw = fs::read(path).unwrap_or_default();
    let text = printable(&String::from_utf8_lossy(&raw));
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = all.len().saturating_sub(lines);
    format!(
        "---- last {} lines of {} ----\n{}\n---- end of {} ----",
        all.len() - start,
        path.display(),
        all[start..].join("\n"),
        path.display()
    )
}

/// `text` without ANSI escape sequences, carriage returns and backspaces.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params final-byte; other escapes: ESC + one character.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' | '\u{8}' => {}
            c => out.push(c),
        }
    }
    out
}

/// How a bounded child ended.
#[derive(Debug)]
pub enum Ended {
    /// It exited by itself.
    Exited(ExitStatus),
    /// It was killed at the deadline.
    TimedOut,
}

/// Starts `command` with stdin from /dev/null and stdout and stderr into `log`.
pub fn spawn_logged(command: &mut Command, log: &Path) -> Child {
    let out = fs::File::create(log).expect("create the log file");
    let err = out.try_clone().expect("clone the log file handle");
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"))
}

/// Runs `command` with stdout and stderr into `log`, killing it after `limit`.
pub fn run_bounded(command: &mut Command, log: &Path, limit: Duration) -> (Ended, Duration) {
    let started = Instant::now();
    let mut child = spawn_logged(command, log);
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return (Ended::Exited(status), started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return (Ended::TimedOut, started.elapsed());
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `command` to its end under `limit` and returns (success, stdout + stderr).
pub fn run_capture(command: &mut Command, limit: Duration) -> (bool, String) {
    let log = tempfile::NamedTempFile::new().expect("a temporary file");
    let (ended, _) = run_bounded(command, log.path(), limit);
    let output = fs::read_to_string(log.path()).unwrap_or_default();
    match ended {
        Ended::Exited(status) => (status.success(), output),
        Ended::TimedOut => (false, format!("{output}\n[killed after {limit:?}]")),
    }
}

/// A UDP port of 127.0.0.1 that was free a moment ago (for a daemon that cannot be told port 0).
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket on 127.0.0.1:0");
    socket.local_addr().expect("the socket's address").port()
}

/// Writes `content` to `path`, executable.
pub fn write_executable(path: &Path, content: &[u8]) {
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod 755");
}

/// Writes each (path under `dir`, text) of `files`, creating the folders (a catalogue of
/// configurations, say).
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let file = dir.join(path);
        fs::create_dir_all(file.parent().expect("a folder")).expect("create the folder");
        fs::write(&file, text).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
    }
}

/// `pxelinux.cfg/01-<mac>`: the name PXELINUX asks the TFTP server for.
pub fn pxelinux_entry(mac: &str) -> String {
    format!("pxelinux.cfg/01-{}", mac.replace(':', "-"))
}

/// The server's configuration file: `hosts` as (name, MACs), over `tftp_root`, with the
/// catalogue in `tftp_root/pxelinux.cfg/conf`.
pub fn write_server_config(path: &Path, tftp_root: &Path, hosts: &[(&str, &[&str])]) {
    let mut yaml = String::from("hosts:\n");
    for (name, macs) in hosts {
        let macs: Vec<String> = macs.iter().map(|m| format!("\"{m}\"")).collect();
        yaml.push_str(&format!(
            "  - name: {name}\n    mac_addresses: [{}]\n",
            macs.join(", ")
        ));
    }
    yaml.push_str(&format!(
        "tftp:\n  root: {}\nconfiguration:\n  directory: {}\n",
        tftp_root.display(),
        tftp_root.join("pxelinux.cfg/conf").display()
    ));
    fs::write(path, yaml).expect("write the server's configuration file");
}

/// The debug `pxe-pilot-server` over `config`, its log in the test's artifacts
/// (`server.log`); it has 30 s to announce its address.
pub fn serve(config: &Path, artifacts: &Artifacts) -> TestServer {
    TestServer::builder()
        .config(config)
        .log_file(artifacts.path("server.log"))
        .timeout(Duration::from_secs(30))
        .start()
}

/// Runs the real `pxe-pilot` CLI (`target/debug/pxe-pilot`) against `server`; returns its
/// output, failing the test (with the server's log) when it does not exit 0.
pub fn cli(server: &TestServer, args: &[&str]) -> String {
    let mut command = Command::new(binary("pxe-pilot"));
    command.arg("-s").arg(&server.base).args(args);
    let (ok, output) = run_capture(&mut command, Duration::from_secs(30));
    assert!(
        ok,
        "`pxe-pilot -s {} {}` failed:\n{output}\n{}",
        server.base,
        args.join(" "),
        log_tail(server.log_file(), 20)
    );
    output
}

/// Runs `curl` with `args` (a bounded, real HTTP client); returns what it printed.
pub fn curl(args: &[&str]) -> String {
    let mut command = Command::new("curl");
    command.args(["-sS", "--max-time", "20"]).args(args);
    let (ok, output) = run_capture(&mut command, Duration::from_secs(30));
    assert!(ok, "`curl {}` failed:\n{output}", args.join(" "));
    output
}

/// The target of the symlink at `path`, as text (the test fails when it is not a link).
pub fn link_target(path: &Path) -> String {
    fs::read_link(path)
        .unwrap_or_else(|e| panic!("{} is not a symlink: {e}", path.display()))
        .to_string_lossy()
        .into_owned()
}
