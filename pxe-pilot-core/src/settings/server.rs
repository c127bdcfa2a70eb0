//! Validation of the `server` block: where it listens, its token, its limits and who may do
//! what without the token.

use std::net::IpAddr;
use std::path::Path;

use crate::names::ConfigName;

use super::check::{default_local, line_of, Checker};
use super::raw::{RawServer, Text};
use super::{
    BootTrust, ServerSettings, SettingsError, DEFAULT_MAX_CONNECTIONS_PER_PEER, DEFAULT_PORT,
};

impl Checker<'_> {
    pub(super) fn server(
        &self,
        raw: RawServer,
        base: &Path,
    ) -> Result<ServerSettings, SettingsError> {
        let listen = match raw.listen {
            Some(text) => text.value.parse().map_err(|_| {
                self.invalid(
                    line_of(&text),
                    "server.listen".into(),
                    format!(
                        "{:?} is not an IP address (e.g. 0.0.0.0 or 127.0.0.1)",
                        text.value
                    ),
                )
            })?,
            None => IpAddr::from([0, 0, 0, 0]),
        };
        let token = match (raw.token.filter(|t| !t.is_empty()), raw.token_file) {
            (Some(_), Some(file)) => {
                return Err(self.invalid(
                    line_of(&file),
                    "server.token_file".into(),
                    "server.token is set too: keep one of them".into(),
                ))
            }
            (Some(token), None) => Some(token),
            (None, Some(file)) => Some(self.token_file(&file, base)?),
            (None, None) => None,
        };
        let name = |text: &Text, key: &str| {
            ConfigName::parse(&text.value)
                .map_err(|e| self.invalid(line_of(text), key.to_owned(), e.to_string()))
        };
        let self_service = match &raw.self_service {
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, t)| name(t, &format!("server.self_service[{i}]")))
                .collect::<Result<_, _>>()?,
            None => vec![default_local()],
        };
        let once_fallback = match &raw.once_fallback {
            Some(text) => name(text, "server.once_fallback")?,
            None => default_local(),
        };
        let boot_trust = match &raw.boot_trust {
            None => BootTrust::Open,
            Some(text) => match text.value.as_str() {
                "open" => BootTrust::Open,
                "neighbour" | "neighbor" => BootTrust::Neighbour,
                other => {
                    return Err(self.invalid(
                        line_of(text),
                        "server.boot_trust".into(),
                        format!("{other:?} is not a trust rule: use open (a peer the neighbour table does not know counts) or neighbour (only a peer the table gives as the host counts)"),
                    ))
                }
            },
        };
        let origins = raw
            .origins
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, text)| {
                let origin = text.value.trim_end_matches('/');
                let valid = origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
                if valid {
                    Ok(origin.to_ascii_lowercase())
                } else {
                    Err(self.invalid(
                        line_of(text),
                        format!("server.origins[{i}]"),
                        format!("{:?} is not an origin: write scheme://host[:port], e.g. http://pxe.example.com:3478", text.value),
                    ))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let max_connections_per_peer = match &raw.max_connections_per_peer {
            None => DEFAULT_MAX_CONNECTIONS_PER_PEER,
            Some(n) if n.value >= 1 => n.value.min(65_536) as usize,
            Some(n) => {
                return Err(self.invalid(
                    Some(n.referenced.line() as usize),
                    "server.max_connections_per_peer".into(),
                    "must be at least 1".into(),
                ))
            }
        };
        Ok(ServerSettings {
            listen,
            port: raw.port.unwrap_or(DEFAULT_PORT),
            token,
            self_service,
            once_fallback,
            boot_trust,
            origins,
            max_connections_per_peer,
        })
    }

    /// The token in `server.token_file`: its first line, which must not be empty.
    pub(super) fn token_file(&self, file: &Text, base: &Path) -> Result<String, SettingsError> {
        let path = base.join(&file.value);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            self.invalid(
                line_of(file),
                "server.token_file".into(),
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let token = text.lines().next().unwrap_or("").trim();
        if token.is_empty() {
            return Err(self.invalid(
                line_of(file),
                "server.token_file".into(),
                format!(
                    "{} is empty: write the token on its first line",
                    path.display()
                ),
            ));
        }
        Ok(token.to_owned())
    }
}
