//! End-to-end: what a real TFTP server in its Debian default (`tftpd-hpa --secure`, chrooted
//! into the TFTP root) serves for the entries the real `pxe-pilot-server` deploys.
//!
//! This is the test that fails with absolute link targets: inside the chroot, a target like
//! `/srv/tftp/pxelinux.cfg/conf/local` points nowhere, and the PXE client gets
//! "File not found" and silently boots `pxelinux.cfg/default`. QEMU's built-in TFTP follows
//! absolute links, so only a real `--secure` server catches it.
//!
//! Needs `tftpd-hpa` (`in.tftpd`), `tftp-hpa` (`tftp`), `curl`, and root. Run alone with
//! `cargo test --test e2e tftp_secure::`.

use crate::{common, e2e, tftpd};
use std::fs;
use std::path::{Path, PathBuf};

use std::time::Instant;

use common::TestServer;
use e2e::{curl, link_target, log_tail, pxelinux_entry, Artifacts};
use tftpd::Tftpd;

/// A multi-NIC host: PXE may start from any of its NICs.
const MULTI: (&str, &[&str]) = (
    "multi",
    &[
        "52:54:00:aa:00:01",
        "52:54:00:aa:00:02",
        "52:54:00:aa:00:03",
    ],
);
/// A one-NIC host that is never deployed: its entry must stay absent.
const SINGLE: (&str, &[&str]) = ("single", &["52:54:00:bb:00:01"]);

const INSTALLER: &str = "# installer\nDEFAULT install\nLABEL install\n  KERNEL vmlinuz\n";
const LOCAL: &str = "# local\nDEFAULT local\nLABEL local\n  LOCALBOOT 0\n";
const DEFAULT: &str = "# default: no per-MAC entry was found\nDEFAULT local\n";

/// A TFTP root with the catalogue `installer`, `local` and a `default`.
fn tftp_root(dir: &Path) -> PathBuf {
    let root = dir.join("tftp");
    let conf = root.join("pxelinux.cfg/conf");
    fs::create_dir_all(&conf).expect("create the catalogue");
    fs::write(conf.join("installer"), INSTALLER).expect("write conf/installer");
    fs::write(conf.join("local"), LOCAL).expect("write conf/local");
    fs::write(root.join("pxelinux.cfg/default"), DEFAULT).expect("write pxelinux.cfg/default");
    root
}

/// Every MAC of `host` must be served `expected` by the chrooted TFTP server.
fn assert_served(
    tftpd: &Tftpd,
    scratch: &Path,
    server: &TestServer,
    macs: &[&str],
    expected: &str,
) {
    for mac in macs {
        let remote = pxelinux_entry(mac);
        match tftpd.get(&remote, scratch) {
            Ok(content) => assert_eq!(
                content, expected,
                "tftpd-hpa --secure served the wrong configuration for {remote}"
            ),
            Err(error) => panic!(
                "tftpd-hpa --secure could not serve {remote} (an absolute link target?): {error}\n{}",
                log_tail(server.log_file(), 20)
            ),
        }
    }
}

pub fn deployed_entries_are_served_by_tftpd_hpa_secure_before_and_after_a_switch() {
    let artifacts = Artifacts::new("tftp-secure");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = tftp_root(dir.path());
    let scratch = dir.path().join("fetched");
    fs::create_dir_all(&scratch).expect("create the download folder");
    let config = dir.path().join("pxe-pilot.yml");
    e2e::write_server_config(&config, &root, &[MULTI, SINGLE]);

    let server = e2e::serve(&config, &artifacts);
    let tftpd = Tftpd::start(&root);

    // Before any deploy: PXELINUX gets "File not found" and falls back to `default`.
    assert!(tftpd.get(&pxelinux_entry(MULTI.1[0]), &scratch).is_err());
    assert_eq!(
        tftpd.get("pxelinux.cfg/default", &scratch).as_deref(),
        Ok(DEFAULT)
    );

    // Deploy by name, the way the CLI does (/v1, JSON).
    curl(&[
        "-f",
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/json",
        &format!("{}/v1/configurations/installer/deploy", server.base),
        "-d",
        r#"{"hosts":[{"name":"multi"}]}"#,
    ]);
    assert_served(&tftpd, &scratch, &server, MULTI.1, INSTALLER);

    // Switch by its third MAC, spelled another way, through the original's route (no /v1,
    // curl's form content type): every NIC of the host switches at once.
    curl(&[
        "-f",
        "-X",
        "PUT",
        &format!("{}/configurations/local/deploy", server.base),
        "-d",
        r#"{"hosts":[{"macAddress":"52-54-00-AA-00-03"}]}"#,
    ]);
    assert_served(&tftpd, &scratch, &server, MULTI.1, LOCAL);

    // The links on disk are relative (which is why the chrooted server could follow them).
    for mac in MULTI.1 {
        let target = link_target(&root.join(pxelinux_entry(mac)));
        assert!(
            !target.starts_with('/'),
            "{} -> {target} is absolute",
            pxelinux_entry(mac)
        );
    }
    // The host that was never deployed still has no entry.
    assert!(tftpd.get(&pxelinux_entry(SINGLE.1[0]), &scratch).is_err());
    assert!(
        fs::symlink_metadata(root.join(pxelinux_entry(SINGLE.1[0]))).is_err(),
        "a host that was never deployed got an entry"
    );
}

pub fn an_absolute_link_target_is_file_not_found_under_tftpd_hpa_secure() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = tftp_root(dir.path());
    let scratch = dir.path().join("fetched");
    fs::create_dir_all(&scratch).expect("create the download folder");

    // What the original PXE Pilot wrote: an absolute target. It is a good link on the host...
    let absolute = root.join("pxelinux.cfg/conf/local");
    let by_hand = root.join(pxelinux_entry("52:54:00:cc:00:01"));
    std::os::unix::fs::symlink(&absolute, &by_hand).expect("ln -s by hand");
    assert_eq!(
        fs::read_to_string(&by_hand).expect("the link works on the host"),
        LOCAL
    );
    // ... and its relative twin, for the control.
    let relative = root.join(pxelinux_entry("52:54:00:cc:00:02"));
    std::os::unix::fs::symlink("conf/local", &relative).expect("ln -s by hand");

    let tftpd = Tftpd::start(&root);
    let started = Instant::now();
    let error = tftpd
        .get(&pxelinux_entry("52:54:00:cc:00:01"), &scratch)
        .expect_err("tftpd-hpa --secure served an absolute link: it is not chrooted?");
    assert!(
        error.contains("File not found"),
        "expected tftp's `File not found` for an absolute link, got: {error}"
    );
    assert_eq!(
        tftpd
            .get(&pxelinux_entry("52:54:00:cc:00:02"), &scratch)
            .as_deref(),
        Ok(LOCAL),
        "the relative link must be served (took {:?})",
        started.elapsed()
    );
}
