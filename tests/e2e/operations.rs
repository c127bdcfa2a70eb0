//! Operating the real server: `--check` validates a configuration file like `nginx -t`,
//! SIGHUP reloads it (a valid file replaces the old one for the next requests, an invalid one
//! is logged and the old one stays), and `GET /metrics` is read by Prometheus' own parser.

use crate::common;
use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{binary, TestServer, World, H1, SEED_MAC};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::json;

fn deploy(server: &TestServer, configuration: &str, host: &str) -> StatusCode {
    Client::new()
        .put(server.url(&format!("/v1/configurations/{configuration}/deploy")))
        .json(&json!({"hosts": [{"name": host}]}))
        .send()
        .unwrap()
        .status()
}

/// Waits until the server's log has `line` (after `from` bytes of it).
fn wait_for_log(server: &TestServer, from: usize, line: &str) -> String {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let logs = server.logs();
        if logs.get(from..).is_some_and(|new| new.contains(line)) {
            return logs[from..].to_owned();
        }
        assert!(Instant::now() < until, "no {line:?} in the log:\n{logs}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn check_validates_a_configuration_file_and_exits_0_or_1_with_one_line() {
    let world = World::new();
    let output = Command::new(binary("pxe-pilot-server"))
        .args(["--check", "-c"])
        .arg(&world.config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("is valid (4 hosts"), "{said}");
    fs::write(&world.config, "hosts: [\n").unwrap();
    let output = Command::new(binary("pxe-pilot-server"))
        .args(["--check", "-c"])
        .arg(&world.config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8_lossy(&output.stderr);
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.starts_with("pxe-pilot-server: "), "{error}");
    assert!(
        error.contains(&world.config.display().to_string()),
        "{error}"
    );
}

pub fn sighup_reloads_a_valid_file_and_keeps_the_old_one_when_the_new_is_broken() {
    let world = World::new();
    let server = world.serve();
    assert_eq!(deploy(&server, "local", "newcomer"), StatusCode::NOT_FOUND);
    // A rack arrives: a host is added to the file, the server is told.
    let original = fs::read_to_string(&world.config).unwrap();
    let added = original.replacen(
        "hosts:\n",
        "hosts:\n  - name: newcomer\n    mac_addresses: ['52:54:00:99:00:01']\n",
        1,
    );
    assert_ne!(
        added, original,
        "the fixture's file starts its host list with `hosts:`"
    );
    fs::write(&world.config, &added).unwrap();
    let from = server.logs().len();
    hangup(&server);
    wait_for_log(&server, from, "SIGHUP: configuration reloaded");
    assert_eq!(deploy(&server, "local", "newcomer"), StatusCode::OK);
    assert_eq!(
        fs::read_link(world.entry("52:54:00:99:00:01"))
            .unwrap()
            .display()
            .to_string(),
        "conf/local"
    );
    // A broken file: logged with its one-line error, the server goes on with the last one.
    fs::write(&world.config, "hosts: [\n").unwrap();
    let from = server.logs().len();
    hangup(&server);
    let said = wait_for_log(&server, from, "not reloaded, the previous one stays");
    assert!(said.contains(&world.config.display().to_string()), "{said}");
    assert_eq!(deploy(&server, "grml-2017.05", "newcomer"), StatusCode::OK);
    assert_eq!(deploy(&server, "local", H1), StatusCode::OK);
}

fn hangup(server: &TestServer) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

pub fn metrics_are_read_by_prometheus_own_parser() {
    let world = World::new();
    let server = world.serve();
    assert_eq!(deploy(&server, "local", H1), StatusCode::OK);
    assert_eq!(deploy(&server, "local", "ghost"), StatusCode::NOT_FOUND);
    let client = Client::new();
    client
        .get(server.url("/v1/hosts?status=false"))
        .send()
        .unwrap();
    client
        .get(server.url(&format!("/v1/hosts?mac={SEED_MAC}")))
        .send()
        .unwrap();
    let response = client.get(server.url("/metrics")).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().unwrap();
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    for line in [
        r#"pxe_pilot_deploys_total{kind="deploy",result="ok"} 1"#,
        r#"pxe_pilot_hosts{configuration="local"} 1"#,
        r#"pxe_pilot_hosts{configuration="none"} 3"#,
        r#"pxe_pilot_http_requests_total{method="PUT",route="/v1/configurations/{name}/deploy",status="200"} 1"#,
        r#"pxe_pilot_http_requests_total{method="PUT",route="/v1/configurations/{name}/deploy",status="404"} 1"#,
        r#"pxe_pilot_http_requests_total{method="GET",route="/v1/hosts",status="200"} 2"#,
        "pxe_pilot_power_commands_running 0",
        "# TYPE pxe_pilot_http_request_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
}

pub fn an_answered_change_is_in_the_events_after_a_sigkill() {
    let world = World::new();
    let state = world.path().join("state");
    fs::create_dir(&state).unwrap();
    let config = fs::read_to_string(&world.config).unwrap() + "state_dir: state\n";
    fs::write(&world.config, config).unwrap();
    let mut server = world.serve();
    assert_eq!(deploy(&server, "local", H1), StatusCode::OK);
    // Killed right after the answer: no flush, no graceful stop.
    server.kill();
    let server = world.serve();
    let events: Vec<serde_json::Value> = Client::new()
        .get(server.url(&format!("/v1/hosts/{H1}/events")))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["kind"], "deploy");
    assert_eq!(events[0]["to"], "local");
}
