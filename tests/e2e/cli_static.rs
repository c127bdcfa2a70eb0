//! The static client: `pxe-pilot` built for `x86_64-unknown-linux-musl` with the
//! `release-small` profile (the README's one command) is one static, stripped file under
//! 3 MiB that runs.
//!
//! Needs the musl target (`rustup target add x86_64-unknown-linux-musl`, which `.ci/run`
//! does) and `file`. Where the target is missing outside CI the test says so and passes;
//! under CI (`CI` set) it fails.

use crate::e2e::Need;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "x86_64-unknown-linux-musl";
const MAX_SIZE: u64 = 3 * 1024 * 1024;

/// `target/` of this build: the test runs as `target/debug/deps/cli_static-*`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn musl_target_installed() -> bool {
    Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|root| {
            Path::new(root.trim())
                .join("lib/rustlib")
                .join(TARGET)
                .is_dir()
        })
}

/// The musl target (`rustup target add x86_64-unknown-linux-musl`) and `file`.
pub fn needs() -> Vec<Need> {
    vec![
        Need::Found(
            musl_target_installed(),
            "the x86_64-unknown-linux-musl target (`rustup target add x86_64-unknown-linux-musl`)",
            "",
        ),
        Need::Command("file", "file"),
    ]
}

pub fn the_client_builds_as_one_small_static_binary_that_runs() {
    let target_dir = target_dir();
    let status = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "-p", "pxe-pilot-cli", "--profile", "release-small"])
        .args(["--target", TARGET, "--target-dir"])
        .arg(&target_dir)
        .status()
        .unwrap();
    assert!(status.success(), "the static build failed");
    let binary = target_dir.join(TARGET).join("release-small/pxe-pilot");

    let size = std::fs::metadata(&binary).unwrap().len();
    assert!(size <= MAX_SIZE, "{} is {size} bytes", binary.display());

    let file = Command::new("file").arg(&binary).output().unwrap();
    let description = String::from_utf8_lossy(&file.stdout);
    assert!(
        description.contains("statically linked") || description.contains("static-pie linked"),
        "{description}"
    );
    assert!(description.contains("stripped") && !description.contains("not stripped"));
    assert!(!description.contains("interpreter"), "{description}");

    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("pxe-pilot {}\n", env!("CARGO_PKG_VERSION"))
    );
}
