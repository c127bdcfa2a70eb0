//! Nobody writes who may not: the bearer token, secrets, and confinement, through the
//! real `pxe-pilot-server` and `pxe-pilot` binaries with power management configured (the fake
//! `ipmitool` and `fping` of `tests/fake-tools` first on the server's PATH).
//!
//! - With `server.token` set, every request that changes something without the right
//!   `Authorization: Bearer` is answered 401 and changes nothing (no entry, no power command,
//!   no scan); reads stay open; the CLI's `--token` works end to end.
//! - No password, secret variable or token appears in any answer, any CLI output or the
//!   server's log at `RUST_LOG=debug`, whatever route or command runs, including failing ones.
//! - Nothing is ever written outside `<tftp root>/pxelinux.cfg/` and the bootloaders' entry
//!   folders, whatever the input: the TFTP root lives in a folder that is made immutable
//!   (`chattr +i`, which binds root too) where the file system supports it, and is compared
//!   with a snapshot (modes, times, contents, link targets) in any case.

use crate::{cli, common, reliability};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{entry_name, TestServer};
use reliability::random::Rng;
use reliability::raw_http::{healthy, http_request, raw_exchange, RawResponse};
use reliability::snapshot::{diff, snapshot, Snapshot};
use reliability::storm::{Outcome, Storm, StormPlan};
use reliability::storm_world::StormHost;

const TOKEN: &str = "t0ken-Zq8-never-shown";
const IPMI_PASSWORD: &str = "ipmi-pa55-Xk2-never-shown";
const MGMT_USER: &str = "mgmt-user-Wj4-never-shown";
const MGMT_PASSWORD: &str = "mgmt-pa55-Hv7-never-shown";
const ADAPTER_KEY: &str = "adapter-key-Rm3-never-shown";
/// Every value that must never be shown.
const SECRETS: [&str; 5] = [TOKEN, IPMI_PASSWORD, MGMT_USER, MGMT_PASSWORD, ADAPTER_KEY];

/// A TFTP root with power management: `ipmi` (ipmitool, BMC in the ARP table), `adapter`
/// (a command adapter running the fake ipmitool with host variables and an adapter secret),
/// `echoer` (an adapter whose commands print the secrets, to exercise output masking),
/// `sleepy` (a BMC that never answers: the command times out), `lost` (a BMC not in the ARP
/// table) and `plain` (no power management). Bootloaders `pxelinux` and `grub` (with its own
/// per-MAC entries under `grub/`).
struct PowerWorld {
    /// Holds `parent/` (the folder that must not change) and the tools' state.
    dir: tempfile::TempDir,
}

const HOSTS: [&str; 6] = ["plain", "ipmi", "adapter", "echoer", "sleepy", "lost"];

impl PowerWorld {
    fn new(token: Option<&str>) -> PowerWorld {
        let dir = tempfile::Builder::new()
            .prefix("pxe-pilot-security-")
            .tempdir()
            .unwrap();
        let parent = dir.path().join("parent");
        let conf = parent.join("tftp/pxelinux.cfg/conf");
        for (path, text) in [
            ("pxelinux/local", "DEFAULT local\n"),
            ("pxelinux/ubuntu", "DEFAULT install\n"),
            ("grub/grml", "menuentry grml {}\n"),
        ] {
            fs::create_dir_all(conf.join(path).parent().unwrap()).unwrap();
            fs::write(conf.join(path), text).unwrap();
        }
        fs::write(parent.join("tftp/pxelinux.0"), "not ours\n").unwrap();
        fs::create_dir_all(parent.join("tftp/grub")).unwrap();
        fs::write(parent.join("tftp/grub/grub.cfg"), "not ours either\n").unwrap();
        fs::create_dir_all(dir.path().join("bmc")).unwrap();
        let arp = "127.0.0.11       0x1         0x2         00:00:00:00:0a:02     *        eth0\n127.0.0.12       0x1         0x2         00:00:00:00:0a:03     *        eth0\n127.0.0.13       0x1         0x2         00:00:00:00:0a:04     *        eth0\n";
        let header =
            "IP address       HW type     Flags       HW address            Mask     Device\n";
        fs::write(dir.path().join("arp"), format!("{header}{arp}")).unwrap();
        fs::write(
            dir.path().join("arp-entries"),
            "127.0.0.11 00:00:00:00:0a:02\n127.0.0.12 00:00:00:00:0a:03\n127.0.0.13 00:00:00:00:0a:04\n",
        )
        .unwrap();
        let token = token.map(|t| format!("  token: {t}\n")).unwrap_or_default();
        let secret_vars = format!(
            "[{{name: username, value: {MGMT_USER}}}, {{name: password, value: {MGMT_PASSWORD}}}]"
        );
        let yaml = format!(
            r#"hosts:
  - name: plain
    mac_addresses: ["02:00:00:00:01:01", "02:00:00:00:01:02"]
  - name: ipmi
    mac_addresses: ["02:00:00:00:02:01", "02:00:00:00:02:02", "02:00:00:00:02:03"]
    ipmi:
      mac_address: "00:00:00:00:0a:02"
      username: admin
      password: {IPMI_PASSWORD}
      interface: lanplus
      subnet: 127.0.0.8/30
  - name: adapter
    mac_addresses: ["02:00:00:00:03:01"]
    management:
      mac_address: "00:00:00:00:0a:03"
      subnet: 127.0.0.12/30
      adapter: fake-ipmi
      vars: {secret_vars}
  - name: echoer
    mac_addresses: ["02:00:00:00:04:01"]
    management:
      mac_address: "00:00:00:00:0a:04"
      adapter: echoer
      vars: {secret_vars}
  - name: sleepy
    mac_addresses: ["02:00:00:00:05:01"]
    management:
      hostname: 10.69.70.99
      adapter: fake-ipmi
      vars: {secret_vars}
  - name: lost
    mac_addresses: ["02:00:00:00:06:01"]
    ipmi:
      mac_address: "00:00:00:00:0a:09"
      username: admin
      password: {IPMI_PASSWORD}
host_management_adapters:
  - name: fake-ipmi
    vars:
      - {{name: command, value: "ipmitool -I lanplus -U {{{{.username}}}} -P {{{{.password}}}} -H {{{{.ip_address}}}}"}}
      - {{name: kg_key, value: {ADAPTER_KEY}}}
    power_status: {{cmd: "{{{{.command}}}} -y {{{{.kg_key}}}} power status", pattern_on: "Chassis Power is on", pattern_off: "Chassis Power is off"}}
    power_on: {{cmd: "{{{{.command}}}} -y {{{{.kg_key}}}} power on"}}
    power_off: {{cmd: "{{{{.command}}}} -y {{{{.kg_key}}}} power off"}}
    power_reset: {{cmd: "{{{{.command}}}} -y {{{{.kg_key}}}} power reset"}}
  - name: echoer
    vars:
      - {{name: kg_key, value: {ADAPTER_KEY}}}
    power_status: {{cmd: "echo {{{{.password}}}} {{{{.username}}}} {{{{.kg_key}}}}", pattern_on: "never", pattern_off: "either"}}
    power_on: {{cmd: "sh -c 'echo {{{{.password}}}} {{{{.kg_key}}}} >&2; exit 3'"}}
    power_off: {{cmd: "no-such-command-{{{{.password}}}} {{{{.kg_key}}}}"}}
    power_reset: {{cmd: "sh -c 'echo {{{{.password}}}} {{{{.kg_key}}}} >&2; exit 3'"}}
tftp:
  root: tftp
configuration:
  directory: tftp/pxelinux.cfg/conf
  bootloaders:
    - {{name: pxelinux, file: pxelinux.0, config_path: pxelinux.cfg}}
    - {{name: grub, file: grubnetx64.efi.signed, config_path: grub/grub.cfg, mac_entry: "grub/grub.cfg-01-{{mac}}"}}
server:
  listen: 127.0.0.1
{token}arp_table: {arp}
command_timeout: 1
"#,
            arp = dir.path().join("arp").display(),
        );
        fs::write(parent.join("pxe-pilot.yml"), yaml).unwrap();
        PowerWorld { dir }
    }

    fn parent(&self) -> PathBuf {
        self.dir.path().join("parent")
    }

    fn config(&self) -> PathBuf {
        self.parent().join("pxe-pilot.yml")
    }

    fn tftp(&self) -> PathBuf {
        self.parent().join("tftp")
    }

    /// The fake ipmitool's log of every call (one argument per line).
    fn bmc_calls(&self) -> String {
        fs::read_to_string(self.dir.path().join("bmc/calls.log")).unwrap_or_default()
    }

    /// The subnets the fake fping scanned.
    fn scans(&self) -> String {
        fs::read_to_string(self.dir.path().join("arp.scans")).unwrap_or_default()
    }

    /// The server with the fake tools first on its PATH, logging at `log_level`, its log
    /// appended to `server.log` (a server killed and started again keeps one log).
    fn start(&self, log_level: &str) -> TestServer {
        let state = |name: &str| self.dir.path().join(name);
        TestServer::builder()
            .config(self.config())
            .append_log(state("server.log"))
            .env("PATH", cli::path_with_fake_tools())
            .env("FAKE_BMC_STATE", state("bmc"))
            .env("FAKE_ARP_TABLE", state("arp"))
            .env("FAKE_ARP_ENTRIES", state("arp-entries"))
            .env("RUST_LOG", log_level)
            .start()
    }
}

/// A request sent raw, with optional extra headers; its answer.
fn send(
    server: &TestServer,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    raw_exchange(
        server.authority(),
        &http_request(method, target, headers, body.as_bytes()),
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
}

/// Every request that changes something: (method, path, body).
fn changes() -> Vec<(&'static str, String, String)> {
    let mut changes = Vec::new();
    for prefix in ["/v1", ""] {
        changes.push((
            "PUT",
            format!("{prefix}/configurations/ubuntu/deploy"),
            r#"{"hosts":[{"name":"plain"},{"macAddress":"02:00:00:00:02:02","reboot":true}]}"#
                .to_owned(),
        ));
        changes.push((
            "PUT",
            format!("{prefix}/configurations/grml/deploy"),
            r#"{"hosts":[{"name":"adapter","reboot":true}]}"#.to_owned(),
        ));
        changes.push((
            "DELETE",
            format!("{prefix}/hosts/ipmi/configuration"),
            String::new(),
        ));
        for host in ["ipmi", "adapter"] {
            for action in ["reboot", "on", "off"] {
                changes.push((
                    "PATCH",
                    format!("{prefix}/hosts/{host}/{action}"),
                    String::new(),
                ));
            }
        }
        changes.push(("PATCH", format!("{prefix}/refresh"), String::new()));
    }
    changes
}

/// What is on disk and what the tools were asked, to see that nothing changed.
fn state(world: &PowerWorld) -> (Snapshot, String, String) {
    (
        snapshot(&world.tftp(), &[]),
        world.bmc_calls(),
        world.scans(),
    )
}

#[test]
fn with_a_token_every_change_needs_it_and_reads_stay_open() {
    let world = PowerWorld::new(Some(TOKEN));
    let server = world.start("info");
    assert!(
        !server.logs().contains("no server.token"),
        "no warning with a token"
    );
    // Put something on disk first, so that an undeploy would have something to remove.
    let bearer = format!("Bearer {TOKEN}");
    let ok = send(
        &server,
        "PUT",
        "/v1/configurations/local/deploy",
        &[("Authorization", &bearer)],
        r#"{"hosts":[{"name":"ipmi"},{"name":"plain"}]}"#,
    );
    assert_eq!(ok.status, 200, "{:?}", String::from_utf8_lossy(&ok.body));
    let before = state(&world);
    let basic = format!("Basic {TOKEN}");
    let longer = format!("Bearer {TOKEN}x");
    let prefix = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
    let upper = format!("Bearer {}", TOKEN.to_uppercase());
    let bare_token = TOKEN.to_owned();
    let no_space = format!("Bearer{TOKEN}");
    let wrong_credentials: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("Authorization", "Bearer not-the-token")],
        vec![("Authorization", "Bearer ")],
        vec![("Authorization", "")],
        vec![("Authorization", &longer)],
        vec![("Authorization", &prefix)],
        vec![("Authorization", &upper)],
        vec![("Authorization", &basic)],
        vec![("Authorization", &bare_token)],
        vec![("Authorization", &no_space)],
        vec![("X-Token", TOKEN), ("Cookie", &bare_token)],
        vec![
            ("Authorization", "Bearer wrong"),
            ("Authorization", &bearer),
        ],
    ];
    let mut refused = 0;
    for (method, path, body) in changes() {
        for headers in &wrong_credentials {
            let answer = send(&server, method, &path, headers, &body);
            assert_eq!(
                answer.status, 401,
                "{method} {path} {headers:?}: {}",
                answer.head
            );
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
            assert!(answer.message().is_some(), "{:?}", answer.body);
            refused += 1;
        }
        // The token in the query string is not a token.
        let answer = send(
            &server,
            method,
            &format!("{path}?token={TOKEN}"),
            &[],
            &body,
        );
        assert_eq!(answer.status, 401, "{method} {path}?token=");
        refused += 1;
    }
    // Methods no route has are refused the same way: nothing is ever reached without the token.
    for method in ["POST", "PUT", "DELETE", "PATCH", "FOO"] {
        assert_eq!(
            send(&server, method, "/v1/hosts", &[], "{}").status,
            401,
            "{method}"
        );
        refused += 1;
    }
    let after = state(&world);
    assert!(
        diff(&before.0, &after.0).is_empty(),
        "{:?}",
        diff(&before.0, &after.0)
    );
    assert_eq!(before.1, after.1, "a power command ran without the token");
    assert_eq!(before.2, after.2, "a scan ran without the token");

    // Reads stay open, power status queries included.
    let reads = [
        "/v1/healthcheck",
        "/v1/hosts",
        "/v1/hosts?status=false",
        "/v1/hosts/ipmi",
        "/v1/hosts?mac=02:00:00:00:02:03",
        "/v1/configurations",
        "/v1/configurations/local",
        "/v1/bootloaders",
        "/v1/version",
        "/hosts",
    ];
    for path in reads {
        let answer = send(&server, "GET", path, &[], "");
        assert!(
            answer.status == 200 || answer.status == 204,
            "GET {path}: {}",
            answer.head
        );
    }
    assert!(
        world.bmc_calls().contains("status"),
        "GET /v1/hosts asked the power state"
    );

    // With the token every change goes through.
    for (method, path, body) in changes() {
        let answer = send(&server, method, &path, &[("Authorization", &bearer)], &body);
        assert!(
            answer.status == 200 || answer.status == 204,
            "{method} {path}: {} {:?}",
            answer.head,
            String::from_utf8_lossy(&answer.body)
        );
    }
    assert!(world.bmc_calls().contains("power\non"));
    assert!(!world.scans().is_empty(), "refresh scanned");
    let lower = send(
        &server,
        "DELETE",
        "/v1/hosts/plain/configuration",
        &[("Authorization", &format!("bearer   {TOKEN} "))],
        "",
    );
    assert_eq!(
        lower.status, 200,
        "the scheme in any case, spaces around the token"
    );

    // The CLI carries it end to end: --token and PXE_PILOT_TOKEN.
    let cli_runs: [&[&str]; 6] = [
        &["config", "deploy", "ubuntu", "plain", "02:00:00:00:02:01"],
        &["config", "deploy", "-n", "grml", "adapter"],
        &["host", "on", "ipmi"],
        &["host", "reboot", "adapter"],
        &["host", "off", "ipmi"],
        &["host", "refresh"],
    ];
    let mut cli_refused = 0;
    for args in cli_runs {
        let without = cli::run_at(&server.base, args);
        assert_eq!(without.code, Some(1), "{args:?} without token: {without:?}");
        assert!(without.stderr.contains("401"), "{without:?}");
        let wrong = cli::run_at(&server.base, &[&["--token", "nope"][..], args].concat());
        assert_eq!(
            wrong.code,
            Some(1),
            "{args:?} with a wrong token: {wrong:?}"
        );
        cli_refused += 2;
        cli::run_at(&server.base, &[&["--token", TOKEN][..], args].concat()).ok();
        let from_env = cli::pxe_pilot()
            .args(["-s", &server.base])
            .args(args)
            .env("PXE_PILOT_TOKEN", TOKEN)
            .output()
            .unwrap();
        cli::Run::from(from_env).ok();
    }
    let logs = server.logs();
    assert!(!logs.contains(TOKEN), "the token is logged");
    println!(
        "[auth] {refused} changes without the right token refused 401 (12 ways to get it wrong x {} changing requests, the token in the query, 5 methods), nothing written, no power command, no scan; {} reads open; {cli_refused} CLI runs without or with a wrong token refused, {} with --token or PXE_PILOT_TOKEN done",
        changes().len(),
        reads.len(),
        cli_runs.len() * 2
    );
}

#[test]
fn without_a_token_the_server_warns_that_changes_are_open() {
    let world = PowerWorld::new(None);
    let server = world.start("info");
    assert!(healthy(server.authority()));
    let logs = server.logs();
    let warning = logs
        .lines()
        .find(|l| l.contains("no server.token"))
        .unwrap_or_else(|| panic!("no warning at start:\n{logs}"));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("anyone who reaches"), "{warning}");
}

#[test]
fn no_password_secret_variable_or_token_is_ever_shown() {
    let world = PowerWorld::new(Some(TOKEN));
    let server = world.start("debug");
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("Authorization", bearer.as_str())];
    let mut answers: Vec<String> = Vec::new();
    let mut record = |what: String, answer: RawResponse| {
        answers.push(format!(
            "{what}\n{}\n{}",
            answer.head,
            String::from_utf8_lossy(&answer.body)
        ));
    };
    // Every route, the failing power paths included (a timeout, an unknown BMC, a command that
    // fails, one that cannot start, an unknown power status), with and without the token.
    let mut routes: Vec<(&str, String, String)> = vec![
        ("GET", "/v1/healthcheck".into(), String::new()),
        ("GET", "/v1/bootloaders".into(), String::new()),
        ("GET", "/v1/configurations".into(), String::new()),
        ("GET", "/v1/configurations/local".into(), String::new()),
        ("GET", "/v1/configurations/nope".into(), String::new()),
        ("GET", "/v1/version".into(), String::new()),
        ("GET", "/v1/openapi.json".into(), String::new()),
        ("GET", "/v1/hosts".into(), String::new()),
        ("GET", "/v1/hosts?status=false".into(), String::new()),
        ("GET", "/hosts".into(), String::new()),
        (
            "GET",
            "/v1/hosts?mac=02:00:00:00:03:01".into(),
            String::new(),
        ),
        ("GET", "/v1/hosts?mac=nope".into(), String::new()),
        ("GET", "/v1/nope".into(), String::new()),
        ("PATCH", "/v1/refresh".into(), String::new()),
    ];
    for host in HOSTS {
        routes.push(("GET", format!("/v1/hosts/{host}"), String::new()));
        for action in ["on", "off", "reboot"] {
            routes.push(("PATCH", format!("/v1/hosts/{host}/{action}"), String::new()));
        }
        routes.push((
            "PUT",
            "/v1/configurations/grml/deploy".into(),
            format!(r#"{{"hosts":[{{"name":"{host}","reboot":true}}]}}"#),
        ));
        routes.push((
            "PUT",
            "/configurations/local/deploy".into(),
            format!(r#"{{"hosts":[{{"name":"{host}","reboot":true}}]}}"#),
        ));
        routes.push((
            "DELETE",
            format!("/v1/hosts/{host}/configuration"),
            String::new(),
        ));
    }
    let mut statuses = std::collections::BTreeMap::new();
    for (method, path, body) in &routes {
        let ways: &[&[(&str, &str)]] = if *method == "GET" {
            &[&auth[..], &[][..]]
        } else {
            &[&auth[..], &[][..], &[("Authorization", "Bearer wrong")][..]]
        };
        for headers in ways {
            let answer = send(&server, method, path, headers, body);
            *statuses.entry(answer.status).or_insert(0) += 1;
            record(format!("{method} {path}"), answer);
        }
    }
    // Every CLI command, with the token and -d (each request on stderr), tables and JSON.
    let mut cli_outputs = Vec::new();
    let commands: Vec<Vec<&str>> = vec![
        vec!["host", "list"],
        vec!["-o", "json", "host", "list"],
        vec!["config", "list"],
        vec!["config", "show", "local"],
        vec!["bootloader", "list"],
        vec!["version"],
        vec![
            "config", "deploy", "-n", "ubuntu", "plain", "ipmi", "adapter", "echoer", "sleepy",
            "lost",
        ],
        vec!["-o", "json", "config", "deploy", "--now", "grml", "adapter"],
        vec!["host", "on", "ipmi"],
        vec!["host", "off", "adapter"],
        vec!["host", "reboot", "echoer"],
        vec!["host", "off", "echoer"],
        vec!["host", "on", "sleepy"],
        vec!["host", "reboot", "lost"],
        vec!["host", "refresh"],
    ];
    for args in &commands {
        for extra in [&["-d", "--token", TOKEN][..], &["-d"][..]] {
            let run = cli::run_at(&server.base, &[extra, &args[..]].concat());
            cli_outputs.push(format!(
                "{args:?}: {:?}\n{}\n{}",
                run.code, run.stdout, run.stderr
            ));
        }
    }
    let logs = server.logs();
    // The secrets did reach the tools: the test exercised the paths that carry them.
    let calls = world.bmc_calls();
    for secret in [IPMI_PASSWORD, MGMT_PASSWORD, MGMT_USER, ADAPTER_KEY] {
        assert!(
            calls.contains(secret),
            "{secret} never reached the fake ipmitool"
        );
    }
    for failure in [
        "power status unknown",
        "did not finish within",
        "is not known",
        "cannot run",
        "failed (exit status: 3)",
    ] {
        assert!(
            logs.contains(failure),
            "the failing path {failure:?} never ran"
        );
    }
    let mut leaks = Vec::new();
    for secret in SECRETS {
        for (what, text) in [("server log", &logs)]
            .into_iter()
            .chain(answers.iter().map(|a| ("answer", a)))
            .chain(cli_outputs.iter().map(|o| ("CLI", o)))
        {
            if let Some(line) = text.lines().find(|l| l.contains(secret)) {
                leaks.push(format!("{secret} in {what}: {line}"));
            }
        }
    }
    println!(
        "[secrets] {} answers ({} routes, each with the token, without, and (changes) with a wrong one; statuses {statuses:?}), {} CLI runs, {} lines of server log at RUST_LOG=debug: {} leaks of {} secrets (BMC password, adapter variables, token)",
        answers.len(),
        routes.len(),
        cli_outputs.len(),
        logs.lines().count(),
        leaks.len(),
        SECRETS.len()
    );
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    assert_eq!(
        statuses.keys().filter(|s| **s >= 500).count(),
        0,
        "{statuses:?}"
    );
}

/// Makes every file and folder under `parent` immutable (`chattr +i`) but those the server may
/// write, and undoes it on drop. `None` when the file system or the user cannot.
struct Immutable {
    paths: Vec<PathBuf>,
}

impl Immutable {
    fn apply(parent: &Path, writable: &[PathBuf]) -> Option<Immutable> {
        let mut paths = Vec::new();
        let mut stack = vec![parent.to_owned()];
        while let Some(path) = stack.pop() {
            let meta = fs::symlink_metadata(&path).ok()?;
            if meta.is_dir() {
                for item in fs::read_dir(&path).ok()?.flatten() {
                    stack.push(item.path());
                }
            }
            if !meta.file_type().is_symlink() && !writable.iter().any(|w| w == &path) {
                paths.push(path);
            }
        }
        let done = Command::new("chattr")
            .arg("+i")
            .args(&paths)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let guard = Immutable { paths };
        // Prove it binds this user: creating a file in the parent must fail.
        let probe = parent.join(".probe");
        if done && fs::write(&probe, "x").is_err() {
            Some(guard)
        } else {
            let _ = fs::remove_file(probe);
            None
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").args(&self.paths).status();
    }
}

#[test]
fn nothing_is_written_outside_the_entry_folders_whatever_the_input() {
    let world = PowerWorld::new(None);
    let parent = world.parent();
    let cfg = world.tftp().join("pxelinux.cfg");
    let grub = world.tftp().join("grub");
    // The server may write: entries (and temporary ones) in pxelinux.cfg/ and grub/. All the
    // rest of the parent folder, the catalogue included, must stay as it is.
    let allowed = |path: &Path| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        path == cfg
            || path == grub
            || (path.parent() == Some(cfg.as_path())
                && (name.starts_with("01-") || name.starts_with(".pxe-pilot-tmp.")))
            || (path.parent() == Some(grub.as_path()) && name != "grub.cfg")
    };
    let guarded = |snap: Snapshot| -> Snapshot {
        snap.into_iter()
            .filter(|(p, _)| !allowed(&parent.join(p)))
            .collect()
    };
    let before = guarded(snapshot(&parent, &[]));
    let immutable = Immutable::apply(&parent, &[cfg.clone(), grub.clone()]);
    let enforcement = if immutable.is_some() {
        "chattr +i on every other file and folder (binds root too) and a snapshot"
    } else {
        "a snapshot only (chattr +i unavailable here)"
    };
    let mut server = world.start("info");
    let authority = server.authority().to_owned();
    let mut requests = 0;
    let mut server_errors = 0;
    let mut send_raw = |server: &TestServer, request: Vec<u8>| {
        let answer = raw_exchange(server.authority(), &request, Duration::from_secs(30));
        requests += 1;
        if answer.as_ref().is_ok_and(|a| a.status >= 500) {
            server_errors += 1;
        }
        answer
    };
    // Every configuration to every host, switching bootloaders back and forth (GRUB entries
    // are written and removed), undeploys, power and refresh.
    for round in 0..3 {
        for configuration in ["local", "grml", "ubuntu", "grml"] {
            for host in HOSTS {
                let body = format!(
                    r#"{{"hosts":[{{"name":"{host}","reboot":{}}}]}}"#,
                    round == 0
                );
                let answer = send_raw(
                    &server,
                    http_request(
                        "PUT",
                        &format!("/v1/configurations/{configuration}/deploy"),
                        &[],
                        body.as_bytes(),
                    ),
                )
                .unwrap();
                assert_eq!(answer.status, 200, "{configuration} {host}");
            }
        }
        for host in HOSTS.iter().step_by(2) {
            send_raw(
                &server,
                http_request(
                    "DELETE",
                    &format!("/v1/hosts/{host}/configuration"),
                    &[],
                    b"",
                ),
            )
            .unwrap();
            send_raw(
                &server,
                http_request("PATCH", &format!("/v1/hosts/{host}/off"), &[], b""),
            )
            .unwrap();
        }
        send_raw(&server, http_request("PATCH", "/v1/refresh", &[], b"")).unwrap();
    }
    // Names, MACs and paths that try to lead elsewhere.
    let mut rng = Rng::new(Rng::seed("confinement"));
    let nasty = [
        "..",
        "../..",
        "../../pxe-pilot.yml",
        "/etc/passwd",
        "%2e%2e%2f%2e%2e%2fpxe-pilot.yml",
        "..%2f..%2f..%2ftmp%2fx",
        "conf%2f..%2f..%2fpxelinux.0",
        "grub%2f..%2f..%2fx",
        "%00",
        "local%00",
        ".pxe-pilot-tmp.1.1.x",
        "01-02-00-00-00-01-01",
        "%2fgrub%2fgrub.cfg",
        "pxelinux%2flocal",
        "grub%2fgrml",
        "...",
        "a%5c..%5cb",
        "%C0%AE%C0%AE%2f",
        "%252e%252e%252f",
        "local%2f",
    ];
    for name in nasty {
        let body = format!(
            r#"{{"hosts":[{{"name":"{}"}},{{"macAddress":"{}"}}]}}"#,
            name.replace('%', "_"),
            name
        );
        for request in [
            http_request(
                "PUT",
                &format!("/v1/configurations/{name}/deploy"),
                &[],
                br#"{"hosts":[{"name":"plain"}]}"#,
            ),
            http_request(
                "PUT",
                "/v1/configurations/local/deploy",
                &[],
                body.as_bytes(),
            ),
            http_request("GET", &format!("/v1/configurations/{name}"), &[], b""),
            http_request(
                "DELETE",
                &format!("/v1/hosts/{name}/configuration"),
                &[],
                b"",
            ),
            http_request("PATCH", &format!("/v1/hosts/{name}/reboot"), &[], b""),
        ] {
            let answer = send_raw(&server, request).unwrap();
            assert!(
                (400..500).contains(&answer.status),
                "{name}: {}",
                answer.head
            );
        }
    }
    for _ in 0..200 {
        let name: String = (0..1 + rng.below(24))
            .map(|_| ['.', '/', '%', '2', 'e', 'f', '0', 'a', '\\', 'c'][rng.below(10)])
            .collect();
        let answer = send_raw(
            &server,
            http_request(
                "PUT",
                &format!("/v1/configurations/{name}/deploy"),
                &[],
                br#"{"hosts":[{"name":"plain"}]}"#,
            ),
        );
        if let Ok(answer) = answer {
            assert!(answer.status < 500, "{name}: {}", answer.head);
        }
    }
    // Storms, each killed with SIGKILL in the middle, and a restart (which sweeps and cleans).
    let storm_hosts: Vec<StormHost> = HOSTS
        .iter()
        .map(|name| StormHost {
            name: name.to_string(),
            macs: host_macs(name),
        })
        .collect();
    for _ in 0..3 {
        let plan = StormPlan {
            clients: 4,
            duration: Duration::from_secs(5),
            max_requests_per_client: 500,
            multi_host_percent: 30,
            undeploy_percent: 20,
            stop_on_transport_error: true,
        };
        let configurations = ["local", "ubuntu", "grml"].map(String::from).to_vec();
        let storm = Storm::start_with(
            storm_hosts.clone(),
            configurations,
            std::slice::from_ref(&server.base),
            &plan,
            rng.next(),
        );
        std::thread::sleep(Duration::from_millis(100 + rng.below(300) as u64));
        server.kill();
        storm.stop();
        let ops = storm.join();
        requests += ops.len();
        server_errors += ops
            .iter()
            .filter(|op| matches!(op.outcome, Outcome::Status(s, _) if s >= 500))
            .count();
        server = world.start("info");
    }
    assert!(healthy(server.authority()));
    let _ = authority;
    // A temporary entry younger than the grace period at the last restart is removed by the
    // server a few seconds later (docs/reliability.md): wait for that sweep before looking.
    wait_until_no_temporary_entries(&[&cfg, &grub]);
    let after = guarded(snapshot(&parent, &[]));
    let changed = diff(&before, &after);
    let logs = fs::read_to_string(world.dir.path().join("server.log")).unwrap_or_default();
    drop(server);
    drop(immutable);
    println!(
        "[confinement] {requests} requests (deploys switching PXELINUX and GRUB entries, undeploys, power, refresh, {} path and name tricks, 200 random ones, storms killed with SIGKILL and restarted), {server_errors} 5xx; outside pxelinux.cfg/ and grub/: {} changes; enforced with {enforcement}",
        nasty.len() * 5,
        changed.len()
    );
    assert!(
        changed.is_empty(),
        "written outside the entry folders: {changed:?}"
    );
    assert_eq!(server_errors, 0, "{logs}");
    assert!(
        !logs.contains("Read-only") && !logs.contains("Operation not permitted"),
        "{logs}"
    );
    // The entry folders hold only entries.
    for name in fs::read_dir(&cfg)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
    {
        assert!(
            name == "conf" || name.starts_with("01-"),
            "{name} in pxelinux.cfg"
        );
    }
    assert_eq!(entry_name("02:00:00:00:01:01"), "01-02-00-00-00-01-01");
}

/// Waits (ten seconds at the most) until `folders` hold no temporary entry.
fn wait_until_no_temporary_entries(folders: &[&Path]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let leftover = || {
        folders.iter().any(|folder| {
            fs::read_dir(folder)
                .into_iter()
                .flatten()
                .flatten()
                .any(|entry| {
                    entry
                        .file_name()
                        .to_string_lossy()
                        .starts_with(".pxe-pilot-tmp")
                })
        })
    };
    while leftover() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The MACs of a [`PowerWorld`] host, the first one first.
fn host_macs(name: &str) -> Vec<String> {
    let (index, nics) = match name {
        "plain" => (1, 2),
        "ipmi" => (2, 3),
        "adapter" => (3, 1),
        "echoer" => (4, 1),
        "sleepy" => (5, 1),
        _ => (6, 1),
    };
    (1..=nics)
        .map(|n| format!("02:00:00:00:{index:02x}:{n:02x}"))
        .collect()
}
