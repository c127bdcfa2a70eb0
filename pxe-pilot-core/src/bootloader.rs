//! Bootloaders: the catalogue has one folder per declared bootloader, and a bootloader that
//! reads per-MAC files of its own (GRUB 2's `grub/grub.cfg-01-<mac>`, an iPXE script's
//! `ipxe/<mac>.ipxe`) names where they are with a [`MacEntryPattern`], parsed once when the
//! configuration file is loaded.

use std::path::{Component, Path, PathBuf};

use crate::mac::MacAddress;

/// A bootloader: a folder of the catalogue holds its configurations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootloader {
    /// The bootloader's name, also the name of its folder in the catalogue.
    pub name: String,
    /// The file the DHCP server hands out (`pxelinux.0`, `grubnetx64.efi.signed`).
    pub file: String,
    /// Where the bootloader reads its own configuration (informative, as in the original).
    pub config_path: String,
    /// Where this bootloader's per-MAC entries live, if it has its own; `None`: only
    /// `pxelinux.cfg/01-<mac>`.
    pub mac_entry: Option<MacEntryPattern>,
    /// The script language it fetches its per-host configuration in over HTTP from
    /// pxe-pilot (`GET /v1/boot/<name>/<mac>`), if it does (`http: ipxe` or `http: grub`).
    pub http: Option<HttpScript>,
}

/// The language of a bootloader that fetches its configuration over HTTP: what its
/// "nothing for you, boot the next device" answer is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpScript {
    /// An iPXE script (`#!ipxe`).
    Ipxe,
    /// A GRUB 2 configuration.
    Grub,
}

impl HttpScript {
    /// `ipxe` or `grub`.
    pub fn as_str(&self) -> &'static str {
        match self {
            HttpScript::Ipxe => "ipxe",
            HttpScript::Grub => "grub",
        }
    }

    /// Reads `ipxe` or `grub`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ipxe" => Some(HttpScript::Ipxe),
            "grub" => Some(HttpScript::Grub),
            _ => None,
        }
    }
}

/// Where a bootloader reads its per-MAC entries, relative to the TFTP root
/// (`grub/grub.cfg-01-{mac}`). Placeholders: `{mac}` gives `aa-bb-cc-dd-ee-ff` (GRUB 2's
/// spelling), `{mac_colon}` gives `aa:bb:cc:dd:ee:ff`, `{mac_hex}` gives `aabbccddeeff`
/// (iPXE's `${mac:hexraw}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacEntryPattern(String);

/// How a placeholder spells a MAC address.
type Spelling = fn(&MacAddress) -> String;

/// The placeholders of a [`MacEntryPattern`] and how each spells a MAC address.
const PLACEHOLDERS: [(&str, Spelling); 3] = [
    ("{mac_colon}", |m| m.with_separator(':')),
    ("{mac_hex}", MacAddress::hex),
    ("{mac}", |m| m.with_separator('-')),
];

impl MacEntryPattern {
    /// Parses a pattern: relative, inside the root (no `..`), with a MAC placeholder in its
    /// file name; the error says what to change.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let path = Path::new(pattern);
        if pattern.is_empty() || path.is_absolute() {
            return Err("must be a path relative to the TFTP root".into());
        }
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
            || pattern.chars().any(char::is_control)
        {
            return Err("must stay inside the TFTP root (no '..', no '.')".into());
        }
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        if !PLACEHOLDERS.iter().any(|(p, _)| file.contains(p)) {
            return Err("its file name must contain {mac}, {mac_colon} or {mac_hex}".into());
        }
        if path
            .parent()
            .is_some_and(|folder| folder.to_string_lossy().contains("{mac"))
        {
            return Err("the MAC placeholder goes in the file name, not in a folder".into());
        }
        if path.starts_with("pxelinux.cfg") && file.starts_with("01-{mac}") {
            return Err("pxelinux.cfg/01-{mac} is written for every host already".into());
        }
        Ok(MacEntryPattern(pattern.to_owned()))
    }

    /// The pattern as written in the configuration file.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The folder of the entries, relative to the TFTP root (empty: the root itself).
    pub fn folder(&self) -> &Path {
        Path::new(&self.0).parent().unwrap_or(Path::new(""))
    }

    /// The file name of `mac`'s entry, in [`MacEntryPattern::folder`].
    pub fn file_name(&self, mac: &MacAddress) -> String {
        let template = Path::new(&self.0)
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default();
        PLACEHOLDERS
            .iter()
            .fold(template.to_owned(), |name, (placeholder, spell)| {
                name.replace(placeholder, &spell(mac))
            })
    }

    /// The entry of `mac`, relative to the TFTP root.
    pub fn entry(&self, mac: &MacAddress) -> PathBuf {
        self.folder().join(self.file_name(mac))
    }

    /// The MAC address whose entry has file name `file`, if it is one of this pattern's
    /// (spelled exactly as [`MacEntryPattern::file_name`] writes it).
    pub fn mac_of(&self, file: &str) -> Option<MacAddress> {
        let mut template = Path::new(&self.0).file_name()?.to_str()?;
        let mut rest = file;
        let mut found: Option<MacAddress> = None;
        while !template.is_empty() {
            if let Some((placeholder, spell)) =
                PLACEHOLDERS.iter().find(|(p, _)| template.starts_with(p))
            {
                let width = spell(&MacAddress::new([0; 6])).len();
                let text = rest.get(..width)?;
                let mac = MacAddress::parse(text).ok().filter(|m| spell(m) == text)?;
                if found.is_some_and(|f| f != mac) {
                    return None;
                }
                found = Some(mac);
                template = &template[placeholder.len()..];
                rest = &rest[width..];
            } else {
                let c = template.chars().next()?;
                rest = rest.strip_prefix(c)?;
                template = &template[c.len_utf8()..];
            }
        }
        found.filter(|_| rest.is_empty())
    }
}

impl std::fmt::Display for MacEntryPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(last: u8) -> MacAddress {
        MacAddress::new([0x23, 0x34, 0xa3, 0xe9, 0x09, last])
    }

    #[test]
    fn mac_entry_patterns_stay_inside_the_root_and_name_a_mac() {
        for bad in [
            "/grub/{mac}",
            "../{mac}",
            "grub/cfg",
            "pxelinux.cfg/01-{mac}",
            "",
            "{mac}/grub.cfg-{mac}",
        ] {
            assert!(MacEntryPattern::parse(bad).is_err(), "{bad}");
        }
        let pattern = MacEntryPattern::parse("ipxe/{mac_hex}.ipxe").unwrap();
        assert_eq!(
            pattern.entry(&mac(1)),
            PathBuf::from("ipxe/2334a3e90901.ipxe")
        );
    }

    #[test]
    fn entry_names_read_back_as_the_mac_they_were_written_for() {
        for text in [
            "grub/grub.cfg-01-{mac}",
            "ipxe/{mac_hex}.ipxe",
            "efi/{mac_colon}",
            "{mac}-{mac_hex}.cfg",
        ] {
            let pattern = MacEntryPattern::parse(text).unwrap();
            let entry = pattern.entry(&mac(0xab));
            let file = entry.file_name().unwrap().to_str().unwrap();
            assert_eq!(pattern.mac_of(file), Some(mac(0xab)), "{text}: {file}");
            assert_eq!(pattern.folder(), entry.parent().unwrap(), "{text}");
        }
        let grub = MacEntryPattern::parse("grub/grub.cfg-01-{mac}").unwrap();
        for other in [
            "grub.cfg",
            "grub.cfg-01-23-34-A3-E9-09-AB",
            "grub.cfg-01-23-34-a3-e9-09-ab.tmp",
            "grub.cfg-01-23-34-a3-e9-09",
            ".pxe-pilot-tmp.1.2.grub.cfg-01-23-34-a3-e9-09-ab",
        ] {
            assert_eq!(grub.mac_of(other), None, "{other}");
        }
        let both = MacEntryPattern::parse("{mac}-{mac_hex}.cfg").unwrap();
        assert_eq!(both.mac_of("23-34-a3-e9-09-ab-2334a3e909ac.cfg"), None);
    }
}
