//! The `pxe-pilot-server` binary as an operator meets it: its help, its one-line errors and
//! exit code 1 for a bad configuration, the address line on stdout, and a clean exit on SIGTERM.
//! (Also makes `cargo test --workspace` build the binary before the root package's tests.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pxe-pilot-server"))
}

#[test]
fn help_names_every_flag() {
    let output = server().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--config",
        "--listen",
        "--demo",
        "/etc/pxe-pilot/pxe-pilot.yml",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn a_missing_configuration_file_is_one_line_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yml");
    let output = server().arg("-c").arg(&missing).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("pxe-pilot-server: cannot read configuration file")
            && last.contains("nope.yml"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_configuration_names_the_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tftp/pxelinux.cfg/conf")).unwrap();
    let config = dir.path().join("pxe-pilot.yml");
    std::fs::write(
        &config,
        "hosts:\n  - name: a\n    mac_addresses: [\"00:00:00:00:00:01\"]\n  - name: b\n    mac_addresses: [\"00:00:00:00:00:01\"]\ntftp:\n  root: tftp\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\n",
    )
    .unwrap();
    let output = server().arg("--config").arg(&config).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("pxe-pilot.yml:5: hosts[1].mac_addresses[0]"),
        "{stderr}"
    );
}

#[test]
fn the_demo_prints_its_address_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let mut child = server()
        .arg("--demo")
        .arg(&demo)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let rest = line
        .strip_prefix("pxe-pilot-server listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let port: u16 = rest.trim_end().parse().unwrap();
    assert_ne!(port, 0);
    assert!(demo.join("pxe-pilot.yml").is_file());
    assert!(
        std::fs::read_link(demo.join("tftp/pxelinux.cfg/01-23-34-a3-e9-09-cc")).is_ok(),
        "the demo starts with db-1 deployed"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "exit 0 on SIGTERM");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("curl -i -X PUT"), "the guide:\n{stderr}");
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
}
