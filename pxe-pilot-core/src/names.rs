//! Names that parse once: a configuration's name and a host's name.
//!
//! Both arrive from requests and from the configuration file; once parsed they are safe to use
//! as a single file-name component, so no request can name a path outside the catalogue.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest configuration name accepted, in bytes.
pub const MAX_CONFIG_NAME_LEN: usize = 128;
/// The longest host name accepted, in bytes.
pub const MAX_HOST_NAME_LEN: usize = 253;

/// Why a text is not an acceptable name; the message quotes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}: {reason}")]
pub struct NameError {
    /// `"configuration name"` or `"host name"`.
    pub what: &'static str,
    /// The text that was given (cut to 64 characters).
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn check(what: &'static str, text: &str, max: usize) -> Result<(), NameError> {
    let reason = if text.is_empty() {
        Some("it is empty")
    } else if text.len() > max {
        Some(if max == MAX_CONFIG_NAME_LEN {
            "it is longer than 128 bytes"
        } else {
            "it is longer than 253 bytes"
        })
    } else if text.contains('/') || text.contains('\\') {
        Some("it must not contain '/' or '\\'")
    } else if text.contains("..") {
        Some("it must not contain '..'")
    } else if text.starts_with('.') {
        Some("it must not start with '.'")
    } else if text.chars().any(char::is_control) {
        Some("it must not contain NUL or control characters")
    } else if text.trim() != text {
        Some("it must not start or end with spaces")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(NameError {
            what,
            input: text.chars().take(64).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses a name, refusing empty, over-long, path-like or control-character text.
            pub fn parse(text: &str) -> Result<Self, NameError> {
                check($what, text, $max)?;
                Ok($name(text.to_owned()))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// The name of a configuration of the catalogue (`local`, `ubuntu-16.04`): one file name.
    ConfigName,
    "configuration name",
    MAX_CONFIG_NAME_LEN
);

name_type!(
    /// The name of a host of the inventory (`h1`, `node-12.rack3`).
    HostName,
    "host name",
    MAX_HOST_NAME_LEN
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_names_parse() {
        for text in [
            "local",
            "ubuntu-16.04",
            "grml-2017.05",
            "a",
            "Ubuntu 22.04 (server)",
        ] {
            assert_eq!(
                ConfigName::parse(text).map(|n| n.to_string()),
                Ok(text.into())
            );
        }
        assert!(HostName::parse("node-12.rack3").is_ok());
    }

    #[test]
    fn path_like_and_control_names_are_refused() {
        let long = "x".repeat(MAX_CONFIG_NAME_LEN + 1);
        for text in [
            "",
            ".",
            "..",
            "../etc",
            "a/b",
            "/etc/passwd",
            "a\\b",
            "a..b",
            ".hidden",
            "a\0b",
            "a\nb",
            "\u{7f}",
            " local",
            "local ",
            long.as_str(),
        ] {
            let err = ConfigName::parse(text).expect_err(text);
            assert!(
                err.to_string().starts_with("invalid configuration name"),
                "{err}"
            );
        }
        assert!(ConfigName::parse(&"x".repeat(MAX_CONFIG_NAME_LEN)).is_ok());
    }

    proptest! {
        #[test]
        fn an_accepted_name_is_one_safe_path_component(text in "\\PC{0,40}") {
            if let Ok(name) = ConfigName::parse(&text) {
                let path = std::path::Path::new(name.as_str());
                let components: Vec<_> = path.components().collect();
                prop_assert_eq!(components.len(), 1);
                prop_assert!(matches!(components[0], std::path::Component::Normal(_)));
            }
        }
    }
}
