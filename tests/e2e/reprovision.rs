//! End-to-end: THE hands-free reprovision loop of DESIGN §6 on a disk-first VM behind a real
//! IPMI BMC emulator, with a secured server.
//!
//! The machine: a QEMU (TCG) VM whose disk boots first, its BMC OpenIPMI's `ipmi_sim`, whose
//! `chassis_control` program (`tests/e2e/bmc/vm_control.sh`) IS the VM's power: power on
//! starts QEMU with `-boot order=c`, or `-boot order=c,once=n` (QEMU's own "network boot once")
//! when `chassis bootdev pxe` was stored; a reset restarts it; power off stops it. The disk is a
//! hand-assembled boot sector that prints `PXE-PILOT-E2E: boot=disk` and halts (the power
//! stays on, like a real server's). The network boot is QEMU's user network: its DHCP and TFTP
//! serve PXELINUX and the catalogue of pxe-pilot's TFTP root.
//!
//! The server has a token and `self_service: [local]`. The loop:
//! 1. the operator powers the host on (`--token-file`): it boots its disk;
//! 2. `pxe-pilot --token-file T config deploy installer vm1 --now`: the server tells the BMC
//!    `chassis bootdev pxe` (real `ipmitool`), then `power reset`;
//! 3. the VM boots from the network, once: iPXE, PXELINUX, `pxelinux.cfg/01-<mac>` ->
//!    `conf/installer`, a Debian kernel and a busybox initramfs whose `/init`
//!    (`tests/e2e/bmc/installer-init.sh`) runs the STATIC client
//!    `pxe-pilot -s http://10.0.2.2:PORT config deploy local --self` WITHOUT any token (the
//!    self-service callback), then reboots;
//! 4. the next boot is from the disk, and the host's entry leads to `local`;
//! 5. a later BMC reset boots the disk again: the network boot was once.
//!
//! One thing is not the kernel's: under QEMU's user networking the guest's connections reach
//! the server from 127.0.0.1 (the NAT), which no neighbour table maps to a MAC. The server's
//! `arp_table` is therefore a file in `/proc/net/arp` format mapping 127.0.0.1 to the VM's
//! MAC, what the kernel's table would say on the host's layer-2 segment. The kernel's own
//! table is exercised by `tests/e2e/self_service.rs`, in network namespaces.
//!
//! The serial console is split into boots and printed (run with `--nocapture` to see it); logs
//! stay in `target/e2e-artifacts/reprovision/` (`vm/serial.log`, `vm/chassis.log`,
//! `server.log`, `boots.txt`). Needs the packages of `pxe_boot`, `openipmi` and `ipmitool`,
//! and the static client (`cargo build -p pxe-pilot-cli --profile release-small --target
//! x86_64-unknown-linux-musl`). Run alone with `cargo test --test e2e reprovision::`.

use crate::{bmc, common, e2e};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bmc::vm::{self, Boot, DISK_MARKER};
use bmc::{has_event, host_events, http, wait_until, IpmiSim};
use common::{binary, TestServer};
use e2e::initramfs::Kernel;
use e2e::{link_target, log_tail, run_capture, Artifacts, Need};

const VM_MAC: &str = "52:54:00:e2:c0:01";
const HOST: &str = "vm1";
const USER: &str = "admin";
const BMC_PASSWORD: &str = "Vm-e2e-bmc-s3cret";
const TOKEN: &str = "e2e-reprovision-admin-token-7d1c";

const MARK_INSTALLER: &str = "PXE-PILOT-E2E: boot=installer";
const MARK_LOCAL: &str = "PXE-PILOT-E2E: boot=local";
const MARK_FAIL: &str = "PXE-PILOT-E2E: boot=FAIL-default";
const MARK_CALLBACK: &str = "PXE-PILOT-E2E: callback rc=";

/// Hard limits (TCG: a disk boot takes ~0.2 s, the installer's network boot ~20 s).
const DISK_LIMIT: Duration = Duration::from_secs(30);
const INSTALLER_LIMIT: Duration = Duration::from_secs(180);

/// The TFTP root: PXELINUX, the installer's kernel and initramfs, the catalogue.
fn tftp_root(root: &Path, kernel: &Kernel, initramfs: &Path) {
    let conf = root.join("pxelinux.cfg/conf");
    fs::create_dir_all(&conf).expect("create the catalogue");
    fs::copy(vm::PXELINUX, root.join("pxelinux.0")).expect("copy pxelinux.0");
    fs::copy(
        Path::new(vm::BIOS_MODULES).join("ldlinux.c32"),
        root.join("ldlinux.c32"),
    )
    .expect("copy ldlinux.c32");
    fs::copy(&kernel.vmlinuz, root.join("vmlinuz")).expect("copy the kernel");
    fs::copy(initramfs, root.join("initrd.img")).expect("copy the initramfs");
    fs::write(
        conf.join("local"),
        format!(
            "SAY {MARK_LOCAL} (PXELINUX hands over to the disk)\n\
             DEFAULT local\nPROMPT 0\nTIMEOUT 0\nLABEL local\n  LOCALBOOT 0\n"
        ),
    )
    .expect("write conf/local");
    fs::write(
        root.join("pxelinux.cfg/default"),
        format!(
            "SAY {MARK_FAIL}: no per-MAC entry (missing or dangling link)\n\
             DEFAULT local\nPROMPT 0\nTIMEOUT 0\nLABEL local\n  LOCALBOOT 0\n"
        ),
    )
    .expect("write pxelinux.cfg/default");
}

fn installer_conf(server_url: &str) -> String {
    format!(
        "SAY {MARK_INSTALLER}\nDEFAULT install\nPROMPT 0\nTIMEOUT 0\nLABEL install\n  \
         KERNEL vmlinuz\n  INITRD initrd.img\n  \
         APPEND console=ttyS0 panic=1 quiet pxe_pilot_server={server_url}\n"
    )
}

/// The VM's QEMU, stopped on drop even when the test fails: through the BMC's own program
/// (`set power 0`), then by the process id it recorded if QEMU is still there.
struct VmGuard {
    dir: PathBuf,
}

impl Drop for VmGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new(self.dir.join("chassis_control"))
            .arg(&self.dir)
            .args(["set", "power", "0"])
            .status();
        if let Ok(pid) = fs::read_to_string(self.dir.join("qemu.pid")) {
            let pid = pid.trim();
            let ours = fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c).contains(&*self.dir.join("disk.img").to_string_lossy())
            });
            if ours {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", pid])
                    .status();
            }
        }
    }
}

struct Lab {
    server: TestServer,
    bmc: IpmiSim,
    vm_dir: PathBuf,
    tftp: PathBuf,
    token_file: PathBuf,
    artifacts: Artifacts,
    started: Instant,
}

impl Lab {
    fn serial(&self) -> String {
        String::from_utf8_lossy(&fs::read(self.vm_dir.join("serial.log")).unwrap_or_default())
            .into_owned()
    }

    fn boots(&self) -> Vec<Boot> {
        vm::boots(&self.serial())
    }

    /// `pxe-pilot --token-file T ARGS` (the operator); its output, failing the test unless 0.
    fn operator(&self, args: &[&str]) -> String {
        let mut command = std::process::Command::new(binary("pxe-pilot"));
        command
            .arg("-s")
            .arg(&self.server.base)
            .arg("--token-file")
            .arg(&self.token_file)
            .args(args);
        let (ok, out) = run_capture(&mut command, Duration::from_secs(60));
        assert!(
            ok,
            "`pxe-pilot --token-file ... {}` failed:\n{out}\n{}",
            args.join(" "),
            self.context()
        );
        out
    }

    /// What a failure message quotes: the serial console, the BMC's calls, the server's log.
    fn context(&self) -> String {
        format!(
            "{}\n{}\n{}",
            log_tail(&self.vm_dir.join("serial.log"), 40),
            log_tail(&self.vm_dir.join("chassis.log"), 20),
            log_tail(self.server.log_file(), 20)
        )
    }

    /// Waits until boot number `index` (0-based) exists and `done` holds for it.
    fn wait_boot(&self, index: usize, limit: Duration, what: &str, done: impl Fn(&Boot) -> bool) {
        let took = wait_until(limit, || {
            self.boots().get(index).is_some_and(&done) || self.serial().contains(MARK_FAIL)
        });
        let boots = self.boots();
        if self.serial().contains(MARK_FAIL) {
            panic!(
                "PXELINUX fell back to pxelinux.cfg/default: the per-MAC entry was missing or \
                 dangling\n{}",
                self.context()
            );
        }
        assert!(
            took.is_some(),
            "boot {} never showed {what} within {limit:?} ({} boots so far)\n{}",
            index + 1,
            boots.len(),
            self.context()
        );
        eprintln!(
            "[{:6.1?}] boot {}: {what} (after {:.1?})",
            self.started.elapsed(),
            index + 1,
            took.unwrap_or_default()
        );
    }

    /// `pxelinux.cfg/01-<mac>` of the VM's NIC.
    fn deployed(&self) -> String {
        link_target(
            &self
                .tftp
                .join(format!("pxelinux.cfg/01-{}", VM_MAC.replace(':', "-"))),
        )
    }
}

/// What the VM and its installer need.
pub fn needs() -> Vec<Need> {
    e2e::initramfs::installer_needs(
        vec![
            Need::Command("qemu-system-x86_64", "qemu-system-x86"),
            Need::File(vm::IPXE_ROM, "ipxe-qemu"),
            Need::File(vm::PXELINUX, "pxelinux"),
            Need::File(
                "/usr/lib/syslinux/modules/bios/ldlinux.c32",
                "syslinux-common",
            ),
            Need::Command("ipmi_sim", "openipmi"),
            Need::Command("ipmitool", "ipmitool"),
            Need::Command("curl", "curl"),
        ],
        "a static busybox",
    )
}

pub fn deploy_now_network_boots_once_the_installer_calls_back_and_the_disk_boots_next() {
    let started = Instant::now();
    let installer = e2e::initramfs::installer();

    let artifacts = Artifacts::new("reprovision");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let initramfs = dir.path().join("initrd.img");
    installer.build_initramfs(&dir.path().join("stage"), &initramfs, vm::INSTALLER_INIT);
    let tftp = dir.path().join("tftp");
    tftp_root(&tftp, &installer.kernel, &initramfs);

    // The machine: its disk, and its BMC whose chassis_control powers QEMU.
    let vm_dir = artifacts.path("vm");
    fs::create_dir_all(&vm_dir).expect("create the VM's folder");
    vm::write_disk(&vm_dir.join("disk.img"), DISK_MARKER);
    fs::write(
        vm_dir.join("vm.env"),
        format!(
            "VM_TFTP='{}'\nVM_MAC='{VM_MAC}'\nVM_MEM='256'\nVM_DISK_END='halt'\n",
            tftp.display()
        ),
    )
    .expect("write vm.env");
    fs::write(vm_dir.join("serial.log"), "").expect("create serial.log");
    let guard = VmGuard {
        dir: vm_dir.clone(),
    };
    let bmc = IpmiSim::start(&vm_dir, bmc::VM_CONTROL, USER, BMC_PASSWORD);

    // The server: a token, self-service of `local`, the NAT's address mapped to the VM's MAC.
    let state = dir.path().join("state");
    fs::create_dir_all(&state).expect("create the state folder");
    let arp = dir.path().join("arp");
    fs::write(
        &arp,
        format!(
            "IP address       HW type     Flags       HW address            Mask     Device\n\
             127.0.0.1        0x1         0x2         {VM_MAC}     *        lo\n"
        ),
    )
    .expect("write the neighbour table");
    let config = dir.path().join("pxe-pilot.yml");
    fs::write(
        &config,
        format!(
            "hosts:\n  - name: {HOST}\n    mac_addresses: [\"{VM_MAC}\"]\n    ipmi:\n      \
             hostname: 127.0.0.1\n      username: {USER}\n      password: \"{BMC_PASSWORD}\"\n      \
             interface: lanplus\n      port: {}\n      cipher_suite: 3\n\
             tftp:\n  root: {}\nconfiguration:\n  directory: {}\n\
             server:\n  token: \"{TOKEN}\"\n  self_service: [local]\n\
             arp_table: {}\npower:\n  status_ttl: 0\n  status_wait: 20\nstate_dir: {}\n",
            bmc.port,
            tftp.display(),
            tftp.join("pxelinux.cfg/conf").display(),
            arp.display(),
            state.display()
        ),
    )
    .expect("write the server's configuration");
    let server = TestServer::builder()
        .config(&config)
        .log_file(artifacts.path("server.log"))
        .env("RUST_LOG", "info")
        .timeout(Duration::from_secs(30))
        .start();
    // The guest reaches the host's 127.0.0.1 as 10.0.2.2 (QEMU user networking).
    fs::write(
        tftp.join("pxelinux.cfg/conf/installer"),
        installer_conf(&format!("http://10.0.2.2:{}", server.port())),
    )
    .expect("write conf/installer");
    let token_file = dir.path().join("token");
    fs::write(&token_file, format!("{TOKEN}\n")).expect("write the token file");
    let lab = Lab {
        server,
        bmc,
        vm_dir,
        tftp,
        token_file,
        artifacts,
        started,
    };
    eprintln!(
        "[{:6.1?}] BMC (ipmi_sim) on UDP {}, server on {} (token, self_service: [local])",
        started.elapsed(),
        lab.bmc.port,
        lab.server.base
    );

    // 1. The host is installed and runs: power on through pxe-pilot, it boots its disk.
    lab.operator(&["config", "deploy", "local", HOST]);
    lab.operator(&["host", "on", HOST]);
    lab.wait_boot(0, DISK_LIMIT, "the disk (power on)", Boot::disk);

    // 2. Reprovision: network boot once + reset through the BMC.
    lab.bmc.clear_calls();
    let out = lab.operator(&["config", "deploy", "installer", HOST, "--now"]);
    eprintln!(
        "[{:6.1?}] pxe-pilot --token-file ... config deploy installer {HOST} --now\n{out}",
        lab.started.elapsed()
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("| ") && l.contains(&format!("| {HOST} ")))
        .unwrap_or_else(|| panic!("no row for {HOST}:\n{out}"));
    assert!(
        row.contains(" installer ") && row.contains(" YES ") && row.contains(" ONCE "),
        "deploy --now must answer rebooted YES and netboot ONCE:\n{out}"
    );
    let calls = lab.bmc.chassis_changes();
    assert!(
        calls.first().map(String::as_str) == Some("set boot pxe")
            && calls.iter().any(|c| c == "set reset 1"),
        "the BMC must get `set boot pxe`, then the reset: {calls:?}"
    );
    assert_eq!(lab.deployed(), "conf/installer");

    // 3. The network boot, once: the installer calls back without the token, then reboots.
    lab.wait_boot(1, INSTALLER_LIMIT, "the installer's callback", |b| {
        b.shows(MARK_CALLBACK)
    });
    let boots = lab.boots();
    let install = &boots[1];
    assert!(
        install.network() && install.shows(MARK_INSTALLER),
        "boot 2 must be the network boot of the installer:\n{}",
        lab.context()
    );
    assert!(
        install.lines[0].contains("order=c,once=n"),
        "the BMC must have started the VM for a network boot once: {:?}",
        install.lines[0]
    );
    assert!(
        install.shows(&format!("{MARK_CALLBACK}0")),
        "the static client's `config deploy local --self` (no token) must exit 0:\n{}",
        lab.context()
    );
    assert!(!install.disk(), "the network boot must not reach the disk");
    assert_eq!(
        lab.deployed(),
        "conf/local",
        "the self-service callback must switch the host to local"
    );

    // 4. The installer's reboot: the disk, not the network (the BMC's boot device was once).
    lab.wait_boot(
        2,
        DISK_LIMIT,
        "the disk (the installer's reboot)",
        Boot::disk,
    );
    let boots = lab.boots();
    assert!(
        !boots[2].network(),
        "the boot after the install must not be a network boot:\n{}",
        lab.context()
    );

    // 5. A later reset through the BMC: the disk again.
    lab.bmc.clear_calls();
    lab.operator(&["host", "reboot", HOST]);
    assert_eq!(
        lab.bmc.chassis_changes().first().map(String::as_str),
        Some("set reset 1")
    );
    lab.wait_boot(3, DISK_LIMIT, "the disk (BMC reset)", Boot::disk);
    let boots = lab.boots();
    assert!(!boots[3].network() && boots[3].lines[0].contains("-boot order=c "));
    lab.operator(&["host", "off", HOST]);
    let off = wait_until(Duration::from_secs(10), || {
        lab.bmc
            .ipmitool(&["power", "status"])
            .1
            .contains("Chassis Power is off")
    });
    assert!(off.is_some(), "the VM must be off:\n{}", lab.context());

    // The record: deploy (token), netboot once, power reboot, the self-service callback.
    let events = host_events(&lab.server.base, HOST);
    let text = bmc::events_text(&events);
    assert!(
        events.iter().any(|e| e["kind"] == "deploy"
            && e["who"] == "token"
            && e["to"] == "installer"
            && e["result"] == "ok"),
        "no deploy of installer by the token:\n{text}"
    );
    assert!(
        has_event(&events, "netboot", "token", Some("once")),
        "no netboot once:\n{text}"
    );
    assert!(
        has_event(&events, "power", "token", Some("reboot")),
        "no power reboot:\n{text}"
    );
    let callback = events
        .iter()
        .find(|e| e["kind"] == "self_service")
        .unwrap_or_else(|| panic!("no self_service event:\n{text}"));
    assert_eq!(callback["who"], "self", "{text}");
    assert_eq!(callback["to"], "local", "{text}");
    assert_eq!(callback["from"], "installer", "{text}");
    assert_eq!(callback["result"], "ok", "{text}");
    let (_, all) = http("GET", &lab.server.url("/v1/events?limit=1000"), &[], None);
    assert!(!all.contains(TOKEN) && !all.contains(BMC_PASSWORD));
    assert!(!lab.server.logs().contains(TOKEN) && !lab.server.logs().contains(BMC_PASSWORD));

    // The serial console, boot by boot (quoted in the closing note).
    let mut report = String::new();
    for (n, boot) in lab.boots().iter().enumerate() {
        let kind = match (boot.network(), boot.disk()) {
            (true, false) => "NETWORK (PXE once: iPXE -> PXELINUX -> installer)",
            (false, true) => "DISK",
            (true, true) => "NETWORK then DISK",
            (false, false) => "neither",
        };
        report.push_str(&format!("--- boot {}: {kind}\n", n + 1));
        for line in boot.milestones() {
            report.push_str(&format!("    {line}\n"));
        }
    }
    fs::write(lab.artifacts.path("boots.txt"), &report).expect("write boots.txt");
    eprintln!("serial console of vm1, boot by boot:\n{report}");
    eprintln!("events of {HOST} (newest first):\n{text}");
    eprintln!(
        "e2e_reprovision: the loop closed in {:.1?}",
        lab.started.elapsed()
    );
    drop(lab);
    drop(guard);
}
