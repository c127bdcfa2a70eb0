//! The real `pxe-pilot-server` process of a test or a bench, started the one way every test
//! starts it: [`TestServer::builder`] runs the program (by default the workspace's debug
//! `pxe-pilot-server`, listening on `127.0.0.1:0`), reads the address it announces as its first
//! line on stdout (`pxe-pilot-server listening on http://IP:PORT`), and hands back its base URL.
//! No fixed port, no sleep; the process is killed on drop.
//!
//! The process knows nothing of what it serves: the caller names a configuration file (most
//! tests build one with `World`, in `world.rs`, and start it with `World::serve`), a demo
//! folder, or any other arguments.
//!
//! ```ignore
//! let server = TestServer::builder()
//!     .config(&world.config)
//!     .env("RUST_LOG", "debug")
//!     .start();
//! let answer = reqwest::blocking::get(server.url("/v1/hosts"));
//! assert!(!server.logs().contains("panicked"));
//! assert_eq!(server.terminate().code(), Some(0));
//! ```
//!
//! Its log (stderr) goes to a file of its own, read back by [`TestServer::logs`], or to a file
//! the caller names (kept for a post-mortem, or appended to by a server restarted over the same
//! world). This module uses nothing else of `tests/`: the benches include it with
//! `#[path = "../tests/common/server.rs"] mod server;`.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// util-linux's `setpriv`, which gives the server a parent-death signal.
const SETPRIV: &str = "/usr/bin/setpriv";

/// What the server prints on stdout before its base URL, once it listens.
const ANNOUNCEMENT: &str = "pxe-pilot-server listening on ";

/// How long a server may take to announce its address, unless the builder says otherwise.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How many lines of the log a failure to start quotes.
const LOG_LINES_QUOTED: usize = 40;

/// A binary of the workspace, next to the running test or bench executable
/// (`target/<profile>/deps/<test>` -> `target/<profile>/<name>`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let profile = if deps.ends_with("deps") {
        deps.parent().expect("target/<profile>")
    } else {
        deps
    };
    let path = profile.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} does not exist: build it first (`cargo test --workspace` or `cargo build -p {name}`)",
        path.display()
    );
    path
}

/// Where the server's log (stderr) goes.
#[derive(Debug, Clone)]
enum Log {
    /// A temporary file of the server's own, removed with it. A file rather than a pipe read
    /// by a thread: [`TestServer::logs`] then holds every line written before the call.
    Captured,
    /// A file the caller names, emptied first.
    File(PathBuf),
    /// A file the caller names, appended to.
    Append(PathBuf),
}

/// How to start a [`TestServer`]: the program, its arguments and environment, where its log
/// goes, how long it may take to announce its address.
#[derive(Debug)]
#[must_use = "nothing starts before `start`"]
pub struct TestServerBuilder {
    binary: Option<PathBuf>,
    args: Vec<OsString>,
    listen: String,
    envs: Vec<(OsString, OsString)>,
    current_dir: Option<PathBuf>,
    log: Log,
    timeout: Duration,
    /// A program and its arguments that run the server (`unshare`, `strace`), outermost first.
    wrapper: Vec<OsString>,
}

impl TestServerBuilder {
    /// The program to run instead of the workspace's debug `pxe-pilot-server`: the release
    /// one (the load bench), or `cargo` with `run ... --` arguments (the README's demo). It
    /// must announce its address as `pxe-pilot-server` does.
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Runs the server in a PID namespace of its own, as PID 1 (`unshare --pid --fork`,
    /// root only): two such servers share every PID, as servers in two containers do.
    /// [`TestServer::pid`] is then `unshare`'s, which a SIGTERM does not pass on.
    pub fn in_own_pid_namespace(self) -> Self {
        // unshare stays the parent; killing it kills the server (`--kill-child`).
        self.wrapped_in(["unshare", "--pid", "--fork", "--kill-child=SIGKILL"])
    }

    /// Runs the server under `command` (a program and its arguments, the server's command
    /// line appended), e.g. `strace -f -o FILE`. [`TestServer::pid`] is the wrapper's.
    pub fn wrapped_in<I>(mut self, command: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<OsStr>,
    {
        self.wrapper
            .extend(command.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// `--config FILE`.
    pub fn config(self, file: impl AsRef<Path>) -> Self {
        self.arg("--config").arg(file.as_ref())
    }

    /// `--demo DIR`.
    pub fn demo(self, dir: impl AsRef<Path>) -> Self {
        self.arg("--demo").arg(dir.as_ref())
    }

    /// `--listen ADDR:PORT` instead of `127.0.0.1:0` (it always comes last).
    pub fn listen(mut self, address: impl ToString) -> Self {
        self.listen = address.to_string();
        self
    }

    /// One more argument, after those given so far.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// More arguments, after those given so far.
    pub fn args<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// An environment variable of the process, added to the test's own environment.
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((name.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// The folder the process runs in (the test's own by default).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// The log goes to `file`, emptied first, which stays after the server is gone.
    pub fn log_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.log = Log::File(file.into());
        self
    }

    /// The log is appended to `file` (a server restarted over one log).
    pub fn append_log(mut self, file: impl Into<PathBuf>) -> Self {
        self.log = Log::Append(file.into());
        self
    }

    /// How long the process may take to announce its address ([`START_TIMEOUT`] by default).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// Starts the process and waits for its address; panics, quoting its log, when it does
    /// not announce one.
    pub fn start(self) -> TestServer {
        self.try_start().unwrap_or_else(|why| panic!("{why}"))
    }

    /// Starts the process and waits for its address; says why, quoting its log, when it does
    /// not announce one (the process is then killed).
    pub fn try_start(self) -> Result<TestServer, String> {
        let (mut command, log) = self.command()?;
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {command:?}: {e}"))?;
        let stdout = child.stdout.take().expect("a piped stdout");
        let (first_line, announced) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = first_line.send(read);
            // Keep draining, so that the server never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let started = Instant::now();
        let line = match announced.recv_timeout(self.timeout) {
            Ok(Ok(line)) if line.is_empty() => {
                Err("closed its stdout without announcing its address".to_owned())
            }
            Ok(Ok(line)) => Ok(line),
            Ok(Err(e)) => Err(format!("printed no line on stdout ({e})")),
            Err(_) => Err(format!("announced no address within {:?}", self.timeout)),
        };
        let base = line.and_then(|line| {
            line.trim_end()
                .strip_prefix(ANNOUNCEMENT)
                .map(|base| base.trim_end_matches('/').to_owned())
                .ok_or_else(|| {
                    format!("printed {line:?} instead of `{ANNOUNCEMENT}http://IP:PORT`")
                })
        });
        match base {
            Ok(base) => Ok(TestServer { base, child, log }),
            Err(why) => {
                let _ = child.kill();
                let status = child.wait();
                Err(format!(
                    "{command:?} {why} (after {:?}, {status:?}); its log:\n{}",
                    started.elapsed(),
                    last_lines(&log.read())
                ))
            }
        }
    }

    /// Runs the process for a server that must refuse to start: waits at most `limit` for it
    /// to exit (then kills it); returns its exit code (`None` when killed) and its log.
    pub fn run_to_exit(self, limit: Duration) -> (Option<i32>, String) {
        let (mut command, log) = self.command().unwrap_or_else(|why| panic!("{why}"));
        let mut child = command
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let started = Instant::now();
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                break child.wait().expect("wait for the killed process");
            }
            thread::sleep(Duration::from_millis(10));
        };
        (status.code(), log.read())
    }

    /// The command (stdout left to the caller) and the file its log goes to.
    fn command(&self) -> Result<(Command, LogFile), String> {
        let program = match &self.binary {
            Some(path) => path.clone(),
            None => binary("pxe-pilot-server"),
        };
        let (stderr, path, captured) = match &self.log {
            Log::Captured => {
                let file = tempfile::Builder::new()
                    .prefix("pxe-pilot-server-")
                    .suffix(".log")
                    .tempfile()
                    .map_err(|e| format!("create a log file: {e}"))?;
                let stderr = file
                    .reopen()
                    .map_err(|e| format!("open the log file: {e}"))?;
                (stderr, file.path().to_owned(), Some(file))
            }
            Log::File(path) => (
                fs::File::create(path).map_err(|e| format!("create {}: {e}", path.display()))?,
                path.clone(),
                None,
            ),
            Log::Append(path) => (
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("open {}: {e}", path.display()))?,
                path.clone(),
                None,
            ),
        };
        // `setpriv --pdeathsig KILL` (util-linux) execs the server with SIGKILL set for when
        // the thread that started it ends, whatever ends it (the test returned or panicked,
        // the test binary was killed): no server outlives its test.
        let mut wrapper: Vec<OsString> = Vec::new();
        if Path::new(SETPRIV).is_file() {
            wrapper.extend([SETPRIV, "--pdeathsig", "KILL"].map(OsString::from));
        }
        wrapper.extend(self.wrapper.iter().cloned());
        // A wrapper that forks (strace -f) is the server's parent: the server must die with
        // it too, or killing the wrapper leaves the server running, orphaned.
        if !self.wrapper.is_empty() && Path::new(SETPRIV).is_file() {
            wrapper.extend([SETPRIV, "--pdeathsig", "KILL"].map(OsString::from));
        }
        let mut command = match wrapper.split_first() {
            Some((wrapper, args)) => {
                let mut command = Command::new(wrapper);
                command.args(args).arg(program);
                command
            }
            None => Command::new(program),
        };
        command
            .args(&self.args)
            .arg("--listen")
            .arg(&self.listen)
            .envs(self.envs.iter().map(|(n, v)| (n, v)))
            .stdin(Stdio::null())
            .stderr(stderr);
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        Ok((
            command,
            LogFile {
                path,
                _captured: captured,
            },
        ))
    }
}

/// The file a process's log goes to.
#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    // Holds a captured log until the process is gone.
    _captured: Option<tempfile::NamedTempFile>,
}

impl LogFile {
    /// The log as text (bytes that are not UTF-8 replaced), empty when it cannot be read.
    fn read(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.path).unwrap_or_default()).into_owned()
    }
}

/// The last [`LOG_LINES_QUOTED`] lines of a log.
fn last_lines(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(LOG_LINES_QUOTED)..].join("\n")
}

/// A running server process, started by [`TestServer::builder`]; killed on drop.
#[derive(Debug)]
pub struct TestServer {
    /// Its base URL, `http://IP:PORT`, as it announced it.
    pub base: String,
    child: Child,
    log: LogFile,
}

impl TestServer {
    /// A builder: the debug `pxe-pilot-server`, `--listen 127.0.0.1:0`, the test's
    /// environment, its log captured for [`TestServer::logs`], [`START_TIMEOUT`].
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder {
            binary: None,
            args: Vec::new(),
            listen: "127.0.0.1:0".to_owned(),
            envs: Vec::new(),
            current_dir: None,
            log: Log::Captured,
            timeout: START_TIMEOUT,
            wrapper: Vec::new(),
        }
    }

    /// The full URL of `path` (`/v1/hosts` -> `http://127.0.0.1:PORT/v1/hosts`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port`, as curl or a raw socket wants it.
    pub fn authority(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.authority()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in the server's address {:?}", self.base))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it logged so far (and, once it has exited, everything it logged).
    pub fn logs(&self) -> String {
        self.log.read()
    }

    /// The file its log goes to.
    pub fn log_file(&self) -> &Path {
        &self.log.path
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM; the process keeps running until it has finished what it was doing.
    pub fn sigterm(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {} failed", self.pid());
    }

    /// Waits at most `limit` for the process to exit: its status, or `None` when it is still
    /// running (it is killed on drop).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if started.elapsed() >= limit {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        self.sigterm();
        self.child.wait().expect("wait for the server")
    }

    /// Sends SIGKILL and waits for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
