//! Names read from certificates, for appearances and reports.

use x509_cert::Certificate;
use x509_cert::der::{Decode, DecodePem};

/// Parses every certificate in a PEM bundle (or one DER certificate).
pub fn parse_certificates(bytes: &[u8]) -> crate::Result<Vec<Certificate>> {
    if bytes.starts_with(b"-----") || String::from_utf8_lossy(bytes).contains("-----BEGIN CERTIFICATE-----") {
        let certs =
            Certificate::load_pem_chain(bytes).map_err(|e| crate::Error::Certificate(format!("cannot read the PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(crate::Error::Certificate("no certificate in the PEM file".into()));
        }
        Ok(certs)
    } else {
        Ok(vec![Certificate::from_der(bytes).map_err(|e| crate::Error::Certificate(format!("cannot read the DER certificate: {e}")))?])
    }
}

/// The subject's common name, or the whole subject when it has none.
pub fn subject_common_name(cert: &Certificate) -> String {
    let subject = cert.tbs_certificate().subject();
    match subject.common_name() {
        Ok(Some(cn)) => cn.value().into_owned(),
        _ => subject.to_string(),
    }
}

/// The subject's organisation, if it names one.
pub fn subject_organization(cert: &Certificate) -> Option<String> {
    cert.tbs_certificate().subject().organization().ok().flatten().map(|o| o.value().into_owned())
}

#[allow(unused_imports)]
use DecodePem as _;

/// Refuses a certificate outside its validity period at `unix_seconds` (the caller's clock).
pub fn check_validity_at(cert: &Certificate, unix_seconds: u64) -> crate::Result<()> {
    let v = cert.tbs_certificate().validity();
    let (from, to) = (v.not_before.to_unix_duration().as_secs(), v.not_after.to_unix_duration().as_secs());
    if unix_seconds < from {
        return Err(crate::Error::Certificate(format!(
            "chứng thư số chưa có hiệu lực / the certificate is not valid until {}",
            v.not_before
        )));
    }
    if unix_seconds > to {
        return Err(crate::Error::Certificate(format!("chứng thư số đã hết hạn / the certificate expired on {}", v.not_after)));
    }
    Ok(())
}

/// Refuses a key whose type differs from the certificate's public key (RSA size, EC curve), so
/// the mistake is named before anything is signed.
pub fn check_key_matches(cert: &Certificate, kind: kyso_keys::KeyKind) -> crate::Result<()> {
    use const_oid::db::{rfc5912, rfc5912::ID_EC_PUBLIC_KEY};
    use kyso_keys::KeyKind;
    let spki = cert.tbs_certificate().subject_public_key_info();
    let cert_kind = if spki.algorithm.oid == rfc5912::RSA_ENCRYPTION {
        let bits = rsa_modulus_bits(spki.subject_public_key.raw_bytes());
        Some(KeyKind::Rsa { bits })
    } else if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        match spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok()) {
            Some(c) if c == rfc5912::SECP_256_R_1 => Some(KeyKind::EcP256),
            Some(c) if c == rfc5912::SECP_384_R_1 => Some(KeyKind::EcP384),
            _ => None,
        }
    } else {
        None
    };
    match cert_kind {
        Some(k) if k == kind => Ok(()),
        Some(k) => Err(crate::Error::Certificate(format!(
            "the key ({}) does not match the certificate's public key ({})",
            describe(kind),
            describe(k)
        ))),
        None => Err(crate::Error::Certificate(format!("the certificate's public key algorithm {} is not supported", spki.algorithm.oid))),
    }
}

fn describe(k: kyso_keys::KeyKind) -> String {
    match k {
        kyso_keys::KeyKind::Rsa { bits } => format!("RSA-{bits}"),
        kyso_keys::KeyKind::EcP256 => "ECDSA P-256".into(),
        kyso_keys::KeyKind::EcP384 => "ECDSA P-384".into(),
    }
}

/// Bit length of the modulus in a DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_modulus_bits(der: &[u8]) -> usize {
    #[derive(der::Sequence)]
    struct RsaPublicKey<'a> {
        modulus: der::asn1::UintRef<'a>,
        exponent: der::asn1::UintRef<'a>,
    }
    RsaPublicKey::from_der(der).map(|k| k.modulus.as_bytes().iter().skip_while(|b| **b == 0).count() * 8).unwrap_or(0)
}
