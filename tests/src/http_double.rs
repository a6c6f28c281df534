//! A minimal HTTP/1.1 server on loopback for protocol doubles: one thread per connection, JSON
//! bodies, bounded to a few hundred connections so a test cannot leave it running forever.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// (method, path, JSON body) → Some((status, body)) or None to never answer.
pub type Handler = Arc<dyn Fn(&str, &str, &Value) -> Option<(u16, String)> + Send + Sync>;

/// Starts the server; returns its base URL (`http://127.0.0.1:PORT`).
pub fn serve(handler: Handler) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(512).flatten() {
            let h = handler.clone();
            std::thread::spawn(move || answer(stream, &h));
        }
    });
    base
}

fn answer(mut stream: TcpStream, handler: &Handler) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let json: Value = serde_json::from_slice(&body).unwrap_or_default();
    match handler(&method, &path, &json) {
        Some((status, reply)) => {
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
        None => std::thread::sleep(std::time::Duration::from_secs(30)),
    }
}
