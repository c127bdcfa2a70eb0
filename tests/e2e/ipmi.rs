//! End-to-end: pxe-pilot's IPMI power management with Debian's real `ipmitool` against
//! OpenIPMI's real BMC emulator, `ipmi_sim` (Debian `openipmi`), over IPMI 2.0 (`lanplus`).
//!
//! Three emulated BMCs on free UDP ports of 127.0.0.1, each with a `chassis_control` program
//! (ipmi_sim hands power and boot-device requests only to such a program) that keeps power and
//! boot device in files and logs every call: what reached the BMC. pxe-pilot-server has four
//! hosts on them, configured as an operator would (`port:` the BMC's port, `cipher_suite: 3`:
//! ipmi_sim does not answer the cipher-suite query, without `-C 3` every call waits 10 s):
//! - `i1` (BMC 1): status, on, off, reboot, and `config deploy --now`: `set boot pxe` reaches
//!   the BMC before the reset;
//! - `i2` (BMC 2), `boot_mode: uefi`: `chassis bootdev pxe options=efiboot` is sent. ipmi_sim
//!   drops the EFI flag before its chassis_control program, so the server's `ipmitool` is a
//!   shim that logs its arguments and execs the real one;
//! - `i3` (BMC 3), `netboot_once: false`: `NETBOOT SKIPPED` and no boot device reaches the BMC;
//! - `i4` (BMC 1), a wrong password: 409 with ipmitool's message, never the password.
//!
//! The shim's log shows every call's arguments: `-E` each time, the password never on a command
//! line. Logs stay in `target/e2e-artifacts/ipmi/`. Run alone with
//! `cargo build -p pxe-pilot-server -p pxe-pilot-cli && cargo test --test e2e ipmi::`.

use crate::{bmc, common, e2e};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bmc::{host_events, http, IpmiSim};
use common::TestServer;
use e2e::{cli, link_target, Artifacts, Need};
use serde_json::Value;

const USER: &str = "admin";
/// ipmitool refuses passwords over 20 bytes itself.
const PASSWORD: &str = "Ipmi-e2e-s3cret";
const WRONG_PASSWORD: &str = "Ipmi-e2e-WRONG";

struct Host {
    name: &'static str,
    mac: &'static str,
    extra: &'static str,
}

const I1: Host = Host {
    name: "i1",
    mac: "52:54:00:e2:a1:01",
    extra: "",
};
const I2: Host = Host {
    name: "i2",
    mac: "52:54:00:e2:a1:02",
    extra: "    boot_mode: uefi\n",
};
const I3: Host = Host {
    name: "i3",
    mac: "52:54:00:e2:a1:03",
    extra: "    netboot_once: false\n",
};
const I4: Host = Host {
    name: "i4",
    mac: "52:54:00:e2:a1:04",
    extra: "",
};

fn server_config(dir: &Path, tftp: &Path, hosts: &[(&Host, u16, &str)]) -> PathBuf {
    let conf = tftp.join("pxelinux.cfg/conf");
    fs::create_dir_all(&conf).expect("create the catalogue");
    fs::write(conf.join("local"), "LOCALBOOT 0\n").expect("write conf/local");
    fs::write(conf.join("installer"), "KERNEL vmlinuz\n").expect("write conf/installer");
    let state = dir.join("state");
    fs::create_dir_all(&state).expect("create the state folder");
    let mut yaml = String::from("hosts:\n");
    for (host, port, password) in hosts {
        yaml.push_str(&format!(
            "  - name: {}\n    mac_addresses: [\"{}\"]\n    ipmi:\n      hostname: 127.0.0.1\n      \
             username: {USER}\n      password: \"{password}\"\n      interface: lanplus\n      \
             port: {port}\n      cipher_suite: 3\n{}",
            host.name, host.mac, host.extra
        ));
    }
    yaml.push_str(&format!(
        "tftp:\n  root: {}\nconfiguration:\n  directory: {}\n\
         power:\n  status_ttl: 0\n  status_wait: 20\nstate_dir: {}\n",
        tftp.display(),
        conf.display(),
        state.display()
    ));
    let path = dir.join("pxe-pilot.yml");
    fs::write(&path, yaml).expect("write the server's configuration");
    path
}

/// `pxe-pilot -o json host list`: the power state of `host`.
fn power_state(server: &TestServer, host: &str) -> String {
    let out = cli(server, &["-o", "json", "host", "list"]);
    let hosts: Vec<Value> = serde_json::from_str(&out).expect("host list -o json is JSON");
    hosts
        .iter()
        .find(|h| h["name"] == host)
        .and_then(|h| h["powerState"].as_str())
        .unwrap_or("-")
        .to_owned()
}

/// One power action through the CLI; what reached the BMC must be `want`.
fn power(server: &TestServer, bmc: &IpmiSim, verb: &str, host: &str, want: &[&str]) {
    bmc.clear_calls();
    let out = cli(server, &["host", verb, host]);
    assert!(out.contains("OK"), "`host {verb} {host}` printed:\n{out}");
    assert_eq!(
        bmc.chassis_changes(),
        want,
        "`host {verb} {host}`: what reached the BMC's chassis_control"
    );
    eprintln!("host {verb} {host}: the BMC got {want:?}");
}

/// The shim's logged calls whose arguments hold `-p PORT`.
fn calls_to(log: &str, port: u16) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(&format!("[-p] [{port}]")))
        .map(str::to_owned)
        .collect()
}

/// `pxe-pilot -o json config deploy --now CONFIG HOST`: the host's answer.
fn deploy_now(server: &TestServer, configuration: &str, host: &str) -> Value {
    let out = cli(
        server,
        &[
            "-o",
            "json",
            "config",
            "deploy",
            "--now",
            configuration,
            host,
        ],
    );
    let answer: Value = serde_json::from_str(&out).expect("deploy -o json is JSON");
    eprintln!("config deploy --now {configuration} {host}: {answer}");
    answer["hosts"][0].clone()
}

/// OpenIPMI's simulator, ipmitool and curl.
pub fn needs() -> Vec<Need> {
    vec![
        Need::Command("ipmi_sim", "openipmi"),
        Need::Command("ipmitool", "ipmitool"),
        Need::Command("curl", "curl"),
    ]
}

pub fn ipmi_power_and_network_boot_once_against_ipmi_sim() {
    let started = Instant::now();
    let real_ipmitool = e2e::find_command("ipmitool").expect("checked");
    let artifacts = Artifacts::new("ipmi");
    let dir = tempfile::tempdir().expect("a temporary folder");

    let bmc1 = IpmiSim::start(
        &artifacts.path("bmc1"),
        bmc::CHASSIS_CONTROL,
        USER,
        PASSWORD,
    );
    let bmc2 = IpmiSim::start(
        &artifacts.path("bmc2"),
        bmc::CHASSIS_CONTROL,
        USER,
        PASSWORD,
    );
    let bmc3 = IpmiSim::start(
        &artifacts.path("bmc3"),
        bmc::CHASSIS_CONTROL,
        USER,
        PASSWORD,
    );
    let (ok, out) = bmc1.ipmitool(&["power", "status"]);
    assert!(ok && out.contains("Chassis Power is off"), "{out}");

    // The server's `ipmitool`: the logging shim first on its PATH, execing the real one.
    let shim_dir = dir.path().join("shim");
    fs::create_dir_all(&shim_dir).expect("create the shim's folder");
    e2e::write_executable(&shim_dir.join("ipmitool"), bmc::IPMITOOL_LOGGING);
    let shim_log = artifacts.path("ipmitool-argv.log");
    fs::write(&shim_log, "").expect("create the shim's log");
    let path = format!(
        "{}:{}",
        shim_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let tftp = dir.path().join("tftp");
    let config = server_config(
        dir.path(),
        &tftp,
        &[
            (&I1, bmc1.port, PASSWORD),
            (&I2, bmc2.port, PASSWORD),
            (&I3, bmc3.port, PASSWORD),
            (&I4, bmc1.port, WRONG_PASSWORD),
        ],
    );
    let server = TestServer::builder()
        .config(&config)
        .log_file(artifacts.path("server.log"))
        .env("RUST_LOG", "debug")
        .env("PATH", &path)
        .env("PXE_PILOT_E2E_IPMITOOL_LOG", &shim_log)
        .env("PXE_PILOT_E2E_IPMITOOL", &real_ipmitool)
        .timeout(Duration::from_secs(30))
        .start();
    eprintln!(
        "ipmi_sim BMCs on UDP {}, {}, {}; server on {}",
        bmc1.port, bmc2.port, bmc3.port, server.base
    );

    // Status through the real ipmitool and the real BMC.
    let table = cli(&server, &["host", "list"]);
    eprintln!("host list:\n{table}");
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with("| ") && l.contains(&format!("| {name} ")))
            .unwrap_or_else(|| panic!("no row for {name} in:\n{table}"))
            .to_owned()
    };
    for host in ["i1", "i2", "i3"] {
        assert!(row(host).contains(" Off "), "{table}");
    }
    assert!(row("i4").contains("Unknown"), "{table}");

    // i1: on, off, reboot (off: powers on), reboot (on: reset).
    power(&server, &bmc1, "on", I1.name, &["set power 1"]);
    assert_eq!(bmc1.power_file(), "1");
    assert_eq!(power_state(&server, I1.name), "On");
    power(&server, &bmc1, "off", I1.name, &["set power 0"]);
    assert_eq!(bmc1.power_file(), "0");
    assert_eq!(power_state(&server, I1.name), "Off");
    power(&server, &bmc1, "reboot", I1.name, &["set power 1"]);
    power(&server, &bmc1, "reboot", I1.name, &["set reset 1"]);
    assert_eq!(power_state(&server, I1.name), "On");

    // i1: deploy --now: the boot device, then the reset.
    bmc1.clear_calls();
    let answer = deploy_now(&server, "installer", I1.name);
    assert_eq!(answer["netboot"], "ONCE", "{answer}");
    assert_eq!(answer["rebooted"], "YES", "{answer}");
    assert_eq!(
        bmc1.chassis_changes(),
        ["set boot pxe", "set reset 1"],
        "deploy --now: the BMC must get the boot device, then the reset"
    );
    let (ok, out) = bmc1.ipmitool(&["chassis", "bootparam", "get", "5"]);
    assert!(
        ok && out.contains("Force PXE"),
        "the BMC's boot flags must say PXE:\n{out}"
    );
    eprintln!(
        "the BMC's boot flags after the deploy (`ipmitool chassis bootparam get 5`):\n{}",
        out.lines()
            .filter(|l| l.contains("Boot Device Selector") || l.contains("Boot Flag"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        link_target(&tftp.join("pxelinux.cfg/01-52-54-00-e2-a1-01")),
        "conf/installer"
    );

    // i2: boot_mode uefi: options=efiboot is sent (seen in the shim's log, as ipmi_sim drops it).
    bmc2.clear_calls();
    let answer = deploy_now(&server, "installer", I2.name);
    assert_eq!(answer["netboot"], "ONCE", "{answer}");
    assert_eq!(answer["rebooted"], "YES", "{answer}");
    assert_eq!(
        bmc2.chassis_changes(),
        ["set boot pxe", "set power 1"],
        "deploy --now of a host that is off: boot device, then power on"
    );
    let argv = fs::read_to_string(&shim_log).expect("read the shim's log");
    let bootdev: Vec<String> = calls_to(&argv, bmc2.port)
        .into_iter()
        .filter(|l| l.contains("[bootdev]"))
        .collect();
    assert_eq!(bootdev.len(), 1, "one bootdev call to BMC 2:\n{argv}");
    assert!(
        bootdev[0].contains("[chassis] [bootdev] [pxe] [options=efiboot]"),
        "boot_mode uefi must send options=efiboot:\n{}",
        bootdev[0]
    );
    eprintln!("i2 (uefi): {}", bootdev[0]);
    let i1_bootdev: Vec<String> = calls_to(&argv, bmc1.port)
        .into_iter()
        .filter(|l| l.contains("[bootdev]"))
        .collect();
    assert!(
        i1_bootdev.len() == 1
            && i1_bootdev[0].ends_with("[chassis] [bootdev] [pxe] IPMI_PASSWORD=set"),
        "a host without boot_mode sends plain `chassis bootdev pxe`:\n{argv}"
    );

    // i3: netboot_once false: SKIPPED, no boot device reaches the BMC, the reboot still happens.
    bmc3.clear_calls();
    let answer = deploy_now(&server, "installer", I3.name);
    assert_eq!(answer["netboot"], "SKIPPED", "{answer}");
    assert_eq!(answer["rebooted"], "YES", "{answer}");
    assert_eq!(bmc3.chassis_changes(), ["set power 1"]);
    let argv = fs::read_to_string(&shim_log).expect("read the shim's log");
    assert!(
        !calls_to(&argv, bmc3.port)
            .iter()
            .any(|l| l.contains("[bootdev]")),
        "netboot_once: false must send no bootdev:\n{argv}"
    );

    // i4: the wrong password: 409 with the tool's message, never the password.
    let mut answers = Vec::new();
    bmc1.clear_calls();
    let (code, body) = http("PATCH", &server.url("/v1/hosts/i4/on"), &[], None);
    eprintln!("PATCH /v1/hosts/i4/on -> {code} {body}");
    assert_eq!(code, 409, "{body}");
    assert!(
        body.contains("Unable to establish IPMI v2 / RMCP+ session"),
        "the answer must carry ipmitool's message: {body}"
    );
    assert!(
        bmc1.chassis_changes().is_empty(),
        "a refused session must change nothing"
    );
    answers.push(body);
    let (code, body) = http(
        "PUT",
        &server.url("/v1/configurations/local/deploy"),
        &[],
        Some(r#"{"hosts":[{"name":"i4","reboot":true}]}"#),
    );
    assert_eq!(code, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["hosts"][0]["netboot"], "ERROR", "{body}");
    assert_eq!(answer["hosts"][0]["rebooted"], "ERROR", "{body}");
    answers.push(body);

    // Every call: -E (the password in the environment), -C 3, the BMC's port; no password.
    let argv = fs::read_to_string(&shim_log).expect("read the shim's log");
    let calls: Vec<&str> = argv.lines().filter(|l| l.starts_with("argv:")).collect();
    assert!(calls.len() >= 10, "the shim saw too few calls:\n{argv}");
    for call in &calls {
        assert!(
            call.contains("[-E]") && call.ends_with("IPMI_PASSWORD=set"),
            "every call reads the password from IPMI_PASSWORD: {call}"
        );
        assert!(
            call.contains("[-C] [3]") && call.contains("[-I] [lanplus]"),
            "{call}"
        );
        assert!(!call.contains("[-P]"), "no -P: {call}");
    }
    eprintln!(
        "{} ipmitool calls, e.g.:\n  {}",
        calls.len(),
        calls[..calls.len().min(3)].join("\n  ")
    );

    // Events.
    let events = host_events(&server.base, I1.name);
    bmc::assert_power_and_netboot_events(&events, I1.name);
    let text = bmc::events_text(&events);
    let i3_events = host_events(&server.base, I3.name);
    assert!(
        !i3_events.iter().any(|e| e["kind"] == "netboot"),
        "netboot_once: false records no netboot:\n{}",
        bmc::events_text(&i3_events)
    );
    let i4_events = host_events(&server.base, I4.name);
    assert!(
        i4_events
            .iter()
            .any(|e| e["kind"] == "power" && e["result"] != "ok"),
        "{}",
        bmc::events_text(&i4_events)
    );
    eprintln!("events of i1 (newest first):\n{text}");

    // The passwords are in no answer, event, log or argv.
    let (_, all_events) = http("GET", &server.url("/v1/events?limit=1000"), &[], None);
    answers.push(all_events);
    let log = server.logs();
    for secret in [PASSWORD, WRONG_PASSWORD] {
        assert!(!argv.contains(secret), "a password on a command line");
        assert!(!log.contains(secret), "a password in the server's log");
        assert!(
            !answers.iter().any(|a| a.contains(secret)),
            "a password in an answer"
        );
    }
    eprintln!("e2e_ipmi: done in {:.1?}", started.elapsed());
}
