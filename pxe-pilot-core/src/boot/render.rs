//! Rendering a catalogue file for the host that fetches it over HTTP: Jinja syntax
//! (minijinja) with the host's values. A file without template syntax is served byte for
//! byte; TFTP keeps serving the raw file through the links.
//!
//! Variables: `host.name`, `host.mac` (the MAC address that asked, `aa:bb:cc:dd:ee:ff`),
//! `host.macs` (all of the host's, the first one first), `host.vars.NAME` (the host's `vars:`),
//! `server.url` (`http://ADDRESS:PORT`, as the host reached the server). An undefined
//! variable is an error, not an empty text: a typo must not boot a host with half a kernel
//! command line.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The values a boot script is rendered with.
#[derive(Debug, Clone, Serialize)]
pub struct BootContext {
    /// The host's values.
    pub host: HostValues,
    /// The server's values.
    pub server: ServerValues,
}

/// `host.*` in a boot script.
#[derive(Debug, Clone, Serialize)]
pub struct HostValues {
    /// `host.name`.
    pub name: String,
    /// `host.mac`: the MAC address that asked.
    pub mac: String,
    /// `host.macs`: every MAC address of the host, the first one first.
    pub macs: Vec<String>,
    /// `host.vars`: the host's `vars:` of the configuration file.
    pub vars: BTreeMap<String, String>,
}

/// `server.*` in a boot script.
#[derive(Debug, Clone, Serialize)]
pub struct ServerValues {
    /// `server.url`: `http://ADDRESS:PORT` as the host reached the server.
    pub url: String,
}

/// A template that does not parse or render; the message names the file and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {file}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct TemplateError {
    /// The catalogue file (`ipxe/installer`).
    pub file: String,
    /// The line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// True when `bytes` hold template syntax (`{{` or `{%`) and are rendered.
pub fn is_template(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b"{{" || w == b"{%")
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env
}

fn template_error(file: &str, error: &minijinja::Error) -> TemplateError {
    let message = match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    };
    TemplateError {
        file: file.to_owned(),
        line: error.line(),
        message,
    }
}

/// Checks that the text of `file` renders for a host (for `GET /v1/configurations/{name}`):
/// it parses, and names only variables a host has. `host.vars` is probed with a value for
/// any name (each host has its own), the rest must exist.
pub fn check(file: &str, text: &str) -> Result<(), TemplateError> {
    if !is_template(text.as_bytes()) {
        return Ok(());
    }
    #[derive(Debug)]
    struct AnyVars;
    impl minijinja::value::Object for AnyVars {
        fn get_value(
            self: &std::sync::Arc<Self>,
            _key: &minijinja::Value,
        ) -> Option<minijinja::Value> {
            Some(minijinja::Value::from("value"))
        }
    }
    let probe = minijinja::context! {
        host => minijinja::context! {
            name => "host",
            mac => "52:54:00:00:00:01",
            macs => vec!["52:54:00:00:00:01"],
            vars => minijinja::Value::from_object(AnyVars),
        },
        server => minijinja::context! { url => "http://pxe:3478" },
    };
    let env = environment();
    env.template_from_str(text)
        .and_then(|t| t.render(probe))
        .map(drop)
        .map_err(|e| template_error(file, &e))
}

/// `bytes` of `file` for the host of `context`: rendered when they hold template syntax,
/// unchanged otherwise.
pub fn render(file: &str, bytes: Vec<u8>, context: &BootContext) -> Result<Vec<u8>, TemplateError> {
    if !is_template(&bytes) {
        return Ok(bytes);
    }
    let text = String::from_utf8(bytes).map_err(|e| TemplateError {
        file: file.to_owned(),
        line: None,
        message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })?;
    let env = environment();
    let template = env
        .template_from_str(&text)
        .map_err(|e| template_error(file, &e))?;
    template
        .render(context)
        .map(String::into_bytes)
        .map_err(|e| template_error(file, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> BootContext {
        BootContext {
            host: HostValues {
                name: "web-1".into(),
                mac: "52:54:00:12:34:02".into(),
                macs: vec!["52:54:00:12:34:01".into(), "52:54:00:12:34:02".into()],
                vars: BTreeMap::from([("disk".into(), "/dev/sda".into())]),
            },
            server: ServerValues {
                url: "http://10.0.2.2:3478".into(),
            },
        }
    }

    fn rendered(text: &str) -> Result<String, TemplateError> {
        render("ipxe/t", text.as_bytes().to_vec(), &context())
            .map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn every_variable_is_rendered() {
        assert_eq!(rendered("{{ host.name }}").unwrap(), "web-1");
        assert_eq!(rendered("{{ host.mac }}").unwrap(), "52:54:00:12:34:02");
        assert_eq!(
            rendered("{{ host.macs | join(',') }}").unwrap(),
            "52:54:00:12:34:01,52:54:00:12:34:02"
        );
        assert_eq!(rendered("{{ host.macs[0] }}").unwrap(), "52:54:00:12:34:01");
        assert_eq!(rendered("{{ host.vars.disk }}").unwrap(), "/dev/sda");
        assert_eq!(
            rendered("{{ server.url }}/files\n").unwrap(),
            "http://10.0.2.2:3478/files\n"
        );
        assert_eq!(
            rendered("{% if host.vars.disk %}disk={{ host.vars.disk }}{% endif %}").unwrap(),
            "disk=/dev/sda"
        );
    }

    #[test]
    fn a_file_without_template_syntax_is_served_byte_for_byte() {
        for bytes in [
            b"#!ipxe\nchain ${base}/x ${mac:hexhyp}\n\n".to_vec(),
            b"menuentry x { linux /vmlinuz }\n".to_vec(),
            vec![0xff, 0xfe, b'{', b' ', b'{', b'}'],
            Vec::new(),
        ] {
            assert_eq!(render("f", bytes.clone(), &context()).unwrap(), bytes);
        }
    }

    #[test]
    fn a_template_error_names_the_file_and_the_line() {
        let error = rendered("#!ipxe\necho ok\nkernel {{ host.nmae }}\n").unwrap_err();
        assert_eq!(error.file, "ipxe/t");
        assert_eq!(error.line, Some(3));
        assert!(
            error.to_string().starts_with("template ipxe/t line 3: "),
            "{error}"
        );
        let error = check("ipxe/t", "#!ipxe\n{% if %}\n").unwrap_err();
        assert_eq!(error.line, Some(2), "{error}");
        assert!(check("ipxe/t", "no syntax at all").is_ok());
        let error = check("ipxe/t", "#!ipxe\necho ok\nkernel {{ host.nmae }}\n").unwrap_err();
        assert_eq!(error.line, Some(3), "{error}");
        assert!(check(
            "ipxe/t",
            "{{ host.vars.anything }} {{ server.url }} {{ host.macs | join(',') }}"
        )
        .is_ok());
    }
}
