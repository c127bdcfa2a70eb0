//! A scripted HTTP server for the CLI's tests: it answers requests in order with canned
//! replies and records what it was sent, so that retries, headers and bodies can be checked
//! and failures (5xx) staged that the real server never gives on purpose.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// `GET /v1/hosts?mac=...` (method and target).
    pub line: String,
    /// Header lines, names lower-cased.
    pub headers: Vec<String>,
    /// The body, as text.
    pub body: String,
}

/// A server answering `replies` in order (then 500 to anything more); a reply of status 0
/// closes the connection without an answer (an answer lost on the way).
pub struct FakeServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeServer {
    /// Starts it on a free port of 127.0.0.1; each reply is a status and a JSON body.
    pub fn start(replies: Vec<(u16, &str)>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let mut replies: Vec<(u16, String)> = replies
            .into_iter()
            .map(|(s, b)| (s, b.to_string()))
            .collect();
        replies.reverse();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let reply = replies
                    .pop()
                    .unwrap_or((500, r#"{"message":"no more replies"}"#.to_string()));
                serve(stream, reply, &log);
            }
        });
        FakeServer { url, received }
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Reads one request, records it (before answering, so that it is seen once the client is
/// done), then answers.
fn serve(
    stream: TcpStream,
    (status, body): (u16, String),
    log: &Mutex<Vec<Received>>,
) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let line = line.trim_end().trim_end_matches(" HTTP/1.1").to_string();
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end().to_string();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let name = name.to_ascii_lowercase();
        if name == "content-length" {
            length = value.trim().parse().ok()?;
        }
        headers.push(format!("{name}:{value}"));
    }
    let mut content = vec![0; length];
    reader.read_exact(&mut content).ok()?;
    log.lock().unwrap().push(Received {
        line,
        headers,
        body: String::from_utf8_lossy(&content).into_owned(),
    });
    if status == 0 {
        return Some(());
    }
    let answer = format!(
        "HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = stream;
    stream.write_all(answer.as_bytes()).ok()
}
