//! Real BMC emulators for the end-to-end tier: OpenStack's `sushy-emulator` (Redfish, PyPI
//! `sushy-tools`, fake systems driver) and OpenIPMI's `ipmi_sim` (Debian `openipmi`) driven by
//! Debian's real `ipmitool`. Nothing here pretends to be a BMC: the programs of this folder are
//! the emulators' own extension points (sushy's WSGI app behind a launcher that logs requests,
//! ipmi_sim's `chassis_control` program) and a logging shim that execs the real `ipmitool`.
//!
//! Included by the tests that need it with `#[path = "e2e/bmc/mod.rs"] mod bmc;` next to
//! `mod common;` and `mod e2e;`. Each emulator runs in its own process group, its files (logs,
//! state, keys) in a folder the test gives, and is killed (by its process id) when dropped.
//!
//! The recipes, timings and quirks (the fake driver applies a power change 0-11 s after the
//! request; ipmi_sim needs `-C 3`; ipmitool retransmits after ~1 s...) are those measured in
//! the colleague's BMC lab notes and are quoted where they matter.
#![allow(dead_code)]

pub mod vm;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::e2e::{self, log_tail, run_capture};

/// The sushy-tools release the Redfish test runs (PyPI), and the bcrypt its htpasswd needs.
pub const SUSHY_TOOLS: &str = "sushy-tools==2.2.0";
/// See [`SUSHY_TOOLS`].
pub const BCRYPT: &str = "bcrypt==5.0.0";

/// The launcher of sushy-emulator: binds port 0, writes the port file, logs every request.
const SUSHY_LAUNCH: &[u8] = include_bytes!("sushy_launch.py");
/// ipmi_sim's `chassis_control` program keeping power and boot device in files.
pub const CHASSIS_CONTROL: &[u8] = include_bytes!("chassis_control.sh");
/// ipmi_sim's `chassis_control` program whose power is a disk-first QEMU VM.
pub const VM_CONTROL: &[u8] = include_bytes!("vm_control.sh");
/// `ipmitool` that logs its arguments and execs the real one.
pub const IPMITOOL_LOGGING: &[u8] = include_bytes!("ipmitool-logging.sh");

/// A daemon the test started: its own process group, killed (by its id) on drop.
pub struct Daemon {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Daemon {
    /// Starts `command` with stdin from /dev/null and stdout + stderr into `log`.
    pub fn spawn(name: &'static str, command: &mut Command, log: &Path) -> Daemon {
        let out = fs::File::create(log).expect("create the daemon's log");
        let err = out.try_clone().expect("clone the log's handle");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        Daemon {
            child,
            name,
            log: log.to_path_buf(),
        }
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The end of its log, for a failure message.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, 30)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.name;
    }
}

/// Polls `check` every 100 ms until it is true or `limit` has passed; returns how long it took.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    loop {
        if check() {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------------
// Redfish: sushy-emulator

/// Whether `venv` holds a Python with sushy-tools 2.2.0 and bcrypt.
fn venv_usable(venv: &Path) -> bool {
    let python = venv.join("bin/python");
    python.is_file()
        && Command::new(&python)
            .args([
                "-c",
                "import sushy_tools, bcrypt\nfrom importlib.metadata import version\n\
                 assert version('sushy-tools') == '2.2.0', version('sushy-tools')",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The Python virtual environment holding sushy-tools 2.2.0 and bcrypt:
/// `PXE_PILOT_E2E_VENV` when set (made beforehand, e.g. by `.ci/run`), else
/// `target/e2e-venv/`, created with `python3 -m venv` and `pip install` the first time (~9 s)
/// and reused. Built under a temporary name and renamed, so concurrent test processes never see
/// half a venv. `Err` says why it cannot be had (no python3, pip failed: offline?).
pub fn sushy_venv() -> Result<PathBuf, String> {
    // The tests of one binary run on threads of one process: one of them builds, the others
    // wait for it and find the venv made.
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(venv) = std::env::var_os("PXE_PILOT_E2E_VENV") {
        let venv = PathBuf::from(venv);
        return if venv_usable(&venv) {
            Ok(venv)
        } else {
            Err(format!(
                "PXE_PILOT_E2E_VENV={} has no {SUSHY_TOOLS} with {BCRYPT}",
                venv.display()
            ))
        };
    }
    let venv = e2e::target_dir().join("e2e-venv");
    if venv_usable(&venv) {
        return Ok(venv);
    }
    let python = e2e::find_command("python3").ok_or("no python3 on PATH")?;
    let building = e2e::target_dir().join(format!("e2e-venv.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&building);
    let (ok, out) = run_capture(
        Command::new(&python).arg("-m").arg("venv").arg(&building),
        Duration::from_secs(120),
    );
    if !ok {
        let _ = fs::remove_dir_all(&building);
        return Err(format!("`python3 -m venv` failed: {out}"));
    }
    let (ok, out) = run_capture(
        Command::new(building.join("bin/python"))
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args([SUSHY_TOOLS, BCRYPT]),
        Duration::from_secs(600),
    );
    if !ok {
        let _ = fs::remove_dir_all(&building);
        return Err(format!(
            "`pip install {SUSHY_TOOLS} {BCRYPT}` failed: {out}"
        ));
    }
    if fs::rename(&building, &venv).is_err() {
        // Another test process made it meanwhile.
        let _ = fs::remove_dir_all(&building);
    }
    if venv_usable(&venv) {
        Ok(venv)
    } else {
        Err(format!(
            "{} is not usable after pip install",
            venv.display()
        ))
    }
}

/// A throw-away CA and a server certificate it signed, for 127.0.0.1 (rustls refuses a
/// self-signed certificate that is its own trust anchor: `CaUsedAsEndEntity`).
pub struct Pki {
    /// The CA's certificate: the trust anchor (`ca_file:`).
    pub ca: PathBuf,
    /// The server's certificate (SAN IP:127.0.0.1, DNS:localhost).
    pub cert: PathBuf,
    /// The server's key.
    pub key: PathBuf,
}

impl Pki {
    /// Makes them in `dir` with openssl.
    pub fn new(dir: &Path) -> Pki {
        let pki = Pki {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        let ca_key = dir.join("ca.key");
        let csr = dir.join("cert.csr");
        let ext = dir.join("cert.ext");
        fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
             extendedKeyUsage=serverAuth,clientAuth\n",
        )
        .expect("write cert.ext");
        let openssl = |command: &mut Command| {
            let (ok, out) = run_capture(command, Duration::from_secs(60));
            assert!(ok, "{command:?} failed:\n{out}");
        };
        openssl(
            Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .args(["-subj", "/CN=pxe-pilot e2e test CA", "-keyout"])
                .arg(&ca_key)
                .arg("-out")
                .arg(&pki.ca),
        );
        openssl(
            Command::new("openssl")
                .args(["req", "-newkey", "rsa:2048", "-nodes"])
                .args(["-subj", "/CN=127.0.0.1", "-keyout"])
                .arg(&pki.key)
                .arg("-out")
                .arg(&csr),
        );
        openssl(
            Command::new("openssl")
                .args(["x509", "-req", "-CAcreateserial", "-days", "2", "-in"])
                .arg(&csr)
                .arg("-CA")
                .arg(&pki.ca)
                .arg("-CAkey")
                .arg(&ca_key)
                .arg("-extfile")
                .arg(&ext)
                .arg("-out")
                .arg(&pki.cert),
        );
        pki
    }

    /// A client certificate signed by the CA for `subject` (`/O=pxe-pilot`), in the CA's
    /// folder as `NAME.pem` and `NAME.key`.
    pub fn client(&self, name: &str, subject: &str) -> (PathBuf, PathBuf) {
        let dir = self.ca.parent().expect("the CA's folder");
        let (cert, key) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key")),
        );
        let (csr, ext) = (
            dir.join(format!("{name}.csr")),
            dir.join(format!("{name}.ext")),
        );
        fs::write(
            &ext,
            "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n",
        )
        .expect("write the extensions");
        for command in [
            Command::new("openssl")
                .args([
                    "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout",
                ])
                .arg(&key)
                .arg("-out")
                .arg(&csr),
            Command::new("openssl")
                .args(["x509", "-req", "-CAcreateserial", "-days", "2", "-in"])
                .arg(&csr)
                .arg("-CA")
                .arg(&self.ca)
                .arg("-CAkey")
                .arg(dir.join("ca.key"))
                .arg("-extfile")
                .arg(&ext)
                .arg("-out")
                .arg(&cert),
        ] {
            let (ok, out) = run_capture(command, Duration::from_secs(60));
            assert!(ok, "{command:?} failed:\n{out}");
        }
        (cert, key)
    }
}

/// One system of the fake driver.
#[derive(Debug, Clone, Copy)]
pub struct FakeSystem {
    /// Its UUID: also its id in `/redfish/v1/Systems/<uuid>`.
    pub uuid: &'static str,
    /// Its name (`/redfish/v1/Systems/<name>` is a 307 redirect to the UUID).
    pub name: &'static str,
    /// `On` or `Off` at start.
    pub power: &'static str,
    /// Its NIC's MAC.
    pub mac: &'static str,
}

impl FakeSystem {
    /// Its path on the emulator.
    pub fn path(&self) -> String {
        format!("/redfish/v1/Systems/{}", self.uuid)
    }
}

/// sushy-emulator 2.2.0 with the fake systems driver, over HTTPS (the CA-signed certificate of
/// a [`Pki`]), HTTP Basic auth (a bcrypt htpasswd), its state in a fresh folder, on
/// 127.0.0.1 with a port the kernel chose; every request logged (method, path, user, status,
/// body; never the password) to `requests.jsonl`.
pub struct Sushy {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The folder of its files.
    pub dir: PathBuf,
    /// The CA that signed its certificate.
    pub ca: PathBuf,
    user: String,
    password: String,
    daemon: Daemon,
}

impl Sushy {
    /// Starts it in `dir` with the venv's Python, `systems`, and one user.
    pub fn start(
        venv: &Path,
        dir: &Path,
        pki: &Pki,
        systems: &[FakeSystem],
        user: &str,
        password: &str,
    ) -> Sushy {
        fs::create_dir_all(dir.join("state")).expect("create the emulator's state folder");
        let python = venv.join("bin/python");
        // bcrypt rounds=4: sushy checks the hash on every request (12 rounds: ~0.2 s each).
        let htpasswd = dir.join("htpasswd");
        let (ok, out) = run_capture(
            Command::new(&python)
                .args([
                    "-c",
                    "import bcrypt, os, sys\n\
                     h = bcrypt.hashpw(os.environ['RF_PASSWORD'].encode(), bcrypt.gensalt(rounds=4)).decode()\n\
                     open(sys.argv[1], 'w').write(os.environ['RF_USER'] + ':' + h + '\\n')",
                ])
                .arg(&htpasswd)
                .env("RF_USER", user)
                .env("RF_PASSWORD", password),
            Duration::from_secs(30),
        );
        assert!(ok, "writing the htpasswd failed:\n{out}");
        let systems_py: Vec<String> = systems
            .iter()
            .map(|s| {
                format!(
                    "    {{'uuid': '{}', 'name': '{}', 'power_state': '{}', \
                     'nics': [{{'mac': '{}', 'ip': '10.0.2.15'}}]}},",
                    s.uuid, s.name, s.power, s.mac
                )
            })
            .collect();
        let conf = dir.join("emulator.conf");
        fs::write(
            &conf,
            format!(
                "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\n\
                 SUSHY_EMULATOR_SSL_CERT = '{}'\n\
                 SUSHY_EMULATOR_SSL_KEY = '{}'\n\
                 SUSHY_EMULATOR_AUTH_FILE = '{}'\n\
                 SUSHY_EMULATOR_STATE_DIR = '{}'\n\
                 SUSHY_EMULATOR_FAKE_DRIVER = True\n\
                 SUSHY_EMULATOR_FAKE_SYSTEMS = [\n{}\n]\n",
                pki.cert.display(),
                pki.key.display(),
                htpasswd.display(),
                dir.join("state").display(),
                systems_py.join("\n")
            ),
        )
        .expect("write emulator.conf");
        let launcher = dir.join("sushy_launch.py");
        fs::write(&launcher, SUSHY_LAUNCH).expect("write the launcher");
        let port_file = dir.join("port");
        let _ = fs::remove_file(&port_file);
        fs::write(dir.join("requests.jsonl"), "").expect("create requests.jsonl");
        let mut daemon = Daemon::spawn(
            "sushy-emulator",
            Command::new(&python)
                .arg(&launcher)
                .arg(&conf)
                .arg(&port_file)
                .arg(dir.join("requests.jsonl"))
                .env("TMPDIR", dir.join("state")),
            &dir.join("emulator.log"),
        );
        let mut port = None;
        let announced = wait_until(Duration::from_secs(30), || {
            port = fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse::<u16>().ok());
            port.is_some() || !daemon.is_running()
        });
        let Some(port) = port else {
            panic!(
                "sushy-emulator announced no port ({announced:?}):\n{}",
                daemon.log_tail()
            );
        };
        let sushy = Sushy {
            url: format!("https://127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
            ca: pki.ca.clone(),
            user: user.to_owned(),
            password: password.to_owned(),
            daemon,
        };
        // Ready when the service root (no auth needed) answers over verified TLS.
        let ready = wait_until(Duration::from_secs(15), || {
            Command::new("curl")
                .args(["-sf", "--max-time", "2", "--cacert"])
                .arg(&sushy.ca)
                .arg(format!("{}/redfish/v1/", sushy.url))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        assert!(
            ready.is_some(),
            "sushy-emulator does not answer on {}:\n{}",
            sushy.url,
            sushy.daemon.log_tail()
        );
        sushy
    }

    /// GET `path` on the emulator's own API with curl (the CA verified, Basic auth).
    pub fn get(&self, path: &str) -> Value {
        let (ok, out) = run_capture(
            Command::new("curl")
                .args(["-sS", "-f", "--max-time", "10", "--cacert"])
                .arg(&self.ca)
                .arg("-u")
                .arg(format!("{}:{}", self.user, self.password))
                .arg(format!("{}{path}", self.url)),
            Duration::from_secs(20),
        );
        assert!(ok, "curl GET {path} on the emulator failed:\n{out}");
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("GET {path} answered no JSON ({e}):\n{out}"))
    }

    /// The system's `PowerState` as the emulator says it.
    pub fn power_state(&self, system: &FakeSystem) -> String {
        self.get(&system.path())["PowerState"]
            .as_str()
            .unwrap_or("?")
            .to_owned()
    }

    /// Waits (polling the emulator's API) until `system` reads `want`; panics after `limit`.
    /// The fake driver applies a change 0-11 s after the request, lazily on a GET.
    pub fn wait_power(&self, system: &FakeSystem, want: &str, limit: Duration) -> Duration {
        let mut last = String::new();
        wait_until(limit, || {
            last = self.power_state(system);
            last == want
        })
        .unwrap_or_else(|| {
            panic!(
                "system {} still reads PowerState {last:?}, not {want:?}, after {limit:?}; \
                 requests:\n{}",
                system.name,
                self.requests_text()
            )
        })
    }

    /// Every request logged so far, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.requests_text()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// The raw request log.
    pub fn requests_text(&self) -> String {
        fs::read_to_string(self.dir.join("requests.jsonl")).unwrap_or_default()
    }

    /// The emulator's own log (werkzeug request lines, `Set boot device to "Pxe"`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("emulator.log")).unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// IPMI: OpenIPMI ipmi_sim + ipmitool

/// OpenIPMI's `ipmi_sim` on 127.0.0.1 and a free UDP port, one admin user (IPMI 2.0 lanplus),
/// its power and boot device handled by a `chassis_control` program (ipmi_sim sends both only
/// there): [`CHASSIS_CONTROL`] (files) or [`VM_CONTROL`] (a QEMU VM).
pub struct IpmiSim {
    /// The UDP port of its LAN interface.
    pub port: u16,
    /// The folder of its files (lan.conf, state, the control program's files).
    pub dir: PathBuf,
    user: String,
    password: String,
    daemon: Daemon,
}

impl IpmiSim {
    /// Starts it in `dir`; `control` is the chassis_control program written into `dir`, run by
    /// ipmi_sim as `PROGRAM DIR get|set ...`. ipmi_sim cannot be told port 0: a port that was
    /// free is tried again with another one when ipmi_sim could not bind it.
    pub fn start(dir: &Path, control: &[u8], user: &str, password: &str) -> IpmiSim {
        fs::create_dir_all(dir.join("state")).expect("create ipmi_sim's state folder");
        let program = dir.join("chassis_control");
        e2e::write_executable(&program, control);
        let _ = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("chassis.log"));
        if !dir.join("power").exists() {
            fs::write(dir.join("power"), "0\n").expect("write power");
        }
        if !dir.join("boot").exists() {
            fs::write(dir.join("boot"), "default\n").expect("write boot");
        }
        fs::write(
            dir.join("bmc.emu"),
            "mc_setbmc 0x20\n\
             mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n\
             sel_enable 0x20 1000 0x0a\n\
             mc_enable 0x20\n",
        )
        .expect("write bmc.emu");
        let ipmi_sim = e2e::find_command("ipmi_sim").expect("ipmi_sim (package openipmi)");
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = e2e::free_udp_port();
            let conf = dir.join("lan.conf");
            fs::write(
                &conf,
                format!(
                    "name \"pxepilot-e2e\"\n\
                     set_working_mc 0x20\n\
                     \x20 startlan 1\n\
                     \x20   addr 127.0.0.1 {port}\n\
                     \x20   priv_limit admin\n\
                     \x20   allowed_auths_callback none md2 md5 straight\n\
                     \x20   allowed_auths_user none md2 md5 straight\n\
                     \x20   allowed_auths_operator none md2 md5 straight\n\
                     \x20   allowed_auths_admin none md2 md5 straight\n\
                     \x20   guid a123456789abcdefa123456789abcdef\n\
                     \x20 endlan\n\
                     \x20 chassis_control \"{} {}\"\n\
                     \x20 user 2 true \"{user}\" \"{password}\" admin 10 none md2 md5 straight\n",
                    program.display(),
                    dir.display()
                ),
            )
            .expect("write lan.conf");
            fs::set_permissions(&conf, fs::Permissions::from_mode(0o600)).expect("chmod 600");
            let mut daemon = Daemon::spawn(
                "ipmi_sim",
                Command::new(&ipmi_sim)
                    .arg("-n")
                    .arg("-c")
                    .arg(&conf)
                    .arg("-f")
                    .arg(dir.join("bmc.emu"))
                    .arg("-s")
                    .arg(dir.join("state")),
                &dir.join("ipmi_sim.log"),
            );
            let mut sim = None;
            wait_until(Duration::from_secs(10), || {
                if !daemon.is_running() {
                    return true;
                }
                let ok = Command::new("ipmitool")
                    .args(["-I", "lanplus", "-C", "3", "-N", "1", "-R", "1"])
                    .args(["-H", "127.0.0.1", "-p", &port.to_string(), "-U", user, "-E"])
                    .args(["power", "status"])
                    .env("IPMI_PASSWORD", password)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if ok {
                    sim = Some(port);
                }
                ok
            });
            if sim.is_some() {
                // The readiness probe's call is not the test's: start the log afresh.
                fs::write(dir.join("chassis.log"), "").expect("empty chassis.log");
                return IpmiSim {
                    port,
                    dir: dir.to_path_buf(),
                    user: user.to_owned(),
                    password: password.to_owned(),
                    daemon,
                };
            }
            failures.push(format!("port {port}:\n{}", daemon.log_tail()));
        }
        panic!(
            "ipmi_sim did not answer on any free port:\n{}",
            failures.join("\n")
        );
    }

    /// Runs the real `ipmitool` against it (`-I lanplus -C 3`, password through `-E`).
    pub fn ipmitool(&self, args: &[&str]) -> (bool, String) {
        run_capture(
            Command::new("ipmitool")
                .args(["-I", "lanplus", "-C", "3", "-H", "127.0.0.1"])
                .args(["-p", &self.port.to_string(), "-U", &self.user, "-E"])
                .args(args)
                .env("IPMI_PASSWORD", &self.password),
            Duration::from_secs(30),
        )
    }

    /// What reached the chassis_control program, one call a line (`set boot pxe`), without
    /// the timestamps.
    pub fn chassis_calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("chassis.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(_, call)| call.trim().to_owned()))
            .collect()
    }

    /// The chassis_control calls that change something (`set ...`, QEMU start/stop lines),
    /// without the `get` queries.
    pub fn chassis_changes(&self) -> Vec<String> {
        self.chassis_calls()
            .into_iter()
            .filter(|c| !c.starts_with("get "))
            .collect()
    }

    /// Empties the chassis_control log.
    pub fn clear_calls(&self) {
        fs::write(self.dir.join("chassis.log"), "").expect("empty chassis.log");
    }

    /// The power the files-based chassis_control program keeps (`0` or `1`).
    pub fn power_file(&self) -> String {
        fs::read_to_string(self.dir.join("power"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    /// The end of ipmi_sim's log.
    pub fn log_tail(&self) -> String {
        self.daemon.log_tail()
    }
}

// ---------------------------------------------------------------------------------------------
// The server's answers and events

/// `GET URL` with curl; (HTTP status, body).
pub fn http(method: &str, url: &str, headers: &[&str], body: Option<&str>) -> (u16, String) {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "--max-time", "60", "-o", "-", "-w", "\n%{http_code}"])
        .args(["-X", method]);
    for header in headers {
        command.args(["-H", header]);
    }
    if let Some(body) = body {
        command.args(["-H", "Content-Type: application/json", "-d", body]);
    }
    command.arg(url);
    let (ok, out) = run_capture(&mut command, Duration::from_secs(90));
    assert!(ok, "curl -X {method} {url} failed:\n{out}");
    let (body, code) = out.trim_end().rsplit_once('\n').unwrap_or(("", out.trim()));
    (
        code.trim()
            .parse()
            .unwrap_or_else(|_| panic!("no status in {out:?}")),
        body.to_owned(),
    )
}

/// The events of `host`, newest first, as JSON values.
pub fn host_events(base: &str, host: &str) -> Vec<Value> {
    let (code, body) = http(
        "GET",
        &format!("{base}/v1/hosts/{host}/events?limit=1000"),
        &[],
        None,
    );
    assert_eq!(code, 200, "GET events of {host}: {body}");
    serde_json::from_str(&body).expect("the events are JSON")
}

/// Whether `events` hold one with these `kind` and `who` whose detail is `detail` (any when
/// `None`) and whose result is `ok` (any text when `result` is `None`).
pub fn has_event(events: &[Value], kind: &str, who: &str, detail: Option<&str>) -> bool {
    events.iter().any(|e| {
        e["kind"] == kind
            && e["who"] == who
            && detail.is_none_or(|d| e["detail"].as_str() == Some(d))
    })
}

/// Asserts that `events` (of `host`) show the operator's power on, off and reboot and a
/// network boot `once`.
pub fn assert_power_and_netboot_events(events: &[Value], host: &str) {
    let text = events_text(events);
    for detail in ["on", "off", "reboot"] {
        assert!(
            has_event(events, "power", "open", Some(detail)),
            "no power {detail} event of {host}:\n{text}"
        );
    }
    assert!(
        has_event(events, "netboot", "open", Some("once")),
        "no netboot once event of {host}:\n{text}"
    );
}

/// The events as lines, for a failure message.
pub fn events_text(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
