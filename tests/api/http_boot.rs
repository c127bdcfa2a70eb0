//! Boot over HTTP against the real server: the iPXE entry script, each host's own script
//! rendered for it, the hand-over for everything else, boots seen (events, `lastBoot`), and
//! `once`: boot a configuration once, then the fallback.

use crate::{cli, common};
use std::fs;
use std::path::{Path, PathBuf};

use common::TestServer;
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde_json::{json, Value};

const WEB1: &str = "52:54:00:12:34:01";
const WEB1_SECOND: &str = "52:54:00:12:34:11";
const WEB2: &str = "52:54:00:12:34:02";
const UEFI: &str = "52:54:00:12:34:03";

/// A TFTP root whose catalogue has a PXELINUX folder, an iPXE folder and a GRUB folder, both
/// fetched over HTTP, and three hosts.
struct HttpWorld {
    dir: tempfile::TempDir,
}

impl HttpWorld {
    fn new(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("tftp/pxelinux.cfg/conf");
        for (path, text) in [
            ("pxelinux/local", "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n"),
            (
                "ipxe/installer",
                "#!ipxe\nkernel {{ server.url }}/files/vmlinuz console=ttyS0 hostname={{ host.name }} mac={{ host.mac }} role={{ host.vars.role }} macs={{ host.macs | join(',') }}\nboot\n",
            ),
            ("ipxe/plain", "#!ipxe\nchain ${base}/x\necho {not} a {template}\n"),
            ("ipxe/broken", "#!ipxe\necho ok\nkernel {{ host.nmae }}\n"),
            ("grub/rescue", "menuentry rescue {\n  linux /rescue hostname={{ host.name }}\n}\n"),
        ] {
            let file = conf.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, text).unwrap();
        }
        let yaml = format!(
            "hosts:
  - name: web-1
    mac_addresses: ['{WEB1}', '{WEB1_SECOND}']
    vars: {{role: web}}
  - name: web-2
    mac_addresses: ['{WEB2}']
  - name: uefi-1
    mac_addresses: ['{UEFI}']
tftp:
  root: tftp
configuration:
  directory: tftp/pxelinux.cfg/conf
  bootloaders:
    - {{name: pxelinux, file: pxelinux.0}}
    - {{name: ipxe, file: ipxe.efi, http: ipxe}}
    - {{name: grub, file: grubnetx64.efi.signed, http: grub}}
{extra}"
        );
        fs::write(dir.path().join("pxe-pilot.yml"), yaml).unwrap();
        HttpWorld { dir }
    }

    fn serve(&self) -> TestServer {
        TestServer::builder().config(self.config()).start()
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("pxe-pilot.yml")
    }

    fn link(&self, mac: &str) -> Option<PathBuf> {
        let name = format!("01-{}", mac.replace(':', "-"));
        fs::read_link(self.dir.path().join("tftp/pxelinux.cfg").join(name)).ok()
    }
}

fn get(server: &TestServer, path: &str) -> Response {
    Client::new().get(server.url(path)).send().unwrap()
}

fn text(response: Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.text().unwrap())
}

fn deploy(server: &TestServer, configuration: &str, body: Value) -> (StatusCode, Value) {
    let response = Client::new()
        .put(server.url(&format!("/v1/configurations/{configuration}/deploy")))
        .json(&body)
        .send()
        .unwrap();
    let status = response.status();
    (status, response.json().unwrap())
}

fn events(server: &TestServer, host: &str) -> Vec<Value> {
    get(server, &format!("/v1/hosts/{host}/events"))
        .json::<Vec<Value>>()
        .unwrap()
}

#[test]
fn the_entry_script_chains_to_the_host_s_own_script_by_its_mac() {
    let world = HttpWorld::new("");
    let server = world.serve();
    for path in ["/boot.ipxe", "/v1/boot.ipxe"] {
        let (status, script) = text(get(&server, path));
        assert_eq!(status, StatusCode::OK);
        assert!(script.starts_with("#!ipxe\n"), "{script}");
        assert!(
            script.contains("chain --replace --autofree /v1/boot/ipxe/${mac:hexhyp}"),
            "{script}"
        );
    }
}

#[test]
fn a_host_gets_its_configuration_rendered_for_it_in_any_mac_spelling() {
    let world = HttpWorld::new("");
    let server = world.serve();
    let (status, _) = deploy(&server, "installer", json!({"hosts": [{"name": "web-1"}]}));
    assert_eq!(status, StatusCode::OK);
    let expected = format!(
        "#!ipxe\nkernel {}/files/vmlinuz console=ttyS0 hostname=web-1 mac={WEB1_SECOND} role=web macs={WEB1},{WEB1_SECOND}\nboot\n",
        server.url("").trim_end_matches('/')
    );
    for spelling in [
        "52-54-00-12-34-11".to_owned(),
        "52%3A54%3A00%3A12%3A34%3A11".to_owned(),
        "525400123411".to_owned(),
        "52:54:00:12:34:11".to_owned(),
    ] {
        let (status, script) = text(get(&server, &format!("/v1/boot/ipxe/{spelling}")));
        assert_eq!(status, StatusCode::OK, "{spelling}: {script}");
        assert_eq!(script, expected, "{spelling}");
    }
    // Without the prefix too.
    let (_, script) = text(get(&server, "/boot/ipxe/52-54-00-12-34-11"));
    assert_eq!(script, expected);
    // TFTP keeps the raw file: the link leads to the template itself.
    let raw = fs::read_to_string(
        world
            .dir
            .path()
            .join("tftp/pxelinux.cfg")
            .join(world.link(WEB1).unwrap()),
    )
    .unwrap();
    assert!(raw.contains("{{ host.name }}"));
}

#[test]
fn a_file_without_template_syntax_is_served_byte_for_byte() {
    let world = HttpWorld::new("");
    let server = world.serve();
    deploy(&server, "plain", json!({"hosts": [{"name": "web-2"}]}));
    let (status, script) = text(get(&server, &format!("/v1/boot/ipxe/{WEB2}")));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(script, "#!ipxe\nchain ${base}/x\necho {not} a {template}\n");
}

#[test]
fn everything_else_hands_over_to_the_next_boot_device_and_is_seen() {
    let world = HttpWorld::new("");
    let server = world.serve();
    // Not deployed; deployed a PXELINUX configuration; an unknown MAC; no MAC at all.
    deploy(&server, "local", json!({"hosts": [{"name": "web-2"}]}));
    for mac in [WEB1, WEB2, "aa:bb:cc:dd:ee:ff", "${mac}"] {
        let (status, script) = text(get(&server, &format!("/v1/boot/ipxe/{mac}")));
        assert_eq!(status, StatusCode::OK, "{mac}");
        assert!(
            script.starts_with("#!ipxe\n") && script.ends_with("exit\n"),
            "{mac}: {script}"
        );
    }
    // GRUB's hand-over is GRUB's.
    let (_, script) = text(get(&server, &format!("/v1/boot/grub/{UEFI}")));
    assert!(
        script.ends_with("exit\n") && !script.contains("#!ipxe"),
        "{script}"
    );
    // Each fetch of a host is a boot event; a MAC of no host is an unknown machine, listed
    // and counted, not an event (anyone can send those).
    let all: Vec<Value> = get(&server, "/v1/events?since=0&limit=100").json().unwrap();
    let boots: Vec<&Value> = all.iter().filter(|e| e["kind"] == "boot").collect();
    assert_eq!(boots.len(), 3, "{all:?}");
    assert!(boots.iter().all(|e| e["host"] != Value::Null), "{all:?}");
    let unknown: Vec<Value> = get(&server, "/v1/unknown-machines").json().unwrap();
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    assert_eq!(unknown[0]["macAddress"], "aa:bb:cc:dd:ee:ff");
    assert_eq!(unknown[0]["via"], "ipxe");
    assert_eq!(unknown[0]["count"], 1);
    assert_eq!(unknown[0]["peer"], "127.0.0.1");
    // The CLI lists them too.
    let table = cli::run(&server, &["host", "unknown"]).ok();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(
        lines[1].contains("MAC ADDRESS") && lines[1].contains("FETCHES"),
        "{table}"
    );
    assert!(
        lines[3].contains("aa:bb:cc:dd:ee:ff") && lines[3].contains("127.0.0.1"),
        "{table}"
    );
    // Unknown bootloader, or one not served over HTTP: a JSON 404 that says what to do.
    for path in [
        format!("/v1/boot/nope/{WEB1}"),
        format!("/v1/boot/pxelinux/{WEB1}"),
    ] {
        let response = get(&server, &path);
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("bootloader"),
            "{body}"
        );
    }
}

#[test]
fn a_template_error_is_a_500_naming_the_file_and_line_and_a_warning_in_config_show() {
    let world = HttpWorld::new("");
    let server = world.serve();
    deploy(&server, "broken", json!({"hosts": [{"name": "web-2"}]}));
    let response = get(&server, &format!("/v1/boot/ipxe/{WEB2}"));
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("ipxe/broken line 3"), "{message}");
    let shown: Value = get(&server, "/v1/configurations/broken").json().unwrap();
    assert!(
        shown["warning"].as_str().unwrap().contains("ipxe/broken"),
        "{shown}"
    );
    let fine: Value = get(&server, "/v1/configurations/installer").json().unwrap();
    assert!(fine.get("warning").is_none(), "{fine}");
}

#[test]
fn the_hosts_listing_shows_each_host_s_last_boot() {
    let world = HttpWorld::new("");
    let server = world.serve();
    let hosts: Vec<Value> = get(&server, "/v1/hosts?status=false").json().unwrap();
    assert!(
        hosts.iter().all(|h| h.get("lastBoot").is_none()),
        "none before a boot"
    );
    deploy(&server, "installer", json!({"hosts": [{"name": "web-1"}]}));
    get(&server, &format!("/v1/boot/ipxe/{WEB1}"));
    let hosts: Vec<Value> = get(&server, "/v1/hosts?status=false").json().unwrap();
    let web1 = &hosts[0];
    assert_eq!(web1["lastBoot"]["configuration"], "installer", "{web1}");
    assert_eq!(web1["lastBoot"]["bootloader"], "ipxe");
    assert!(web1["lastBoot"]["time"].as_str().unwrap().ends_with('Z'));
    assert!(hosts[1].get("lastBoot").is_none());
}

#[test]
fn once_boots_the_configuration_once_then_the_fallback() {
    let world = HttpWorld::new("");
    let server = world.serve();
    let (status, answer) = deploy(
        &server,
        "installer",
        json!({"hosts": [{"name": "web-1", "once": true}]}),
    );
    assert_eq!(status, StatusCode::OK, "{answer}");
    // A host that never fetches it stays as deployed.
    assert!(world.link(WEB1).unwrap().ends_with("ipxe/installer"));
    let (_, first) = text(get(&server, &format!("/v1/boot/ipxe/{WEB1}")));
    assert!(first.contains("hostname=web-1"), "{first}");
    // Switched to the fallback (`local`) right after that fetch, through the same write.
    assert!(world.link(WEB1).unwrap().ends_with("pxelinux/local"));
    let (_, second) = text(get(&server, &format!("/v1/boot/ipxe/{WEB1}")));
    assert!(second.ends_with("exit\n"), "{second}");
    let kinds: Vec<String> = events(&server, "web-1")
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["kind"].as_str().unwrap(),
                e["to"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "boot -",
            "once_fallback local",
            "boot installer",
            "deploy installer"
        ],
        "newest first"
    );
    // `once` needs a configuration fetched over HTTP.
    let (status, refused) = deploy(
        &server,
        "local",
        json!({"hosts": [{"name": "web-2", "once": true}]}),
    );
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("cannot see the boot"),
        "{refused}"
    );
    assert_eq!(world.link(WEB2), None, "nothing written");
}

#[test]
fn a_once_promise_survives_a_restart_with_a_state_dir() {
    let world = HttpWorld::new("state_dir: state\n");
    fs::create_dir(world.dir.path().join("state")).unwrap();
    {
        let server = world.serve();
        deploy(
            &server,
            "installer",
            json!({"hosts": [{"name": "web-1", "once": true}]}),
        );
    }
    let server = world.serve();
    get(&server, &format!("/v1/boot/ipxe/{WEB1}"));
    assert!(world.link(WEB1).unwrap().ends_with("pxelinux/local"));
    // And the events survived too.
    let kinds: Vec<String> = events(&server, "web-1")
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["once_fallback", "boot", "deploy"]);
    let _ = Path::new("");
}
