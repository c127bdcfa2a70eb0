//! The OpenAPI description (`GET /v1/openapi.json`) against the real server: every route it
//! documents is answered by the server (under `/v1` and without the prefix), every route the
//! server answers is documented, and the methods match. The server has no route table to
//! read, so the routes it answers are what [`ROUTES`] lists: each is probed, and a probe of
//! every other method on the same path must answer 405 with an `Allow` header that names only
//! documented methods.

use crate::common;
use std::collections::BTreeSet;

use common::{Fixture, TestServer, H1};
use reqwest::blocking::Client;
use reqwest::header::ALLOW;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Every route of the server, as (method, path template).
const ROUTES: [(&str, &str); 21] = [
    ("GET", "/v1/healthcheck"),
    ("GET", "/v1/version"),
    ("GET", "/v1/status"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/client/pxe-pilot"),
    ("GET", "/v1/bootloaders"),
    ("GET", "/v1/configurations"),
    ("GET", "/v1/configurations/{name}"),
    ("PUT", "/v1/configurations/{name}/deploy"),
    ("GET", "/v1/hosts"),
    ("GET", "/v1/hosts/{name}"),
    ("DELETE", "/v1/hosts/{name}/configuration"),
    ("PATCH", "/v1/hosts/{name}/reboot"),
    ("PATCH", "/v1/hosts/{name}/on"),
    ("PATCH", "/v1/hosts/{name}/off"),
    ("PATCH", "/v1/refresh"),
    ("GET", "/v1/boot.ipxe"),
    ("GET", "/v1/boot/{bootloader}/{mac}"),
    ("GET", "/v1/hosts/{name}/events"),
    ("GET", "/v1/events"),
    ("GET", "/v1/unknown-machines"),
];

const METHODS: [&str; 6] = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"];

/// The (method, path) pairs of the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .filter(|k| METHODS.iter().any(|m| m.eq_ignore_ascii_case(k)))
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

/// A concrete path for a template: `{name}` is a host or configuration that exists.
fn concrete(template: &str) -> String {
    let template = template
        .replace("{bootloader}", "ipxe")
        .replace("{mac}", "52-54-00-12-34-56");
    if template.starts_with("/v1/configurations/") {
        template.replace("{name}", "local")
    } else {
        template.replace("{name}", H1)
    }
}

/// Whether the server has a route for `method` on `path`: anything but its "no route" 404
/// and its 405.
fn answered(client: &Client, server: &TestServer, method: &str, path: &str) -> (bool, StatusCode) {
    let response = client
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            server.url(path),
        )
        .body(r#"{"hosts":[{"name":"h1"}]}"#)
        .send()
        .expect("a request");
    let status = response.status();
    let text = response.text().unwrap_or_default();
    let no_route = status == StatusCode::NOT_FOUND && text.contains("no route");
    (
        !no_route && status != StatusCode::METHOD_NOT_ALLOWED,
        status,
    )
}

#[test]
fn every_route_is_documented_and_every_documented_route_is_answered() {
    let world = Fixture::new().bootloaders().build();
    let server = world.serve();
    let client = Client::new();
    let response = client.get(server.url("/v1/openapi.json")).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: Value = response.json().expect("the document is JSON");
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let documented = documented(&doc);
    assert_eq!(
        documented.difference(&listed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not a route of this test's list"
    );
    assert_eq!(
        listed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "answered by the server but not documented"
    );

    for (method, template) in &documented {
        let path = concrete(template);
        for path in [path.clone(), path.trim_start_matches("/v1").to_owned()] {
            let (ok, status) = answered(&client, &server, method, &path);
            assert!(
                ok,
                "{method} {path}: documented, but the server answers {status}"
            );
        }
        // The other methods on this path are 405 and name only documented methods.
        for other in METHODS
            .iter()
            .filter(|m| **m != method.as_str() && **m != "HEAD")
        {
            let response = client
                .request(
                    Method::from_bytes(other.as_bytes()).unwrap(),
                    server.url(&concrete(template)),
                )
                .send()
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{other} {template} answered: an undocumented method?"
            );
            let allow = response.headers()[ALLOW].to_str().unwrap().to_owned();
            for allowed in allow.split(',').map(str::trim) {
                assert!(
                    documented.contains(&(allowed.to_owned(), template.clone())),
                    "{template} allows {allowed}, which the document does not describe"
                );
            }
        }
    }

    // A path of no route stays a JSON 404, so the probe above can tell.
    let (ok, status) = answered(&client, &server, "GET", "/v1/nothing-here");
    assert!(!ok && status == StatusCode::NOT_FOUND);
}

#[test]
fn the_bootloader_view_and_host_schemas_match_the_answers() {
    let world = Fixture::new().bootloaders().build();
    let server = world.serve();
    let client = Client::new();
    let doc: Value = client
        .get(server.url("/v1/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    let bootloaders: Value = client
        .get(server.url("/v1/bootloaders"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let properties = schemas["BootloaderView"]["properties"].as_object().unwrap();
    for bootloader in bootloaders.as_array().unwrap() {
        for key in bootloader.as_object().unwrap().keys() {
            assert!(properties.contains_key(key), "BootloaderView lacks {key}");
        }
    }
    let hosts: Value = client
        .get(server.url("/v1/hosts?status=false"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let properties = schemas["HostView"]["properties"].as_object().unwrap();
    for host in hosts.as_array().unwrap() {
        for key in host.as_object().unwrap().keys() {
            assert!(properties.contains_key(key), "HostView lacks {key}");
        }
    }
}
