//! End-to-end: a real PXE boot under QEMU closes the install loop: a host boots the installer
//! deployed to it, whose last step deploys `local` to that host, so that it boots `local` next.
//!
//! One VM (iPXE ROM, PXELINUX from Debian, QEMU's user network and TFTP) whose MAC belongs to a
//! host of the configuration boots four times:
//! 1. its entry points at `installer` (deployed through the server): PXELINUX loads a Debian
//!    kernel and a busybox initramfs built here, which brings virtio-net up, runs the **static
//!    `pxe-pilot` binary** `config deploy local --self` against the server at `10.0.2.2`, and
//!    powers off;
//! 2. it boots `local` (a PXELINUX configuration that SAYs a marker and powers off): the loop
//!    is closed;
//! 3. the operator re-arms it with the CLI (`pxe-pilot config deploy installer HOST`): the
//!    installer runs again and calls back again;
//! 4. re-armed once more, the seed's exact `curl -X PUT .../configurations/local/deploy` (no
//!    `/v1`, form content type) switches it back: it boots `local`.
//!
//! `pxelinux.cfg/default` SAYs a FAIL marker: a missing or dangling entry falls back to it
//! silently. Every QEMU run is under a hard timeout; serial logs stay in
//! `target/e2e-artifacts/pxe-boot/` and their tail is in every failure message.
//!
//! Needs the Debian packages of docs/testing.md's end-to-end tier and the static CLI
//! (`cargo build -p pxe-pilot-cli --profile release-small --target x86_64-unknown-linux-musl`,
//! which `.ci/run` does first). Run alone with `cargo test --test e2e pxe_boot::`.

use crate::{common, e2e};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestServer;
use e2e::initramfs::{module_name, module_order, Kernel};
use e2e::{cli, curl, link_target, log_tail, printable, Artifacts, Ended, Need};

/// The VM's NIC: the *second* MAC of its host, so the per-MAC chain is exercised too.
const VM_MAC: &str = "52:54:00:e2:e0:02";
const NODE: (&str, &[&str]) = ("node1", &["52:54:00:e2:e0:01", VM_MAC]);
/// A host that never boots: nothing the VM does may touch its entry.
const BYSTANDER: (&str, &[&str]) = ("node2", &["52:54:00:e2:e0:10"]);

const MARK_INSTALLER: &str = "PXE-PILOT-E2E: boot=installer";
const MARK_LOCAL: &str = "PXE-PILOT-E2E: boot=local";
const MARK_FAIL: &str = "PXE-PILOT-E2E: boot=FAIL-default";
const MARK_CALLBACK: &str = "PXE-PILOT-E2E: callback rc=";

/// PXELINUX files taken from Debian's `pxelinux` and `syslinux-common`.
const PXELINUX: &str = "/usr/lib/PXELINUX/pxelinux.0";
const BIOS_MODULES: &str = "/usr/lib/syslinux/modules/bios";
const COM32: [&str; 4] = ["ldlinux.c32", "poweroff.c32", "libcom32.c32", "libutil.c32"];
/// The iPXE ROM QEMU loads for virtio-net-pci (package `ipxe-qemu`).
const IPXE_ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";

/// Hard limits of one QEMU run (measured with TCG: ~18 s for the installer, ~6 s for local).
const INSTALLER_LIMIT: Duration = Duration::from_secs(120);
const LOCAL_LIMIT: Duration = Duration::from_secs(60);

/// The TFTP root QEMU serves: PXELINUX, the kernel, the initramfs and the catalogue.
fn tftp_root(root: &Path, kernel: &Kernel, initramfs: &Path) {
    let conf = root.join("pxelinux.cfg/conf");
    fs::create_dir_all(&conf).expect("create the catalogue");
    fs::copy(PXELINUX, root.join("pxelinux.0")).expect("copy pxelinux.0");
    for module in COM32 {
        fs::copy(Path::new(BIOS_MODULES).join(module), root.join(module))
            .unwrap_or_else(|e| panic!("copy {module}: {e}"));
    }
    fs::copy(&kernel.vmlinuz, root.join("vmlinuz")).expect("copy the kernel");
    fs::copy(initramfs, root.join("initrd.img")).expect("copy the initramfs");
    // Rewritten once the server's port is known (the kernel command line carries its URL).
    fs::write(conf.join("installer"), installer_conf("http://10.0.2.2:0")).expect("conf");
    fs::write(
        conf.join("local"),
        format!(
            "SAY {MARK_LOCAL} (an installed host boots its disk here)\n\
             DEFAULT poweroff\nPROMPT 0\nLABEL poweroff\n  COM32 poweroff.c32\n"
        ),
    )
    .expect("write conf/local");
    fs::write(
        root.join("pxelinux.cfg/default"),
        format!(
            "SAY {MARK_FAIL}: no per-MAC entry (missing or dangling link)\n\
             DEFAULT poweroff\nPROMPT 0\nLABEL poweroff\n  COM32 poweroff.c32\n"
        ),
    )
    .expect("write pxelinux.cfg/default");
}

fn installer_conf(server_url: &str) -> String {
    format!(
        "SAY {MARK_INSTALLER}\nDEFAULT install\nPROMPT 0\nLABEL install\n  KERNEL vmlinuz\n  \
         INITRD initrd.img\n  APPEND console=ttyS0 panic=1 quiet pxe_pilot_server={server_url}\n"
    )
}

/// What a boot must show.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Boot {
    /// PXELINUX loaded `installer`; the initramfs called back successfully.
    Installer,
    /// PXELINUX loaded `local`.
    Local,
}

/// The VM, the world it boots in, and what the test keeps.
struct Lab {
    root: PathBuf,
    artifacts: Artifacts,
    server: TestServer,
    started: Instant,
}

impl Lab {
    /// `pxelinux.cfg/01-<mac>` in the TFTP root.
    fn entry(&self, mac: &str) -> PathBuf {
        self.root
            .join(format!("pxelinux.cfg/01-{}", mac.replace(':', "-")))
    }

    /// The configuration NODE's first MAC points at (the rest chain to it).
    fn deployed(&self) -> String {
        let first = link_target(&self.entry(NODE.1[0]));
        let chained = link_target(&self.entry(VM_MAC));
        assert_eq!(
            chained,
            format!("01-{}", NODE.1[0].replace(':', "-")),
            "the VM's MAC must chain to the host's first MAC's entry"
        );
        first
    }

    /// Boots the VM once and checks the serial console shows `expect`; prints its marker
    /// lines (seen with `--nocapture`).
    fn boot(&self, n: usize, expect: Boot) {
        let name = format!("boot{n}-{expect:?}").to_lowercase();
        let log = self.artifacts.path(&format!("{name}.serial.log"));
        let limit = match expect {
            Boot::Installer => INSTALLER_LIMIT,
            Boot::Local => LOCAL_LIMIT,
        };
        let mut qemu = Command::new("qemu-system-x86_64");
        qemu.args(["-accel", "tcg", "-m", "256", "-smp", "1"])
            .args(["-nographic", "-no-reboot", "-monitor", "none", "-boot", "n"])
            .arg("-netdev")
            .arg(format!(
                "user,id=n0,tftp={},bootfile=pxelinux.0",
                self.root.display()
            ))
            .arg("-device")
            .arg(format!("virtio-net-pci,netdev=n0,mac={VM_MAC}"));
        let (ended, took) = e2e::run_bounded(&mut qemu, &log, limit);
        let serial = printable(&fs::read_to_string(&log).unwrap_or_default());
        let marks: Vec<String> = serial
            .lines()
            .filter(|l| {
                l.contains("PXE-PILOT-E2E") || l.contains("Power down") || l.contains(NODE.0)
            })
            .map(|l| l.trim().to_string())
            .collect();
        let fail = |why: String| -> ! {
            panic!(
                "boot {n} ({expect:?}) after {took:.1?}: {why}\n{}\n{}",
                log_tail(&log, 40),
                log_tail(self.server.log_file(), 15)
            )
        };
        if matches!(ended, Ended::TimedOut) {
            fail(format!("QEMU was killed at the hard timeout of {limit:?}"));
        }
        if serial.contains(MARK_FAIL) {
            fail("PXELINUX fell back to pxelinux.cfg/default: the per-MAC entry was missing or dangling".into());
        }
        let (wanted, unwanted) = match expect {
            Boot::Installer => (MARK_INSTALLER, MARK_LOCAL),
            Boot::Local => (MARK_LOCAL, MARK_INSTALLER),
        };
        if !serial.contains(wanted) {
            fail(format!("the serial console never showed {wanted:?}"));
        }
        if serial.contains(unwanted) {
            fail(format!("the serial console showed {unwanted:?}"));
        }
        if expect == Boot::Installer && !serial.contains(&format!("{MARK_CALLBACK}0")) {
            fail(
                "the installer's callback `pxe-pilot config deploy local --self` did not exit 0"
                    .into(),
            );
        }
        eprintln!(
            "boot {n} ({expect:?}) took {took:.1?} (test at {:.1?}):\n  {}",
            self.started.elapsed(),
            marks.join("\n  ")
        );
    }
}

/// What the VM and its installer need.
pub fn needs() -> Vec<Need> {
    e2e::initramfs::installer_needs(
        vec![
            Need::Command("qemu-system-x86_64", "qemu-system-x86"),
            Need::File(IPXE_ROM, "ipxe-qemu"),
            Need::File(PXELINUX, "pxelinux"),
            Need::File(
                "/usr/lib/syslinux/modules/bios/poweroff.c32",
                "syslinux-common",
            ),
            Need::Command("curl", "curl"),
        ],
        "a static busybox",
    )
}

pub fn a_vm_pxe_boots_the_installer_calls_back_and_then_boots_local() {
    let started = Instant::now();
    let installer = e2e::initramfs::installer();

    let artifacts = Artifacts::new("pxe-boot");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let initramfs = dir.path().join("initrd.img");
    installer.build_initramfs(
        &dir.path().join("stage"),
        &initramfs,
        include_bytes!("harness/init.sh"),
    );
    let root = dir.path().join("tftp");
    tftp_root(&root, &installer.kernel, &initramfs);
    let config = dir.path().join("pxe-pilot.yml");
    e2e::write_server_config(&config, &root, &[NODE, BYSTANDER]);
    let server = e2e::serve(&config, &artifacts);
    // The guest reaches the host's 127.0.0.1 as 10.0.2.2 (QEMU user networking).
    fs::write(
        root.join("pxelinux.cfg/conf/installer"),
        installer_conf(&format!("http://10.0.2.2:{}", server.port())),
    )
    .expect("write conf/installer");
    let mut lab = Lab {
        root,
        artifacts,
        server,
        started,
    };

    // Boot 1: the installer, deployed through the API (/v1, JSON, by host name).
    curl(&[
        "-f",
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/json",
        &format!("{}/v1/configurations/installer/deploy", lab.server.base),
        "-d",
        r#"{"hosts":[{"name":"node1"}]}"#,
    ]);
    assert_eq!(lab.deployed(), "conf/installer");
    lab.boot(1, Boot::Installer);
    assert_eq!(
        lab.deployed(),
        "conf/local",
        "the installer's callback must deploy local"
    );

    // Boot 2: the loop is closed.
    lab.boot(2, Boot::Local);

    // Boot 3: the operator re-arms the installer from the host side with the CLI.
    cli(&lab.server, &["config", "deploy", "installer", NODE.0]);
    assert_eq!(lab.deployed(), "conf/installer");
    lab.boot(3, Boot::Installer);
    assert_eq!(lab.deployed(), "conf/local");

    // Boot 4: re-armed once more, the seed's exact curl (the original's use case, as in the
    // README: no /v1, form content type, by MAC) switches it back to local.
    cli(&lab.server, &["config", "deploy", "installer", NODE.0]);
    assert_eq!(lab.deployed(), "conf/installer");
    let body = format!(r#"{{"hosts":[{{"macAddress":"{VM_MAC}"}}]}}"#);
    let answer = curl(&[
        "-X",
        "PUT",
        &format!(
            "http://127.0.0.1:{}/configurations/local/deploy",
            lab.server.port()
        ),
        "-d",
        &body,
    ]);
    assert!(answer.contains("local"), "the seed's curl got {answer:?}");
    assert_eq!(lab.deployed(), "conf/local");
    lab.boot(4, Boot::Local);

    // Nothing touched the host that never booted, and the server is still up.
    assert!(
        fs::symlink_metadata(lab.entry(BYSTANDER.1[0])).is_err(),
        "the bystander host got an entry"
    );
    assert!(lab.server.is_running(), "the server died during the boots");
    eprintln!("e2e_pxe_boot: four boots in {:.1?}", lab.started.elapsed());
}

pub fn modules_dep_order_puts_dependencies_first() {
    let dep = "kernel/drivers/virtio/virtio_pci.ko.xz: kernel/drivers/virtio/virtio_pci_legacy_dev.ko.xz kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz kernel/drivers/virtio/virtio.ko.xz kernel/drivers/virtio/virtio_ring.ko.xz
kernel/drivers/virtio/virtio_ring.ko.xz:
kernel/drivers/virtio/virtio.ko.xz:
kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko.xz:
kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz kernel/drivers/virtio/virtio.ko.xz kernel/drivers/virtio/virtio_ring.ko.xz
kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz
kernel/net/core/failover.ko.xz:
";
    let order = module_order(dep, &["virtio_pci", "virtio_net"]).expect("both are listed");
    let names: Vec<&str> = order.iter().map(|p| module_name(p)).collect();
    assert_eq!(
        names,
        [
            "virtio_ring",
            "virtio",
            "virtio_pci_modern_dev",
            "virtio_pci_legacy_dev",
            "virtio_pci",
            "failover",
            "net_failover",
            "virtio_net",
        ]
    );
}
