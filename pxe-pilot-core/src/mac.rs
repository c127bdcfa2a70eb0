//! MAC addresses: parsed once from any common spelling, printed in the forms PXE bootloaders use.
//!
//! A [`MacAddress`] is always valid once you hold one. PXELINUX looks for
//! `pxelinux.cfg/01-<mac with dashes, lowercase>`, which [`MacAddress::entry_name`] gives.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Ethernet (EUI-48) MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddress([u8; 6]);

/// Why a text is not a MAC address; the message quotes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address {input:?}: expected six hexadecimal bytes such as aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF or aabb.ccdd.eeff")]
pub struct MacAddressError {
    /// The text that was given (cut to 64 characters).
    pub input: String,
}

impl MacAddress {
    /// Builds a MAC address from its six bytes.
    pub const fn new(bytes: [u8; 6]) -> Self {
        MacAddress(bytes)
    }

    /// The six bytes of the address.
    pub const fn bytes(&self) -> [u8; 6] {
        self.0
    }

    /// Parses `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff`, `aabbccddeeff`, and
    /// the short groups some tools print (`0:1a:2:3:4:5`). Surrounding spaces are ignored.
    pub fn parse(input: &str) -> Result<Self, MacAddressError> {
        parse_groups(input.trim()).ok_or_else(|| MacAddressError {
            input: input.chars().take(64).collect(),
        })
    }

    /// The name of this MAC's PXELINUX entry: `01-aa-bb-cc-dd-ee-ff` (ARP type 1, Ethernet).
    pub fn entry_name(&self) -> String {
        let mut out = String::with_capacity(20);
        out.push_str("01-");
        out.push_str(self.spelled(b'-').as_str());
        out
    }

    /// The address with `sep` between bytes, lowercase (`aa-bb-...` for `'-'`).
    pub fn with_separator(&self, sep: char) -> String {
        if sep.is_ascii() {
            return self.spelled(sep as u8).as_str().to_owned();
        }
        let mut out = String::with_capacity(17 + 5 * sep.len_utf8());
        for (i, pair) in self.spelled(b':').as_str().split(':').enumerate() {
            if i > 0 {
                out.push(sep);
            }
            out.push_str(pair);
        }
        out
    }

    /// The address as twelve lowercase hexadecimal digits, no separator (`aabbccddeeff`).
    pub fn hex(&self) -> String {
        let mut out = String::with_capacity(12);
        for byte in self.0 {
            out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(HEX_DIGITS[usize::from(byte & 0xf)]));
        }
        out
    }

    /// The address spelled with the ASCII separator `sep`, without allocating (the listing
    /// and the JSON of every host print it).
    fn spelled(&self, sep: u8) -> Spelled {
        let mut text = [sep; 17];
        for (i, byte) in self.0.iter().enumerate() {
            text[3 * i] = HEX_DIGITS[usize::from(byte >> 4)];
            text[3 * i + 1] = HEX_DIGITS[usize::from(byte & 0xf)];
        }
        Spelled(text)
    }

    /// The MAC address whose entry is named `name` (`01-aa-bb-cc-dd-ee-ff`), if it is one:
    /// exactly the spelling [`MacAddress::entry_name`] writes (lowercase, dashes). Reads the
    /// bytes in place: the listing calls it for every entry of the folder.
    pub fn from_entry_name(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("01-")?.as_bytes();
        if rest.len() != 17 {
            return None;
        }
        let mut bytes = [0u8; 6];
        for (i, byte) in bytes.iter_mut().enumerate() {
            if i > 0 && rest[3 * i - 1] != b'-' {
                return None;
            }
            *byte = lower_hex_digit(rest[3 * i])? << 4 | lower_hex_digit(rest[3 * i + 1])?;
        }
        Some(MacAddress(bytes))
    }
}

/// The lowercase hexadecimal digits, by value.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// A MAC address spelled with separators: 17 ASCII bytes on the stack.
struct Spelled([u8; 17]);

impl Spelled {
    fn as_str(&self) -> &str {
        // Only ASCII digits and an ASCII separator are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The value of a lowercase hexadecimal digit (entry names are written lowercase).
fn lower_hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn parse_groups(s: &str) -> Option<MacAddress> {
    let bytes = if s.contains([':', '-']) {
        let sep = if s.contains(':') { ':' } else { '-' };
        let groups: Vec<&str> = s.split(sep).collect();
        if groups.len() != 6 || groups.iter().any(|g| g.is_empty() || g.len() > 2) {
            return None;
        }
        groups
            .iter()
            .map(|g| hex_value(g))
            .collect::<Option<Vec<u8>>>()?
    } else if s.contains('.') {
        let groups: Vec<&str> = s.split('.').collect();
        if groups.len() != 3 || groups.iter().any(|g| g.len() != 4) {
            return None;
        }
        hex_bytes(&groups.concat())?
    } else if s.len() == 12 {
        hex_bytes(s)?
    } else {
        return None;
    };
    let array: [u8; 6] = bytes.try_into().ok()?;
    Some(MacAddress(array))
}

fn hex_value(group: &str) -> Option<u8> {
    if !group.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(group, 16).ok()
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if s.len() != 12 || !s.is_ascii() {
        return None;
    }
    (0..6).map(|i| hex_value(&s[2 * i..2 * i + 2])).collect()
}

impl fmt::Display for MacAddress {
    /// Prints `aa:bb:cc:dd:ee:ff`, the spelling of the original's API.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spelled(b':').as_str())
    }
}

impl fmt::Debug for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddress({self})")
    }
}

impl FromStr for MacAddress {
    type Err = MacAddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MacAddress::parse(s)
    }
}

impl Serialize for MacAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        MacAddress::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// In the OpenAPI description, a MAC address is a string `aa:bb:cc:dd:ee:ff`.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for MacAddress {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"))
            .examples([serde_json::json!("23:34:a3:e9:09:cc")])
            .description(Some("A MAC address, lowercase with colons"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for MacAddress {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAC: MacAddress = MacAddress::new([0x23, 0x34, 0xa3, 0xe9, 0x09, 0xcc]);

    #[test]
    fn every_common_spelling_parses_to_the_same_address() {
        for text in [
            "23:34:a3:e9:09:cc",
            "23:34:A3:E9:09:CC",
            "23-34-a3-e9-09-cc",
            "2334.a3e9.09cc",
            "2334a3e909cc",
            " 23:34:a3:e9:9:cc ",
        ] {
            assert_eq!(MacAddress::parse(text), Ok(MAC), "{text}");
        }
        assert_eq!(
            MacAddress::parse("0:1a:2:3:4:5"),
            Ok(MacAddress::new([0, 0x1a, 2, 3, 4, 5]))
        );
    }

    #[test]
    fn malformed_addresses_are_refused_with_the_input_quoted() {
        for text in [
            "",
            "23:34:a3:e9:09",
            "23:34:a3:e9:09:cc:dd",
            "23:34:a3:e9:09:gg",
            "23:34-a3:e9:09:cc",
            "123:34:a3:e9:09:cc",
            "23::a3:e9:09:cc",
            "2334.a3e9.09c",
            "2334a3e909c",
            "+3:34:a3:e9:09:cc",
            "éé:34:a3:e9:09:cc",
            "../../etc/passwd",
        ] {
            let err = MacAddress::parse(text).expect_err(text);
            assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
        }
    }

    #[test]
    fn entry_name_is_the_pxelinux_file_name() {
        assert_eq!(MAC.entry_name(), "01-23-34-a3-e9-09-cc");
        assert_eq!(
            MacAddress::from_entry_name("01-23-34-a3-e9-09-cc"),
            Some(MAC)
        );
        assert_eq!(MacAddress::from_entry_name("01-23-34-A3-E9-09-CC"), None);
        assert_eq!(MacAddress::from_entry_name("default"), None);
        assert_eq!(MacAddress::from_entry_name("01-2334a3e909cc"), None);
        for other in [
            "01-23-34-a3-e9-09-cc-",
            "01-23:34-a3-e9-09-cc",
            "01-23-34-a3-e9-09-c",
            "01-23-34-a3-e9-0-9cc",
            "01--23-34-a3-e9-09c",
            "02-23-34-a3-e9-09-cc",
            "01-23-34-a3-e9-09-\u{e9}",
        ] {
            assert_eq!(MacAddress::from_entry_name(other), None, "{other}");
        }
        assert_eq!(
            MAC.with_separator('\u{b7}'),
            "23\u{b7}34\u{b7}a3\u{b7}e9\u{b7}09\u{b7}cc"
        );
        assert_eq!(MAC.hex(), "2334a3e909cc");
        assert_eq!(MAC.to_string(), "23:34:a3:e9:09:cc");
    }

    proptest! {
        #[test]
        fn printing_then_parsing_gives_the_same_address(bytes in any::<[u8; 6]>()) {
            let mac = MacAddress::new(bytes);
            for text in [mac.to_string(), mac.with_separator('-').to_uppercase(), mac.hex()] {
                prop_assert_eq!(MacAddress::parse(&text), Ok(mac));
            }
            prop_assert_eq!(MacAddress::from_entry_name(&mac.entry_name()), Some(mac));
        }

        #[test]
        fn parsing_any_text_never_panics(text in ".{0,40}") {
            let _ = MacAddress::parse(&text);
            let _ = MacAddress::from_entry_name(&text);
        }
    }
}
