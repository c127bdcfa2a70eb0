//! End-to-end: a real GRUB 2 look-up of the per-MAC entry pxe-pilot writes. A QEMU VM with
//! UEFI firmware (OVMF, TCG) PXE-boots Debian's GRUB 2 netboot image (laid by `grub-mknetdir`)
//! from a NIC that is the second MAC of a host. GRUB asks the TFTP server for
//! `grub/grub.cfg-01-<its mac>` before its `grub.cfg`; the host is deployed a GRUB
//! configuration through the real server, so GRUB must print that configuration's marker.
//! Then the CLI switches the host to a PXELINUX configuration: the GRUB entries are removed
//! and the next UEFI boot falls back to `grub/grub.cfg` (a distinct marker).
//!
//! Needs `qemu-system-x86`, `ovmf`, `grub-efi-amd64-bin` (and `grub-common`'s
//! `grub-mknetdir`). About 25 s on two cores. Run alone with
//! `cargo build --workspace && cargo test --test e2e grub_boot::`.

use crate::e2e;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::{cli, grub, link_target, log_tail, printable, run_bounded, Artifacts, Ended};

const HOST: &str = "uefi-1";
/// The host's NICs; the VM boots from the second one.
const MACS: [&str; 2] = ["52:54:00:ef:01:01", "52:54:00:ef:01:02"];

const DEPLOYED_MARKER: &str = "PXE-PILOT-GRUB-PER-MAC-CONFIGURATION";
const DEFAULT_MARKER: &str = "PXE-PILOT-GRUB-DEFAULT-NO-ENTRY";

/// The TFTP root: GRUB's netboot tree, a GRUB default that says no entry was found, and a
/// catalogue with one GRUB and one PXELINUX configuration; plus the server's configuration.
fn world(dir: &Path) -> (PathBuf, PathBuf) {
    let (root, config) = grub::world(
        dir,
        HOST,
        &MACS,
        &format!("echo {DEPLOYED_MARKER}\nhalt\n"),
        "file: grub/x86_64-efi/core.efi, config_path: grub/grub.cfg, mac_entry: \"grub/grub.cfg-01-{mac}\"",
    );
    fs::write(
        root.join("grub/grub.cfg"),
        format!("echo {DEFAULT_MARKER}\nhalt\n"),
    )
    .expect("write grub/grub.cfg");
    (root, config)
}

/// Boots the VM once from the host's second NIC; returns its serial console, readable.
fn boot(root: &Path, artifacts: &Artifacts, n: usize, scratch: &Path) -> String {
    let log = artifacts.path(&format!("boot{n}.serial.log"));
    let mut qemu = grub::qemu(root, &scratch.join(format!("vars-{n}.fd")), MACS[1]);
    let (ended, took) = run_bounded(&mut qemu, &log, Duration::from_secs(180));
    let serial = printable(&String::from_utf8_lossy(
        &fs::read(&log).unwrap_or_default(),
    ));
    assert!(
        matches!(ended, Ended::Exited(_)),
        "boot {n}: QEMU did not power off within {took:?} (GRUB's `halt`)\n{}",
        log_tail(&log, 30)
    );
    e2e::loud(&format!("e2e_grub_boot: boot {n} took {took:?}"));
    serial
}

pub fn grub_2_boots_the_configuration_deployed_to_its_mac_and_falls_back_once_it_is_switched() {
    let artifacts = Artifacts::new("grub-boot");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (root, config) = world(dir.path());
    let server = e2e::serve(&config, &artifacts);

    cli(&server, &["config", "deploy", "rescue", HOST]);
    let entry = root.join(format!("grub/grub.cfg-01-{}", MACS[1].replace(':', "-")));
    assert_eq!(
        link_target(&entry),
        format!("grub.cfg-01-{}", MACS[0].replace(':', "-")),
        "the second NIC's GRUB entry leads to the first's"
    );
    let serial = boot(&root, &artifacts, 1, dir.path());
    assert!(
        serial.contains("Welcome to GRUB!") && serial.contains(DEPLOYED_MARKER),
        "boot 1: GRUB did not read its per-MAC entry\n{}",
        log_tail(&artifacts.path("boot1.serial.log"), 30)
    );
    assert!(!serial.contains(DEFAULT_MARKER));

    cli(&server, &["config", "deploy", "local", HOST]);
    assert!(
        fs::symlink_metadata(&entry).is_err(),
        "the GRUB entry is gone"
    );
    let serial = boot(&root, &artifacts, 2, dir.path());
    assert!(
        serial.contains(DEFAULT_MARKER) && !serial.contains(DEPLOYED_MARKER),
        "boot 2: GRUB should fall back to grub.cfg\n{}",
        log_tail(&artifacts.path("boot2.serial.log"), 30)
    );
}
