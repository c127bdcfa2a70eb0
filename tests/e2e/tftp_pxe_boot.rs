//! End-to-end: a real PXE boot whose ONLY TFTP server is pxe-pilot's own (`tftp.serve`).
//!
//! The network is a namespace the test makes (`ip netns add`): a bridge `br0` on
//! `10.123.69.1/24`, a tap `tap0` on it for QEMU, dnsmasq as DHCP only (`--port=0`,
//! `--dhcp-boot=pxelinux.0,,10.123.69.1`: no DNS, no TFTP of its own) and
//! `pxe-pilot-server` with `tftp.serve: 10.123.69.1:69`, both inside it. Nothing of the
//! machine's own network is touched; the test reaches the server's HTTP API (on the
//! namespace's `127.0.0.1`) with `curl` and the CLI run inside the namespace.
//!
//! The VM (QEMU, TCG, `-boot order=nc`: the NIC first, then its disk) has a host's MAC and a
//! 1 MiB disk whose boot sector prints `PXE-PILOT-E2E: boot=disk` and ends QEMU
//! (`isa-debug-exit`). The host is deployed the `installer` `--once`
//! (`pxe-pilot config deploy installer vm1 --once`). Then:
//! 1. boot 1: iPXE (QEMU's NIC ROM) takes a lease from dnsmasq and loads `pxelinux.0` from
//!    pxe-pilot, PXELINUX `ldlinux.c32` and `pxelinux.cfg/01-<mac>` -> `conf/installer`, then a
//!    Debian kernel and a busybox initramfs (`tests/e2e/http/init.sh`, `pxe_pilot_callback=no`)
//!    which prints its marker and powers off: no callback;
//! 2. between the boots the host's configuration is `local`: the server saw the entry read
//!    over its TFTP and fell back (`once`);
//! 3. boot 2 (QEMU started again): PXELINUX reads the entry again, now `conf/local`
//!    (`LOCALBOOT 0`), and the firmware boots the disk.
//!
//! Checked too: the host's events (two boots whose detail starts with `tftp`, the
//! `once_fallback` between them, the deploy) and its `lastBoot`. `pxelinux.cfg/default` SAYs a
//! FAIL marker: a missing or dangling entry falls back to it silently.
//!
//! The two serial consoles and the events (JSON) are written to the test's temporary folder
//! and, when `PXE_PILOT_E2E_KEEP=<dir>` is set, copied there (also when the test fails); the
//! server's and dnsmasq's logs stay in `target/e2e-artifacts/tftp-pxe-boot/`. The namespace,
//! dnsmasq, the server and QEMU are removed or killed on drop. Needs root, iproute2,
//! `dnsmasq` (Debian `dnsmasq-base`), curl and the packages of `pxe_boot`. Run alone with
//! `cargo test --test e2e tftp_pxe_boot::`.

use crate::{bmc, common, e2e};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bmc::vm::{self, DISK_MARKER};
use bmc::{events_text, wait_until, Daemon};
use common::{binary, TestServer};
use e2e::http::{rejoined, run_vm, serial, VmEnd};
use e2e::{log_tail, pxelinux_entry, run_capture, Artifacts, Need};
use serde_json::Value;

const VM_MAC: &str = "52:54:00:e2:7f:01";
const HOST: &str = "vm1";
/// The namespace's /24: it exists only there.
const SUBNET: &str = "10.123.69";

const MARK_INSTALLER: &str = "PXE-PILOT-E2E: boot=installer";
/// What the installer's initramfs prints before it powers off (`tests/e2e/http/init.sh`).
const MARK_INSTALLED: &str = "PXE-PILOT-E2E: pxe_pilot_callback=no: installed, no callback";
const MARK_LOCAL: &str = "PXE-PILOT-E2E: boot=local";
const MARK_FAIL: &str = "PXE-PILOT-E2E: boot=FAIL-default";

/// Hard limits of one QEMU run (TCG: ~18 s for PXELINUX alone, more for the kernel).
const INSTALLER_LIMIT: Duration = Duration::from_secs(240);
const LOCAL_LIMIT: Duration = Duration::from_secs(120);

/// The test's network namespace: `br0` (`SUBNET.1/24`) with `tap0` on it. Deleted on drop
/// (with its links).
struct Lan {
    name: String,
}

impl Lan {
    fn new() -> Lan {
        let lan = Lan {
            name: format!("pptftp-{}", std::process::id()),
        };
        lan.remove();
        ip(&["netns", "add", &lan.name]);
        for args in [
            vec!["link", "set", "lo", "up"],
            vec!["link", "add", "br0", "type", "bridge"],
            vec!["addr", "add", &format!("{SUBNET}.1/24"), "dev", "br0"],
            vec!["tuntap", "add", "dev", "tap0", "mode", "tap"],
            vec!["link", "set", "tap0", "master", "br0"],
            vec!["link", "set", "tap0", "up"],
            vec!["link", "set", "br0", "up"],
        ] {
            let mut all = vec!["netns", "exec", &lan.name, "ip"];
            all.extend(args);
            ip(&all);
        }
        lan
    }

    /// `ip netns exec NAME PROGRAM`, to be given arguments.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// `GET URL` with curl inside the namespace: the body as JSON (the test fails unless 200).
    fn get(&self, url: &str) -> Value {
        let (ok, out) = run_capture(
            self.command("curl")
                .args(["-sS", "-f", "--max-time", "20", url]),
            Duration::from_secs(30),
        );
        assert!(ok, "curl {url} in {} failed:\n{out}", self.name);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {out}"))
    }

    fn remove(&self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        self.remove();
    }
}

/// `ip ARGS`, failing the test when it fails.
fn ip(args: &[&str]) {
    let (ok, out) = run_capture(Command::new("ip").args(args), Duration::from_secs(20));
    assert!(ok, "`ip {}` failed:\n{out}", args.join(" "));
}

/// The files the lead engineer quotes: written in the test's folder, copied on drop (the test
/// passed or failed) to `PXE_PILOT_E2E_KEEP` when it is set.
struct Kept {
    dir: PathBuf,
    names: Vec<&'static str>,
}

impl Kept {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        let files: Vec<(PathBuf, String)> = self
            .names
            .iter()
            .map(|name| (self.dir.join(name), (*name).to_owned()))
            .collect();
        e2e::keep_for_reading(&files);
    }
}

/// The TFTP root pxe-pilot serves: PXELINUX, the installer, the catalogue.
fn tftp_root(root: &Path, kernel: &Path, initramfs: &Path) {
    e2e::write_files(
        root,
        &[
            (
                "pxelinux.cfg/conf/installer",
                &format!(
                    "SAY {MARK_INSTALLER}\nDEFAULT install\nPROMPT 0\nTIMEOUT 0\nLABEL install\n  \
                     KERNEL vmlinuz\n  INITRD initrd.img\n  \
                     APPEND console=ttyS0 panic=1 quiet pxe_pilot_callback=no\n"
                ),
            ),
            (
                "pxelinux.cfg/conf/local",
                &format!(
                    "SAY {MARK_LOCAL} (PXELINUX hands over to the disk)\n\
                     DEFAULT local\nPROMPT 0\nTIMEOUT 0\nLABEL local\n  LOCALBOOT 0\n"
                ),
            ),
            (
                "pxelinux.cfg/default",
                &format!(
                    "SAY {MARK_FAIL}: no per-MAC entry (missing or dangling link)\n\
                     DEFAULT local\nPROMPT 0\nTIMEOUT 0\nLABEL local\n  LOCALBOOT 0\n"
                ),
            ),
        ],
    );
    fs::copy(vm::PXELINUX, root.join("pxelinux.0")).expect("copy pxelinux.0");
    fs::copy(
        Path::new(vm::BIOS_MODULES).join("ldlinux.c32"),
        root.join("ldlinux.c32"),
    )
    .expect("copy ldlinux.c32");
    fs::copy(kernel, root.join("vmlinuz")).expect("copy the kernel");
    fs::copy(initramfs, root.join("initrd.img")).expect("copy the initramfs");
}

/// Everything the boots run in, and what failures quote. Dropped in this order: the files
/// kept, the server and dnsmasq killed, then the namespace deleted.
struct Lab {
    kept: Kept,
    server: TestServer,
    dnsmasq: Daemon,
    lan: Lan,
    disk: PathBuf,
    started: Instant,
}

impl Lab {
    fn api(&self, path: &str) -> Value {
        self.lan.get(&self.server.url(path))
    }

    fn configuration(&self) -> Value {
        self.api(&format!("/v1/hosts/{HOST}?status=false"))["configuration"]["name"].clone()
    }

    fn events(&self) -> Vec<Value> {
        let events = self.api(&format!("/v1/hosts/{HOST}/events?limit=1000"));
        events.as_array().expect("an array of events").clone()
    }

    /// Boots the VM once, its serial console in `serial-boot<n>.log`; fails unless it shows
    /// every one of `want` and none of `unwanted`. Returns the console.
    fn boot(&self, n: usize, limit: Duration, want: &[&str], unwanted: &[&str]) -> String {
        let log = self.kept.path(&format!("serial-boot{n}.log"));
        let mut qemu = self.lan.command("qemu-system-x86_64");
        qemu.args(["-accel", "tcg", "-m", "256", "-smp", "1"])
            .args(["-nographic", "-no-reboot", "-monitor", "none"])
            .args(["-name", "pxe-pilot-e2e-tftp-vm", "-boot", "order=nc"])
            .arg("-drive")
            .arg(format!("file={},format=raw,if=ide", self.disk.display()))
            .args(["-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no"])
            .args(["-device", &format!("virtio-net-pci,netdev=n0,mac={VM_MAC}")])
            .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        let last = *want.last().expect("a marker to wait for");
        let (end, took) = run_vm(&mut qemu, &log, limit, Some(last));
        let console = rejoined(&serial(&log));
        let fail = |why: String| -> ! {
            panic!(
                "boot {n} after {took:.1?} ({end:?}): {why}\n{}\n{}\n{}",
                log_tail(&log, 40),
                log_tail(self.server.log_file(), 20),
                self.dnsmasq.log_tail()
            )
        };
        if matches!(end, VmEnd::TimedOut) {
            fail(format!("QEMU was killed at the hard limit of {limit:?}"));
        }
        if console.contains(MARK_FAIL) {
            fail("PXELINUX fell back to pxelinux.cfg/default: no per-MAC entry".into());
        }
        for marker in want {
            if !console.contains(marker) {
                fail(format!("the serial console never showed {marker:?}"));
            }
        }
        for marker in unwanted {
            if console.contains(marker) {
                fail(format!("the serial console showed {marker:?}"));
            }
        }
        let marks = e2e::http::lines_with(
            &console,
            &["PXE-PILOT-E2E", "iPXE 1.", "PXELINUX 6", "Booting from"],
        );
        eprintln!(
            "[{:6.1?}] boot {n} took {took:.1?}:\n  {}",
            self.started.elapsed(),
            marks.join("\n  ")
        );
        console
    }
}

/// What the VM and its installer need.
pub fn needs() -> Vec<Need> {
    e2e::initramfs::installer_needs(
        vec![
            Need::Root,
            Need::Command("ip", "iproute2"),
            Need::Command("dnsmasq", "dnsmasq-base"),
            Need::Command("curl", "curl"),
            Need::Command("gzip", "gzip"),
            Need::Command("qemu-system-x86_64", "qemu-system-x86"),
            Need::File("/dev/net/tun", ""),
            Need::File(vm::IPXE_ROM, "ipxe-qemu"),
            Need::File(vm::PXELINUX, "pxelinux"),
            Need::File(
                "/usr/lib/syslinux/modules/bios/ldlinux.c32",
                "syslinux-common",
            ),
        ],
        "a static busybox",
    )
}

pub fn a_vm_boots_over_pxe_pilot_s_own_tftp_the_installer_once_then_its_disk() {
    let started = Instant::now();
    let installer = e2e::initramfs::installer();

    let artifacts = Artifacts::new("tftp-pxe-boot");
    let dir = tempfile::Builder::new()
        .prefix("e2e-tftp-pxe-boot")
        .tempdir()
        .expect("a temporary folder");
    let initramfs = dir.path().join("initrd.img.gz");
    e2e::http::build_initramfs(&installer, &dir.path().join("stage"), &initramfs);
    let tftp = dir.path().join("tftp");
    tftp_root(&tftp, &installer.kernel.vmlinuz, &initramfs);
    let disk = dir.path().join("disk.img");
    vm::write_disk(&disk, DISK_MARKER);
    let state = dir.path().join("state");
    fs::create_dir_all(&state).expect("create the state folder");
    let config = dir.path().join("pxe-pilot.yml");
    fs::write(
        &config,
        format!(
            "hosts:\n  - name: {HOST}\n    mac_addresses: [\"{VM_MAC}\"]\n\
             tftp:\n  root: {}\n  serve: {SUBNET}.1:69\n\
             configuration:\n  directory: {}\nstate_dir: {}\n",
            tftp.display(),
            tftp.join("pxelinux.cfg/conf").display(),
            state.display()
        ),
    )
    .expect("write the server's configuration");

    let lan = Lan::new();
    let mut dnsmasq = Daemon::spawn(
        "dnsmasq",
        lan.command(e2e::find_command("dnsmasq").expect("dnsmasq"))
            .args(["--keep-in-foreground", "--log-facility=-", "--log-dhcp"])
            .args(["--conf-file=/dev/null", "--port=0", "--user=root"])
            .args(["--interface=br0", "--bind-interfaces", "--pid-file"])
            .arg(format!(
                "--dhcp-leasefile={}",
                dir.path().join("leases").display()
            ))
            .arg(format!(
                "--dhcp-range={SUBNET}.100,{SUBNET}.150,255.255.255.0,1h"
            ))
            .arg(format!("--dhcp-boot=pxelinux.0,,{SUBNET}.1")),
        &artifacts.path("dnsmasq.log"),
    );
    let ready = wait_until(Duration::from_secs(10), || {
        fs::read_to_string(artifacts.path("dnsmasq.log"))
            .is_ok_and(|log| log.contains("DHCP, IP range"))
    });
    assert!(
        ready.is_some() && dnsmasq.is_running(),
        "dnsmasq did not start:\n{}",
        dnsmasq.log_tail()
    );
    let server = TestServer::builder()
        .config(&config)
        .wrapped_in(["ip", "netns", "exec", &lan.name])
        .log_file(artifacts.path("server.log"))
        .env("RUST_LOG", "info")
        .timeout(Duration::from_secs(30))
        .start();
    let tftp_at = format!("serving the TFTP root over TFTP on {SUBNET}.1:69");
    assert!(
        wait_until(Duration::from_secs(10), || server.logs().contains(&tftp_at)).is_some(),
        "the server does not serve TFTP on {SUBNET}.1:69:\n{}",
        log_tail(server.log_file(), 20)
    );
    let kept = Kept {
        dir: dir.path().to_path_buf(),
        names: vec!["serial-boot1.log", "serial-boot2.log", "events.json"],
    };
    let lab = Lab {
        kept,
        server,
        dnsmasq,
        lan,
        disk,
        started,
    };
    eprintln!(
        "[{:6.1?}] namespace {}: dnsmasq (DHCP only) and pxe-pilot-server (HTTP {}, TFTP \
         {SUBNET}.1:69) on br0",
        lab.started.elapsed(),
        lab.lan.name,
        lab.server.base
    );

    // The installer, once: the CLI, inside the namespace.
    let (ok, out) = run_capture(
        lab.lan.command(binary("pxe-pilot")).args([
            "-s",
            &lab.server.base,
            "config",
            "deploy",
            "installer",
            HOST,
            "--once",
        ]),
        Duration::from_secs(30),
    );
    assert!(
        ok,
        "pxe-pilot config deploy installer {HOST} --once:\n{out}"
    );
    assert_eq!(lab.configuration(), "installer");
    let entry = tftp.join(pxelinux_entry(VM_MAC));
    assert_eq!(e2e::link_target(&entry), "conf/installer");

    // Boot 1: the installer, over pxe-pilot's TFTP; it powers off, no callback.
    lab.boot(
        1,
        INSTALLER_LIMIT,
        &[MARK_INSTALLER, MARK_INSTALLED],
        &[MARK_LOCAL, DISK_MARKER],
    );

    // Between the boots: the entry read was the host's boot, `once` fell back to local.
    let fell_back = wait_until(Duration::from_secs(10), || lab.configuration() == "local");
    assert!(
        fell_back.is_some(),
        "{HOST} is on {} after its installer boot, not local:\n{}",
        lab.configuration(),
        events_text(&lab.events())
    );
    assert_eq!(e2e::link_target(&entry), "conf/local");

    // Boot 2: the same VM again: PXELINUX reads `local`, the firmware boots the disk.
    lab.boot(
        2,
        LOCAL_LIMIT,
        &[MARK_LOCAL, DISK_MARKER],
        &[MARK_INSTALLER, MARK_INSTALLED],
    );

    // The record: deploy, boot (installer), once_fallback, boot (local); newest first.
    let boots = |events: &[Value]| events.iter().filter(|e| e["kind"] == "boot").count();
    wait_until(Duration::from_secs(10), || boots(&lab.events()) >= 2);
    let events = lab.events();
    fs::write(
        lab.kept.path("events.json"),
        serde_json::to_string_pretty(&events).expect("JSON") + "\n",
    )
    .expect("write events.json");
    let text = events_text(&events);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["boot", "once_fallback", "boot", "deploy"], "{text}");
    let (local, fallback, install) = (&events[0], &events[1], &events[2]);
    for (boot, to) in [(install, "installer"), (local, "local")] {
        assert!(
            boot["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("tftp")),
            "a boot over TFTP: {boot}"
        );
        assert_eq!(boot["to"], to, "{text}");
        assert_eq!(boot["mac"], VM_MAC, "{text}");
        assert!(boot.get("counted").is_none(), "the boot counted: {boot}");
        assert!(
            boot["peer"]
                .as_str()
                .is_some_and(|p| p.starts_with(&format!("{SUBNET}."))),
            "the VM's leased address: {boot}"
        );
    }
    assert_eq!(fallback["from"], "installer", "{text}");
    assert_eq!(fallback["to"], "local", "{text}");
    assert_eq!(events[3]["to"], "installer", "{text}");
    let host = lab.api(&format!("/v1/hosts/{HOST}?status=false"));
    assert_eq!(host["lastBoot"]["configuration"], "local", "{host}");
    assert!(host["lastBoot"]["time"].is_string(), "{host}");
    assert!(
        fs::read_to_string(artifacts.path("dnsmasq.log"))
            .unwrap_or_default()
            .contains(VM_MAC),
        "dnsmasq leased the VM its address"
    );
    eprintln!(
        "events of {HOST} (newest first):\n{text}\nlastBoot: {}",
        host["lastBoot"]
    );
    eprintln!(
        "e2e_tftp_pxe_boot: two boots in {:.1?}; serial consoles and events in {}",
        lab.started.elapsed(),
        lab.kept.dir.display()
    );
}
