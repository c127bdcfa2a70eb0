//! The installer's last step against a PXE server that is not up yet: `pxe-pilot config
//! deploy local --self` keeps retrying, announcing each retry on stderr, and succeeds once the
//! server starts on that address.

use crate::{cli, common};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use cli::{fake_sysfs, free_address, Run};
use common::{World, SEED_MAC};

#[test]
fn deploy_self_waits_for_a_server_that_starts_late() {
    let address = free_address();
    let dir = tempfile::tempdir().unwrap();
    let net = fake_sysfs(dir.path(), &[("eno1", SEED_MAC)]);
    let started = Instant::now();
    let client = cli::pxe_pilot()
        .args(["-s", &format!("http://{address}"), "--retry-for", "60"])
        .args(["config", "deploy", "local", "--self"])
        .env("PXE_PILOT_SYSFS_NET", &net)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(1500));
    let world = World::new();
    let _server = world.server().listen(address).start();
    let run = Run::from(client.wait_with_output().unwrap());
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        "\
+------+---------------+----------+
| NAME | CONFIGURATION | REBOOTED |
+------+---------------+----------+
| h1   | local         | NO       |
+------+---------------+----------+
"
    );
    let retries: Vec<&str> = run.stderr.lines().collect();
    assert!(!retries.is_empty(), "no retry announced");
    for line in &retries {
        assert!(
            line.starts_with(&format!(
                "pxe-pilot: cannot reach the pxe-pilot server: GET http://{address}/v1/hosts?mac="
            )) && line.contains("; retry "),
            "{line}"
        );
    }
    assert!(
        retries[0].ends_with("; retry 1 in 0.5s (--retry-for 60)"),
        "{}",
        retries[0]
    );
    assert_eq!(world.deployed(SEED_MAC).as_deref(), Some("local"));
}
