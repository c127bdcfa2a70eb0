//! The disk-first VM of the reprovision loop: a 1 MiB raw disk whose hand-assembled boot sector
//! prints a marker on COM1 and halts, a TFTP root with PXELINUX and an installer (a Debian
//! kernel and a busybox initramfs running the static `pxe-pilot` client), and the serial
//! console split into boots.
//!
//! The initramfs is built the way `tests/e2e_pxe_boot.rs` builds its own (the same kernel
//! look-up, module order and cpio call), with `installer-init.sh` as `/init`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::write_executable;
use crate::e2e;

/// The marker the disk's boot sector prints.
pub const DISK_MARKER: &str = "PXE-PILOT-E2E: boot=disk";

/// PXELINUX files taken from Debian's `pxelinux` and `syslinux-common`.
pub const PXELINUX: &str = "/usr/lib/PXELINUX/pxelinux.0";
/// See [`PXELINUX`].
pub const BIOS_MODULES: &str = "/usr/lib/syslinux/modules/bios";
/// The iPXE ROM QEMU loads for virtio-net-pci (package `ipxe-qemu`).
pub const IPXE_ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";
/// The static CLI `.ci/run` builds before the tests.
pub const STATIC_CLI: &str = "x86_64-unknown-linux-musl/release-small/pxe-pilot";

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

/// A Debian kernel and the virtio-net modules of that kernel, in load order.
pub struct Kernel {
    /// `/boot/vmlinuz-<version>`.
    pub vmlinuz: PathBuf,
    /// The modules to insmod, dependencies first.
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
fn module_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split(".ko").next().unwrap_or(file)
}

/// The `modules.dep` paths to insmod for `wanted`, every dependency before its users.
fn module_order(modules_dep: &str, wanted: &[&str]) -> Option<Vec<String>> {
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

/// The static `pxe-pilot` (`PXE_PILOT_STATIC_CLI`, else the musl release-small build); panics
/// with the command to build it when it is missing or not static.
pub fn static_cli() -> PathBuf {
    let cli = std::env::var_os("PXE_PILOT_STATIC_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| e2e::target_dir().join(STATIC_CLI));
    let build = "rustup target add x86_64-unknown-linux-musl && cargo build -p pxe-pilot-cli \
                 --profile release-small --target x86_64-unknown-linux-musl";
    assert!(
        cli.is_file(),
        "the test runs the static CLI {}, which is missing: build it with `{build}` \
         (`.ci/run` does), or point PXE_PILOT_STATIC_CLI at one",
        cli.display()
    );
    assert!(
        e2e::is_static_executable(&cli),
        "{} is not a static executable. Build it with `{build}`",
        cli.display()
    );
    cli
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

/// Builds the installer's initramfs (newc cpio) in `out`: busybox, the static CLI, `/init`
/// (`installer-init.sh`), the udhcpc script of `tests/e2e/` and the virtio-net modules.
pub fn build_initramfs(stage: &Path, out: &Path, kernel: &Kernel, busybox: &Path, cli: &Path) {
    fs::create_dir_all(stage.join("bin")).expect("create bin/");
    fs::create_dir_all(stage.join("modules")).expect("create modules/");
    fs::copy(busybox, stage.join("bin/busybox")).expect("copy busybox");
    fs::copy(cli, stage.join("bin/pxe-pilot")).expect("copy the static CLI");
    write_executable(&stage.join("init"), include_bytes!("installer-init.sh"));
    write_executable(&stage.join("udhcpc.sh"), include_bytes!("../udhcpc.sh"));
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
    let image = fs::File::create(out).expect("create initrd.img");
    let mut cpio = Command::new("cpio")
        .args(["-o", "-H", "newc", "-R", "0:0", "--quiet"])
        .current_dir(stage)
        .stdin(Stdio::piped())
        .stdout(image)
        .spawn()
        .expect("run cpio");
    {
        use std::io::Write;
        let mut stdin = cpio.stdin.take().expect("cpio's stdin");
        stdin
            .write_all((list.join("\n") + "\n").as_bytes())
            .expect("feed cpio the file list");
    }
    assert!(cpio.wait().expect("wait for cpio").success(), "cpio failed");
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serial_log_is_cut_into_boots() {
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

    #[test]
    fn the_boot_sector_carries_the_marker_and_the_signature() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let disk = dir.path().join("disk.img");
        write_disk(&disk, DISK_MARKER);
        let bytes = fs::read(&disk).expect("read the disk");
        assert_eq!(bytes.len(), 1024 * 1024);
        assert_eq!(&bytes[510..512], &[0x55, 0xAA]);
        assert_eq!(&bytes[30..30 + DISK_MARKER.len()], DISK_MARKER.as_bytes());
    }
}
