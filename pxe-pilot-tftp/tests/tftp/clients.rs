//! Transfers with real clients: tftp-hpa's `tftp` (RFC 1350 only, 512-byte blocks) and curl
//! (blksize and tsize), against files of every shape, and what the root refuses.

use crate::common;

use std::time::Duration;

use common::{curl, pattern, tftp_hpa, TestServer};
use pxe_pilot_tftp::RefusalReason;

const WAIT: Duration = Duration::from_secs(10);

/// Sizes around the block boundaries of 512 and 1468 bytes, and a few blocks.
const SIZES: &[usize] = &[0, 1, 511, 512, 513, 1024, 1467, 1468, 1469, 2936, 100_000];

#[test]
fn tftp_hpa_gets_files_of_every_size_byte_for_byte() {
    let server = TestServer::start();
    let out = tempfile::tempdir().unwrap();
    for &size in SIZES {
        let name = format!("f{size}");
        let bytes = pattern(size);
        server.file(&name, &bytes);
        let local = out.path().join(&name);
        let Some(result) = tftp_hpa(&server, "binary", &["get", &name, local.to_str().unwrap()])
        else {
            return;
        };
        assert!(result.status.success(), "{size}: {result:?}");
        assert_eq!(std::fs::read(&local).unwrap(), bytes, "size {size}");
    }
    let heard = server.heard.wait(WAIT, |h| h.done.len() == SIZES.len());
    assert_eq!(heard.done.len(), SIZES.len());
    for (report, &size) in heard.done.iter().zip(SIZES) {
        assert!(report.completed, "{report:?}");
        assert_eq!(report.bytes, size as u64);
        assert_eq!(report.options.blksize, 512);
        assert_eq!(report.options.windowsize, 1);
        assert!(!report.options.tsize);
    }
}

#[test]
fn curl_gets_files_at_1468_and_512_with_tsize() {
    let server = TestServer::start();
    let out = tempfile::tempdir().unwrap();
    let mut expected = 0;
    for blksize in ["1468", "512"] {
        // curl 7.88 fails an empty file when it sent options, with tftpd-hpa too
        // ("getpeername() failed"): the empty file is tftp-hpa's and --tftp-no-options' test.
        for &size in &SIZES[1..] {
            let name = format!("sub/f{size}");
            let bytes = pattern(size);
            server.file(&name, &bytes);
            let local = out.path().join(format!("{blksize}-{size}"));
            let Some(result) = curl(&server, &name, &local, &["--tftp-blksize", blksize]) else {
                return;
            };
            assert!(result.status.success(), "{blksize} {size}: {result:?}");
            assert_eq!(std::fs::read(&local).unwrap(), bytes, "{blksize} {size}");
            expected += 1;
        }
    }
    let heard = server.heard.wait(WAIT, |h| h.done.len() == expected);
    assert_eq!(heard.done.len(), expected);
    for report in &heard.done {
        assert!(report.completed, "{report:?}");
        assert!(report.options.tsize, "curl asks tsize: {report:?}");
        assert!(report.path.starts_with("sub/f"), "{report:?}");
    }
    let half = SIZES.len() - 1;
    assert!(heard.done[..half].iter().all(|r| r.options.blksize == 1468));
    assert!(heard.done[half..].iter().all(|r| r.options.blksize == 512));
}

#[test]
fn curl_without_options_starts_with_data_1() {
    let server = TestServer::start();
    let out = tempfile::tempdir().unwrap();
    server.file("empty", b"");
    let local = out.path().join("empty");
    let Some(result) = curl(&server, "empty", &local, &["--tftp-no-options"]) else {
        return;
    };
    assert!(result.status.success(), "{result:?}");
    assert_eq!(std::fs::read(&local).unwrap(), b"");
    let heard = server.heard.wait(WAIT, |h| !h.done.is_empty());
    assert!(heard.done[0].completed);
    let bytes = pattern(5000);
    server.file("plain", &bytes);
    let local = out.path().join("plain");
    let Some(result) = curl(&server, "plain", &local, &["--tftp-no-options"]) else {
        return;
    };
    assert!(result.status.success(), "{result:?}");
    assert_eq!(std::fs::read(&local).unwrap(), bytes);
    let heard = server.heard.wait(WAIT, |h| h.done.len() == 2);
    assert_eq!(heard.done[1].options.blksize, 512);
    assert!(!heard.done[1].options.tsize);
}

#[test]
fn a_blksize_beyond_the_maximum_is_capped() {
    let server = TestServer::start_with(|config| config.max_blksize = 1024);
    let bytes = pattern(10_000);
    server.file("f", &bytes);
    let out = tempfile::tempdir().unwrap();
    let local = out.path().join("f");
    let Some(result) = curl(&server, "f", &local, &["--tftp-blksize", "8192"]) else {
        return;
    };
    assert!(result.status.success(), "{result:?}");
    assert_eq!(std::fs::read(&local).unwrap(), bytes);
    let heard = server.heard.wait(WAIT, |h| !h.done.is_empty());
    assert_eq!(heard.done[0].options.blksize, 1024);
}

#[test]
fn netascii_is_served_byte_for_byte() {
    let server = TestServer::start();
    let text = b"DEFAULT local\nLABEL local\n  LOCALBOOT 0\n";
    server.file("pxelinux.cfg/default", text);
    let out = tempfile::tempdir().unwrap();
    let local = out.path().join("default");
    let Some(result) = tftp_hpa(
        &server,
        "netascii",
        &["get", "pxelinux.cfg/default", local.to_str().unwrap()],
    ) else {
        return;
    };
    assert!(result.status.success(), "{result:?}");
    assert_eq!(std::fs::read(&local).unwrap(), text);
}

#[test]
fn a_write_is_refused_as_read_only() {
    let server = TestServer::start();
    let out = tempfile::tempdir().unwrap();
    let local = out.path().join("up");
    std::fs::write(&local, "upload").unwrap();
    let Some(result) = tftp_hpa(&server, "binary", &["put", local.to_str().unwrap(), "up"]) else {
        return;
    };
    let said = String::from_utf8_lossy(&result.stderr).into_owned()
        + &String::from_utf8_lossy(&result.stdout);
    assert!(said.contains("this server is read only"), "{said}");
    assert!(!server.root.path().join("up").exists());
    let heard = server.heard.wait(WAIT, |h| !h.refused.is_empty());
    assert_eq!(heard.refused[0].reason, RefusalReason::WriteRequest);
    assert_eq!(heard.refused[0].path, "up");
}

/// Fetches `name` with tftp-hpa; `Ok(bytes)` or `Err(what the client said)`.
fn fetch(server: &TestServer, name: &str) -> Option<Result<Vec<u8>, String>> {
    let out = tempfile::tempdir().unwrap();
    let local = out.path().join("out");
    let result = tftp_hpa(server, "binary", &["get", name, local.to_str().unwrap()])?;
    let said = String::from_utf8_lossy(&result.stderr).into_owned()
        + &String::from_utf8_lossy(&result.stdout);
    if said.contains("Error code") {
        Some(Err(said))
    } else {
        Some(Ok(std::fs::read(&local).unwrap_or_default()))
    }
}

#[test]
fn dot_dot_is_refused_and_links_stay_inside_the_root() {
    let server = TestServer::start();
    server.file("pxelinux.cfg/conf/x", b"inside");
    server.file("etc/passwd", b"the root's own passwd");
    // A per-MAC entry as pxe-pilot writes it: an absolute target, read from the root.
    server.link("pxelinux.cfg/01-aa-bb-cc-dd-ee-ff", "/pxelinux.cfg/conf/x");
    server.link("host-passwd", "/etc/passwd");
    server.link("pxelinux.cfg/climb", "../../../../../../../etc/passwd");
    server.link("shadow", "/etc/shadow");
    let Some(entry) = fetch(&server, "pxelinux.cfg/01-aa-bb-cc-dd-ee-ff") else {
        return;
    };
    assert_eq!(entry.unwrap(), b"inside");
    assert_eq!(
        fetch(&server, "/pxelinux.cfg/01-aa-bb-cc-dd-ee-ff").unwrap(),
        Ok(b"inside".to_vec())
    );
    assert_eq!(
        fetch(&server, "host-passwd").unwrap(),
        Ok(b"the root's own passwd".to_vec())
    );
    assert_eq!(
        fetch(&server, "pxelinux.cfg/climb").unwrap(),
        Ok(b"the root's own passwd".to_vec())
    );
    let shadow = fetch(&server, "shadow").unwrap().unwrap_err();
    assert!(shadow.contains("Error code 1"), "{shadow}");
    let climb = fetch(&server, "../etc/passwd").unwrap().unwrap_err();
    assert!(climb.contains("Error code 2"), "{climb}");
    let climb = fetch(&server, "pxelinux.cfg/../../etc/passwd")
        .unwrap()
        .unwrap_err();
    assert!(climb.contains("Error code 2"), "{climb}");
    let folder = fetch(&server, "pxelinux.cfg").unwrap().unwrap_err();
    assert!(folder.contains("Error code 1"), "{folder}");

    let heard = server
        .heard
        .wait(WAIT, |h| h.done.len() == 4 && h.refused.len() == 4);
    assert_eq!(heard.done[0].path, "pxelinux.cfg/01-aa-bb-cc-dd-ee-ff");
    assert_eq!(heard.done[1].path, "pxelinux.cfg/01-aa-bb-cc-dd-ee-ff");
    let reasons: Vec<_> = heard.refused.iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [
            RefusalReason::NotFound,
            RefusalReason::Denied,
            RefusalReason::Denied,
            RefusalReason::NotFound
        ]
    );
}

#[test]
fn a_missing_file_is_not_found_with_both_clients() {
    let server = TestServer::start();
    let Some(missing) = fetch(&server, "pxelinux.cfg/01-00-00-00-00-00-01") else {
        return;
    };
    let missing = missing.unwrap_err();
    assert!(
        missing.contains("Error code 1") && missing.contains("file not found"),
        "{missing}"
    );
    let out = tempfile::tempdir().unwrap();
    let Some(result) = curl(&server, "nothing", &out.path().join("n"), &[]) else {
        return;
    };
    // curl: 68 is "TFTP: file not found".
    assert_eq!(result.status.code(), Some(68), "{result:?}");
    let heard = server.heard.wait(WAIT, |h| h.refused.len() == 2);
    assert_eq!(heard.refused.len(), 2);
    assert!(heard.done.is_empty());
    assert_eq!(heard.refused[0].path, "pxelinux.cfg/01-00-00-00-00-00-01");
}

/// More than 65535 blocks of 512 bytes: block numbers roll over to 0 and curl follows.
#[test]
fn a_file_beyond_65535_blocks_rolls_block_numbers_over() {
    let server = TestServer::start();
    let size = 65_536 * 512 + 1000; // 32 MiB and a bit
    let bytes = pattern(size);
    server.file("big", &bytes);
    let out = tempfile::tempdir().unwrap();
    let local = out.path().join("big");
    let Some(result) = curl(&server, "big", &local, &["--tftp-blksize", "512"]) else {
        return;
    };
    assert!(result.status.success(), "{result:?}");
    assert!(std::fs::read(&local).unwrap() == bytes, "content differs");
    let heard = server.heard.wait(WAIT, |h| !h.done.is_empty());
    assert!(heard.done[0].completed);
    assert_eq!(heard.done[0].bytes, size as u64);
}
