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
}

impl Member {
    fn start(dir: &Path) -> Member {
        let mut member = Member {
            child: None,
            client: free_port(),
            peer: free_port(),
            dir: dir.to_owned(),
        };
        member.restart();
        member
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client)
    }

    fn restart(&mut self) {
        let peer = format!("http://127.0.0.1:{}", self.peer);
        let child = Command::new("setpriv")
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
    let _b = world_b.serve();
    assert_eq!(world_b.deployed(SEED_MAC).as_deref(), Some("local"));
    assert_eq!(world_b.deployed(H2_MAC).as_deref(), Some("grml-2017.05"));
}
