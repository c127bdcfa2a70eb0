//! End-to-end: the self-service callback (DESIGN §6) on the real kernel's neighbour table.
//!
//! Two network namespaces made for the run (`ip netns add`), each joined to the test's own
//! namespace by a veth pair with addresses on a private /24 of its own: in namespace A the
//! interface has host `h1`'s MAC address, in namespace B a MAC of no host. pxe-pilot-server
//! runs in the test's namespace on `0.0.0.0:0` with a token, `self_service: [local]` and the
//! default `arp_table` (`/proc/net/arp`): a request's peer address is mapped to a MAC by the
//! kernel, which learnt it from the namespace's ARP traffic. Checked:
//! - from A, the seed's exact curl (`curl -X PUT http://ADDR:PORT/configurations/local/deploy
//!   -d '{"hosts":[{"macAddress":"<h1 mac>"}]}'`, no token) answers 200 and switches h1's link;
//! - from B, the same curl answers 401 with a message saying why, and nothing is written;
//! - from A without the token: another configuration, or another host -> 401, nothing written;
//! - from A, the static client's `config deploy local --self` (which reads its MACs from
//!   `/sys/class/net`: `ip netns exec` mounts the namespace's own /sys) exits 0;
//! - the callbacks are recorded as `self_service` events by `self`, with A's address.
//!
//! The namespaces and links are named after the test's process id and removed on drop, also
//! when the test fails. Needs root, iproute2 and curl, and the static client
//! (`cargo build -p pxe-pilot-cli --profile release-small --target x86_64-unknown-linux-musl`).
//! Run alone with `cargo test --test e2e self_service::`.

use crate::{bmc, common, e2e};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bmc::{host_events, http};
use common::TestServer;
use e2e::{link_target, run_capture, Artifacts, Need};
use serde_json::Value;

const H1_MAC: &str = "52:54:00:e2:5e:01";
const H2_MAC: &str = "52:54:00:e2:5e:02";
/// The MAC of namespace B's interface: no host has it.
const STRANGER_MAC: &str = "52:54:00:e2:5e:ff";
const TOKEN: &str = "e2e-self-service-admin-token-41b9";

/// `ip ARGS`, failing the test when it fails.
fn ip(args: &[&str]) {
    let (ok, out) = run_capture(Command::new("ip").args(args), Duration::from_secs(20));
    assert!(ok, "`ip {}` failed:\n{out}", args.join(" "));
}

/// A network namespace joined to ours by a veth pair: `HOST_ADDR/24` on our side, `NS_ADDR/24`
/// with `mac` inside. Removed (with its links) on drop.
struct Netns {
    name: String,
    host_link: String,
    /// Our side's address: the server's address as the namespace reaches it.
    host_addr: String,
    /// The namespace's address: the peer address the server sees.
    ns_addr: String,
}

impl Netns {
    fn new(tag: char, subnet: &str, mac: &str) -> Netns {
        let pid = std::process::id();
        let netns = Netns {
            name: format!("ppe2e-{pid}-{tag}"),
            host_link: format!("ppe{tag}{pid}"),
            host_addr: format!("{subnet}.1"),
            ns_addr: format!("{subnet}.2"),
        };
        netns.remove();
        let inner = format!("ppi{tag}{pid}");
        ip(&["netns", "add", &netns.name]);
        ip(&[
            "link",
            "add",
            &netns.host_link,
            "type",
            "veth",
            "peer",
            "name",
            &inner,
        ]);
        ip(&["link", "set", &inner, "netns", &netns.name]);
        ip(&[
            "addr",
            "add",
            &format!("{}/24", netns.host_addr),
            "dev",
            &netns.host_link,
        ]);
        ip(&["link", "set", &netns.host_link, "up"]);
        let exec = |args: &[&str]| {
            let mut all = vec!["netns", "exec", &netns.name, "ip"];
            all.extend_from_slice(args);
            ip(&all);
        };
        exec(&["link", "set", &inner, "address", mac]);
        exec(&[
            "addr",
            "add",
            &format!("{}/24", netns.ns_addr),
            "dev",
            &inner,
        ]);
        exec(&["link", "set", &inner, "up"]);
        exec(&["link", "set", "lo", "up"]);
        netns
    }

    /// `ip netns exec NAME PROGRAM ARGS`: (success, output).
    fn run(&self, program: &Path, args: &[&str]) -> (bool, String) {
        run_capture(
            Command::new("ip")
                .args(["netns", "exec", &self.name])
                .arg(program)
                .args(args)
                .env_remove("PXE_PILOT_TOKEN")
                .env_remove("PXE_PILOT_SERVER"),
            Duration::from_secs(60),
        )
    }

    /// curl inside the namespace, output then the HTTP status on the last line.
    fn curl(&self, args: &[&str]) -> (u16, String) {
        let curl = e2e::find_command("curl").expect("curl");
        let mut all = vec!["-sS", "--max-time", "20", "-w", "\n%{http_code}"];
        all.extend_from_slice(args);
        let (ok, out) = self.run(&curl, &all);
        assert!(ok, "curl in {} failed:\n{out}", self.name);
        let (body, code) = out.trim_end().rsplit_once('\n').unwrap_or(("", out.trim()));
        (
            code.trim().parse().expect("an HTTP status"),
            body.to_owned(),
        )
    }

    fn remove(&self) {
        for args in [
            vec!["netns", "del", self.name.as_str()],
            vec!["link", "del", self.host_link.as_str()],
        ] {
            let _ = Command::new("ip")
                .args(&args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The TFTP root (catalogue `local` and `installer`), state folder and configuration file
/// (hosts h1 and h2, a token, `self_service: [local]`, then `extra` lines) in `dir`:
/// (TFTP root, configuration file).
fn write_world(dir: &Path, extra: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let tftp = dir.join("tftp");
    let conf = tftp.join("pxelinux.cfg/conf");
    fs::create_dir_all(&conf).expect("create the catalogue");
    fs::write(conf.join("local"), "LOCALBOOT 0\n").expect("write conf/local");
    fs::write(conf.join("installer"), "KERNEL vmlinuz\n").expect("write conf/installer");
    let state = dir.join("state");
    fs::create_dir_all(&state).expect("create the state folder");
    let config = dir.join("pxe-pilot.yml");
    fs::write(
        &config,
        format!(
            "hosts:\n  - name: h1\n    mac_addresses: [\"{H1_MAC}\"]\n  \
             - name: h2\n    mac_addresses: [\"{H2_MAC}\"]\n\
             tftp:\n  root: {}\nconfiguration:\n  directory: {}\n\
             server:\n  token: \"{TOKEN}\"\n  self_service: [local]\nstate_dir: {}\n{extra}",
            tftp.display(),
            conf.display(),
            state.display()
        ),
    )
    .expect("write the server's configuration");
    (tftp, config)
}

/// The packaged unit's view of `/proc` (`ProcSubset=pid`, `ProtectProc=invisible`), as
/// systemd makes it: a mount namespace and a PID namespace of their own, `/proc` mounted
/// again with `subset=pid,hidepid=invisible`; the command is appended.
const UNIT_PROC: [&str; 9] = [
    "unshare",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child=SIGKILL",
    "sh",
    "-c",
    "mount -t proc -o subset=pid,hidepid=invisible proc /proc && exec \"$@\"",
    "sh",
];

/// Root (`ip netns add`, `unshare --mount --pid`), iproute2, curl, util-linux.
pub fn unit_needs() -> Vec<Need> {
    vec![
        Need::Root,
        Need::Command("ip", "iproute2"),
        Need::Command("curl", "curl"),
        Need::Command("unshare", "util-linux"),
    ]
}

pub fn the_callback_works_under_the_packaged_unit_s_view_of_proc() {
    // The sandbox really hides /proc/net/arp, and leaves the process's own table.
    let (hidden, out) = run_capture(
        Command::new(UNIT_PROC[0])
            .args(&UNIT_PROC[1..])
            .args(["cat", "/proc/net/arp"]),
        Duration::from_secs(10),
    );
    assert!(!hidden, "/proc/net/arp must be hidden by subset=pid: {out}");
    let (readable, out) = run_capture(
        Command::new(UNIT_PROC[0])
            .args(&UNIT_PROC[1..])
            .args(["cat", "/proc/self/net/arp"]),
        Duration::from_secs(10),
    );
    assert!(readable && out.contains("HW address"), "{out}");

    let artifacts = Artifacts::new("self-service-unit-proc");
    let (net_a, _) = subnets();
    let a = Netns::new('u', &net_a, H1_MAC);
    let seed_body = format!(r#"{{"hosts":[{{"macAddress":"{H1_MAC}"}}]}}"#);
    // With the default arp_table: the seed's curl from the host works, no warning.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (tftp, config) = write_world(dir.path(), "");
    let server = TestServer::builder()
        .config(&config)
        .listen("0.0.0.0:0")
        .wrapped_in(UNIT_PROC)
        .log_file(artifacts.path("server.log"))
        .env("RUST_LOG", "info")
        .timeout(Duration::from_secs(30))
        .start();
    let via_a = format!("http://{}:{}", a.host_addr, server.port());
    let (code, body) = a.curl(&[
        "-X",
        "PUT",
        &format!("{via_a}/configurations/local/deploy"),
        "-d",
        &seed_body,
    ]);
    eprintln!(
        "under the unit's /proc, from {} (h1): seed curl -> {code} {body}",
        a.ns_addr
    );
    assert_eq!(code, 200, "{body}\n{}", server.logs());
    assert_eq!(
        link_target(&tftp.join(format!("pxelinux.cfg/01-{}", H1_MAC.replace(':', "-")))),
        "conf/local"
    );
    assert!(
        !server.logs().contains("cannot be read"),
        "{}",
        server.logs()
    );
    drop(server);

    // A table the sandbox hides is said at start, not silently empty.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (_, config) = write_world(dir.path(), "arp_table: /proc/net/arp\n");
    let server = TestServer::builder()
        .config(&config)
        .listen("0.0.0.0:0")
        .wrapped_in(UNIT_PROC)
        .log_file(artifacts.path("server-hidden-table.log"))
        .timeout(Duration::from_secs(30))
        .start();
    let logs = server.logs();
    assert!(
        logs.contains("the neighbour table /proc/net/arp cannot be read")
            && logs.contains("self-service callbacks"),
        "{logs}"
    );
}

/// Two private /24s for this run, away from the machine's own routes.
fn subnets() -> (String, String) {
    let routes = run_capture(
        Command::new("ip").args(["-4", "route"]),
        Duration::from_secs(10),
    )
    .1;
    let pid = std::process::id();
    (0..250u32)
        .map(|i| (pid + i) % 250 + 1)
        .map(|n| (format!("10.250.{n}"), format!("10.251.{n}")))
        .find(|(a, b)| !routes.contains(&format!("{a}.")) && !routes.contains(&format!("{b}.")))
        .expect("a free pair of /24s")
}

/// Root (`ip netns add`, veth pairs), iproute2, curl, file.
pub fn own_address_needs() -> Vec<Need> {
    vec![
        Need::Root,
        Need::Command("ip", "iproute2"),
        Need::Command("curl", "curl"),
        Need::Command("file", "file"),
    ]
}

pub fn a_host_deploys_local_to_itself_without_the_token_from_its_own_address_only() {
    let started = Instant::now();
    let cli_static = e2e::initramfs::static_cli();
    let artifacts = Artifacts::new("self-service");
    let dir = tempfile::tempdir().expect("a temporary folder");

    let (tftp, config) = write_world(dir.path(), "");

    let (net_a, net_b) = subnets();
    let a = Netns::new('a', &net_a, H1_MAC);
    let b = Netns::new('b', &net_b, STRANGER_MAC);
    let server = TestServer::builder()
        .config(&config)
        .listen("0.0.0.0:0")
        .log_file(artifacts.path("server.log"))
        .env("RUST_LOG", "info")
        .timeout(Duration::from_secs(30))
        .start();
    let port = server.port();
    let local = format!("http://127.0.0.1:{port}");
    let via_a = format!("http://{}:{port}", a.host_addr);
    let via_b = format!("http://{}:{port}", b.host_addr);
    eprintln!(
        "namespaces {} ({} with h1's MAC {H1_MAC}) and {} ({} with {STRANGER_MAC}); server on 0.0.0.0:{port}",
        a.name, a.ns_addr, b.name, b.ns_addr
    );
    let link =
        |mac: &str| link_target(&tftp.join(format!("pxelinux.cfg/01-{}", mac.replace(':', "-"))));
    let bearer = format!("Authorization: Bearer {TOKEN}");
    let arm = || {
        let (code, body) = http(
            "PUT",
            &format!("{local}/v1/configurations/installer/deploy"),
            &[&bearer],
            Some(r#"{"hosts":[{"name":"h1"},{"name":"h2"}]}"#),
        );
        assert_eq!(code, 200, "the operator's deploy with the token: {body}");
        assert_eq!(link(H1_MAC), "conf/installer");
        assert_eq!(link(H2_MAC), "conf/installer");
    };
    arm();
    let seed_body = format!(r#"{{"hosts":[{{"macAddress":"{H1_MAC}"}}]}}"#);

    // From B (a MAC of no host): the seed's curl is refused, with the reason; nothing written.
    let (code, body) = b.curl(&[
        "-X",
        "PUT",
        &format!("{via_b}/configurations/local/deploy"),
        "-d",
        &seed_body,
    ]);
    eprintln!("from {} (B): seed curl -> {code} {body}", b.ns_addr);
    assert_eq!(code, 401, "{body}");
    let message = serde_json::from_str::<Value>(&body).expect("a JSON error")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(&b.ns_addr) && message.contains("neighbour table"),
        "the refusal must say why (the peer's address is not h1's): {message}"
    );
    assert_eq!(link(H1_MAC), "conf/installer", "nothing may be written");

    // From A without the token: another configuration, another host -> 401, nothing written.
    let (code, body) = a.curl(&[
        "-X",
        "PUT",
        &format!("{via_a}/configurations/installer/deploy"),
        "-d",
        &seed_body,
    ]);
    eprintln!(
        "from {} (A): deploy installer to itself -> {code} {body}",
        a.ns_addr
    );
    assert_eq!(code, 401, "{body}");
    assert!(
        body.contains("local"),
        "the refusal names what is allowed: {body}"
    );
    let (code, body) = a.curl(&[
        "-X",
        "PUT",
        &format!("{via_a}/configurations/local/deploy"),
        "-d",
        &format!(r#"{{"hosts":[{{"macAddress":"{H2_MAC}"}}]}}"#),
    ]);
    eprintln!(
        "from {} (A): deploy local to h2 -> {code} {body}",
        a.ns_addr
    );
    assert_eq!(code, 401, "{body}");
    let (code, body) = a.curl(&[
        "-X",
        "PUT",
        &format!("{via_a}/v1/configurations/local/deploy"),
        "-d",
        &format!(r#"{{"hosts":[{{"macAddress":"{H1_MAC}"}},{{"name":"h2"}}]}}"#),
    ]);
    assert_eq!(code, 401, "two hosts without the token: {body}");
    let (code, body) = a.curl(&["-X", "PATCH", &format!("{via_a}/v1/hosts/h1/reboot")]);
    assert_eq!(code, 401, "a power action without the token: {body}");
    assert_eq!(link(H1_MAC), "conf/installer", "nothing may be written");
    assert_eq!(link(H2_MAC), "conf/installer", "nothing may be written");

    // From A: the seed's exact curl, no token -> 200, h1 switched (h2 untouched).
    let (code, body) = a.curl(&[
        "-X",
        "PUT",
        &format!("{via_a}/configurations/local/deploy"),
        "-d",
        &seed_body,
    ]);
    eprintln!("from {} (A): seed curl -> {code} {body}", a.ns_addr);
    assert_eq!(code, 200, "{body}");
    assert_eq!(link(H1_MAC), "conf/local");
    assert_eq!(link(H2_MAC), "conf/installer");

    // From A: the static client's `config deploy local --self`, no token -> 0.
    arm();
    let (ok, out) = a.run(
        &cli_static,
        &["-s", &via_a, "config", "deploy", "local", "--self"],
    );
    eprintln!(
        "from {} (A): pxe-pilot config deploy local --self ->\n{out}",
        a.ns_addr
    );
    assert!(ok, "the static client's --self must exit 0:\n{out}");
    assert_eq!(link(H1_MAC), "conf/local");
    assert_eq!(link(H2_MAC), "conf/installer");
    // ... and from B it fails (its MAC is no host's), non-zero with a one-line reason.
    let (ok, out) = b.run(
        &cli_static,
        &["-s", &via_b, "config", "deploy", "local", "--self"],
    );
    eprintln!(
        "from {} (B): pxe-pilot config deploy local --self ->\n{out}",
        b.ns_addr
    );
    assert!(!ok, "B's --self must fail:\n{out}");

    // The record: two self-service callbacks by `self` from A's address.
    let events = host_events(&local, "h1");
    let callbacks: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "self_service")
        .collect();
    assert_eq!(
        callbacks.len(),
        2,
        "two callbacks:\n{}",
        bmc::events_text(&events)
    );
    for callback in &callbacks {
        assert_eq!(callback["who"], "self");
        assert_eq!(callback["to"], "local");
        assert_eq!(callback["result"], "ok");
        assert!(
            callback["peer"]
                .as_str()
                .is_some_and(|p| p.starts_with(&format!("{}:", a.ns_addr))),
            "the callback's peer is A's address: {callback}"
        );
    }
    let h2_events = host_events(&local, "h2");
    assert!(
        !h2_events.iter().any(|e| e["kind"] == "self_service"),
        "{}",
        bmc::events_text(&h2_events)
    );
    let arp = fs::read_to_string("/proc/net/arp").unwrap_or_default();
    eprintln!(
        "the kernel's neighbour table:\n{}",
        arp.lines()
            .filter(|l| l.starts_with("IP") || l.contains(&a.ns_addr) || l.contains(&b.ns_addr))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(!server.logs().contains(TOKEN));
    eprintln!("e2e_self_service: done in {:.1?}", started.elapsed());
    drop(server);
    drop(a);
    drop(b);
}
