//! End-to-end: the README's "Two commands on a fresh machine", as a newcomer meets them.
//!
//! `git clone` of this repository (its committed state) into a temporary folder, then the
//! README's demo command (`cargo run -p pxe-pilot-server -- --demo`, given a folder and a free
//! port) run inside the clone: the server must answer, and the real CLI must list the demo's
//! hosts. Running the whole test suite inside the clone would take too long: the test checks
//! that the README's test command is the one CI runs instead.
//!
//! Where the clone builds (`CARGO_TARGET_DIR`):
//! - the server's committed sources are the working tree's (`git status` clean, as in CI): this
//!   build's `target/`, and the clone's copies of those sources get the originals' mtimes.
//!   They are byte for byte what this build compiled, so cargo finds its work done and starts
//!   the server at once; had the clone lacked a file the build needs, it would not compile.
//! - otherwise: `target/e2e-demo/`, so a build of the committed state never replaces the
//!   binaries the other tests run (the first such run compiles the dependencies once).
//!
//! Run alone with `cargo test --test e2e demo::`.

use crate::{common, e2e};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestServer;
use e2e::{cli, log_tail, run_capture, Artifacts};

/// How long the demo command may take to print its address (it compiles first).
const BUILD_AND_START_LIMIT: Duration = Duration::from_secs(900);

/// The commands of the README's "Two commands on a fresh machine" block.
fn readme_commands(readme: &str) -> Vec<String> {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Two commands on a fresh machine"))
        .expect("the README has a `## Two commands on a fresh machine` section");
    let block = section
        .split("```")
        .nth(1)
        .expect("that section has a code block");
    block
        .lines()
        .skip(1) // the fence's language tag
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// What `cargo run -p pxe-pilot-server` compiles from the workspace.
const SERVER_SOURCES: [&str; 5] = [
    "Cargo.toml",
    "Cargo.lock",
    "pxe-pilot-core",
    "pxe-pilot-server",
    "pxe-pilot-tftp",
];

/// Where the clone builds (see the module's documentation), and why.
fn clone_target_dir(clone: &Path) -> (PathBuf, &'static str) {
    let out = Command::new("git")
        .args(["status", "--porcelain", "--"])
        .args(SERVER_SOURCES)
        .current_dir(e2e::repo_dir())
        .output()
        .expect("run git status");
    if !(out.status.success() && out.stdout.is_empty()) {
        return (
            e2e::target_dir().join("e2e-demo"),
            "target/e2e-demo (uncommitted changes: the committed state builds apart)",
        );
    }
    // Clean: the clone's copies are the very files this build compiled; give them the
    // originals' mtimes, which is what cargo compares.
    let files = Command::new("git")
        .args(["ls-files", "-z", "--"])
        .args(SERVER_SOURCES)
        .current_dir(clone)
        .output()
        .expect("run git ls-files");
    for file in files.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let file = String::from_utf8_lossy(file);
        let original = std::fs::metadata(e2e::repo_dir().join(&*file)).and_then(|m| m.modified());
        if let Ok(mtime) = original {
            let copy = std::fs::File::options()
                .write(true)
                .open(clone.join(&*file))
                .and_then(|f| f.set_modified(mtime));
            copy.unwrap_or_else(|e| panic!("set the mtime of the clone's {file}: {e}"));
        }
    }
    (
        e2e::target_dir(),
        "this build's (the server's sources are committed)",
    )
}

fn git_clone(from: &Path, to: &Path) {
    let mut command = Command::new("git");
    command.arg("clone").arg("--quiet").arg(from).arg(to);
    let (ok, output) = run_capture(&mut command, Duration::from_secs(120));
    assert!(ok, "git clone {} failed:\n{output}", from.display());
}

pub fn a_fresh_clone_runs_the_readme_demo_and_the_cli_lists_its_hosts() {
    let started = Instant::now();
    let artifacts = Artifacts::new("demo");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let clone = dir.path().join("pxe-pilot");
    git_clone(&e2e::repo_dir(), &clone);

    let readme = std::fs::read_to_string(clone.join("README.md")).expect("the clone's README");
    let commands = readme_commands(&readme);
    assert!(
        commands.iter().any(|c| c == "cargo test --workspace"),
        "the README's test command must be `cargo test --workspace` (what CI runs, the \
         end-to-end tier included), found {commands:?}"
    );
    let demo = commands
        .iter()
        .find(|c| c.starts_with("cargo run") && c.contains("--demo"))
        .unwrap_or_else(|| {
            panic!("the README has no `cargo run ... --demo` command: {commands:?}")
        });
    let words: Vec<&str> = demo.split_whitespace().collect();
    assert!(
        words.contains(&"--"),
        "the demo command passes its flags after `--`: {demo}"
    );

    // The README's command, given a folder and free ports (the README's defaults, 3478 and
    // 6969, may be taken on a shared machine).
    let (target, why) = clone_target_dir(&clone);
    eprintln!("e2e_demo: `{demo}` in a fresh clone, target dir {why}");
    let demo_dir = dir.path().join("demo");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // `cargo run` replaces itself with the server (exec), so the child is the server.
    let log = artifacts.path("cargo-run-demo.log");
    let mut server = TestServer::builder()
        .binary(cargo)
        .args(&words[1..])
        .arg(&demo_dir)
        .args(["--tftp", "127.0.0.1:0"])
        .current_dir(&clone)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_TERM_COLOR", "never")
        .log_file(&log)
        .timeout(BUILD_AND_START_LIMIT)
        .start();
    eprintln!(
        "e2e_demo: the demo answers at {} after {:.1?}",
        server.base,
        started.elapsed()
    );

    let json = cli(&server, &["-o", "json", "host", "list"]);
    let hosts: serde_json::Value = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("`pxe-pilot -o json host list` printed no JSON ({e}): {json}"));
    let names: Vec<&str> = hosts
        .as_array()
        .unwrap_or_else(|| panic!("a host list is an array: {json}"))
        .iter()
        .filter_map(|h| h["name"].as_str())
        .collect();
    assert!(!names.is_empty(), "the demo has no hosts: {json}");
    let table = cli(&server, &["host", "list"]);
    for name in &names {
        assert!(
            table.contains(name),
            "`pxe-pilot host list` does not show demo host {name}:\n{table}"
        );
    }
    eprintln!("e2e_demo: `pxe-pilot host list` on the demo:\n{table}");

    server.sigterm();
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "the demo server did not exit 0 on SIGTERM ({status:?})\n{}",
        log_tail(&log, 20)
    );
    eprintln!("e2e_demo: done in {:.1?}", started.elapsed());
}
