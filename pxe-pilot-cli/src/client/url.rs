//! The server URL given with `-s`.

use reqwest::Url;

use super::ClientError;

/// The base URL of a server given as `-s`: `http://` is assumed without a scheme; only
/// `http` (and `https` when built with it) are accepted.
pub fn base_url(server: &str) -> Result<Url, ClientError> {
    let bad = |reason: String| ClientError::BadUrl {
        url: server.to_string(),
        reason,
    };
    let text = server.trim();
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| bad(e.to_string()))?;
    match url.scheme() {
        "http" => {}
        "https" if cfg!(feature = "https") => {}
        "https" => {
            return Err(bad(
                "this pxe-pilot was built without https support (cargo feature `https`); \
                 PXE servers are usually reached over plain http://"
                    .to_string(),
            ))
        }
        other => return Err(bad(format!("the scheme must be http, not {other}"))),
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(bad("a server URL looks like http://HOST:PORT".to_string()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a server URL has no ?query or #fragment".to_string()));
    }
    Ok(url)
}
