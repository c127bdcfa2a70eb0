//! What an installer needs from the PXE server alone: the static client at
//! `GET /v1/client/pxe-pilot` (`client.binary`), downloaded the way a preseed's late command
//! does and run; and the versions (`GET /v1/version`, `pxe-pilot version`).

use crate::{cli, common};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{binary, Fixture, World};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A world whose `client.binary` is a copy of the `pxe-pilot` binary of this build, and the
/// bytes of that binary.
fn world_with_client() -> (World, Vec<u8>) {
    let fixture = Fixture::new().yaml("client:\n  binary: client/pxe-pilot-static");
    // The file must exist when the server loads its configuration: build the world by hand.
    let world = fixture.build();
    let folder = world.path().join("client");
    fs::create_dir_all(&folder).unwrap();
    let bytes = fs::read(binary("pxe-pilot")).unwrap();
    fs::write(folder.join("pxe-pilot-static"), &bytes).unwrap();
    (world, bytes)
}

#[test]
fn the_configured_client_is_served_and_runs_after_download() {
    let (world, bytes) = world_with_client();
    let server = world.serve();
    for path in ["/v1/client/pxe-pilot", "/client/pxe-pilot"] {
        let response = Client::new().get(server.url(path)).send().unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        assert!(
            response.bytes().unwrap() == bytes,
            "{path}: not the same file"
        );
    }

    // The preseed's late command, with curl standing in for the installer's wget.
    let target = tempfile::tempdir().unwrap();
    let downloaded = target.path().join("pxe-pilot");
    let status = Command::new("curl")
        .args(["-fsS", "-o"])
        .arg(&downloaded)
        .arg(server.url("/v1/client/pxe-pilot"))
        .status()
        .expect("run curl");
    assert!(status.success());
    fs::set_permissions(&downloaded, fs::Permissions::from_mode(0o755)).unwrap();
    let output = Command::new(&downloaded)
        .args(["-s", &server.base, "host", "list"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("| h1 "));
}

#[test]
fn without_client_binary_the_route_is_a_json_404_that_says_what_to_set() {
    let world = World::new();
    let server = world.serve();
    let response = Client::new()
        .get(server.url("/v1/client/pxe-pilot"))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("client: {binary: PATH}"),
        "{body}"
    );
}

#[test]
fn the_server_tells_its_name_and_version() {
    let world = World::new();
    let server = world.serve();
    for path in ["/v1/version", "/version"] {
        let body: Value = Client::new()
            .get(server.url(path))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            body,
            json!({"name": "pxe-pilot", "version": env!("CARGO_PKG_VERSION")})
        );
    }
}

#[test]
fn pxe_pilot_version_shows_the_client_then_the_server() {
    let world = World::new();
    let server = world.serve();
    let version = env!("CARGO_PKG_VERSION");
    let out = cli::run(&server, &["version"]).ok();
    assert_eq!(
        out,
        format!(
            "client: pxe-pilot {version}\nserver: pxe-pilot {version} ({}/)\n",
            server.base
        )
    );
    let out = cli::run(&server, &["-o", "json", "version"]).ok();
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["client"]["version"], version);
    assert_eq!(
        json["server"],
        json!({"name": "pxe-pilot", "version": version})
    );

    // Without a server: the client's line, then exit 2 (unreachable).
    let run = cli::run_at("http://127.0.0.1:1", &["--retry-for", "0", "version"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.stdout, format!("client: pxe-pilot {version}\n"));
    let run = cli::pxe_pilot().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("pxe-pilot {version}\n")
    );
}

#[test]
fn completions_and_the_man_page_need_no_server_and_print_no_colour() {
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["completions", "fish"],
        &["man"],
    ] {
        let out = cli::pxe_pilot()
            .args(["-s", "not a url"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("deploy"), "{args:?}");
        assert!(!text.contains('\u{1b}'), "{args:?}: an escape sequence");
    }
    // Hidden from the help, which has no colour when not on a terminal.
    let help = cli::pxe_pilot().arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("version") && !help.contains("completions"),
        "{help}"
    );
    assert!(!help.contains('\u{1b}'));
}

/// The server's peak resident memory, in KiB (`VmHWM`).
fn peak_memory_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn forty_downloads_at_once_do_not_hold_forty_copies_of_the_client() {
    let world = Fixture::new().yaml("client:\n  binary: client/big").build();
    let folder = world.path().join("client");
    fs::create_dir_all(&folder).unwrap();
    let size = 10 * 1024 * 1024;
    let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    fs::write(folder.join("big"), &bytes).unwrap();
    let server = world.serve();
    let before = peak_memory_kib(server.pid());
    // Forty installers start the download and read slowly: the answers wait in the server.
    let mut streams: Vec<std::net::TcpStream> = (0..40)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(server.authority()).unwrap();
            write!(
                stream,
                "GET /v1/client/pxe-pilot HTTP/1.1\r\nHost: pxe\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            stream
        })
        .collect();
    // Each answer has begun (its head arrived): every download is in flight, its rest
    // waiting in the server while the installer reads nothing more.
    let mut heads = Vec::new();
    for stream in &mut streams {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        heads.push(head);
    }
    assert!(heads.iter().all(|h| h.starts_with(b"HTTP/1.1 200")));
    let grew_mib = peak_memory_kib(server.pid()).saturating_sub(before) / 1024;
    for stream in &mut streams {
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        assert_eq!(answer.len(), size, "the whole file arrives");
        assert!(
            answer.ends_with(&bytes[size - 1000..]),
            "the whole file arrives"
        );
    }
    // Forty copies would be 400 MiB; streamed, each download holds a small buffer.
    assert!(
        grew_mib < 60,
        "the server grew {grew_mib} MiB for 40 downloads of 10 MiB"
    );
}
