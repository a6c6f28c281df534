//! OCSP (RFC 6960) as `der` types, the request Kyso sends, and the checks on a response before
//! it is believed or embedded: successful status, a BasicOCSPResponse signed by the issuer or by
//! a responder it delegated to (id-kp-OCSPSigning), and an answer about this very certificate.

use crate::{Error, Result};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::{Any, BitString, Null, OctetString};
use der::{Choice, Decode, Encode, Sequence};
use kyso_keys::DigestAlgorithm;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::serial_number::SerialNumber;

/// `CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash OCTET STRING, issuerKeyHash OCTET STRING, serialNumber }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertId {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub issuer_name_hash: OctetString,
    pub issuer_key_hash: OctetString,
    pub serial_number: SerialNumber,
}

/// `Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Request {
    pub req_cert: CertId,
}

/// `TBSRequest ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, requestorName [1] OPTIONAL, requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TbsRequest {
    pub request_list: Vec<Request>,
}

/// `OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OcspRequest {
    pub tbs_request: TbsRequest,
}

/// `ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ResponseBytes {
    pub response_type: ObjectIdentifier,
    pub response: OctetString,
}

/// `OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OcspResponse {
    pub response_status: der::asn1::Any,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub response_bytes: Option<ResponseBytes>,
}

/// `RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct RevokedInfo {
    pub revocation_time: Any,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub revocation_reason: Option<Any>,
}

/// `CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }`
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub enum CertStatus {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfo),
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// `SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate GeneralizedTime, nextUpdate [0] EXPLICIT OPTIONAL, singleExtensions [1] EXPLICIT OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SingleResponse {
    pub cert_id: CertId,
    pub cert_status: CertStatus,
    pub this_update: Any,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub next_update: Option<Any>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub single_extensions: Option<Any>,
}

/// `ResponseData ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, responderID, producedAt, responses SEQUENCE OF SingleResponse, responseExtensions [1] EXPLICIT OPTIONAL }`
/// The responder ID is kept raw (a CHOICE of [1] Name and [2] KeyHash).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ResponseData {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub version: Option<u8>,
    pub responder_id: Any,
    pub produced_at: Any,
    pub responses: Vec<SingleResponse>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub response_extensions: Option<Any>,
}

/// `BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct BasicOcspResponse {
    pub tbs_response_data: ResponseData,
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub signature: BitString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub certs: Option<Vec<Certificate>>,
}

const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");

/// What an OCSP response says about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Good,
    /// Revoked, with the revocation time as written (GeneralizedTime).
    Revoked(String),
    Unknown,
}

fn bad(what: impl Into<String>) -> Error {
    Error::Revocation(what.into())
}

fn cert_id(cert: &Certificate, issuer: &Certificate) -> Result<CertId> {
    let name_hash = DigestAlgorithm::Sha256.digest(&issuer.tbs_certificate().subject().to_der()?);
    let key_hash = DigestAlgorithm::Sha256.digest(issuer.tbs_certificate().subject_public_key_info().subject_public_key.raw_bytes());
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned { oid: rfc5912::ID_SHA_256, parameters: Some(Any::null()) },
        issuer_name_hash: OctetString::new(name_hash)?,
        issuer_key_hash: OctetString::new(key_hash)?,
        serial_number: cert.tbs_certificate().serial_number().clone(),
    })
}

/// The DER OCSPRequest for `cert` issued by `issuer` (SHA-256 CertID).
pub fn request(cert: &Certificate, issuer: &Certificate) -> Result<Vec<u8>> {
    Ok(OcspRequest { tbs_request: TbsRequest { request_list: vec![Request { req_cert: cert_id(cert, issuer)? }] } }.to_der()?)
}

/// The OCSP responder URL in the certificate's Authority Information Access, if any.
pub fn responder_url(cert: &Certificate) -> Option<String> {
    crate::certinfo::aia_url(cert, const_oid::db::rfc5280::ID_AD_OCSP)
}

/// Checks a DER OCSPResponse about `cert` from `issuer` and returns its status.
pub fn check_response(der_resp: &[u8], cert: &Certificate, issuer: &Certificate) -> Result<Status> {
    let resp = OcspResponse::from_der(der_resp).map_err(|e| bad(format!("the OCSP answer is malformed: {e}")))?;
    if resp.response_status.value() != [0] {
        return Err(bad(format!("the OCSP responder answered status {:?} (not successful)", resp.response_status.value())));
    }
    let bytes = resp.response_bytes.ok_or_else(|| bad("the OCSP answer carries no response"))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(bad("the OCSP answer is not a basic response"));
    }
    let basic =
        BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(|e| bad(format!("the basic OCSP response is malformed: {e}")))?;
    // Cheap checks first: is this response about this certificate at all?
    let wanted = cert_id(cert, issuer)?;
    let serial = cert.tbs_certificate().serial_number();
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| {
            &r.cert_id.serial_number == serial
                && (r.cert_id.hash_algorithm.oid != wanted.hash_algorithm.oid || r.cert_id.issuer_key_hash == wanted.issuer_key_hash)
        })
        .ok_or_else(|| bad("the OCSP response does not answer for this certificate"))?;
    // Signed by the issuer, or by a responder the issuer certified for OCSP signing.
    let tbs = basic.tbs_response_data.to_der()?;
    let mut signers: Vec<&Certificate> = vec![issuer];
    for c in basic.certs.iter().flatten() {
        let delegated = c.tbs_certificate().issuer() == issuer.tbs_certificate().subject()
            && c.tbs_certificate()
                .get_extension::<x509_cert::ext::pkix::ExtendedKeyUsage>()
                .ok()
                .flatten()
                .is_some_and(|(_, e)| e.0.contains(&const_oid::db::rfc5280::ID_KP_OCSP_SIGNING))
            && crate::certinfo::issued_by(c, issuer);
        if delegated {
            signers.push(c);
        }
    }
    let alg = crate::certinfo::signature_algorithm_of(&basic.signature_algorithm)
        .ok_or_else(|| bad("the OCSP response uses an unsupported signature algorithm"))?;
    let sig = basic.signature.as_bytes().ok_or_else(|| bad("the OCSP signature is not whole bytes"))?;
    let verified = signers.iter().any(|s| {
        s.tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .is_ok_and(|spki| kyso_keys::verify_digest(&spki, alg, &alg.digest.digest(&tbs), sig).is_ok())
    });
    if !verified {
        return Err(bad("the OCSP response is not signed by the issuer or its delegated responder"));
    }
    Ok(match &single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Revoked(info) => Status::Revoked(String::from_utf8_lossy(info.revocation_time.value()).into_owned()),
        CertStatus::Unknown(_) => Status::Unknown,
    })
}

/// The nextUpdate of a DER OCSP response's first answer (Unix seconds), when it gives one. Used
/// to keep an answer no longer than it holds; the response itself is checked elsewhere.
pub fn next_update(der_resp: &[u8]) -> Option<u64> {
    let resp = OcspResponse::from_der(der_resp).ok()?;
    let basic = BasicOcspResponse::from_der(resp.response_bytes?.response.as_bytes()).ok()?;
    let next = basic.tbs_response_data.responses.first()?.next_update.as_ref()?;
    Some(next.decode_as::<der::asn1::GeneralizedTime>().ok()?.to_unix_duration().as_secs())
}

/// A GeneralizedTime as OCSP writes it (`20250601000000Z`, fractions allowed) in Unix seconds.
pub fn parse_generalized_time(text: &str) -> Option<u64> {
    let digits = text.get(..14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !text.ends_with('Z') {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits[r].parse::<u16>().ok();
    let t = der::DateTime::new(n(0..4)?, n(4..6)? as u8, n(6..8)? as u8, n(8..10)? as u8, n(10..12)? as u8, n(12..14)? as u8).ok()?;
    Some(t.unix_duration().as_secs())
}
