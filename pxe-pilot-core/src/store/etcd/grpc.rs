//! The watch over etcd's gRPC API (`etcdserverpb.Watch/Watch`), not its JSON gateway: the
//! gateway turns every event into JSON for every watcher, and in deploys through two servers
//! that was a fifth of etcd's CPU (BENCHMARKS.md). The messages are declared here with
//! prost's derive, numbered as etcd's `rpc.proto` and `kv.proto` number them, and hold only
//! the fields the mirror reads (prost skips the others): no `protoc` at build time.
//!
//! A stream runs on a runtime of the calling thread's own (the watch thread), for at most its
//! span; HTTP/2 pings leave a member cut off silently within seconds.

use std::time::Duration;

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use super::client::CALL_TIMEOUT;

/// [`Event::kind`] of a delete (0 is a put).
pub const DELETE: i32 = 1;
/// The path of etcd's watch call.
const WATCH_PATH: &str = "/etcdserverpb.Watch/Watch";
/// How often the stream's connection is pinged, and how long a ping may go unanswered.
const PING_EVERY: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest message read (etcd's own client takes up to `i32::MAX` bytes: a watch that
/// catches up sends many revisions at once).
const MAX_MESSAGE: usize = i32::MAX as usize;

/// `WatchRequest`: only its `create_request` (field 1 of the `request_union` one-of).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchRequest {
    /// The watch to create.
    #[prost(message, optional, tag = "1")]
    pub create_request: Option<WatchCreateRequest>,
}

/// `WatchCreateRequest`: the keys from `key` to `range_end`, from `start_revision`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchCreateRequest {
    /// The first key.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// The end of the range (excluded).
    #[prost(bytes = "vec", tag = "2")]
    pub range_end: Vec<u8>,
    /// The first revision reported.
    #[prost(int64, tag = "3")]
    pub start_revision: i64,
}

/// `WatchResponse`: one batch of the stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchResponse {
    /// The cluster's revision when it was sent.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// Whether etcd cancelled the watch.
    #[prost(bool, tag = "4")]
    pub canceled: bool,
    /// Set when the revision asked for was compacted.
    #[prost(int64, tag = "5")]
    pub compact_revision: i64,
    /// Why etcd cancelled the watch.
    #[prost(string, tag = "6")]
    pub cancel_reason: String,
    /// The changes, in order.
    #[prost(message, repeated, tag = "11")]
    pub events: Vec<Event>,
}

/// `ResponseHeader`: its revision only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseHeader {
    /// The cluster's revision.
    #[prost(int64, tag = "3")]
    pub revision: i64,
}

/// `mvccpb.Event`: a put (type 0) or a delete (type 1) of a key.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// 0: put, 1: delete.
    #[prost(int32, tag = "1")]
    pub kind: i32,
    /// The key as it is after the change.
    #[prost(message, optional, tag = "2")]
    pub kv: Option<KeyValue>,
}

/// `mvccpb.KeyValue`: a key, its last change's revision and its value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    /// The key.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// The revision of its last change.
    #[prost(int64, tag = "3")]
    pub mod_revision: i64,
    /// The value (empty for a delete).
    #[prost(bytes = "vec", tag = "5")]
    pub value: Vec<u8>,
}

/// The TLS of the gRPC connections: the CA that signed the members, or the usual roots; and
/// the client's certificate.
#[derive(Clone, Default)]
pub struct Tls {
    /// The CA's PEM (`ca_file`).
    pub ca: Option<Vec<u8>>,
    /// The client's certificate and key, PEM (`cert_file`, `key_file`).
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl Tls {
    fn config(&self) -> ClientTlsConfig {
        let config = ClientTlsConfig::new();
        let config = match &self.ca {
            Some(pem) => config.ca_certificate(Certificate::from_pem(pem)),
            None => config.with_webpki_roots(),
        };
        match &self.identity {
            Some((cert, key)) => config.identity(Identity::from_pem(cert, key)),
            None => config,
        }
    }
}

/// How a stream ended.
#[derive(Debug)]
pub enum Ended {
    /// Its span passed, `each` asked to stop, or etcd or the connection ended it: open it
    /// again from where it was.
    Done,
    /// No stream: etcd could not be reached, or refused the call.
    Failed(String),
}

/// Watches what `create` names through `endpoint` (`http://` or `https://`) for at most
/// `span`, handing each message to `each` until it returns `false`. `token` is etcd's
/// authentication token, when it has users; connecting and the call's answer each take at
/// most [`CALL_TIMEOUT`].
pub fn watch(
    endpoint: &str,
    tls: &Tls,
    token: Option<&str>,
    create: WatchCreateRequest,
    span: Duration,
    each: impl FnMut(WatchResponse) -> bool,
) -> Ended {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(stream(endpoint, tls, token, create, span, each)),
        Err(e) => Ended::Failed(format!("cannot start the watch's runtime: {e}")),
    }
}

async fn stream(
    endpoint: &str,
    tls: &Tls,
    token: Option<&str>,
    create: WatchCreateRequest,
    span: Duration,
    mut each: impl FnMut(WatchResponse) -> bool,
) -> Ended {
    use tokio::time::{timeout, timeout_at, Instant};
    use tokio_stream::StreamExt;

    let deadline = Instant::now() + span;
    let mut target = match Endpoint::from_shared(endpoint.to_owned()) {
        Ok(target) => target
            .connect_timeout(CALL_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(PING_EVERY)
            .keep_alive_timeout(PING_TIMEOUT),
        Err(e) => return Ended::Failed(format!("{endpoint} is not a URL: {e}")),
    };
    if endpoint.starts_with("https://") {
        target = match target.tls_config(tls.config()) {
            Ok(target) => target,
            Err(e) => return Ended::Failed(format!("TLS to {endpoint}: {e}")),
        };
    }
    let channel = match timeout(CALL_TIMEOUT, target.connect()).await {
        Ok(Ok(channel)) => channel,
        Ok(Err(e)) => return Ended::Failed(describe(&e)),
        Err(_) => {
            return Ended::Failed(format!("no connection within {}s", CALL_TIMEOUT.as_secs()))
        }
    };
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(MAX_MESSAGE);
    // The request side stays open: etcd keeps the watch while it is.
    let create = WatchRequest {
        create_request: Some(create),
    };
    let requests = tokio_stream::once(create).chain(tokio_stream::pending());
    let mut request = tonic::Request::new(requests);
    if let Some(token) = token {
        match token.parse() {
            Ok(value) => {
                request.metadata_mut().insert("token", value);
            }
            Err(_) => return Ended::Failed("etcd's token is not a header value".into()),
        }
    }
    let call = async {
        grpc.ready()
            .await
            .map_err(|e| format!("the connection is not ready: {e}"))?;
        grpc.streaming(
            request,
            http::uri::PathAndQuery::from_static(WATCH_PATH),
            tonic_prost::ProstCodec::<WatchRequest, WatchResponse>::default(),
        )
        .await
        .map_err(|status| status.message().to_owned())
    };
    let mut messages = match timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(response)) => response.into_inner(),
        Ok(Err(why)) => return Ended::Failed(why),
        Err(_) => {
            return Ended::Failed(format!(
                "no answer within {}s (a member without quorum?)",
                CALL_TIMEOUT.as_secs()
            ))
        }
    };
    loop {
        match timeout_at(deadline, messages.message()).await {
            Ok(Ok(Some(message))) => {
                if !each(message) {
                    return Ended::Done;
                }
            }
            // The span, the stream's end or its break: the caller opens it again.
            Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return Ended::Done,
        }
    }
}

/// A transport error with its causes (tonic's own text is only "transport error").
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_create_request_is_encoded_as_etcd_numbers_its_fields() {
        let request = WatchRequest {
            create_request: Some(WatchCreateRequest {
                key: b"/a".to_vec(),
                range_end: b"/b".to_vec(),
                start_revision: 7,
            }),
        };
        // Field 1 (create_request, length 10): field 1 "/a", field 2 "/b", field 3 7.
        assert_eq!(
            request.encode_to_vec(),
            [0x0a, 10, 0x0a, 2, b'/', b'a', 0x12, 2, b'/', b'b', 0x18, 7]
        );
    }

    #[test]
    fn a_response_is_read_with_the_fields_it_does_not_declare_skipped() {
        // header {cluster_id 9, revision 42}, watch_id 1, events [{type DELETE, kv {key "/k",
        // create_revision 3, mod_revision 40, version 2, value "v"}}].
        let bytes = [
            0x0a, 4, 0x08, 9, 0x18, 42, // header
            0x10, 1, // watch_id
            0x5a, 17, 0x08, 1, 0x12, 13, 0x0a, 2, b'/', b'k', 0x10, 3, 0x18, 40, 0x20, 2, 0x2a, 1,
            b'v', // one event
        ];
        let response = WatchResponse::decode(&bytes[..]).expect("decodes");
        assert_eq!(response.header.map(|h| h.revision), Some(42));
        assert_eq!(response.events.len(), 1);
        assert_eq!(response.events[0].kind, 1);
        let kv = response.events[0].kv.clone().expect("a key");
        assert_eq!(
            (kv.key, kv.mod_revision, kv.value),
            (b"/k".to_vec(), 40, b"v".to_vec())
        );
    }
}
