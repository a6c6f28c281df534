//! Checks a signature value against a public key: every value a backend returns is checked
//! before it is embedded, and the validator uses the same code.

use crate::{DigestAlgorithm, KeyError, Scheme, SignatureAlgorithm};
use const_oid::db::rfc5912;
use pkcs8::DecodePublicKey;
use signature::hazmat::PrehashVerifier;

/// Verifies `signature` over `digest` with the public key in DER SubjectPublicKeyInfo `spki`.
pub fn verify_digest(spki: &[u8], alg: SignatureAlgorithm, digest: &[u8], signature: &[u8]) -> Result<(), KeyError> {
    let info = spki::SubjectPublicKeyInfoRef::try_from(spki).map_err(|e| KeyError::UnsupportedPublicKey(e.to_string()))?;
    let oid = info.algorithm.oid;
    let bad = |_| KeyError::BadSignature;
    match alg.scheme {
        Scheme::RsaPkcs1v15 | Scheme::RsaPss => {
            if oid != rfc5912::RSA_ENCRYPTION && oid != rfc5912::ID_RSASSA_PSS {
                return Err(KeyError::UnsupportedPublicKey(format!("{oid} is not an RSA key")));
            }
            let key = rsa::PublicKey::from_public_key_der(spki).map_err(|e| KeyError::UnsupportedPublicKey(e.to_string()))?;
            let res = match (alg.scheme, alg.digest) {
                (Scheme::RsaPkcs1v15, DigestAlgorithm::Sha256) => key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), digest, signature),
                (Scheme::RsaPkcs1v15, DigestAlgorithm::Sha384) => key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), digest, signature),
                (Scheme::RsaPkcs1v15, DigestAlgorithm::Sha512) => key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), digest, signature),
                // Salt length is read from the signature itself on verification.
                (_, DigestAlgorithm::Sha256) => key.verify(pss_any_salt::<sha2::Sha256>(), digest, signature),
                (_, DigestAlgorithm::Sha384) => key.verify(pss_any_salt::<sha2::Sha384>(), digest, signature),
                (_, DigestAlgorithm::Sha512) => key.verify(pss_any_salt::<sha2::Sha512>(), digest, signature),
            };
            res.map_err(|_| KeyError::BadSignature)
        }
        Scheme::Ecdsa => {
            if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(spki) {
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(bad)?;
                return key.verify_prehash(digest, &sig).map_err(bad);
            }
            if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(spki) {
                let sig = p384::ecdsa::Signature::from_der(signature).map_err(bad)?;
                return key.verify_prehash(digest, &sig).map_err(bad);
            }
            Err(KeyError::UnsupportedPublicKey(format!("{oid} is not a P-256 or P-384 key")))
        }
    }
}

/// PSS verification that reads the salt length from the signature (other signers choose it).
fn pss_any_salt<D: digest::Digest>() -> rsa::Pss<D> {
    rsa::Pss { blinded: false, digest: D::new(), salt_len: None }
}
