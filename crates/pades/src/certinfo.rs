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

/// Identity numbers in the subject, as Vietnamese certificates carry them (`UID=CCCD:001…`,
/// `serialNumber=CMND:…`, `MST:…` for a tax code): the digits (and a tax code's branch dash),
/// with the kind when a prefix names it, e.g. `("CCCD", "001190012345")`.
pub fn subject_identity_numbers(cert: &Certificate) -> Vec<(Option<String>, String)> {
    const UID: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1");
    const SERIAL_NUMBER: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("2.5.4.5");
    let mut out = Vec::new();
    for atv in cert.tbs_certificate().subject().iter() {
        if atv.oid != UID && atv.oid != SERIAL_NUMBER {
            continue;
        }
        let Ok(text) = std::str::from_utf8(atv.value.value()) else { continue };
        let (kind, number) = match text.split_once(':') {
            Some((k, n)) => (Some(k.trim().to_ascii_uppercase()), n.trim()),
            None => (None, text.trim()),
        };
        let number: String = number.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect();
        if number.chars().filter(char::is_ascii_digit).count() >= 9 {
            out.push((kind, number));
        }
    }
    out
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
    use der::Encode;
    let spki = cert.tbs_certificate().subject_public_key_info().to_der()?;
    let cert_kind = kyso_keys::KeyKind::from_spki_der(&spki).map_err(|_| {
        crate::Error::Certificate(format!(
            "the certificate's public key algorithm {} is not supported",
            cert.tbs_certificate().subject_public_key_info().algorithm.oid
        ))
    })?;
    if cert_kind == kind {
        Ok(())
    } else {
        Err(crate::Error::Certificate(format!(
            "the key ({}) does not match the certificate's public key ({})",
            kind.describe(),
            cert_kind.describe()
        )))
    }
}

/// Maps a signature AlgorithmIdentifier (of a certificate, CRL or OCSP response) to Kyso's.
pub fn signature_algorithm_of(alg: &spki::AlgorithmIdentifierOwned) -> Option<kyso_keys::SignatureAlgorithm> {
    use kyso_keys::{DigestAlgorithm, Scheme, SignatureAlgorithm};
    if alg.oid == const_oid::db::rfc5912::ID_RSASSA_PSS {
        let p: kyso_keys::PssParams = alg.parameters.as_ref()?.decode_as().ok()?;
        return Some(SignatureAlgorithm { scheme: Scheme::RsaPss, digest: DigestAlgorithm::from_oid(&p.hash_algorithm.oid)? });
    }
    [Scheme::RsaPkcs1v15, Scheme::Ecdsa]
        .into_iter()
        .flat_map(|scheme| {
            [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512].map(|digest| SignatureAlgorithm { scheme, digest })
        })
        .find(|a| a.oid() == alg.oid)
}

/// True when `issuer`'s key verifies `cert`'s signature.
pub fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    use der::Encode;
    // Names first: a signature is checked only for a candidate whose subject is the issuer named.
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return false;
    }
    let (Ok(tbs), Ok(spki)) = (cert.tbs_certificate().to_der(), issuer.tbs_certificate().subject_public_key_info().to_der()) else {
        return false;
    };
    let Some(alg) = signature_algorithm_of(cert.signature_algorithm()) else { return false };
    let Some(sig) = cert.signature().as_bytes() else { return false };
    kyso_keys::verify_digest(&spki, alg, &alg.digest.digest(&tbs), sig).is_ok()
}

/// The certificates a SignedData carries (other certificate formats are skipped).
pub fn certificates_of(sd: &cms::signed_data::SignedData) -> Vec<Certificate> {
    sd.certificates
        .as_ref()
        .map(|s| {
            s.0.iter().filter_map(|c| if let cms::cert::CertificateChoices::Certificate(c) = c { Some(c.clone()) } else { None }).collect()
        })
        .unwrap_or_default()
}

/// The certificate a SignerInfo's identifier names, among `certs`.
pub fn signer_of(certs: &[Certificate], sid: &cms::signed_data::SignerIdentifier) -> Option<Certificate> {
    use cms::signed_data::SignerIdentifier;
    certs
        .iter()
        .find(|c| match sid {
            SignerIdentifier::IssuerAndSerialNumber(i) => {
                c.tbs_certificate().issuer() == &i.issuer && c.tbs_certificate().serial_number() == &i.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(k) => c
                .tbs_certificate()
                .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .is_some_and(|(_, s)| s.0 == k.0),
        })
        .cloned()
}

/// The first URL the certificate's Authority Information Access gives for `method`
/// (id-ad-ocsp or id-ad-caIssuers).
pub fn aia_url(cert: &Certificate, method: const_oid::ObjectIdentifier) -> Option<String> {
    let (_, aia) = cert.tbs_certificate().get_extension::<x509_cert::ext::pkix::AuthorityInfoAccessSyntax>().ok()??;
    aia.0.iter().find(|a| a.access_method == method).and_then(|a| match &a.access_location {
        x509_cert::ext::pkix::name::GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
        _ => None,
    })
}

/// The lines of a visible signature as Vietnamese documents show them: signer, organisation,
/// time, reason. `time` is already formatted by the caller (the core reads no clock).
pub fn appearance_lines(signer_name: &str, cert: &Certificate, time: &str, reason: Option<&str>) -> Vec<String> {
    let mut lines = vec![format!("Ký bởi: {signer_name}")];
    if let Some(org) = subject_organization(cert) {
        lines.push(org);
    }
    lines.push(format!("Thời gian ký: {time}"));
    if let Some(r) = reason {
        lines.push(format!("Lý do: {r}"));
    }
    lines
}
