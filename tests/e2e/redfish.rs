//! End-to-end: pxe-pilot's Redfish power management against OpenStack's real Redfish emulator,
//! `sushy-emulator` 2.2.0 (PyPI `sushy-tools`, fake systems driver), over HTTPS with Basic auth.
//!
//! The emulator runs from a Python venv the test creates (or reuses) in `target/e2e-venv/`
//! (`PXE_PILOT_E2E_VENV` names another), serves a certificate signed by a throw-away CA made
//! with openssl, checks users against a bcrypt htpasswd, keeps its state in a fresh folder and
//! logs every request it gets (method, path, user, status, body) to `requests.jsonl`: the fake
//! driver's GET always answers `BootSourceOverrideEnabled: Continuous`, so what pxe-pilot sent
//! is read there. It has two systems; pxe-pilot-server has four hosts on it:
//! - `rf-ca`: `ca_file:` the CA, so TLS is verified;
//! - `rf-insecure`: `tls_verify: false`;
//! - `rf-badpass`: a wrong password (the BMC answers 401);
//! - `rf-noca`: `tls_verify: true` (the default) and no `ca_file`: the CA is unknown.
//!
//! Checked through the real CLI and raw HTTP: `host list` shows the emulator's `PowerState`;
//! `host on`/`off`/`reboot` reach it (read back on its own API with curl: the fake driver
//! applies a change 0-11 s after the request); `config deploy --now` answers `NETBOOT ONCE`
//! and the emulator received the `PATCH` of `Boot` (`Pxe`, `Once`) and then the `Reset`; the
//! wrong password answers 409 with the BMC's message and the password is in no answer, log or
//! event; an unknown CA fails with a TLS message; the events are recorded.
//!
//! Logs stay in `target/e2e-artifacts/redfish/`. Run alone with
//! `cargo build -p pxe-pilot-server -p pxe-pilot-cli && cargo test --test e2e redfish::`.

use crate::{bmc, common, e2e};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bmc::{host_events, http, FakeSystem, Pki, Sushy};
use common::{binary, TestServer};
use e2e::{cli, link_target, log_tail, require, run_capture, Artifacts, Need};
use serde_json::{json, Value};

const USER: &str = "admin";
const PASSWORD: &str = "Rf-e2e-s3cret-9f1";
const WRONG_PASSWORD: &str = "Rf-e2e-WRONG-77a";

const SYSTEM_A: FakeSystem = FakeSystem {
    uuid: "8c3c3a3e-6f4e-4f53-9d1a-5b1e0e2f0a01",
    name: "sys-a",
    power: "Off",
    mac: "52:54:00:e2:f1:01",
};
const SYSTEM_B: FakeSystem = FakeSystem {
    uuid: "8c3c3a3e-6f4e-4f53-9d1a-5b1e0e2f0b02",
    name: "sys-b",
    power: "On",
    mac: "52:54:00:e2:f1:02",
};

/// How long the fake driver may take to apply a power change (measured 0-11 s), with margin.
const POWER_LIMIT: Duration = Duration::from_secs(20);

fn server_config(dir: &Path, tftp: &Path, sushy: &Sushy) -> std::path::PathBuf {
    let conf = tftp.join("pxelinux.cfg/conf");
    fs::create_dir_all(&conf).expect("create the catalogue");
    fs::write(conf.join("local"), "LOCALBOOT 0\n").expect("write conf/local");
    fs::write(conf.join("installer"), "KERNEL vmlinuz\n").expect("write conf/installer");
    let state = dir.join("state");
    fs::create_dir_all(&state).expect("create the state folder");
    let host = |name: &str, mac: &str, system: &FakeSystem, extra: &str, password: &str| {
        format!(
            "  - name: {name}\n    mac_addresses: [\"{mac}\"]\n    redfish:\n      \
             address: \"{}\"\n      username: {USER}\n      password: \"{password}\"\n      \
             system: \"{}\"\n{extra}",
            sushy.url,
            system.path()
        )
    };
    let ca = format!("      ca_file: \"{}\"\n", sushy.ca.display());
    let yaml = format!(
        "hosts:\n{}{}{}{}\
         tftp:\n  root: {}\nconfiguration:\n  directory: {}\n\
         power:\n  status_ttl: 0\n  status_wait: 20\nstate_dir: {}\n",
        host("rf-ca", SYSTEM_A.mac, &SYSTEM_A, &ca, PASSWORD),
        host(
            "rf-insecure",
            SYSTEM_B.mac,
            &SYSTEM_B,
            "      tls_verify: false\n",
            PASSWORD
        ),
        host(
            "rf-badpass",
            "52:54:00:e2:f1:03",
            &SYSTEM_A,
            &ca,
            WRONG_PASSWORD
        ),
        host("rf-noca", "52:54:00:e2:f1:04", &SYSTEM_A, "", PASSWORD),
        tftp.display(),
        conf.display(),
        state.display()
    );
    let path = dir.join("pxe-pilot.yml");
    fs::write(&path, yaml).expect("write the server's configuration");
    path
}

/// `pxe-pilot -o json host list`, as (name -> powerState).
fn power_states(server: &TestServer) -> Vec<(String, String)> {
    let out = cli(server, &["-o", "json", "host", "list"]);
    let hosts: Vec<Value> = serde_json::from_str(&out).expect("host list -o json is JSON");
    hosts
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap_or("?").to_owned(),
                h["powerState"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

fn state_of(states: &[(String, String)], host: &str) -> String {
    states
        .iter()
        .find(|(n, _)| n == host)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| panic!("host list has no {host}: {states:?}"))
}

/// The requests logged after the first `from`, for one system's paths.
fn requests_for(sushy: &Sushy, from: usize, system: &FakeSystem) -> Vec<Value> {
    sushy
        .requests()
        .into_iter()
        .skip(from)
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains(system.uuid)))
        .collect()
}

/// The ResetTypes POSTed to `system` after request `from`.
fn resets(sushy: &Sushy, from: usize, system: &FakeSystem) -> Vec<String> {
    requests_for(sushy, from, system)
        .iter()
        .filter(|r| r["method"] == "POST")
        .filter_map(|r| r["json"]["ResetType"].as_str().map(str::to_owned))
        .collect()
}

/// The row of `name` in a table the CLI printed.
fn table_row(table: &str, name: &str) -> String {
    table
        .lines()
        .find(|l| l.starts_with("| ") && l.contains(&format!("| {name} ")))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{table}"))
        .to_owned()
}

/// Runs the CLI and returns (exit success, output) without failing on a non-zero exit.
fn cli_raw(server: &TestServer, args: &[&str]) -> (bool, String) {
    run_capture(
        Command::new(binary("pxe-pilot"))
            .arg("-s")
            .arg(&server.base)
            .args(args),
        Duration::from_secs(60),
    )
}

/// One power action through the CLI, then the emulator must read `want` for `system`.
fn power(
    server: &TestServer,
    sushy: &Sushy,
    verb: &str,
    host: &str,
    system: &FakeSystem,
    want: &str,
    reset: &str,
) {
    let from = sushy.requests().len();
    let out = cli(server, &["host", verb, host]);
    assert!(out.contains("OK"), "`host {verb} {host}` printed:\n{out}");
    assert_eq!(
        resets(sushy, from, system),
        [reset],
        "`host {verb} {host}` must POST exactly one Reset {reset}; requests:\n{}",
        sushy.requests_text()
    );
    let took = sushy.wait_power(system, want, POWER_LIMIT);
    eprintln!(
        "host {verb} {host}: Reset {reset}, the emulator reads PowerState {want} after {took:.1?}"
    );
}

/// What the Redfish tests need (the venv with sushy-tools is made by the test).
pub fn needs() -> Vec<Need> {
    vec![
        Need::Command("python3", "python3-venv"),
        Need::Command("openssl", "openssl"),
        Need::Command("curl", "curl"),
    ]
}

pub fn redfish_power_and_network_boot_once_against_sushy_emulator() {
    let started = Instant::now();
    let venv = bmc::sushy_venv();
    let venv_need = [Need::Found(
        venv.is_ok(),
        "a Python venv with sushy-tools 2.2.0 and bcrypt 5.0.0 (made by the test with pip from PyPI; failed)",
        "python3-venv",
    )];
    if let Err(why) = &venv {
        e2e::loud(&format!("e2e_redfish: {why}"));
    }
    if !require("e2e_redfish", &venv_need) {
        return;
    }
    let venv = venv.expect("checked");
    let venv_took = started.elapsed();

    let artifacts = Artifacts::new("redfish");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let pki = Pki::new(dir.path());
    let sushy = Sushy::start(
        &venv,
        &artifacts.path("sushy"),
        &pki,
        &[SYSTEM_A, SYSTEM_B],
        USER,
        PASSWORD,
    );
    let tftp = dir.path().join("tftp");
    let config = server_config(dir.path(), &tftp, &sushy);
    let server = TestServer::builder()
        .config(&config)
        .log_file(artifacts.path("server.log"))
        .env("RUST_LOG", "debug")
        .timeout(Duration::from_secs(30))
        .start();
    eprintln!(
        "sushy-emulator on {} (venv ready in {venv_took:.1?}), server on {}",
        sushy.url, server.base
    );
    let mut answers: Vec<String> = Vec::new();

    // The emulator's view first, then pxe-pilot's listing of it.
    assert_eq!(sushy.power_state(&SYSTEM_A), "Off");
    assert_eq!(sushy.power_state(&SYSTEM_B), "On");
    let table = cli(&server, &["host", "list"]);
    eprintln!("host list:\n{table}");
    let row = |name: &str| table_row(&table, name);
    assert!(row("rf-ca").contains(" Off "), "{table}");
    assert!(row("rf-insecure").contains(" On "), "{table}");
    assert!(row("rf-badpass").contains("Unknown"), "{table}");
    assert!(row("rf-noca").contains("Unknown"), "{table}");
    answers.push(table);

    // on / off / reboot reach the BMC: the emulator's own API shows the change.
    power(&server, &sushy, "on", "rf-ca", &SYSTEM_A, "On", "On");
    assert_eq!(state_of(&power_states(&server), "rf-ca"), "On");
    power(
        &server, &sushy, "off", "rf-ca", &SYSTEM_A, "Off", "ForceOff",
    );
    assert_eq!(state_of(&power_states(&server), "rf-ca"), "Off");
    // A reboot of a host that is off powers it on (DESIGN §6).
    power(&server, &sushy, "reboot", "rf-ca", &SYSTEM_A, "On", "On");
    // tls_verify: false against the same certificate, a system that is on: ForceRestart.
    power(
        &server,
        &sushy,
        "reboot",
        "rf-insecure",
        &SYSTEM_B,
        "On",
        "ForceRestart",
    );
    let states = power_states(&server);
    assert_eq!(state_of(&states, "rf-ca"), "On");
    assert_eq!(state_of(&states, "rf-insecure"), "On");

    // config deploy --now: the next boot a network boot, once, then the reset.
    let from = sushy.requests().len();
    let out = cli(
        &server,
        &["config", "deploy", "--now", "installer", "rf-ca"],
    );
    eprintln!("config deploy --now installer rf-ca:\n{out}");
    let row = table_row(&out, "rf-ca");
    assert!(
        row.contains(" installer ") && row.contains(" YES ") && row.contains(" ONCE "),
        "deploy --now must answer rebooted YES and netboot ONCE:\n{out}"
    );
    answers.push(out);
    let sent = requests_for(&sushy, from, &SYSTEM_A);
    let patch = sent
        .iter()
        .position(|r| r["method"] == "PATCH")
        .unwrap_or_else(|| panic!("no PATCH reached the emulator:\n{}", sushy.requests_text()));
    assert_eq!(
        sent[patch]["json"],
        json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}}),
        "the PATCH's body"
    );
    assert_eq!(sent[patch]["status"], 204, "the emulator took the PATCH");
    assert_eq!(sent[patch]["user"], USER);
    assert_eq!(
        sent[patch]["content_type"]
            .as_str()
            .map(|t| t.starts_with("application/json")),
        Some(true),
        "sushy answers 415 to a non-JSON content type"
    );
    let reset = sent
        .iter()
        .position(|r| r["method"] == "POST")
        .unwrap_or_else(|| panic!("no Reset reached the emulator:\n{}", sushy.requests_text()));
    assert!(
        patch < reset,
        "the PATCH must come before the Reset:\n{}",
        sushy.requests_text()
    );
    assert_eq!(sent[reset]["json"]["ResetType"], "ForceRestart");
    assert!(sent[reset]["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("/Actions/ComputerSystem.Reset")));
    assert_eq!(sent[reset]["status"], 204);
    assert!(
        sushy.log().contains("Set boot device to \"Pxe\""),
        "the emulator's log must show the boot device set"
    );
    sushy.wait_power(&SYSTEM_A, "On", POWER_LIMIT);
    assert_eq!(
        link_target(&tftp.join("pxelinux.cfg/01-52-54-00-e2-f1-01")),
        "conf/installer"
    );
    let patch_line = sent[patch].to_string();
    let reset_line = sent[reset].to_string();
    eprintln!("emulator's request log:\n  {patch_line}\n  {reset_line}");

    // The wrong password: 409 with the BMC's message, never the password.
    let from = sushy.requests().len();
    let (code, body) = http("PATCH", &server.url("/v1/hosts/rf-badpass/on"), &[], None);
    eprintln!("PATCH /v1/hosts/rf-badpass/on -> {code} {body}");
    assert_eq!(
        code, 409,
        "a BMC refusing the password is a conflict: {body}"
    );
    assert!(
        body.contains("Incorrect username or password") && body.contains("401"),
        "the answer must carry the BMC's message: {body}"
    );
    answers.push(body);
    let refused = sushy.requests().into_iter().skip(from).collect::<Vec<_>>();
    assert!(
        !refused.is_empty() && refused.iter().all(|r| r["status"] == 401),
        "the emulator must have refused the wrong password:\n{}",
        sushy.requests_text()
    );
    let (ok, out) = cli_raw(&server, &["host", "on", "rf-badpass"]);
    assert!(!ok, "`host on rf-badpass` must fail:\n{out}");
    assert!(out.contains("Incorrect username or password"), "{out}");
    answers.push(out);
    let (_, out) = cli_raw(
        &server,
        &["config", "deploy", "--now", "local", "rf-badpass"],
    );
    eprintln!("config deploy --now local rf-badpass:\n{out}");
    let row = table_row(&out, "rf-badpass");
    assert!(
        row.contains(" local ") && row.contains("ERROR"),
        "the deploy stands, its netboot and reboot failed:\n{out}"
    );
    answers.push(out);
    let (code, body) = http(
        "PUT",
        &server.url("/v1/configurations/local/deploy"),
        &[],
        Some(r#"{"hosts":[{"name":"rf-badpass","reboot":true}]}"#),
    );
    assert_eq!(code, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["hosts"][0]["netboot"], "ERROR", "{body}");
    assert_eq!(answer["hosts"][0]["rebooted"], "ERROR", "{body}");
    answers.push(body);

    // tls_verify: true without ca_file against the test CA: a clear TLS failure, no request.
    let from = sushy.requests().len();
    let (code, body) = http("PATCH", &server.url("/v1/hosts/rf-noca/on"), &[], None);
    eprintln!("PATCH /v1/hosts/rf-noca/on -> {code} {body}");
    assert_eq!(code, 409, "{body}");
    let lower = body.to_lowercase();
    assert!(
        lower.contains("certificate") || lower.contains("tls") || lower.contains("issuer"),
        "the answer must say the TLS check failed: {body}"
    );
    assert_eq!(
        sushy.requests().len(),
        from,
        "no request may pass an unverified TLS handshake"
    );
    answers.push(body);

    // Events: power (on, off, reboot), netboot once, and the failures.
    let events = host_events(&server.base, "rf-ca");
    bmc::assert_power_and_netboot_events(&events, "rf-ca");
    let text = bmc::events_text(&events);
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "deploy" && e["to"] == "installer"),
        "no deploy event of rf-ca:\n{text}"
    );
    let bad = host_events(&server.base, "rf-badpass");
    assert!(
        bad.iter()
            .any(|e| e["kind"] == "power" && e["result"] != "ok"),
        "the failed power action must be recorded:\n{}",
        bmc::events_text(&bad)
    );
    assert!(
        bad.iter()
            .any(|e| e["kind"] == "netboot" && e["result"] != "ok"),
        "the failed netboot must be recorded:\n{}",
        bmc::events_text(&bad)
    );
    eprintln!("events of rf-ca (newest first):\n{text}");

    // The passwords are nowhere: answers, events, listings, the server's log, its state files.
    let (_, all_events) = http("GET", &server.url("/v1/events?limit=1000"), &[], None);
    let (_, hosts) = http("GET", &server.url("/v1/hosts"), &[], None);
    answers.extend([all_events, hosts]);
    let mut state_files = String::new();
    for entry in fs::read_dir(dir.path().join("state")).expect("read the state folder") {
        let path = entry.expect("an entry").path();
        if path.is_file() {
            state_files.push_str(&String::from_utf8_lossy(
                &fs::read(&path).unwrap_or_default(),
            ));
        }
    }
    let log = server.logs();
    for secret in [PASSWORD, WRONG_PASSWORD] {
        for (what, text) in [
            ("an answer", answers.join("\n")),
            ("the server's log", log.clone()),
            ("the state folder", state_files.clone()),
        ] {
            assert!(
                !text.contains(secret),
                "a BMC password is in {what}:\n{}",
                if what == "the server's log" {
                    log_tail(server.log_file(), 40)
                } else {
                    text.clone()
                }
            );
        }
    }
    assert!(
        log.contains("Incorrect username or password"),
        "the server's log must say why the BMC refused"
    );
    eprintln!(
        "e2e_redfish: done in {:.1?} ({} requests reached the emulator)",
        started.elapsed(),
        sushy.requests().len()
    );
}

/// A `system:` path that the BMC redirects: sushy-emulator answers `/redfish/v1/Systems/<name>`
/// with `307 Temporary Redirect` to `/Systems/<uuid>` (BMCs do this for aliases too). The GETs
/// follow it; the PATCH of the boot override goes to the system's own `@odata.id` (a PATCH sent
/// to the alias failed with "redirect failed" before that fix).
pub fn redfish_system_named_through_a_redirect() {
    let venv = bmc::sushy_venv().unwrap_or_else(|why| panic!("{why}"));
    let artifacts = Artifacts::new("redfish-redirect");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let pki = Pki::new(dir.path());
    let system = FakeSystem {
        power: "On",
        ..SYSTEM_A
    };
    let sushy = Sushy::start(
        &venv,
        &artifacts.path("sushy"),
        &pki,
        &[system],
        USER,
        PASSWORD,
    );
    let tftp = dir.path().join("tftp");
    let conf = tftp.join("pxelinux.cfg/conf");
    fs::create_dir_all(&conf).expect("create the catalogue");
    fs::write(conf.join("local"), "LOCALBOOT 0\n").expect("write conf/local");
    let config = dir.path().join("pxe-pilot.yml");
    fs::write(
        &config,
        format!(
            "hosts:\n  - name: byname\n    mac_addresses: [\"{}\"]\n    redfish:\n      \
             address: \"{}\"\n      username: {USER}\n      password: \"{PASSWORD}\"\n      \
             system: /redfish/v1/Systems/{}\n      ca_file: \"{}\"\n\
             tftp:\n  root: {}\nconfiguration:\n  directory: {}\n",
            system.mac,
            sushy.url,
            system.name,
            sushy.ca.display(),
            tftp.display(),
            conf.display()
        ),
    )
    .expect("write the server's configuration");
    let server = TestServer::builder()
        .config(&config)
        .log_file(artifacts.path("server.log"))
        .start();
    let (code, body) = http(
        "PUT",
        &server.url("/v1/configurations/local/deploy"),
        &[],
        Some(r#"{"hosts":[{"name":"byname","reboot":true}]}"#),
    );
    assert_eq!(code, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        answer["hosts"][0]["netboot"],
        "ONCE",
        "the boot override must reach the redirected system: {body}\nrequests:\n{}\n{}",
        sushy.requests_text(),
        log_tail(server.log_file(), 10)
    );
    assert!(sushy
        .requests()
        .iter()
        .any(|r| r["method"] == "PATCH" && r["status"] == 204));
}
