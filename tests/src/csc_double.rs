//! A CSC v1 service double for fault tests: it signs correctly with a test PKI key, or misbehaves
//! as told (HTTP 5xx, malformed JSON, wrong signature count, garbage signatures, no answer).
//! The real protocol peer for the good path is certomancer-csc-dummy; this only breaks things.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey, SoftwareKey};
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
        let key = Arc::new(SoftwareKey::from_pkcs8(&std::fs::read(crate::pki(&format!("{stem}.key.pem"))).unwrap(), None).unwrap());
        let cert = der_of(&crate::pki(&format!("{stem}.cert.pem")));
        let ca = der_of(&crate::pki("issuing-ca.cert.pem"));
        let sign_calls = Arc::new(AtomicUsize::new(0));
        let calls = sign_calls.clone();
        let base = crate::http_double::serve(Arc::new(move |_, path, req| respond(path, req, &key, &cert, &ca, fault, &calls)));
        CscDouble { base: format!("{base}/csc/v1"), sign_calls }
    }
}

/// The DER inside a PEM certificate file.
pub fn der_of(pem_path: &std::path::Path) -> Vec<u8> {
    let text = std::fs::read_to_string(pem_path).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    B64.decode(b64).unwrap()
}

fn respond(
    path: &str,
    req: &serde_json::Value,
    key: &SoftwareKey,
    cert: &[u8],
    ca: &[u8],
    fault: Fault,
    calls: &AtomicUsize,
) -> Option<(u16, String)> {
    Some(if path.ends_with("credentials/info") {
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
            Fault::Hang => return None,
        }
    } else {
        (404, "{}".to_string())
    })
}
