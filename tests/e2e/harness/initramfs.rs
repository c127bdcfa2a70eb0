//! The test installer's initramfs, as the tests that boot a Linux guest build it
//! (`pxe_boot`, `reprovision`, `http_boot`): a Debian kernel and its virtio-net
//! modules, busybox, the static `pxe-pilot` client and an `/init` of the test's own, packed with
//! `cpio`.
//!
//! - [`find_kernel`] (with [`module_order`]): the kernel and the modules to insmod;
//! - [`static_cli`]: the static client the installer runs;
//! - [`installer_needs`]: all that, declared with the test (tests/e2e/main.rs checks it);
//! - [`Installer::build_initramfs`]: the newc cpio, with `/init`, `/installer-lib.sh` (the
//!   steps the `/init` scripts share, `tests/e2e/installer-lib.sh`) and `/udhcpc.sh`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use super::{
    find_command, is_static_executable, loud, repo_dir, target_dir, write_executable, Need,
};

/// The static CLI `.ci/run` builds before the tests (under `target/`).
pub const STATIC_CLI: &str = "x86_64-unknown-linux-musl/release-small/pxe-pilot";

/// A Debian kernel and the virtio-net modules of that kernel, in load order.
pub struct Kernel {
    /// `/boot/vmlinuz-<version>`.
    pub vmlinuz: PathBuf,
    /// The modules to insmod, each after its dependencies.
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
pub fn module_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split(".ko").next().unwrap_or(file)
}

/// The `modules.dep` paths to insmod for `wanted`, every dependency before its users.
pub fn module_order(modules_dep: &str, wanted: &[&str]) -> Option<Vec<String>> {
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
        // modprobe loads the listed dependencies last-first.
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

/// The static `pxe-pilot` (`PXE_PILOT_STATIC_CLI`, else the musl release-small build); the test
/// fails, saying how to build it, when it is missing or not static, and warns when it is older
/// than the CLI's sources.
pub fn static_cli() -> PathBuf {
    let cli = std::env::var_os("PXE_PILOT_STATIC_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join(STATIC_CLI));
    let build = "rustup target add x86_64-unknown-linux-musl && cargo build -p pxe-pilot-cli \
                 --profile release-small --target x86_64-unknown-linux-musl";
    assert!(
        cli.is_file(),
        "the test runs the static CLI {}, which is missing: build it with `{build}` \
         (`.ci/run` does), or point PXE_PILOT_STATIC_CLI at one",
        cli.display()
    );
    assert!(
        is_static_executable(&cli),
        "{} is not a static executable: the installer's initramfs has no libc. Build it with `{build}`",
        cli.display()
    );
    let built = mtime(&cli);
    let newest_source = ["pxe-pilot-cli/src", "pxe-pilot-core/src"]
        .iter()
        .flat_map(|dir| files_under(&repo_dir().join(dir)))
        .map(|file| mtime(&file))
        .max();
    if newest_source.is_some_and(|source| source > built) {
        loud(&format!(
            "WARNING: {} is older than the CLI's sources; rebuild it with `{build}`",
            cli.display()
        ));
    }
    cli
}

fn mtime(path: &Path) -> SystemTime {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
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

/// What the test installer is made of, found on this machine.
pub struct Installer {
    /// The kernel it boots, with its virtio-net modules.
    pub kernel: Kernel,
    /// A static busybox: the initramfs' shell and tools.
    pub busybox: PathBuf,
    /// The static `pxe-pilot` client it calls back with ([`static_cli`]).
    pub cli: PathBuf,
}

/// A test's `needs` and what the installer is made of: `cpio`, `file`, a static busybox
/// (`busybox_use` says what for) and a kernel with virtio-net modules.
pub fn installer_needs(mut needs: Vec<Need>, busybox_use: &'static str) -> Vec<Need> {
    let kernel = find_kernel();
    let busybox = find_command("busybox");
    needs.extend([
        Need::Command("cpio", "cpio"),
        Need::Command("file", "file"),
        Need::Found(
            busybox.as_deref().is_some_and(is_static_executable),
            busybox_use,
            "busybox-static",
        ),
        Need::Found(
            kernel.is_some(),
            "a kernel /boot/vmlinuz-* with virtio-net modules",
            "linux-image-amd64",
        ),
    ]);
    needs
}

/// What the installer is made of, on a machine that has its [`installer_needs`] (the tier
/// checked them); the test fails when the static client is missing.
pub fn installer() -> Installer {
    Installer {
        kernel: find_kernel().expect("a kernel (the tier checked the installer's needs)"),
        busybox: find_command("busybox").expect("busybox (the tier checked)"),
        cli: static_cli(),
    }
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

impl Installer {
    /// Builds its initramfs, a newc cpio at `out`, staged in `stage`: busybox, the static
    /// client, `init` as `/init`, `/installer-lib.sh`, the udhcpc script of `tests/e2e/` and
    /// the kernel's virtio-net modules (their load order in `/modules/order`).
    pub fn build_initramfs(&self, stage: &Path, out: &Path, init: &[u8]) {
        let Installer {
            kernel,
            busybox,
            cli,
        } = self;
        fs::create_dir_all(stage.join("bin")).expect("create bin/");
        fs::create_dir_all(stage.join("modules")).expect("create modules/");
        fs::copy(busybox, stage.join("bin/busybox")).expect("copy busybox");
        fs::copy(cli, stage.join("bin/pxe-pilot")).expect("copy the static CLI");
        write_executable(&stage.join("init"), init);
        write_executable(
            &stage.join("installer-lib.sh"),
            include_bytes!("installer-lib.sh"),
        );
        write_executable(&stage.join("udhcpc.sh"), include_bytes!("udhcpc.sh"));
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
        let image = fs::File::create(out).expect("create the cpio archive");
        let mut cpio = Command::new("cpio")
            .args(["-o", "-H", "newc", "-R", "0:0", "--quiet"])
            .current_dir(stage)
            .stdin(Stdio::piped())
            .stdout(image)
            .spawn()
            .expect("run cpio");
        {
            let mut stdin = cpio.stdin.take().expect("cpio's stdin");
            stdin
                .write_all((list.join("\n") + "\n").as_bytes())
                .expect("feed cpio the file list");
        }
        assert!(cpio.wait().expect("wait for cpio").success(), "cpio failed");
    }
}
