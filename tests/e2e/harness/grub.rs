//! What the GRUB tests share: the server's configuration with a `grub` bootloader
//! (`grub_entries`, `grub_boot`, `grub_http`) and the UEFI VM of the last two:
//! Debian's GRUB 2 netboot tree (laid by `grub-mknetdir`) in a TFTP root, OVMF, and QEMU (TCG)
//! PXE-booting it from a host's NIC.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{log_tail, run_bounded, Ended, Need};

/// OVMF's firmware (package `ovmf`).
pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
/// OVMF's UEFI variables, copied for each boot.
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
/// GRUB 2's UEFI modules (package `grub-efi-amd64-bin`).
pub const GRUB_MODULES: &str = "/usr/lib/grub/x86_64-efi";

/// What a GRUB VM needs from the system.
pub fn needs() -> Vec<Need> {
    vec![
        Need::Command("qemu-system-x86_64", "qemu-system-x86"),
        Need::Command("grub-mknetdir", "grub-common"),
        Need::File(GRUB_MODULES, "grub-efi-amd64-bin"),
        Need::File(OVMF_CODE, "ovmf"),
    ]
}

/// The world of a GRUB VM in `dir`: the TFTP root `dir/tftp` with GRUB's netboot tree under
/// `grub/` (`grub-mknetdir`), a catalogue of a GRUB `rescue` (`rescue`, its text) and a
/// PXELINUX `local`, and the server's configuration file ([`write_server_config`] with
/// `host`, `macs` and `grub`); returns (TFTP root, configuration file).
pub fn world(
    dir: &Path,
    host: &str,
    macs: &[&str],
    rescue: &str,
    grub: &str,
) -> (PathBuf, PathBuf) {
    let root = netboot_tree(dir);
    super::write_files(
        &root.join("pxelinux.cfg/conf"),
        &[
            ("grub/rescue", rescue),
            (
                "pxelinux/local",
                "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n",
            ),
        ],
    );
    let config = dir.join("pxe-pilot.yml");
    write_server_config(&config, &root, host, macs, grub);
    (root, config)
}

/// `dir/tftp`, a TFTP root holding GRUB's netboot tree under `grub/` (`grub-mknetdir`, its log
/// in `dir`).
fn netboot_tree(dir: &Path) -> PathBuf {
    let root = dir.join("tftp");
    fs::create_dir_all(&root).expect("create the TFTP root");
    let mut mknetdir = Command::new("grub-mknetdir");
    mknetdir
        .arg(format!("--net-directory={}", root.display()))
        .args(["--subdir=grub", "-d", GRUB_MODULES]);
    let log = dir.join("grub-mknetdir.log");
    let (ended, _) = run_bounded(&mut mknetdir, &log, Duration::from_secs(60));
    assert!(
        matches!(ended, Ended::Exited(s) if s.success()),
        "grub-mknetdir failed:\n{}",
        log_tail(&log, 20)
    );
    root
}

/// The server's configuration file at `path`: one host with `macs`, the TFTP root `root`
/// (its catalogue in `root/pxelinux.cfg/conf`), and the bootloaders `pxelinux` and `grub`,
/// `grub` being the fields after its name (`file: ..., http: grub`).
pub fn write_server_config(path: &Path, root: &Path, host: &str, macs: &[&str], grub: &str) {
    let macs: Vec<String> = macs.iter().map(|m| format!("\"{m}\"")).collect();
    let yaml = format!(
        "hosts:\n  - name: {host}\n    mac_addresses: [{}]\n\
         tftp:\n  root: {root}\n\
         configuration:\n  directory: {root}/pxelinux.cfg/conf\n  bootloaders:\n\
         \x20   - {{name: pxelinux, file: pxelinux.0}}\n\
         \x20   - {{name: grub, {grub}}}\n",
        macs.join(", "),
        root = root.display()
    );
    fs::write(path, yaml).expect("write the configuration file");
}

/// QEMU (TCG, 512 MiB, no reboot) with OVMF, its variables a fresh copy at `vars`, booting
/// `grub/x86_64-efi/core.efi` from QEMU's TFTP over `root` with the firmware's own UEFI PXE on
/// a NIC with `mac`.
pub fn qemu(root: &Path, vars: &Path, mac: &str) -> Command {
    fs::copy(OVMF_VARS, vars).expect("copy the UEFI variables");
    let mut qemu = Command::new("qemu-system-x86_64");
    qemu.args(["-accel", "tcg", "-m", "512", "-smp", "1"])
        .args(["-nographic", "-no-reboot", "-monitor", "none"])
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"
        ))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=1,file={}",
            vars.display()
        ))
        .arg("-netdev")
        .arg(format!(
            "user,id=n0,tftp={},bootfile=grub/x86_64-efi/core.efi",
            root.display()
        ))
        // romfile= : the firmware's own UEFI PXE, not iPXE's option ROM.
        .arg("-device")
        .arg(format!("virtio-net-pci,netdev=n0,mac={mac},romfile="));
    qemu
}
