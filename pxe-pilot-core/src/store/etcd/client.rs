//! A client of etcd's v3 JSON gateway (`/v3/kv/range`, `/v3/kv/txn`, `/v3/lease/...`,
//! `/v3/auth/authenticate`), over the core's blocking `ureq` with the same TLS (rustls) as the
//! Redfish client; keys and values travel in base64, revisions as decimal strings. The watch
//! alone goes over etcd's gRPC API (the module `grpc`; no `protoc` at build time either).
//!
//! Each call tries the configured endpoints in turn, from the last one that answered, each
//! within [`CALL_TIMEOUT`]; when none answers the error names etcd and every endpoint.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
use ureq::Agent;

use super::grpc;
use crate::settings::EtcdSettings;

/// How long one request to one member may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one watch stream stays open before it is opened again from where it was: a
/// member cut off silently is left within that time.
pub const WATCH_SPAN: Duration = Duration::from_secs(20);

/// How many connections to etcd are kept open for the next requests.
const MAX_CONNECTIONS: usize = 64;

/// etcd did not answer, or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdError(pub String);

impl std::fmt::Display for EtcdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key, its value and its revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    /// The key, prefix included.
    pub key: String,
    /// The value.
    pub value: Vec<u8>,
    /// The revision of its last change.
    pub mod_revision: i64,
}

/// What [`Etcd::transact`] answered.
#[derive(Debug, Clone)]
pub struct Transacted {
    /// Whether every compare held (and the ops were made).
    pub succeeded: bool,
    /// The revision etcd answered at (the one committed, on success).
    pub revision: i64,
    /// On success, each op's key as it was before (when asked); else each read key.
    pub keys: Vec<Option<Kv>>,
}

/// One change a watch reports.
#[derive(Debug, Clone)]
pub struct Change {
    /// The key and, for a put, its new value (empty for a delete).
    pub kv: Kv,
    /// Whether the key was deleted.
    pub deleted: bool,
}

/// One batch of a watch stream.
#[derive(Debug)]
pub enum Watched {
    /// Changes, and the revision they reach.
    Changes(Vec<Change>, i64),
    /// The revision asked for was compacted: read everything again.
    Compacted,
}

/// The cluster as the configuration file names it.
pub struct Etcd {
    endpoints: Vec<String>,
    agent: Agent,
    tls: grpc::Tls,
    credentials: Option<(String, String)>,
    token: Mutex<Option<String>>,
    current: AtomicUsize,
}

impl std::fmt::Debug for Etcd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Etcd")
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

/// The first key after every key that starts with `prefix` (etcd's `range_end`).
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn revision(value: &Value) -> i64 {
    match value {
        Value::String(text) => text.parse().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn kv(value: &Value) -> Option<Kv> {
    let key = B64.decode(value["key"].as_str()?).ok()?;
    let data = match value["value"].as_str() {
        Some(text) => B64.decode(text).ok()?,
        None => Vec::new(),
    };
    Some(Kv {
        key: String::from_utf8(key).ok()?,
        value: data,
        mod_revision: revision(&value["mod_revision"]),
    })
}

/// A put of `value` at `key`, for [`Etcd::txn`].
pub fn put(key: &str, value: &[u8]) -> Value {
    json!({"request_put": {"key": b64(key.as_bytes()), "value": b64(value)}})
}

/// A put of `value` at `key` whose answer carries the key as it was, for
/// [`Etcd::transact`].
pub fn put_returning(key: &str, value: &[u8]) -> Value {
    json!({"request_put": {"key": b64(key.as_bytes()), "value": b64(value), "prev_kv": true}})
}

/// A delete of `key` whose answer carries the key as it was, for [`Etcd::transact`].
pub fn delete_returning(key: &str) -> Value {
    json!({"request_delete_range": {"key": b64(key.as_bytes()), "prev_kv": true}})
}

/// A delete of `key`, for [`Etcd::txn`].
pub fn delete(key: &str) -> Value {
    json!({"request_delete_range": {"key": b64(key.as_bytes())}})
}

/// A delete of the keys from `from` (included) to `to` (excluded), for [`Etcd::transact`].
pub fn delete_range(from: &str, to: &str) -> Value {
    json!({"request_delete_range": {"key": b64(from.as_bytes()), "range_end": b64(to.as_bytes())}})
}

/// A put of `value` at `key` attached to lease `lease`: the key goes when the lease expires.
pub fn put_leased(key: &str, value: &[u8], lease: i64) -> Value {
    json!({"request_put": {"key": b64(key.as_bytes()), "value": b64(value), "lease": lease.to_string()}})
}

/// "`key` was last changed at `revision`" (0: `key` does not exist), for [`Etcd::txn`].
pub fn unchanged_since(key: &str, revision: i64) -> Value {
    json!({"key": b64(key.as_bytes()), "result": "EQUAL", "target": "MOD", "mod_revision": revision.to_string()})
}

/// "`key` holds `value`", for [`Etcd::txn`].
pub fn holds(key: &str, value: &[u8]) -> Value {
    json!({"key": b64(key.as_bytes()), "result": "EQUAL", "target": "VALUE", "value": b64(value)})
}

/// An answer's status, its JSON (`Null` when it is not JSON) and what it says went wrong:
/// its `message`, else its text, with what to do about the gateway's known refusals.
fn read_answer(mut answer: ureq::http::Response<ureq::Body>) -> (u16, Value, String) {
    let status = answer.status().as_u16();
    let text = answer
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .unwrap_or_default();
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let mut message = match value["message"].as_str().or(value["error"].as_str()) {
        Some(message) => message.to_owned(),
        None => crate::text::for_log(text.trim(), 200),
    };
    if message.contains("CommonName") {
        message.push_str(
            " (etcd's HTTP gateway refuses a client certificate with a CommonName: give pxe-pilot one without, e.g. -subj /O=pxe-pilot, and an etcd user with username + password_file)",
        );
    }
    if message.is_empty() {
        message = format!("HTTP {status} without a message");
    }
    (status, value, message)
}

impl Etcd {
    /// A client of the members `settings` names (nothing is sent yet).
    pub fn new(settings: &EtcdSettings) -> Result<Etcd, EtcdError> {
        let mut tls = TlsConfig::builder();
        let mut grpc_tls = grpc::Tls::default();
        if let Some(ca) = &settings.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| EtcdError(format!("cannot read ca_file {}: {e}", ca.display())))?;
            let certificate = Certificate::from_pem(&pem).map_err(|e| {
                EtcdError(format!(
                    "ca_file {} is not a PEM certificate: {e}",
                    ca.display()
                ))
            })?;
            tls = tls.root_certs(RootCerts::Specific(std::sync::Arc::new(vec![certificate])));
            grpc_tls.ca = Some(pem);
        }
        if let Some((cert, key)) = &settings.client_cert {
            let read = |path: &std::path::Path| {
                std::fs::read(path)
                    .map_err(|e| EtcdError(format!("cannot read {}: {e}", path.display())))
            };
            let (cert_pem, key_pem) = (read(cert)?, read(key)?);
            let certificate = Certificate::from_pem(&cert_pem).map_err(|e| {
                EtcdError(format!(
                    "cert_file {} is not a PEM certificate: {e}",
                    cert.display()
                ))
            })?;
            let private = PrivateKey::from_pem(&key_pem).map_err(|e| {
                EtcdError(format!(
                    "key_file {} is not a PEM private key: {e}",
                    key.display()
                ))
            })?;
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&[certificate], private)));
            grpc_tls.identity = Some((cert_pem, key_pem));
        }
        let agent: Agent = Agent::config_builder()
            .timeout_global(Some(CALL_TIMEOUT))
            // Every concurrent change keeps its connection (ureq keeps 3 by default: the
            // others were opened again for each request, a thread and a handshake each).
            .max_idle_connections(MAX_CONNECTIONS)
            .max_idle_connections_per_host(MAX_CONNECTIONS)
            .http_status_as_error(false)
            .tls_config(tls.build())
            .build()
            .into();
        Ok(Etcd {
            endpoints: settings.endpoints.clone(),
            agent,
            tls: grpc_tls,
            credentials: settings.credentials.clone(),
            token: Mutex::new(None),
            current: AtomicUsize::new(0),
        })
    }

    /// The token of etcd's authentication, asked for once and again when etcd forgets it.
    fn token(&self, endpoint: &str, fresh: bool) -> Result<Option<String>, String> {
        let Some((name, password)) = &self.credentials else {
            return Ok(None);
        };
        let mut token = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some(known), false) = (token.as_ref(), fresh) {
            return Ok(Some(known.clone()));
        }
        let answer = self
            .agent
            .post(format!("{endpoint}/v3/auth/authenticate"))
            .send_json(json!({"name": name, "password": password}))
            .map_err(|e| e.to_string())?;
        let (_, body, message) = read_answer(answer);
        let Some(new) = body["token"].as_str() else {
            return Err(format!("etcd refused the user {name:?}: {message}"));
        };
        *token = Some(new.to_owned());
        Ok(token.clone())
    }

    /// POSTs `body` to `path` on the first member that answers; its JSON answer.
    fn call(&self, path: &str, body: &Value) -> Result<Value, EtcdError> {
        let count = self.endpoints.len();
        let start = self.current.load(Ordering::Relaxed);
        let mut failures: Vec<String> = Vec::new();
        for step in 0..count {
            let index = (start + step) % count;
            let endpoint = &self.endpoints[index];
            for fresh in [false, true] {
                let token = match self.token(endpoint, fresh) {
                    Ok(token) => token,
                    Err(why) => {
                        failures.push(format!("{endpoint}: {why}"));
                        break;
                    }
                };
                let mut request = self.agent.post(format!("{endpoint}{path}"));
                if let Some(token) = &token {
                    request = request.header("Authorization", token);
                }
                let answer = match request.send_json(body) {
                    Ok(answer) => answer,
                    Err(ureq::Error::Timeout(_)) => {
                        failures.push(format!(
                            "{endpoint}: no answer within {}s (a member without quorum?)",
                            CALL_TIMEOUT.as_secs()
                        ));
                        break;
                    }
                    Err(e) => {
                        failures.push(format!("{endpoint}: {e}"));
                        break;
                    }
                };
                let (status, value, message) = read_answer(answer);
                if status == 200 {
                    self.current.store(index, Ordering::Relaxed);
                    return Ok(value);
                }
                if message.contains("token") && !fresh && token.is_some() {
                    continue;
                }
                failures.push(format!("{endpoint}: HTTP {status} {message}"));
                break;
            }
        }
        Err(EtcdError(format!(
            "etcd does not answer: {}",
            match failures.is_empty() {
                true => "no endpoint".to_owned(),
                false => failures.join("; "),
            }
        )))
    }

    /// The keys from `key` (or, with `prefix`, every key starting with it), at most `limit`
    /// (0: all), in key order (`descending`: reversed); and the cluster's revision.
    pub fn range(
        &self,
        key: &str,
        prefix: bool,
        limit: usize,
        descending: bool,
    ) -> Result<(Vec<Kv>, i64), EtcdError> {
        self.range_between(key, prefix.then(|| prefix_end(key)), limit, descending)
    }

    /// The keys from `from` to `end` (excluded; `None`: `from` alone).
    pub fn range_between(
        &self,
        from: &str,
        end: Option<Vec<u8>>,
        limit: usize,
        descending: bool,
    ) -> Result<(Vec<Kv>, i64), EtcdError> {
        let mut body = json!({"key": b64(from.as_bytes()), "limit": limit.to_string()});
        if let Some(end) = end {
            body["range_end"] = Value::String(b64(&end));
        }
        if descending {
            body["sort_order"] = Value::String("DESCEND".into());
            body["sort_target"] = Value::String("KEY".into());
        }
        let answer = self.call("/v3/kv/range", &body)?;
        let kvs = answer["kvs"]
            .as_array()
            .map(|all| all.iter().filter_map(kv).collect())
            .unwrap_or_default();
        Ok((kvs, revision(&answer["header"]["revision"])))
    }

    /// Every key starting with `prefix` as it was at revision `at` (0: now); and the revision
    /// read.
    pub fn range_at(&self, prefix: &str, at: i64) -> Result<(Vec<Kv>, i64), EtcdError> {
        let body = json!({
            "key": b64(prefix.as_bytes()),
            "range_end": b64(&prefix_end(prefix)),
            "revision": at.to_string(),
        });
        let answer = self.call("/v3/kv/range", &body)?;
        let kvs = answer["kvs"]
            .as_array()
            .map(|all| all.iter().filter_map(kv).collect())
            .unwrap_or_default();
        let read = match at {
            0 => revision(&answer["header"]["revision"]),
            at => at,
        };
        Ok((kvs, read))
    }

    /// How many keys start with `prefix`.
    pub fn count(&self, prefix: &str) -> Result<usize, EtcdError> {
        let body = json!({"key": b64(prefix.as_bytes()), "range_end": b64(&prefix_end(prefix)), "count_only": true});
        let answer = self.call("/v3/kv/range", &body)?;
        Ok(usize::try_from(revision(&answer["count"])).unwrap_or(0))
    }

    /// A transaction: when every `compare` holds, the `success` operations, else none;
    /// whether it succeeded and the revision it committed at.
    pub fn txn(&self, compare: Vec<Value>, success: Vec<Value>) -> Result<(bool, i64), EtcdError> {
        let body = json!({"compare": compare, "success": success, "failure": []});
        let answer = self.call("/v3/kv/txn", &body)?;
        Ok((
            answer["succeeded"].as_bool().unwrap_or(false),
            revision(&answer["header"]["revision"]),
        ))
    }

    /// A new lease of `ttl` seconds; its id.
    pub fn grant_lease(&self, ttl: i64) -> Result<i64, EtcdError> {
        let answer = self.call(
            "/v3/lease/grant",
            &json!({"TTL": ttl.to_string(), "ID": "0"}),
        )?;
        match revision(&answer["ID"]) {
            0 => Err(EtcdError(format!(
                "etcd granted no lease: {}",
                answer["error"].as_str().unwrap_or("no id in its answer")
            ))),
            id => Ok(id),
        }
    }

    /// Renews lease `id` for its whole TTL again; false when etcd no longer holds it (it
    /// expired: etcd was away, or this server stopped, for longer than the TTL).
    pub fn keep_lease(&self, id: i64) -> Result<bool, EtcdError> {
        // The gateway's keep-alive stream: one request, one answer, `TTL` absent (0) when
        // etcd holds no such lease.
        let answer = self.call("/v3/lease/keepalive", &json!({"ID": id.to_string()}))?;
        Ok(revision(&answer["result"]["TTL"]) > 0)
    }

    /// Ends lease `id` now: its keys go.
    pub fn revoke_lease(&self, id: i64) -> Result<(), EtcdError> {
        self.call("/v3/lease/revoke", &json!({"ID": id.to_string()}))
            .map(|_| ())
    }

    /// One transaction in one round trip: when every `compare` holds, `ops` (puts and
    /// deletes), else reads of `reads`. On success, each op's key as it was before when the
    /// op asked for it ([`put_returning`], [`delete_returning`]; `None`: it did not exist,
    /// or was not asked for); on failure, each read key as it is (`None`: absent).
    pub fn transact(
        &self,
        compare: Vec<Value>,
        ops: Vec<Value>,
        reads: &[&str],
    ) -> Result<Transacted, EtcdError> {
        let count = ops.len();
        let failure: Vec<Value> = reads
            .iter()
            .map(|key| json!({"request_range": {"key": b64(key.as_bytes())}}))
            .collect();
        let body = json!({"compare": compare, "success": ops, "failure": failure});
        let answer = self.call("/v3/kv/txn", &body)?;
        let succeeded = answer["succeeded"].as_bool().unwrap_or(false);
        let keys = match succeeded {
            true => (0..count)
                .map(|i| {
                    let response = &answer["responses"][i];
                    match &response["response_put"]["prev_kv"] {
                        Value::Null => kv(&response["response_delete_range"]["prev_kvs"][0]),
                        found => kv(found),
                    }
                })
                .collect(),
            false => (0..reads.len())
                .map(|i| kv(&answer["responses"][i]["response_range"]["kvs"][0]))
                .collect(),
        };
        Ok(Transacted {
            succeeded,
            revision: revision(&answer["header"]["revision"]),
            keys,
        })
    }

    /// Watches every key starting with `prefix` from revision `from`, handing each batch to
    /// `each` until it returns `false`, the stream ends ([`WATCH_SPAN`]) or fails. The watch
    /// goes over etcd's gRPC API (the module `grpc`), the rest over its JSON gateway.
    pub fn watch(
        &self,
        prefix: &str,
        from: i64,
        mut each: impl FnMut(Watched) -> bool,
    ) -> Result<(), EtcdError> {
        let index = self.current.load(Ordering::Relaxed) % self.endpoints.len().max(1);
        let endpoint = &self.endpoints[index];
        let fail = |why: String| {
            self.current
                .store((index + 1) % self.endpoints.len().max(1), Ordering::Relaxed);
            EtcdError(format!("the etcd watch through {endpoint} stopped: {why}"))
        };
        let token = self.token(endpoint, false).map_err(&fail)?;
        let mut cancelled = None;
        let create = grpc::WatchCreateRequest {
            key: prefix.as_bytes().to_vec(),
            range_end: prefix_end(prefix),
            start_revision: from,
        };
        let ended = grpc::watch(
            endpoint,
            &self.tls,
            token.as_deref(),
            create,
            WATCH_SPAN,
            |message| {
                if message.compact_revision > 0 {
                    each(Watched::Compacted);
                    return false;
                }
                if message.canceled {
                    // A member without a leader cancels its watches: try again, from where
                    // it was.
                    cancelled = Some(match message.cancel_reason.is_empty() {
                        true => "no reason given".to_owned(),
                        false => message.cancel_reason,
                    });
                    return false;
                }
                let reached = message.header.map_or(0, |header| header.revision);
                let changes = message
                    .events
                    .into_iter()
                    .filter_map(|event| {
                        let kv = event.kv?;
                        Some(Change {
                            kv: Kv {
                                key: String::from_utf8(kv.key).ok()?,
                                value: kv.value,
                                mod_revision: kv.mod_revision,
                            },
                            deleted: event.kind == grpc::DELETE,
                        })
                    })
                    .collect();
                each(Watched::Changes(changes, reached))
            },
        );
        if let Some(reason) = cancelled {
            return Err(fail(format!("etcd cancelled it ({reason})")));
        }
        match ended {
            grpc::Ended::Done => Ok(()),
            grpc::Ended::Failed(why) => Err(fail(why)),
        }
    }
}
