//! Power management with stand-ins for ipmitool and fping (`tests/fake-tools/` of the
//! workspace): the original's fixture configuration, refresh, status, on/off/reboot, a BMC that
//! hangs, a variable value that tries to add a shell command, passwords kept off command
//! lines, and the server-wide limit and cache of BMC commands.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use pxe_pilot_core::{Host, PowerAction, PowerError, PowerService, PowerState, Settings};

fn fake_tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fake-tools")
}

/// Puts the fake tools first on PATH, once for this test process.
fn use_fake_tools() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let path = format!(
            "{}:{}",
            fake_tools().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        std::env::set_var("PATH", path);
    });
}

struct World {
    dir: tempfile::TempDir,
    power: PowerService,
}

fn world(extra_hosts: &str) -> World {
    world_with("", extra_hosts, "")
}

/// A world whose configuration file also declares `extra_adapters` (list items) and ends
/// with `extra` (top-level keys).
fn world_with(extra_adapters: &str, extra_hosts: &str, extra: &str) -> World {
    use_fake_tools();
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("pxelinux.cfg/conf")).unwrap();
    fs::write(dir.path().join("pxelinux.cfg/conf/local"), "local").unwrap();
    fs::create_dir(dir.path().join("bmc")).unwrap();
    fs::write(
        dir.path().join("arp-entries"),
        "10.69.70.11 00:00:00:00:0a:01\n10.69.70.12 00:00:00:00:0a:02\n10.69.70.14 00:00:00:00:0a:04\n",
    )
    .unwrap();
    let template = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/original-test-template.yml"),
    )
    .unwrap();
    let yaml = template
        .replace("ipmitool-mock", "ipmitool")
        .replace("%%TFTP_ROOT%%", ".")
        .replace("%%CONFIG_DIR%%", "pxelinux.cfg/conf")
        .replace("    - name: pxelinux\n      file: pxelinux.0\n    - name: syslinux\n      file: syslinux.efi\n    - name: grub\n      file: grubnetx64.efi.signed\n      config_path: grub/grub.cfg\n", "    []\n")
        .replace("hosts:\n", &format!("hosts:\n{extra_hosts}"))
        .replace(
            "host_management_adapters:\n",
            &format!("host_management_adapters:\n{extra_adapters}"),
        )
        + "arp_table: arp\ncommand_timeout: 2\n"
        + extra;
    let (settings, _) = Settings::from_yaml(&yaml, Path::new("test.yml"), dir.path()).unwrap();
    World {
        power: PowerService::new(Arc::new(settings)),
        dir,
    }
}

impl World {
    /// The fake tools' environment of this world (each test has its own).
    fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("FAKE_BMC_STATE", self.dir.path().join("bmc")),
            ("FAKE_ARP_TABLE", self.dir.path().join("arp")),
            ("FAKE_ARP_ENTRIES", self.dir.path().join("arp-entries")),
        ]
    }

    fn host(&self, name: &str) -> &Host {
        self.power.settings().inventory.by_name(name).unwrap()
    }

    fn act(&self, name: &str, action: PowerAction) -> Result<(), PowerError> {
        self.power.act(self.host(name), action)
    }

    fn calls(&self) -> String {
        fs::read_to_string(self.dir.path().join("bmc/calls.log")).unwrap_or_default()
    }

    fn overview(&self) -> Vec<(String, Option<String>, Option<PowerState>)> {
        let hosts: Vec<_> = self.power.settings().inventory.hosts().iter().collect();
        let reports = self.power.overview(&hosts, true, Duration::from_secs(5));
        hosts
            .iter()
            .zip(reports)
            .map(|(h, r)| (h.name.to_string(), r.bmc_address, r.state))
            .collect()
    }
}

/// The fake tools read their folders from the environment; tests of this file share one
/// process, so they run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn with_env<T>(w: &World, f: impl FnOnce() -> T) -> T {
    let _guard = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for (key, value) in w.env() {
        std::env::set_var(key, value);
    }
    let result = f();
    std::env::remove_var("FAKE_BMC_SLEEP");
    result
}

#[test]
fn refresh_then_status_then_on_off_reboot_like_the_original() {
    let w = world("");
    with_env(&w, || {
        // Before a refresh the ARP table is empty: addresses unknown, states Unknown.
        let before = w.overview();
        assert_eq!(before[0], ("h1".into(), None, Some(PowerState::Unknown)));
        assert_eq!(
            before[2],
            ("h3".into(), None, None),
            "no power management: no state"
        );
        let err = w.act("h4", PowerAction::On).unwrap_err();
        assert!(err.to_string().contains("host refresh"), "{err}");

        let scanned = w.power.refresh().unwrap();
        assert_eq!(scanned, ["10.69.70.0/24"], "one scan per distinct subnet");
        let after = w.overview();
        assert_eq!(
            after[0],
            (
                "h1".into(),
                Some("10.69.70.11".into()),
                Some(PowerState::Off)
            )
        );
        assert_eq!(
            after[3],
            (
                "h4".into(),
                Some("10.69.70.14".into()),
                Some(PowerState::Off)
            )
        );

        // An action forgets the state kept: the next listing shows the new one.
        w.act("h4", PowerAction::On).unwrap();
        assert_eq!(w.overview()[3].2, Some(PowerState::On));
        w.act("h4", PowerAction::Reboot).unwrap();
        w.act("h4", PowerAction::Off).unwrap();
        assert_eq!(w.overview()[3].2, Some(PowerState::Off));
        // Reboot of a host that is off powers it on, as the original does.
        w.act("h1", PowerAction::Reboot).unwrap();
        assert_eq!(w.overview()[0].2, Some(PowerState::On));

        let err = w.act("h3", PowerAction::On).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no power management configured for host h3"
        );
    });
}

#[test]
fn a_value_with_a_shell_command_stays_one_argument_and_is_never_shown() {
    let evil = "  - name: evil\n    mac_addresses: ['00:00:00:00:0b:66']\n    management:\n      hostname: 10.69.70.66\n      adapter: ipmitool-with-variables\n      vars:\n        - {name: username, value: 'root user'}\n        - {name: password, value: 'pw; rm -rf /'}\n";
    let w = world(evil);
    with_env(&w, || {
        w.act("evil", PowerAction::On).unwrap();
        let calls = w.calls();
        let args: Vec<&str> = calls.lines().collect();
        assert!(args.contains(&"pw; rm -rf /"), "{args:?}");
        assert!(args.contains(&"root user"), "{args:?}");
        assert_eq!(
            fs::read_to_string(w.dir.path().join("bmc/10.69.70.66"))
                .unwrap()
                .trim(),
            "on"
        );
    });
}

#[test]
fn a_hanging_bmc_costs_one_timeout_and_reads_unknown() {
    let hanging = "  - name: slow1\n    mac_addresses: ['00:00:00:00:0b:71']\n    ipmi: {hostname: 10.69.70.99, username: u, password: secretpw}\n  - name: slow2\n    mac_addresses: ['00:00:00:00:0b:72']\n    ipmi: {hostname: 10.69.70.99, username: u, password: secretpw}\n";
    let w = world(hanging);
    with_env(&w, || {
        let started = Instant::now();
        let all = w.overview();
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            all[0],
            (
                "slow1".into(),
                Some("10.69.70.99".into()),
                Some(PowerState::Unknown)
            )
        );
        assert_eq!(all[1].2, Some(PowerState::Unknown));
        let err = w.act("slow1", PowerAction::On).unwrap_err().to_string();
        assert!(err.contains("did not finish within 2 s"), "{err}");
        assert!(!err.contains("secretpw"), "{err}");
    });
}

#[test]
fn the_bmc_password_never_appears_on_a_command_line() {
    let w = world("  - name: h9\n    mac_addresses: ['00:00:00:00:0b:09']\n    ipmi: {hostname: 10.69.70.19, username: u, password: 'pw-9-secret', port: 6230, cipher_suite: 3}\n");
    with_env(&w, || {
        w.act("h9", PowerAction::On).unwrap();
        let calls = w.calls();
        let argv: Vec<&str> = calls.lines().filter(|l| !l.starts_with("env ")).collect();
        assert!(!calls.is_empty());
        assert!(!argv.iter().any(|a| a.contains("pw-9-secret")), "{argv:?}");
        assert!(
            calls.contains("env IPMI_PASSWORD=pw-9-secret"),
            "ipmitool -E reads the password from its environment: {calls}"
        );
        for (flag, value) in [("-p", "6230"), ("-C", "3"), ("-H", "10.69.70.19")] {
            let at = argv.iter().position(|a| *a == flag).expect(flag);
            assert_eq!(argv[at + 1], value);
        }
    });
}

#[test]
fn an_adapter_passes_a_password_in_the_environment() {
    let adapter = "  - name: ipmi-env\n    env: [{name: IPMI_PASSWORD, value: '{{.password}}'}]\n    power_on: {cmd: 'ipmitool -I lanplus -H {{.ip_address}} -U {{.username}} -E power on'}\n";
    let host = "  - name: h8\n    mac_addresses: ['00:00:00:00:0b:08']\n    management: {hostname: 10.69.70.18, adapter: ipmi-env, vars: [{name: username, value: u}, {name: password, value: 'pw 8; x'}]}\n";
    let w = world_with(adapter, host, "");
    with_env(&w, || {
        w.act("h8", PowerAction::On).unwrap();
        let calls = w.calls();
        assert!(calls.contains("env IPMI_PASSWORD=pw 8; x"), "{calls}");
        assert_eq!(
            calls.matches("pw 8; x").count(),
            1,
            "only in the environment: {calls}"
        );
    });
}

/// `n` hosts with an `ipmi` block each, BMCs 10.69.71.1 and up.
fn many_hosts(n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "  - name: m{i}\n    mac_addresses: ['00:00:00:01:{:02x}:{:02x}']\n    ipmi: {{hostname: 10.69.71.{i}, username: u, password: p}}\n",
                i / 256,
                i % 256
            )
        })
        .collect()
}

#[test]
fn a_burst_of_listings_asks_each_bmc_once_and_never_runs_more_than_the_limit() {
    let w = world_with(
        "",
        &many_hosts(40),
        "power: {max_parallel: 4, status_ttl: 60}\n",
    );
    with_env(&w, || {
        std::env::set_var("FAKE_BMC_SLEEP", "0.2");
        std::thread::scope(|scope| {
            for _ in 0..20 {
                scope.spawn(|| w.overview());
            }
        });
        let calls = w.calls();
        for i in 1..=40 {
            let asked = calls.matches(&format!("10.69.71.{i}\n")).count();
            assert_eq!(asked, 1, "BMC 10.69.71.{i} asked {asked} times");
        }
        let most = fs::read_to_string(w.dir.path().join("bmc/concurrency.log"))
            .unwrap()
            .lines()
            .map(|l| l.trim().parse::<usize>().unwrap())
            .max()
            .unwrap();
        assert!(most <= 4, "{most} commands ran at once, the limit is 4");
        // Within the TTL, listings are answered from what was read.
        let before = calls.len();
        w.overview();
        assert_eq!(
            w.calls().len(),
            before,
            "no BMC asked again within status_ttl"
        );
    });
}

#[test]
fn a_listing_waits_status_wait_at_most_and_the_reads_go_on() {
    let w = world_with(
        "",
        &many_hosts(8),
        "power: {max_parallel: 2, status_wait: 0.3}\n",
    );
    with_env(&w, || {
        std::env::set_var("FAKE_BMC_SLEEP", "0.5");
        let hosts: Vec<_> = w.power.settings().inventory.hosts().iter().collect();
        let wait = w.power.settings().power.status_wait;
        let started = Instant::now();
        let cold = w.power.overview(&hosts, true, wait);
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
        let unknown = cold[..8]
            .iter()
            .filter(|r| r.state == Some(PowerState::Unknown))
            .count();
        assert!(unknown >= 6, "slow BMCs are Unknown at first: {cold:?}");
        // The reads went on in the background: a later listing has every state (polled,
        // no listing runs a read of its own for a state being read).
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let warm = w.power.overview(&hosts, true, Duration::ZERO);
            let slow = &warm[..8];
            if slow.iter().all(|r| r.state == Some(PowerState::Off)) {
                break;
            }
            assert!(Instant::now() < deadline, "{slow:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

/// A hostile "BMC" on loopback (not an emulator: an attacker's answers): it answers every
/// request with `answer(path)` and records the request heads it got.
struct HostileBmc {
    addr: std::net::SocketAddr,
    heads: Arc<std::sync::Mutex<Vec<String>>>,
}

impl HostileBmc {
    fn start(ip: &str, answer: impl Fn(&str) -> (u16, String) + Send + 'static) -> HostileBmc {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&heads);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; length];
                let _ = std::io::Read::read_exact(&mut reader, &mut body);
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                seen.lock().unwrap().push(head);
                let (status, text) = answer(&path);
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        HostileBmc { addr, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn redfish_host(address: &str) -> String {
    format!(
        "  - name: rf1\n    mac_addresses: [\"52:54:00:00:01:01\"]\n    redfish:\n      address: {address}\n      username: admin\n      password: s3cret-pw\n"
    )
}

#[test]
fn a_bmc_cannot_send_the_credentials_and_the_reset_to_another_host() {
    // The elsewhere host: it must never be asked anything.
    let elsewhere = HostileBmc::start("127.0.0.2", |_| (200, "{}".into()));
    let target = format!("@127.0.0.2:{}/redfish/v1/Systems/1", elsewhere.addr.port());
    let member = target.clone();
    let bmc = HostileBmc::start("127.0.0.1", move |path| match path {
        "/redfish/v1/Systems" => (
            200,
            format!(r#"{{"Members":[{{"@odata.id":"{member}"}}]}}"#),
        ),
        _ => (
            200,
            format!(
                r##"{{"PowerState":"On","Actions":{{"#ComputerSystem.Reset":{{"target":"{member}/Actions/ComputerSystem.Reset"}}}}}}"##
            ),
        ),
    });
    let w = world(&redfish_host(&format!("http://{}", bmc.addr)));
    let host = w.power.settings().inventory.by_name("rf1").unwrap().clone();
    let error = w
        .power
        .act(&host, PowerAction::Reboot)
        .unwrap_err()
        .to_string();
    assert!(error.contains("leads away from"), "{error}");
    assert!(elsewhere.heads().is_empty(), "{:?}", elsewhere.heads());
    assert!(!error.contains("s3cret-pw"), "{error}");
    // A target given by the system (not its member) is checked the same way.
    let bmc2 = HostileBmc::start("127.0.0.1", move |_| {
        (
            200,
            format!(
                r##"{{"PowerState":"On","Actions":{{"#ComputerSystem.Reset":{{"target":"http://127.0.0.2:{}/reset"}}}}}}"##,
                1
            ),
        )
    });
    let w2 = world(&format!(
        "{}      system: /redfish/v1/Systems/1\n",
        redfish_host(&format!("http://{}", bmc2.addr))
    ));
    let host = w2
        .power
        .settings()
        .inventory
        .by_name("rf1")
        .unwrap()
        .clone();
    let error = w2
        .power
        .act(&host, PowerAction::On)
        .unwrap_err()
        .to_string();
    assert!(error.contains("leads away from"), "{error}");
    assert_eq!(
        bmc2.heads().len(),
        1,
        "only the system was read: {:?}",
        bmc2.heads()
    );
}

#[test]
fn a_bmc_that_quotes_the_authorization_header_never_shows_it() {
    use base64::Engine;
    let bmc = HostileBmc::start("127.0.0.1", |_| {
        (401, r#"{"error":{"message":"bad credentials in Authorization: Basic YWRtaW46czNjcmV0LXB3"}}"#.into())
    });
    let w = world(&redfish_host(&format!("http://{}", bmc.addr)));
    let host = w.power.settings().inventory.by_name("rf1").unwrap().clone();
    let error = w.power.status(&host).unwrap_err().to_string();
    let basic = base64::engine::general_purpose::STANDARD.encode("admin:s3cret-pw");
    assert_eq!(basic, "YWRtaW46czNjcmV0LXB3");
    assert!(!error.contains(&basic), "{error}");
    assert!(!error.contains("s3cret-pw"), "{error}");
    assert!(error.contains("HTTP 401"), "{error}");
    // It really was sent to the BMC, in its header only.
    assert!(bmc.heads()[0].contains(&basic));
}
