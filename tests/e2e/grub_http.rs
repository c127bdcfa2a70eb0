//! End-to-end: GRUB 2 fetches its per-host configuration from pxe-pilot over HTTP. A QEMU VM
//! with UEFI firmware (OVMF, TCG) network-boots Debian's GRUB netboot image (laid by
//! `grub-mknetdir`; GRUB itself still arrives by QEMU's built-in TFTP), whose `grub.cfg`,
//! written here, does
//! `configfile (http,10.0.2.2:PORT)/v1/boot/grub/${net_default_mac}`: GRUB's `http` module
//! asks pxe-pilot, by the MAC it booted from (`net_default_mac`, `aa:bb:cc:dd:ee:ff`), for the
//! configuration deployed to its host, rendered for it.
//!
//! 1. `grub/rescue` (a template that echoes `{{ host.name }}`, `{{ host.mac }}` and
//!    `{{ server.url }}`, then halts) is deployed: GRUB must print it, rendered for the VM's
//!    host and with the URL the VM reached;
//! 2. after `pxe-pilot config deploy local vm1` (a PXELINUX configuration), GRUB gets
//!    pxe-pilot's hand-over: it echoes its line and `exit`s to the firmware, which goes on to
//!    its next boot option (here none: OVMF's setup page, where the run is ended).
//!
//! `grub.cfg` prints a FAIL marker if `configfile` returns (pxe-pilot's answer was not run).
//! GRUB 2.06's `http` module reads `Content-Length: ` byte for byte and sends `Host:` without
//! the port: a check over a raw socket before any VM says so at once.
//!
//! Needs `qemu-system-x86`, `ovmf`, `grub-efi-amd64-bin` (and `grub-common`'s
//! `grub-mknetdir`). About 25 s on two cores. Run alone with
//! `cargo test --test e2e grub_http::`.

use crate::{common, e2e};
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::TestServer;
use e2e::http::{lines_with, run_vm, serial, VmEnd};
use e2e::{cli, curl, grub, log_tail, Artifacts, Need};
use serde_json::Value;

const HOST: &str = "vm1";
/// The host's NICs; the VM boots from the second one (`host.mac` is the one that asks).
const MACS: [&str; 2] = ["52:54:00:e2:49:01", "52:54:00:e2:49:02"];

const MARK_ASK: &str = "PXE-PILOT-GRUB-HTTP: asking pxe-pilot for";
const MARK_RESCUE: &str = "PXE-PILOT-GRUB-HTTP: rescue for";
const MARK_FAIL: &str = "PXE-PILOT-GRUB-HTTP: FAIL: configfile returned";
/// What pxe-pilot's GRUB hand-over echoes before `exit` (`${net_default_mac}` expanded).
const HAND_OVER_ECHO: &str = "pxe-pilot: nothing to boot over the network for";
/// OVMF after GRUB's `exit`, with no other boot option: its setup page, forever.
const FIRMWARE_MENU: &str = "UiApp";

pub fn needs() -> Vec<Need> {
    let mut needs = grub::needs();
    needs.push(Need::Command("curl", "curl"));
    needs
}

/// The TFTP root (GRUB's netboot tree, which QEMU's TFTP serves), the catalogue (a GRUB
/// `rescue` template and a PXELINUX `local`) and the server's configuration file.
fn world(dir: &Path) -> (PathBuf, PathBuf) {
    let rescue = format!(
        "echo \"{MARK_RESCUE} {{{{ host.name }}}} ({{{{ host.mac }}}}) from {{{{ server.url }}}}\"\nhalt\n"
    );
    grub::world(
        dir,
        HOST,
        &MACS,
        &rescue,
        "file: grub/x86_64-efi/core.efi, http: grub",
    )
}

/// GRUB's `grub.cfg`: ask pxe-pilot over HTTP; a FAIL marker if its answer did not take over.
fn grub_cfg(port: u16) -> String {
    format!(
        "echo \"{MARK_ASK} ${{net_default_mac}}\"\n\
         configfile (http,10.0.2.2:{port})/v1/boot/grub/${{net_default_mac}}\n\
         echo \"{MARK_FAIL}\"\n\
         halt\n"
    )
}

/// Asks `/v1/boot/grub/...` as GRUB 2.06's `http` module does (`Host:` without the port, one
/// request, HTTP/1.1) and returns the raw head of the answer.
fn ask_as_grub(server: &TestServer, what: &str) -> String {
    let mut stream = TcpStream::connect(server.authority()).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    write!(
        stream,
        "GET /v1/boot/grub/{what} HTTP/1.1\r\nHost: 10.0.2.2\r\nUser-Agent: GRUB 2.06\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Boots the VM once from the host's second NIC; returns its serial console, readable, and
/// prints the lines worth quoting.
fn boot(
    root: &Path,
    artifacts: &Artifacts,
    n: usize,
    scratch: &Path,
    stop: Option<&str>,
) -> String {
    let log = artifacts.path(&format!("boot{n}.serial.log"));
    let mut qemu = grub::qemu(root, &scratch.join(format!("vars-{n}.fd")), MACS[1]);
    let limit = Duration::from_secs(180);
    let (ended, took) = run_vm(&mut qemu, &log, limit, stop);
    let serial = serial(&log);
    let wanted_end = match stop {
        None => matches!(ended, VmEnd::Exited(_)),
        Some(_) => matches!(ended, VmEnd::Stopped),
    };
    assert!(
        wanted_end,
        "boot {n}: QEMU ended as {ended:?} after {took:.1?} (expected {})\n{}",
        match stop {
            None => "GRUB's `halt`".to_string(),
            Some(marker) => format!("the firmware's {marker:?}"),
        },
        log_tail(&log, 30)
    );
    let lines = lines_with(
        &serial,
        &[
            "Start PXE",
            "NBP filename",
            "Welcome to GRUB",
            "PXE-PILOT-GRUB-HTTP",
            "pxe-pilot:",
            "error:",
            "BdsDxe: starting",
        ],
    );
    e2e::loud(&format!(
        "e2e_grub_http: boot {n} took {took:.1?}\n  {}",
        lines.join("\n  ")
    ));
    serial
}

fn last_boot(server: &TestServer) -> Value {
    let body = curl(&["-f", &server.url("/v1/hosts?status=false")]);
    let hosts: Value = serde_json::from_str(&body).expect("GET /v1/hosts answers JSON");
    hosts
        .as_array()
        .and_then(|hosts| hosts.iter().find(|h| h["name"] == HOST))
        .map(|host| host["lastBoot"].clone())
        .unwrap_or_else(|| panic!("no {HOST} in {body}"))
}

pub fn grub_2_fetches_its_rendered_configuration_over_http_then_the_hand_over() {
    let artifacts = Artifacts::new("grub-http");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (root, config) = world(dir.path());
    let server = e2e::serve(&config, &artifacts);
    fs::write(root.join("grub/grub.cfg"), grub_cfg(server.port())).expect("write grub.cfg");

    // What GRUB's http module needs of the answer, checked before any VM: it takes the size
    // from a header spelled exactly `Content-Length: ` (grub-core/net/http.c); without it,
    // GRUB waits for the connection to close and runs nothing of the answer.
    let head = ask_as_grub(&server, "not-a-mac");
    assert!(
        head.starts_with("HTTP/1.1 200") && head.contains("\r\nContent-Length: "),
        "GRUB 2's http module matches the header `Content-Length: ` case-sensitively, and \
         pxe-pilot answered /v1/boot/grub/... with:\n{head}\n(actix-web writes header names in \
         lower case unless the response head asks for camel case)"
    );

    // Boot 1: the rescue configuration, rendered for the host and the NIC that asks.
    cli(&server, &["config", "deploy", "rescue", HOST]);
    let serial = boot(&root, &artifacts, 1, dir.path(), None);
    assert!(
        serial.contains("Welcome to GRUB!") && serial.contains(&format!("{MARK_ASK} {}", MACS[1])),
        "boot 1: GRUB did not run the test's grub.cfg\n{}",
        log_tail(&artifacts.path("boot1.serial.log"), 30)
    );
    assert!(
        !serial.contains(MARK_FAIL),
        "boot 1: GRUB's configfile returned: pxe-pilot's answer was not run\n{}\n{}",
        log_tail(&artifacts.path("boot1.serial.log"), 30),
        log_tail(server.log_file(), 10)
    );
    let expected = format!(
        "{MARK_RESCUE} {HOST} ({}) from http://10.0.2.2:{}",
        MACS[1],
        server.port()
    );
    assert!(
        serial.contains(&expected),
        "boot 1: GRUB should print {expected:?} (the URL as the VM reached the server; GRUB \
         sends `Host:` without the port)\n{}",
        log_tail(&artifacts.path("boot1.serial.log"), 30)
    );
    let last = last_boot(&server);
    assert_eq!(last["configuration"], "rescue", "{last}");
    assert_eq!(last["bootloader"], "grub", "{last}");

    // Boot 2: switched to a PXELINUX configuration: the hand-over, GRUB exits.
    cli(&server, &["config", "deploy", "local", HOST]);
    let serial = boot(&root, &artifacts, 2, dir.path(), Some(FIRMWARE_MENU));
    assert!(
        serial.contains(&format!("{HAND_OVER_ECHO} {}: next boot device", MACS[1])),
        "boot 2: GRUB did not print pxe-pilot's hand-over\n{}",
        log_tail(&artifacts.path("boot2.serial.log"), 30)
    );
    assert!(
        !serial.contains(MARK_RESCUE) && !serial.contains(MARK_FAIL),
        "boot 2: the hand-over must leave GRUB (`exit`), not return to grub.cfg\n{}",
        log_tail(&artifacts.path("boot2.serial.log"), 30)
    );
    let last = last_boot(&server);
    assert_eq!(last["bootloader"], "grub", "{last}");
    assert!(last.get("configuration").is_none(), "{last}");

    // One boot event per VM boot: GRUB fetched its configuration once each time.
    let body = curl(&["-f", &server.url(&format!("/v1/hosts/{HOST}/events"))]);
    let events: Value = serde_json::from_str(&body).expect("events as JSON");
    let boots: Vec<String> = events
        .as_array()
        .expect("an array")
        .iter()
        .filter(|e| e["kind"] == "boot")
        .map(|e| e["to"].as_str().unwrap_or("-").to_string())
        .collect();
    assert_eq!(boots, ["-", "rescue"], "newest first: {body}");
}
