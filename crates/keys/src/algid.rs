//! Algorithm identifiers (RFC 5754, RFC 4055, RFC 5758) for the signature algorithms Kyso allows:
//! used in CMS SignerInfos and in remote-signing requests.

use crate::{DigestAlgorithm, Scheme, SignatureAlgorithm};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::Any;
use der::{Decode, Sequence};
use spki::AlgorithmIdentifierOwned;

/// ```text
/// RSASSA-PSS-params ::= SEQUENCE {
///     hashAlgorithm      [0] HashAlgorithm DEFAULT sha1,
///     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1,
///     saltLength         [2] INTEGER DEFAULT 20,
///     trailerField       [3] TrailerField DEFAULT trailerFieldBC }
/// ```
/// RFC 4055 §3.1; the trailer field keeps its default and is left out.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub hash_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    pub mask_gen_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    pub salt_length: u32,
}

impl SignatureAlgorithm {
    /// The OID naming this algorithm. For PSS it is `id-RSASSA-PSS`, whose parameters carry the hash.
    pub fn oid(self) -> ObjectIdentifier {
        use DigestAlgorithm::*;
        match (self.scheme, self.digest) {
            (Scheme::RsaPkcs1v15, Sha256) => rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
            (Scheme::RsaPkcs1v15, Sha384) => rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
            (Scheme::RsaPkcs1v15, Sha512) => rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
            (Scheme::Ecdsa, Sha256) => rfc5912::ECDSA_WITH_SHA_256,
            (Scheme::Ecdsa, Sha384) => rfc5912::ECDSA_WITH_SHA_384,
            (Scheme::Ecdsa, Sha512) => rfc5912::ECDSA_WITH_SHA_512,
            (Scheme::RsaPss, _) => rfc5912::ID_RSASSA_PSS,
        }
    }

    /// DER `RSASSA-PSS-params` for PSS (MGF1 with the same hash, salt as long as the hash).
    pub fn pss_params(self) -> der::Result<Option<Vec<u8>>> {
        use der::Encode;
        if self.scheme != Scheme::RsaPss {
            return Ok(None);
        }
        let hash = AlgorithmIdentifierOwned { oid: self.digest.oid(), parameters: Some(Any::null()) };
        let params = PssParams {
            hash_algorithm: hash.clone(),
            mask_gen_algorithm: AlgorithmIdentifierOwned { oid: rfc5912::ID_MGF_1, parameters: Some(Any::encode_from(&hash)?) },
            salt_length: self.digest.output_len() as u32,
        };
        Ok(Some(params.to_der()?))
    }

    /// The full `AlgorithmIdentifier`: NULL parameters for RSA PKCS#1 v1.5, none for ECDSA.
    pub fn algorithm_identifier(self) -> der::Result<AlgorithmIdentifierOwned> {
        let parameters = match self.scheme {
            Scheme::RsaPkcs1v15 => Some(Any::null()),
            Scheme::Ecdsa => None,
            Scheme::RsaPss => Some(Any::from_der(&self.pss_params()?.expect("PSS has parameters"))?),
        };
        Ok(AlgorithmIdentifierOwned { oid: self.oid(), parameters })
    }
}
