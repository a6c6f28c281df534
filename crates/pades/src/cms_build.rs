//! Building CMS SignedData (RFC 5652) in two phases: signed attributes first (their digest is
//! what a key signs), the assembled structure once the signature value is back.

use crate::ess::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
use crate::{Error, Result};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo, SignerInfos, UnsignedAttributes,
};
use const_oid::db::rfc5911;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Encode, Tag};
use kyso_keys::{DigestAlgorithm, SignatureAlgorithm};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;

/// The signer's certificate first, then the rest of its chain (any order).
#[derive(Clone, Debug)]
pub struct CertChain(pub Vec<Certificate>);

impl CertChain {
    pub fn new(chain: Vec<Certificate>) -> Result<Self> {
        if chain.is_empty() {
            return Err(Error::Certificate("no signer certificate given".into()));
        }
        Ok(Self(chain))
    }

    pub fn signer(&self) -> &Certificate {
        &self.0[0]
    }

    pub fn signer_spki_der(&self) -> Result<Vec<u8>> {
        Ok(self.signer().tbs_certificate().subject_public_key_info().to_der()?)
    }
}

fn attribute(oid: const_oid::ObjectIdentifier, value: Any) -> Result<Attribute> {
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
}

pub(crate) fn digest_identifier(d: DigestAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: d.oid(), parameters: None }
}

/// The signed attributes of a PAdES/CAdES baseline signature: content-type, message-digest and
/// signing-certificate-v2. No signing-time: PAdES puts the claimed time in the PDF's `/M`.
pub fn signed_attributes(
    message_digest: &[u8],
    chain: &CertChain,
    with_signing_time: Option<der::asn1::UtcTime>,
) -> Result<SignedAttributes> {
    let signer = chain.signer();
    let cert_der = signer.to_der()?;
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(DigestAlgorithm::Sha256.digest(&cert_der))?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(signer.tbs_certificate().issuer().clone())],
                serial_number: signer.tbs_certificate().serial_number().clone(),
            }),
        }],
    };
    let mut attrs = vec![
        attribute(rfc5911::ID_CONTENT_TYPE, Any::encode_from(&rfc5911::ID_DATA)?)?,
        attribute(rfc5911::ID_MESSAGE_DIGEST, Any::new(Tag::OctetString, message_digest.to_vec())?)?,
        attribute(rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2, Any::encode_from(&ess)?)?,
    ];
    if let Some(t) = with_signing_time {
        attrs.push(attribute(rfc5911::ID_SIGNING_TIME, Any::encode_from(&t)?)?);
    }
    // DER sorts SET OF members by their encoding.
    Ok(SetOfVec::try_from(attrs)?)
}

/// The bytes a key signs: the DER `SET OF Attribute` (RFC 5652 §5.4), hashed with `digest`.
pub fn signed_attributes_digest(attrs: &SignedAttributes, digest: DigestAlgorithm) -> Result<Vec<u8>> {
    Ok(digest.digest(&attrs.to_der()?))
}

/// Assembles the DER `ContentInfo` around a detached SignedData.
pub fn assemble(
    chain: &CertChain,
    alg: SignatureAlgorithm,
    signed: SignedAttributes,
    signature: &[u8],
    unsigned: Option<UnsignedAttributes>,
) -> Result<Vec<u8>> {
    let signer = chain.signer();
    // Sorted once (a SET OF is DER-ordered); inserting one by one re-sorts every time.
    let mut seen = std::collections::HashSet::new();
    let choices: Vec<CertificateChoices> =
        chain.0.iter().filter(|c| seen.insert(c.to_der().unwrap_or_default())).cloned().map(CertificateChoices::Certificate).collect();
    let certs = SetOfVec::try_from(choices)?;
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer.tbs_certificate().issuer().clone(),
            serial_number: signer.tbs_certificate().serial_number().clone(),
        }),
        digest_alg: digest_identifier(alg.digest),
        signed_attrs: Some(signed),
        signature_algorithm: alg.algorithm_identifier()?,
        signature: OctetString::new(signature.to_vec())?,
        unsigned_attrs: unsigned,
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![digest_identifier(alg.digest)])?,
        encap_content_info: EncapsulatedContentInfo { econtent_type: rfc5911::ID_DATA, econtent: None },
        certificates: Some(CertificateSet(certs)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    let ci = ContentInfo { content_type: rfc5911::ID_SIGNED_DATA, content: Any::encode_from(&signed_data)? };
    Ok(ci.to_der()?)
}

/// The exact DER size of the assembled CMS for a key whose signatures are at most
/// `max_signature_len` bytes (RSA: exact; ECDSA: the largest DER form).
pub fn assembled_len(chain: &CertChain, alg: SignatureAlgorithm, max_signature_len: usize) -> Result<usize> {
    let attrs = signed_attributes(&vec![0; alg.digest.output_len()], chain, None)?;
    Ok(assemble(chain, alg, attrs, &vec![0xff; max_signature_len], None)?.len())
}
