//! RFC 3161 time-stamp protocol structures (the generation of crates used here has no
//! `x509-tsp`), the request Kyso sends, and the checks on a token before it is embedded or
//! believed: granted status, nonce, message imprint, the TSA's signature and its
//! timeStamping extended key usage.

use crate::{Error, Result};
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc3161, rfc5911};
use der::asn1::{Int, OctetString};
use der::{Decode, Encode, Sequence};
use kyso_keys::DigestAlgorithm;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

/// ```text
/// TimeStampReq ::= SEQUENCE {
///    version          INTEGER { v1(1) },
///    messageImprint   MessageImprint,
///    reqPolicy        TSAPolicyId OPTIONAL,
///    nonce            INTEGER OPTIONAL,
///    certReq          BOOLEAN DEFAULT FALSE,
///    extensions       [0] IMPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    pub version: u8,
    pub message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// Always TRUE here (the TSA's certificate must come with the token), so it is encoded.
    pub cert_req: bool,
}

/// `PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL, failInfo PKIFailureInfo OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    pub status: u32,
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    pub fail_info: Option<der::asn1::BitString>,
}

/// `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    pub status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<ContentInfo>,
}

/// `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER OPTIONAL, micros [1] INTEGER OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    #[asn1(optional = "true")]
    pub seconds: Option<u64>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// ```text
/// TSTInfo ::= SEQUENCE {
///    version INTEGER { v1(1) }, policy TSAPolicyId, messageImprint MessageImprint,
///    serialNumber INTEGER, genTime GeneralizedTime, accuracy Accuracy OPTIONAL,
///    ordering BOOLEAN DEFAULT FALSE, nonce INTEGER OPTIONAL,
///    tsa [0] GeneralName OPTIONAL, extensions [1] IMPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    pub version: u8,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    /// GeneralizedTime, kept raw: RFC 3161 allows fractional seconds, which DER's strict
    /// GeneralizedTime type of the `der` crate refuses.
    pub gen_time: der::asn1::Any,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<der::asn1::Any>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<x509_cert::ext::Extensions>,
}

impl TstInfo {
    /// The stamped time as written (`YYYYMMDDHHMMSS[.fff]Z`), and as Unix seconds.
    pub fn gen_time(&self) -> (String, Option<u64>) {
        let text = String::from_utf8_lossy(self.gen_time.value()).into_owned();
        let field = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<u16>().ok());
        let unix = (|| {
            let t = der::DateTime::new(
                field(0..4)?,
                field(4..6)? as u8,
                field(6..8)? as u8,
                field(8..10)? as u8,
                field(10..12)? as u8,
                field(12..14)? as u8,
            )
            .ok()?;
            Some(t.unix_duration().as_secs())
        })();
        (text, unix)
    }
}

/// Sends a DER TimeStampReq, returns the DER TimeStampResp. Implemented over HTTP by `kyso-ltv`.
pub trait TimestampSource {
    fn request(&self, request_der: &[u8]) -> std::result::Result<Vec<u8>, String>;
}

fn bad(what: impl Into<String>) -> Error {
    Error::Timestamp(what.into())
}

/// Random bytes made the content of a positive DER INTEGER as they stand: the first byte in
/// 0x01..=0x7f (no sign bit; no leading zero, which DER forbids when the next byte lacks the
/// sign bit — once in 256 requests, before this).
fn canonical_nonce(mut random: [u8; 8]) -> [u8; 8] {
    random[0] = (random[0] & 0x7f).max(1);
    random
}

/// A request for `digest` (computed with `alg`), with a fresh nonce and certReq.
pub fn request(alg: DigestAlgorithm, digest: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| bad(format!("no randomness for the nonce: {e}")))?;
    let nonce = canonical_nonce(random);
    let req = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned { oid: alg.oid(), parameters: None },
            hashed_message: OctetString::new(digest.to_vec())?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce)?),
        cert_req: true,
    };
    Ok((req.to_der()?, nonce.to_vec()))
}

/// What a checked token says.
pub struct VerifiedToken {
    pub info: TstInfo,
    pub tsa_certificate: Certificate,
    pub certificates: Vec<Certificate>,
}

/// Checks a time-stamp token (a SignedData over TSTInfo): its signature, the TSA's extended key
/// usage, and that it stamps `expected_digest`.
pub fn verify_token(token: &ContentInfo, expected_digest: Option<&[u8]>) -> Result<VerifiedToken> {
    if token.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(bad("the token is not SignedData"));
    }
    let sd: SignedData = token.content.decode_as()?;
    if sd.encap_content_info.econtent_type != rfc3161::ID_CT_TST_INFO {
        return Err(bad("the token does not carry a TSTInfo"));
    }
    let econtent = sd.encap_content_info.econtent.as_ref().ok_or_else(|| bad("the token has no TSTInfo"))?;
    let tst_der = econtent.decode_as::<OctetString>()?.as_bytes().to_vec();
    let info = TstInfo::from_der(&tst_der)?;
    if let Some(d) = expected_digest
        && info.message_imprint.hashed_message.as_bytes() != d
    {
        return Err(bad("the timestamp stamps another value than this signature (copied timestamp?)"));
    }
    let si = sd.signer_infos.0.iter().next().ok_or_else(|| bad("the token has no signer"))?;
    let certificates = crate::certinfo::certificates_of(&sd);
    let tsa = crate::certinfo::signer_of(&certificates, &si.sid).ok_or_else(|| bad("the TSA's certificate is not in the token"))?;
    let eku = tsa.tbs_certificate().get_extension::<x509_cert::ext::pkix::ExtendedKeyUsage>().ok().flatten();
    if !eku.is_some_and(|(_, e)| e.0.contains(&const_oid::db::rfc5280::ID_KP_TIME_STAMPING)) {
        return Err(bad("the token's signer is not a timestamping authority (no timeStamping key usage)"));
    }
    let digest = DigestAlgorithm::from_oid(&si.digest_alg.oid).ok_or_else(|| bad("the token uses an unsupported digest"))?;
    let attrs = si.signed_attrs.as_ref().ok_or_else(|| bad("the token has no signed attributes"))?;
    let md = attrs
        .iter()
        .find(|a| a.oid == rfc5911::ID_MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .ok_or_else(|| bad("the token lacks message-digest"))?;
    if md.decode_as::<OctetString>()?.as_bytes() != digest.digest(&tst_der).as_slice() {
        return Err(bad("the token's TSTInfo does not match its signature"));
    }
    let sig_alg = match si.signature_algorithm.oid {
        o if o == const_oid::db::rfc5912::RSA_ENCRYPTION => {
            kyso_keys::SignatureAlgorithm { scheme: kyso_keys::Scheme::RsaPkcs1v15, digest }
        }
        o if o == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY => kyso_keys::SignatureAlgorithm { scheme: kyso_keys::Scheme::Ecdsa, digest },
        o => [kyso_keys::Scheme::RsaPkcs1v15, kyso_keys::Scheme::Ecdsa, kyso_keys::Scheme::RsaPss]
            .into_iter()
            .flat_map(|scheme| {
                [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512]
                    .map(|d| kyso_keys::SignatureAlgorithm { scheme, digest: d })
            })
            .find(|a| a.oid() == o)
            .ok_or_else(|| bad(format!("the token's signature algorithm {o} is not supported")))?,
    };
    let spki = tsa.tbs_certificate().subject_public_key_info().to_der()?;
    kyso_keys::verify_digest(&spki, sig_alg, &sig_alg.digest.digest(&attrs.to_der()?), si.signature.as_bytes())
        .map_err(|_| bad("the token's signature does not verify"))?;
    Ok(VerifiedToken { info, tsa_certificate: tsa, certificates })
}

/// Asks `tsa` for a token over `digest`, checks the answer, and returns the token (DER
/// ContentInfo) and what it says.
pub fn fetch(tsa: &dyn TimestampSource, alg: DigestAlgorithm, digest: &[u8]) -> Result<(Vec<u8>, VerifiedToken)> {
    let (req, nonce) = request(alg, digest)?;
    let resp_der = tsa.request(&req).map_err(bad)?;
    let resp = TimeStampResp::from_der(&resp_der).map_err(|e| bad(format!("the TSA's answer is not a TimeStampResp: {e}")))?;
    if resp.status.status > 1 {
        return Err(bad(format!(
            "the TSA refused (status {}: {})",
            resp.status.status,
            resp.status.status_string.unwrap_or_default().join("; ")
        )));
    }
    let token = resp.time_stamp_token.ok_or_else(|| bad("the TSA granted but sent no token"))?;
    let verified = verify_token(&token, Some(digest))?;
    if verified.info.nonce.as_ref().map(|n| n.as_bytes().to_vec()) != Some(strip_zeros(&nonce)) {
        return Err(bad("the TSA's answer does not carry our nonce"));
    }
    let _ = rfc3161::ID_AA_TIME_STAMP_TOKEN;
    Ok((token.to_der()?, verified))
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let s: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
    if s.is_empty() { vec![0] } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every first byte, with a second byte that would make a leading zero redundant: the
    /// request always encodes, and the nonce keeps all eight bytes.
    #[test]
    fn every_nonce_encodes_as_canonical_der() {
        for first in 0..=255u8 {
            for second in [0x00, 0x7f, 0x80, 0xff] {
                let nonce = canonical_nonce([first, second, 1, 2, 3, 4, 5, 6]);
                let int = Int::new(&nonce).unwrap_or_else(|e| panic!("{first:#04x} {second:#04x}: {e}"));
                assert_eq!(int.as_bytes(), &nonce, "{first:#04x} {second:#04x}");
            }
        }
    }
}
