//! A CSC API v2 double written from the specification (2.0.0.2): `credentials/info`,
//! `credentials/authorize` with `authData`, `signatures/signHash` with `hashes` and
//! `hashAlgorithmOID`, synchronous or `operationMode: "A"` with `signatures/signPolling`
//! (HTTP 202 while pending). It checks the v2 field names so a client sending v1 names fails.

use crate::csc_double::der_of;
use crate::http_double::serve;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey, SoftwareKey};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// responseID → (polls so far, base64 signatures).
type Pending = HashMap<String, (usize, Vec<String>)>;

pub struct Csc2Double {
    pub base: String,
    pub sign_calls: Arc<AtomicUsize>,
    pub polls: Arc<AtomicUsize>,
}

impl Csc2Double {
    /// Serves `stem`; asynchronous requests stay pending for `pending_polls` polls.
    pub fn start(stem: &str, multisign: usize, pending_polls: usize) -> Csc2Double {
        let key = Arc::new(SoftwareKey::from_pkcs8(&std::fs::read(crate::pki(&format!("{stem}.key.pem"))).unwrap(), None).unwrap());
        let cert = B64.encode(der_of(&crate::pki(&format!("{stem}.cert.pem"))));
        let ca = B64.encode(der_of(&crate::pki("issuing-ca.cert.pem")));
        let pending: Arc<Mutex<Pending>> = Arc::default();
        let (sign_calls, polls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (sc, pc) = (sign_calls.clone(), polls.clone());
        let base = serve(Arc::new(move |_, path, body| {
            let bad = |what: &str| Some((400, json!({"error": "invalid_request", "error_description": what}).to_string()));
            match path {
                "/csc/v2/credentials/info" => Some((200, json!({"key": {"status": "enabled", "algo": ["1.2.840.10045.4.3.2"], "len": 256}, "cert": {"certificates": [cert, ca]}, "auth": {"mode": "explicit", "expression": "PIN"}, "SCAL": "2", "multisign": multisign}).to_string())),
                "/csc/v2/credentials/authorize" => {
                    if body.get("hash").is_some() || body.get("hashes").is_none() {
                        return bad("v2 wants hashes, not hash");
                    }
                    if body.pointer("/authData/0/id").and_then(|v| v.as_str()) != Some("PIN") {
                        return bad("missing authData PIN");
                    }
                    Some((200, json!({"SAD": "sad"}).to_string()))
                }
                "/csc/v2/signatures/signHash" => {
                    sc.fetch_add(1, Ordering::SeqCst);
                    if body.get("hashAlgorithmOID").is_none() || body.get("hashes").is_none() {
                        return bad("v2 wants hashes and hashAlgorithmOID");
                    }
                    let alg = SignatureAlgorithm::choose(key.kind(), DigestAlgorithm::Sha256, false).unwrap();
                    let sigs: Vec<String> = body["hashes"].as_array().cloned().unwrap_or_default().iter().map(|h| B64.encode(key.sign_digest(alg, &B64.decode(h.as_str().unwrap_or("")).unwrap_or_default()).unwrap())).collect();
                    if body["operationMode"] == "A" {
                        let mut p = pending.lock().unwrap();
                        let id = format!("resp-{}", p.len());
                        p.insert(id.clone(), (0, sigs));
                        Some((202, json!({"responseID": id}).to_string()))
                    } else {
                        Some((200, json!({"signatures": sigs}).to_string()))
                    }
                }
                "/csc/v2/signatures/signPolling" => {
                    pc.fetch_add(1, Ordering::SeqCst);
                    let mut p = pending.lock().unwrap();
                    let Some((n, sigs)) = p.get_mut(body["responseID"].as_str().unwrap_or("")) else {
                        return Some((400, json!({"error": "invalid_request", "error_description": "unknown responseID"}).to_string()));
                    };
                    *n += 1;
                    if *n <= pending_polls { Some((202, "{}".into())) } else { Some((200, json!({"signatures": sigs}).to_string())) }
                }
                _ => Some((404, "{}".into())),
            }
        }));
        Csc2Double { base: format!("{base}/csc/v2"), sign_calls, polls }
    }
}
