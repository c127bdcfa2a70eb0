//! Two real servers, each with its own TFTP root, sharing one state in a real etcd (Debian's
//! `etcd-server` 3.4, one member on loopback): a deploy through one is on the other's disk
//! within a second; the keyspace holds no secret; with etcd killed, boots and reads go on
//! from each mirror while a change answers 503 naming etcd, within seconds, and writes
//! nothing; etcd back, the servers converge by themselves; a server restarted over an empty
//! TFTP root writes every entry before it answers. Needs `etcd`, `etcdctl` and curl.
//! Run alone with `cargo test --test e2e etcd::`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Fixture, TestServer, World, H2_MAC, IPMI_PASSWORD, SEED_MAC};
use crate::e2e::Need;

/// `etcd`, `etcdctl` (Debian `etcd-server`, `etcd-client`) and curl.
pub fn needs() -> Vec<Need> {
    vec![
        Need::Command("etcd", "etcd-server"),
        Need::Command("etcdctl", "etcd-client"),
        Need::Command("curl", "curl"),
    ]
}

/// [`needs`] and openssl (Debian `openssl`) for the certificates.
pub fn tls_needs() -> Vec<Need> {
    let mut all = needs();
    all.push(Need::Command("openssl", "openssl"));
    all
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One etcd member on two loopback ports, its data in `dir`; killed on drop.
struct Member {
    child: Option<Child>,
    client: u16,
    peer: u16,
    dir: std::path::PathBuf,
    /// With TLS: the CA, and the member's certificate and key; clients must show a
    /// certificate of the same CA.
    tls: Option<crate::bmc::Pki>,
}

impl Member {
    fn start(dir: &Path) -> Member {
        Member::start_with(dir, None)
    }

    /// A member whose clients speak TLS and show a certificate of `tls`'s CA.
    fn start_with(dir: &Path, tls: Option<crate::bmc::Pki>) -> Member {
        let mut member = Member {
            child: None,
            client: free_port(),
            peer: free_port(),
            dir: dir.to_owned(),
            tls,
        };
        member.restart();
        member
    }

    fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client)
    }

    /// `etcdctl` against this member (with the CA and `client`'s certificate under TLS).
    fn etcdctl(&self, client: Option<&(std::path::PathBuf, std::path::PathBuf)>) -> Command {
        let mut command = Command::new("etcdctl");
        command
            .env("ETCDCTL_API", "3")
            .args(["--endpoints", &self.url()]);
        if let (Some(tls), Some((cert, key))) = (&self.tls, client) {
            command
                .arg("--cacert")
                .arg(&tls.ca)
                .arg("--cert")
                .arg(cert)
                .arg("--key")
                .arg(key);
        }
        command
    }

    fn restart(&mut self) {
        let peer = format!("http://127.0.0.1:{}", self.peer);
        let mut command = Command::new("setpriv");
        if let Some(tls) = &self.tls {
            command
                .env("ETCD_CLIENT_CERT_AUTH", "true")
                .env("ETCD_CERT_FILE", &tls.cert)
                .env("ETCD_KEY_FILE", &tls.key)
                .env("ETCD_TRUSTED_CA_FILE", &tls.ca);
        }
        let child = command
            .args(["--pdeathsig", "KILL", "etcd", "--data-dir"])
            .arg(&self.dir)
            .args([
                "--listen-client-urls",
                &self.url(),
                "--advertise-client-urls",
                &self.url(),
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args([
                "--initial-cluster",
                &format!("default={peer}"),
                "--logger",
                "zap",
            ])
            .args(["--log-level", "error"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start etcd");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.client)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "etcd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every key and value under the prefix, as `etcdctl get --prefix` prints them.
    fn dump(&self, prefix: &str) -> String {
        let out = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .args(["--endpoints", &self.url(), "get", "--prefix", prefix])
            .output()
            .expect("etcdctl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The default world with `store.etcd` over `member` under `prefix`, site `site`.
fn world(member: &Member, prefix: &str, site: &str) -> World {
    Fixture::new()
        .yaml(&format!(
            "store:\n  etcd:\n    endpoints: [{}]\n    prefix: {prefix}\nsite: {site}",
            member.url()
        ))
        .build()
}

/// `PUT /v1/configurations/CONFIGURATION/deploy` of host `host` through `server`:
/// (status, body, how long it took).
fn deploy(server: &TestServer, configuration: &str, host: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let answer = reqwest::blocking::Client::new()
        .put(server.url(&format!("/v1/configurations/{configuration}/deploy")))
        .json(&serde_json::json!({"hosts": [{"name": host}]}))
        .timeout(Duration::from_secs(30))
        .send()
        .expect("an answer");
    let status = answer.status().as_u16();
    (status, answer.text().unwrap_or_default(), started.elapsed())
}

/// Polls until `world`'s entry of `mac` leads to `configuration`; how long it took.
fn on_disk_within(world: &World, mac: &str, configuration: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    while world.deployed(mac).as_deref() != Some(configuration) {
        assert!(
            started.elapsed() < limit,
            "{mac} does not lead to {configuration} after {limit:?} (it leads to {:?})",
            world.deployed(mac)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    started.elapsed()
}

pub fn two_servers_share_one_state_and_boot_from_their_mirrors_when_etcd_is_away() {
    let data = tempfile::tempdir().expect("a temporary folder");
    let mut member = Member::start(data.path());
    let prefix = format!("/e2e-{}/", std::process::id());
    let (world_a, world_b) = (
        world(&member, &prefix, "rack-a"),
        world(&member, &prefix, "rack-b"),
    );
    let a = world_a.serve();
    let mut b = world_b.serve();

    // A deploy through A: on A's disk when answered, on B's within a second.
    let (status, body, _) = deploy(&a, "ubuntu-16.04", "h1");
    assert_eq!(status, 200, "{body}");
    assert_eq!(world_a.deployed(SEED_MAC).as_deref(), Some("ubuntu-16.04"));
    let took = on_disk_within(&world_b, SEED_MAC, "ubuntu-16.04", Duration::from_secs(1));
    // And the other way round.
    let (status, body, _) = deploy(&b, "grml-2017.05", "h2");
    assert_eq!(status, 200, "{body}");
    let back = on_disk_within(&world_a, H2_MAC, "grml-2017.05", Duration::from_secs(1));
    eprintln!("[etcd] A -> B's disk in {took:?}, B -> A's disk in {back:?}");

    // The keyspace holds no secret of the servers' files.
    let keys = member.dump(&prefix);
    assert!(keys.contains("entries/"), "{keys}");
    assert!(
        !keys.contains(IPMI_PASSWORD) && !keys.to_lowercase().contains("password"),
        "{keys}"
    );

    // etcd away: a change is 503 naming etcd, within seconds, and writes nothing; reads and
    // boot scripts answer from the mirror.
    member.kill();
    let (status, body, took) = deploy(&a, "local", "h1");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("etcd"), "{body}");
    assert!(took < Duration::from_secs(10), "answered in {took:?}");
    assert_eq!(world_a.deployed(SEED_MAC).as_deref(), Some("ubuntu-16.04"));
    let hosts = reqwest::blocking::get(a.url("/v1/hosts?status=false")).expect("an answer");
    assert_eq!(hosts.status().as_u16(), 200);
    assert!(hosts.text().unwrap().contains("ubuntu-16.04"));

    // etcd back: the same change goes through, and B converges by itself.
    member.restart();
    let started = Instant::now();
    loop {
        let (status, body, _) = deploy(&a, "local", "h1");
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "etcd back, still {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    on_disk_within(&world_b, SEED_MAC, "local", Duration::from_secs(10));

    // B restarted over an empty TFTP root writes every entry before it answers.
    b.kill();
    for (name, _) in world_b.entries() {
        std::fs::remove_file(world_b.pxelinux_cfg().join(name)).expect("remove an entry");
    }
    let mut b = world_b.serve();
    assert_eq!(world_b.deployed(SEED_MAC).as_deref(), Some("local"));
    assert_eq!(world_b.deployed(H2_MAC).as_deref(), Some("grml-2017.05"));

    // A link changed by hand on B is put back from etcd at its next full read, and said.
    b.kill();
    let entry = world_b.entry(H2_MAC);
    std::fs::remove_file(&entry).expect("remove h2's entry");
    std::os::unix::fs::symlink("conf/ubuntu-16.04", &entry).expect("a link by hand");
    let b = world_b.serve();
    assert_eq!(world_b.deployed(H2_MAC).as_deref(), Some("grml-2017.05"));
    assert!(b.logs().contains("written from etcd"), "{}", b.logs());
}

/// `GET path` on `server`, as JSON.
fn get_json(server: &TestServer, path: &str) -> serde_json::Value {
    let answer = reqwest::blocking::Client::new()
        .get(server.url(path))
        .timeout(Duration::from_secs(10))
        .send()
        .expect("an answer");
    assert_eq!(answer.status().as_u16(), 200, "{path}");
    answer.json().expect("JSON")
}

/// Polls `GET /v1/status` on `server` until `wanted` holds of it, for at most `limit`.
fn status_within(
    server: &TestServer,
    limit: Duration,
    what: &str,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let status = get_json(server, "/v1/status");
        if wanted(&status) {
            return status;
        }
        assert!(
            started.elapsed() < limit,
            "status not {what} after {limit:?}: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sites(status: &serde_json::Value) -> Vec<String> {
    status["servers"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|s| s["site"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn the_status_names_the_store_the_servers_seen_and_etcd_away() {
    let data = tempfile::tempdir().expect("a temporary folder");
    let mut member = Member::start(data.path());
    let prefix = format!("/e2e-status-{}/", std::process::id());
    let (world_a, world_b) = (
        world(&member, &prefix, "rack-a"),
        world(&member, &prefix, "rack-b"),
    );
    let a = world_a.serve();
    let mut b = world_b.serve();

    // Both servers announce themselves; A's status shows the fleet and a mirror in step.
    let status = status_within(&a, Duration::from_secs(10), "showing both sites", |s| {
        sites(s) == ["rack-a", "rack-b"]
    });
    assert_eq!(status["store"], "etcd", "{status}");
    assert_eq!(status["site"], "rack-a", "{status}");
    assert_eq!(status["etcd"]["reachable"], true, "{status}");
    assert_eq!(status["mirror"]["lag_seconds"], 0.0, "{status}");
    assert_eq!(status["stale"], false, "{status}");
    assert!(
        status["mirror"]["revision"].as_i64().unwrap() > 0,
        "{status}"
    );
    let metrics = reqwest::blocking::get(a.url("/metrics"))
        .expect("an answer")
        .text()
        .unwrap();
    for line in [
        "pxe_pilot_store{kind=\"etcd\"} 1",
        "pxe_pilot_etcd_reachable 1",
        "pxe_pilot_servers_seen 2",
        "pxe_pilot_mirror_lag_seconds 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }

    // Past a lease's 10 s and more: each server renews its lease, so neither drops out of
    // the fleet, and no server says etcd refuses its writes.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(13) {
        let status = get_json(&a, "/v1/status");
        assert_eq!(sites(&status), ["rack-a", "rack-b"], "{status}");
        std::thread::sleep(Duration::from_millis(500));
    }
    for server in [&a, &b] {
        let logs = server.logs();
        assert!(
            !logs.contains("does not take this server's writes"),
            "a presence lost its lease while etcd was up:\n{logs}"
        );
    }

    // B stops cleanly: its presence goes with it.
    b.terminate();
    status_within(&a, Duration::from_secs(15), "without rack-b", |s| {
        sites(s) == ["rack-a"]
    });

    let (status, body, _) = deploy(&a, "ubuntu-16.04", "h1");
    assert_eq!(status, 200, "{body}");

    // etcd away: the status says so within seconds (and answers at once), reads may be stale.
    member.kill();
    let status = status_within(&a, Duration::from_secs(10), "unreachable", |s| {
        s["etcd"]["reachable"] == false
    });
    assert_eq!(status["stale"], true, "{status}");
    let started = Instant::now();
    get_json(&a, "/v1/status");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // A restarted while etcd is away starts on its TFTP root as it is (a machine rebooted
    // during an outage keeps booting its hosts), says so, and refuses changes.
    let mut a = a;
    a.terminate();
    let a = world_a.serve();
    assert!(a.logs().contains("etcd does not answer"), "{}", a.logs());
    assert_eq!(world_a.deployed(SEED_MAC).as_deref(), Some("ubuntu-16.04"));
    let (status, body, _) = deploy(&a, "local", "h1");
    assert_eq!(status, 503, "{body}");
    let status = get_json(&a, "/v1/status");
    assert_eq!(status["stale"], true, "{status}");

    // Back: reachable, in step, and changes go through.
    member.restart();
    status_within(&a, Duration::from_secs(15), "reachable and in step", |s| {
        s["etcd"]["reachable"] == true && s["stale"] == false
    });
    let (status, body, _) = deploy(&a, "local", "h1");
    assert_eq!(status, 200, "{body}");
}

pub fn boot_events_wait_for_etcd_in_a_bounded_line_and_the_ones_dropped_are_counted() {
    let data = tempfile::tempdir().expect("a temporary folder");
    let mut member = Member::start(data.path());
    let prefix = format!("/e2e-dropped-{}/", std::process::id());
    let world = seed_world(&format!(
        "store:\n  etcd:\n    endpoints: [{}]\n    prefix: {prefix}\nsite: rack-a\n",
        member.url()
    ));
    let server = world.serve();
    deploy_body(
        &server,
        "installer",
        serde_json::json!({"hosts": [{"name": "h2"}]}),
    );
    let status = get_json(&server, "/v1/status");
    assert_eq!(status["mirror"]["buffered_events"], 0, "{status}");
    assert_eq!(status["mirror"]["dropped_events"], 0, "{status}");

    // etcd away: 10,010 fetches are served; 10,000 events wait, the 10 oldest are dropped, and
    // the status, the metrics and the log say so.
    member.kill();
    status_within(&server, Duration::from_secs(10), "unreachable", |s| {
        s["etcd"]["reachable"] == false
    });
    let client = reqwest::blocking::Client::new();
    for _ in 0..10_010 {
        let boot = client
            .get(server.url(&format!("/v1/boot/ipxe/{H2_MAC}")))
            .send()
            .expect("an answer");
        assert_eq!(boot.status().as_u16(), 200);
    }
    let status = get_json(&server, "/v1/status");
    assert_eq!(status["mirror"]["buffered_events"], 10_000, "{status}");
    assert_eq!(status["mirror"]["dropped_events"], 10, "{status}");
    let metrics = reqwest::blocking::get(server.url("/metrics"))
        .expect("an answer")
        .text()
        .unwrap();
    assert!(
        metrics.contains("pxe_pilot_dropped_boot_events_total 10"),
        "{metrics}"
    );
    let started = Instant::now();
    while !server.logs().contains("boot events dropped") {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Back: the 10,000 waiting are published (within 10 s of etcd's return); the count stays.
    member.restart();
    let status = status_within(&server, Duration::from_secs(20), "published", |s| {
        s["etcd"]["reachable"] == true && s["mirror"]["buffered_events"] == 0
    });
    assert_eq!(status["mirror"]["dropped_events"], 10, "{status}");
}

/// A world of the seed test: an iPXE installer served over HTTP and a PXELINUX `local`,
/// `state_dir` in `state`, and `extra` configuration.
fn seed_world(extra: &str) -> World {
    let world = Fixture::new()
        .catalogue(&[
            ("pxelinux/local", "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n"),
            ("ipxe/installer", "#!ipxe\necho installing\n"),
        ])
        .configuration(
            "  bootloaders:\n    - {name: pxelinux, file: pxelinux.0}\n    - {name: ipxe, file: ipxe.efi}\n",
        )
        .yaml(&format!("state_dir: state\n{extra}"))
        .build();
    std::fs::create_dir_all(world.path().join("state")).expect("create state_dir");
    world
}

fn deploy_body(server: &TestServer, configuration: &str, body: serde_json::Value) {
    let answer = reqwest::blocking::Client::new()
        .put(server.url(&format!("/v1/configurations/{configuration}/deploy")))
        .json(&body)
        .send()
        .expect("an answer");
    let status = answer.status().as_u16();
    assert_eq!(status, 200, "{}", answer.text().unwrap_or_default());
}

fn seed(config: &Path) -> (bool, String, String) {
    let out = Command::new(crate::common::binary("pxe-pilot-server"))
        .arg("--seed-etcd")
        .arg("-c")
        .arg(config)
        .output()
        .expect("run pxe-pilot-server --seed-etcd");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn one_server_becomes_several_through_the_seed_command() {
    let data = tempfile::tempdir().expect("a temporary folder");
    let member = Member::start(data.path());
    let prefix = format!("/e2e-seed-{}/", std::process::id());
    let store = format!(
        "store:\n  etcd:\n    endpoints: [{}]\n    prefix: {prefix}\n",
        member.url()
    );

    // One server on its files: h1 deployed the installer once, h2 local and booted once,
    // h3's entry made by hand towards a file that is gone.
    let single = seed_world("");
    let mut server = single.serve();
    deploy_body(
        &server,
        "installer",
        serde_json::json!({"hosts": [{"name": "h1", "once": true}]}),
    );
    deploy_body(
        &server,
        "local",
        serde_json::json!({"hosts": [{"name": "h2"}]}),
    );
    let boot =
        reqwest::blocking::get(server.url(&format!("/v1/boot/ipxe/{H2_MAC}"))).expect("an answer");
    assert_eq!(boot.status().as_u16(), 200);
    std::os::unix::fs::symlink(
        "conf/pxelinux/gone",
        single.entry(crate::common::H3_MACS[0]),
    )
    .expect("a link by hand");

    // The same file with store.etcd: a server on it refuses the empty prefix and names the
    // seed; the seed refuses while the server holds state_dir.
    let with_etcd = single.path().join("with-etcd.yml");
    let text = std::fs::read_to_string(&single.config).expect("the configuration");
    std::fs::write(&with_etcd, format!("{text}{store}")).expect("write");
    let (ok, _, err) = seed(&with_etcd);
    assert!(!ok && err.contains("state_dir"), "{err}");
    server.terminate();
    let Err(refused) = TestServer::builder().config(&with_etcd).try_start() else {
        panic!("a server on an empty prefix over a root with entries must refuse");
    };
    assert!(refused.contains("--seed-etcd"), "{refused}");

    // The seed: what was written, said in one line; h3 left out with a warning.
    let (ok, out, err) = seed(&with_etcd);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("2 hosts deployed, 1 pending once, 1 last boots"),
        "{out}"
    );
    assert!(err.contains("h3 left out"), "{err}");
    let keys = member.dump(&prefix);
    assert!(
        keys.contains("once/h1")
            && keys.contains("events/b/seed-000000000000")
            && keys.contains(r#""host":"h2""#),
        "{keys}"
    );
    // A second seed finds the prefix full and writes nothing.
    let (ok, _, err) = seed(&with_etcd);
    assert!(!ok && err.contains("already holds"), "{err}");
    assert_eq!(member.dump(&prefix), keys);

    // A second server over an empty root boots the same, the once carried over: its first
    // fetch of h1 serves the installer, then h1 falls back to local.
    let second = seed_world(&store);
    let other = second.serve();
    assert_eq!(second.deployed(SEED_MAC).as_deref(), Some("ipxe/installer"));
    assert_eq!(second.deployed(H2_MAC).as_deref(), Some("pxelinux/local"));
    let h2 = get_json(&other, "/v1/hosts/h2");
    assert!(h2["lastBoot"].is_object(), "{h2}");
    let script = reqwest::blocking::get(other.url(&format!("/v1/boot/ipxe/{SEED_MAC}")))
        .expect("an answer")
        .text()
        .unwrap();
    assert!(script.contains("installing"), "{script}");
    on_disk_within(&second, SEED_MAC, "pxelinux/local", Duration::from_secs(5));
    // And the first server, now on etcd, starts over its own root and follows.
    let _first = TestServer::builder().config(&with_etcd).start();
    on_disk_within(&single, SEED_MAC, "pxelinux/local", Duration::from_secs(5));
}

/// `etcdctl ARGS` through `command`, which must succeed; its output.
fn etcdctl_ok(mut command: Command, args: &[&str]) -> String {
    let out = command.args(args).output().expect("etcdctl");
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn etcd_over_tls_with_a_client_certificate_and_a_user() {
    let data = tempfile::tempdir().expect("a temporary folder");
    let pki_dir = tempfile::tempdir().expect("a temporary folder");
    let pki = crate::bmc::Pki::new(pki_dir.path());
    let admin = pki.client("admin", "/O=e2e admin");
    let (cert, key) = pki.client("pxe-pilot", "/O=pxe-pilot");
    let named = pki.client("named", "/CN=pxe-pilot");
    let ca = pki.ca.clone();
    let member = Member::start_with(data.path(), Some(pki));
    let prefix = format!("/tls-{}/", std::process::id());
    // etcd's users: root, and pxe-pilot allowed its prefix only; then authentication on.
    for args in [
        vec!["user", "add", "root:root-password"],
        vec!["user", "add", "pxe-pilot:etcd-password"],
        vec!["role", "add", "pxe-pilot"],
        vec![
            "role",
            "grant-permission",
            "pxe-pilot",
            "--prefix=true",
            "readwrite",
            &prefix,
        ],
        vec!["user", "grant-role", "pxe-pilot", "pxe-pilot"],
        vec!["auth", "enable"],
    ] {
        etcdctl_ok(member.etcdctl(Some(&admin)), &args);
    }
    let configuration = |cert: &Path, key: &Path, password: &str| {
        let world = Fixture::new()
            .yaml(&format!(
                "store:\n  etcd:\n    endpoints: [{}]\n    prefix: {prefix}\n    ca_file: {}\n    cert_file: {}\n    key_file: {}\n    username: pxe-pilot\n    password_file: etcd-password\nsite: tls",
                member.url(),
                ca.display(),
                cert.display(),
                key.display()
            ))
            .build();
        std::fs::write(world.path().join("etcd-password"), format!("{password}\n"))
            .expect("write the password file");
        world
    };

    // The right certificate and password: changes go through etcd, the links follow.
    let world = configuration(&cert, &key, "etcd-password");
    let server = world.serve();
    // A second server's watch (gRPC, over the same TLS and user) applies the first one's
    // deploy to its own disk.
    let other = configuration(&cert, &key, "etcd-password");
    let _other_server = other.serve();
    let (status, body, _) = deploy(&server, "ubuntu-16.04", "h1");
    assert_eq!(status, 200, "{body}");
    assert_eq!(world.deployed(SEED_MAC).as_deref(), Some("ubuntu-16.04"));
    on_disk_within(&other, SEED_MAC, "ubuntu-16.04", Duration::from_secs(5));
    let keys = etcdctl_ok(
        member.etcdctl(Some(&admin)),
        &["--user", "root:root-password", "get", "--prefix", &prefix],
    );
    assert!(
        keys.contains("entries/") && !keys.contains("etcd-password"),
        "{keys}"
    );
    drop(server);

    // A wrong password, a certificate with a CommonName: the server refuses to start and
    // says what to change.
    for (world, words) in [
        (configuration(&cert, &key, "wrong"), "refused the user"),
        (
            configuration(&named.0, &named.1, "etcd-password"),
            "CommonName",
        ),
    ] {
        let (code, log) = world.server().run_to_exit(Duration::from_secs(20));
        assert_eq!(code, Some(1), "{log}");
        assert!(log.contains(words), "{words}: {log}");
    }
}
