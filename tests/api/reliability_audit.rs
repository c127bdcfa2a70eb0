//! The second outside audit's reproductions, against the real `pxe-pilot-server` and
//! `pxe-pilot` binaries: each test is one finding (issue 21), checked as a property of what
//! anyone on the network can do without the token.
//!
//! - self-service never powers, reboots, sets the boot device or sets `once`;
//! - junk boot fetches cannot fill memory or disk (every event line is small and bounded);
//! - a boot fetch from another machine never consumes `once` nor sets `lastBoot`;
//! - a flood of boot fetches never pushes a change out of the history, and fetches for MACs
//!   of no host are unknown machines, not events;
//! - thousands of idle connections from one peer do not take the server from the others;
//! - a client's text never forges a log line;
//! - concurrent scrapes of `/metrics` each count the hosts right;
//! - one server per `state_dir`; corrupt event ids never wrap;
//! - a change sent by a page of another site (DNS rebinding) is refused;
//! - and the defects seen in use: `deploy --now` of a host without power management, a
//!   bootloader named `ipxe` served over HTTP without `http:`.

use crate::{cli, common, reliability};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::TestServer;
use reliability::raw_http::{healthy, http_request, raw_exchange};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};

const H1_MAC: &str = "52:54:00:aa:00:01";
const H2_MAC: &str = "52:54:00:aa:00:02";
const H3_MAC: &str = "52:54:00:aa:00:03";
const TOKEN: &str = "audit-t0ken";

/// A TFTP root with three hosts (h2 has a BMC through the fake `ipmitool`), bootloaders
/// `pxelinux` and `ipxe` (declared without `http:`), a state folder and an ARP table file.
struct AuditWorld {
    dir: tempfile::TempDir,
}

impl AuditWorld {
    /// The world, with `server` lines under `server:` and `arp` lines in the ARP table.
    fn new(server: &str, arp: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("tftp/pxelinux.cfg/conf");
        for (path, text) in [
            (
                "pxelinux/local",
                "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n",
            ),
            ("ipxe/rescue", "#!ipxe\necho rescue of {{ host.name }}\n"),
        ] {
            let file = conf.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, text).unwrap();
        }
        fs::create_dir_all(dir.path().join("bmc")).unwrap();
        fs::create_dir_all(dir.path().join("state")).unwrap();
        let yaml = format!(
            "hosts:
  - name: h1
    mac_addresses: ['{H1_MAC}']
  - name: h2
    mac_addresses: ['{H2_MAC}']
    ipmi: {{hostname: 10.69.70.12, username: admin, password: pw, interface: lanplus}}
  - name: h3
    mac_addresses: ['{H3_MAC}']
tftp:
  root: tftp
configuration:
  directory: tftp/pxelinux.cfg/conf
  bootloaders:
    - {{name: pxelinux, file: pxelinux.0}}
    - {{name: ipxe, file: ipxe.efi, http: ipxe}}
server:
  listen: 127.0.0.1
{server}
state_dir: state
arp_table: arp
"
        );
        fs::write(dir.path().join("pxe-pilot.yml"), yaml).unwrap();
        let world = AuditWorld { dir };
        world.arp(arp);
        world
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Replaces the ARP table's entries (`IP MAC` pairs, one per line).
    fn arp(&self, entries: &str) {
        let mut text =
            "IP address       HW type     Flags       HW address            Mask     Device\n"
                .to_owned();
        for line in entries.lines().filter(|l| !l.trim().is_empty()) {
            let (ip, mac) = line.trim().split_once(' ').unwrap();
            text.push_str(&format!("{ip} 0x1 0x2 {mac} * eth0\n"));
        }
        fs::write(self.path("arp"), text).unwrap();
    }

    fn server(&self) -> common::TestServerBuilder {
        TestServer::builder()
            .config(self.path("pxe-pilot.yml"))
            .env("PATH", cli::path_with_fake_tools())
            .env("FAKE_BMC_STATE", self.path("bmc"))
    }

    fn serve(&self) -> TestServer {
        self.server().start()
    }

    /// The configuration `mac`'s entry leads to, if any.
    fn deployed(&self, mac: &str) -> Option<String> {
        let entry = self
            .path("tftp/pxelinux.cfg")
            .join(format!("01-{}", mac.replace(':', "-")));
        let target = fs::read_link(entry).ok()?;
        Some(target.file_name()?.to_string_lossy().into_owned())
    }

    /// The fake `ipmitool`'s calls, one argument per line.
    fn bmc_calls(&self) -> String {
        fs::read_to_string(self.path("bmc/calls.log")).unwrap_or_default()
    }
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn deploy(
    server: &TestServer,
    configuration: &str,
    body: Value,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = client()
        .put(server.url(&format!("/v1/configurations/{configuration}/deploy")))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    let status = response.status();
    (status, response.json().unwrap_or(Value::Null))
}

fn get_json(server: &TestServer, path: &str) -> Value {
    client()
        .get(server.url(path))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn host(server: &TestServer, name: &str) -> Value {
    get_json(server, &format!("/v1/hosts/{name}?status=false"))
}

#[test]
fn self_service_never_powers_reboots_or_sets_once() {
    // 127.0.0.1, where the test's requests come from, is h2 in the neighbour table.
    let world = AuditWorld::new(&format!("  token: {TOKEN}"), &format!("127.0.0.1 {H2_MAC}"));
    let server = world.serve();
    for asked in [
        json!({"hosts": [{"name": "h2", "reboot": true}]}),
        json!({"hosts": [{"macAddress": H2_MAC, "reboot": true}]}),
        json!({"hosts": [{"name": "h2", "once": true}]}),
    ] {
        let (status, answer) = deploy(&server, "local", asked.clone(), None);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{asked}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("need the token"),
            "{answer}"
        );
    }
    assert_eq!(world.deployed(H2_MAC), None, "nothing was switched");
    assert_eq!(world.bmc_calls(), "", "no BMC command ran");
    // The callback itself still works, and touches no BMC.
    let (status, answer) = deploy(&server, "local", json!({"hosts": [{"name": "h2"}]}), None);
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(world.deployed(H2_MAC).as_deref(), Some("local"));
    assert_eq!(world.bmc_calls(), "");
    // With the token, the reboot is done.
    let (status, answer) = deploy(
        &server,
        "local",
        json!({"hosts": [{"name": "h2", "reboot": true}]}),
        Some(TOKEN),
    );
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        world.bmc_calls().contains("bootdev"),
        "{}",
        world.bmc_calls()
    );
}

#[test]
fn junk_boot_fetches_cannot_fill_memory_or_disk() {
    let world = AuditWorld::new("", "");
    let server = world.serve();
    let segment = "b".repeat(65_000);
    let http = client();
    for _ in 0..200 {
        let response = http
            .get(server.url(&format!("/v1/boot/{segment}/{H1_MAC}")))
            .send()
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let boots = fs::read_to_string(world.path("state/boots.jsonl")).unwrap();
    assert_eq!(boots.lines().count(), 200);
    for line in boots.lines() {
        assert!(line.len() <= 1024, "a line of {} bytes", line.len());
    }
    let events: Vec<Value> = get_json(&server, "/v1/events?limit=1000")
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 200);
    for event in &events {
        assert!(event["detail"].as_str().unwrap().len() <= 128, "{event}");
        assert!(event["result"].as_str().unwrap().len() <= 400, "{event}");
    }
    let answer = http
        .get(server.url("/v1/events?limit=1000"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert!(answer.len() < 200 * 1100, "{} bytes", answer.len());
}

#[test]
fn a_fetch_from_another_machine_never_consumes_once_nor_sets_last_boot() {
    const STRANGER: &str = "52:54:00:aa:00:99";
    let world = AuditWorld::new("", &format!("127.0.0.1 {STRANGER}"));
    let server = world.serve();
    let (status, answer) = deploy(
        &server,
        "rescue",
        json!({"hosts": [{"name": "h1", "once": true}]}),
        None,
    );
    assert_eq!(status, StatusCode::OK, "{answer}");
    let fetch = || {
        let response = client()
            .get(server.url(&format!("/v1/boot/ipxe/{}", H1_MAC.replace(':', "%3A"))))
            .send()
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().unwrap()
    };
    // Another machine asks for h1's script: it is answered, and that is all.
    for _ in 0..3 {
        assert_eq!(fetch(), "#!ipxe\necho rescue of h1\n");
    }
    assert_eq!(
        world.deployed(H1_MAC).as_deref(),
        Some("rescue"),
        "once not consumed"
    );
    assert_eq!(host(&server, "h1")["lastBoot"], Value::Null);
    let events = get_json(&server, "/v1/hosts/h1/events");
    assert_eq!(events[0]["kind"], "boot");
    assert_eq!(events[0]["counted"], false, "{events}");
    // The host itself asks: it counts, once falls back.
    world.arp(&format!("127.0.0.1 {H1_MAC}"));
    assert_eq!(fetch(), "#!ipxe\necho rescue of h1\n");
    assert_eq!(world.deployed(H1_MAC).as_deref(), Some("local"));
    assert_eq!(host(&server, "h1")["lastBoot"]["configuration"], "rescue");
    drop(server);

    // boot_trust: neighbour, a peer the table does not know does not count either.
    let world = AuditWorld::new("  boot_trust: neighbour", "");
    let server = world.serve();
    deploy(
        &server,
        "rescue",
        json!({"hosts": [{"name": "h1", "once": true}]}),
        None,
    );
    fetch_counted_not(&server);
    assert_eq!(world.deployed(H1_MAC).as_deref(), Some("rescue"));
}

fn fetch_counted_not(server: &TestServer) {
    let response = client()
        .get(server.url(&format!("/v1/boot/ipxe/{H1_MAC}")))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(host(server, "h1")["lastBoot"], Value::Null);
}

#[test]
fn a_flood_of_fetches_never_pushes_a_change_out_and_strangers_are_listed() {
    let world = AuditWorld::new("", "");
    let server = world.serve();
    let (status, _) = deploy(&server, "local", json!({"hosts": [{"name": "h3"}]}), None);
    assert_eq!(status, StatusCode::OK);
    // More boot fetches of a known host than the history keeps, from four clients; and some
    // fetches of MACs no host has.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let http = client();
                for _ in 0..2_650 {
                    let r = http
                        .get(server.url(&format!("/v1/boot/ipxe/{H2_MAC}")))
                        .send()
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::OK);
                }
            });
        }
    });
    for i in 0..50 {
        let r = client()
            .get(server.url(&format!("/v1/boot/ipxe/aa:bb:cc:00:00:{i:02x}")))
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let first = get_json(&server, "/v1/events?since=0&limit=1");
    assert_eq!(first[0]["kind"], "deploy", "{first}");
    assert_eq!(first[0]["host"], "h3");
    let h3 = get_json(&server, "/v1/hosts/h3/events");
    assert_eq!(h3.as_array().unwrap().len(), 1, "{h3}");
    let recent = get_json(&server, "/v1/events?since=10000&limit=1000");
    assert!(
        recent
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["host"] != Value::Null),
        "no event for a MAC of no host"
    );
    let unknown = get_json(&server, "/v1/unknown-machines");
    assert_eq!(unknown.as_array().unwrap().len(), 50, "{unknown}");
    assert_eq!(
        unknown[0]["macAddress"], "aa:bb:cc:00:00:31",
        "last seen first"
    );
    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("pxe_pilot_unknown_boot_fetches_total 50"),
        "{metrics}"
    );
    // The change is still on disk too, after a restart.
    drop(server);
    let server = world.serve();
    assert_eq!(
        get_json(&server, "/v1/hosts/h3/events")[0]["kind"],
        "deploy"
    );
}

#[test]
fn thousands_of_idle_connections_from_one_peer_leave_the_server_to_the_others() {
    let world = AuditWorld::new("", "");
    let server = world.serve();
    let authority = server.authority().to_owned();
    let target: std::net::SocketAddr = authority.parse().unwrap();
    // One peer (127.0.0.2) keeps 2,200 connections open that never send a byte: it opens
    // new ones as fast as it can (non-blocking connects), closing its oldest past 2,200.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let opened_so_far = std::sync::atomic::AtomicUsize::new(0);
    let (opened, held_by_server, slowest) = std::thread::scope(|scope| {
        let attacker = scope.spawn(|| {
            let mut held = std::collections::VecDeque::new();
            let mut opened = 0usize;
            let from: std::net::SocketAddr = "127.0.0.2:0".parse().unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let socket =
                    socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                        .unwrap();
                socket.set_nonblocking(true).unwrap();
                socket.bind(&from.into()).unwrap();
                let _ = socket.connect(&target.into());
                held.push_back(socket);
                opened += 1;
                opened_so_far.store(opened, std::sync::atomic::Ordering::Relaxed);
                if held.len() > 2_200 {
                    held.pop_front();
                }
            }
            opened
        });
        // The probes start once the peer has opened its 2,200 idle connections (it goes on
        // replacing the ones the server cuts).
        let ramp = Instant::now();
        while opened_so_far.load(std::sync::atomic::Ordering::Relaxed) < 2_200 {
            assert!(
                ramp.elapsed() < Duration::from_secs(60),
                "the idle peer could not open 2,200 connections in 60 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // What the server holds of that peer (its own end of the connections), once it has
        // cut what is over the cap: polled until then, for at most 15 s.
        let cap = 2 * pxe_pilot_core::DEFAULT_MAX_CONNECTIONS_PER_PEER;
        let settle = Instant::now();
        let held_by_server = loop {
            let held = established(target, "127.0.0.2");
            if held <= cap || settle.elapsed() > Duration::from_secs(15) {
                break held;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Meanwhile, from another address, everyone else is answered.
        let mut slowest = Duration::ZERO;
        for _ in 0..20 {
            let probe = Instant::now();
            assert!(healthy(&authority), "a probe was not answered within 5 s");
            slowest = slowest.max(probe.elapsed());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (attacker.join().unwrap(), held_by_server, slowest)
    });
    println!("[idle connections] one peer opened {opened} idle connections, holding 2,200; the server held {held_by_server} of them; 20 probes from another address, the slowest answered in {slowest:?}");
    assert!(opened >= 2_200, "{opened}");
    assert!(
        held_by_server <= 2 * pxe_pilot_core::DEFAULT_MAX_CONNECTIONS_PER_PEER,
        "the server holds {held_by_server} connections of one peer"
    );
}

/// How many connections `server` holds established with peers at `peer_ip`, from the
/// kernel's `/proc/net/tcp` (the server's end: local address `server`).
fn established(server: std::net::SocketAddr, peer_ip: &str) -> usize {
    let hex = |addr: &str, port: u16| {
        let ip: std::net::Ipv4Addr = addr.parse().unwrap();
        format!("{:08X}:{port:04X}", u32::from_le_bytes(ip.octets()))
    };
    let local = hex(&server.ip().to_string(), server.port());
    let peer_prefix = hex(peer_ip, 0)[..8].to_owned();
    let table = fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3
                && fields[1] == local
                && fields[2].starts_with(&peer_prefix)
                && fields[3] == "01"
        })
        .count()
}

#[test]
fn a_client_s_text_never_forges_a_log_line() {
    let world = AuditWorld::new("", "");
    let server = world.server().env("RUST_LOG", "debug").start();
    for path in [
        "/v1/boot/ipxe/%0D%0AINJECTED%20line%1B%5B31m%00",
        "/v1/boot/%0AINJECTED%1B%5B2J/x",
        "/v1/hosts/%0AINJECTED",
    ] {
        let answer = raw_exchange(
            server.authority(),
            &http_request("GET", path, &[], b""),
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(answer.status < 500, "{path}: {}", answer.head);
    }
    let logs = server.logs();
    assert!(logs.contains("INJECTED"), "the requests were logged");
    for line in logs.lines() {
        assert!(!line.starts_with("INJECTED"), "a forged line: {line:?}");
        assert!(
            !line.contains('\u{1b}') && !line.contains('\0') && !line.contains('\r'),
            "{line:?}"
        );
    }
}

#[test]
fn concurrent_scrapes_each_count_every_host() {
    let world = AuditWorld::new("", "");
    let server = world.serve();
    deploy(&server, "local", json!({"hosts": [{"name": "h1"}]}), None);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let http = client();
                for _ in 0..60 {
                    let text = http
                        .get(server.url("/metrics"))
                        .send()
                        .unwrap()
                        .text()
                        .unwrap();
                    let total: i64 = text
                        .lines()
                        .filter(|l| l.starts_with("pxe_pilot_hosts{"))
                        .map(|l| l.rsplit(' ').next().unwrap().parse::<i64>().unwrap())
                        .sum();
                    assert_eq!(total, 3, "{text}");
                }
            });
        }
    });
}

#[test]
fn a_second_server_on_the_same_state_dir_refuses_to_start_and_names_the_first() {
    let world = AuditWorld::new("", "");
    let first = world.serve();
    let (code, log) = world.server().run_to_exit(Duration::from_secs(20));
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(&format!(
            "used by another pxe-pilot-server (pid {})",
            first.pid()
        )),
        "{log}"
    );
    drop(first);
    // The lock goes with its holder, however it ends.
    let mut again = world.serve();
    again.kill();
    drop(again);
    let _third = world.serve();
}

#[test]
fn a_corrupt_event_id_is_cut_and_ids_never_wrap() {
    let world = AuditWorld::new("", "");
    fs::create_dir_all(world.path("state")).unwrap();
    fs::write(
        world.path("state/events.jsonl"),
        "{\"id\":7,\"time\":\"2026-11-29T11:15:29.123Z\",\"host\":\"h1\",\"kind\":\"deploy\",\"to\":\"local\",\"who\":\"token\",\"result\":\"ok\"}\n\
         {\"id\":18446744073709551614,\"time\":\"2026-11-29T11:15:30.123Z\",\"host\":\"h1\",\"kind\":\"deploy\",\"to\":\"local\",\"who\":\"token\",\"result\":\"ok\"}\n",
    )
    .unwrap();
    let server = world.serve();
    for _ in 0..3 {
        let (status, answer) = deploy(&server, "local", json!({"hosts": [{"name": "h2"}]}), None);
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let ids: Vec<u64> = get_json(&server, "/v1/events?since=0")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [7, 8, 9, 10]);
    assert!(
        server.logs().contains("corrupt line cut"),
        "{}",
        server.logs()
    );
    let file = fs::read_to_string(world.path("state/events.jsonl")).unwrap();
    assert!(!file.contains("18446744073709551614"), "{file}");
}

#[test]
fn a_change_sent_by_a_page_of_another_site_is_refused() {
    // A server without a token (as --demo): DNS rebinding gives a page of evil.example the
    // server's address under its own name.
    let world = AuditWorld::new("", "");
    let server = world.serve();
    let port = server.port();
    let body = r#"{"hosts":[{"name":"h1"}]}"#.to_owned();
    for (host, origin) in [
        (
            format!("evil.example:{port}"),
            format!("http://evil.example:{port}"),
        ),
        (
            format!("127.0.0.1:{port}"),
            "http://evil.example".to_owned(),
        ),
    ] {
        let request = format!(
            "PUT /v1/configurations/local/deploy HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let answer = raw_exchange(
            server.authority(),
            request.as_bytes(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(answer.status, 403, "{}", answer.head);
        assert!(
            answer.message().unwrap().contains("another site"),
            "{:?}",
            answer.message()
        );
    }
    assert_eq!(world.deployed(H1_MAC), None);
    // The page of the server itself (same origin, its address) may.
    let answer = client()
        .put(server.url("/v1/configurations/local/deploy"))
        .header("Origin", format!("http://127.0.0.1:{port}"))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(world.deployed(H1_MAC).as_deref(), Some("local"));
}

#[test]
fn deploy_now_of_a_host_without_power_management_prints_the_original_s_table() {
    let world = AuditWorld::new("", "");
    let server = world.serve();
    let run = cli::run(&server, &["config", "deploy", "-n", "local", "h3"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "\
+------+---------------+----------+
| NAME | CONFIGURATION | REBOOTED |
+------+---------------+----------+
| h3   | local         | ERROR    |
+------+---------------+----------+
"
    );
    assert!(!run.stderr.contains("network boot"), "{}", run.stderr);
    let answer = deploy(
        &server,
        "local",
        json!({"hosts": [{"name": "h3", "reboot": true}]}),
        None,
    )
    .1;
    assert_eq!(answer["hosts"][0]["netboot"], "SKIPPED", "{answer}");
}

#[test]
fn a_bootloader_named_ipxe_is_served_over_http_without_saying_so() {
    let world = AuditWorld::new("", "");
    let config = world.path("pxe-pilot.yml");
    let yaml = fs::read_to_string(&config).unwrap();
    let yaml = yaml.replace(
        "{name: ipxe, file: ipxe.efi, http: ipxe}",
        "{name: ipxe, file: ipxe.efi}",
    );
    fs::write(&config, yaml).unwrap();
    let server = world.serve();
    let entry = client()
        .get(server.url("/boot.ipxe"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        entry.contains("chain --replace --autofree /v1/boot/ipxe/"),
        "{entry}"
    );
    deploy(&server, "rescue", json!({"hosts": [{"name": "h1"}]}), None);
    let script = client()
        .get(server.url(&format!("/v1/boot/ipxe/{H1_MAC}")))
        .send()
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(script.text().unwrap(), "#!ipxe\necho rescue of h1\n");
    let bootloaders = get_json(&server, "/v1/bootloaders");
    assert_eq!(bootloaders[1]["http"], "ipxe", "{bootloaders}");
}
