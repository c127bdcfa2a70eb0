//! A typed client of the pxe-pilot HTTP API (`/v1/...`), over blocking reqwest.
//!
//! Each method is one route of the API and returns the decoded answer together with the
//! server's JSON text ([`Answer`]), so that `-o json` prints exactly what the server said.
//! Reads and deploys are idempotent: they are retried on connection errors and 5xx answers,
//! with backoff, for as long as [`RetryPolicy::retry_for`] allows, each retry announced on
//! stderr. A refused request (4xx) is never retried, nor a power command (PATCH), which may
//! have acted before its answer was lost.

use std::time::{Duration, Instant};

use pxe_pilot_core::api::{
    BootloaderView, ConfigurationContent, ConfigurationView, DeployRequest, DeployResponse,
    EventView, HostView, UnknownMachineView, VersionView,
};
use pxe_pilot_core::{MacAddress, PowerAction};
use reqwest::blocking::Response;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

mod error;
mod url;

use error::{root_cause, unreachable, with_tried_for};
pub use error::{server_message, ClientError};
pub use url::base_url;

/// How long to wait for a TCP connection before counting the server as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take in all (a refresh scans whole subnets).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// A decoded answer and the JSON text it was decoded from.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    /// The answer, typed.
    pub value: T,
    /// The server's JSON, as sent (empty for an answer without a body).
    pub json: String,
}

/// When to retry an idempotent request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long after the first attempt a new attempt may still start; zero tries once.
    pub retry_for: Duration,
}

impl RetryPolicy {
    /// The first wait between two attempts; each next one is twice as long, up to
    /// [`RetryPolicy::MAX_DELAY`].
    pub const FIRST_DELAY: Duration = Duration::from_millis(500);
    /// The longest wait between two attempts.
    pub const MAX_DELAY: Duration = Duration::from_secs(5);

    /// How long to wait before attempt `attempt + 1` (attempts count from 1) when `elapsed`
    /// has passed since the first: `None` when the time allowed is used up. The last wait is
    /// cut so that the last attempt starts right at the limit.
    pub fn delay(&self, attempt: u32, elapsed: Duration) -> Option<Duration> {
        let remaining = self.retry_for.checked_sub(elapsed)?;
        if remaining.is_zero() {
            return None;
        }
        let doubled = Self::FIRST_DELAY.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        Some(doubled.min(Self::MAX_DELAY).min(remaining))
    }
}

/// What the client needs besides the server URL.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Sent as `Authorization: Bearer <token>` with every request.
    pub token: Option<String>,
    /// When to retry reads and deploys.
    pub retry: Option<RetryPolicy>,
    /// Print every request and its answer's status on stderr.
    pub debug: bool,
}

/// When a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// On a connection error or a 5xx answer: the request is idempotent.
    Always,
    /// Only when it surely never reached the server (no connection was made): a request
    /// that acts (a reboot) must not act twice because its answer was lost.
    Unsent,
    /// Never.
    Never,
}

/// A connection to one pxe-pilot server.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::blocking::Client,
    base: Url,
    token: Option<String>,
    retry: RetryPolicy,
    debug: bool,
}

impl Client {
    /// A client of the server at `server` (`http://pxe:3478`; `pxe:3478` means the same).
    pub fn new(server: &str, options: ClientOptions) -> Result<Self, ClientError> {
        let base = base_url(server)?;
        #[cfg(feature = "https")]
        {
            // Several calls would find it installed already: that is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("pxe-pilot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::BadUrl {
                url: server.to_string(),
                reason: format!("cannot set up an HTTP client: {}", root_cause(&e)),
            })?;
        Ok(Client {
            http,
            base,
            token: options.token,
            retry: options.retry.unwrap_or(RetryPolicy {
                retry_for: Duration::ZERO,
            }),
            debug: options.debug,
        })
    }

    /// The server's base URL, as used.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `GET /v1/version`: the server's name and version.
    pub fn version(&self) -> Result<Answer<VersionView>, ClientError> {
        let url = self.endpoint(&["version"]);
        self.get_json(url)
    }

    /// `GET /v1/bootloaders`.
    pub fn bootloaders(&self) -> Result<Answer<Vec<BootloaderView>>, ClientError> {
        let url = self.endpoint(&["bootloaders"]);
        self.get_json(url)
    }

    /// `GET /v1/configurations`.
    pub fn configurations(&self) -> Result<Answer<Vec<ConfigurationView>>, ClientError> {
        let url = self.endpoint(&["configurations"]);
        self.get_json(url)
    }

    /// `GET /v1/configurations/{name}`: the configuration file's text.
    pub fn configuration(&self, name: &str) -> Result<Answer<ConfigurationContent>, ClientError> {
        let url = self.endpoint(&["configurations", name]);
        self.get_json(url)
    }

    /// `PUT /v1/configurations/{name}/deploy`.
    pub fn deploy(
        &self,
        configuration: &str,
        request: &DeployRequest,
    ) -> Result<Answer<DeployResponse>, ClientError> {
        let url = self.endpoint(&["configurations", configuration, "deploy"]);
        let body = serde_json::to_vec(request).map_err(|e| ClientError::BadAnswer {
            request: format!("PUT {url}"),
            reason: format!("cannot encode the request: {e}"),
        })?;
        // A deploy is idempotent, unless it reboots: that one is sent again only when it
        // surely never arrived.
        let retry = if request.hosts.iter().any(|h| h.reboot) {
            Retry::Unsent
        } else {
            Retry::Always
        };
        let (json, url) = self.send(Method::PUT, url, Some(body), retry)?;
        decode(Method::PUT, url, json)
    }

    /// `GET /v1/hosts`, with each host's power state.
    pub fn hosts(&self) -> Result<Answer<Vec<HostView>>, ClientError> {
        let url = self.endpoint(&["hosts"]);
        self.get_json(url)
    }

    /// `GET /v1/hosts/{name}/events?limit=N`: the host's events, newest first.
    pub fn host_events(
        &self,
        name: &str,
        limit: usize,
    ) -> Result<Answer<Vec<EventView>>, ClientError> {
        let mut url = self.endpoint(&["hosts", name, "events"]);
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string());
        self.get_json(url)
    }

    /// `GET /v1/unknown-machines`: the machines seen booting that no host owns.
    pub fn unknown_machines(&self) -> Result<Answer<Vec<UnknownMachineView>>, ClientError> {
        self.get_json(self.endpoint(&["unknown-machines"]))
    }

    /// `GET /v1/hosts?mac=...&status=false`: the host that owns `mac`, `None` if no host does.
    ///
    /// A server that ignores `mac` (the original PXE Pilot) answers the list of all hosts:
    /// the host is then looked for in the list.
    pub fn host_by_mac(&self, mac: &MacAddress) -> Result<Option<HostView>, ClientError> {
        let mut url = self.endpoint(&["hosts"]);
        url.query_pairs_mut()
            .append_pair("mac", &mac.to_string())
            .append_pair("status", "false");
        let (json, url) = match self.send(Method::GET, url, None, Retry::Always) {
            Ok(answer) => answer,
            Err(e) if e.refused_status() == Some(StatusCode::NOT_FOUND) => return Ok(None),
            Err(e) => return Err(e),
        };
        let value: serde_json::Value = decode(Method::GET, url.clone(), json)?.value;
        if value.is_array() {
            let hosts: Vec<HostView> = from_value(Method::GET, url, value)?;
            Ok(hosts.into_iter().find(|h| h.mac_addresses.contains(mac)))
        } else {
            from_value(Method::GET, url, value).map(Some)
        }
    }

    /// `PATCH /v1/hosts/{name}/{on|off|reboot}`; never retried.
    pub fn power(&self, name: &str, action: PowerAction) -> Result<(), ClientError> {
        let url = self.endpoint(&["hosts", name, action.as_str()]);
        self.send(Method::PATCH, url, None, Retry::Never)
            .map(|_| ())
    }

    /// `PATCH /v1/refresh`: scan the management subnets; never retried.
    pub fn refresh(&self) -> Result<(), ClientError> {
        let url = self.endpoint(&["refresh"]);
        self.send(Method::PATCH, url, None, Retry::Never)
            .map(|_| ())
    }

    /// `base` + `/v1/` + the segments, each percent-encoded as one segment.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        url
    }

    fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<Answer<T>, ClientError> {
        let (json, url) = self.send(Method::GET, url, None, Retry::Always)?;
        decode(Method::GET, url, json)
    }

    /// Sends one request, retried as `retry` says and the policy allows; the body of a
    /// success answer, and the URL, for error messages.
    fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        retry: Retry,
    ) -> Result<(String, Url), ClientError> {
        let start = Instant::now();
        let mut attempt: u32 = 1;
        loop {
            let failure = match self.attempt(&method, &url, body.as_deref()) {
                Ok(response) => match self.read(&method, &url, response) {
                    Ok(text) => return Ok((text, url)),
                    Err(e) => e,
                },
                Err(e) => e,
            };
            let retryable = match retry {
                // A server that is unavailable for now (503: starting, shutting down, its
                // store away; 502/504: a proxy in between) is asked again; a 500 is a bug
                // of the server, and the same request would fail the same way.
                Retry::Always => match &failure {
                    ClientError::Unreachable { .. } => true,
                    ClientError::ServerFailed { status, .. } => {
                        matches!(status.as_u16(), 502..=504)
                    }
                    _ => false,
                },
                Retry::Unsent => matches!(failure, ClientError::Unreachable { unsent: true, .. }),
                Retry::Never => false,
            };
            let delay = if retryable {
                self.retry.delay(attempt, start.elapsed())
            } else {
                None
            };
            let Some(delay) = delay else {
                let tried_for = (attempt > 1).then(|| start.elapsed());
                return Err(with_tried_for(failure, tried_for));
            };
            eprintln!(
                "pxe-pilot: {failure}; retry {attempt} in {:.1}s (--retry-for {})",
                delay.as_secs_f64(),
                self.retry.retry_for.as_secs()
            );
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
    ) -> Result<Response, ClientError> {
        let mut request = self.http.request(method.clone(), url.clone());
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let started = Instant::now();
        let result = request.send();
        if self.debug {
            match &result {
                Ok(r) => eprintln!(
                    "pxe-pilot: {method} {url} -> {} ({} ms)",
                    r.status(),
                    started.elapsed().as_millis()
                ),
                Err(e) => eprintln!("pxe-pilot: {method} {url} -> {}", root_cause(e)),
            }
        }
        result.map_err(|e| unreachable(method, url, &e))
    }

    /// The body of a success answer; the server's message as an error otherwise.
    fn read(&self, method: &Method, url: &Url, response: Response) -> Result<String, ClientError> {
        let status = response.status();
        let text = response.text().map_err(|e| unreachable(method, url, &e))?;
        if status.is_success() {
            return Ok(text);
        }
        let message = server_message(status, &text);
        if status.is_server_error() {
            Err(ClientError::ServerFailed {
                status,
                message,
                tried_for: None,
            })
        } else if status.is_client_error() {
            Err(ClientError::Refused { status, message })
        } else {
            Err(ClientError::BadAnswer {
                request: format!("{method} {url}"),
                reason: format!("HTTP {status}"),
            })
        }
    }
}

fn decode<T: DeserializeOwned>(
    method: Method,
    url: Url,
    json: String,
) -> Result<Answer<T>, ClientError> {
    match serde_json::from_str(&json) {
        Ok(value) => Ok(Answer { value, json }),
        Err(e) => Err(ClientError::BadAnswer {
            request: format!("{method} {url}"),
            reason: format!("not the JSON expected ({e})"),
        }),
    }
}

fn from_value<T: DeserializeOwned>(
    method: Method,
    url: Url,
    value: serde_json::Value,
) -> Result<T, ClientError> {
    serde_json::from_value(value).map_err(|e| ClientError::BadAnswer {
        request: format!("{method} {url}"),
        reason: format!("not the JSON expected ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert_eq!(base_url("pxe:3478").unwrap().as_str(), "http://pxe:3478/");
        assert_eq!(
            base_url("http://10.0.0.1:3478/").unwrap().as_str(),
            "http://10.0.0.1:3478/"
        );
        assert!(base_url("ftp://pxe").is_err());
        assert!(base_url("http://").is_err());
        assert!(base_url("http://pxe:3478/?a=b").is_err());
        #[cfg(not(feature = "https"))]
        {
            let e = base_url("https://pxe").unwrap_err().to_string();
            assert!(e.contains("without https support"), "{e}");
        }
    }

    #[test]
    fn endpoints_encode_names_as_one_segment_and_keep_a_prefix() {
        let client = Client::new("http://pxe:3478", ClientOptions::default()).unwrap();
        assert_eq!(
            client
                .endpoint(&["configurations", "a b/../c", "deploy"])
                .as_str(),
            "http://pxe:3478/v1/configurations/a%20b%2F..%2Fc/deploy"
        );
        let client = Client::new("http://proxy/pxe-pilot/", ClientOptions::default()).unwrap();
        assert_eq!(
            client.endpoint(&["hosts"]).as_str(),
            "http://proxy/pxe-pilot/v1/hosts"
        );
    }

    #[test]
    fn retries_back_off_and_stop_at_the_limit() {
        let policy = RetryPolicy {
            retry_for: Duration::from_secs(10),
        };
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        assert_eq!(policy.delay(1, s(0)), Some(ms(500)));
        assert_eq!(policy.delay(2, s(0)), Some(s(1)));
        assert_eq!(policy.delay(3, s(0)), Some(s(2)));
        assert_eq!(policy.delay(4, s(0)), Some(s(4)));
        assert_eq!(policy.delay(5, s(0)), Some(s(5)));
        assert_eq!(policy.delay(40, s(0)), Some(s(5)));
        assert_eq!(policy.delay(5, ms(8500)), Some(ms(1500)));
        assert_eq!(policy.delay(5, s(10)), None);
        assert_eq!(policy.delay(5, s(11)), None);
        let never = RetryPolicy {
            retry_for: Duration::ZERO,
        };
        assert_eq!(never.delay(1, Duration::ZERO), None);
    }

    #[test]
    fn server_messages_fit_on_one_line() {
        let s = StatusCode::NOT_FOUND;
        assert_eq!(
            server_message(s, r#"{"message":"no host \"h9\"\nknown"}"#),
            "no host \"h9\" known"
        );
        assert_eq!(server_message(s, ""), "Not Found");
        assert_eq!(server_message(s, "plain text\n"), "plain text");
        assert_eq!(server_message(s, &"x".repeat(500)), "Not Found");
    }

    #[test]
    fn exit_codes() {
        let unreachable = ClientError::Unreachable {
            request: "GET http://x/".into(),
            cause: "Connection refused".into(),
            unsent: true,
            tried_for: Some(Duration::from_secs(3)),
        };
        assert_eq!(unreachable.exit_code(), 2);
        assert_eq!(
            unreachable.to_string(),
            "cannot reach the pxe-pilot server: GET http://x/: Connection refused \
             (gave up after retrying for 3s)"
        );
        let refused = ClientError::Refused {
            status: StatusCode::CONFLICT,
            message: "h1 is named twice".into(),
        };
        assert_eq!(refused.exit_code(), 1);
        assert_eq!(refused.to_string(), "h1 is named twice (HTTP 409)");
        let failed = ClientError::ServerFailed {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "busy".into(),
            tried_for: None,
        };
        assert_eq!(failed.exit_code(), 2);
    }
}
