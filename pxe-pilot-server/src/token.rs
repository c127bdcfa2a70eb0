//! The bearer token of `server.token`, a plain value: kept as its SHA-256 digest, compared in
//! constant time (neither where the digests differ nor the token's length shows in the time
//! an answer takes), never logged nor returned.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The server's bearer token, kept as its SHA-256 digest; its `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token([u8; 32]);

impl Token {
    /// A token; `None` for an empty one (an empty token would protect nothing).
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let token = token.into();
        (!token.is_empty()).then(|| Token(Sha256::digest(token.as_bytes()).into()))
    }

    /// Whether `candidate` is this token: the digests, of the same size whatever the
    /// lengths, are compared in constant time.
    pub fn matches(&self, candidate: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        self.0.ct_eq(&digest).into()
    }

    /// Checks a request's `Authorization` header value (`Bearer <token>`, scheme in any case).
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<(), ApiError> {
        let Some(value) = authorization else {
            return Err(ApiError::Unauthorized(
                "this server needs a token for changes: send `Authorization: Bearer <token>` (pxe-pilot: PXE_PILOT_TOKEN or --token-file)".into(),
            ));
        };
        let value = std::str::from_utf8(value).unwrap_or_default().trim();
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::Unauthorized(
                    "the Authorization header must read `Bearer <token>`".into(),
                ))
            }
        };
        if self.matches(token) {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(
                "the bearer token is wrong: use the server.token of the server's configuration file".into(),
            ))
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let token = Token::new("s3cret").unwrap();
        assert!(token.check(Some(b"Bearer s3cret")).is_ok());
        assert!(token.check(Some(b"bearer  s3cret ")).is_ok());
        assert!(token.check(Some(b"Bearer s3cre")).is_err());
        assert!(token.check(Some(b"Bearer s3cret2")).is_err());
        assert!(token.check(Some(b"Basic s3cret")).is_err());
        assert!(token.check(Some(b"s3cret")).is_err());
        assert!(token.check(None).is_err());
        assert!(Token::new("").is_none());
        assert_eq!(format!("{token:?}"), "Token(***)");
    }
}
