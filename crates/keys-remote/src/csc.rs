//! Cloud Signature Consortium API v1.0.4.0 client (the field names of v1: `hash`, `hashAlgo`,
//! `PIN`, `OTP`, `SAD`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kyso_keys::{KeyError, KeyKind, Scheme, SignatureAlgorithm, SigningKey};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;

/// A CSC service: base URL (ending in `/csc/v1`), optional bearer token.
pub struct CscClient {
    http: crate::http::Http,
    token: Option<String>,
}

impl std::fmt::Debug for CscClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CscClient").field("base", &self.http.base()).field("token", &self.token.as_ref().map(|_| "***")).finish()
    }
}

/// What `credentials/info` says of one credential.
#[derive(Clone, Debug)]
pub struct Credential {
    pub id: String,
    /// DER certificates, the signer's first.
    pub certificates: Vec<Vec<u8>>,
    /// Signature algorithm OIDs the key supports.
    pub algorithms: Vec<String>,
    pub kind: KeyKind,
    /// Hashes one authorisation may cover.
    pub multisign: usize,
    /// Sole Control Assurance Level: 2 binds the authorisation to the hashes.
    pub scal: u8,
    pub auth_mode: String,
}

#[derive(Deserialize)]
struct InfoKey {
    #[serde(default)]
    algo: Vec<String>,
    len: Option<u64>,
    curve: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct InfoCert {
    #[serde(default)]
    certificates: Vec<String>,
}

#[derive(Deserialize)]
struct CredentialInfo {
    key: InfoKey,
    cert: Option<InfoCert>,
    #[serde(rename = "authMode")]
    auth_mode: Option<String>,
    #[serde(rename = "SCAL")]
    scal: Option<String>,
    multisign: Option<u64>,
}

#[derive(Deserialize)]
struct ListResponse {
    #[serde(rename = "credentialIDs")]
    credential_ids: Vec<String>,
}

#[derive(Deserialize)]
struct AuthorizeResponse {
    #[serde(rename = "SAD")]
    sad: String,
}

#[derive(Deserialize)]
struct SignHashResponse {
    signatures: Vec<String>,
}

#[derive(Deserialize)]
struct TimestampResponse {
    timestamp: String,
}

const P256_OID: &str = "1.2.840.10045.3.1.7";
const P384_OID: &str = "1.3.132.0.34";

fn err(msg: String) -> KeyError {
    KeyError::Backend(msg)
}

impl CscClient {
    /// `base` is the service root up to and including `/csc/v1`; `timeout` bounds every call.
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Result<Self, KeyError> {
        Ok(Self { http: crate::http::Http::new(base, timeout)?, token })
    }

    fn post<T: DeserializeOwned>(&self, method: &str, body: Value) -> Result<T, KeyError> {
        self.http.call(method, Some(body), &[], self.token.as_deref())
    }

    pub fn info(&self) -> Result<Value, KeyError> {
        self.post("info", json!({}))
    }

    pub fn list_credentials(&self) -> Result<Vec<String>, KeyError> {
        Ok(self.post::<ListResponse>("credentials/list", json!({}))?.credential_ids)
    }

    pub fn credential(&self, id: &str) -> Result<Credential, KeyError> {
        let info: CredentialInfo =
            self.post("credentials/info", json!({ "credentialID": id, "certificates": "chain", "authInfo": true }))?;
        if info.key.status.as_deref().is_some_and(|s| s != "enabled") {
            return Err(err(format!("credential {id} is {}", info.key.status.unwrap_or_default())));
        }
        let certificates = info
            .cert
            .map(|c| c.certificates)
            .unwrap_or_default()
            .iter()
            .map(|c| B64.decode(c).map_err(|_| err(format!("credentials/info: certificate of {id} is not base64"))))
            .collect::<Result<Vec<_>, _>>()?;
        let rsa = info.key.algo.iter().any(|a| a.starts_with("1.2.840.113549.1.1."));
        let kind = match info.key.curve.as_deref() {
            Some(P256_OID) => KeyKind::EcP256,
            Some(P384_OID) => KeyKind::EcP384,
            Some(other) => return Err(KeyError::UnsupportedAlgorithm(format!("curve {other}"))),
            None if rsa => KeyKind::Rsa { bits: info.key.len.unwrap_or(0) as usize },
            None => return Err(err(format!("credentials/info: cannot tell the key type of {id}"))),
        };
        Ok(Credential {
            id: id.to_string(),
            certificates,
            algorithms: info.key.algo,
            kind,
            multisign: info.multisign.unwrap_or(1).clamp(1, 10_000) as usize,
            scal: info.scal.as_deref().and_then(|s| s.parse().ok()).unwrap_or(1),
            auth_mode: info.auth_mode.unwrap_or_else(|| "implicit".into()),
        })
    }

    /// `credentials/authorize` for these hashes; returns the SAD.
    pub fn authorize(&self, credential: &str, hashes: &[Vec<u8>], pin: Option<&str>, otp: Option<&str>) -> Result<String, KeyError> {
        let mut body = json!({
            "credentialID": credential,
            "numSignatures": hashes.len(),
            "hash": hashes.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
        });
        if let Some(p) = pin {
            body["PIN"] = json!(p);
        }
        if let Some(o) = otp {
            body["OTP"] = json!(o);
        }
        Ok(self.post::<AuthorizeResponse>("credentials/authorize", body)?.sad)
    }

    /// `signatures/signHash`: one signature per hash, in order.
    pub fn sign_hash(&self, credential: &str, sad: &str, hashes: &[Vec<u8>], alg: SignatureAlgorithm) -> Result<Vec<Vec<u8>>, KeyError> {
        let mut body = json!({
            "credentialID": credential,
            "SAD": sad,
            "hash": hashes.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
            "signAlgo": alg.oid().to_string(),
        });
        if alg.scheme == Scheme::RsaPss {
            // id-RSASSA-PSS implies no hash: name it and give the parameters.
            body["hashAlgo"] = json!(alg.digest.oid().to_string());
            let params = alg.pss_params().map_err(|e| err(format!("PSS parameters: {e}")))?.unwrap_or_default();
            body["signAlgoParams"] = json!(B64.encode(params));
        }
        let resp: SignHashResponse = self.post("signatures/signHash", body)?;
        if resp.signatures.len() != hashes.len() {
            return Err(err(format!("the signing service returned {} signatures for {} hashes", resp.signatures.len(), hashes.len())));
        }
        resp.signatures.iter().map(|s| B64.decode(s).map_err(|_| err("signatures/signHash: a signature is not base64".into()))).collect()
    }

    /// `signatures/timestamp` (RFC 3161 token, DER) for a digest.
    pub fn timestamp(&self, digest: &[u8], digest_oid: &str, client_data: Option<&str>) -> Result<Vec<u8>, KeyError> {
        let mut body = json!({ "hash": B64.encode(digest), "hashAlgo": digest_oid });
        if let Some(c) = client_data {
            body["clientData"] = json!(c);
        }
        let resp: TimestampResponse = self.post("signatures/timestamp", body)?;
        B64.decode(resp.timestamp).map_err(|_| err("signatures/timestamp: the token is not base64".into()))
    }
}

/// A CSC credential used as a signing key.
pub struct CscKey {
    client: CscClient,
    credential: Credential,
    pin: Option<String>,
    otp: Option<String>,
}

impl CscKey {
    pub fn new(client: CscClient, credential_id: &str, pin: Option<String>, otp: Option<String>) -> Result<Self, KeyError> {
        let credential = client.credential(credential_id)?;
        Ok(Self { client, credential, pin, otp })
    }

    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// How many authorisation calls a batch of `n` hashes takes.
    pub fn authorizations_for(&self, n: usize) -> usize {
        n.div_ceil(self.credential.multisign)
    }
}

impl SigningKey for CscKey {
    fn kind(&self) -> KeyKind {
        self.credential.kind
    }

    fn sign_digest(&self, alg: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut out = self.sign_digests(alg, &[digest.to_vec()])?;
        Ok(out.remove(0))
    }

    /// One authorisation and one signHash per `multisign` hashes.
    fn sign_digests(&self, alg: SignatureAlgorithm, digests: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, KeyError> {
        let mut out = Vec::with_capacity(digests.len());
        for chunk in digests.chunks(self.credential.multisign) {
            let sad = self.client.authorize(&self.credential.id, chunk, self.pin.as_deref(), self.otp.as_deref())?;
            for sig in self.client.sign_hash(&self.credential.id, &sad, chunk, alg)? {
                out.push(match alg.scheme {
                    // CMS wants DER; some services answer with raw r ‖ s.
                    Scheme::Ecdsa if matches!(sig.len(), 64 | 96) && sig.first() != Some(&0x30) => kyso_keys::ecdsa_raw_to_der(&sig)?,
                    _ => sig,
                });
            }
        }
        Ok(out)
    }
}
