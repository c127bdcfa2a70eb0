//! Redfish, the BMC's HTTPS API (DMTF DSP0266), for a host's `redfish:` block: the power state
//! is the system's `PowerState`; on, off and reboot are `Actions/ComputerSystem.Reset`
//! (`On`, `ForceOff`, `ForceRestart`); a network boot once is a `PATCH` of the system's `Boot`
//! (`BootSourceOverrideTarget: Pxe`, `BootSourceOverrideEnabled: Once`).
//!
//! Basic authentication, over HTTPS checked against the system's certificates (or `ca_file`),
//! unless `tls_verify: false` (BMCs often have a self-signed certificate). Every request has
//! the settings' command timeout. The password is only ever in the `Authorization` header: a
//! BMC's error message is passed on with it (and the header's base64 value) masked.
//!
//! Paths the BMC answers with (`@odata.id`, an action's `target`) are references resolved
//! against the BMC's base URL ([`Session::url`]): only an absolute path, or a URL of the same
//! scheme, host and port, is followed; anything else (`@127.0.0.2:8000/...` glued to the base
//! would send the credentials to another host) is refused.

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use ureq::config::RedirectAuthHeaders;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::Agent;

use crate::command::mask_secrets;
use crate::inventory::{BootMode, Redfish};

use super::driver::{BmcDriver, Call};
use super::{Netboot, PowerAction, PowerError, PowerState};

/// The path of the systems collection.
const SYSTEMS: &str = "/redfish/v1/Systems";

/// A connection to one BMC's Redfish service.
pub(super) struct Session<'a> {
    redfish: &'a Redfish,
    base: String,
    agent: Agent,
    authorization: String,
    /// What is masked in every message: the password and the header's base64 value.
    secrets: Vec<String>,
}

/// What went wrong talking to the BMC, as one line (the password masked).
pub(super) type Failure = String;

impl<'a> Session<'a> {
    /// A session with the BMC at `address` (`https://10.0.0.21`, `10.0.0.21:8443`, or the IP
    /// address the ARP table gave).
    pub(super) fn new(
        redfish: &'a Redfish,
        address: &str,
        timeout: Duration,
    ) -> Result<Self, Failure> {
        let base = if address.starts_with("https://") || address.starts_with("http://") {
            address.trim_end_matches('/').to_owned()
        } else {
            format!("https://{address}")
        };
        let mut tls = TlsConfig::builder().disable_verification(!redfish.tls_verify);
        if let Some(ca) = &redfish.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("cannot read ca_file {}: {e}", ca.display()))?;
            let certificate = Certificate::from_pem(&pem)
                .map_err(|e| format!("ca_file {} is not a PEM certificate: {e}", ca.display()))?;
            tls = tls.root_certs(RootCerts::Specific(std::sync::Arc::new(vec![certificate])));
        }
        let agent: Agent = Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .redirect_auth_headers(RedirectAuthHeaders::SameHost)
            .tls_config(tls.build())
            .build()
            .into();
        let credentials = format!("{}:{}", redfish.username, redfish.password);
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        let secrets = [redfish.password.clone(), encoded.clone()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Session {
            redfish,
            base,
            agent,
            authorization: format!("Basic {encoded}"),
            secrets,
        })
    }

    fn mask(&self, text: &str) -> String {
        mask_secrets(text, &self.secrets)
    }

    /// The URL of `reference` (a path the configuration or the BMC gave), resolved against
    /// the base URL: an absolute path (`/redfish/v1/...`), or an absolute URL of the same
    /// scheme, host and port as the base. Anything else leads elsewhere and is refused.
    fn url(&self, reference: &str) -> Result<String, Failure> {
        let refused = || {
            format!(
                "the BMC answered a path that leads away from {} ({:?}): refused, the credentials go to the BMC only",
                self.base,
                crate::text::for_log(reference, 128)
            )
        };
        if reference.starts_with('/') && !reference.starts_with("//") {
            let url = format!("{}{reference}", self.base);
            return match same_origin(&self.base, &url) {
                true => Ok(url),
                false => Err(refused()),
            };
        }
        if same_origin(&self.base, reference) {
            Ok(reference.to_owned())
        } else {
            Err(refused())
        }
    }

    /// Sends `method` to `path` with `body` (JSON) and reads the answer's JSON (`Null` when it
    /// has none); a failure says what the BMC said.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Failure> {
        let url = self.url(path)?;
        let what = format!("{method} {}", crate::text::for_log(path, 256));
        let sent = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("Authorization", &self.authorization)
                .header("Accept", "application/json")
                .call(),
            (_, body) => {
                let request = match method {
                    "PATCH" => self.agent.patch(&url),
                    _ => self.agent.post(&url),
                };
                request
                    .header("Authorization", &self.authorization)
                    .header("Accept", "application/json")
                    .send_json(body.unwrap_or(Value::Null))
            }
        };
        let mut response = sent.map_err(|e| {
            let hint = if e.to_string().contains("certificate") {
                ": give the BMC's CA certificate with `ca_file:`, or set `tls_verify: false`"
            } else {
                ""
            };
            self.mask(&format!("{what}: {e}{hint}"))
        })?;
        let status = response.status();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.mask(&format!("{what}: cannot read the answer: {e}")))?;
        if !status.is_success() {
            return Err(self.mask(&format!(
                "{what}: HTTP {}: {}",
                status.as_u16(),
                bmc_message(&text)
            )));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|e| self.mask(&format!("{what}: the answer is not JSON: {e}")))
    }

    /// The system's path: the configured one, or the only member of the systems collection.
    fn system(&self) -> Result<String, Failure> {
        if let Some(system) = &self.redfish.system {
            return Ok(system.clone());
        }
        let collection = self.call("GET", SYSTEMS, None)?;
        let members: Vec<&str> = collection["Members"]
            .as_array()
            .map(|m| m.iter().filter_map(|m| m["@odata.id"].as_str()).collect())
            .unwrap_or_default();
        match members.as_slice() {
            [only] => Ok((*only).to_owned()),
            [] => Err(format!("{SYSTEMS} lists no system")),
            several => Err(format!(
                "{SYSTEMS} lists {} systems ({}): name the host's with `system:`",
                several.len(),
                several.join(", ")
            )),
        }
    }

    /// The system's power state.
    pub(super) fn status(&self) -> Result<PowerState, Failure> {
        let system = self.call("GET", &self.system()?, None)?;
        match system["PowerState"].as_str() {
            Some("On") | Some("PoweringOn") => Ok(PowerState::On),
            Some("Off") | Some("PoweringOff") => Ok(PowerState::Off),
            other => Err(format!(
                "the system's PowerState is {other:?}, neither On nor Off"
            )),
        }
    }

    /// Resets the system: `On`, `ForceOff` or `ForceRestart`.
    pub(super) fn reset(&self, reset_type: &str) -> Result<(), Failure> {
        let path = self.system()?;
        let system = self.call("GET", &path, None)?;
        let target = system["Actions"]["#ComputerSystem.Reset"]["target"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{path}/Actions/ComputerSystem.Reset"));
        self.call("POST", &target, Some(json!({ "ResetType": reset_type })))
            .map(drop)
    }

    /// Makes the system's next boot a network boot, once. The system is read first and
    /// patched at the path it answers with (`@odata.id`): a BMC that redirects an alias of the
    /// system (sushy-emulator answers a name with a 307 to the UUID) would refuse a `PATCH`
    /// sent to the alias.
    pub(super) fn boot_pxe_once(&self, mode: Option<BootMode>) -> Result<(), Failure> {
        let alias = self.system()?;
        let system = self.call("GET", &alias, None)?;
        let path = system["@odata.id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or(alias);
        let mut boot = json!({
            "BootSourceOverrideTarget": "Pxe",
            "BootSourceOverrideEnabled": "Once",
        });
        match mode {
            Some(BootMode::Uefi) => boot["BootSourceOverrideMode"] = json!("UEFI"),
            Some(BootMode::Bios) => boot["BootSourceOverrideMode"] = json!("Legacy"),
            None => {}
        }
        self.call("PATCH", &path, Some(json!({ "Boot": boot })))
            .map(drop)
    }
}

/// The message of a Redfish error answer (`error.message`, then each extended info's
/// `Message`), or the start of the body.
fn bmc_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return body.chars().take(200).collect::<String>().trim().to_owned();
    };
    let error = &value["error"];
    let mut parts: Vec<String> = error["message"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    if let Some(infos) = error["@Message.ExtendedInfo"].as_array() {
        parts.extend(
            infos
                .iter()
                .filter_map(|i| i["Message"].as_str())
                .filter(|m| !parts.iter().any(|p| p == m))
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
    }
    if parts.is_empty() {
        "no error message".into()
    } else {
        parts.join("; ")
    }
}

/// Whether `url` has the scheme, host and port of `base` (ports written or implied alike),
/// and no user part (`https://bmc@elsewhere/` names another host).
fn same_origin(base: &str, url: &str) -> bool {
    use ureq::http::Uri;
    let (Ok(base), Ok(url)) = (base.parse::<Uri>(), url.parse::<Uri>()) else {
        return false;
    };
    let port = |uri: &Uri| {
        uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        })
    };
    let plain = |uri: &Uri| uri.authority().is_some_and(|a| !a.as_str().contains('@'));
    plain(&base)
        && plain(&url)
        && base.scheme() == url.scheme()
        && base.host().map(str::to_ascii_lowercase) == url.host().map(str::to_ascii_lowercase)
        && port(&base) == port(&url)
}

/// A host's `redfish:` block, as a [`BmcDriver`].
pub(super) struct RedfishDriver<'a>(pub &'a Redfish);

impl RedfishDriver<'_> {
    /// A session with the host's BMC, for `action`.
    fn session(&self, call: &Call<'_>, action: &'static str) -> Result<Session<'_>, PowerError> {
        Session::new(self.0, &call.address()?, call.timeout()).map_err(|m| failed(call, action, m))
    }
}

/// A Redfish failure of `action` on `call`'s host.
fn failed(call: &Call<'_>, action: &'static str, message: Failure) -> PowerError {
    PowerError::Redfish {
        host: call.host.name.to_string(),
        action,
        message,
    }
}

impl BmcDriver for RedfishDriver<'_> {
    fn status(&self, call: &Call<'_>) -> Result<PowerState, PowerError> {
        let session = self.session(call, "status")?;
        call.limited(|| session.status())
            .map_err(|m| failed(call, "status", m))
    }

    fn act(&self, call: &Call<'_>, action: PowerAction) -> Result<(), PowerError> {
        let name = action.as_str();
        let session = self.session(call, name)?;
        let reset = match action {
            PowerAction::On => "On",
            PowerAction::Off => "ForceOff",
            PowerAction::Reboot => "ForceRestart",
        };
        call.limited(|| session.reset(reset))
            .map_err(|m| failed(call, name, m))
    }

    fn netboot_once(&self, call: &Call<'_>) -> Result<Netboot, PowerError> {
        const ACTION: &str = "netboot once";
        let session = self.session(call, ACTION)?;
        call.limited(|| session.boot_pxe_once(call.host.boot_mode))
            .map_err(|m| failed(call, ACTION, m))?;
        Ok(Netboot::Once)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmc_error_messages_are_read_from_the_redfish_envelope() {
        let body = r#"{"error":{"code":"Base.1.0.GeneralError","message":"Incorrect username or password","@Message.ExtendedInfo":[{"MessageId":"Base.1.0.GeneralError"},{"Message":"Try again"}]}}"#;
        assert_eq!(
            bmc_message(body),
            "Incorrect username or password; Try again"
        );
        assert_eq!(bmc_message("<html>oops</html>"), "<html>oops</html>");
        assert_eq!(bmc_message("{}"), "no error message");
    }

    #[test]
    fn the_password_and_the_basic_header_value_are_masked() {
        let redfish = Redfish {
            address: crate::inventory::BmcAddress {
                mac_address: None,
                hostname: Some("10.0.0.21".into()),
                subnet: None,
            },
            username: "admin".into(),
            password: "s3cret".into(),
            system: None,
            tls_verify: true,
            ca_file: None,
        };
        let session = Session::new(&redfish, "10.0.0.21", Duration::from_secs(1)).unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode("admin:s3cret");
        let echoed = format!("401: bad header 'Authorization: Basic {encoded}' (password s3cret)");
        let masked = session.mask(&echoed);
        assert!(!masked.contains(&encoded), "{masked}");
        assert!(!masked.contains("s3cret"), "{masked}");
        assert!(masked.starts_with("401: bad header"), "{masked}");
    }

    #[test]
    fn only_references_to_the_bmc_itself_are_followed() {
        let base = "https://10.0.0.21";
        assert!(same_origin(base, "https://10.0.0.21/redfish/v1/Systems/1"));
        assert!(same_origin(base, "https://10.0.0.21:443/redfish/v1"));
        assert!(!same_origin(
            base,
            "https://10.0.0.21@127.0.0.2:8000/redfish/v1"
        ));
        assert!(!same_origin(base, "https://10.0.0.22/redfish/v1"));
        assert!(!same_origin(base, "http://10.0.0.21/redfish/v1"));
        assert!(!same_origin(base, "https://10.0.0.21:8443/redfish/v1"));
        assert!(!same_origin(base, "@127.0.0.2:8000/redfish/v1"));
    }
}
