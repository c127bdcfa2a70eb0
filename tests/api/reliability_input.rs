//! Bad input: hostile HTTP requests and invalid configuration files, through the real
//! `pxe-pilot-server` binary.
//!
//! Every hostile request is sent as raw bytes on its own connection (an HTTP client refuses to
//! send most of them) and must be answered with a 4xx — `{"message": ...}` when the application
//! answers, an empty body when actix-http refuses the request before any route (malformed or
//! oversized heads, slow heads) — after which the server still answers, and the TFTP root is
//! exactly as before. Slow clients are cut off without stopping anyone else. Every invalid
//! configuration file stops the binary with one line on stderr naming the line or the key,
//! exit code 1, and nothing written. Figures: `-- --nocapture`.

use crate::{common, reliability};
use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Fixture, TestServer, World, H1, H2_MAC, H3, H3_MACS, SEED_MAC};
use pxe_pilot_core::MAX_FILE_SIZE;
use reliability::random::{long, Rng};
use reliability::raw_http::{connect_from, healthy, http_request, raw_exchange, read_response};
use reliability::snapshot::{diff, snapshot, Snapshot};

/// What a hostile request must get back.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// From the application: JSON `{"message"}` containing these words.
    Json(&'static str),
    /// From actix-http, before any route: an empty body.
    Bare,
}

struct Case {
    name: String,
    request: Vec<u8>,
    status: u16,
    answer: Answer,
}

fn case(name: impl Into<String>, request: Vec<u8>, status: u16, answer: Answer) -> Case {
    Case {
        name: name.into(),
        request,
        status,
        answer,
    }
}

fn deploy_body(body: &[u8]) -> Vec<u8> {
    http_request("PUT", "/v1/configurations/local/deploy", &[], body)
}

fn get(target: &str) -> Vec<u8> {
    http_request("GET", target, &[], b"")
}

/// The hostile requests, each with the answer it must get.
fn hostile_cases() -> Vec<Case> {
    use Answer::{Bare, Json};
    let mut cases = Vec::new();
    let mut body = |name: &str, body: &[u8], status: u16, words: &'static str| {
        cases.push(case(
            format!("body: {name}"),
            deploy_body(body),
            status,
            Json(words),
        ));
    };
    // Malformed, truncated and wrongly typed JSON.
    body("empty", b"", 400, "has no body");
    body("only spaces", b"   \n ", 400, "not valid JSON");
    body("truncated object", b"{", 400, "not valid JSON");
    body(
        "truncated list",
        br#"{"hosts":[{"name":"h1"}"#,
        400,
        "not valid JSON",
    );
    body(
        "truncated string",
        br#"{"hosts":[{"name":"h1"#,
        400,
        "not valid JSON",
    );
    body("null", b"null", 400, "is not");
    body("a list", b"[]", 400, "is not");
    body("a string", b"\"hosts\"", 400, "is not");
    body("a number", b"42", 400, "is not");
    body("hosts a string", br#"{"hosts":"h1"}"#, 400, "is not");
    body(
        "hosts an object",
        br#"{"hosts":{"name":"h1"}}"#,
        400,
        "is not",
    );
    body("hosts of numbers", br#"{"hosts":[1,2]}"#, 400, "is not");
    body("name a number", br#"{"hosts":[{"name":1}]}"#, 400, "is not");
    body(
        "name a list",
        br#"{"hosts":[{"name":["h1"]}]}"#,
        400,
        "is not",
    );
    body(
        "reboot a string",
        br#"{"hosts":[{"name":"h1","reboot":"yes"}]}"#,
        400,
        "is not",
    );
    body(
        "macAddress a number",
        br#"{"hosts":[{"macAddress":233}]}"#,
        400,
        "is not",
    );
    body("no hosts", br#"{"hosts":[]}"#, 400, "names no host");
    body("an empty host", br#"{"hosts":[{}]}"#, 400, "neither a name");
    body(
        "an empty name",
        br#"{"hosts":[{"name":""}]}"#,
        400,
        "neither a name",
    );
    body(
        "unknown field in a host",
        br#"{"hosts":[{"name":"h1","path":"/etc"}]}"#,
        400,
        "unknown field",
    );
    body(
        "unknown top-level field",
        br#"{"hosts":[{"name":"h1"}],"configuration":"x"}"#,
        400,
        "unknown field",
    );
    body(
        "hosts given twice",
        br#"{"hosts":[{"name":"h2"}],"hosts":[{"name":"h1"}]}"#,
        400,
        "duplicate field",
    );
    body(
        "60 000 nested lists",
        &"[".repeat(60_000).into_bytes(),
        400,
        "is not",
    );
    body(
        "nested lists in hosts",
        format!(r#"{{"hosts":{}"#, "[".repeat(5_000)).as_bytes(),
        400,
        "is not",
    );
    body(
        "nested objects in a host",
        format!(r#"{{"hosts":[{}"#, r#"{"name":"#.repeat(5_000)).as_bytes(),
        400,
        "is not",
    );
    body(
        "trailing garbage",
        br#"{"hosts":[{"name":"h1"}]} rm -rf /"#,
        400,
        "trailing characters",
    );
    body(
        "two documents",
        br#"{"hosts":[{"name":"h1"}]}{"hosts":[{"name":"h2"}]}"#,
        400,
        "trailing characters",
    );
    body(
        "invalid UTF-8",
        b"{\"hosts\":[{\"name\":\"h\xff\xfe\"}]}",
        400,
        "not valid JSON",
    );
    body(
        "UTF-16 byte order mark",
        b"\xff\xfe{\0}\0",
        400,
        "not valid JSON",
    );
    body(
        "a raw NUL byte",
        b"{\"hosts\":[{\"name\":\"h1\0\"}]}",
        400,
        "not valid JSON",
    );
    body(
        "a huge number",
        br#"{"hosts":[{"name":1e999999}]}"#,
        400,
        "not valid JSON",
    );
    // Names and MACs that try to leave the catalogue or confuse the lookup.
    body(
        "NUL in a name",
        br#"{"hosts":[{"name":"h1\u0000"}]}"#,
        404,
        "no host is named",
    );
    body(
        "a path as a name",
        br#"{"hosts":[{"name":"../../etc/passwd"}]}"#,
        404,
        "no host is named",
    );
    body(
        "a slash in a name",
        br#"{"hosts":[{"name":"h1/../h2"}]}"#,
        404,
        "no host is named",
    );
    body(
        "unicode name",
        "{\"hosts\":[{\"name\":\"hôst-ü-\u{1F642}\"}]}".as_bytes(),
        404,
        "no host is named",
    );
    body(
        "zero-width space in a name",
        "{\"hosts\":[{\"name\":\"h1\u{200b}\"}]}".as_bytes(),
        404,
        "no host is named",
    );
    body(
        "a 60 000 character name",
        format!(r#"{{"hosts":[{{"name":"{}"}}]}}"#, "x".repeat(60_000)).as_bytes(),
        404,
        "no host is named",
    );
    body(
        "malformed MAC",
        br#"{"hosts":[{"macAddress":"zz:zz:zz:zz:zz:zz"}]}"#,
        400,
        "MAC",
    );
    body(
        "MAC too short",
        br#"{"hosts":[{"macAddress":"00:00:00:00:0b"}]}"#,
        400,
        "MAC",
    );
    body(
        "MAC too long",
        br#"{"hosts":[{"macAddress":"00:00:00:00:0b:01:02"}]}"#,
        400,
        "MAC",
    );
    body(
        "NUL in a MAC",
        br#"{"hosts":[{"macAddress":"23:34:a3:e9:09:cc\u0000"}]}"#,
        400,
        "MAC",
    );
    body(
        "a path as a MAC",
        br#"{"hosts":[{"macAddress":"../01-23-34-a3-e9-09-cc"}]}"#,
        400,
        "MAC",
    );
    body(
        "an unknown MAC",
        br#"{"hosts":[{"macAddress":"aa:bb:cc:dd:ee:ff"}]}"#,
        404,
        "no host has MAC",
    );
    body(
        "name and MAC of different hosts",
        format!(r#"{{"hosts":[{{"name":"{H1}","macAddress":"{H2_MAC}"}}]}}"#).as_bytes(),
        409,
        "belongs to",
    );
    body(
        "one host named twice",
        format!(r#"{{"hosts":[{{"name":"{H1}"}},{{"macAddress":"{SEED_MAC}"}}]}}"#).as_bytes(),
        409,
        "several times",
    );
    body(
        "a valid host then an unknown one",
        format!(r#"{{"hosts":[{{"name":"{H3}"}},{{"name":"ghost"}}]}}"#).as_bytes(),
        404,
        "no host is named",
    );
    body(
        "65 KiB",
        format!(
            r#"{{"hosts":[{{"name":"{H1}"}}]}}{}"#,
            " ".repeat(65 * 1024)
        )
        .as_bytes(),
        413,
        "larger than 65536",
    );
    cases.push(case(
        "body: 10 MB",
        deploy_body(&vec![b' '; 10 * 1024 * 1024]),
        413,
        Json("larger than 65536"),
    ));
    let mut chunked = Vec::new();
    for _ in 0..10 {
        chunked.extend_from_slice(b"100000\r\n");
        chunked.extend(std::iter::repeat_n(b' ', 0x100000));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    cases.push(case(
        "body: 10 MB chunked",
        http_request(
            "PUT",
            "/v1/configurations/local/deploy",
            &[("Transfer-Encoding", "chunked")],
            &chunked,
        ),
        413,
        Json("larger than 65536"),
    ));
    cases.push(case(
        "body: malformed chunk size",
        http_request(
            "PUT",
            "/v1/configurations/local/deploy",
            &[("Transfer-Encoding", "chunked")],
            b"zz\r\n{}\r\n0\r\n\r\n",
        ),
        400,
        Json("cannot read the request body"),
    ));
    cases.push(case(
        "body: XML with an XML type",
        http_request(
            "PUT",
            "/v1/configurations/local/deploy",
            &[("Content-Type", "application/xml")],
            b"<hosts><name>h1</name></hosts>",
        ),
        400,
        Json("not valid JSON"),
    ));

    // Paths: traversal, encodings, NUL, long and unicode names.
    let mut path = |method: &str, target: &str, status: u16, words: &'static str| {
        cases.push(case(
            format!(
                "path: {method} {}",
                target.chars().take(80).collect::<String>()
            ),
            http_request(
                method,
                target,
                &[],
                if method == "PUT" {
                    br#"{"hosts":[{"name":"h1"}]}"#
                } else {
                    b""
                },
            ),
            status,
            Json(words),
        ));
    };
    path(
        "PUT",
        "/v1/configurations/..%2f..%2fetc%2fpasswd/deploy",
        404,
        "does not exist",
    );
    path(
        "PUT",
        "/v1/configurations/%2e%2e/deploy",
        404,
        "does not exist",
    );
    path(
        "PUT",
        "/v1/configurations/%2e%2e%2f%2e%2e%2fpxelinux.0/deploy",
        404,
        "does not exist",
    );
    path(
        "PUT",
        "/v1/configurations/conf%2flocal/deploy",
        404,
        "does not exist",
    );
    path(
        "PUT",
        "/v1/configurations/local%00/deploy",
        404,
        "does not exist",
    );
    path(
        "PUT",
        "/v1/configurations/%00/deploy",
        404,
        "does not exist",
    );
    path(
        "PUT",
        "/v1/configurations/.local/deploy",
        404,
        "does not exist",
    );
    path(
        "PUT",
        "/v1/configurations/local%0a/deploy",
        404,
        "does not exist",
    );
    path(
        "PUT",
        &format!("/v1/configurations/{}/deploy", "a".repeat(8_000)),
        404,
        "does not exist",
    );
    path(
        "PUT",
        "/v1/configurations/%C3%A9t%C3%A9%F0%9F%99%82/deploy",
        404,
        "does not exist",
    );
    path(
        "PUT",
        "/v1/configurations/%ff%fe/deploy",
        404,
        "does not exist",
    );
    path(
        "PUT",
        "/v1/configurations/%zz/deploy",
        404,
        "does not exist",
    );
    path("PUT", "/v1/configurations//deploy", 405, "not allowed");
    path(
        "GET",
        "/v1/configurations/..%2f..%2fpxelinux.0",
        404,
        "does not exist",
    );
    path(
        "GET",
        "/v1/configurations/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        404,
        "does not exist",
    );
    path(
        "GET",
        "/v1/configurations/../../etc/passwd",
        404,
        "no route",
    );
    path("GET", "/v1/../../../etc/passwd", 404, "no route");
    path("GET", "/v1/configurations/.%2e", 404, "does not exist");
    path("GET", "/v1/hosts/%2e%2e", 404, "no host is named");
    path("GET", "/v1/hosts/%ff%fe", 404, "no host is named");
    path(
        "DELETE",
        "/v1/hosts/..%2fh1/configuration",
        404,
        "no host is named",
    );
    path(
        "DELETE",
        "/v1/hosts/h1%00/configuration",
        404,
        "no host is named",
    );
    path(
        "DELETE",
        "/v1/hosts/%2fetc%2fpasswd/configuration",
        404,
        "no host is named",
    );
    path(
        "PATCH",
        "/v1/hosts/..%2f..%2fh1/reboot",
        404,
        "no host is named",
    );
    path(
        "PATCH",
        &format!("/v1/hosts/{}/off", "h".repeat(8_000)),
        404,
        "no host is named",
    );
    path("GET", "/v1/hosts?mac=zz", 400, "MAC");
    path("GET", "/v1/hosts?mac=%00", 400, "MAC");
    path("GET", "/v1/hosts?mac=..%2f01-23-34-a3-e9-09-cc", 400, "MAC");
    path(
        "GET",
        "/v1/hosts?mac=aa:bb:cc:dd:ee:ff",
        404,
        "no host has MAC",
    );
    path("GET", "/v1/hosts?status=maybe", 400, "not a boolean");
    path("GET", "/v1/hosts?status=%ff", 400, "not a boolean");
    path(
        "GET",
        "/v1/hosts?status=true&status=false",
        400,
        "invalid query string",
    );
    path(
        "GET",
        &format!("/v1/hosts?mac={}", "0".repeat(10_000)),
        400,
        "MAC",
    );
    path("GET", "/nope", 404, "no route");
    path("GET", "*", 404, "no route");
    // Methods no route has.
    path(
        "POST",
        "/v1/configurations/local/deploy",
        405,
        "not allowed",
    );
    path("GET", "/v1/configurations/local/deploy", 405, "not allowed");
    path("DELETE", "/v1/configurations/local", 405, "not allowed");
    path("PUT", "/v1/hosts/h1", 405, "not allowed");
    path("POST", "/v1/hosts", 405, "not allowed");
    path("TRACE", "/v1/hosts", 405, "not allowed");
    path("FOO", "/v1/hosts", 405, "not allowed");
    path("CONNECT", "/v1/hosts", 405, "not allowed");
    path("PATCH", "/v1/healthcheck", 405, "not allowed");
    path("DELETE", "/v1/refresh", 405, "not allowed");
    path("PUT", "/v1/hosts/h1/configuration", 405, "not allowed");

    // Heads actix-http refuses before any route runs.
    let mut bare = |name: &str, request: Vec<u8>, status: u16| {
        cases.push(case(format!("head: {name}"), request, status, Bare));
    };
    bare("garbage", b"HELLO\r\n\r\n".to_vec(), 400);
    bare(
        "HTTP/2.0 request line",
        b"GET /v1/hosts HTTP/2.0\r\nHost: x\r\n\r\n".to_vec(),
        400,
    );
    bare(
        "HTTP/2 preface",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        400,
    );
    bare(
        "binary noise",
        (0u8..=255).cycle().take(4096).collect(),
        400,
    );
    bare(
        "no Host header",
        b"GET /v1/hosts HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(),
        400,
    );
    bare(
        "a 140 KB header",
        http_request("GET", "/v1/hosts", &[("X-Big", &"a".repeat(140_000))], b""),
        431,
    );
    let many: Vec<(String, String)> = (0..100).map(|i| (format!("X-H{i}"), "a".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    bare(
        "100 headers",
        http_request("GET", "/v1/hosts", &many, b""),
        431,
    );
    bare(
        "a 200 KB path",
        get(&format!("/v1/hosts/{}", "a".repeat(200_000))),
        431,
    );
    bare(
        "Content-Length not a number",
        http_request(
            "PUT",
            "/v1/configurations/local/deploy",
            &[("Content-Length", "abc")],
            b"{}",
        ),
        400,
    );
    bare(
        "Content-Length overflowing",
        http_request(
            "PUT",
            "/v1/configurations/local/deploy",
            &[("Content-Length", "99999999999999999999999")],
            b"{}",
        ),
        400,
    );
    bare(
        "Content-Length and Transfer-Encoding",
        http_request(
            "PUT",
            "/v1/configurations/local/deploy",
            &[("Content-Length", "2"), ("Transfer-Encoding", "chunked")],
            b"0\r\n\r\n",
        ),
        400,
    );
    bare(
        "two different Content-Lengths",
        http_request(
            "PUT",
            "/v1/configurations/local/deploy",
            &[("Content-Length", "2"), ("Content-Length", "3")],
            b"{}",
        ),
        400,
    );
    bare(
        "NUL in a header value",
        b"GET /v1/hosts HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n".to_vec(),
        400,
    );
    bare(
        "a space in a header name",
        b"GET /v1/hosts HTTP/1.1\r\nHost: x\r\nBad Header: a\r\n\r\n".to_vec(),
        400,
    );
    bare(
        "a space in the path",
        b"GET /v1/hosts /x HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        400,
    );
    cases
}

#[test]
fn hostile_requests_get_a_4xx_and_change_nothing() {
    let world = Fixture::new().build();
    // A deploy that stands before the storm of hostile requests: they must not undo it.
    let server = world.serve();
    let authority = server.authority().to_owned();
    let root = world.root.clone();
    let valid = http_request(
        "PUT",
        "/v1/configurations/ubuntu-16.04/deploy",
        &[],
        format!(r#"{{"hosts":[{{"name":"{H3}"}}]}}"#).as_bytes(),
    );
    assert_eq!(
        raw_exchange(&authority, &valid, Duration::from_secs(10))
            .unwrap()
            .status,
        200
    );
    let cases = hostile_cases();
    let mut before = snapshot(&root, &[]);
    let (mut json, mut bare, mut server_errors, mut valid_ok) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let started = Instant::now();
        let answer = raw_exchange(&authority, &case.request, Duration::from_secs(20));
        let took = started.elapsed();
        let mut problems = Vec::new();
        match &answer {
            Err(e) => problems.push(format!("no answer: {e}")),
            Ok(r) => {
                if r.status >= 500 {
                    server_errors += 1;
                }
                if r.status != case.status {
                    problems.push(format!("status {} instead of {}", r.status, case.status));
                }
                match case.answer {
                    Answer::Json(words) => {
                        let is_json = r
                            .header("content-type")
                            .is_some_and(|t| t.starts_with("application/json"));
                        match r.message() {
                            Some(m) if is_json && m.contains(words) && m.len() <= 600 => json += 1,
                            other => problems.push(format!(
                                "expected JSON message with {words:?}, got {other:?} ({:?})",
                                String::from_utf8_lossy(&r.body)
                                    .chars()
                                    .take(300)
                                    .collect::<String>()
                            )),
                        }
                        let body = String::from_utf8_lossy(&r.body);
                        if body.contains("not a real bootloader") || body.contains("root:") {
                            problems.push(format!("leaked a file: {body}"));
                        }
                    }
                    Answer::Bare => {
                        if r.body.is_empty() {
                            bare += 1;
                        } else {
                            problems.push(format!(
                                "expected an empty body: {:?}",
                                String::from_utf8_lossy(&r.body)
                            ));
                        }
                    }
                }
            }
        }
        if !healthy(&authority) {
            problems.push("the server does not answer the next request".into());
        }
        let after = snapshot(&root, &[]);
        let changed = diff(&before, &after);
        if !changed.is_empty() {
            problems.push(format!("the TFTP root changed: {changed:?}"));
        }
        // Each is refused at once (the slow ones are in their own test); 10 s leaves room for
        // a loaded machine while still catching a request the server sits on.
        if took > Duration::from_secs(10) {
            problems.push(format!("took {took:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!("#{i} {}: {}", case.name, problems.join("; ")));
        }
        before = after;
        // Every 20 cases a valid request: it changes exactly what it asks.
        if i % 20 == 19 {
            let configuration = ["local", "grml-2017.05"][(i / 20) % 2];
            let valid = http_request(
                "PUT",
                &format!("/configurations/{configuration}/deploy"),
                &[("Content-Type", "application/x-www-form-urlencoded")],
                format!(r#"{{"hosts":[{{"macAddress":"{}"}}]}}"#, H3_MACS[2]).as_bytes(),
            );
            let answer = raw_exchange(&authority, &valid, Duration::from_secs(10)).unwrap();
            assert_eq!(
                answer.status,
                200,
                "{:?}",
                String::from_utf8_lossy(&answer.body)
            );
            let after = snapshot(&root, &[]);
            let expected = [
                PathBuf::from("pxelinux.cfg"),
                PathBuf::from("pxelinux.cfg").join(common::entry_name(H3_MACS[0])),
            ];
            for line in diff(&before, &after) {
                assert!(
                    expected
                        .iter()
                        .any(|p| line.starts_with(&format!("changed {}:", p.display()))),
                    "a valid deploy of h3 changed {line}"
                );
            }
            assert_eq!(world.deployed(H3_MACS[1]).as_deref(), Some(configuration));
            valid_ok += 1;
            before = after;
        }
    }
    let logs = server.logs();
    println!(
        "[hostile http] {} hostile requests: {json} answered 4xx with a JSON message, {bare} refused 4xx by actix-http before any route (empty body), {server_errors} 5xx, {} failures; {valid_ok} valid deploys in between changed only their host",
        cases.len(),
        failures.len()
    );
    assert!(cases.len() >= 60);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(server_errors, 0);
    assert!(
        !logs.contains("request failed"),
        "a 5xx was logged:\n{logs}"
    );
    assert!(!logs.contains("panicked"), "{logs}");
}

/// The source address of the slow and idle clients: another peer than the healthy one.
const ATTACKER: &str = "127.0.0.2";

#[test]
fn slow_and_idle_clients_are_cut_off_without_stopping_anyone_else() {
    let world = World::new();
    let server = world.serve();
    let authority = server.authority().to_owned();
    let before = snapshot(&world.root, &[]);
    let started = Instant::now();
    // Slowloris: 20 connections whose head never ends.
    let slow_heads: Vec<TcpStream> = (0..20)
        .map(|i| {
            let mut s = connect_from(ATTACKER, &authority).unwrap();
            write!(s, "GET /v1/hosts HTTP/1.1\r\nHost: x\r\nX-Slow-{i}: ").unwrap();
            s
        })
        .collect();
    // A deploy whose body never ends (Content-Length 100, 10 bytes sent).
    let mut slow_body = connect_from(ATTACKER, &authority).unwrap();
    slow_body
        .write_all(&http_request(
            "PUT",
            "/v1/configurations/local/deploy",
            &[("Content-Length", "100")],
            b"{\"hosts\":[",
        ))
        .unwrap();
    // 300 connections that send nothing at all (past the per-peer cap, the server closes
    // them at once).
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| connect_from(ATTACKER, &authority).unwrap())
        .collect();
    // Meanwhile everyone else is served at once.
    let mut served = 0;
    for _ in 0..20 {
        let t = Instant::now();
        assert!(healthy(&authority));
        assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
        served += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut timed_out_heads = 0;
    for s in slow_heads {
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let answer = read_response(s, deadline).expect("an answer to a slow head");
        assert_eq!(answer.status, 408, "{}", answer.head);
        timed_out_heads += 1;
    }
    let heads_cut_after = started.elapsed();
    slow_body
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let answer = read_response(slow_body, deadline).expect("an answer to a slow body");
    let body_cut_after = started.elapsed();
    assert_eq!(answer.status, 408, "{}", answer.head);
    assert!(
        answer
            .message()
            .is_some_and(|m| m.contains("did not arrive within")),
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    let mut idle_closed = 0;
    for s in idle {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        if let Ok(answer) = read_response(s, deadline) {
            assert_eq!(answer.status, 408);
        }
        idle_closed += 1;
    }
    assert!(healthy(&authority));
    assert!(diff(&before, &snapshot(&world.root, &[])).is_empty());
    println!(
        "[slow clients] {timed_out_heads} unfinished heads answered 408 after {heads_cut_after:?}, a stalled deploy body answered 408 JSON after {body_cut_after:?}, {idle_closed} idle connections closed; {served} requests served meanwhile, each in under 4 s"
    );
    assert!(heads_cut_after < Duration::from_secs(12));
    assert!(body_cut_after < Duration::from_secs(20));
}

/// An invalid configuration case: the file's text, what to set up beside it, and the words
/// its one-line error must contain (the line `yml:N` or the key).
struct BadConfig {
    name: &'static str,
    text: Vec<u8>,
    setup: fn(&Path),
    words: &'static str,
}

const BASE: &str = "hosts:\n  - name: h1\n    mac_addresses: [\"00:00:00:00:0b:01\"]\ntftp:\n  root: tftp\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\nserver:\n  listen: 127.0.0.1\n";
const PATHS: &str = "tftp:\n  root: tftp\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\n";

fn nothing(_: &Path) {}

fn bad(name: &'static str, text: impl Into<Vec<u8>>, words: &'static str) -> BadConfig {
    BadConfig {
        name,
        text: text.into(),
        setup: nothing,
        words,
    }
}

fn hosts(list: &str) -> String {
    format!("hosts:\n{list}{PATHS}")
}

fn bad_configurations() -> Vec<BadConfig> {
    let mut cases = vec![
        bad("an empty file", "", "tftp.root: is missing"),
        bad("only comments", "# nothing\n# at all\n", "tftp.root: is missing"),
        bad("a list at the top", "- hosts\n- tftp\n", "pxe-pilot.yml:1:"),
        bad("a scalar at the top", "hello\n", "pxe-pilot.yml:1:"),
        bad("hosts a number", format!("hosts: 3\n{PATHS}"), "pxe-pilot.yml:1:"),
        bad("hosts a string", format!("hosts: h1\n{PATHS}"), "pxe-pilot.yml:1:"),
        bad("hosts a map", format!("hosts:\n  name: h1\n{PATHS}"), "pxe-pilot.yml:2:"),
        bad("a host null", hosts("  - null\n"), "pxe-pilot.yml:2:"),
        bad("mac_addresses a map", hosts("  - name: h1\n    mac_addresses: {a: b}\n"), "pxe-pilot.yml:3:"),
        bad("a name that is a list", hosts("  - name: [h1]\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n"), "pxe-pilot.yml:2:"),
        bad("server.port not a number", format!("{BASE}  port: abc\n"), "pxe-pilot.yml:10:"),
        bad("server.port too large", format!("{BASE}  port: 99999\n"), "pxe-pilot.yml:10:"),
        bad("server.port negative", format!("{BASE}  port: -1\n"), "pxe-pilot.yml:10:"),
        bad("server.listen not an address", BASE.replace("127.0.0.1", "localhost:80"), "server.listen"),
        bad("command_timeout 0", format!("{BASE}command_timeout: 0\n"), "command_timeout"),
        bad("command_timeout with a unit", format!("{BASE}command_timeout: 10s\n"), "pxe-pilot.yml:10:"),
        bad("a MAC given to two hosts", hosts("  - name: a\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n  - name: b\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n"), "pxe-pilot.yml:5: hosts[1].mac_addresses[0]"),
        bad("a MAC twice in one host", hosts("  - name: a\n    mac_addresses: [\"00:00:00:00:0b:01\", \"00:00:00:00:0b:01\"]\n"), "hosts[0].mac_addresses[1]"),
        bad("one MAC in two spellings (AA-BB and dotted)", hosts("  - name: a\n    mac_addresses: [\"00-00-00-00-0B-01\"]\n  - name: b\n    mac_addresses: [\"0000.0000.0b01\"]\n"), "hosts[1].mac_addresses[0]"),
        bad("one MAC in two spellings (bare hex and colons)", hosts("  - name: a\n    mac_addresses: [\"000000000B01\"]\n  - name: b\n    mac_addresses: [\"0:0:0:0:b:1\"]\n"), "hosts[1].mac_addresses[0]"),
        bad("a MAC with five groups", hosts("  - name: a\n    mac_addresses: [\"00:00:00:00:0b\"]\n"), "pxe-pilot.yml:3: hosts[0].mac_addresses[0]"),
        bad("a MAC with seven groups", hosts("  - name: a\n    mac_addresses: [\"00:00:00:00:0b:01:02\"]\n"), "hosts[0].mac_addresses[0]"),
        bad("a MAC with non-hex digits", hosts("  - name: a\n    mac_addresses: [\"gg:00:00:00:0b:01\"]\n"), "hosts[0].mac_addresses[0]"),
        bad("a MAC that is a number", hosts("  - name: a\n    mac_addresses: [12345]\n"), "hosts[0].mac_addresses[0]"),
        bad("a host without MAC", hosts("  - name: a\n"), "hosts[0].mac_addresses"),
        bad("two hosts with one name", hosts("  - name: a\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n  - name: a\n    mac_addresses: [\"00:00:00:00:0b:02\"]\n"), "pxe-pilot.yml:4: hosts[1].name"),
        bad("a host name with a slash", hosts("  - name: a/b\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n"), "hosts[0].name"),
        bad("a host name ..", hosts("  - name: \"..\"\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n"), "hosts[0].name"),
        bad("an empty host name", hosts("  - name: \"\"\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n"), "hosts[0].name"),
        bad("an undeclared adapter", hosts("  - name: a\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n    management: {adapter: nope}\n"), "hosts[0].management.adapter"),
        bad("an adapter declared twice", format!("{BASE}host_management_adapters:\n  - name: x\n  - name: x\n"), "host_management_adapters[1].name"),
        bad("a malformed BMC MAC", hosts("  - name: a\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n    ipmi: {mac_address: \"nope\"}\n"), "hosts[0].ipmi.mac_address"),
        bad("no tftp key", "hosts: []\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\n", "tftp.root: is missing"),
        bad("an empty tftp.root", BASE.replace("root: tftp", "root: \"\""), "tftp.root"),
        bad("a missing TFTP root", BASE.replace("root: tftp", "root: /nonexistent/tftp"), "tftp.root"),
        bad("a TFTP root that is a file", BASE.replace("root: tftp", "root: tftp/pxelinux.0"), "tftp.root"),
        bad("a missing catalogue", BASE.replace("pxelinux.cfg/conf", "pxelinux.cfg/nope"), "configuration.directory"),
        bad("a catalogue outside the root", BASE.replace("directory: tftp/pxelinux.cfg/conf", "directory: elsewhere"), "configuration.directory"),
        BadConfig {
            name: "a catalogue that is a link leading out of the root",
            text: BASE.replace("pxelinux.cfg/conf", "pxelinux.cfg/escape").into_bytes(),
            setup: |dir| {
                std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join("tftp/pxelinux.cfg/escape")).unwrap()
            },
            words: "configuration.directory",
        },
        bad("a bootloader named ..", BASE.replace("directory: tftp/pxelinux.cfg/conf\n", "directory: tftp/pxelinux.cfg/conf\n  bootloaders: [{name: \"..\"}]\n"), "configuration.bootloaders[0].name"),
        bad("a bootloader declared twice", BASE.replace("directory: tftp/pxelinux.cfg/conf\n", "directory: tftp/pxelinux.cfg/conf\n  bootloaders: [{name: grub}, {name: grub}]\n"), "configuration.bootloaders[1].name"),
        bad("a mac_entry leading out of the root", BASE.replace("directory: tftp/pxelinux.cfg/conf\n", "directory: tftp/pxelinux.cfg/conf\n  bootloaders: [{name: grub, mac_entry: \"../../etc/{mac}\"}]\n"), "configuration.bootloaders[0].mac_entry"),
        bad("a mac_entry without a MAC", BASE.replace("directory: tftp/pxelinux.cfg/conf\n", "directory: tftp/pxelinux.cfg/conf\n  bootloaders: [{name: grub, mac_entry: grub/grub.cfg}]\n"), "configuration.bootloaders[0].mac_entry"),
        bad("bytes that are not UTF-8", [BASE.as_bytes(), b"# caf\xe9\n"].concat(), "pxe-pilot.yml:10: not UTF-8"),
        bad("a tab for indentation", BASE.replace("  - name: h1", "\t- name: h1"), "pxe-pilot.yml:2:"),
        bad("an anchor reused as a second host", "hosts:\n  - &h\n    name: h1\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n  - *h\ntftp:\n  root: tftp\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\n", "hosts[1].name"),
        bad("an alias to an undefined anchor", format!("{BASE}arp_table: *nowhere\n"), "pxe-pilot.yml:10:"),
        bad("a billion laughs", format!("{BASE}x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n{}", (1..10).map(|i| format!("x{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1)).collect::<String>()), "pxe-pilot.yml:"),
        bad("an unclosed quote", BASE.replace("name: h1", "name: \"h1"), "pxe-pilot.yml:"),
        bad("an unclosed bracket", BASE.replace("0b:01\"]", "0b:01\""), "pxe-pilot.yml:"),
        bad("a key given twice", format!("{BASE}tftp:\n  root: /\n"), "pxe-pilot.yml:10:1: key \"tftp\" is given twice"),
        bad("two documents", format!("{BASE}---\n{BASE}"), "pxe-pilot.yml:"),
        bad("a binary tag that is not text", BASE.replace("name: h1", "name: !!binary /w=="), "pxe-pilot.yml:2:"),
    ];
    cases.push(BadConfig {
        name: "a file over the size limit",
        text: format!("{BASE}# {}\n", "x".repeat(MAX_FILE_SIZE as usize)).into_bytes(),
        setup: nothing,
        words: "larger than",
    });
    cases
}

#[test]
fn invalid_configuration_files_stop_the_server_with_one_line_and_write_nothing() {
    let cases = bad_configurations();
    let mut failures = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("tftp/pxelinux.cfg/conf")).unwrap();
        fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        fs::write(
            dir.path().join("tftp/pxelinux.cfg/conf/local"),
            "LOCALBOOT 0\n",
        )
        .unwrap();
        fs::write(dir.path().join("tftp/pxelinux.0"), "not ours\n").unwrap();
        (case.setup)(dir.path());
        let config = dir.path().join("pxe-pilot.yml");
        fs::write(&config, &case.text).unwrap();
        let before = snapshot(dir.path(), &[]);
        let (code, stderr) = run_server(&config);
        let after = snapshot(dir.path(), &[]);
        let mut problems = Vec::new();
        if code != Some(1) {
            problems.push(format!("exit {code:?}"));
        }
        let lines: Vec<&str> = stderr.lines().collect();
        if lines.len() != 1 {
            problems.push(format!("{} lines on stderr", lines.len()));
        }
        let line = lines.last().copied().unwrap_or_default();
        if !line.starts_with("pxe-pilot-server: ") || !line.contains(case.words) {
            problems.push(format!("expected {:?}", case.words));
        }
        if line.len() > 1000 {
            problems.push(format!("a {} byte line", line.len()));
        }
        // Advice to programmers (which parser option to set) is no help to an operator.
        if ["Options", "from_str", "RecordedAnchorEvents"]
            .iter()
            .any(|w| line.contains(w))
        {
            problems.push("a parser's advice to programmers".into());
        }
        let changed = diff(&before, &after);
        if !changed.is_empty() {
            problems.push(format!("wrote {changed:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}: {:?}",
                case.name,
                problems.join("; "),
                stderr.chars().take(400).collect::<String>()
            ));
        }
        if std::env::var_os("PXE_PILOT_SHOW").is_some() {
            println!(
                "  {}: {}",
                case.name,
                line.replace(&dir.path().display().to_string(), "DIR")
            );
        }
    }
    // A missing file and a folder given as the file.
    for (name, path) in [
        ("a missing file", "/nonexistent/pxe-pilot.yml"),
        ("a folder", "/tmp"),
    ] {
        let (code, stderr) = run_server(Path::new(path));
        if code != Some(1)
            || stderr.lines().count() != 1
            || !stderr.contains("cannot read configuration file")
        {
            failures.push(format!("{name}: {code:?} {stderr:?}"));
        }
    }
    println!(
        "[bad configuration] {} invalid configuration files: {} refused with one line, exit 1 and nothing written",
        cases.len() + 2,
        cases.len() + 2 - failures.len()
    );
    assert!(cases.len() >= 25);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs the server over `config`; its exit code and stderr. A server that starts (the file
/// was valid after all) is killed after 20 s.
fn run_server(config: &Path) -> (Option<i32>, String) {
    TestServer::builder()
        .config(config)
        .run_to_exit(Duration::from_secs(20))
}

/// Hostile fragments a mutation splices into a request.
const FRAGMENTS: [&[u8]; 16] = [
    b"..",
    b"%2e%2e%2f",
    b"%00",
    b"\0",
    b"/",
    b"\r\n",
    b"\r\n\r\n",
    b"%",
    b"{",
    b"\"",
    b"\xff\xfe",
    b"Content-Length: 99999\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"01-23-34-a3-e9-09-cc",
    "\u{1F642}".as_bytes(),
    b"[[[[[[[[",
];

/// A valid request, then `n` random mutations: bytes flipped, inserted, removed, duplicated,
/// hostile fragments spliced in.
fn mutated(rng: &mut Rng) -> Vec<u8> {
    let templates: [Vec<u8>; 6] = [
        deploy_body(
            format!(
                r#"{{"hosts":[{{"name":"{H1}"}},{{"macAddress":"{}","reboot":false}}]}}"#,
                H3_MACS[1]
            )
            .as_bytes(),
        ),
        http_request(
            "PUT",
            "/configurations/grml-2017.05/deploy",
            &[],
            br#"{"hosts":[{"mac_address":"00-00-00-00-0B-02"}]}"#,
        ),
        get("/v1/hosts?status=false&mac=23:34:a3:e9:09:cc"),
        get("/v1/configurations/ubuntu-16.04"),
        http_request("DELETE", "/v1/hosts/h3/configuration", &[], b""),
        http_request("PATCH", "/v1/hosts/h1/reboot", &[], b""),
    ];
    let mut bytes = templates[rng.below(templates.len())].clone();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 if at < bytes.len() => bytes[at] = rng.next() as u8,
            1 => bytes.insert(at, rng.next() as u8),
            2 if at < bytes.len() => {
                let end = (at + 1 + rng.below(16)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 if at < bytes.len() => {
                let end = (at + 1 + rng.below(32)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            _ => {
                let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                bytes.splice(at..at, fragment.iter().copied());
            }
        }
    }
    bytes
}

/// How many random requests [`mutated_requests_never_get_a_5xx_nor_write_outside_the_entries`]
/// sends: `PXE_PILOT_FUZZ_CASES` (what `scripts/fuzz.sh` sets), else 300.
fn http_fuzz_cases() -> usize {
    std::env::var("PXE_PILOT_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(300)
}

#[test]
fn mutated_requests_never_get_a_5xx_nor_write_outside_the_entries() {
    let world = World::new();
    let server = world.serve();
    let authority = server.authority().to_owned();
    let root = world.root.clone();
    let cfg = world.pxelinux_cfg();
    // Valid mutants may deploy or undeploy: entries may change, nothing else.
    let outside = |snap: Snapshot| -> Snapshot {
        snap.into_iter()
            .filter(|(p, _)| {
                let path = root.join(p);
                path != cfg
                    && !(path.parent() == Some(cfg.as_path())
                        && p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("01-")))
            })
            .collect()
    };
    let before = outside(snapshot(&root, &[]));
    let mut rng = Rng::new(Rng::seed("http fuzz"));
    let cases = http_fuzz_cases();
    let deadline = Instant::now() + Duration::from_secs(if long() { 3600 } else { 120 });
    let mut statuses = std::collections::BTreeMap::new();
    let mut sent = 0;
    let mut failures = Vec::new();
    while sent < cases && Instant::now() < deadline {
        let request = mutated(&mut rng);
        sent += 1;
        // Half-close after the request: a mutant whose Content-Length promises more than it
        // sends is answered at once instead of waiting for the body timeout.
        let answer = (|| {
            let mut stream = TcpStream::connect(&authority).map_err(|e| e.to_string())?;
            stream
                .set_read_timeout(Some(Duration::from_secs(15)))
                .map_err(|e| e.to_string())?;
            let _ = stream.write_all(&request);
            let _ = stream.shutdown(std::net::Shutdown::Write);
            read_response(stream, Instant::now() + Duration::from_secs(15))
        })();
        match answer {
            Ok(r) => {
                *statuses.entry(r.status).or_insert(0) += 1;
                if r.status >= 500 {
                    failures.push(format!(
                        "{}: {:?}",
                        r.status,
                        String::from_utf8_lossy(&request)
                    ));
                }
            }
            Err(_) => *statuses.entry(0).or_insert(0) += 1,
        }
        if sent % 50 == 0 && !healthy(&authority) {
            failures.push(format!(
                "unhealthy after {:?}",
                String::from_utf8_lossy(&request)
            ));
            break;
        }
    }
    assert!(healthy(&authority));
    let changed = diff(&before, &outside(snapshot(&root, &[])));
    println!(
        "[http fuzz] {sent} mutated requests, answers by status (0: closed without answer) {statuses:?}; {} 5xx; {} changes outside the entries",
        statuses.range(500..).map(|(_, n)| n).sum::<usize>(),
        changed.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(changed.is_empty(), "{changed:?}");
    assert!(!server.logs().contains("panicked"));
}
