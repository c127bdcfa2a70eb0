//! HTTP as bytes on a socket, for what an HTTP client refuses to send (malformed heads, lying
//! lengths, slow bodies) and to read whatever the server answers.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// An HTTP answer read off a raw socket.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    /// The body (chunked bodies decoded).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The value of a header (first one, name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The `message` of a JSON error body `{"message": "..."}` with nothing else in it.
    pub fn message(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        let object = value.as_object()?;
        (object.len() == 1)
            .then(|| object.get("message")?.as_str().map(str::to_owned))
            .flatten()
    }
}

/// Sends `request` as is on a new connection to `authority` and reads one answer, waiting at
/// most `timeout`. The request is written from another thread, so an answer the server sends
/// before reading everything (413 for a 10 MB body) is still read.
pub fn raw_exchange(
    authority: &str,
    request: &[u8],
    timeout: Duration,
) -> Result<RawResponse, String> {
    let stream = TcpStream::connect(authority).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("set timeouts: {e}"))?;
    let mut writer = stream.try_clone().map_err(|e| format!("clone: {e}"))?;
    let request = request.to_vec();
    let written =
        std::thread::spawn(move || writer.write_all(&request).and_then(|_| writer.flush()));
    let response = read_response(stream, Instant::now() + timeout);
    let _ = written.join();
    response
}

/// Reads one HTTP/1.1 answer (Content-Length, chunked, or until the connection closes).
pub fn read_response(mut stream: TcpStream, deadline: Instant) -> Result<RawResponse, String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no complete head before the deadline: {:?}",
                String::from_utf8_lossy(&buffer)
            ));
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(format!(
                    "connection closed after {} bytes: {:?}",
                    buffer.len(),
                    String::from_utf8_lossy(&buffer)
                ))
            }
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) => {
                return Err(format!(
                    "read: {e} after {:?}",
                    String::from_utf8_lossy(&buffer)
                ))
            }
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let mut response = RawResponse {
        status,
        head,
        body: buffer[head_end + 4..].to_vec(),
    };
    let length: Option<usize> = response
        .header("content-length")
        .and_then(|l| l.parse().ok());
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
    loop {
        let complete = match (length, chunked) {
            (Some(length), _) => response.body.len() >= length,
            (None, true) => find(&response.body, b"0\r\n\r\n").is_some(),
            (None, false) => status == 204 || status == 304,
        };
        if complete || Instant::now() > deadline {
            break;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.body.extend_from_slice(&chunk[..n]),
        }
    }
    if let Some(length) = length {
        response.body.truncate(length);
    } else if chunked {
        response.body = dechunk(&response.body);
    }
    let _ = stream.shutdown(Shutdown::Both);
    Ok(response)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = find(data, b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// A request as bytes: `METHOD TARGET HTTP/1.1`, `Host`, `Connection: close`, the `headers`
/// given, a `Content-Length` for a non-empty body (unless `headers` set one or a
/// `Transfer-Encoding`), then the body.
pub fn http_request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let framed = headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    });
    if !framed && (!body.is_empty() || matches!(method, "PUT" | "POST" | "PATCH")) {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// `GET /v1/healthcheck` on a new connection: true when answered 204 within 5 s.
pub fn healthy(authority: &str) -> bool {
    raw_exchange(
        authority,
        &http_request("GET", "/v1/healthcheck", &[], b""),
        Duration::from_secs(5),
    )
    .is_ok_and(|r| r.status == 204)
}

/// A connection to `authority` from the source address `source` (any of 127.0.0.0/8 on
/// loopback): another peer than the tests' usual 127.0.0.1.
pub fn connect_from(source: &str, authority: &str) -> std::io::Result<TcpStream> {
    use std::net::{SocketAddr, ToSocketAddrs};
    let target: SocketAddr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let from: SocketAddr = format!("{source}:0")
        .parse()
        .map_err(std::io::Error::other)?;
    socket.bind(&from.into())?;
    socket.connect(&target.into())?;
    Ok(socket.into())
}
