//! End-to-end: a real network boot over HTTP only, no TFTP server at all. QEMU's user network
//! hands the VM's iPXE ROM (Debian's `ipxe-qemu`) the boot file
//! `http://10.0.2.2:PORT/boot.ipxe`; pxe-pilot's entry script chains to
//! `/v1/boot/ipxe/<mac>`, which answers the host's deployed iPXE configuration rendered for it,
//! or the hand-over (`exit`: next boot device). The kernel and the initramfs its script names
//! come from a plain HTTP file server (`busybox httpd`): pxe-pilot serves no kernel.
//!
//! One VM, host `vm1`, boots four times:
//! 1. `installer` (a template: kernel command line with `{{ host.name }}`, `{{ server.url }}`)
//!    is deployed: the initramfs prints its `/proc/cmdline` (the rendered name, the server URL
//!    as the VM reached it) and runs the static client `pxe-pilot config deploy local --self`:
//!    the host now leads to `local`;
//! 2. `local` is a PXELINUX configuration, so its HTTP fetch gets the hand-over: iPXE echoes
//!    pxe-pilot's line and exits, no kernel is fetched, SeaBIOS finds no bootable device;
//! 3. `pxe-pilot config deploy --once installer vm1`: the installer boots (its init does not
//!    call back: `pxe_pilot_callback=no`) and the server itself switches the host back to
//!    `local` right after the fetch (events `boot installer`, `once_fallback local`);
//! 4. the hand-over again.
//!
//! `lastBoot` of `GET /v1/hosts` follows. Serial logs and both servers' logs stay in
//! `target/e2e-artifacts/http-boot/`. Needs what `pxe_boot` needs, less PXELINUX; about
//! 50 s on two cores. Run alone with `cargo test --test e2e http_boot::`.

use crate::{common, e2e};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestServer;
use e2e::http::{lines_with, rejoined, run_vm, serial, FileServer, VmEnd};
use e2e::{cli, curl, link_target, log_tail, Artifacts, Need};
use serde_json::Value;

const HOST: &str = "vm1";
const VM_MAC: &str = "52:54:00:e2:48:01";
/// A host that never boots: nothing the VM does may touch it.
const BYSTANDER: (&str, &str) = ("vm2", "52:54:00:e2:48:02");

/// The iPXE ROM QEMU loads for virtio-net-pci (package `ipxe-qemu`).
const IPXE_ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";

/// Hard limits of one QEMU run (measured with TCG: 12-16 s for the installer, 9 s for a
/// hand-over).
const INSTALLER_LIMIT: Duration = Duration::from_secs(180);
const HAND_OVER_LIMIT: Duration = Duration::from_secs(90);

const MARK_CMDLINE: &str = "PXE-PILOT-E2E: cmdline:";
const MARK_CALLBACK: &str = "PXE-PILOT-E2E: callback rc=";
const MARK_NO_CALLBACK: &str = "PXE-PILOT-E2E: pxe_pilot_callback=no";
/// What the hand-over script of pxe-pilot echoes before `exit` (`${mac}` expanded by iPXE).
const HAND_OVER_ECHO: &str = "pxe-pilot: nothing to boot over the network for";
/// SeaBIOS, once iPXE has exited and no other device boots.
const NO_BOOTABLE_DEVICE: &str = "No bootable device";

/// The installer: an iPXE script template rendered by pxe-pilot for the host that asks.
fn installer(files_port: u16, callback: &str) -> String {
    format!(
        "#!ipxe\n\
         echo PXE-PILOT-E2E: ipxe/installer rendered for {{{{ host.name }}}} ({{{{ host.mac }}}})\n\
         kernel http://10.0.2.2:{files_port}/vmlinuz console=ttyS0 panic=1 quiet \
         pxe_pilot_host={{{{ host.name }}}} pxe_pilot_server={{{{ server.url }}}} \
         pxe_pilot_callback={callback}\n\
         initrd http://10.0.2.2:{files_port}/initrd.cpio.gz\n\
         boot\n"
    )
}

/// What a boot must show.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Boot {
    /// The installer, which calls back (`config deploy local --self`).
    InstallerCallingBack,
    /// The installer, told not to call back (the `--once` boot).
    InstallerOnce,
    /// pxe-pilot's hand-over: iPXE exits, no kernel.
    HandOver,
}

struct Lab {
    root: PathBuf,
    artifacts: Artifacts,
    server: TestServer,
    files: FileServer,
    started: Instant,
    /// Each boot's serial lines worth quoting.
    quoted: Vec<String>,
}

impl Lab {
    /// The configuration vm1's `pxelinux.cfg/01-<mac>` link leads to.
    fn deployed(&self) -> String {
        link_target(
            &self
                .root
                .join(format!("pxelinux.cfg/01-{}", VM_MAC.replace(':', "-"))),
        )
    }

    fn get(&self, path: &str) -> Value {
        let body = curl(&["-f", &self.server.url(path)]);
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// vm1 as `GET /v1/hosts` shows it.
    fn host(&self) -> Value {
        let hosts = self.get("/v1/hosts?status=false");
        hosts
            .as_array()
            .and_then(|hosts| hosts.iter().find(|h| h["name"] == HOST))
            .cloned()
            .unwrap_or_else(|| panic!("no {HOST} in {hosts}"))
    }

    /// `host`'s events, newest first, as `kind to` (`-` without a `to`).
    fn events(&self, host: &str) -> Vec<String> {
        self.get(&format!("/v1/hosts/{host}/events"))
            .as_array()
            .expect("a JSON array of events")
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["kind"].as_str().unwrap_or("?"),
                    e["to"].as_str().unwrap_or("-")
                )
            })
            .collect()
    }

    /// Boots the VM once; checks the serial console and the file server against `expect`.
    fn boot(&mut self, n: usize, expect: Boot) {
        let name = format!("boot{n}-{expect:?}").to_lowercase();
        let log = self.artifacts.path(&format!("{name}.serial.log"));
        let limit = match expect {
            Boot::HandOver => HAND_OVER_LIMIT,
            _ => INSTALLER_LIMIT,
        };
        let files_before = self.files.requests().len();
        let mut qemu = Command::new("qemu-system-x86_64");
        qemu.args(["-accel", "tcg", "-m", "256", "-smp", "1"])
            .args(["-nographic", "-no-reboot", "-monitor", "none"])
            // SeaBIOS: network first; with no bootable device, reboot after 1 s, which
            // -no-reboot turns into QEMU's exit.
            .args(["-boot", "order=n,reboot-timeout=1000"])
            .arg("-netdev")
            // No `tftp=`: QEMU's DHCP hands out an HTTP URL and there is no TFTP server.
            .arg(format!(
                "user,id=n0,bootfile=http://10.0.2.2:{}/boot.ipxe",
                self.server.port()
            ))
            .arg("-device")
            .arg(format!("virtio-net-pci,netdev=n0,mac={VM_MAC}"));
        let (ended, took) = run_vm(&mut qemu, &log, limit, None);
        let serial = rejoined(&serial(&log));
        let fetched: Vec<String> = self.files.requests()[files_before..].to_vec();
        let fail = |why: String| -> ! {
            panic!(
                "boot {n} ({expect:?}) after {took:.1?}: {why}\n{}\n{}\n{}",
                log_tail(&log, 40),
                log_tail(self.server.log_file(), 15),
                log_tail(self.files.log(), 10)
            )
        };
        if !matches!(ended, VmEnd::Exited(_)) {
            fail(format!(
                "QEMU did not end by itself within {limit:?} ({ended:?})"
            ));
        }
        if !serial.contains(&format!("/v1/boot/ipxe/{}", VM_MAC.replace(':', "-"))) {
            fail("iPXE never fetched /v1/boot/ipxe/<its mac> (the entry script's chain)".into());
        }
        match expect {
            Boot::InstallerCallingBack | Boot::InstallerOnce => {
                if !serial.contains(&format!(
                    "PXE-PILOT-E2E: ipxe/installer rendered for {HOST} ({VM_MAC})"
                )) {
                    fail("iPXE did not run the installer rendered for vm1".into());
                }
                if fetched != ["/vmlinuz", "/initrd.cpio.gz"] {
                    fail(format!(
                        "the file server served {fetched:?}, not the kernel then the initramfs"
                    ));
                }
                let Some(cmdline) = serial.lines().find(|l| l.contains(MARK_CMDLINE)) else {
                    fail("the initramfs never printed its /proc/cmdline".into());
                };
                for wanted in [
                    format!("pxe_pilot_host={HOST}"),
                    format!("pxe_pilot_server=http://10.0.2.2:{}", self.server.port()),
                ] {
                    if !cmdline.split_whitespace().any(|w| w == wanted) {
                        fail(format!("the kernel command line lacks {wanted}: {cmdline}"));
                    }
                }
                if serial.contains(HAND_OVER_ECHO) {
                    fail("the installer boot also got the hand-over".into());
                }
                if expect == Boot::InstallerCallingBack {
                    if !serial.contains(&format!("{MARK_CALLBACK}0")) {
                        fail(
                            "the callback `pxe-pilot config deploy local --self` did not exit 0"
                                .into(),
                        );
                    }
                } else if !serial.contains(MARK_NO_CALLBACK) || serial.contains(MARK_CALLBACK) {
                    fail("the --once installer had to boot without calling back".into());
                }
            }
            Boot::HandOver => {
                if !serial.contains(&format!("{HAND_OVER_ECHO} {VM_MAC}: next boot device")) {
                    fail("iPXE did not echo pxe-pilot's hand-over line".into());
                }
                if !fetched.is_empty() {
                    fail(format!(
                        "a hand-over must load no kernel; served {fetched:?}"
                    ));
                }
                if serial.contains("PXE-PILOT-E2E") || serial.contains("vmlinuz") {
                    fail("a kernel was loaded after the hand-over".into());
                }
                if !serial.contains(NO_BOOTABLE_DEVICE) {
                    fail(format!(
                        "after iPXE's exit SeaBIOS should find {NO_BOOTABLE_DEVICE:?}"
                    ));
                }
            }
        }
        let lines = lines_with(
            &serial,
            &[
                "iPXE 1.",
                "Filename:",
                "http://",
                "/v1/boot/",
                "boot.ipxe",
                "PXE-PILOT-E2E",
                "pxe-pilot:",
                NO_BOOTABLE_DEVICE,
                "reboot: Power down",
            ],
        );
        let text = format!(
            "boot {n} ({expect:?}) took {took:.1?} (test at {:.1?}); file server: {fetched:?}\n  {}",
            self.started.elapsed(),
            lines.join("\n  ")
        );
        e2e::loud(&text);
        self.quoted.push(text);
    }
}

/// What the VM and its installer need.
pub fn needs() -> Vec<Need> {
    e2e::initramfs::installer_needs(
        vec![
            Need::Command("qemu-system-x86_64", "qemu-system-x86"),
            Need::File(IPXE_ROM, "ipxe-qemu"),
            Need::Command("gzip", "gzip"),
            Need::Command("curl", "curl"),
        ],
        "a static busybox (its httpd serves the kernel)",
    )
}

pub fn a_vm_boots_over_http_only_installs_calls_back_then_hands_over_and_boots_once() {
    let started = Instant::now();
    let guest = e2e::initramfs::installer();

    let artifacts = Artifacts::new("http-boot");
    let dir = tempfile::tempdir().expect("a temporary folder");
    // The file server's folder: the kernel and the initramfs, nothing of pxe-pilot's.
    let www = dir.path().join("www");
    fs::create_dir_all(&www).expect("create the file server's folder");
    fs::copy(&guest.kernel.vmlinuz, www.join("vmlinuz")).expect("copy the kernel");
    e2e::http::build_initramfs(
        &guest,
        &dir.path().join("stage"),
        &www.join("initrd.cpio.gz"),
    );
    let files = FileServer::start(&guest.busybox, &www, &artifacts.path("httpd.log"));

    // pxe-pilot: a TFTP root that no TFTP server serves (the links live there), a catalogue
    // with a PXELINUX `local` and an iPXE `installer` fetched over HTTP.
    let root = dir.path().join("tftp");
    let conf = root.join("pxelinux.cfg/conf");
    fs::create_dir_all(conf.join("ipxe")).expect("create the catalogue");
    fs::create_dir_all(conf.join("pxelinux")).expect("create the catalogue");
    fs::write(
        conf.join("pxelinux/local"),
        "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n",
    )
    .expect("write pxelinux/local");
    fs::write(conf.join("ipxe/installer"), installer(files.port, "yes"))
        .expect("write ipxe/installer");
    let config = dir.path().join("pxe-pilot.yml");
    fs::write(
        &config,
        format!(
            "hosts:\n  - name: {HOST}\n    mac_addresses: [\"{VM_MAC}\"]\n\
             \x20 - name: {}\n    mac_addresses: [\"{}\"]\n\
             tftp:\n  root: {root}\n\
             configuration:\n  directory: {root}/pxelinux.cfg/conf\n  bootloaders:\n\
             \x20   - {{name: pxelinux, file: pxelinux.0}}\n\
             \x20   - {{name: ipxe, file: ipxe.efi, http: ipxe}}\n",
            BYSTANDER.0,
            BYSTANDER.1,
            root = root.display()
        ),
    )
    .expect("write the configuration file");
    let server = e2e::serve(&config, &artifacts);
    let mut lab = Lab {
        root,
        artifacts,
        server,
        files,
        started,
        quoted: Vec::new(),
    };
    // What the VM will be handed, checked from here first.
    let entry = curl(&["-f", &lab.server.url("/boot.ipxe")]);
    assert!(
        entry.contains("/v1/boot/ipxe/${mac:hexhyp}"),
        "the entry script: {entry}"
    );

    // Boot 1: the installer calls back.
    cli(&lab.server, &["config", "deploy", "installer", HOST]);
    assert_eq!(lab.deployed(), "conf/ipxe/installer");
    lab.boot(1, Boot::InstallerCallingBack);
    assert_eq!(
        lab.deployed(),
        "conf/pxelinux/local",
        "the installer's callback must deploy local"
    );
    assert_eq!(lab.host()["configuration"]["name"], "local");

    // Boot 2: local, over HTTP: the hand-over.
    lab.boot(2, Boot::HandOver);
    assert_eq!(lab.deployed(), "conf/pxelinux/local");

    // Boot 3: the installer once; this time its init does not call back: the server's `once`
    // must switch the host back to local by itself, right after the fetch.
    fs::write(
        lab.root.join("pxelinux.cfg/conf/ipxe/installer"),
        installer(lab.files.port, "no"),
    )
    .expect("rewrite ipxe/installer");
    cli(
        &lab.server,
        &["config", "deploy", "--once", "installer", HOST],
    );
    assert_eq!(lab.deployed(), "conf/ipxe/installer");
    lab.boot(3, Boot::InstallerOnce);
    assert_eq!(
        lab.deployed(),
        "conf/pxelinux/local",
        "after its one boot of installer the host leads to local"
    );
    let listed = cli(&lab.server, &["host", "list"]);
    let row = listed
        .lines()
        .find(|l| l.contains(&format!(" {HOST} ")))
        .unwrap_or_else(|| panic!("no {HOST} in `host list`:\n{listed}"));
    assert!(row.contains(" local "), "`host list` row of {HOST}: {row}");
    let host = lab.host();
    assert_eq!(host["configuration"]["name"], "local");
    assert_eq!(host["lastBoot"]["configuration"], "installer", "{host}");
    assert_eq!(host["lastBoot"]["bootloader"], "ipxe", "{host}");
    let events = lab.events(HOST);
    assert_eq!(
        events[..3],
        ["once_fallback local", "boot installer", "deploy installer"],
        "newest first: {events:?}"
    );

    // Boot 4: local again: the hand-over.
    lab.boot(4, Boot::HandOver);

    // lastBoot: the hand-over, which names no configuration.
    let host = lab.host();
    let last = &host["lastBoot"];
    assert_eq!(last["bootloader"], "ipxe", "{host}");
    assert!(last.get("configuration").is_none(), "{host}");
    assert!(
        last["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{host}"
    );
    let events = lab.events(HOST);
    let boots: Vec<&String> = events.iter().filter(|e| e.starts_with("boot ")).collect();
    assert_eq!(
        boots,
        ["boot -", "boot installer", "boot -", "boot installer"],
        "one boot event per fetch, newest first: {events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "once_fallback local")
            .count(),
        1,
        "{events:?}"
    );
    // Nothing touched the bystander.
    assert!(
        lab.events(BYSTANDER.0).is_empty(),
        "the bystander has events"
    );
    assert!(lab.server.is_running(), "the server died during the boots");

    let shown = cli(&lab.server, &["host", "events", HOST]);
    e2e::loud(&format!(
        "`pxe-pilot host events {HOST}` after the four boots:\n{shown}"
    ));
    fs::write(
        lab.artifacts.path("summary.txt"),
        format!(
            "{}\n\n`pxe-pilot host events {HOST}`:\n{shown}\nlastBoot: {last}\n",
            lab.quoted.join("\n\n")
        ),
    )
    .expect("write summary.txt");
    e2e::loud(&format!(
        "e2e_http_boot: four boots in {:.1?}",
        lab.started.elapsed()
    ));
}
