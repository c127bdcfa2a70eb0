//! The TFTP wire format: parsing what a client sends, writing what the server answers.
//!
//! Parsing never panics and never allocates: a [`Packet`] borrows from the datagram, and the
//! options of a request are read into a fixed [`RequestedOptions`] (the ones this server
//! knows; the rest are ignored, as RFC 2347 lets a server do). Anything malformed is a
//! [`Malformed`] error the caller answers with error 4 or drops.

/// Opcodes of RFC 1350 and RFC 2347.
const RRQ: u16 = 1;
const WRQ: u16 = 2;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;

/// The largest request RFC 2347 allows (the options included).
pub(crate) const MAX_REQUEST: usize = 512;
/// The smallest and largest block sizes of RFC 2348.
pub(crate) const MIN_BLKSIZE: u16 = 8;
/// The largest block size of RFC 2348 (a 65,535-byte IPv4 datagram less the headers).
pub(crate) const MAX_BLKSIZE: u16 = 65464;
/// The block size of RFC 1350, when the client asks for none.
pub(crate) const DEFAULT_BLKSIZE: u16 = 512;

/// A datagram a client sent, borrowed from the receive buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Packet<'a> {
    /// A read request (RRQ).
    Read(Request<'a>),
    /// A write request (WRQ): always refused.
    Write(Request<'a>),
    /// A data block: a client sends none to a read-only server; ignored.
    Data { block: u16 },
    /// An acknowledgement of a block (or of the OACK, block 0).
    Ack { block: u16 },
    /// The client gives up (error 8 when it refuses our options).
    Error { code: u16 },
    /// An option acknowledgement: only a server sends one; ignored.
    OptionAck,
}

/// A read or write request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request<'a> {
    /// The file name as sent, without its terminating NUL.
    pub filename: &'a [u8],
    /// The transfer mode.
    pub mode: Mode,
    /// The options this server understands, as the client asked them.
    pub options: RequestedOptions,
}

/// The transfer mode of a request (compared without regard to case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Bytes as they are.
    Octet,
    /// Text with CR LF line ends: served byte for byte, as octet (see the crate docs).
    Netascii,
    /// Anything else (`mail`, a typo): refused with error 4.
    Other,
}

/// The options of RFC 2348, 2349 and 7440 as a client asked them; `None` when it did not ask
/// or asked a value out of the option's range (such an option is ignored, not answered).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RequestedOptions {
    /// `blksize`, 8..=65464.
    pub blksize: Option<u16>,
    /// `tsize`: present (a client sends 0 in a read request).
    pub tsize: bool,
    /// `timeout` in seconds, 1..=255.
    pub timeout: Option<u8>,
    /// `windowsize`, 1..=65535.
    pub windowsize: Option<u16>,
}

/// Why a datagram is not a packet this server can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// Shorter than an opcode, or than the packet its opcode announces.
    TooShort,
    /// An opcode RFC 1350 and 2347 do not define.
    UnknownOpcode,
    /// A request longer than RFC 2347's 512 bytes.
    TooLong,
    /// A request whose file name or mode has no terminating NUL, or an empty file name.
    BadRequest,
}

impl Malformed {
    /// The message of the error 4 answering a malformed request.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Malformed::TooShort => "packet too short",
            Malformed::UnknownOpcode => "unknown opcode",
            Malformed::TooLong => "request longer than 512 bytes",
            Malformed::BadRequest => "malformed request: file name and mode must end with NUL",
        }
    }
}

/// Reads a datagram.
pub(crate) fn parse(datagram: &[u8]) -> Result<Packet<'_>, Malformed> {
    let [hi, lo, rest @ ..] = datagram else {
        return Err(Malformed::TooShort);
    };
    match u16::from_be_bytes([*hi, *lo]) {
        opcode @ (RRQ | WRQ) => {
            if datagram.len() > MAX_REQUEST {
                return Err(Malformed::TooLong);
            }
            let request = parse_request(rest)?;
            Ok(if opcode == RRQ {
                Packet::Read(request)
            } else {
                Packet::Write(request)
            })
        }
        DATA => Ok(Packet::Data {
            block: block_number(rest)?,
        }),
        ACK => Ok(Packet::Ack {
            block: block_number(rest)?,
        }),
        ERROR => Ok(Packet::Error {
            code: block_number(rest)?,
        }),
        OACK => Ok(Packet::OptionAck),
        _ => Err(Malformed::UnknownOpcode),
    }
}

fn block_number(rest: &[u8]) -> Result<u16, Malformed> {
    match rest {
        [hi, lo, ..] => Ok(u16::from_be_bytes([*hi, *lo])),
        _ => Err(Malformed::TooShort),
    }
}

/// Splits off the next NUL-terminated string.
fn next_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|&b| b == 0)?;
    Some((&bytes[..end], &bytes[end + 1..]))
}

fn parse_request(body: &[u8]) -> Result<Request<'_>, Malformed> {
    let (filename, rest) = next_string(body).ok_or(Malformed::BadRequest)?;
    let (mode, mut rest) = next_string(rest).ok_or(Malformed::BadRequest)?;
    if filename.is_empty() {
        return Err(Malformed::BadRequest);
    }
    let mode = if mode.eq_ignore_ascii_case(b"octet") {
        Mode::Octet
    } else if mode.eq_ignore_ascii_case(b"netascii") {
        Mode::Netascii
    } else {
        Mode::Other
    };
    let mut options = RequestedOptions::default();
    let mut seen = Seen::default();
    // Options are pairs of strings; a dangling name, an empty name (padding) or bytes without
    // a NUL end the list: what follows is ignored, as a lenient server does.
    while let Some((name, after_name)) = next_string(rest) {
        let Some((value, after_value)) = next_string(after_name) else {
            break;
        };
        if name.is_empty() {
            break;
        }
        rest = after_value;
        options.take(name, value, &mut seen);
    }
    Ok(Request {
        filename,
        mode,
        options,
    })
}

/// Which options a request named already: the first of two same-named options counts.
#[derive(Default)]
struct Seen {
    blksize: bool,
    tsize: bool,
    timeout: bool,
    windowsize: bool,
}

impl RequestedOptions {
    /// Reads one option pair; the first of two same-named options counts.
    fn take(&mut self, name: &[u8], value: &[u8], seen: &mut Seen) {
        let in_range = |low: u64, high: u64| number(value).filter(|n| (low..=high).contains(n));
        if name.eq_ignore_ascii_case(b"blksize") && !seen.blksize {
            seen.blksize = true;
            self.blksize = in_range(MIN_BLKSIZE.into(), MAX_BLKSIZE.into()).map(|n| n as u16);
        } else if name.eq_ignore_ascii_case(b"tsize") && !seen.tsize {
            // A read request carries 0; any number is accepted, the answer is the file's size.
            seen.tsize = true;
            self.tsize = number(value).is_some();
        } else if name.eq_ignore_ascii_case(b"timeout") && !seen.timeout {
            seen.timeout = true;
            self.timeout = in_range(1, 255).map(|n| n as u8);
        } else if name.eq_ignore_ascii_case(b"windowsize") && !seen.windowsize {
            seen.windowsize = true;
            self.windowsize = in_range(1, 65535).map(|n| n as u16);
        }
    }
}

/// A decimal number of at most 19 digits (no sign, no spaces), as the option RFCs write them.
fn number(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        value
            .iter()
            .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0')),
    )
}

/// The TFTP error codes this server sends (RFC 1350, 2347).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// 0: not defined, see the message.
    NotDefined = 0,
    /// 1: file not found.
    FileNotFound = 1,
    /// 2: access violation.
    AccessViolation = 2,
    /// 4: illegal TFTP operation.
    IllegalOperation = 4,
    /// 5: unknown transfer ID.
    UnknownTransferId = 5,
}

/// Writes an ERROR packet into `out` (cleared first).
pub(crate) fn write_error(out: &mut Vec<u8>, code: ErrorCode, message: &str) {
    out.clear();
    out.extend_from_slice(&ERROR.to_be_bytes());
    out.extend_from_slice(&(code as u16).to_be_bytes());
    out.extend_from_slice(message.as_bytes());
    out.push(0);
}

/// Writes an OACK packet with the given option names and values into `out` (cleared first).
pub(crate) fn write_oack(out: &mut Vec<u8>, options: &[(&str, u64)]) {
    out.clear();
    out.extend_from_slice(&OACK.to_be_bytes());
    for (name, value) in options {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value.to_string().as_bytes());
        out.push(0);
    }
}

/// Writes the 4-byte header of a DATA packet at the start of `out`, which holds the block's
/// bytes after it.
pub(crate) fn write_data_header(out: &mut [u8], block: u16) {
    if let [a, b, c, d, ..] = out {
        [*a, *b] = DATA.to_be_bytes();
        [*c, *d] = block.to_be_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rrq(parts: &[&[u8]]) -> Vec<u8> {
        let mut packet = RRQ.to_be_bytes().to_vec();
        for part in parts {
            packet.extend_from_slice(part);
            packet.push(0);
        }
        packet
    }

    #[test]
    fn a_plain_read_request() {
        let packet = rrq(&[b"pxelinux.0", b"octet"]);
        assert_eq!(
            parse(&packet),
            Ok(Packet::Read(Request {
                filename: b"pxelinux.0",
                mode: Mode::Octet,
                options: RequestedOptions::default(),
            }))
        );
    }

    #[test]
    fn options_are_read_without_regard_to_case_and_unknown_ones_ignored() {
        let packet = rrq(&[
            b"f",
            b"OCTET",
            b"BlkSize",
            b"1468",
            b"tsize",
            b"0",
            b"multicast",
            b"",
            b"timeout",
            b"3",
            b"windowsize",
            b"16",
        ]);
        let Ok(Packet::Read(request)) = parse(&packet) else {
            panic!("not a read request: {:?}", parse(&packet));
        };
        assert_eq!(request.mode, Mode::Octet);
        assert_eq!(
            request.options,
            RequestedOptions {
                blksize: Some(1468),
                tsize: true,
                timeout: Some(3),
                windowsize: Some(16),
            }
        );
    }

    #[test]
    fn options_out_of_range_are_ignored_and_the_first_of_two_counts() {
        let packet = rrq(&[
            b"f",
            b"netascii",
            b"blksize",
            b"7",
            b"blksize",
            b"65465",
            b"timeout",
            b"0",
            b"windowsize",
            b"65536",
            b"tsize",
            b"-1",
        ]);
        let Ok(Packet::Read(request)) = parse(&packet) else {
            panic!("not a read request");
        };
        assert_eq!(request.mode, Mode::Netascii);
        assert_eq!(request.options, RequestedOptions::default());
        let packet = rrq(&[b"f", b"octet", b"blksize", b"512", b"blksize", b"1024"]);
        let Ok(Packet::Read(request)) = parse(&packet) else {
            panic!("not a read request");
        };
        assert_eq!(request.options.blksize, Some(512));
    }

    #[test]
    fn malformed_datagrams() {
        assert_eq!(parse(b""), Err(Malformed::TooShort));
        assert_eq!(parse(b"\x00"), Err(Malformed::TooShort));
        assert_eq!(parse(b"\x00\x04\x01"), Err(Malformed::TooShort));
        assert_eq!(parse(b"\x00\x09\x00\x01"), Err(Malformed::UnknownOpcode));
        assert_eq!(parse(b"\x00\x01file"), Err(Malformed::BadRequest));
        assert_eq!(parse(b"\x00\x01file\x00octet"), Err(Malformed::BadRequest));
        assert_eq!(parse(b"\x00\x01\x00octet\x00"), Err(Malformed::BadRequest));
        let long = rrq(&[&[b'a'; 600], b"octet"]);
        assert_eq!(parse(&long), Err(Malformed::TooLong));
        assert_eq!(parse(b"\x00\x04\xff\xff"), Ok(Packet::Ack { block: 65535 }));
        assert_eq!(
            parse(b"\x00\x05\x00\x08no\x00"),
            Ok(Packet::Error { code: 8 })
        );
        assert_eq!(
            parse(&rrq(&[b"f", b"mail"])).map(|p| match p {
                Packet::Read(r) => r.mode,
                _ => Mode::Octet,
            }),
            Ok(Mode::Other)
        );
    }

    #[test]
    fn a_dangling_option_name_ends_the_options() {
        let mut packet = rrq(&[b"f", b"octet", b"tsize", b"0"]);
        packet.extend_from_slice(b"blksize\x001468");
        let Ok(Packet::Write(_) | Packet::Read(_)) = parse(&packet) else {
            panic!("not a request");
        };
        let Ok(Packet::Read(request)) = parse(&packet) else {
            unreachable!()
        };
        assert!(request.options.tsize);
        assert_eq!(request.options.blksize, None);
    }

    #[test]
    fn packets_written() {
        let mut out = Vec::new();
        write_error(&mut out, ErrorCode::AccessViolation, "no");
        assert_eq!(out, b"\x00\x05\x00\x02no\x00");
        write_oack(&mut out, &[("blksize", 1468), ("tsize", 0)]);
        assert_eq!(out, b"\x00\x06blksize\x001468\x00tsize\x000\x00");
        let mut data = [0u8; 6];
        write_data_header(&mut data, 258);
        assert_eq!(data, [0, 3, 1, 2, 0, 0]);
    }

    proptest! {
        #[test]
        fn any_datagram_parses_or_is_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn any_request_shaped_datagram_parses_without_panic(
            opcode in 0u16..8,
            parts in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..24), 0..12),
            terminate in any::<bool>(),
        ) {
            let mut packet = opcode.to_be_bytes().to_vec();
            for part in &parts {
                packet.extend_from_slice(part);
                packet.push(0);
            }
            if !terminate {
                packet.pop();
            }
            if let Ok(Packet::Read(request) | Packet::Write(request)) = parse(&packet) {
                prop_assert!(!request.filename.is_empty());
                prop_assert!(!request.filename.contains(&0));
                if let Some(blksize) = request.options.blksize {
                    prop_assert!((MIN_BLKSIZE..=MAX_BLKSIZE).contains(&blksize));
                }
                prop_assert!(request.options.windowsize != Some(0));
                prop_assert!(request.options.timeout != Some(0));
            }
        }

        #[test]
        fn option_values_round_trip(blksize in 8u16..=65464, windowsize in 1u16..=65535, timeout in 1u8..=255) {
            let (b, w, t) = (blksize.to_string(), windowsize.to_string(), timeout.to_string());
            let packet = rrq(&[b"f", b"octet", b"blksize", b.as_bytes(), b"windowsize", w.as_bytes(), b"timeout", t.as_bytes()]);
            let Ok(Packet::Read(request)) = parse(&packet) else {
                return Err(TestCaseError::fail("not a read request"));
            };
            prop_assert_eq!(request.options.blksize, Some(blksize));
            prop_assert_eq!(request.options.windowsize, Some(windowsize));
            prop_assert_eq!(request.options.timeout, Some(timeout));
        }
    }
}
