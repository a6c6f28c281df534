//! Keys held in process memory, loaded from PKCS#8 (plain or password-protected PEM/DER).

use crate::{DigestAlgorithm, KeyError, KeyKind, Scheme, SignatureAlgorithm, SigningKey};
use pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use signature::hazmat::PrehashSigner;

pub struct SoftwareKey {
    inner: Inner,
}

enum Inner {
    Rsa(Box<rsa::PrivateKey>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

impl SoftwareKey {
    /// Reads a PKCS#8 private key, PEM or DER, encrypted (with `password`) or not.
    pub fn from_pkcs8(bytes: &[u8], password: Option<&str>) -> Result<Self, KeyError> {
        let der = pem_or_der(bytes)?;
        let der = match password {
            _ if !is_encrypted(&der) => der,
            Some(pw) => {
                let enc = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice()).map_err(|e| KeyError::Load(e.to_string()))?;
                enc.decrypt(pw).map_err(|_| KeyError::WrongPassword)?.as_bytes().to_vec()
            }
            None => return Err(KeyError::Load("the private key is password-protected; give its password".into())),
        };
        if let Ok(k) = rsa::PrivateKey::from_pkcs8_der(&der) {
            return Ok(Self { inner: Inner::Rsa(Box::new(k)) });
        }
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(&der) {
            return Ok(Self { inner: Inner::P256(k) });
        }
        if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(&der) {
            return Ok(Self { inner: Inner::P384(k) });
        }
        Err(KeyError::Load("not an RSA, P-256 or P-384 PKCS#8 private key".into()))
    }

    /// Reads a PKCS#12 (.p12/.pfx) file: the key as PKCS#8 DER and the certificates it carries
    /// (DER), for a key store that keeps the key itself.
    pub fn read_pkcs12(bytes: &[u8], password: &str) -> Result<(Vec<u8>, Vec<Vec<u8>>), KeyError> {
        crate::pkcs12::open(bytes, password)
    }

    /// Reads a PKCS#12 (.p12/.pfx) file: the key and the certificates it carries (DER).
    pub fn from_pkcs12(bytes: &[u8], password: &str) -> Result<(Self, Vec<Vec<u8>>), KeyError> {
        let (key_der, certs) = crate::pkcs12::open(bytes, password)?;
        Ok((Self::from_pkcs8(&key_der, None)?, certs))
    }

    pub fn from_rsa(key: rsa::PrivateKey) -> Self {
        Self { inner: Inner::Rsa(Box::new(key)) }
    }

    pub fn from_p256(key: p256::ecdsa::SigningKey) -> Self {
        Self { inner: Inner::P256(key) }
    }

    pub fn from_p384(key: p384::ecdsa::SigningKey) -> Self {
        Self { inner: Inner::P384(key) }
    }

    /// The public key as DER SubjectPublicKeyInfo (to build or match certificates).
    pub fn public_key_der(&self) -> Result<Vec<u8>, KeyError> {
        use pkcs8::EncodePublicKey;
        let doc = match &self.inner {
            Inner::Rsa(k) => k.to_public_key().to_public_key_der(),
            Inner::P256(k) => k.verifying_key().to_public_key_der(),
            Inner::P384(k) => k.verifying_key().to_public_key_der(),
        };
        doc.map(|d| d.as_bytes().to_vec()).map_err(|e| KeyError::Load(e.to_string()))
    }
}

fn pem_or_der(bytes: &[u8]) -> Result<Vec<u8>, KeyError> {
    let text = String::from_utf8_lossy(bytes);
    if let Some(start) = text.find("-----BEGIN ") {
        let (_, doc) = der::pem::decode_vec(text[start..].as_bytes()).map_err(|e| KeyError::Load(format!("bad PEM: {e}")))?;
        Ok(doc)
    } else {
        Ok(bytes.to_vec())
    }
}

fn is_encrypted(der: &[u8]) -> bool {
    pkcs8::EncryptedPrivateKeyInfoRef::try_from(der).is_ok()
}

impl SigningKey for SoftwareKey {
    fn kind(&self) -> KeyKind {
        match &self.inner {
            Inner::Rsa(k) => KeyKind::Rsa { bits: k.size() * 8 },
            Inner::P256(_) => KeyKind::EcP256,
            Inner::P384(_) => KeyKind::EcP384,
        }
    }

    fn sign_digest(&self, alg: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        if digest.len() != alg.digest.output_len() {
            return Err(KeyError::Backend(format!("a {} digest must be {} bytes", alg.digest.name(), alg.digest.output_len())));
        }
        let backend = |e: &dyn std::fmt::Display| KeyError::Backend(e.to_string());
        match (&self.inner, alg.scheme) {
            (Inner::Rsa(k), Scheme::RsaPkcs1v15) => {
                let padding = match alg.digest {
                    DigestAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    DigestAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    DigestAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                k.sign(padding, digest).map_err(|e| backend(&e))
            }
            (Inner::Rsa(k), Scheme::RsaPss) => {
                let mut rng = getrandom::SysRng;
                match alg.digest {
                    DigestAlgorithm::Sha256 => k.sign_with_rng(&mut rng, rsa::Pss::<sha2::Sha256>::new(), digest),
                    DigestAlgorithm::Sha384 => k.sign_with_rng(&mut rng, rsa::Pss::<sha2::Sha384>::new(), digest),
                    DigestAlgorithm::Sha512 => k.sign_with_rng(&mut rng, rsa::Pss::<sha2::Sha512>::new(), digest),
                }
                .map_err(|e| backend(&e))
            }
            (Inner::P256(k), Scheme::Ecdsa) => {
                let sig: p256::ecdsa::Signature = k.sign_prehash(digest).map_err(|e| backend(&e))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (Inner::P384(k), Scheme::Ecdsa) => {
                let sig: p384::ecdsa::Signature = k.sign_prehash(digest).map_err(|e| backend(&e))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (_, scheme) => Err(KeyError::UnsupportedAlgorithm(format!("{scheme:?}"))),
        }
    }
}
