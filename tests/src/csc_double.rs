//! A CSC v1 service double for fault tests: it signs correctly with a test PKI key, or misbehaves
//! as told (HTTP 5xx, malformed JSON, wrong signature count, garbage signatures, no answer).
//! The real protocol peer for the good path is certomancer-csc-dummy; this only breaks things.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey, SoftwareKey};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    ServerError,
    MalformedJson,
    FewerSignatures,
    GarbageSignatures,
    /// Accept the connection, never answer signHash.
    Hang,
}

pub struct CscDouble {
    pub base: String,
    pub sign_calls: Arc<AtomicUsize>,
}

impl CscDouble {
    /// Serves `stem` of the test PKI (RSA keys sign PKCS#1 v1.5 SHA-256) with `fault` on signHash.
    pub fn start(stem: &str, fault: Fault) -> CscDouble {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}/csc/v1", listener.local_addr().unwrap());
        let key = Arc::new(SoftwareKey::from_pkcs8(&std::fs::read(crate::pki(&format!("{stem}.key.pem"))).unwrap(), None).unwrap());
        let cert = der_of(&crate::pki(&format!("{stem}.cert.pem")));
        let ca = der_of(&crate::pki("issuing-ca.cert.pem"));
        let sign_calls = Arc::new(AtomicUsize::new(0));
        let calls = sign_calls.clone();
        std::thread::spawn(move || {
            // Bounded: a test makes a handful of calls.
            for stream in listener.incoming().take(64).flatten() {
                let (key, cert, ca, calls) = (key.clone(), cert.clone(), ca.clone(), calls.clone());
                std::thread::spawn(move || serve(stream, &key, &cert, &ca, fault, &calls));
            }
        });
        CscDouble { base, sign_calls }
    }
}

fn der_of(pem_path: &std::path::Path) -> Vec<u8> {
    let text = std::fs::read_to_string(pem_path).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    B64.decode(b64).unwrap()
}

fn serve(mut stream: TcpStream, key: &SoftwareKey, cert: &[u8], ca: &[u8], fault: Fault, calls: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
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
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let (status, reply) = if path.ends_with("credentials/info") {
        let algo = if matches!(key.kind(), kyso_keys::KeyKind::Rsa { .. }) { "1.2.840.113549.1.1.11" } else { "1.2.840.10045.4.3.2" };
        let mut k = serde_json::json!({"status": "enabled", "algo": [algo], "len": 2048});
        if key.kind() == kyso_keys::KeyKind::EcP256 {
            k["curve"] = "1.2.840.10045.3.1.7".into();
        }
        (200, serde_json::json!({"key": k, "cert": {"certificates": [B64.encode(cert), B64.encode(ca)]}, "authMode": "implicit", "SCAL": "2", "multisign": 4}).to_string())
    } else if path.ends_with("credentials/authorize") {
        (200, serde_json::json!({"SAD": "sad-for-test"}).to_string())
    } else if path.ends_with("signatures/signHash") {
        calls.fetch_add(1, Ordering::SeqCst);
        let hashes: Vec<Vec<u8>> = req["hash"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|h| B64.decode(h.as_str().unwrap_or("")).unwrap_or_default())
            .collect();
        let alg = SignatureAlgorithm::choose(key.kind(), DigestAlgorithm::Sha256, false).unwrap();
        let sigs: Vec<String> = hashes.iter().map(|h| B64.encode(key.sign_digest(alg, h).unwrap_or_default())).collect();
        match fault {
            Fault::None => (200, serde_json::json!({"signatures": sigs}).to_string()),
            Fault::ServerError => (503, r#"{"error":"temporarily_unavailable","error_description":"HSM cluster busy"}"#.to_string()),
            Fault::MalformedJson => (200, r#"{"signatures": [ "#.to_string()),
            Fault::FewerSignatures => (200, serde_json::json!({"signatures": &sigs[..sigs.len().saturating_sub(1)]}).to_string()),
            Fault::GarbageSignatures => {
                (200, serde_json::json!({"signatures": sigs.iter().map(|_| B64.encode([7u8; 256])).collect::<Vec<_>>()}).to_string())
            }
            Fault::Hang => {
                std::thread::sleep(std::time::Duration::from_secs(30));
                return;
            }
        }
    } else {
        (404, "{}".to_string())
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    );
}
