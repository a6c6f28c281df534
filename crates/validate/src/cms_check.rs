//! The cryptographic half of a PDF signature: parse the CMS from /Contents, check the message
//! digest against the signed bytes and the signature against the signer's key. Fails closed: any
//! missing, unknown or malformed piece is an error, never a pass.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::OctetString;
use der::{Decode, Encode, Reader};
use kyso_keys::{DigestAlgorithm, Scheme, SignatureAlgorithm};
use x509_cert::Certificate;

/// Why a CMS did not check out. `Unsupported` is INDETERMINATE, the others TOTAL-FAILED.
#[derive(Debug)]
pub enum CmsFailure {
    Malformed(String),
    Unsupported(String),
    DigestMismatch,
    BadSignature,
    EncapsulatedContent,
}

pub struct CmsFacts {
    pub signer: Certificate,
    pub certificates: Vec<Certificate>,
    pub digest: DigestAlgorithm,
    pub has_ess_signing_certificate: bool,
    pub ess_matches: bool,
    pub has_timestamp: bool,
    /// The signature-time-stamp token (unsigned attribute), if any.
    pub timestamp_token: Option<ContentInfo>,
    pub signature_value: Vec<u8>,
}

/// Rewrites BER (indefinite lengths, constructed strings) as DER, which many older signers emit
/// for the CMS envelope. Returns the encoding and how many input bytes it consumed.
fn ber_to_der(input: &[u8], depth: usize) -> Result<(Vec<u8>, usize), CmsFailure> {
    let bad = |w: &str| CmsFailure::Malformed(format!("BER: {w}"));
    if depth > 64 {
        return Err(bad("nested too deeply"));
    }
    let tag = *input.first().ok_or_else(|| bad("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("high tag numbers are not used in CMS"));
    }
    let first = *input.get(1).ok_or_else(|| bad("truncated"))?;
    let mut pos = 2usize;
    let content: Vec<u8>;
    if first == 0x80 {
        if tag & 0x20 == 0 {
            return Err(bad("indefinite length on a primitive"));
        }
        let mut parts = Vec::new();
        loop {
            if input.get(pos..pos + 2) == Some(&[0, 0]) {
                pos += 2;
                break;
            }
            let (child, used) = ber_to_der(input.get(pos..).ok_or_else(|| bad("truncated"))?, depth + 1)?;
            parts.extend_from_slice(&child);
            pos += used;
        }
        content = parts;
    } else {
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n > 4 {
                return Err(bad("length too long"));
            }
            let mut l = 0usize;
            for i in 0..n {
                l = l << 8 | *input.get(2 + i).ok_or_else(|| bad("truncated"))? as usize;
            }
            pos += n;
            l
        };
        let body = input.get(pos..pos + len).ok_or_else(|| bad("length beyond the data"))?;
        pos += len;
        if tag & 0x20 != 0 {
            let mut parts = Vec::new();
            let mut i = 0;
            while i < body.len() {
                let (child, used) = ber_to_der(&body[i..], depth + 1)?;
                parts.extend_from_slice(&child);
                i += used;
            }
            content = parts;
        } else {
            content = body.to_vec();
        }
    }
    // A constructed OCTET STRING (BER chunks) becomes one primitive string of the chunks' bytes.
    let (tag, content) = if tag == 0x24 { (0x04, strip_chunks(&content)?) } else { (tag, content) };
    let mut out = vec![tag];
    let l = content.len();
    if l < 0x80 {
        out.push(l as u8);
    } else {
        let bytes: Vec<u8> = l.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(&content);
    Ok((out, pos))
}

/// The concatenated contents of a sequence of primitive OCTET STRING TLVs (already DER).
fn strip_chunks(mut data: &[u8]) -> Result<Vec<u8>, CmsFailure> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (tlv, used) = ber_to_der(data, 0)?;
        let header = if tlv[1] < 0x80 { 2 } else { 2 + (tlv[1] & 0x7f) as usize };
        out.extend_from_slice(&tlv[header..]);
        data = &data[used..];
    }
    Ok(out)
}

/// Parses the CMS at the start of `contents` (the /Contents hole may be zero-padded), accepting
/// BER for the envelope.
pub fn parse(contents: &[u8]) -> Result<SignedData, CmsFailure> {
    let (normalised, used) = ber_to_der(contents, 0)?;
    if contents[used..].iter().any(|b| *b != 0) {
        return Err(CmsFailure::Malformed("non-zero bytes follow the CMS in /Contents".into()));
    }
    parse_der(&normalised)
}

fn parse_der(contents: &[u8]) -> Result<SignedData, CmsFailure> {
    let mut reader = der::SliceReader::new(contents).map_err(|e| CmsFailure::Malformed(e.to_string()))?;
    let ci = ContentInfo::decode(&mut reader).map_err(|e| CmsFailure::Malformed(format!("/Contents is not a CMS ContentInfo: {e}")))?;
    let rest = reader.remaining_len();
    let tail = &contents[contents.len() - u32::from(rest) as usize..];
    if tail.iter().any(|b| *b != 0) {
        return Err(CmsFailure::Malformed("non-zero bytes follow the CMS in /Contents".into()));
    }
    if ci.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(CmsFailure::Malformed(format!("/Contents holds {} rather than SignedData", ci.content_type)));
    }
    ci.content.decode_as::<SignedData>().map_err(|e| CmsFailure::Malformed(format!("SignedData: {e}")))
}

pub fn signature_algorithm(si: &SignerInfo, digest: DigestAlgorithm) -> Result<SignatureAlgorithm, CmsFailure> {
    let oid = si.signature_algorithm.oid;
    scheme_for(oid, &si.signature_algorithm.parameters, digest)
}

/// Maps a signature AlgorithmIdentifier to one of Kyso's algorithms (with `digest` for the
/// algorithms that do not name their hash).
pub fn scheme_for(
    oid: ObjectIdentifier,
    params: &Option<der::asn1::Any>,
    digest: DigestAlgorithm,
) -> Result<SignatureAlgorithm, CmsFailure> {
    use DigestAlgorithm::*;
    let fixed = |scheme, d: DigestAlgorithm| -> Result<SignatureAlgorithm, CmsFailure> { Ok(SignatureAlgorithm { scheme, digest: d }) };
    match oid {
        o if o == rfc5912::RSA_ENCRYPTION => fixed(Scheme::RsaPkcs1v15, digest),
        o if o == rfc5912::SHA_256_WITH_RSA_ENCRYPTION => fixed(Scheme::RsaPkcs1v15, Sha256),
        o if o == rfc5912::SHA_384_WITH_RSA_ENCRYPTION => fixed(Scheme::RsaPkcs1v15, Sha384),
        o if o == rfc5912::SHA_512_WITH_RSA_ENCRYPTION => fixed(Scheme::RsaPkcs1v15, Sha512),
        o if o == rfc5912::ECDSA_WITH_SHA_256 => fixed(Scheme::Ecdsa, Sha256),
        o if o == rfc5912::ECDSA_WITH_SHA_384 => fixed(Scheme::Ecdsa, Sha384),
        o if o == rfc5912::ECDSA_WITH_SHA_512 => fixed(Scheme::Ecdsa, Sha512),
        o if o == rfc5912::ID_EC_PUBLIC_KEY => fixed(Scheme::Ecdsa, digest),
        o if o == rfc5912::ID_RSASSA_PSS => {
            let p = params.as_ref().ok_or_else(|| CmsFailure::Unsupported("RSASSA-PSS without parameters (SHA-1 defaults)".into()))?;
            let pss: kyso_keys::PssParams = p.decode_as().map_err(|e| CmsFailure::Malformed(format!("RSASSA-PSS parameters: {e}")))?;
            let d = DigestAlgorithm::from_oid(&pss.hash_algorithm.oid)
                .ok_or_else(|| CmsFailure::Unsupported(format!("PSS hash {}", pss.hash_algorithm.oid)))?;
            fixed(Scheme::RsaPss, d)
        }
        other => Err(CmsFailure::Unsupported(format!("signature algorithm {other}"))),
    }
}

fn attribute(si: &SignerInfo, oid: ObjectIdentifier) -> Option<&der::asn1::Any> {
    si.signed_attrs.as_ref()?.iter().find(|a| a.oid == oid).and_then(|a| a.values.iter().next())
}

/// Checks a detached SignedData against the digest of the signed bytes. `hash_signed` hashes the
/// signed bytes with the algorithm it is given.
pub fn check(sd: &SignedData, hash_signed: &mut dyn FnMut(DigestAlgorithm) -> Vec<u8>) -> Result<CmsFacts, CmsFailure> {
    if sd.encap_content_info.econtent.is_some() {
        return Err(CmsFailure::EncapsulatedContent);
    }
    let infos: Vec<&SignerInfo> = sd.signer_infos.0.iter().collect();
    let [si] = infos.as_slice() else {
        return Err(CmsFailure::Malformed(format!("{} SignerInfos where one is expected", infos.len())));
    };
    // RFC 5652 consistency of the parts no signature covers: a changed byte there must not pass
    // unnoticed (found by the mutation test: a flipped digestAlgorithms OID still validated).
    if sd.encap_content_info.econtent_type != rfc5911::ID_DATA {
        return Err(CmsFailure::Malformed(format!(
            "the encapsulated content type is {}, not id-data",
            sd.encap_content_info.econtent_type
        )));
    }
    if !sd.digest_algorithms.iter().any(|a| a.oid == si.digest_alg.oid) {
        return Err(CmsFailure::Malformed("the SignerInfo's digest algorithm is not listed in the SignedData's digestAlgorithms".into()));
    }
    let versions_ok = matches!(
        (sd.version as u8, si.version as u8, &si.sid),
        (1 | 3 | 4 | 5, 1, cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(_))
            | (3..=5, 3, cms::signed_data::SignerIdentifier::SubjectKeyIdentifier(_))
    );
    if !versions_ok {
        return Err(CmsFailure::Malformed(
            "the SignedData or SignerInfo version does not fit the signer identifier (RFC 5652 §5.1, §5.3)".into(),
        ));
    }
    let certificates = kyso_pades::certinfo::certificates_of(sd);
    let signer = kyso_pades::certinfo::signer_of(&certificates, &si.sid)
        .ok_or_else(|| CmsFailure::Malformed("the signer's certificate is not in the CMS".into()))?;
    let digest = DigestAlgorithm::from_oid(&si.digest_alg.oid)
        .ok_or_else(|| CmsFailure::Unsupported(format!("digest algorithm {} (only SHA-256/384/512 are accepted)", si.digest_alg.oid)))?;
    let alg = signature_algorithm(si, digest)?;
    let document_digest = hash_signed(digest);
    let spki = signer.tbs_certificate().subject_public_key_info().to_der().map_err(|e| CmsFailure::Malformed(e.to_string()))?;
    let mut has_ess = false;
    let mut ess_matches = false;
    let to_verify = match &si.signed_attrs {
        Some(attrs) => {
            let md = attribute(si, rfc5911::ID_MESSAGE_DIGEST)
                .ok_or_else(|| CmsFailure::Malformed("signed attributes lack message-digest".into()))?;
            let md: OctetString = md.decode_as().map_err(|e| CmsFailure::Malformed(format!("message-digest: {e}")))?;
            let ct = attribute(si, rfc5911::ID_CONTENT_TYPE)
                .ok_or_else(|| CmsFailure::Malformed("signed attributes lack content-type".into()))?;
            if ct.decode_as::<ObjectIdentifier>().ok() != Some(rfc5911::ID_DATA) {
                return Err(CmsFailure::Malformed("content-type is not id-data".into()));
            }
            if md.as_bytes() != document_digest.as_slice() {
                return Err(CmsFailure::DigestMismatch);
            }
            if let Some(ess) = attribute(si, rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2) {
                has_ess = true;
                let cert_hash = DigestAlgorithm::Sha256.digest(&signer.to_der().map_err(|e| CmsFailure::Malformed(e.to_string()))?);
                // The first ESSCertIDv2 names the signer; SHA-256 unless another hash is named.
                ess_matches = ess.value().windows(cert_hash.len()).any(|w| w == cert_hash.as_slice());
            }
            alg.digest.digest(&attrs.to_der().map_err(|e| CmsFailure::Malformed(e.to_string()))?)
        }
        None => document_digest,
    };
    kyso_keys::verify_digest(&spki, alg, &to_verify, si.signature.as_bytes()).map_err(|e| match e {
        kyso_keys::KeyError::UnsupportedPublicKey(why) => CmsFailure::Unsupported(why),
        _ => CmsFailure::BadSignature,
    })?;
    let ts_attr = si.unsigned_attrs.as_ref().and_then(|u| u.iter().find(|a| a.oid == const_oid::db::rfc3161::ID_AA_TIME_STAMP_TOKEN));
    let timestamp_token = match ts_attr.and_then(|a| a.values.iter().next()) {
        Some(v) => Some(
            v.decode_as::<ContentInfo>()
                .map_err(|e| CmsFailure::Malformed(format!("the signature timestamp is not a ContentInfo: {e}")))?,
        ),
        None => None,
    };
    Ok(CmsFacts {
        signer,
        certificates,
        digest,
        has_ess_signing_certificate: has_ess,
        ess_matches,
        has_timestamp: ts_attr.is_some(),
        timestamp_token,
        signature_value: si.signature.as_bytes().to_vec(),
    })
}
