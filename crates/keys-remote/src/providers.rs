//! Vietnamese remote-signing providers, all confirm-on-phone ([`crate::phone`]).
//!
//! Request and response shapes follow ../shared/BRIEF.md §6 (VNPT SmartCA and Viettel MySign from
//! public third-party clients, MISA eSign from its Open API document). Field names the brief
//! marks as unconfirmed are isolated here, one function per call, so a correction touches one
//! place. Secrets (passwords, client secrets, tokens) are held here and never printed.

use crate::http::Http;
use crate::phone::{PhoneProvider, PollState};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kyso_keys::{DigestAlgorithm, KeyError, SignatureAlgorithm};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::Duration;

fn field<'a>(v: &'a Value, path: &[&str], call: &str) -> Result<&'a Value, KeyError> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p).ok_or_else(|| KeyError::Backend(format!("{call}: the answer lacks {}", path.join("."))))?;
    }
    Ok(cur)
}

fn b64(s: &Value, call: &str) -> Result<Vec<u8>, KeyError> {
    s.as_str().and_then(|s| B64.decode(s).ok()).ok_or_else(|| KeyError::Backend(format!("{call}: a value is not base64")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A transaction id of our own (VNPT asks the client for one).
fn new_transaction_id() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    format!("kyso-{}", hex(&b))
}

// ---------------------------------------------------------------------------------------------

/// VNPT SmartCA (`gwsca.vnpt.vn`; UAT `rmgateway.vnptit.vn`), service-provider API `sp769`.
pub struct VnptSmartCa {
    http: Http,
    sp_id: String,
    sp_password: String,
    /// The signer's citizen ID.
    user_id: String,
    serial: Option<String>,
}

impl VnptSmartCa {
    pub fn new(
        base: &str,
        sp_id: String,
        sp_password: String,
        user_id: String,
        serial: Option<String>,
        timeout: Duration,
    ) -> Result<Self, KeyError> {
        Ok(Self { http: Http::new(base, timeout)?, sp_id, sp_password, user_id, serial })
    }

    /// `credentials/get_certificate`: the signer's certificate and chain (DER), signer first.
    pub fn certificates(&self) -> Result<Vec<Vec<u8>>, KeyError> {
        let call = "credentials/get_certificate";
        let v: Value = self.http.call(
            "sca/sp769/v1/credentials/get_certificate",
            Some(json!({"sp_id": self.sp_id, "sp_password": self.sp_password, "user_id": self.user_id, "serial_number": self.serial, "transaction_id": new_transaction_id()})),
            &[],
            None,
        )?;
        let certs = field(&v, &["data", "user_certificates"], call)?.as_array().cloned().unwrap_or_default();
        let chosen = certs
            .iter()
            .find(|c| self.serial.as_deref().is_none_or(|s| c.get("serial_number").and_then(Value::as_str) == Some(s)))
            .ok_or_else(|| KeyError::Backend(format!("VNPT SmartCA has no certificate for user {}", self.user_id)))?;
        let mut out = vec![b64(field(chosen, &["cert_data"], call)?, call)?];
        if let Some(chain) = chosen.get("chain_data") {
            for k in ["ca_cert", "root_cert"] {
                if let Some(c) = chain.get(k).filter(|c| c.is_string()) {
                    out.push(b64(c, call)?);
                }
            }
        }
        Ok(out)
    }
}

impl PhoneProvider for VnptSmartCa {
    fn name(&self) -> &str {
        "VNPT SmartCA"
    }

    fn submit(&self, _alg: SignatureAlgorithm, digests: &[Vec<u8>], description: &str) -> Result<String, KeyError> {
        let files: Vec<Value> = digests
            .iter()
            .enumerate()
            .map(|(i, d)| json!({"data_to_be_signed": hex(d), "doc_id": format!("doc-{i}"), "file_type": "pdf", "sign_type": "hash"}))
            .collect();
        let v: Value = self.http.call(
            "sca/sp769/v1/signatures/sign",
            Some(json!({"sp_id": self.sp_id, "sp_password": self.sp_password, "user_id": self.user_id, "transaction_id": new_transaction_id(),
                "transaction_desc": description, "serial_number": self.serial, "sign_files": files})),
            &[],
            None,
        )?;
        Ok(field(&v, &["data", "transaction_id"], "signatures/sign")?.as_str().unwrap_or_default().to_string())
    }

    fn poll(&self, tx: &str) -> Result<PollState, KeyError> {
        let call = "signatures/sign/status";
        let v: Value = self.http.call(&format!("sca/sp769/v1/signatures/sign/{tx}/status"), Some(json!({})), &[], None)?;
        let status =
            v.get("data").and_then(|d| d.get("status")).or(v.get("message")).and_then(Value::as_str).unwrap_or("").to_ascii_uppercase();
        Ok(match status.as_str() {
            "SUCCESS" => {
                let mut sigs: Vec<(String, Vec<u8>)> = Vec::new();
                for s in field(&v, &["data", "signatures"], call)?.as_array().cloned().unwrap_or_default() {
                    let id = s.get("doc_id").and_then(Value::as_str).unwrap_or("").to_string();
                    sigs.push((id, b64(field(&s, &["signature_value"], call)?, call)?));
                }
                // Answers may come in any order: put them back in submission order.
                sigs.sort_by_key(|(id, _)| id.trim_start_matches("doc-").parse::<usize>().unwrap_or(usize::MAX));
                PollState::Signed(sigs.into_iter().map(|(_, s)| s).collect())
            }
            "PENDING" | "WAITING" | "PROCESSING" => PollState::Pending,
            "EXPIRED" => PollState::Expired,
            "REJECTED" | "CANCELED" | "CANCELLED" => PollState::Rejected,
            "CERT_REVOKED" | "CERT_EXPIRED" => PollState::CertificateInvalid,
            other => PollState::Failed(format!("status {other}")),
        })
    }
}

// ---------------------------------------------------------------------------------------------

/// Viettel MySign (`/vtss/service/...`): CSC-like, SHA-256 only, asynchronous with status codes.
pub struct ViettelMySign {
    http: Http,
    client_id: String,
    client_secret: String,
    profile_id: String,
    user_id: String,
    credential_id: String,
    token: Mutex<Option<String>>,
}

impl ViettelMySign {
    pub fn new(
        base: &str,
        client_id: String,
        client_secret: String,
        profile_id: String,
        user_id: String,
        credential_id: String,
        timeout: Duration,
    ) -> Result<Self, KeyError> {
        Ok(Self { http: Http::new(base, timeout)?, client_id, client_secret, profile_id, user_id, credential_id, token: Mutex::new(None) })
    }

    /// Logs in (`ras/v1/login`, a token valid 3,600 s) once, then reuses the token.
    fn token(&self) -> Result<String, KeyError> {
        let mut slot = self.token.lock().map_err(|_| KeyError::Backend("token lock poisoned".into()))?;
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        let v: Value = self.http.call(
            "vtss/service/ras/v1/login",
            Some(json!({"client_id": self.client_id, "client_secret": self.client_secret, "profile_id": self.profile_id, "user_id": self.user_id})),
            &[],
            None,
        )?;
        let t = field(&v, &["access_token"], "ras/v1/login")?.as_str().unwrap_or_default().to_string();
        *slot = Some(t.clone());
        Ok(t)
    }

    pub fn certificates(&self) -> Result<Vec<Vec<u8>>, KeyError> {
        let call = "certificates/info";
        let v: Value = self.http.call(
            "vtss/service/certificates/info",
            Some(json!({"client_id": self.client_id, "user_id": self.user_id, "credential_id": self.credential_id, "certificates": "chain", "certInfo": true, "authInfo": true})),
            &[],
            Some(&self.token()?),
        )?;
        field(&v, &["cert", "certificates"], call)?.as_array().cloned().unwrap_or_default().iter().map(|c| b64(c, call)).collect()
    }
}

impl PhoneProvider for ViettelMySign {
    fn name(&self) -> &str {
        "Viettel MySign"
    }

    fn submit(&self, alg: SignatureAlgorithm, digests: &[Vec<u8>], description: &str) -> Result<String, KeyError> {
        if alg.digest != DigestAlgorithm::Sha256 {
            return Err(KeyError::UnsupportedAlgorithm("Viettel MySign signs SHA-256 hashes only (use --hash sha256)".into()));
        }
        let v: Value = self.http.call(
            "vtss/service/signHash",
            Some(json!({
                "client_id": self.client_id, "credentialID": self.credential_id, "numSignatures": digests.len(),
                "documents": (0..digests.len()).map(|i| format!("{description} #{}", i + 1)).collect::<Vec<_>>(),
                "hash": digests.iter().map(|d| B64.encode(d)).collect::<Vec<_>>(),
                "hashAlgo": alg.digest.oid().to_string(), "signAlgo": alg.oid().to_string(), "async": 1
            })),
            &[],
            Some(&self.token()?),
        )?;
        Ok(field(&v, &["transactionId"], "signHash")?.as_str().unwrap_or_default().to_string())
    }

    fn poll(&self, tx: &str) -> Result<PollState, KeyError> {
        let call = "requests/status";
        let v: Value = self.http.call("vtss/service/requests/status", Some(json!({"transactionId": tx})), &[], Some(&self.token()?))?;
        let code = field(&v, &["status"], call)?.as_i64().unwrap_or(-1);
        Ok(match code {
            1 => PollState::Signed(
                field(&v, &["signatures"], call)?
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|s| b64(s, call))
                    .collect::<Result<_, _>>()?,
            ),
            4000 | 6000 => PollState::Pending,
            4001 => PollState::Expired,
            4002 => PollState::Rejected,
            13004 => PollState::CertificateInvalid,
            other => PollState::Failed(format!("status code {other}")),
        })
    }
}

// ---------------------------------------------------------------------------------------------

/// MISA eSign Open API: login with client headers, hash signing, status polling.
pub struct MisaESign {
    http: Http,
    client_id: String,
    client_key: String,
    username: String,
    password: String,
    cert_id: Option<String>,
    token: Mutex<Option<String>>,
}

impl MisaESign {
    pub fn new(
        base: &str,
        client_id: String,
        client_key: String,
        username: String,
        password: String,
        cert_id: Option<String>,
        timeout: Duration,
    ) -> Result<Self, KeyError> {
        Ok(Self { http: Http::new(base, timeout)?, client_id, client_key, username, password, cert_id, token: Mutex::new(None) })
    }

    fn headers(&self) -> [(&str, &str); 2] {
        [("x-clientid", self.client_id.as_str()), ("x-clientkey", self.client_key.as_str())]
    }

    /// `auth/login-api`: the token for remote signing.
    fn token(&self) -> Result<String, KeyError> {
        let mut slot = self.token.lock().map_err(|_| KeyError::Backend("token lock poisoned".into()))?;
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        let v: Value =
            self.http.call("auth/login-api", Some(json!({"userName": self.username, "password": self.password})), &self.headers(), None)?;
        let t = v
            .get("remoteSigningAccessToken")
            .or(v.get("accessToken"))
            .and_then(Value::as_str)
            .ok_or_else(|| KeyError::Backend("auth/login-api: no access token in the answer".into()))?
            .to_string();
        *slot = Some(t.clone());
        Ok(t)
    }

    pub fn certificates(&self) -> Result<Vec<Vec<u8>>, KeyError> {
        let call = "certificates/by-userId";
        let v: Value = self.http.call("certificates/by-userId", None, &self.headers(), Some(&self.token()?))?;
        let list = v.as_array().cloned().unwrap_or_default();
        let chosen = list
            .iter()
            .find(|c| self.cert_id.as_deref().is_none_or(|id| c.get("certId").and_then(Value::as_str) == Some(id)))
            .ok_or_else(|| KeyError::Backend("MISA eSign lists no certificate for this user".into()))?;
        let mut out = vec![b64(field(chosen, &["certificate"], call)?, call)?];
        for c in chosen.get("chain").and_then(Value::as_array).cloned().unwrap_or_default() {
            out.push(b64(&c, call)?);
        }
        Ok(out)
    }
}

impl PhoneProvider for MisaESign {
    fn name(&self) -> &str {
        "MISA eSign"
    }

    fn submit(&self, alg: SignatureAlgorithm, digests: &[Vec<u8>], description: &str) -> Result<String, KeyError> {
        let items: Vec<Value> =
            digests.iter().enumerate().map(|(i, d)| json!({"documentId": format!("doc-{i}"), "hash": B64.encode(d)})).collect();
        let v: Value = self.http.call(
            "Signing/hash",
            Some(json!({"certId": self.cert_id, "hashAlgorithm": alg.digest.name().replace('-', ""), "description": description, "dataToBeSigned": items})),
            &self.headers(),
            Some(&self.token()?),
        )?;
        Ok(field(&v, &["transactionId"], "Signing/hash")?.as_str().unwrap_or_default().to_string())
    }

    fn poll(&self, tx: &str) -> Result<PollState, KeyError> {
        let call = "Signing/status";
        let v: Value = self.http.call(&format!("Signing/status/{tx}"), None, &self.headers(), Some(&self.token()?))?;
        Ok(match field(&v, &["status"], call)?.as_str().unwrap_or("").to_ascii_uppercase().as_str() {
            "SUCCESS" => {
                let mut sigs: Vec<(String, Vec<u8>)> = Vec::new();
                for s in field(&v, &["signatures"], call)?.as_array().cloned().unwrap_or_default() {
                    sigs.push((
                        s.get("documentId").and_then(Value::as_str).unwrap_or("").to_string(),
                        b64(field(&s, &["signature"], call)?, call)?,
                    ));
                }
                sigs.sort_by_key(|(id, _)| id.trim_start_matches("doc-").parse::<usize>().unwrap_or(usize::MAX));
                PollState::Signed(sigs.into_iter().map(|(_, s)| s).collect())
            }
            "PENDING" | "PROCESSING" | "WAITING_CONFIRM" => PollState::Pending,
            "CANCELLED" | "REJECTED" => PollState::Rejected,
            "EXPIRED" => PollState::Expired,
            "CERT_INVALID" => PollState::CertificateInvalid,
            other => PollState::Failed(format!("status {other} {}", v.get("errorCode").and_then(Value::as_str).unwrap_or(""))),
        })
    }
}
