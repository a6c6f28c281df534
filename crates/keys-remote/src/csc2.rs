//! Cloud Signature Consortium API v2 (2.0.0.2): the v1 calls under `/csc/v2/` with renamed fields
//! (`hashes`, `hashAlgorithmOID`, `authData`), and asynchronous signing: `signatures/signHash`
//! with `operationMode: "A"` answers a `responseID`, collected with `signatures/signPolling`.
//! No public v2 server exists to test against; the test double in `tests/` follows the
//! specification. Whether a pending poll answers HTTP 202 or an error object is not settled
//! ([unconfirmed] in the brief): both are read as "pending".

use crate::http::Http;
use crate::phone::{PhoneProvider, PollState};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kyso_keys::{KeyError, KeyKind, Scheme, SignatureAlgorithm};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A CSC v2 credential, signing synchronously or asynchronously.
pub struct Csc2 {
    http: Http,
    token: Option<String>,
    credential: String,
    pin: Option<String>,
    asynchronous: bool,
    multisign: usize,
    /// Synchronous answers, handed out by the first poll.
    ready: Mutex<HashMap<String, Vec<Vec<u8>>>>,
}

/// What `credentials/info` told about the credential.
pub struct Csc2Info {
    pub kind: KeyKind,
    pub certificates: Vec<Vec<u8>>,
    pub multisign: usize,
}

impl Csc2 {
    /// `base` ends in `/csc/v2`.
    pub fn open(
        base: &str,
        token: Option<String>,
        credential: &str,
        pin: Option<String>,
        asynchronous: bool,
        timeout: Duration,
    ) -> Result<(Self, Csc2Info), KeyError> {
        let http = Http::new(base, timeout)?;
        let v: Value = http.call(
            "credentials/info",
            Some(json!({"credentialID": credential, "certificates": "chain", "certInfo": false, "authInfo": true})),
            &[],
            token.as_deref(),
        )?;
        let certificates: Vec<Vec<u8>> = v
            .pointer("/cert/certificates")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| {
                c.as_str()
                    .and_then(|s| B64.decode(s).ok())
                    .ok_or_else(|| KeyError::Backend("credentials/info: a certificate is not base64".into()))
            })
            .collect::<Result<_, _>>()?;
        let first = certificates.first().ok_or_else(|| KeyError::Backend(format!("credentials/info: no certificate for {credential}")))?;
        let kind = KeyKind::from_certificate_der(first)?;
        let multisign = v.get("multisign").and_then(Value::as_u64).unwrap_or(1).clamp(1, 10_000) as usize;
        let me = Self { http, token, credential: credential.to_string(), pin, asynchronous, multisign, ready: Mutex::default() };
        Ok((me, Csc2Info { kind, certificates, multisign }))
    }

    fn authorize(&self, hashes: &[String], alg: SignatureAlgorithm) -> Result<String, KeyError> {
        let mut body = json!({"credentialID": self.credential, "numSignatures": hashes.len(), "hashes": hashes, "hashAlgorithmOID": alg.digest.oid().to_string()});
        if let Some(pin) = &self.pin {
            body["authData"] = json!([{"id": "PIN", "value": pin}]);
        }
        let v: Value = self.http.call("credentials/authorize", Some(body), &[], self.token.as_deref())?;
        v.get("SAD")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| KeyError::Backend("credentials/authorize: no SAD in the answer".into()))
    }

    fn decode(v: &Value, n: usize) -> Result<Vec<Vec<u8>>, KeyError> {
        let sigs = v.get("signatures").and_then(Value::as_array).ok_or_else(|| KeyError::Backend("the answer has no signatures".into()))?;
        if sigs.len() != n {
            return Err(KeyError::Backend(format!("the signing service returned {} signatures for {n} hashes", sigs.len())));
        }
        sigs.iter()
            .map(|s| s.as_str().and_then(|s| B64.decode(s).ok()).ok_or_else(|| KeyError::Backend("a signature is not base64".into())))
            .collect()
    }
}

impl PhoneProvider for Csc2 {
    fn name(&self) -> &str {
        "CSC v2"
    }

    fn max_batch(&self) -> usize {
        self.multisign
    }

    fn submit(&self, alg: SignatureAlgorithm, digests: &[Vec<u8>], _description: &str) -> Result<String, KeyError> {
        let hashes: Vec<String> = digests.iter().map(|d| B64.encode(d)).collect();
        let sad = self.authorize(&hashes, alg)?;
        let mut body = json!({
            "credentialID": self.credential, "SAD": sad, "hashes": hashes,
            "hashAlgorithmOID": alg.digest.oid().to_string(), "signAlgo": alg.oid().to_string(),
            "operationMode": if self.asynchronous { "A" } else { "S" },
        });
        if alg.scheme == Scheme::RsaPss {
            let params = alg.pss_params().map_err(|e| KeyError::Backend(format!("PSS parameters: {e}")))?.unwrap_or_default();
            body["signAlgoParams"] = json!(B64.encode(params));
        }
        if self.asynchronous {
            body["validity_period"] = json!(300_000);
        }
        let v: Value = self.http.call("signatures/signHash", Some(body), &[], self.token.as_deref())?;
        if self.asynchronous {
            return v
                .get("responseID")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| KeyError::Backend("signatures/signHash: no responseID for an asynchronous request".into()));
        }
        let sigs = Self::decode(&v, digests.len())?;
        let mut ready = self.ready.lock().map_err(|_| KeyError::Backend("lock poisoned".into()))?;
        let id = format!("sync-{}", ready.len());
        ready.insert(id.clone(), sigs);
        Ok(id)
    }

    fn poll(&self, id: &str) -> Result<PollState, KeyError> {
        if let Some(sigs) = self.ready.lock().map_err(|_| KeyError::Backend("lock poisoned".into()))?.remove(id) {
            return Ok(PollState::Signed(sigs));
        }
        match self.http.call::<Value>("signatures/signPolling", Some(json!({"responseID": id})), &[], self.token.as_deref()) {
            Ok(v) if v.get("signatures").is_some() => {
                let n = v["signatures"].as_array().map(Vec::len).unwrap_or(0);
                Ok(PollState::Signed(Self::decode(&v, n)?))
            }
            Ok(_) => Ok(PollState::Pending),
            Err(KeyError::Backend(msg)) if msg.contains("HTTP 202") || msg.contains("not_ready") || msg.contains("pending") => {
                Ok(PollState::Pending)
            }
            Err(KeyError::Backend(msg)) if msg.contains("expired") => Ok(PollState::Expired),
            Err(KeyError::Backend(msg)) if msg.contains("access_denied") || msg.contains("rejected") => Ok(PollState::Rejected),
            Err(e) => Err(e),
        }
    }
}
