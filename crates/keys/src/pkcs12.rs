//! PKCS#12 (RFC 7292) files as exported by OpenSSL 3 and current Windows: PBES2 (PBKDF2 +
//! AES) for key and certificates, an HMAC-SHA-2 integrity MAC. The `pkcs12` crate pins another
//! `cms` pre-release than this workspace's generation, so the few structures are written here.

use crate::KeyError;
use cms::content_info::ContentInfo;
use cms::encrypted_data::EncryptedData;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use digest::Digest;
use hmac::{KeyInit, Mac};
use spki::AlgorithmIdentifierOwned;

/// `PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }`
#[derive(Sequence)]
struct Pfx {
    version: u8,
    auth_safe: ContentInfo,
    #[asn1(optional = "true")]
    mac_data: Option<MacData>,
}

/// `MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }`
#[derive(Sequence)]
struct MacData {
    mac: DigestInfo,
    mac_salt: OctetString,
    #[asn1(optional = "true")]
    iterations: Option<u32>,
}

/// `DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }`
#[derive(Sequence)]
struct DigestInfo {
    algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

/// `SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OF Attribute OPTIONAL }`
#[derive(Sequence)]
struct SafeBag {
    bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    bag_value: Any,
    #[asn1(optional = "true")]
    bag_attributes: Option<SetOfVec<x509_cert::attr::Attribute>>,
}

/// `CertBag ::= SEQUENCE { certId OID, certValue [0] EXPLICIT OCTET STRING }`
#[derive(Sequence)]
struct CertBag {
    cert_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    cert_value: OctetString,
}

const KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");
const SHROUDED_KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");

fn bad(what: impl std::fmt::Display) -> KeyError {
    KeyError::Load(format!("not a readable PKCS#12 file: {what}"))
}

/// The private key (PKCS#8 DER) and the certificates (DER) of a PKCS#12 file.
pub(crate) fn open(bytes: &[u8], password: &str) -> Result<(Vec<u8>, Vec<Vec<u8>>), KeyError> {
    let pfx = Pfx::from_der(bytes).map_err(bad)?;
    if pfx.auth_safe.content_type != rfc5911::ID_DATA {
        return Err(KeyError::Load("PKCS#12 files signed with a public key are not supported".into()));
    }
    let auth_safe = pfx.auth_safe.content.decode_as::<OctetString>().map_err(bad)?;
    match &pfx.mac_data {
        Some(mac) => verify_mac(mac, auth_safe.as_bytes(), password)?,
        None => return Err(KeyError::Load("the PKCS#12 file has no integrity MAC".into())),
    }
    let contents = Vec::<ContentInfo>::from_der(auth_safe.as_bytes()).map_err(bad)?;
    let (mut key, mut certs) = (None, Vec::new());
    for ci in contents {
        let safe_contents = if ci.content_type == rfc5911::ID_DATA {
            ci.content.decode_as::<OctetString>().map_err(bad)?.as_bytes().to_vec()
        } else if ci.content_type == rfc5911::ID_ENCRYPTED_DATA {
            let ed = ci.content.decode_as::<EncryptedData>().map_err(bad)?;
            let scheme =
                pkcs5::EncryptionScheme::try_from(ed.enc_content_info.content_enc_alg.to_der().map_err(bad)?.as_slice()).map_err(|_| {
                    KeyError::Load("the PKCS#12 file uses legacy encryption; re-export it with AES (OpenSSL 3's default)".into())
                })?;
            let ct = ed.enc_content_info.encrypted_content.ok_or_else(|| bad("empty encrypted content"))?;
            scheme.decrypt(password, ct.as_bytes()).map_err(|_| KeyError::WrongPassword)?
        } else {
            continue;
        };
        for bag in Vec::<SafeBag>::from_der(&safe_contents).map_err(bad)? {
            if bag.bag_id == SHROUDED_KEY_BAG {
                let der = bag.bag_value.to_der().map_err(bad)?;
                let enc = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice()).map_err(bad)?;
                key = Some(enc.decrypt(password).map_err(|_| KeyError::WrongPassword)?.as_bytes().to_vec());
            } else if bag.bag_id == KEY_BAG {
                key = Some(bag.bag_value.to_der().map_err(bad)?);
            } else if bag.bag_id == CERT_BAG {
                let cb = bag.bag_value.decode_as::<CertBag>().map_err(bad)?;
                if cb.cert_id == X509_CERTIFICATE {
                    certs.push(cb.cert_value.as_bytes().to_vec());
                }
            }
        }
    }
    let key = key.ok_or_else(|| KeyError::Load("the PKCS#12 file holds no private key".into()))?;
    Ok((key, certs))
}

fn verify_mac(mac: &MacData, data: &[u8], password: &str) -> Result<(), KeyError> {
    let iterations = mac.iterations.unwrap_or(1).max(1);
    let salt = mac.mac_salt.as_bytes();
    let expected = mac.mac.digest.as_bytes();
    let oid = mac.mac.algorithm.oid;
    let ok = match crate::DigestAlgorithm::from_oid(&oid) {
        Some(crate::DigestAlgorithm::Sha256) => check::<sha2::Sha256>(password, salt, iterations, data, expected),
        Some(crate::DigestAlgorithm::Sha384) => check::<sha2::Sha384>(password, salt, iterations, data, expected),
        Some(crate::DigestAlgorithm::Sha512) => check::<sha2::Sha512>(password, salt, iterations, data, expected),
        None => return Err(KeyError::Load(format!("the PKCS#12 MAC uses {oid}; re-export the file with SHA-256 (OpenSSL 3's default)"))),
    };
    if ok { Ok(()) } else { Err(KeyError::WrongPassword) }
}

fn check<D>(password: &str, salt: &[u8], iterations: u32, data: &[u8], expected: &[u8]) -> bool
where
    D: Digest + digest::common::BlockSizeUser + Clone,
    hmac::SimpleHmac<D>: KeyInit + Mac,
{
    let key = mac_key::<D>(password, salt, iterations);
    let Ok(mut h) = <hmac::SimpleHmac<D> as KeyInit>::new_from_slice(&key) else { return false };
    h.update(data);
    h.verify_slice(expected).is_ok()
}

/// The PKCS#12 key derivation (RFC 7292 appendix B.2) for the MAC key (ID 3), one hash long.
fn mac_key<D: Digest + digest::common::BlockSizeUser>(password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
    let v = <D as digest::common::BlockSizeUser>::block_size();
    let mut pw: Vec<u8> = password.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    pw.extend_from_slice(&[0, 0]);
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let len = v * src.len().div_ceil(v);
        src.iter().copied().cycle().take(len).collect()
    };
    let mut input = vec![3u8; v];
    input.extend(fill(salt));
    input.extend(fill(&pw));
    let mut a = D::digest(&input).to_vec();
    for _ in 1..iterations {
        a = D::digest(&a).to_vec();
    }
    a
}
