//! The HTTP API of the real `pxe-pilot-server` binary, driven with raw HTTP over a temporary
//! TFTP root, checking the answers and the links on disk: every route with and
//! without `/v1`, every error status with its JSON message, the original's seed `curl` run with
//! the real `curl`, the token, the logs, and a clean stop on SIGTERM.

use crate::common;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::Command;

use common::{
    Fixture, TestServer, World, CONFIGURATIONS, H1, H2, H2_MAC, H3, H3_MACS, H4, IPMI_PASSWORD,
    SEED_MAC, UNKNOWN_MAC,
};
use reqwest::blocking::{Client, Response};
use reqwest::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn client() -> Client {
    Client::new()
}

fn get(server: &TestServer, path: &str) -> Response {
    client().get(server.url(path)).send().expect("GET")
}

fn send(server: &TestServer, method: &str, path: &str, body: Option<&str>) -> Response {
    let method = Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = client().request(method, server.url(path));
    if let Some(body) = body {
        // As `curl -d` sends it: a form type, not JSON.
        request = request
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_owned());
    }
    request.send().expect("request")
}

fn deploy(server: &TestServer, configuration: &str, body: &str) -> Response {
    send(
        server,
        "PUT",
        &format!("/v1/configurations/{configuration}/deploy"),
        Some(body),
    )
}

/// The status and JSON body of an answer.
fn answer(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().expect("a body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text:?}"));
    (status, json)
}

/// Asserts an error answer: this status, a JSON `message` containing `words`.
fn assert_error(response: Response, status: StatusCode, words: &str) -> String {
    assert_eq!(
        response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"application/json"[..]),
        "errors are JSON"
    );
    let (got, body) = answer(response);
    let message = body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"))
        .to_owned();
    assert_eq!(got, status, "{message}");
    assert!(
        message.contains(words),
        "{message:?} should contain {words:?}"
    );
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    message
}

fn conf(name: &str) -> PathBuf {
    PathBuf::from("conf").join(name)
}

#[test]
fn healthcheck_is_204_with_and_without_the_prefix() {
    let world = World::new();
    let server = world.serve();
    for path in ["/v1/healthcheck", "/healthcheck"] {
        let response = get(&server, path);
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        assert!(response.text().unwrap().is_empty());
    }
}

#[test]
fn the_seed_curl_of_the_use_case_switches_the_link() {
    let world = World::new();
    let server = world.serve();
    let (status, _) = answer(deploy(
        &server,
        "ubuntu-16.04",
        &format!(r#"{{"hosts":[{{"name":"{H1}"}}]}}"#),
    ));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world.link(SEED_MAC), Some(conf("ubuntu-16.04")));

    // The original's use case (the README's `curl` example), byte for byte but the server's
    // address.
    let output = Command::new("curl")
        .args(["-i", "-X", "PUT"])
        .arg(format!(
            "http://{}/configurations/local/deploy",
            server.authority()
        ))
        .args(["-d", r#"{"hosts":[{"macAddress":"23:34:a3:e9:09:cc"}]}"#])
        .output()
        .expect("the curl binary (apt-get install curl)");
    assert!(output.status.success(), "curl failed: {output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("HTTP/1.1 200 OK\r\n"), "{stdout}");
    let body = stdout.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert_eq!(
        serde_json::from_str::<Value>(body).unwrap(),
        json!({"hosts": [{"name": H1, "configuration": "local", "rebooted": "NO"}]})
    );
    assert_eq!(world.link(SEED_MAC), Some(conf("local")));
    assert_eq!(world.deployed(SEED_MAC).as_deref(), Some("local"));
}

#[test]
fn a_deploy_answers_the_resolved_hosts_and_links_every_nic_to_the_first() {
    let world = World::new();
    let server = world.serve();
    // h3 by its third NIC, in another spelling; h2 by name and MAC together.
    let body = format!(
        r#"{{"hosts":[{{"mac_address":"{}"}},{{"name":"{H2}","macAddress":"{H2_MAC}"}}]}}"#,
        H3_MACS[2].to_uppercase().replace(':', "-")
    );
    let (status, json) = answer(deploy(&server, "grml-2017.05", &body));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        json!({"hosts": [
            {"name": H3, "configuration": "grml-2017.05", "rebooted": "NO"},
            {"name": H2, "configuration": "grml-2017.05", "rebooted": "NO"},
        ]})
    );
    assert_eq!(
        world.entries(),
        vec![
            (common::entry_name(H2_MAC), conf("grml-2017.05")),
            (common::entry_name(H3_MACS[0]), conf("grml-2017.05")),
            (
                common::entry_name(H3_MACS[1]),
                PathBuf::from(common::entry_name(H3_MACS[0]))
            ),
            (
                common::entry_name(H3_MACS[2]),
                PathBuf::from(common::entry_name(H3_MACS[0]))
            ),
        ]
    );
    // Switching again replaces the first NIC's link only; the others follow it.
    let (status, _) = answer(deploy(
        &server,
        "local",
        &format!(r#"{{"hosts":[{{"name":"{H3}"}}]}}"#),
    ));
    assert_eq!(status, StatusCode::OK);
    for mac in H3_MACS {
        assert_eq!(world.deployed(mac).as_deref(), Some("local"), "{mac}");
    }
    assert_eq!(world.deployed(H2_MAC).as_deref(), Some("grml-2017.05"));
    let names = world.names();
    assert!(
        names.iter().all(|n| n == "conf" || n.starts_with("01-")),
        "no temporary entry left: {names:?}"
    );
}

#[test]
fn a_refused_deploy_writes_nothing_and_says_why() {
    let world = World::new();
    let server = world.serve();
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "local",
            format!(r#"{{"hosts":[{{"name":"{H1}"}},{{"name":"nope"}}]}}"#),
            StatusCode::NOT_FOUND,
            "no host is named \"nope\"",
        ),
        (
            "local",
            format!(r#"{{"hosts":[{{"name":"{H1}"}},{{"macAddress":"{UNKNOWN_MAC}"}}]}}"#),
            StatusCode::NOT_FOUND,
            "no host has MAC address aa:bb:cc:dd:ee:ff",
        ),
        (
            "no-such-config",
            format!(r#"{{"hosts":[{{"name":"{H1}"}}]}}"#),
            StatusCode::NOT_FOUND,
            "configuration \"no-such-config\" does not exist",
        ),
        (
            "local",
            format!(r#"{{"hosts":[{{"name":"{H1}"}},{{"macAddress":"{SEED_MAC}"}}]}}"#),
            StatusCode::CONFLICT,
            "appears several times",
        ),
        (
            "local",
            format!(r#"{{"hosts":[{{"name":"{H1}","macAddress":"{H2_MAC}"}}]}}"#),
            StatusCode::CONFLICT,
            "belongs to host \"h2\", not to host \"h1\"",
        ),
        (
            "local",
            r#"{"hosts":[{"macAddress":"not-a-mac"}]}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid MAC address",
        ),
        (
            "local",
            r#"{"hosts":[]}"#.into(),
            StatusCode::BAD_REQUEST,
            "names no host",
        ),
        (
            "local",
            r#"{"hosts":[{}]}"#.into(),
            StatusCode::BAD_REQUEST,
            "neither a name nor a macAddress",
        ),
        (
            "local",
            "{\n  \"hosts\": [\n    {\"name\": \"h1\",}\n  ]\n}".into(),
            StatusCode::BAD_REQUEST,
            "line 3 column",
        ),
        (
            "local",
            r#"{"hosts":[{"hostname":"h1"}]}"#.into(),
            StatusCode::BAD_REQUEST,
            "unknown field `hostname`",
        ),
        (
            "local",
            r#"{"hosts":"h1"}"#.into(),
            StatusCode::BAD_REQUEST,
            "the request body is not {\"hosts\"",
        ),
        (
            "local",
            String::new(),
            StatusCode::BAD_REQUEST,
            "the request has no body",
        ),
    ];
    for (configuration, body, status, words) in cases {
        let message = assert_error(deploy(&server, configuration, &body), status, words);
        assert!(
            world.entries().is_empty(),
            "{message}: something was written"
        );
    }
    assert_eq!(world.names(), ["conf"], "nothing but the catalogue");
}

#[test]
fn catalogue_routes_list_show_and_refuse_unknown_names() {
    let world = World::new();
    let server = world.serve();
    let (status, list) = answer(get(&server, "/v1/configurations"));
    assert_eq!(status, StatusCode::OK);
    let expected: Vec<Value> = CONFIGURATIONS
        .iter()
        .map(|n| json!({"name": n, "bootloader": null}))
        .collect();
    assert_eq!(list, Value::Array(expected));
    let (_, bootloaders) = answer(get(&server, "/v1/bootloaders"));
    assert_eq!(bootloaders, json!([]));

    let (status, local) = answer(get(&server, "/v1/configurations/local"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        local,
        json!({"name": "local", "content": "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n"})
    );
    for path in [
        "/v1/configurations/nope",
        "/v1/configurations/..%2F..%2Fpxe-pilot.yml",
        "/v1/configurations/%2Fetc%2Fpasswd",
        "/v1/configurations/.hidden",
    ] {
        assert_error(get(&server, path), StatusCode::NOT_FOUND, "does not exist");
    }
}

#[test]
fn bootloader_folders_are_listed_and_deployed_by_name() {
    let world = Fixture::new().bootloaders().build();
    let server = world.serve();
    let (_, bootloaders) = answer(get(&server, "/v1/bootloaders"));
    assert_eq!(
        bootloaders,
        json!([
            {"name": "pxelinux", "file": "pxelinux.0", "config_path": "pxelinux.cfg"},
            // Named after a language it speaks over HTTP: served as GRUB 2 scripts too.
            {"name": "grub", "file": "grubnetx64.efi.signed", "config_path": "grub/grub.cfg", "http": "grub"},
        ])
    );
    let (_, list) = answer(get(&server, "/configurations"));
    let names: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["bootloader"]["name"].as_str().unwrap(),
                c["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("pxelinux", "local"),
            ("pxelinux", "ubuntu-16.04"),
            ("grub", "grml-2017.05")
        ]
    );
    let (status, _) = answer(deploy(
        &server,
        "grml-2017.05",
        &format!(r#"{{"hosts":[{{"name":"{H1}"}}]}}"#),
    ));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world.link(SEED_MAC), Some(conf("grub/grml-2017.05")));
    let (_, h1) = answer(get(&server, "/v1/hosts/h1"));
    assert_eq!(h1["configuration"]["name"], "grml-2017.05");
    assert_eq!(h1["configuration"]["bootloader"]["name"], "grub");
}

#[test]
fn hosts_are_listed_and_found_by_name_or_by_any_mac() {
    let world = World::new();
    let server = world.serve();
    let (status, hosts) = answer(get(&server, "/v1/hosts?status=false"));
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = hosts
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [H1, H2, H3, H4]);
    assert_eq!(hosts[2]["macAddresses"], json!(H3_MACS));
    assert_eq!(hosts[2]["configuration"], Value::Null);
    assert_eq!(hosts[3]["ipmi"]["username"], "admin");
    assert!(hosts[3]["ipmi"].get("password").is_none());

    answer(deploy(
        &server,
        "ubuntu-16.04",
        &format!(r#"{{"hosts":[{{"name":"{H3}"}}]}}"#),
    ));
    let (status, h3) = answer(get(&server, "/v1/hosts/h3"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h3["name"], H3);
    assert_eq!(
        h3["configuration"],
        json!({"name": "ubuntu-16.04", "bootloader": null})
    );
    for mac in [
        H3_MACS[1].to_owned(),
        H3_MACS[2].to_uppercase().replace(':', "-"),
    ] {
        let (status, by_mac) = answer(get(&server, &format!("/v1/hosts?mac={mac}")));
        assert_eq!(status, StatusCode::OK, "{mac}");
        assert_eq!(by_mac, h3, "{mac}");
    }
    assert_error(
        get(&server, &format!("/v1/hosts?mac={UNKNOWN_MAC}")),
        StatusCode::NOT_FOUND,
        "no host has MAC address",
    );
    assert_error(
        get(&server, "/v1/hosts?mac=zz"),
        StatusCode::BAD_REQUEST,
        "invalid MAC address",
    );
    assert_error(
        get(&server, "/v1/hosts/nope"),
        StatusCode::NOT_FOUND,
        "no host is named \"nope\"",
    );
    assert_error(
        get(&server, "/v1/hosts?status=maybe"),
        StatusCode::BAD_REQUEST,
        "status=\"maybe\" is not a boolean",
    );
    for path in ["/v1/hosts", "/v1/hosts?status=true", "/v1/hosts/h4"] {
        let text = get(&server, path).text().unwrap();
        assert!(!text.contains(IPMI_PASSWORD), "{path} shows the password");
    }
}

#[test]
fn a_link_made_by_hand_is_seen_and_a_dangling_one_reported() {
    let world = World::new();
    let server = world.serve();
    symlink("conf/local", world.entry(H2_MAC)).unwrap();
    symlink("conf/removed-config", world.entry(SEED_MAC)).unwrap();
    let (_, hosts) = answer(get(&server, "/v1/hosts?status=false"));
    assert_eq!(hosts[1]["configuration"]["name"], "local");
    assert_eq!(hosts[0]["configuration"]["dangling"], true);
}

#[test]
fn undeploy_removes_every_entry_of_the_host_only() {
    let world = World::new();
    let server = world.serve();
    answer(deploy(
        &server,
        "local",
        &format!(r#"{{"hosts":[{{"name":"{H3}"}},{{"name":"{H1}"}}]}}"#),
    ));
    assert_eq!(world.entries().len(), 4);
    let (status, h3) = answer(send(&server, "DELETE", "/v1/hosts/h3/configuration", None));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h3["name"], H3);
    assert_eq!(h3["configuration"], Value::Null);
    assert_eq!(
        world.entries(),
        vec![(common::entry_name(SEED_MAC), conf("local"))]
    );
    // Again: nothing to remove is not an error.
    let (status, _) = answer(send(&server, "DELETE", "/hosts/h3/configuration", None));
    assert_eq!(status, StatusCode::OK);
    assert_error(
        send(&server, "DELETE", "/v1/hosts/nope/configuration", None),
        StatusCode::NOT_FOUND,
        "no host is named",
    );
    assert!(server
        .logs()
        .lines()
        .any(|l| l.contains("configuration removed") && l.contains("host=h3")));
}

#[test]
fn power_routes_refuse_without_power_management() {
    let world = World::new();
    let server = world.serve();
    for action in ["reboot", "on", "off"] {
        for prefix in ["/v1", ""] {
            assert_error(
                send(
                    &server,
                    "PATCH",
                    &format!("{prefix}/hosts/h1/{action}"),
                    None,
                ),
                StatusCode::CONFLICT,
                "no power management configured for host h1",
            );
            assert_error(
                send(
                    &server,
                    "PATCH",
                    &format!("{prefix}/hosts/nope/{action}"),
                    None,
                ),
                StatusCode::NOT_FOUND,
                "no host is named \"nope\"",
            );
        }
        // h4 has an ipmi block, but its BMC is not in the ARP table: no command can run.
        assert_error(
            send(&server, "PATCH", &format!("/v1/hosts/h4/{action}"), None),
            StatusCode::CONFLICT,
            "the BMC address of host h4 is not known",
        );
    }
    for path in ["/v1/refresh", "/refresh"] {
        let response = send(&server, "PATCH", path, None);
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
    }
    let (_, hosts) = answer(get(&server, "/v1/hosts"));
    assert_eq!(
        hosts[0].get("powerState"),
        None,
        "h1 has no power management"
    );
    assert_eq!(
        hosts[3]["powerState"], "Unknown",
        "h4's BMC address is unknown"
    );
}

#[test]
fn every_read_route_answers_the_same_without_the_prefix() {
    let world = World::new();
    let server = world.serve();
    answer(deploy(
        &server,
        "local",
        &format!(r#"{{"hosts":[{{"name":"{H3}"}}]}}"#),
    ));
    for path in [
        "/bootloaders",
        "/configurations",
        "/configurations/ubuntu-16.04",
        "/hosts?status=false",
        "/hosts/h3",
        &format!("/hosts?mac={}", H3_MACS[1]),
    ] {
        let with = answer(get(&server, &format!("/v1{path}")));
        let without = answer(get(&server, path));
        assert_eq!(with, without, "{path}");
        assert_eq!(with.0, StatusCode::OK, "{path}");
    }
    // Trailing slashes are forgiven, as the original's router did.
    assert_eq!(get(&server, "/v1/hosts/").status(), StatusCode::OK);
}

#[test]
fn unknown_routes_and_wrong_methods_are_json() {
    let world = World::new();
    let server = world.serve();
    // `/` is the operators' page (tests/browser/page.rs); `/ui` alone is no file of it.
    for path in [
        "/v1",
        "/v1/nope",
        "/nope/deeper",
        "/v2/hosts",
        "/ui",
        "/ui/nope.js",
    ] {
        assert_error(get(&server, path), StatusCode::NOT_FOUND, "no route GET");
    }
    for (method, path, allowed) in [
        ("POST", "/v1/hosts", "GET"),
        ("DELETE", "/v1/configurations/local", "GET"),
        ("GET", "/v1/configurations/local/deploy", "PUT"),
        ("POST", "/configurations/local/deploy", "PUT"),
        ("GET", "/v1/hosts/h1/reboot", "PATCH"),
        ("PUT", "/v1/refresh", "PATCH"),
        ("GET", "/v1/hosts/h1/configuration", "DELETE"),
        ("PATCH", "/healthcheck", "GET"),
    ] {
        let response = send(&server, method, path, None);
        assert_eq!(
            response.headers().get(ALLOW).map(|v| v.to_str().unwrap()),
            Some(allowed),
            "{method} {path}"
        );
        assert_error(
            response,
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("method {method} is not allowed on {path}: use {allowed}"),
        );
    }
}

#[test]
fn a_body_over_64_kib_is_refused_with_413() {
    let world = World::new();
    let server = world.serve();
    let body = format!(
        r#"{{"hosts":[{{"name":"{H1}"}}]}}{}"#,
        " ".repeat(64 * 1024)
    );
    assert_error(
        deploy(&server, "local", &body),
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger than 65536 bytes",
    );
    assert!(world.entries().is_empty());
    // Just under the limit is fine.
    let body = format!(
        r#"{{"hosts":[{{"name":"{H1}"}}]}}{}"#,
        " ".repeat(60 * 1024)
    );
    assert_eq!(deploy(&server, "local", &body).status(), StatusCode::OK);
}

#[test]
fn with_a_token_changes_need_it_and_reads_stay_open() {
    const TOKEN: &str = "t0ken-for-tests-only";
    let world = Fixture::new().token(TOKEN).build();
    let server = world.serve();
    let body = format!(r#"{{"hosts":[{{"name":"{H1}"}}]}}"#);
    assert_eq!(get(&server, "/v1/hosts").status(), StatusCode::OK);
    assert_eq!(
        get(&server, "/v1/healthcheck").status(),
        StatusCode::NO_CONTENT
    );

    let response = deploy(&server, "local", &body);
    assert_eq!(
        response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    let message = assert_error(response, StatusCode::UNAUTHORIZED, "needs a token");
    // The way it recommends keeps the token out of `ps`: the variable or a file, not --token.
    assert!(
        message.contains("PXE_PILOT_TOKEN or --token-file") && !message.contains("--token "),
        "{message}"
    );
    for (method, path) in [
        ("DELETE", "/v1/hosts/h1/configuration"),
        ("PATCH", "/v1/hosts/h1/reboot"),
        ("PATCH", "/refresh"),
    ] {
        assert_error(
            send(&server, method, path, None),
            StatusCode::UNAUTHORIZED,
            "needs a token",
        );
    }
    let wrong = client()
        .put(server.url("/configurations/local/deploy"))
        .header(AUTHORIZATION, "Bearer not-the-token")
        .body(body.clone())
        .send()
        .unwrap();
    assert_error(wrong, StatusCode::UNAUTHORIZED, "the bearer token is wrong");
    assert!(world.entries().is_empty());

    let right = client()
        .put(server.url("/configurations/local/deploy"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert_eq!(world.link(SEED_MAC), Some(conf("local")));
    assert!(!server.logs().contains(TOKEN), "the token is never logged");
    assert!(!server.logs().contains("no server.token"));
}

#[test]
fn each_change_is_one_log_line_and_no_secret_is_logged() {
    let world = World::new();
    let server = world.serve();
    assert!(
        server.logs().contains("no server.token"),
        "a server without a token warns at start"
    );
    answer(deploy(
        &server,
        "ubuntu-16.04",
        &format!(r#"{{"hosts":[{{"name":"{H3}"}}]}}"#),
    ));
    answer(deploy(
        &server,
        "local",
        &format!(r#"{{"hosts":[{{"macAddress":"{}"}}]}}"#, H3_MACS[1]),
    ));
    // Power actions on a host with an ipmi block must not log its password either.
    send(&server, "PATCH", "/v1/hosts/h4/reboot", None);
    let logs = server.logs();
    let changes: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("configuration deployed"))
        .collect();
    assert_eq!(changes.len(), 2, "{logs}");
    assert!(
        changes[0].contains("host=h3")
            && changes[0].contains("change=- -> ubuntu-16.04")
            && changes[0].contains("peer=127.0.0.1:"),
        "{}",
        changes[0]
    );
    assert!(
        changes[1].contains("change=ubuntu-16.04 -> local"),
        "{}",
        changes[1]
    );
    assert!(!logs.contains(IPMI_PASSWORD), "{logs}");
}

#[test]
fn temporary_entries_left_by_a_crash_are_swept_at_start() {
    let world = World::new();
    // One left a minute ago (a crash), one just now (a crash, or a live write of another
    // server on the same root: it is looked at again once it is a few seconds old).
    let old = world
        .pxelinux_cfg()
        .join(".pxe-pilot-tmp.0123456789abcdef.01-00-00-00-00-0b-01");
    let young = world
        .pxelinux_cfg()
        .join(".pxe-pilot-tmp.fedcba9876543210.01-00-00-00-00-0b-02");
    symlink("conf/local", &old).unwrap();
    let touched = Command::new("touch")
        .args(["-h", "-d", "1 minute ago"])
        .arg(&old)
        .status()
        .unwrap();
    assert!(touched.success());
    symlink("conf/local", &young).unwrap();
    let _server = world.serve();
    assert!(
        old.symlink_metadata().is_err(),
        "{} is still there",
        old.display()
    );
    let started = std::time::Instant::now();
    while young.symlink_metadata().is_ok() && started.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        young.symlink_metadata().is_err(),
        "{} is still there",
        young.display()
    );
    assert_eq!(world.names(), ["conf"]);
}

#[test]
fn sigterm_stops_the_server_with_exit_code_0() {
    let world = World::new();
    let mut server = world.serve();
    answer(deploy(
        &server,
        "local",
        &format!(r#"{{"hosts":[{{"name":"{H1}"}}]}}"#),
    ));
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn an_invalid_configuration_stops_the_binary_with_one_line_and_code_1() {
    let world = World::new();
    fs::write(&world.config, "hosts: [\n").unwrap();
    let (code, stderr) = world
        .server()
        .run_to_exit(std::time::Duration::from_secs(20));
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("pxe-pilot-server: "), "{stderr}");
    assert!(stderr.contains("pxe-pilot.yml:"), "{stderr}");
}

#[test]
fn a_deploy_that_fails_half_way_says_what_became_of_each_host_and_logs_each_change() {
    let world = World::new();
    // h2's entry cannot be replaced: a folder stands where its link would go.
    fs::create_dir(world.entry(H2_MAC)).unwrap();
    let server = world.serve();
    let body = format!(r#"{{"hosts":[{{"name":"{H1}"}},{{"name":"{H2}"}},{{"name":"{H3}"}}]}}"#);
    let (status, answer) = answer(deploy(&server, "local", &body));
    assert_eq!(status, StatusCode::MULTI_STATUS, "{answer}");
    assert_eq!(answer["hosts"][0]["name"], H1);
    assert!(answer["hosts"][0].get("error").is_none(), "{answer}");
    assert!(
        answer["hosts"][1]["error"]
            .as_str()
            .unwrap()
            .contains("replace entry"),
        "{answer}"
    );
    assert_eq!(
        answer["hosts"][2]["error"],
        "not tried: an earlier host's write failed"
    );
    assert!(answer["message"].as_str().unwrap().contains(H2), "{answer}");
    assert_eq!(world.deployed(SEED_MAC).as_deref(), Some("local"));
    assert_eq!(world.deployed(H3_MACS[0]), None);
    let logs = server.logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("configuration deployed") && l.contains(&format!("host={H1}"))),
        "the switched host's change is logged: {logs}"
    );
    assert!(logs.contains("deploy of local failed"), "{logs}");
    let (_, events) = self::answer(get(&server, "/v1/events?since=0"));
    let deploys: Vec<(&str, &str)> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "deploy")
        .map(|e| {
            (
                e["host"].as_str().unwrap(),
                e["result"].as_str().unwrap_or("error"),
            )
        })
        .collect();
    assert!(
        deploys.contains(&(H1, "ok")),
        "the switch is an event: {events}"
    );
    assert!(!deploys.iter().any(|(host, _)| *host == H3), "{events}");
}

/// A server started by a test never outlives it, even when nothing stops it (here the
/// `TestServer` is forgotten, as when a test binary is killed): it dies with the thread that
/// started it.
#[test]
fn a_server_never_outlives_the_test_that_started_it() {
    let world = World::new();
    let pid = std::thread::spawn(move || {
        let server = world.serve();
        let pid = server.pid();
        std::mem::forget(server);
        std::mem::forget(world);
        pid
    })
    .join()
    .unwrap();
    let alive = || {
        fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while alive() {
        assert!(
            std::time::Instant::now() < deadline,
            "server {pid} still runs after its test's thread ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn the_status_of_a_single_server_names_its_store_and_itself() {
    let world = Fixture::new().yaml("site: rack-a\n").build();
    let server = world.serve();
    let (status, body) = answer(get(&server, "/v1/status"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["store"], "files", "{body}");
    assert_eq!(body["site"], "rack-a", "{body}");
    assert!(body["etcd"].is_null() && body["mirror"].is_null(), "{body}");
    assert_eq!(body["stale"], false, "{body}");
    let servers = body["servers"].as_array().expect("a list");
    assert_eq!(servers.len(), 1, "{body}");
    assert_eq!(servers[0]["site"], "rack-a", "{body}");
    assert!(servers[0]["version"].is_string() && servers[0]["last_seen"].is_string());
    let metrics = get(&server, "/metrics").text().unwrap();
    assert!(
        metrics.contains("pxe_pilot_store{kind=\"files\"} 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("pxe_pilot_etcd_reachable"), "{metrics}");
}
