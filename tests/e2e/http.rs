//! Support of the boot-over-HTTP end-to-end tests (`tests/e2e_http_boot.rs`,
//! `tests/e2e_grub_http.rs`): no TFTP server of the test's own, pxe-pilot answers the
//! bootloader's per-host request (`GET /v1/boot/<bootloader>/<mac>`), and the files it names
//! (a kernel, an initramfs) come from a plain HTTP file server, as in a real network where
//! pxe-pilot serves no kernel.
//!
//! - [`FileServer`]: `busybox httpd` over a folder on `127.0.0.1:PORT` (the guest reaches it as
//!   `10.0.2.2:PORT`), with the list of what it was asked for;
//! - [`find_kernel`], [`static_cli`], [`build_initramfs`]: a Debian kernel and a busybox
//!   initramfs whose `/init` (`tests/e2e/http/init.sh`) shows its kernel command line and calls
//!   back with the static `pxe-pilot` client;
//! - [`run_vm`]: a QEMU run under a hard limit that may also be ended once the serial console
//!   shows a marker (firmware that waits forever at its boot menu);
//! - [`serial`], [`rejoined`], [`lines_with`]: the serial console, readable.
//!
//! The kernel and initramfs helpers repeat those of `tests/e2e_pxe_boot.rs` (a test file, whose
//! items no other test can use).

use std::fs;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::{log_tail, printable};

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
        let out = fs::File::create(log).expect("create the file server's log");
        let err = out.try_clone().expect("clone the log file handle");
        let child = Command::new(busybox)
            .args(["httpd", "-f", "-vv", "-p"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-h")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `busybox httpd`: {e}"));
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

/// A Debian kernel and the virtio-net modules of that kernel, in load order.
pub struct Kernel {
    /// `/boot/vmlinuz-<version>`.
    pub vmlinuz: PathBuf,
    /// The modules to insmod, each after its dependencies.
    pub modules: Vec<PathBuf>,
}

/// The newest `/boot/vmlinuz-<version>` whose `/lib/modules/<version>` has virtio-net.
pub fn find_kernel() -> Option<Kernel> {
    let mut versions: Vec<String> = fs::read_dir("/boot")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix("vmlinuz-")
                .map(str::to_string)
        })
        .collect();
    versions.sort();
    versions.into_iter().rev().find_map(|version| {
        let modules = Path::new("/lib/modules").join(&version);
        let dep = fs::read_to_string(modules.join("modules.dep")).ok()?;
        let order = module_order(&dep, &["virtio_pci", "virtio_net"])?;
        Some(Kernel {
            vmlinuz: PathBuf::from(format!("/boot/vmlinuz-{version}")),
            modules: order.into_iter().map(|m| modules.join(m)).collect(),
        })
    })
}

/// The module name of a `modules.dep` path (`kernel/drivers/net/virtio_net.ko.xz` ->
/// `virtio_net`).
pub fn module_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split(".ko").next().unwrap_or(file)
}

/// The `modules.dep` paths to insmod for `wanted`, every dependency before its users.
pub fn module_order(modules_dep: &str, wanted: &[&str]) -> Option<Vec<String>> {
    let deps: Vec<(&str, Vec<&str>)> = modules_dep
        .lines()
        .filter_map(|line| {
            let (module, deps) = line.split_once(':')?;
            Some((module.trim(), deps.split_whitespace().collect()))
        })
        .collect();
    fn visit(path: &str, deps: &[(&str, Vec<&str>)], order: &mut Vec<String>) {
        if order.iter().any(|p| p == path) {
            return;
        }
        // modprobe loads the listed dependencies last-first.
        if let Some((_, needed)) = deps.iter().find(|(p, _)| *p == path) {
            for dep in needed.iter().rev() {
                visit(dep, deps, order);
            }
        }
        order.push(path.to_string());
    }
    let mut order = Vec::new();
    for name in wanted {
        let (path, _) = deps.iter().find(|(p, _)| module_name(p) == *name)?;
        visit(path, &deps, &mut order);
    }
    Some(order)
}

/// The static `pxe-pilot` (`PXE_PILOT_STATIC_CLI`, else the musl release-small build); the test
/// fails, saying how to build it, when it is missing or not static.
pub fn static_cli() -> PathBuf {
    let cli = std::env::var_os("PXE_PILOT_STATIC_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            super::target_dir().join("x86_64-unknown-linux-musl/release-small/pxe-pilot")
        });
    let build = "rustup target add x86_64-unknown-linux-musl && cargo build -p pxe-pilot-cli \
                 --profile release-small --target x86_64-unknown-linux-musl";
    assert!(
        cli.is_file(),
        "the installer runs the static CLI {}, which is missing: build it with `{build}` \
         (`.ci/run` does), or point PXE_PILOT_STATIC_CLI at one",
        cli.display()
    );
    assert!(
        super::is_static_executable(&cli),
        "{} is not a static executable: the installer's initramfs has no libc. Build it with `{build}`",
        cli.display()
    );
    let built = mtime(&cli);
    let newest_source = ["pxe-pilot-cli/src", "pxe-pilot-core/src"]
        .iter()
        .flat_map(|dir| files_under(&super::repo_dir().join(dir)))
        .map(|file| mtime(&file))
        .max();
    if newest_source.is_some_and(|source| source > built) {
        super::loud(&format!(
            "WARNING: {} is older than the CLI's sources; rebuild it with `{build}`",
            cli.display()
        ));
    }
    cli
}

fn mtime(path: &Path) -> SystemTime {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Every file and folder under `dir`, depth first (a folder before its content), sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(read) => read.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(_) => return out,
    };
    entries.sort();
    for path in entries {
        out.push(path.clone());
        if path.is_dir() {
            out.extend(files_under(&path));
        }
    }
    out
}

fn write_executable(path: &Path, content: &[u8]) {
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod 755");
}

/// Copies a kernel module into `dest`, decompressing `.ko.xz`/`.ko.zst`/`.ko.gz` (busybox
/// insmod reads plain `.ko` only).
fn copy_module(module: &Path, dest: &Path) {
    let name = module.to_string_lossy();
    let tool = [(".ko.xz", "xz"), (".ko.zst", "zstd"), (".ko.gz", "gzip")]
        .iter()
        .find(|(suffix, _)| name.ends_with(suffix))
        .map(|(_, tool)| *tool);
    match tool {
        None => {
            fs::copy(module, dest).unwrap_or_else(|e| panic!("copy {name}: {e}"));
        }
        Some(tool) => {
            let out = Command::new(tool)
                .arg("-dc")
                .arg(module)
                .output()
                .unwrap_or_else(|e| panic!("`{tool} -dc {name}` (install {tool}): {e}"));
            assert!(out.status.success(), "`{tool} -dc {name}` failed");
            fs::write(dest, out.stdout).expect("write the decompressed module");
        }
    }
}

/// Builds the installer's initramfs, a gzipped newc cpio at `out`: busybox, the static CLI,
/// `/init` (`tests/e2e/http/init.sh`), the udhcpc script and the virtio-net modules.
pub fn build_initramfs(stage: &Path, out: &Path, kernel: &Kernel, busybox: &Path, cli: &Path) {
    fs::create_dir_all(stage.join("bin")).expect("create bin/");
    fs::create_dir_all(stage.join("modules")).expect("create modules/");
    fs::copy(busybox, stage.join("bin/busybox")).expect("copy busybox");
    fs::copy(cli, stage.join("bin/pxe-pilot")).expect("copy the static CLI");
    write_executable(&stage.join("init"), include_bytes!("http/init.sh"));
    write_executable(&stage.join("udhcpc.sh"), include_bytes!("udhcpc.sh"));
    let mut order = String::new();
    for module in &kernel.modules {
        let name = module_name(&module.to_string_lossy()).to_string();
        copy_module(module, &stage.join("modules").join(format!("{name}.ko")));
        order.push_str(&name);
        order.push('\n');
    }
    fs::write(stage.join("modules/order"), order).expect("write modules/order");

    let mut list: Vec<String> = vec![".".to_string()];
    list.extend(
        files_under(stage)
            .iter()
            .filter_map(|p| p.strip_prefix(stage).ok())
            .map(|p| p.to_string_lossy().into_owned()),
    );
    let cpio_file = out.with_extension("");
    let image = fs::File::create(&cpio_file).expect("create the cpio archive");
    let mut cpio = Command::new("cpio")
        .args(["-o", "-H", "newc", "-R", "0:0", "--quiet"])
        .current_dir(stage)
        .stdin(Stdio::piped())
        .stdout(image)
        .spawn()
        .expect("run cpio");
    {
        let mut stdin = cpio.stdin.take().expect("cpio's stdin");
        stdin
            .write_all((list.join("\n") + "\n").as_bytes())
            .expect("feed cpio the file list");
    }
    assert!(cpio.wait().expect("wait for cpio").success(), "cpio failed");
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
    let out = fs::File::create(log).expect("create the serial log");
    let err = out.try_clone().expect("clone the log file handle");
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
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
