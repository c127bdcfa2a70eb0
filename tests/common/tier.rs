//! The harness of the tiers that need system tools (e2e, browser): each test is declared with
//! what it needs ([`Need`]), checked before anything runs. A test whose tools are missing is
//! reported `ignored` with what to install (counted in the summary line, never a pass); in CI
//! (`CI` set) it fails instead, since there the whole tier must run. An opt-in test
//! ([`Need::OptIn`]) is ignored until asked for, in CI too.
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     tier::run(vec![tier::Test::new("demo::boots", demo::boots).needs(demo::needs)])
//! }
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Mutex;

use libtest_mimic::{Arguments, Trial};

/// One thing a test needs from the system.
#[derive(Debug, Clone)]
pub enum Need {
    /// A command on `PATH` (or in /usr/sbin, /sbin), and the Debian package that provides it.
    Command(&'static str, &'static str),
    /// A file, and the Debian package that provides it.
    File(&'static str, &'static str),
    /// Something found by a search (a kernel, a target): present or not, what, the package.
    Found(bool, &'static str, &'static str),
    /// Running as root (network namespaces, tftpd-hpa `--secure`'s chroot).
    Root,
    /// A slow test run only when asked (present or not, and how to ask): ignored otherwise,
    /// in CI too.
    OptIn(bool, &'static str),
}

/// The whole tier's Debian packages (docs/testing.md and `.ci/run` list the same).
pub const PACKAGES: &str = "qemu-system-x86 ipxe-qemu pxelinux syslinux-common cpio \
                            busybox-static linux-image-amd64 tftpd-hpa tftp-hpa file curl git \
                            ovmf grub-efi-amd64-bin chromium chromium-driver prometheus \
                            openipmi ipmitool openssl iproute2 python3-venv dnsmasq-base etcd-server etcd-client";

/// Why a test cannot run here: what is missing and the packages to install (`opt_in` when only
/// an opt-in is missing, which is never a failure).
#[derive(Debug)]
pub struct Missing {
    /// The message: what is missing and how to get it.
    pub message: String,
    /// Whether only an opt-in is missing.
    pub opt_in: bool,
}

/// What of `needs` this machine lacks, `None` when it has it all.
pub fn missing(needs: &[Need]) -> Option<Missing> {
    let mut missing = Vec::new();
    let mut packages: Vec<&str> = Vec::new();
    let mut opt_ins = Vec::new();
    for need in needs {
        let (present, what, package) = match need {
            Need::Command(name, package) => (on_path(name), format!("command `{name}`"), *package),
            Need::File(path, package) => {
                (Path::new(path).exists(), format!("file {path}"), *package)
            }
            Need::Found(present, what, package) => (*present, (*what).to_string(), *package),
            Need::Root => (is_root(), "root".to_string(), ""),
            Need::OptIn(present, how) => {
                if !present {
                    opt_ins.push(*how);
                }
                continue;
            }
        };
        if !present {
            missing.push(what);
            if !package.is_empty() && !packages.contains(&package) {
                packages.push(package);
            }
        }
    }
    if !missing.is_empty() {
        let install = if packages.is_empty() {
            String::new()
        } else {
            format!("install with `apt-get install {}`; ", packages.join(" "))
        };
        return Some(Missing {
            message: format!(
                "needs {} ({install}the whole tier needs: {PACKAGES}; `bash .ci/run` installs them)",
                missing.join(", "),
            ),
            opt_in: false,
        });
    }
    (!opt_ins.is_empty()).then(|| Missing {
        message: format!("runs only when asked: {}", opt_ins.join("; ")),
        opt_in: true,
    })
}

/// Whether `CI` is set (the tier must run whole).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Whether `name` is an executable on `PATH` (or, for sbin tools, in /usr/sbin and /sbin).
pub fn on_path(name: &str) -> bool {
    find_command(name).is_some()
}

/// The full path of command `name` on `PATH`, /usr/sbin or /sbin.
pub fn find_command(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Writes `text` straight to the process's stderr: libtest captures `eprintln!` of passing
/// tests, and a skip or a warning must be seen.
pub fn loud(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Whether `test` has its `needs`, for a check inside a test body (a need known only once it
/// runs, such as a venv it makes): when not, it fails in CI, and elsewhere a loud SKIP is
/// printed and `false` returned (the test returns at once). Needs known before are declared
/// with [`Test::needs`], which counts the skip.
pub fn require(test: &str, needs: &[Need]) -> bool {
    let Some(why) = missing(needs) else {
        return true;
    };
    let message = format!("{test}: {}", why.message);
    if in_ci() && !why.opt_in {
        panic!("{message}");
    }
    let bar = "*".repeat(78);
    loud(&format!("\n{bar}\nSKIP (CI is unset) {message}\n{bar}\n"));
    false
}

/// One test of a tier: its name (`module::function`), its body, what it needs, and whether it
/// runs alone (a VM, a browser: the machine may have two cores).
pub struct Test {
    name: &'static str,
    body: fn(),
    needs: fn() -> Vec<Need>,
    alone: bool,
}

impl Test {
    /// A test that needs nothing of the system.
    pub fn new(name: &'static str, body: fn()) -> Test {
        Test {
            name,
            body,
            needs: Vec::new,
            alone: false,
        }
    }

    /// What it needs, checked before the tier runs.
    pub fn needs(mut self, needs: fn() -> Vec<Need>) -> Test {
        self.needs = needs;
        self
    }

    /// Runs while no other test of the tier marked so runs.
    pub fn alone(mut self) -> Test {
        self.alone = true;
        self
    }
}

/// The tests marked [`Test::alone`] take this in turn.
static ALONE: Mutex<()> = Mutex::new(());

/// Runs a tier's tests with libtest's command line (filters, `--list`, `--test-threads`):
/// the missing tools of each are checked first, and said before the run.
pub fn run(tests: Vec<Test>) -> ExitCode {
    let args = Arguments::from_args();
    let ci = in_ci();
    let mut skipped = Vec::new();
    let trials: Vec<Trial> = tests
        .into_iter()
        .map(|test| {
            let Test {
                name, body, alone, ..
            } = test;
            match missing(&(test.needs)()) {
                None => Trial::test(name, move || {
                    let _turn =
                        alone.then(|| ALONE.lock().unwrap_or_else(|poison| poison.into_inner()));
                    body();
                    Ok(())
                }),
                Some(why) if ci && !why.opt_in => {
                    Trial::test(name, move || Err(format!("{name}: {}", why.message).into()))
                }
                Some(why) => {
                    skipped.push(format!("{name}: {}", why.message));
                    // Run with `--ignored`, it fails with the reason rather than pass.
                    Trial::test(name, move || Err(why.message.into())).with_ignored_flag(true)
                }
            }
        })
        .collect();
    if !skipped.is_empty() && !args.list {
        let bar = "*".repeat(78);
        loud(&format!(
            "{bar}\n{} test(s) ignored, their tools are missing or they run only when asked:\n{}\n{bar}",
            skipped.len(),
            skipped.join("\n")
        ));
    }
    libtest_mimic::run(&args, trials).exit_code()
}
