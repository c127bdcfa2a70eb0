//! The disk-first VM of the reprovision loop: a 1 MiB raw disk whose hand-assembled boot sector
//! prints a marker on COM1 and halts, a TFTP root with PXELINUX and an installer (a Debian
//! kernel and a busybox initramfs running the static `pxe-pilot` client), and the serial
//! console split into boots.
//!
//! The initramfs is [`e2e::initramfs`]'s, with `installer-init.sh` as `/init`.

use std::fs;
use std::path::Path;

use crate::e2e;

/// The marker the disk's boot sector prints.
pub const DISK_MARKER: &str = "PXE-PILOT-E2E: boot=disk";

/// PXELINUX files taken from Debian's `pxelinux` and `syslinux-common`.
pub const PXELINUX: &str = "/usr/lib/PXELINUX/pxelinux.0";
/// See [`PXELINUX`].
pub const BIOS_MODULES: &str = "/usr/lib/syslinux/modules/bios";
/// The iPXE ROM QEMU loads for virtio-net-pci (package `ipxe-qemu`).
pub const IPXE_ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";

/// Writes a bootable 1 MiB raw disk: a 512-byte MBR whose real-mode program writes
/// `\r\nMARKER\r\n` to COM1 (I/O port 0x3f8), writes 0 to port 0xf4 (QEMU's
/// `isa-debug-exit` then exits; without the device the write is ignored), then `cli; hlt`.
pub fn write_disk(path: &Path, marker: &str) {
    const MSG: u16 = 28; // offset of the message in the sector (see the listing)
    let at = 0x7C00 + MSG;
    let code: [u8; 28] = [
        0x31,
        0xC0, // 00 xor ax,ax
        0x8E,
        0xD8, // 02 mov ds,ax
        0xBE,
        (at & 0xFF) as u8,
        (at >> 8) as u8, // 04 mov si,0x7c00+MSG
        0xBA,
        0xF8,
        0x03, // 07 mov dx,0x3f8
        0xAC, // 10 loop: lodsb
        0x84,
        0xC0, // 11 test al,al
        0x74,
        0x03, // 13 jz done (18)
        0xEE, // 15 out dx,al
        0xEB,
        0xF8, // 16 jmp loop (10)
        0xBA,
        0xF4,
        0x00, // 18 done: mov dx,0xf4
        0xB0,
        0x00, // 21 mov al,0
        0xEE, // 23 out dx,al   (isa-debug-exit)
        0xFA, // 24 cli
        0xF4, // 25 hlt
        0xEB,
        0xFD, // 26 jmp 25
    ];
    let mut sector = code.to_vec();
    sector.extend_from_slice(format!("\r\n{marker}\r\n\0").as_bytes());
    assert!(
        sector.len() <= 446,
        "the marker is too long for the boot sector"
    );
    sector.resize(510, 0);
    sector.extend_from_slice(&[0x55, 0xAA]);
    sector.resize(1024 * 1024, 0);
    fs::write(path, sector).expect("write the disk image");
}

/// The installer's `/init` ([`e2e::initramfs::Installer::build_initramfs`] packs it): it
/// calls back with no token and reboots.
pub const INSTALLER_INIT: &[u8] = include_bytes!("installer-init.sh");

/// One boot of the VM, cut out of its serial console: from a `SeaBIOS (version` line to the
/// next (a BMC power on and a guest reboot both start one).
#[derive(Debug, Clone)]
pub struct Boot {
    /// The console lines of this boot (escapes and empty lines removed).
    pub lines: Vec<String>,
}

impl Boot {
    /// Whether the firmware booted the NIC (iPXE ran, took a DHCP lease).
    pub fn network(&self) -> bool {
        self.lines
            .iter()
            .any(|l| l.contains("Configuring (net0") || l.starts_with("iPXE 1."))
    }

    /// Whether the disk's boot sector ran.
    pub fn disk(&self) -> bool {
        self.lines.iter().any(|l| l.contains(DISK_MARKER))
    }

    /// Whether any line contains `text`.
    pub fn shows(&self, text: &str) -> bool {
        self.lines.iter().any(|l| l.contains(text))
    }

    /// The lines worth quoting: the BMC's power-on line, firmware and loader milestones, every
    /// `PXE-PILOT-E2E` marker, the kernel's reboot.
    pub fn milestones(&self) -> Vec<&str> {
        const KEEP: [&str; 12] = [
            "=== BMC",
            "SeaBIOS (version",
            "Booting from",
            "iPXE 1.",
            "Configuring (net0",
            "Filename:",
            "PXELINUX 6",
            "PXE-PILOT-E2E",
            "pxe-pilot",
            "reboot: Restarting",
            "Boot failed",
            "No more network devices",
        ];
        self.lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| KEEP.iter().any(|k| l.contains(k)))
            .collect()
    }
}

/// The boots of a serial console log, in order. Lines before the first `SeaBIOS` (the BMC's
/// `=== BMC` line) belong to the boot that follows them.
pub fn boots(serial: &str) -> Vec<Boot> {
    let text = e2e::printable(serial);
    let mut boots: Vec<Boot> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut current: Option<Boot> = None;
    for line in text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
    {
        if line.contains("=== BMC") {
            if let Some(done) = current.take() {
                boots.push(done);
            }
            pending.push(line.to_owned());
        } else if line.contains("SeaBIOS (version") {
            if let Some(done) = current.take() {
                boots.push(done);
            }
            let mut lines = std::mem::take(&mut pending);
            lines.push(line.to_owned());
            current = Some(Boot { lines });
        } else if let Some(boot) = current.as_mut() {
            boot.lines.push(line.to_owned());
        } else {
            pending.push(line.to_owned());
        }
    }
    if let Some(done) = current.take() {
        boots.push(done);
    }
    boots
}

/// Checks of this module's own parsing, listed in the tier's `main.rs`.
pub mod checks {
    use super::*;

    pub fn a_serial_log_is_cut_into_boots() {
        let serial = "\r\n=== BMC 1: power on, -boot order=c ===\r\nSeaBIOS (version 1)\r\n\
                      Booting from Hard Disk..\r\nPXE-PILOT-E2E: boot=disk\r\n\
                      === BMC 2: power on, -boot order=c,once=n ===\r\nSeaBIOS (version 1)\r\n\
                      iPXE 1.0.0+git\r\nConfiguring (net0 52:54:00:00:00:01)...... ok\r\n\
                      reboot: Restarting system\r\nSeaBIOS (version 1)\r\nBooting from Hard Disk..\r\n\
                      PXE-PILOT-E2E: boot=disk\r\n";
        let boots = boots(serial);
        assert_eq!(boots.len(), 3);
        assert!(boots[0].disk() && !boots[0].network());
        assert!(boots[1].network() && !boots[1].disk());
        assert!(boots[1].lines[0].contains("once=n"));
        assert!(boots[2].disk() && !boots[2].network());
    }

    pub fn the_boot_sector_carries_the_marker_and_the_signature() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let disk = dir.path().join("disk.img");
        write_disk(&disk, DISK_MARKER);
        let bytes = fs::read(&disk).expect("read the disk");
        assert_eq!(bytes.len(), 1024 * 1024);
        assert_eq!(&bytes[510..512], &[0x55, 0xAA]);
        assert_eq!(&bytes[30..30 + DISK_MARKER.len()], DISK_MARKER.as_bytes());
    }
}
