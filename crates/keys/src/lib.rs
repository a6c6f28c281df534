//! `kyso-keys`: the one trait every key backend implements, the algorithm choices Kyso allows,
//! software keys from PKCS#8, and signature verification against a certificate's public key.
//!
//! Backends sign a *digest*: the signing core hashes, so an HSM or a remote provider never sees
//! the document.
#![forbid(unsafe_code)]

mod algid;
mod pkcs12;
mod software;
mod verify;

pub use algid::PssParams;
pub use software::SoftwareKey;
pub use verify::verify_digest;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use digest::Digest;

/// The hash functions Vietnam's rules allow (SHA-2, at least 256 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => rfc5912::ID_SHA_256,
            Self::Sha384 => rfc5912::ID_SHA_384,
            Self::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512].into_iter().find(|d| d.oid() == *oid)
    }

    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    pub fn hasher(self) -> Hasher {
        match self {
            Self::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Self::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            Self::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finalize()
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }
}

/// A running hash of one of the allowed algorithms.
#[derive(Clone)]
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    pub fn finalize(self) -> Vec<u8> {
        match self {
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha384(h) => h.finalize().to_vec(),
            Self::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// What a key is, which decides the schemes it can sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Rsa { bits: usize },
    EcP256,
    EcP384,
}

impl KeyKind {
    /// Largest DER signature value this key produces (ECDSA's DER length varies by a few bytes).
    pub fn max_signature_len(self) -> usize {
        match self {
            KeyKind::Rsa { bits } => bits.div_ceil(8),
            // SEQUENCE { INTEGER r, INTEGER s }, each with a possible leading zero.
            KeyKind::EcP256 => 2 + 2 * (2 + 33),
            KeyKind::EcP384 => 3 + 2 * (2 + 49),
        }
    }
}

impl KeyKind {
    /// The kind of the public key in a DER SubjectPublicKeyInfo (RSA size, EC curve).
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, KeyError> {
        use pkcs8::DecodePublicKey;
        use rsa::traits::PublicKeyParts;
        if let Ok(k) = rsa::PublicKey::from_public_key_der(spki) {
            return Ok(KeyKind::Rsa { bits: k.size() * 8 });
        }
        if p256::ecdsa::VerifyingKey::from_public_key_der(spki).is_ok() {
            return Ok(KeyKind::EcP256);
        }
        if p384::ecdsa::VerifyingKey::from_public_key_der(spki).is_ok() {
            return Ok(KeyKind::EcP384);
        }
        Err(KeyError::UnsupportedPublicKey("not an RSA, P-256 or P-384 public key".into()))
    }

    /// The kind of key a DER certificate certifies.
    pub fn from_certificate_der(cert: &[u8]) -> Result<Self, KeyError> {
        use der::{Decode, Encode};
        let c =
            x509_cert::Certificate::from_der(cert).map_err(|e| KeyError::UnsupportedPublicKey(format!("unreadable certificate: {e}")))?;
        let spki = c.tbs_certificate().subject_public_key_info().to_der().map_err(|e| KeyError::UnsupportedPublicKey(e.to_string()))?;
        Self::from_spki_der(&spki)
    }

    /// How people name it: "RSA-2048", "ECDSA P-256".
    pub fn describe(self) -> String {
        match self {
            KeyKind::Rsa { bits } => format!("RSA-{bits}"),
            KeyKind::EcP256 => "ECDSA P-256".into(),
            KeyKind::EcP384 => "ECDSA P-384".into(),
        }
    }
}

/// The padding or curve scheme of a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// RSASSA-PKCS1-v1_5: what Vietnamese providers' sample code uses; accepted, not preferred.
    RsaPkcs1v15,
    /// RSASSA-PSS with MGF1 over the same hash and a salt as long as the hash (RFC 8017).
    RsaPss,
    Ecdsa,
}

/// A complete signature algorithm: scheme plus hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureAlgorithm {
    pub scheme: Scheme,
    pub digest: DigestAlgorithm,
}

impl SignatureAlgorithm {
    /// Chooses the algorithm for a key: the key decides RSA or ECDSA, the caller the hash and,
    /// for RSA, whether to use PSS.
    pub fn choose(kind: KeyKind, digest: DigestAlgorithm, prefer_pss: bool) -> Result<Self, KeyError> {
        let scheme = match kind {
            KeyKind::Rsa { bits } if bits < 2048 => {
                return Err(KeyError::Policy(format!("RSA keys need at least 2048 bits; this one has {bits}")));
            }
            KeyKind::Rsa { .. } if prefer_pss => Scheme::RsaPss,
            KeyKind::Rsa { .. } => Scheme::RsaPkcs1v15,
            KeyKind::EcP256 | KeyKind::EcP384 => Scheme::Ecdsa,
        };
        Ok(Self { scheme, digest })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the private key: {0}")]
    Load(String),
    #[error("wrong password for the private key")]
    WrongPassword,
    #[error("wrong PIN for the token")]
    WrongPin,
    #[error("this key cannot sign with {0}")]
    UnsupportedAlgorithm(String),
    #[error("{0}")]
    Policy(String),
    #[error("the key backend failed to sign: {0}")]
    Backend(String),
    #[error("the signature does not verify against the certificate's public key")]
    BadSignature,
    #[error("the certificate's public key is not supported: {0}")]
    UnsupportedPublicKey(String),
}

/// The one trait every key backend implements: software keys, PKCS#11 tokens, remote providers.
pub trait SigningKey: Send + Sync {
    fn kind(&self) -> KeyKind;

    /// Signs `digest` (already hashed with `algorithm.digest`). ECDSA results are DER-encoded.
    fn sign_digest(&self, algorithm: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// Signs many digests, in order. Backends that can (a remote service's `multisign`) cover
    /// many with one authorisation; the default signs one by one.
    fn sign_digests(&self, algorithm: SignatureAlgorithm, digests: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, KeyError> {
        digests.iter().map(|d| self.sign_digest(algorithm, d)).collect()
    }
}

/// Turns a raw `r ‖ s` ECDSA signature (PKCS#11, CSC) into DER, as CMS wants it.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, KeyError> {
    match raw.len() {
        64 => p256::ecdsa::Signature::from_slice(raw).map(|s| s.to_der().as_bytes().to_vec()),
        96 => p384::ecdsa::Signature::from_slice(raw).map(|s| s.to_der().as_bytes().to_vec()),
        n => return Err(KeyError::Backend(format!("an ECDSA signature of {n} bytes is neither P-256 nor P-384"))),
    }
    .map_err(|_| KeyError::Backend("malformed ECDSA signature".into()))
}
