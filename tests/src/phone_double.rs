//! Doubles of the Vietnamese confirm-on-phone providers (VNPT SmartCA, Viettel MySign, MISA
//! eSign), following the request and response shapes in ../shared/BRIEF.md §6. There is no public
//! implementation of these APIs to test against; this is the stand-in, and it lives only here.
//! Each transaction stays pending for `pending_polls` polls (the signer reading the phone), then
//! ends as the test asks.

use crate::csc_double::der_of;
use crate::http_double::serve;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey, SoftwareKey};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Vnpt,
    Viettel,
    Misa,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Confirm,
    Reject,
    Expire,
    CertificateRevoked,
    /// Never leaves "pending".
    NeverAnswer,
}

pub struct PhoneDouble {
    pub base: String,
    /// How many signing requests (phone confirmations) were submitted.
    pub submissions: Arc<AtomicUsize>,
    /// How the next transactions end (a test may change it: confirm the key, then refuse).
    outcome: Arc<Mutex<Outcome>>,
}

struct Tx {
    hashes: Vec<Vec<u8>>,
    ids: Vec<String>,
    polls: usize,
}

impl PhoneDouble {
    pub fn start(dialect: Dialect, stem: &str, outcome: Outcome, pending_polls: usize) -> PhoneDouble {
        let key = Arc::new(SoftwareKey::from_pkcs8(&std::fs::read(crate::pki(&format!("{stem}.key.pem"))).unwrap(), None).unwrap());
        let cert = B64.encode(der_of(&crate::pki(&format!("{stem}.cert.pem"))));
        let ca = B64.encode(der_of(&crate::pki("issuing-ca.cert.pem")));
        let txs: Arc<Mutex<HashMap<String, Tx>>> = Arc::default();
        let submissions = Arc::new(AtomicUsize::new(0));
        let subs = submissions.clone();
        let shared_outcome = Arc::new(Mutex::new(outcome));
        let current = shared_outcome.clone();
        let base = serve(Arc::new(move |method, path, body| {
            let sign = |hashes: &[Vec<u8>]| -> Vec<String> {
                let alg = SignatureAlgorithm::choose(key.kind(), DigestAlgorithm::Sha256, false).unwrap();
                hashes.iter().map(|h| B64.encode(key.sign_digest(alg, h).unwrap())).collect()
            };
            let txs = &txs;
            let new_tx = |hashes: Vec<Vec<u8>>, ids: Vec<String>| -> String {
                subs.fetch_add(1, Ordering::SeqCst);
                let mut txs = txs.lock().unwrap();
                let id = format!("tx{}", txs.len() + 1);
                txs.insert(id.clone(), Tx { hashes, ids, polls: 0 });
                id
            };
            // Advances a transaction by one poll: None while pending, else the final outcome
            // (signatures deliberately in reverse order: clients must match them by id).
            let step = |id: &str| -> Option<(Outcome, Vec<(String, String)>)> {
                let mut txs = txs.lock().unwrap();
                let tx = txs.get_mut(id)?;
                tx.polls += 1;
                let outcome = *current.lock().unwrap();
                if tx.polls <= pending_polls || outcome == Outcome::NeverAnswer {
                    return None;
                }
                Some((outcome, tx.ids.iter().cloned().zip(sign(&tx.hashes)).rev().collect()))
            };
            Some(match (dialect, method, path) {
                (Dialect::Vnpt, "POST", "/sca/sp769/v1/credentials/get_certificate") => {
                    (200, json!({"status_code": 200, "message": "SUCCESS", "data": {"user_certificates": [{"serial_number": "5401", "cert_data": cert, "chain_data": {"ca_cert": ca, "root_cert": null}}]}}).to_string())
                }
                (Dialect::Vnpt, "POST", "/sca/sp769/v1/signatures/sign") => {
                    let files = body["sign_files"].as_array().cloned().unwrap_or_default();
                    let hashes = files.iter().map(|f| unhex(f["data_to_be_signed"].as_str().unwrap_or(""))).collect();
                    let ids = files.iter().map(|f| f["doc_id"].as_str().unwrap_or("").to_string()).collect();
                    let id = new_tx(hashes, ids);
                    (200, json!({"status_code": 200, "message": "SUCCESS", "data": {"transaction_id": id, "tran_code": "ABC123"}}).to_string())
                }
                (Dialect::Vnpt, "POST", p) if p.starts_with("/sca/sp769/v1/signatures/sign/") && p.ends_with("/status") => {
                    let id = p.trim_start_matches("/sca/sp769/v1/signatures/sign/").trim_end_matches("/status");
                    match step(id) {
                        None => (200, json!({"status_code": 200, "message": "PENDING", "data": {"status": "PENDING"}}).to_string()),
                        Some((Outcome::Confirm, sigs)) => (
                            200,
                            json!({"status_code": 200, "message": "SUCCESS", "data": {"status": "SUCCESS", "signatures": sigs.iter().map(|(d, s)| json!({"doc_id": d, "signature_value": s})).collect::<Vec<_>>()}}).to_string(),
                        ),
                        Some((o, _)) => (200, json!({"status_code": 200, "data": {"status": match o { Outcome::Reject => "REJECTED", Outcome::Expire => "EXPIRED", _ => "CERT_REVOKED" }}}).to_string()),
                    }
                }
                (Dialect::Viettel, "POST", "/vtss/service/ras/v1/login") => (200, json!({"access_token": "token-123", "expires_in": 3600}).to_string()),
                (Dialect::Viettel, "POST", "/vtss/service/certificates/info") => {
                    (200, json!({"credential_id": body["credential_id"], "cert": {"certificates": [cert, ca]}, "key": {"algo": ["1.2.840.113549.1.1.11"], "len": 2048}, "multisign": 2147483647, "scal": "2"}).to_string())
                }
                (Dialect::Viettel, "POST", "/vtss/service/signHash") => {
                    let hashes: Vec<Vec<u8>> = body["hash"].as_array().cloned().unwrap_or_default().iter().map(|h| B64.decode(h.as_str().unwrap_or("")).unwrap_or_default()).collect();
                    let ids = (0..hashes.len()).map(|i| i.to_string()).collect();
                    let id = new_tx(hashes, ids);
                    (200, json!({"transactionId": id}).to_string())
                }
                (Dialect::Viettel, "POST", "/vtss/service/requests/status") => match step(body["transactionId"].as_str().unwrap_or("")) {
                    None => (200, json!({"status": 4000}).to_string()),
                    Some((Outcome::Confirm, mut sigs)) => {
                        sigs.reverse();
                        (200, json!({"status": 1, "signatures": sigs.into_iter().map(|(_, s)| s).collect::<Vec<_>>()}).to_string())
                    }
                    Some((o, _)) => (200, json!({"status": match o { Outcome::Reject => 4002, Outcome::Expire => 4001, _ => 13004 }}).to_string()),
                },
                (Dialect::Misa, "POST", "/auth/login-api") => (200, json!({"accessToken": "a", "remoteSigningAccessToken": "r"}).to_string()),
                (Dialect::Misa, "GET", "/certificates/by-userId") => (200, json!([{"certId": "c1", "certificate": cert, "chain": [ca]}]).to_string()),
                (Dialect::Misa, "POST", "/Signing/hash") => {
                    let items = body["dataToBeSigned"].as_array().cloned().unwrap_or_default();
                    let hashes = items.iter().map(|i| B64.decode(i["hash"].as_str().unwrap_or("")).unwrap_or_default()).collect();
                    let ids = items.iter().map(|i| i["documentId"].as_str().unwrap_or("").to_string()).collect();
                    let id = new_tx(hashes, ids);
                    (200, json!({"transactionId": id}).to_string())
                }
                (Dialect::Misa, "GET", p) if p.starts_with("/Signing/status/") => match step(p.trim_start_matches("/Signing/status/")) {
                    None => (200, json!({"status": "PENDING"}).to_string()),
                    Some((Outcome::Confirm, sigs)) => {
                        (200, json!({"status": "SUCCESS", "signatures": sigs.iter().map(|(d, s)| json!({"documentId": d, "signature": s})).collect::<Vec<_>>()}).to_string())
                    }
                    Some((o, _)) => (200, json!({"status": match o { Outcome::Reject => "CANCELLED", Outcome::Expire => "EXPIRED", _ => "CERT_INVALID" }}).to_string()),
                },
                _ => (404, json!({"message": format!("no route {method} {path}")}).to_string()),
            })
        }));
        PhoneDouble { base, submissions, outcome: shared_outcome }
    }

    /// How transactions that end from now on end.
    pub fn set_outcome(&self, outcome: Outcome) {
        *self.outcome.lock().unwrap() = outcome;
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0)).collect()
}

/// A kyso.toml naming the double as provider `p`, with fast polling.
pub fn config_for(dialect: Dialect, base: &str, deadline_secs: u64) -> String {
    let polling = format!("poll_interval_ms = 50\npoll_deadline_secs = {deadline_secs}\n");
    match dialect {
        Dialect::Vnpt => format!(
            "[provider.p]\nkind = \"vnpt-smartca\"\nurl = \"{base}\"\nsp_id = \"SP1\"\nsp_password_env = \"TEST_SP_PASSWORD\"\n{polling}"
        ),
        Dialect::Viettel => format!(
            "[provider.p]\nkind = \"viettel-mysign\"\nurl = \"{base}\"\nclient_id = \"c\"\nclient_secret_env = \"TEST_SP_PASSWORD\"\nprofile_id = \"adss\"\n{polling}"
        ),
        Dialect::Misa => format!(
            "[provider.p]\nkind = \"misa-esign\"\nurl = \"{base}\"\nclient_id = \"c\"\nclient_key_env = \"TEST_SP_PASSWORD\"\npassword_env = \"TEST_SP_PASSWORD\"\n{polling}"
        ),
    }
}

/// The credential part of `csc:p/<credential>` for each dialect.
pub fn credential(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Vnpt => "001088012345",
        Dialect::Viettel => "001088012345/cred-1",
        Dialect::Misa => "huong.nt",
    }
}
