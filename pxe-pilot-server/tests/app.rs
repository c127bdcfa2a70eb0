//! The application in process (actix-web's test service): the seams the binary tests cannot
//! reach — what power management is asked and with which `query`, the token, the body limit —
//! and `run` on a port-0 listener stopped by its shutdown future, as mini-redis tests do.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use actix_web::http::{header, StatusCode};
use actix_web::test;
use pxe_pilot_core::api::PowerState;
use pxe_pilot_core::{Host, Pilot, PilotError, PowerAction, PowerError, Settings};
use pxe_pilot_server::power::{NoPower, Power, PowerFuture, PowerReport};
use pxe_pilot_server::{app, run, ApiError, AppState};
use serde_json::{json, Value};

/// A temporary TFTP root with `local` and hosts h1 (one NIC) and h2 (two NICs).
fn pilot(dir: &Path, extra: &str) -> Pilot {
    std::fs::create_dir_all(dir.join("tftp/pxelinux.cfg/conf")).unwrap();
    std::fs::write(dir.join("tftp/pxelinux.cfg/conf/local"), "LOCALBOOT 0\n").unwrap();
    let yaml = format!(
        "hosts:\n  - name: h1\n    mac_addresses: [\"00:00:00:00:0b:01\"]\n  - name: h2\n    mac_addresses: [\"00:00:00:00:0b:02\", \"00:00:00:00:0c:02\"]\ntftp:\n  root: tftp\nconfiguration:\n  directory: tftp/pxelinux.cfg/conf\n{extra}"
    );
    std::fs::write(dir.join("pxe-pilot.yml"), yaml).unwrap();
    let (settings, _) = Settings::load(&dir.join("pxe-pilot.yml")).unwrap();
    Pilot::open(settings).unwrap()
}

/// A power backend that records what it is asked; `act` fails for h2.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Power for Recorder {
    fn overview<'a>(
        &'a self,
        hosts: &'a [&'a Host],
        query: bool,
    ) -> PowerFuture<'a, Vec<PowerReport>> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("overview {} query={query}", hosts.len()));
        let reports = hosts
            .iter()
            .map(|_| PowerReport {
                bmc_address: Some("10.0.0.1".into()),
                state: query.then_some(PowerState::On),
            })
            .collect();
        Box::pin(std::future::ready(reports))
    }

    fn act<'a>(
        &'a self,
        host: &'a Host,
        action: PowerAction,
    ) -> PowerFuture<'a, Result<(), ApiError>> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("{} {}", action.as_str(), host.name));
        let result = if host.name.as_str() == "h2" {
            Err(PilotError::Power(PowerError::NotConfigured { host: "h2".into() }).into())
        } else {
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }

    fn refresh(&self) -> PowerFuture<'_, Result<Vec<String>, ApiError>> {
        self.calls.lock().unwrap().push("refresh".into());
        Box::pin(std::future::ready(Ok(vec![])))
    }
}

#[actix_web::test]
async fn power_is_asked_only_as_the_request_says() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let state = AppState::new(pilot(dir.path(), "")).with_power(recorder.clone());
    let service = test::init_service(app(state)).await;

    let req = test::TestRequest::get()
        .uri("/v1/hosts?status=false")
        .to_request();
    let hosts: Value = test::call_and_read_body_json(&service, req).await;
    assert!(hosts[0].get("powerState").is_none(), "{hosts}");
    let req = test::TestRequest::get().uri("/hosts").to_request();
    let hosts: Value = test::call_and_read_body_json(&service, req).await;
    assert_eq!(hosts[1]["powerState"], "On");
    assert_eq!(hosts[1]["ipmi"], Value::Null, "no ipmi block in the file");

    let req = test::TestRequest::put()
        .uri("/v1/configurations/local/deploy")
        .set_payload(r#"{"hosts":[{"name":"h1","reboot":true},{"name":"h2","reboot":true}]}"#)
        .to_request();
    let answer: Value = test::call_and_read_body_json(&service, req).await;
    assert_eq!(
        answer,
        json!({"hosts": [
            {"name": "h1", "configuration": "local", "rebooted": "YES"},
            {"name": "h2", "configuration": "local", "rebooted": "ERROR"},
        ]})
    );
    let req = test::TestRequest::patch()
        .uri("/v1/hosts/h1/off")
        .to_request();
    assert_eq!(
        test::call_service(&service, req).await.status(),
        StatusCode::NO_CONTENT
    );
    let req = test::TestRequest::patch().uri("/refresh").to_request();
    assert_eq!(
        test::call_service(&service, req).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        *recorder.calls.lock().unwrap(),
        [
            "overview 2 query=false",
            "overview 2 query=true",
            "reboot h1",
            "reboot h2",
            "off h1",
            "refresh"
        ]
    );
}

#[actix_web::test]
async fn without_power_management_power_routes_are_409_and_unknown_hosts_404() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(pilot(dir.path(), "")).with_power(Arc::new(NoPower));
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
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(pilot(dir.path(), "server:\n  token: s3cret-t0ken\n"))
        .with_power(Arc::new(NoPower));
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
    assert!(!dir
        .path()
        .join("tftp/pxelinux.cfg/01-00-00-00-00-0b-01")
        .exists());

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
    assert!(dir
        .path()
        .join("tftp/pxelinux.cfg/01-00-00-00-00-0b-01")
        .is_symlink());
}

#[actix_web::test]
async fn a_body_over_64_kib_is_413_json() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(pilot(dir.path(), "")).with_power(Arc::new(NoPower));
    let service = test::init_service(app(state)).await;
    let padding = " ".repeat(pxe_pilot_server::body::BODY_LIMIT);
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
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(pilot(dir.path(), "")).with_power(Arc::new(NoPower));
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
