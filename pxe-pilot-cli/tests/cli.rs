//! The `pxe-pilot` binary against a scripted HTTP server: exit codes, messages, retries,
//! headers, `--self` and `-o json`. (The tests against the real server are the workspace's
//! `tests/cli_*.rs`.)

mod fake_server;

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use fake_server::FakeServer;

const HOST_H1: &str = r#"{"name":"h1","macAddresses":["52:54:00:00:00:02"],"configuration":null}"#;
const DEPLOYED_H1: &str = r#"{"hosts":[{"name":"h1","configuration":"local","rebooted":"NO"}]}"#;

/// Runs `pxe-pilot` with `args` in an environment free of the caller's `PXE_PILOT_*`.
fn pxe_pilot(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pxe-pilot"));
    // Every PXE_PILOT_* of the caller (PXE_PILOT_TOKEN_FILE too, and whatever comes next).
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("PXE_PILOT_") {
            command.env_remove(var);
        }
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A port nothing listens on (bound, then released).
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn fake_sysfs(root: &Path, interfaces: &[(&str, &str)]) {
    for (name, address) in interfaces {
        let dir = root.join(name);
        fs::create_dir_all(dir.join("device")).unwrap();
        fs::write(dir.join("address"), format!("{address}\n")).unwrap();
    }
}

#[test]
fn help_and_version() {
    let help = pxe_pilot(&["--help"], &[]);
    assert!(help.status.success());
    for word in [
        "bootloader",
        "config",
        "host",
        "--server",
        "--output",
        "--token",
        "--retry-for",
    ] {
        assert!(stdout(&help).contains(word), "{word} missing from --help");
    }
    let version = pxe_pilot(&["--version"], &[]);
    assert!(version.status.success());
    assert_eq!(
        stdout(&version),
        format!("pxe-pilot {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_wrong_command_line_exits_64_not_2() {
    let output = pxe_pilot(&["config", "deploy", "local"], &[]);
    assert_eq!(output.status.code(), Some(64));
    assert!(stderr(&output).contains("HOST"), "{}", stderr(&output));
}

#[test]
fn an_unreachable_server_exits_2_with_one_line() {
    let url = closed_port_url();
    let output = pxe_pilot(&["-s", &url, "--retry-for", "0", "host", "list"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with(&format!(
            "pxe-pilot: cannot reach the pxe-pilot server: GET {url}/v1/hosts: "
        )),
        "{message}"
    );
}

#[test]
fn reads_are_retried_for_retry_for_seconds_each_retry_announced() {
    let url = closed_port_url();
    let started = Instant::now();
    let output = pxe_pilot(&["-s", &url, "--retry-for", "2", "config", "list"], &[]);
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    let retries = message.lines().filter(|l| l.contains("; retry ")).count();
    assert!(retries >= 2, "{message}");
    assert!(message
        .lines()
        .last()
        .unwrap()
        .contains("gave up after retrying for 2s"));
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

#[test]
fn a_refusal_exits_1_with_the_servers_message_and_is_not_retried() {
    let server = FakeServer::start(vec![(404, r#"{"message":"no configuration \"nope\""}"#)]);
    let output = pxe_pilot(&["-s", &server.url, "config", "show", "nope"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "pxe-pilot: no configuration \"nope\" (HTTP 404)\n"
    );
    assert_eq!(server.received().len(), 1);
    assert_eq!(server.received()[0].line, "GET /v1/configurations/nope");
}

#[test]
fn a_failing_server_is_retried_for_reads_and_deploys() {
    let server = FakeServer::start(vec![
        (503, r#"{"message":"starting"}"#),
        (200, &format!("[{HOST_H1}]")),
        (502, ""),
        (200, DEPLOYED_H1),
    ]);
    let output = pxe_pilot(&["-s", &server.url, "host", "list"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).starts_with(
        "pxe-pilot: the pxe-pilot server failed: starting (HTTP 503); retry 1 in 0.5s"
    ));
    assert!(stdout(&output).contains("| h1   |               | 52:54:00:00:00:02 |"));

    let output = pxe_pilot(&["-s", &server.url, "config", "deploy", "local", "h1"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("Bad Gateway (HTTP 502); retry 1"));
    let received = server.received();
    let lines: Vec<_> = received.iter().map(|r| r.line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "GET /v1/hosts",
            "GET /v1/hosts",
            "PUT /v1/configurations/local/deploy",
            "PUT /v1/configurations/local/deploy"
        ]
    );
    assert_eq!(received[3].body, r#"{"hosts":[{"name":"h1"}]}"#);
}

#[test]
fn a_server_bug_is_not_retried() {
    let server = FakeServer::start(vec![
        (
            500,
            r#"{"message":"the server failed while answering (a bug: its log says where); do not retry, report it"}"#,
        ),
        (200, &format!("[{HOST_H1}]")),
    ]);
    let output = pxe_pilot(
        &["-s", &server.url, "--retry-for", "60", "host", "list"],
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!stderr(&output).contains("; retry "), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("(HTTP 500)"),
        "{}",
        stderr(&output)
    );
    assert_eq!(server.received().len(), 1);
}

#[test]
fn power_commands_are_never_retried() {
    let server = FakeServer::start(vec![(503, r#"{"message":"ipmitool hung"}"#)]);
    let output = pxe_pilot(&["-s", &server.url, "host", "reboot", "h1"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "pxe-pilot: the pxe-pilot server failed: ipmitool hung (HTTP 503)\n"
    );
    assert_eq!(server.received().len(), 1);
    assert_eq!(server.received()[0].line, "PATCH /v1/hosts/h1/reboot");
}

#[test]
fn the_token_is_sent_as_a_bearer() {
    let server = FakeServer::start(vec![(204, ""), (204, "")]);
    let output = pxe_pilot(
        &["-s", &server.url, "--token", "s3cret", "host", "on", "h 1"],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "+------+----+\n| NAME | ON |\n+------+----+\n| h 1  | OK |\n+------+----+\n"
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_pxe-pilot"));
    let output = command
        .env("PXE_PILOT_TOKEN", "fromenv")
        .env("PXE_PILOT_SERVER", &server.url)
        .args(["host", "refresh"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let received = server.received();
    assert_eq!(received[0].line, "PATCH /v1/hosts/h%201/on");
    assert!(received[0]
        .headers
        .contains(&"authorization: Bearer s3cret".to_string()));
    assert_eq!(received[1].line, "PATCH /v1/refresh");
    assert!(received[1]
        .headers
        .contains(&"authorization: Bearer fromenv".to_string()));
}

#[test]
fn deploy_self_asks_mac_by_mac_then_deploys_by_the_mac_that_matched() {
    let sysfs = tempfile::tempdir().unwrap();
    fake_sysfs(
        sysfs.path(),
        &[
            ("lo", "00:00:00:00:00:00"),
            ("eno1", "52:54:00:00:00:01"),
            ("eno2", "52:54:00:00:00:02"),
        ],
    );
    let server = FakeServer::start(vec![
        (404, r#"{"message":"no host has MAC 52:54:00:00:00:01"}"#),
        (200, HOST_H1),
        (200, DEPLOYED_H1),
    ]);
    let output = pxe_pilot(
        &["-s", &server.url, "config", "deploy", "local", "--self"],
        &[("PXE_PILOT_SYSFS_NET", sysfs.path())],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "\
+------+---------------+----------+
| NAME | CONFIGURATION | REBOOTED |
+------+---------------+----------+
| h1   | local         | NO       |
+------+---------------+----------+
"
    );
    let received = server.received();
    let lines: Vec<_> = received.iter().map(|r| r.line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "GET /v1/hosts?mac=52%3A54%3A00%3A00%3A00%3A01&status=false",
            "GET /v1/hosts?mac=52%3A54%3A00%3A00%3A00%3A02&status=false",
            "PUT /v1/configurations/local/deploy",
        ]
    );
    assert_eq!(
        received[2].body,
        r#"{"hosts":[{"macAddress":"52:54:00:00:00:02"}]}"#
    );
}

#[test]
fn deploy_self_also_works_with_a_server_that_answers_every_host() {
    let sysfs = tempfile::tempdir().unwrap();
    fake_sysfs(sysfs.path(), &[("eth0", "52:54:00:00:00:02")]);
    let h0 = r#"{"name":"h0","macAddresses":["52:54:00:00:00:09"],"configuration":null}"#;
    let server = FakeServer::start(vec![
        (200, &format!("[{h0},{HOST_H1}]")),
        (200, DEPLOYED_H1),
    ]);
    let output = pxe_pilot(
        &[
            "-s",
            &server.url,
            "config",
            "deploy",
            "-n",
            "local",
            "--self",
        ],
        &[("PXE_PILOT_SYSFS_NET", sysfs.path())],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        server.received()[1].body,
        r#"{"hosts":[{"macAddress":"52:54:00:00:00:02","reboot":true}]}"#
    );
}

#[test]
fn deploy_self_on_an_unknown_machine_exits_1_and_says_which_macs() {
    let sysfs = tempfile::tempdir().unwrap();
    fake_sysfs(sysfs.path(), &[("eth0", "52:54:00:00:00:07")]);
    let server = FakeServer::start(vec![(404, r#"{"message":"no such host"}"#)]);
    let output = pxe_pilot(
        &["-s", &server.url, "config", "deploy", "local", "--self"],
        &[("PXE_PILOT_SYSFS_NET", sysfs.path())],
    );
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("eth0 52:54:00:00:00:07"), "{message}");
    assert_eq!(message.lines().count(), 1);

    let empty = tempfile::tempdir().unwrap();
    let output = pxe_pilot(
        &["-s", &server.url, "config", "deploy", "local", "--self"],
        &[("PXE_PILOT_SYSFS_NET", empty.path())],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("no network interface with a MAC address"));
}

#[test]
fn json_output_is_the_servers_json_pretty() {
    let server = FakeServer::start(vec![
        (200, &format!("[{HOST_H1}]")),
        (204, ""),
        (200, r#"{"name":"local","content":"LOCALBOOT 0"}"#),
    ]);
    let output = pxe_pilot(&["-s", &server.url, "-o", "json", "host", "list"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "[\n  {\n    \"name\": \"h1\",\n    \"macAddresses\": [\n      \"52:54:00:00:00:02\"\n    ],\n    \"configuration\": null\n  }\n]\n"
    );
    let output = pxe_pilot(&["-s", &server.url, "host", "off", "h1", "-o", "json"], &[]);
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
    let output = pxe_pilot(&["-s", &server.url, "config", "show", "local"], &[]);
    assert_eq!(stdout(&output), "LOCALBOOT 0\n");
}

#[test]
fn a_failed_reboot_is_shown_and_said_but_the_deploy_stands() {
    let server = FakeServer::start(vec![(
        200,
        r#"{"hosts":[{"name":"h1","configuration":"local","rebooted":"ERROR"}]}"#,
    )]);
    let output = pxe_pilot(
        &["-s", &server.url, "config", "deploy", "-n", "local", "h1"],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("| h1   | local         | ERROR    |\n"));
    assert_eq!(
        stderr(&output),
        "pxe-pilot: host h1 now boots local, but its reboot failed (see the server's log)\n"
    );
    assert_eq!(
        server.received()[0].body,
        r#"{"hosts":[{"name":"h1","reboot":true}]}"#
    );
}

#[test]
fn a_deploy_that_reboots_is_not_sent_again_when_its_answer_is_lost() {
    // The server receives the request, then the connection breaks: the reboot may have
    // happened. Sending it again could reset the host twice.
    let server = FakeServer::start(vec![(0, ""), (0, ""), (0, "")]);
    let output = pxe_pilot(
        &[
            "-s",
            &server.url,
            "--retry-for",
            "3",
            "config",
            "deploy",
            "--now",
            "local",
            "h1",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(server.received().len(), 1, "sent once only");
    // A deploy without reboot is idempotent: sent again.
    let server = FakeServer::start(vec![(0, ""), (200, DEPLOYED_H1)]);
    let output = pxe_pilot(
        &[
            "-s",
            &server.url,
            "--retry-for",
            "3",
            "config",
            "deploy",
            "local",
            "h1",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(server.received().len(), 2);
}

#[test]
fn the_token_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    fs::write(&file, "s3cret\nsecond line ignored\n").unwrap();
    let server = FakeServer::start(vec![(200, DEPLOYED_H1)]);
    let output = pxe_pilot(
        &[
            "-s",
            &server.url,
            "--token-file",
            file.to_str().unwrap(),
            "config",
            "deploy",
            "local",
            "h1",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let received = server.received();
    assert!(
        received[0]
            .headers
            .iter()
            .any(|h| h == "authorization: Bearer s3cret"),
        "{:?}",
        received[0].headers
    );
    fs::write(&file, "\n").unwrap();
    let output = pxe_pilot(
        &[
            "-s",
            &server.url,
            "--token-file",
            file.to_str().unwrap(),
            "host",
            "list",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("first line is empty"),
        "{}",
        stderr(&output)
    );
}
