//! What the Debian package ships (`packaging/`, `[package.metadata.deb]` of
//! `pxe-pilot-server/Cargo.toml`): the generated man page and completions are what the CLI
//! generates now, the systemd unit runs the server hardened as its own user, the default
//! configuration starts the server, and (with `PXE_PILOT_TEST_DEB=1`, as `.ci/run` sets it
//! once) the built `.deb` holds all of it, as `dpkg-deb -c` and its control files show.
//!
//! `PXE_PILOT_BLESS=1 cargo test --test e2e packaging::` rewrites the generated files after a change
//! of the command line.

use crate::common;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{binary, TestServer};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `packaging/` generated from the CLI, and the arguments that generate them.
const GENERATED: [(&str, &[&str]); 4] = [
    ("packaging/man/pxe-pilot.1", &["man"]),
    (
        "packaging/completions/pxe-pilot.bash",
        &["completions", "bash"],
    ),
    ("packaging/completions/_pxe-pilot", &["completions", "zsh"]),
    (
        "packaging/completions/pxe-pilot.fish",
        &["completions", "fish"],
    ),
];

pub fn the_shipped_man_page_and_completions_are_what_the_cli_generates() {
    let bless = std::env::var_os("PXE_PILOT_BLESS").is_some();
    for (file, args) in GENERATED {
        let output = Command::new(binary("pxe-pilot"))
            .args(args)
            .output()
            .expect("run pxe-pilot");
        assert!(output.status.success(), "pxe-pilot {args:?}");
        let path = repo().join(file);
        if bless {
            fs::write(&path, &output.stdout).expect("rewrite a generated file");
            continue;
        }
        let shipped = fs::read(&path).unwrap_or_default();
        assert!(
            shipped == output.stdout,
            "{file} is not what `pxe-pilot {}` prints now: run `PXE_PILOT_BLESS=1 cargo test --test e2e packaging::` and commit it",
            args.join(" ")
        );
    }
}

/// The unit's `Key=value` lines (last one wins, as systemd reads them), and all values of a key.
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
        .collect()
}

pub fn the_unit_runs_the_server_hardened_as_its_own_user() {
    let unit = fs::read_to_string(repo().join("packaging/pxe-pilot.service")).unwrap();
    for (key, value) in [
        ("Type", "simple"),
        ("User", "pxe-pilot"),
        ("Group", "pxe-pilot"),
        (
            "ExecStart",
            "/usr/bin/pxe-pilot-server --config /etc/pxe-pilot/pxe-pilot.yml",
        ),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("KillSignal", "SIGTERM"),
        ("WantedBy", "multi-user.target"),
    ] {
        assert_eq!(unit_values(&unit, key), [value], "{key}");
    }
    for (key, value) in [
        ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"),
        ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"),
        ("SystemCallFilter", "@system-service"),
        ("ProtectProc", "invisible"),
        ("StateDirectory", "pxe-pilot"),
    ] {
        assert_eq!(unit_values(&unit, key), [value], "{key}");
    }
    // Every writable folder is optional (`-`): a missing one never stops the service.
    let writable = unit_values(&unit, "ReadWritePaths").join(" ");
    for folder in ["pxelinux.cfg", "grub", "ipxe"] {
        let path = format!("-/srv/tftp/{folder}");
        assert!(
            writable.split(' ').any(|p| p == path),
            "{path} in {writable}"
        );
    }
    assert!(
        writable.split(' ').all(|p| p.starts_with('-')),
        "{writable}"
    );
}

pub fn the_default_configuration_starts_the_server_and_hands_out_the_client() {
    // The default configuration with its absolute paths moved into a temporary folder, as the
    // package's postinst lays them out on a first install.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("srv/tftp");
    fs::create_dir_all(root.join("pxelinux.cfg/conf")).unwrap();
    let client = dir.path().join("usr/bin/pxe-pilot");
    fs::create_dir_all(client.parent().unwrap()).unwrap();
    fs::copy(binary("pxe-pilot"), &client).unwrap();
    let token = dir.path().join("token");
    fs::write(&token, "0123456789abcdef\n").unwrap();
    let state = dir.path().join("var/lib/pxe-pilot");
    fs::create_dir_all(&state).unwrap();
    let yaml = fs::read_to_string(repo().join("packaging/pxe-pilot.yml"))
        .unwrap()
        .replace("/srv/tftp", &root.display().to_string())
        .replace("/usr/bin/pxe-pilot", &client.display().to_string())
        .replace("/etc/pxe-pilot/token", &token.display().to_string())
        .replace("/var/lib/pxe-pilot", &state.display().to_string());
    let config = dir.path().join("pxe-pilot.yml");
    fs::write(&config, yaml).unwrap();

    let mut server = TestServer::builder().config(&config).start();
    let got = reqwest::blocking::get(server.url("/v1/client/pxe-pilot"))
        .unwrap()
        .bytes()
        .unwrap();
    assert!(got == fs::read(&client).unwrap());
    let hosts = reqwest::blocking::get(server.url("/v1/hosts"))
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(hosts, "[]");
    // Open to the network, but no change without the token the package generated.
    let client = reqwest::blocking::Client::new();
    let refused = client
        .patch(server.url("/v1/refresh"))
        .send()
        .unwrap()
        .status();
    assert_eq!(refused, reqwest::StatusCode::UNAUTHORIZED);
    let done = client
        .patch(server.url("/v1/refresh"))
        .bearer_auth("0123456789abcdef")
        .send()
        .unwrap()
        .status();
    assert_eq!(done, reqwest::StatusCode::NO_CONTENT);
    server.kill();
    let log = server.logs();
    assert!(!log.contains("unknown key"), "{log}");
}

/// The `.deb` test runs when asked (slow: a build of the package): `PXE_PILOT_TEST_DEB=1`,
/// with cargo-deb installed; `.ci/run` runs it.
pub fn deb_needs() -> Vec<crate::e2e::Need> {
    vec![crate::e2e::Need::OptIn(
        std::env::var("PXE_PILOT_TEST_DEB").as_deref() == Ok("1"),
        "PXE_PILOT_TEST_DEB=1 cargo test --test e2e the_deb_package (needs `cargo install cargo-deb --locked`)",
    )]
}

/// `dpkg-deb ARGS... DEB` -> stdout.
fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let output = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

pub fn the_deb_package_holds_binaries_unit_conffile_man_page_completions_and_scripts() {
    let output = Command::new("bash")
        .arg(repo().join("scripts/build-deb.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/build-deb.sh");
    assert!(output.status.success(), "scripts/build-deb.sh failed");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let deb = PathBuf::from(stdout.lines().last().expect("the package's path").trim());
    assert!(deb.is_file(), "{}", deb.display());

    let contents = dpkg_deb(&["-c"], &deb);
    eprintln!("dpkg-deb -c {}:\n{contents}", deb.display());
    for (path, mode) in [
        ("./usr/bin/pxe-pilot-server", "-rwxr-xr-x"),
        ("./usr/bin/pxe-pilot", "-rwxr-xr-x"),
        ("./etc/pxe-pilot/pxe-pilot.yml", "-rw-r-----"),
        ("/systemd/system/pxe-pilot.service", "-rw-r--r--"),
        ("./usr/share/man/man1/pxe-pilot.1", "-rw-r--r--"),
        (
            "./usr/share/bash-completion/completions/pxe-pilot",
            "-rw-r--r--",
        ),
        (
            "./usr/share/zsh/vendor-completions/_pxe-pilot",
            "-rw-r--r--",
        ),
        (
            "./usr/share/fish/vendor_completions.d/pxe-pilot.fish",
            "-rw-r--r--",
        ),
        ("./usr/share/doc/pxe-pilot/copyright", "-rw-r--r--"),
        ("./usr/share/doc/pxe-pilot/README.md", "-rw-r--r--"),
        (
            "./usr/share/doc/pxe-pilot/docs/configuration.md",
            "-rw-r--r--",
        ),
        ("./usr/share/doc/pxe-pilot/docs/operations.md", "-rw-r--r--"),
    ] {
        let line = contents
            .lines()
            .find(|l| l.ends_with(path) || l.contains(&format!("{path}.gz")))
            .unwrap_or_else(|| panic!("{path} is not in the package"));
        assert!(line.starts_with(mode), "{path}: {line}");
        // Owned by root (cargo-deb writes uid/gid 0 without names).
        assert!(
            line.contains(" 0/0 ") || line.contains(" root/root "),
            "{path}: {line}"
        );
    }

    let fields = dpkg_deb(&["-f"], &deb);
    assert!(fields.contains("Package: pxe-pilot\n"), "{fields}");
    assert!(
        fields.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "{fields}"
    );

    let control = tempfile::tempdir().unwrap();
    let status = Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(control.path())
        .status()
        .unwrap();
    assert!(status.success());
    let conffiles = fs::read_to_string(control.path().join("conffiles")).unwrap();
    assert!(
        conffiles
            .lines()
            .any(|l| l == "/etc/pxe-pilot/pxe-pilot.yml"),
        "{conffiles}"
    );
    let postinst = fs::read_to_string(control.path().join("postinst")).unwrap();
    for word in [
        "useradd --system",
        "dpkg-statoverride",
        "pxelinux.cfg/conf",
        "deb-systemd-helper",
        "/etc/pxe-pilot/token",
        "/dev/urandom",
    ] {
        assert!(postinst.contains(word), "postinst lacks {word}");
    }
    assert!(!postinst.contains("#DEBHELPER#"));
}

/// `major.minor[.patch]` as numbers, for comparing Rust versions.
fn version(text: &str) -> Vec<u64> {
    text.split('.').map(|n| n.parse().unwrap_or(0)).collect()
}

pub fn the_stated_rust_version_is_the_one_the_locked_dependencies_need() {
    // Every package of the lockfile (build, test and bench dependencies alike) says what it
    // needs; the workspace, the README and the docs must say at least the highest. Only the
    // packages built for this machine count (and only they need to be downloaded: a fresh
    // clone has not fetched the Windows ones).
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let rustc = String::from_utf8_lossy(&rustc.stdout).into_owned();
    let host = rustc
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host");
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", host])
        .current_dir(repo())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let (needed, by) = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            Some((
                p["rust_version"].as_str()?.to_owned(),
                p["name"].as_str()?.to_owned(),
            ))
        })
        .max_by_key(|(v, _)| version(v))
        .expect("some package states its Rust version");
    let manifest = fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let stated = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("the workspace states rust-version")
        .trim_matches('"');
    assert_eq!(
        version(stated),
        version(&needed),
        "Cargo.toml says Rust {stated}; the lockfile needs {needed} (for {by}): state {needed}"
    );
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("You need Rust {needed} or newer")),
        "the README must say \"You need Rust {needed} or newer\" (needed by {by})"
    );
}

/// No document advises giving the admin token to a boot script (every script is served to
/// anyone who knows a MAC address, and `GET /v1/hosts` lists them): no template placeholder
/// names a token, and the operations guide says why not.
pub fn no_document_renders_the_token_into_a_boot_script() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut documents = vec![root.join("README.md")];
    for entry in fs::read_dir(root.join("docs")).unwrap() {
        documents.push(entry.unwrap().path());
    }
    for path in documents
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
    {
        let text = fs::read_to_string(path).unwrap();
        for (at, _) in text.match_indices("{{") {
            let placeholder = &text[at..text[at..].find("}}").map_or(text.len(), |end| at + end)];
            assert!(
                !placeholder.to_lowercase().contains("token"),
                "{} renders a token into a template: {placeholder}",
                path.display()
            );
        }
    }
    let operations = fs::read_to_string(root.join("docs/operations.md")).unwrap();
    assert!(
        operations.contains("Never put the token in a boot script or a host's `vars`"),
        "docs/operations.md says why the token stays out of boot scripts"
    );
}
