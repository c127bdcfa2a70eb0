//! The application in process (actix-web's test service): the seams the binary tests cannot
//! reach — what power management is asked and with which `query`, the token, the body limit —
//! and `run` on a port-0 listener stopped by its shutdown future, as mini-redis tests do.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use actix_web::http::{header, StatusCode};
use actix_web::test;
use pxe_pilot_core::{Pilot, Settings};
use pxe_pilot_server::{app, run, AppState};

use crate::world::{Fixture, World};
use serde_json::{json, Value};

/// Hosts h1 (one NIC) and h2 (two NICs), a catalogue of `local`.
fn two_hosts() -> Fixture {
    Fixture::new()
        .hosts(
            "  - name: h1\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n  - name: h2\n    mac_addresses: [\"00:00:00:00:0b:02\", \"00:00:00:00:0c:02\"]\n",
        )
        .catalogue(&[("local", "LOCALBOOT 0\n")])
}

/// The world's service, its entries kept in memory (the catalogue is read from the disk).
fn pilot(world: &World) -> Pilot {
    let (settings, _) = Settings::load(&world.config).unwrap();
    Pilot::in_memory(settings).unwrap()
}

/// Hosts h1 and h2 with a command adapter that logs each command it runs to `log`; h2's
/// reset fails.
fn recorded_hosts(log: &Path) -> Fixture {
    let log = log.display();
    two_hosts()
        .yaml(&format!(
            "host_management_adapters:
  - name: recorder
    vars: [{{name: log, value: {log}}}]
    power_status: {{cmd: \"sh -c 'echo status {{{{.host}}}} >> {{{{.log}}}}; echo on'\", pattern_on: 'on', pattern_off: 'off'}}
    power_off: {{cmd: \"sh -c 'echo off {{{{.host}}}} >> {{{{.log}}}}'\"}}
    power_reset: {{cmd: \"sh -c 'echo reboot {{{{.host}}}} >> {{{{.log}}}}; test {{{{.host}}}} = h1'\"}}"
        ))
        .hosts(
            "  - name: h1
    mac_addresses: ['00:00:00:00:0b:01']
    management: {hostname: 10.0.0.1, adapter: recorder, vars: [{name: host, value: h1}]}
  - name: h2
    mac_addresses: ['00:00:00:00:0b:02', '00:00:00:00:0c:02']
    management: {hostname: 10.0.0.2, adapter: recorder, vars: [{name: host, value: h2}]}",
        )
}

#[actix_web::test]
async fn power_is_asked_only_as_the_request_says() {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("commands.log");
    let world = recorded_hosts(&log).build();
    let state = AppState::open(pilot(&world));
    let service = test::init_service(app(state)).await;
    let commands = || std::fs::read_to_string(&log).unwrap_or_default();

    let req = test::TestRequest::get()
        .uri("/v1/hosts?status=false")
        .to_request();
    let hosts: Value = test::call_and_read_body_json(&service, req).await;
    assert_eq!(hosts[0]["powerState"], "Unknown", "{hosts}");
    assert_eq!(commands(), "", "status=false runs no command");
    let req = test::TestRequest::get().uri("/hosts").to_request();
    let hosts: Value = test::call_and_read_body_json(&service, req).await;
    assert_eq!(hosts[1]["powerState"], "On");
    assert_eq!(hosts[1]["management"]["ipAddress"], "10.0.0.2");
    assert_eq!(commands().lines().count(), 2, "{}", commands());

    let req = test::TestRequest::put()
        .uri("/v1/configurations/local/deploy")
        .set_payload(r#"{"hosts":[{"name":"h1","reboot":true},{"name":"h2","reboot":true}]}"#)
        .to_request();
    let answer: Value = test::call_and_read_body_json(&service, req).await;
    assert_eq!(
        answer,
        json!({"hosts": [
            {"name": "h1", "configuration": "local", "rebooted": "YES", "netboot": "SKIPPED"},
            {"name": "h2", "configuration": "local", "rebooted": "ERROR", "netboot": "SKIPPED"},
        ]})
    );
    let req = test::TestRequest::patch()
        .uri("/v1/hosts/h1/off")
        .to_request();
    assert_eq!(
        test::call_service(&service, req).await.status(),
        StatusCode::NO_CONTENT
    );
    let done: Vec<String> = commands()
        .lines()
        .skip(2)
        .filter(|l| !l.starts_with("status"))
        .map(String::from)
        .collect();
    assert_eq!(done, ["reboot h1", "reboot h2", "off h1"]);
}

#[actix_web::test]
async fn without_power_management_power_routes_are_409_and_unknown_hosts_404() {
    let world = two_hosts().build();
    let state = AppState::open(pilot(&world));
    let service = test::init_service(app(state)).await;
    for action in ["reboot", "on", "off"] {
        let req = test::TestRequest::patch()
            .uri(&format!("/v1/hosts/h1/{action}"))
            .to_request();
        let response = test::call_service(&service, req).await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body: Value = test::read_body_json(response).await;
        assert_eq!(
            body["message"],
            "no power management configured for host h1"
        );
        let req = test::TestRequest::patch()
            .uri(&format!("/v1/hosts/nope/{action}"))
            .to_request();
        assert_eq!(
            test::call_service(&service, req).await.status(),
            StatusCode::NOT_FOUND
        );
    }
}

#[actix_web::test]
async fn the_token_guards_changes_and_leaves_reads_open() {
    let world = two_hosts().token("s3cret-t0ken").build();
    let state = AppState::open(pilot(&world));
    let service = test::init_service(app(state)).await;
    let body = r#"{"hosts":[{"name":"h1"}]}"#;

    let req = test::TestRequest::get().uri("/v1/hosts").to_request();
    assert_eq!(
        test::call_service(&service, req).await.status(),
        StatusCode::OK
    );

    for authorization in [None, Some("Bearer wrong"), Some("s3cret-t0ken")] {
        let mut req = test::TestRequest::put()
            .uri("/v1/configurations/local/deploy")
            .set_payload(body);
        if let Some(value) = authorization {
            req = req.insert_header((header::AUTHORIZATION, value));
        }
        let response = test::call_service(&service, req.to_request()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer"
        );
        let answer: Value = test::read_body_json(response).await;
        let message = answer["message"].as_str().unwrap();
        assert!(!message.contains("s3cret-t0ken"), "{message}");
    }
    let deployed = || {
        let req = test::TestRequest::get()
            .uri("/v1/hosts/h1?status=false")
            .to_request();
        test::call_and_read_body_json::<_, _, Value>(&service, req)
    };
    assert_eq!(deployed().await["configuration"], Value::Null);

    for (method, uri) in [
        ("DELETE", "/v1/hosts/h1/configuration"),
        ("PATCH", "/v1/hosts/h1/reboot"),
        ("PATCH", "/v1/refresh"),
    ] {
        let req = test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(uri)
            .to_request();
        assert_eq!(
            test::call_service(&service, req).await.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {uri}"
        );
    }

    let req = test::TestRequest::put()
        .uri("/v1/configurations/local/deploy")
        .insert_header((header::AUTHORIZATION, "Bearer s3cret-t0ken"))
        .set_payload(body)
        .to_request();
    assert_eq!(
        test::call_service(&service, req).await.status(),
        StatusCode::OK
    );
    assert_eq!(deployed().await["configuration"]["name"], "local");
}

#[actix_web::test]
async fn a_body_over_64_kib_is_413_json() {
    let world = two_hosts().build();
    let state = AppState::open(pilot(&world));
    let service = test::init_service(app(state)).await;
    let padding = " ".repeat(pxe_pilot_server::BODY_LIMIT);
    let req = test::TestRequest::put()
        .uri("/v1/configurations/local/deploy")
        .set_payload(format!(r#"{{"hosts":[{{"name":"h1"}}]}}{padding}"#))
        .to_request();
    let response = test::call_service(&service, req).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let answer: Value = test::read_body_json(response).await;
    assert_eq!(
        answer["message"],
        "the request body is larger than 65536 bytes"
    );
}

#[actix_web::test]
async fn run_serves_a_port_0_listener_until_its_shutdown_future_completes() {
    let world = two_hosts().build();
    let state = AppState::open(pilot(&world));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = actix_web::rt::spawn(run(listener, state, async {
        let _ = stopped.await;
    }));

    let answer = actix_web::web::block(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /v1/healthcheck HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[actix_web::test]
async fn a_route_reached_without_the_token_check_refuses_every_change() {
    // The routes mounted without the middleware that tells who asks (a mistake of an
    // embedder, or of a change to `app`): the server has no token, so the middleware would
    // have said `Open`; without it a change is anonymous, never open.
    let world = two_hosts().build();
    let state = AppState::open(pilot(&world));
    let service = test::init_service(
        actix_web::App::new()
            .app_data(actix_web::web::Data::new(state))
            .configure(pxe_pilot_server::routes),
    )
    .await;
    for req in [
        test::TestRequest::put()
            .uri("/configurations/local/deploy")
            .set_json(json!({"hosts": [{"name": "h1"}]})),
        test::TestRequest::delete().uri("/hosts/h1/configuration"),
        test::TestRequest::patch().uri("/hosts/h1/reboot"),
        test::TestRequest::patch().uri("/refresh"),
    ] {
        let res = test::call_service(&service, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: Value = test::read_body_json(res).await;
        assert!(
            body["message"].as_str().unwrap().contains("not checked"),
            "{body}"
        );
    }
    let req = test::TestRequest::get()
        .uri("/hosts/h1?status=false")
        .to_request();
    let host: Value = test::call_and_read_body_json(&service, req).await;
    assert_eq!(
        host["configuration"],
        Value::Null,
        "nothing was deployed: {host}"
    );
}
