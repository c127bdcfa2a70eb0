//! End-to-end: `tftp.serve`, pxe-pilot as the TFTP server, read by the real tftp-hpa client.
//! A read of a host's `pxelinux.cfg/01-<mac>` is a boot (event `tftp`, `lastBoot`); a host
//! deployed `--once` gets the installer on that read and `local` on the next one; a read for
//! a MAC no host has lists an unknown machine; writes and `..` are refused.
//!
//! Needs `tftp-hpa` (`tftp`). The VM boot over a network namespace is `e2e_tftp_boot`.

mod common;
mod e2e;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestServer;
use e2e::{require, Need};
use serde_json::{json, Value};

const H1: &str = "52:54:00:77:00:01";
const STRANGER: &str = "52:54:00:77:00:99";
const INSTALLER: &str = "DEFAULT install\nLABEL install\n  SAY installer\n";
const LOCAL: &str = "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n";

/// A TFTP root with `installer` and `local`, host h1, `tftp.serve` on a free loopback port.
fn world(dir: &Path) -> PathBuf {
    let conf = dir.join("tftp/pxelinux.cfg/conf");
    fs::create_dir_all(&conf).unwrap();
    fs::write(conf.join("installer"), INSTALLER).unwrap();
    fs::write(conf.join("local"), LOCAL).unwrap();
    fs::write(dir.join("tftp/pxelinux.0"), "not a real bootloader").unwrap();
    fs::create_dir_all(dir.join("state")).unwrap();
    let config = dir.join("pxe-pilot.yml");
    fs::write(
        &config,
        format!(
            "hosts:\n  - name: h1\n    mac_addresses: ['{H1}']\n\
             tftp:\n  root: tftp\n  serve: 127.0.0.1:0\n\
             configuration:\n  directory: tftp/pxelinux.cfg/conf\n\
             state_dir: state\n"
        ),
    )
    .unwrap();
    config
}

/// The TFTP address the server announced in its log.
fn tftp_address(server: &TestServer) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = server.logs();
        if let Some(line) = logs.lines().find(|l| l.contains("over TFTP on ")) {
            let address = line.rsplit("over TFTP on ").next().unwrap().trim();
            return address.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no TFTP address in the log:\n{logs}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `tftp -m binary HOST PORT -c get FILE OUT`: the file's text, or the client's output.
fn get(address: &str, file: &str, out: &Path) -> Result<String, String> {
    let (host, port) = address.rsplit_once(':').unwrap();
    let _ = fs::remove_file(out);
    let run = Command::new("tftp")
        .args(["-m", "binary", host, port, "-c", "get", file])
        .arg(out)
        .output()
        .expect("run tftp");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    match fs::read_to_string(out) {
        Ok(text) if !said.contains("Error") => Ok(text),
        _ => Err(said),
    }
}

fn json(server: &TestServer, path: &str) -> Value {
    reqwest::blocking::get(server.url(path))
        .unwrap()
        .json()
        .unwrap()
}

/// Waits until `check` holds of the server's state (the reads are recorded just after the
/// transfer ends, off the TFTP session).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_per_mac_entry_read_over_pxe_pilot_s_tftp_is_a_boot_and_once_falls_back() {
    if !require("e2e_tftp_serve", &[Need::Command("tftp", "tftp-hpa")]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = world(dir.path());
    let server = TestServer::builder()
        .config(&config)
        .current_dir(dir.path())
        .start();
    let address = tftp_address(&server);
    let out = dir.path().join("got");
    let entry = format!("pxelinux.cfg/01-{}", H1.replace(':', "-"));

    // --once of a PXELINUX configuration is accepted: pxe-pilot sees the TFTP read.
    let deployed = reqwest::blocking::Client::new()
        .put(server.url("/v1/configurations/installer/deploy"))
        .json(&json!({"hosts": [{"name": "h1", "once": true}]}))
        .send()
        .unwrap();
    assert_eq!(deployed.status(), 200, "{}", deployed.text().unwrap());

    // The bootloader itself is no boot; the entry is: the installer, then local.
    assert_eq!(
        get(&address, "pxelinux.0", &out).unwrap(),
        "not a real bootloader"
    );
    assert_eq!(get(&address, &entry, &out).unwrap(), INSTALLER);
    eventually("the once fallback after the read", || {
        json(&server, "/v1/hosts/h1?status=false")["configuration"]["name"] == "local"
    });
    assert_eq!(get(&address, &entry, &out).unwrap(), LOCAL);
    eventually("the second boot recorded", || {
        let events = json(&server, "/v1/hosts/h1/events");
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "boot")
            .count()
            == 2
    });
    let events = json(&server, "/v1/hosts/h1/events");
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["boot", "once_fallback", "boot", "deploy"],
        "{events}"
    );
    assert_eq!(events[0]["to"], "local");
    assert_eq!(events[2]["to"], "installer");
    assert!(
        events[2]["detail"].as_str().unwrap().starts_with("tftp"),
        "{events}"
    );
    let host = json(&server, "/v1/hosts/h1?status=false");
    assert_eq!(host["lastBoot"]["configuration"], "local", "{host}");

    // A MAC no host has: an unknown machine, not an event.
    let stranger = format!("pxelinux.cfg/01-{}", STRANGER.replace(':', "-"));
    let said = get(&address, &stranger, &out).unwrap_err();
    assert!(said.contains("not found"), "{said}");
    eventually("the unknown machine listed", || {
        json(&server, "/v1/unknown-machines")
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["macAddress"] == STRANGER && m["via"] == "tftp")
    });

    // Read only, beneath the root.
    let put = Command::new("tftp")
        .args(["-m", "binary"])
        .args(address.rsplit_once(':').map(|(h, p)| [h, p]).unwrap())
        .args(["-c", "put"])
        .arg(&config)
        .arg("pxelinux.cfg/evil")
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&put.stdout).into_owned() + &String::from_utf8_lossy(&put.stderr);
    assert!(said.contains("read only"), "{said}");
    assert!(!dir.path().join("tftp/pxelinux.cfg/evil").exists());
    let up = get(&address, "../pxe-pilot.yml", &out).unwrap_err();
    assert!(!up.is_empty());
}
