//! Why a request gave no usable answer ([`ClientError`]), its exit status, and the one-line
//! reasons it carries: the innermost cause of a transport error, the server's `message`.

use std::time::Duration;

use pxe_pilot_core::api::ErrorBody;
use reqwest::{Method, StatusCode, Url};

/// Why a request gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL given with `-s` cannot be used.
    #[error("{url:?} is not a usable server URL: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No answer: connection refused, name not resolved, timeout, connection lost.
    #[error("cannot reach the pxe-pilot server: {request}: {cause}{}", gave_up(*.tried_for))]
    Unreachable {
        /// The request: `GET http://...`.
        request: String,
        /// The lowest-level reason, as the system tells it.
        cause: String,
        /// True when no connection was made: the request surely never reached the server.
        unsent: bool,
        /// How long it was retried, if it was.
        tried_for: Option<Duration>,
    },
    /// The server refused the request (4xx): unknown name, conflict, bad token...
    #[error("{message} (HTTP {})", status.as_u16())]
    Refused {
        /// The answer's status.
        status: StatusCode,
        /// The server's `message`, on one line.
        message: String,
    },
    /// The server failed (5xx), and kept failing while retries were allowed.
    #[error("the pxe-pilot server failed: {message} (HTTP {}){}", status.as_u16(), gave_up(*.tried_for))]
    ServerFailed {
        /// The answer's status.
        status: StatusCode,
        /// The server's `message`, on one line.
        message: String,
        /// How long it was retried, if it was.
        tried_for: Option<Duration>,
    },
    /// A success answer that is not what this route returns (not a pxe-pilot server?).
    #[error("unexpected answer to {request}: {reason}")]
    BadAnswer {
        /// The request: `GET http://...`.
        request: String,
        /// What could not be understood.
        reason: String,
    },
}

fn gave_up(tried_for: Option<Duration>) -> String {
    match tried_for {
        Some(d) => format!(" (gave up after retrying for {}s)", d.as_secs()),
        None => String::new(),
    }
}

impl ClientError {
    /// The exit status for this error: 2 when the server could not be reached or kept
    /// failing (trying again later may work), 1 when it refused or the request cannot be made.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Unreachable { .. } | ClientError::ServerFailed { .. } => 2,
            ClientError::BadUrl { .. }
            | ClientError::Refused { .. }
            | ClientError::BadAnswer { .. } => 1,
        }
    }

    /// The HTTP status of a refusal (4xx), if this is one.
    pub fn refused_status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `error` with how long it was retried, for the message.
pub(super) fn with_tried_for(error: ClientError, tried: Option<Duration>) -> ClientError {
    match error {
        ClientError::Unreachable {
            request,
            cause,
            unsent,
            ..
        } => ClientError::Unreachable {
            request,
            cause,
            unsent,
            tried_for: tried,
        },
        ClientError::ServerFailed {
            status, message, ..
        } => ClientError::ServerFailed {
            status,
            message,
            tried_for: tried,
        },
        other => other,
    }
}

/// A transport error of `method url` as a [`ClientError::Unreachable`].
pub(super) fn unreachable(method: &Method, url: &Url, error: &reqwest::Error) -> ClientError {
    ClientError::Unreachable {
        request: format!("{method} {url}"),
        cause: root_cause(error),
        unsent: error.is_connect(),
        tried_for: None,
    }
}

/// The innermost reason of an error ("Connection refused (os error 111)"), which is what a
/// person can act on; reqwest's own text only repeats the URL.
pub(super) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    if error.is::<reqwest::Error>() && cause.is::<reqwest::Error>() {
        // No deeper reason: reqwest's own text is all there is.
        return text;
    }
    if let Some(e) = error.downcast_ref::<reqwest::Error>() {
        if e.is_timeout() && !text.contains("timed out") {
            return format!("timed out ({text})");
        }
    }
    text
}

/// The `message` of an error answer, on one line; the status' reason when there is none.
pub fn server_message(status: StatusCode, body: &str) -> String {
    let message = match serde_json::from_str::<ErrorBody>(body) {
        Ok(e) => e.message,
        Err(_) if !body.trim().is_empty() && body.len() <= 200 => body.trim().to_string(),
        Err(_) => status
            .canonical_reason()
            .unwrap_or("no explanation given")
            .to_string(),
    };
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
