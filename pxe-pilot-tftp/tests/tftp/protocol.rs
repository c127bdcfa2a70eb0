//! The protocol as no real client here exercises it, by a client written by hand: transfer
//! IDs, windows, retransmission, duplicate ACKs, clients that vanish, garbage, and the bounds.

use crate::common;

use std::time::Duration;

use common::{pattern, request, Raw, TestServer};
use pxe_pilot_tftp::RefusalReason;

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);
const DATA: u16 = 3;
const ERROR: u16 = 5;
const OACK: u16 = 6;

#[test]
fn a_session_answers_from_a_port_of_its_own() {
    let server = TestServer::start();
    let bytes = pattern(700);
    server.file("f", &bytes);
    let client = Raw::new();
    client.rrq(server.addr, "f", &[]);
    let first = client.recv(WAIT).expect("DATA 1");
    assert_eq!((first.opcode(), first.block()), (DATA, 1));
    assert_ne!(first.from.port(), server.addr.port());
    assert_eq!(first.from.ip(), server.addr.ip());
    assert_eq!(first.data(), &bytes[..512]);
    client.ack(first.from, 1);
    let second = client.recv(WAIT).expect("DATA 2");
    assert_eq!((second.block(), second.data()), (2, &bytes[512..]));
    assert_eq!(second.from, first.from);
    client.ack(first.from, 2);
    let heard = server.heard.wait(WAIT, |h| !h.done.is_empty());
    assert_eq!(heard.done.len(), 1);
    assert!(heard.done[0].completed);
    assert_eq!(heard.done[0].bytes, 700);
    assert_eq!(heard.done[0].peer, client.socket.local_addr().unwrap());
    assert!(server.wait_sessions(0, WAIT));
    // Nothing more comes: one report, no retransmission after the last ACK.
    assert!(client.recv(QUIET).is_none());
    assert_eq!(server.heard.now().done.len(), 1);
}

#[test]
fn a_stranger_on_the_session_port_gets_error_5_and_the_transfer_goes_on() {
    let server = TestServer::start();
    let bytes = pattern(1000);
    server.file("f", &bytes);
    let client = Raw::new();
    client.rrq(server.addr, "f", &[]);
    let first = client.recv(WAIT).expect("DATA 1");
    let stranger = Raw::new();
    stranger.ack(first.from, 1);
    let error = stranger.recv(WAIT).expect("an error for the stranger");
    assert_eq!((error.opcode(), error.block()), (ERROR, 5));
    // The stranger's ACK moved nothing: the client gets DATA 2 only after its own ACK.
    assert!(client.recv(QUIET).is_none());
    client.ack(first.from, 1);
    let second = client.recv(WAIT).expect("DATA 2");
    assert_eq!(second.block(), 2);
    client.ack(first.from, 2);
    let heard = server.heard.wait(WAIT, |h| !h.done.is_empty());
    assert!(heard.done[0].completed);
}

#[test]
fn windowsize_sends_a_window_per_ack_and_resends_after_a_partial_ack() {
    let server = TestServer::start();
    let bytes = pattern(512 * 10 + 100); // 11 blocks
    server.file("w", &bytes);
    let client = Raw::new();
    client.rrq(
        server.addr,
        "w",
        &[("blksize", "512"), ("windowsize", "4"), ("tsize", "0")],
    );
    let oack = client.recv(WAIT).expect("an OACK");
    assert_eq!(oack.opcode(), OACK);
    let mut options = oack.options();
    options.sort();
    assert_eq!(
        options,
        [
            ("blksize".into(), "512".into()),
            ("tsize".into(), bytes.len().to_string()),
            ("windowsize".into(), "4".into())
        ]
    );
    let session = oack.from;
    let window = |expected: std::ops::RangeInclusive<u16>| {
        for block in expected {
            let data = client.recv(WAIT).expect("a DATA of the window");
            assert_eq!((data.opcode(), data.block()), (DATA, block));
            let start = (usize::from(block) - 1) * 512;
            assert_eq!(data.data(), &bytes[start..(start + 512).min(bytes.len())]);
        }
        assert!(client.recv(QUIET).is_none(), "no more than the window");
    };
    client.ack(session, 0);
    window(1..=4);
    client.ack(session, 4);
    window(5..=8);
    // The client missed 7 and 8: it acknowledges 6, the window starts again at 7.
    client.ack(session, 6);
    window(7..=10);
    client.ack(session, 10);
    window(11..=11);
    client.ack(session, 11);
    let heard = server.heard.wait(WAIT, |h| !h.done.is_empty());
    assert!(heard.done[0].completed);
    assert_eq!(heard.done[0].options.windowsize, 4);
    assert_eq!(heard.done[0].bytes, bytes.len() as u64);
}

#[test]
fn a_window_beyond_the_maximum_is_capped_and_timeout_is_granted_up_to_30_s() {
    let server = TestServer::start_with(|config| config.max_windowsize = 8);
    server.file("f", b"x");
    let client = Raw::new();
    client.rrq(
        server.addr,
        "f",
        &[("windowsize", "1000"), ("timeout", "3")],
    );
    let oack = client.recv(WAIT).expect("an OACK");
    let mut options = oack.options();
    options.sort();
    assert_eq!(
        options,
        [
            ("timeout".into(), "3".into()),
            ("windowsize".into(), "8".into())
        ]
    );
    let client = Raw::new();
    client.rrq(server.addr, "f", &[("timeout", "200"), ("blksize", "9000")]);
    let oack = client.recv(WAIT).expect("an OACK");
    assert_eq!(oack.options(), [("blksize".into(), "1468".into())]);
}

#[test]
fn duplicate_acks_never_cause_a_resend() {
    let server = TestServer::start_with(|config| config.timeout = Duration::from_secs(3));
    let bytes = pattern(512 * 3 + 1);
    server.file("f", &bytes);
    let client = Raw::new();
    client.rrq(server.addr, "f", &[]);
    let first = client.recv(WAIT).expect("DATA 1");
    client.ack(first.from, 1);
    assert_eq!(client.recv(WAIT).expect("DATA 2").block(), 2);
    for _ in 0..5 {
        client.ack(first.from, 1);
    }
    client.ack(first.from, 0);
    client.ack(first.from, 9);
    assert!(
        client.recv(QUIET).is_none(),
        "a duplicate ACK caused a send"
    );
    for block in 2..=4 {
        client.ack(first.from, block);
        if block < 4 {
            assert_eq!(client.recv(WAIT).expect("DATA").block(), block + 1);
        }
    }
    let heard = server.heard.wait(WAIT, |h| !h.done.is_empty());
    assert!(heard.done[0].completed);
}

#[test]
fn a_client_that_never_acks_is_given_up_after_the_retries() {
    let server = TestServer::start_with(|config| {
        config.timeout = Duration::from_millis(40);
        config.retries = 3;
    });
    server.file("f", &pattern(2000));
    let client = Raw::new();
    client.rrq(server.addr, "f", &[]);
    // DATA 1, then 3 retransmissions after 40, 80 and 160 ms.
    let mut copies = 0;
    while let Some(data) = client.recv(Duration::from_millis(600)) {
        assert_eq!((data.opcode(), data.block()), (DATA, 1));
        copies += 1;
    }
    assert_eq!(copies, 4);
    assert!(server.wait_sessions(0, WAIT));
    let heard = server.heard.wait(WAIT, |h| !h.done.is_empty());
    assert_eq!(heard.done.len(), 1);
    assert!(!heard.done[0].completed);
    assert_eq!(heard.done[0].bytes, 0);

    // The same after an OACK, and after a few blocks.
    let client = Raw::new();
    client.rrq(server.addr, "f", &[("tsize", "0")]);
    let oack = client.recv(WAIT).expect("an OACK");
    client.ack(oack.from, 0);
    let first = client.recv(WAIT).expect("DATA 1");
    client.ack(first.from, 1);
    while client.recv(Duration::from_millis(600)).is_some() {}
    let heard = server.heard.wait(WAIT, |h| h.done.len() == 2);
    assert!(!heard.done[1].completed);
    assert_eq!(heard.done[1].bytes, 512);
    assert!(server.wait_sessions(0, WAIT));
}

#[test]
fn an_error_from_the_client_ends_its_session_at_once() {
    let server = TestServer::start();
    server.file("f", &pattern(5000));
    let client = Raw::new();
    // What PXE ROMs do: ask the size, then abort with error 8 and ask again.
    client.rrq(server.addr, "f", &[("tsize", "0")]);
    let oack = client.recv(WAIT).expect("an OACK");
    client.send(oack.from, b"\x00\x05\x00\x08tsize probe\x00");
    let heard = server.heard.wait(WAIT, |h| !h.done.is_empty());
    assert!(!heard.done[0].completed);
    assert!(server.wait_sessions(0, WAIT));
}

#[test]
fn garbage_never_stops_the_server() {
    let server = TestServer::start();
    let bytes = pattern(3000);
    server.file("f", &bytes);
    let client = Raw::new();
    let mut long = request(1, &"a".repeat(600), "octet", &[]);
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![0, 1],
        vec![0, 1, b'f'],
        b"\x00\x01f\x00octet".to_vec(),
        b"\x00\x01\x00octet\x00".to_vec(),
        vec![0, 3, 0, 1, 1, 2, 3],
        vec![0, 4, 0, 1],
        b"\x00\x05\x00\x01x\x00".to_vec(),
        vec![0, 6],
        vec![0, 99, 1, 2],
        vec![0xff; 1400],
        std::mem::take(&mut long),
        request(1, "f", "octet", &[("blksize", "99999999999999999999999")]),
        request(1, "f", "mail", &[]),
    ];
    for datagram in &garbage {
        client.send(server.addr, datagram);
    }
    // Answers: error 4 to the four malformed requests and the long one, error 4 to the mail
    // mode (from a session port), and the blksize that is too large is ignored: DATA 1.
    let mut errors = 0;
    let mut data = 0;
    while let Some(answer) = client.recv(QUIET) {
        match answer.opcode() {
            ERROR => {
                assert_eq!(answer.block(), 4, "{answer:?}");
                errors += 1;
            }
            DATA => data += 1,
            other => panic!("unexpected opcode {other}"),
        }
    }
    assert_eq!(errors, 6);
    assert!(data >= 1);
    // The server still serves.
    let client = Raw::new();
    client.rrq(server.addr, "f", &[]);
    let mut received = Vec::new();
    for block in 1..=6u16 {
        let answer = client.recv(WAIT).expect("DATA");
        assert_eq!(answer.block(), block);
        received.extend_from_slice(answer.data());
        client.ack(answer.from, block);
    }
    assert_eq!(received, bytes);
    let heard = server
        .heard
        .wait(WAIT, |h| h.done.iter().any(|r| r.completed));
    assert!(heard
        .refused
        .iter()
        .any(|r| r.reason == RefusalReason::UnsupportedMode));
}

#[test]
fn sessions_are_bounded_in_all() {
    let server = TestServer::start_with(|config| {
        config.max_sessions = 4;
        config.timeout = Duration::from_millis(100);
        config.retries = 2;
    });
    server.file("f", &pattern(100));
    let clients: Vec<Raw> = (0..10).map(|_| Raw::new()).collect();
    for client in &clients {
        client.rrq(server.addr, "f", &[]);
    }
    let heard = server.heard.wait(WAIT, |h| h.refused.len() == 6);
    assert_eq!(heard.refused.len(), 6);
    assert!(heard
        .refused
        .iter()
        .all(|r| r.reason == RefusalReason::Busy));
    assert_eq!(server.handle.active_sessions(), 4);
    let answered = clients
        .iter()
        .filter(|c| c.recv(Duration::from_millis(50)).is_some())
        .count();
    assert_eq!(answered, 4);
    assert!(server.wait_sessions(0, WAIT));
    let heard = server.heard.wait(WAIT, |h| h.done.len() == 4);
    assert!(heard.done.iter().all(|r| !r.completed));
    // Once they ended, a new request is served.
    let client = Raw::new();
    client.rrq(server.addr, "f", &[]);
    let data = client.recv(WAIT).expect("DATA 1");
    client.ack(data.from, 1);
    server
        .heard
        .wait(WAIT, |h| h.done.iter().any(|r| r.completed));
}

#[test]
fn sessions_are_bounded_per_peer_address() {
    let server = TestServer::start_with(|config| {
        config.max_sessions_per_peer = 2;
        config.timeout = Duration::from_millis(100);
        config.retries = 1;
    });
    server.file("f", b"x");
    let clients: Vec<Raw> = (0..5).map(|_| Raw::new()).collect();
    for client in &clients {
        client.rrq(server.addr, "f", &[]);
    }
    let heard = server.heard.wait(WAIT, |h| h.refused.len() == 3);
    assert_eq!(heard.refused.len(), 3);
    assert_eq!(server.handle.active_sessions(), 2);
    assert!(server.wait_sessions(0, WAIT));
}

/// Block numbers roll over from 65535 to 0, checked on the wire with 8-byte blocks.
#[test]
fn block_numbers_roll_over_to_0() {
    let server = TestServer::start();
    let bytes = pattern(65_537 * 8 + 3);
    server.file("f", &bytes);
    let client = Raw::new();
    client.rrq(server.addr, "f", &[("blksize", "8")]);
    let oack = client.recv(WAIT).expect("an OACK");
    client.ack(oack.from, 0);
    let mut received = Vec::with_capacity(bytes.len());
    let mut wire = Vec::new();
    loop {
        let data = client.recv(WAIT).expect("DATA");
        let block = data.block();
        received.extend_from_slice(data.data());
        if (65_534..=65_535).contains(&block) || block <= 2 {
            wire.push(block);
        }
        client.ack(data.from, block);
        if data.data().len() < 8 {
            break;
        }
    }
    assert!(received == bytes, "content differs");
    assert_eq!(wire, [1, 2, 65_534, 65_535, 0, 1, 2]);
    let heard = server.heard.wait(WAIT, |h| !h.done.is_empty());
    assert!(heard.done[0].completed);
}
