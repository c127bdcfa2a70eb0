//! End-to-end: per-bootloader entries served by a real TFTP server. A UEFI host boots GRUB 2
//! (`grubnetx64.efi.signed`), which asks for `grub/grub.cfg-01-<mac>`; the server declares
//! `mac_entry: grub/grub.cfg-01-{mac}` for its `grub` bootloader. Through the real
//! `pxe-pilot-server` and CLI, tftpd-hpa `--secure` (Debian's default, chrooted) must serve
//! the GRUB configuration under the GRUB name for every NIC of a three-NIC host, and, once the
//! host is switched to a PXELINUX configuration, answer "File not found" for those names
//! (GRUB then falls back to its `grub.cfg`) while `pxelinux.cfg/01-<mac>` serves the new one.
//!
//! Needs `tftpd-hpa`, `tftp-hpa`, `curl` and root, as `tftp_secure`. Run alone with
//! `cargo build --workspace && cargo test --test e2e grub_entries::`.

use crate::{common, e2e, tftpd};
use std::fs;
use std::path::{Path, PathBuf};

use common::TestServer;
use e2e::{cli, curl, link_target, log_tail, pxelinux_entry, Artifacts};
use tftpd::Tftpd;

/// A UEFI host with three NICs.
const HOST: &str = "uefi-1";
const MACS: [&str; 3] = [
    "52:54:00:ef:00:01",
    "52:54:00:ef:00:02",
    "52:54:00:ef:00:03",
];

const GRUB_INSTALLER: &str = "# grub installer\nmenuentry install { linux /debian/linux }\n";
const PXELINUX_LOCAL: &str = "# pxelinux local\nDEFAULT local\nLABEL local\n  LOCALBOOT 0\n";
const GRUB_DEFAULT: &str = "# grub default: no per-MAC entry was found\n";

/// The name GRUB 2 asks for: `grub/grub.cfg-01-` + the MAC, lowercase, with dashes.
fn grub_name(mac: &str) -> String {
    format!("grub/grub.cfg-01-{}", mac.replace(':', "-"))
}

/// A TFTP root with a catalogue per bootloader, GRUB's own `grub.cfg`, and the server's
/// configuration file; returns (root, configuration file).
fn world(dir: &Path) -> (PathBuf, PathBuf) {
    let root = dir.join("tftp");
    e2e::write_files(
        &root.join("pxelinux.cfg/conf"),
        &[
            ("grub/debian-installer", GRUB_INSTALLER),
            ("pxelinux/local", PXELINUX_LOCAL),
        ],
    );
    fs::create_dir_all(root.join("grub")).expect("create grub/");
    fs::write(root.join("grub/grub.cfg"), GRUB_DEFAULT).expect("write grub/grub.cfg");
    let config = dir.join("pxe-pilot.yml");
    e2e::grub::write_server_config(
        &config,
        &root,
        HOST,
        &MACS,
        "file: grubnetx64.efi.signed, config_path: grub/grub.cfg, mac_entry: \"grub/grub.cfg-01-{mac}\"",
    );
    (root, config)
}

fn assert_served(tftpd: &Tftpd, scratch: &Path, server: &TestServer, name: &str, expected: &str) {
    match tftpd.get(name, scratch) {
        Ok(content) => assert_eq!(content, expected, "tftpd-hpa --secure served {name}"),
        Err(error) => panic!(
            "tftpd-hpa --secure could not serve {name}: {error}\n{}",
            log_tail(server.log_file(), 20)
        ),
    }
}

pub fn grub_entries_are_served_for_every_nic_and_disappear_when_the_host_switches_to_pxelinux() {
    let artifacts = Artifacts::new("grub-entries");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (root, config) = world(dir.path());
    let scratch = dir.path().join("fetched");
    fs::create_dir_all(&scratch).expect("create the download folder");
    let server = e2e::serve(&config, &artifacts);
    let tftpd = Tftpd::start(&root);

    // The server tells where GRUB's entries live.
    let bootloaders = curl(&[&format!("{}/v1/bootloaders", server.base)]);
    assert!(
        bootloaders.contains(r#""mac_entry":"grub/grub.cfg-01-{mac}""#),
        "{bootloaders}"
    );
    let table = cli(&server, &["bootloader", "list"]);
    assert!(
        table.contains("MAC ENTRY") && table.contains("grub/grub.cfg-01-{mac}"),
        "{table}"
    );

    // Nothing deployed: GRUB gets "File not found" and reads its own grub.cfg.
    for mac in MACS {
        assert!(tftpd.get(&grub_name(mac), &scratch).is_err(), "{mac}");
    }
    assert_served(&tftpd, &scratch, &server, "grub/grub.cfg", GRUB_DEFAULT);

    // Deploy the GRUB installer with the original's curl, by the host's second MAC.
    curl(&[
        "-f",
        "-X",
        "PUT",
        &format!("{}/configurations/debian-installer/deploy", server.base),
        "-d",
        r#"{"hosts":[{"macAddress":"52:54:00:ef:00:02"}]}"#,
    ]);
    for mac in MACS {
        assert_served(&tftpd, &scratch, &server, &grub_name(mac), GRUB_INSTALLER);
        let target = link_target(&root.join(grub_name(mac)));
        assert!(!target.starts_with('/'), "{} -> {target}", grub_name(mac));
    }
    assert_eq!(
        link_target(&root.join(grub_name(MACS[0]))),
        "../pxelinux.cfg/conf/grub/debian-installer"
    );
    // The listing reads the GRUB entries: the host boots the installer, under GRUB.
    let host = curl(&[&format!("{}/v1/hosts/{HOST}?status=false", server.base)]);
    assert!(
        host.contains(r#""name":"debian-installer""#) && host.contains(r#""name":"grub""#),
        "{host}"
    );
    assert!(!host.contains("dangling"), "{host}");

    // Switch to a PXELINUX configuration with the CLI: every GRUB entry disappears.
    cli(&server, &["config", "deploy", "local", HOST]);
    for mac in MACS {
        let error = tftpd
            .get(&grub_name(mac), &scratch)
            .expect_err("a GRUB entry survived the switch to PXELINUX");
        assert!(error.contains("File not found"), "{mac}: {error}");
        assert!(fs::symlink_metadata(root.join(grub_name(mac))).is_err());
        assert_served(
            &tftpd,
            &scratch,
            &server,
            &pxelinux_entry(mac),
            PXELINUX_LOCAL,
        );
    }
    assert_served(&tftpd, &scratch, &server, "grub/grub.cfg", GRUB_DEFAULT);
    let list = cli(&server, &["host", "list"]);
    assert!(list.contains("| local "), "{list}");
    // Only what GRUB reads by default is left in grub/.
    let left: Vec<_> = fs::read_dir(root.join("grub"))
        .expect("read grub/")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    assert_eq!(left, ["grub.cfg"], "{left:?}");
}
