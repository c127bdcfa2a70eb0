//! End-to-end: `tftp.serve`, pxe-pilot as the TFTP server, read by the real tftp-hpa client.
//! A read of a host's `pxelinux.cfg/01-<mac>` is a boot (event `tftp`, `lastBoot`); a host
//! deployed `--once` gets the installer on that read and `local` on the next one; a read for
//! a MAC no host has lists an unknown machine; writes and `..` are refused.
//!
//! Also: the README's tour of the demo, whose PXELINUX host boots in QEMU with pxe-pilot as
//! its only TFTP server (over QEMU's user network); and the Debian unit's one capability,
//! which lets its unprivileged user serve port 69.
//!
//! Needs `tftp-hpa` (`tftp`); the tour QEMU, iPXE's ROM and PXELINUX; the capability test
//! root. The VM boot on a network namespace with dnsmasq is `tftp_pxe_boot`.

use crate::{common, e2e};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestServer;
use e2e::http::{rejoined, run_vm, serial, VmEnd};
use e2e::{cli, run_capture, Artifacts, Need};
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

pub fn a_per_mac_entry_read_over_pxe_pilot_s_tftp_is_a_boot_and_once_falls_back() {
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

/// The README's PXELINUX tour: its `pxe-pilot` and `qemu-system-x86_64` commands, run against
/// the demo (served on free ports, so `6969` becomes the port it got).
/// QEMU, iPXE's ROM, PXELINUX and its ldlinux.
pub fn tour_needs() -> Vec<Need> {
    vec![
        Need::Command("qemu-system-x86_64", "qemu-system-x86"),
        Need::File("/usr/lib/ipxe/qemu/efi-virtio.rom", "ipxe-qemu"),
        Need::File("/usr/lib/PXELINUX/pxelinux.0", "pxelinux"),
        Need::File(
            "/usr/lib/syslinux/modules/bios/ldlinux.c32",
            "syslinux-common",
        ),
    ]
}

pub fn the_readme_tour_boots_the_demo_s_pxelinux_host_once_into_its_installer_then_its_disk() {
    let readme = fs::read_to_string(e2e::repo_dir().join("README.md")).unwrap();
    let block = readme
        .split("```")
        .find(|b| b.contains("bootfile=tftp://"))
        .expect("the README's tour has a PXELINUX block");
    let commands: Vec<String> = block
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("pxe-pilot ") || l.starts_with("qemu-system"))
        .map(str::to_owned)
        .collect();
    assert_eq!(commands.len(), 2, "{block}");
    let artifacts = Artifacts::new("tftp-tour");
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder()
        .demo(dir.path().join("demo"))
        .args(["--tftp", "127.0.0.1:0"])
        .start();
    let port = tftp_address(&server).rsplit_once(':').unwrap().1.to_owned();
    let deploy: Vec<&str> = commands[0].split_whitespace().skip(1).collect();
    cli(&server, &deploy);
    let qemu: Vec<String> = commands[1]
        .replace(":6969/", &format!(":{port}/"))
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let boot = |n: usize, marker: &str| {
        let log = artifacts.path(&format!("boot-{n}.serial"));
        let (end, took) = run_vm(
            Command::new(&qemu[0]).args(&qemu[1..]),
            &log,
            Duration::from_secs(120),
            Some(marker),
        );
        let console = rejoined(&serial(&log));
        assert!(
            matches!(end, VmEnd::Stopped) && console.contains(marker),
            "boot {n}: no `{marker}` after {took:?} ({end:?}):\n{console}"
        );
    };
    boot(1, "PXELINUX boots the ubuntu-24.04 installer");
    eventually("build-1 back on local after its TFTP boot", || {
        json(&server, "/v1/hosts/build-1?status=false")["configuration"]["name"] == "local"
    });
    boot(2, "PXELINUX boots the local disk");
    eventually("both boots recorded", || {
        let events = json(&server, "/v1/hosts/build-1/events");
        let kinds: Vec<&str> = events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or_default())
            .collect();
        kinds == ["boot", "once_fallback", "boot", "deploy"]
    });
}

/// The Debian unit's `AmbientCapabilities` (and only it, as its bounding set) lets an
/// unprivileged user serve TFTP on port 69; without it the server says it cannot bind.
/// Run as systemd would: `setpriv` with the unit's capabilities, as `nobody`, in a network
/// namespace of its own (its loopback's port 69 is the test's).
/// Root (`unshare --net`, `setpriv`), util-linux, iproute2, tftp-hpa's client.
pub fn capability_needs() -> Vec<Need> {
    vec![
        Need::Root,
        Need::Command("setpriv", "util-linux"),
        Need::Command("unshare", "util-linux"),
        Need::Command("ip", "iproute2"),
        Need::Command("tftp", "tftp-hpa"),
    ]
}

pub fn the_unit_s_one_capability_lets_its_unprivileged_user_serve_tftp_on_port_69() {
    let unit = fs::read_to_string(e2e::repo_dir().join("packaging/pxe-pilot.service")).unwrap();
    let value = |key: &str| {
        unit.lines()
            .rev()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("the unit has no {key}"))
            .to_owned()
    };
    let ambient = value("AmbientCapabilities");
    assert_eq!(ambient, value("CapabilityBoundingSet"));
    let caps: Vec<String> = ambient
        .split_whitespace()
        .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_lowercase()))
        .collect();
    let caps = caps.join(",");

    // Everything `nobody` needs, readable by it: the binary, the configuration, the root.
    let dir = tempfile::Builder::new()
        .prefix("unit-cap")
        .tempdir()
        .unwrap();
    let world = dir.path().join("w");
    let config = self::world(&world);
    let text = fs::read_to_string(&config)
        .unwrap()
        .replace("127.0.0.1:0", "127.0.0.1:69")
        .replace("state_dir: state\n", "");
    fs::write(&config, text).unwrap();
    let server = dir.path().join("pxe-pilot-server");
    fs::copy(common::binary("pxe-pilot-server"), &server).unwrap();
    let chmod = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(chmod.success());
    let got = dir.path().join("got");
    let script = |caps: &str| {
        format!(
            "ip link set lo up\n\
             cd {w}\n\
             setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all{caps} \
               --ambient-caps=-all{caps} --bounding-set=-all{caps} \
               {server} -c {config} --listen 127.0.0.1:0 >out 2>err &\n\
             for i in $(seq 100); do grep -q 'serving TFTP' out && break; \
               kill -0 $! 2>/dev/null || break; sleep 0.1; done\n\
             tftp -m binary 127.0.0.1 69 -c get pxelinux.0 {got}\n\
             kill $! 2>/dev/null; wait $!; echo \"exit=$?\"; cat out err",
            w = world.display(),
            server = server.display(),
            config = config.display(),
            got = got.display(),
        )
    };
    let with = format!(",{caps}");
    let (_, said) = run_capture(
        Command::new("unshare").args(["--net", "sh", "-c", &script(&with)]),
        Duration::from_secs(30),
    );
    assert_eq!(
        fs::read_to_string(&got).unwrap_or_default(),
        "not a real bootloader",
        "{said}"
    );
    assert!(said.contains("serving TFTP on 127.0.0.1:69"), "{said}");

    let _ = fs::remove_file(&got);
    let (_, said) = run_capture(
        Command::new("unshare").args(["--net", "sh", "-c", &script("")]),
        Duration::from_secs(30),
    );
    assert!(!got.exists() || fs::read_to_string(&got).unwrap_or_default().is_empty());
    assert!(
        said.contains("cannot serve TFTP on 127.0.0.1:69") && said.contains("ermission denied"),
        "{said}"
    );
}

/// `--tftp` moves the server of `tftp.serve`; without `tftp.serve` it is a one-line error.
pub fn tftp_without_tftp_serve_is_refused_with_what_to_add() {
    let dir = tempfile::tempdir().unwrap();
    let config = world(dir.path());
    let text = fs::read_to_string(&config)
        .unwrap()
        .replace("  serve: 127.0.0.1:0\n", "");
    fs::write(&config, text).unwrap();
    let (code, said) = TestServer::builder()
        .config(&config)
        .current_dir(dir.path())
        .args(["--tftp", "127.0.0.1:0"])
        .run_to_exit(Duration::from_secs(30));
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("--tftp") && said.contains("serve: ADDR:PORT"),
        "{said}"
    );
}
